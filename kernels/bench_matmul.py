"""Workbench for matmul: validate the rounded-accumulation kernel, then time it against np.matmul and its past.

Run from the repository root, with the virtualenv that has lowfloat installed:

    python kernels/bench_matmul.py [--repeats 7] [--seed 0] [--m 128] [--k 4096] [--n 128] [--before REV | --no-before]
    python kernels/bench_matmul.py --threshold [--repeats 5]

1. data: a (m, k) and b (k, n), standard normals rounded onto bfloat16 (held as float32);
2. validation, before any timing -- for every variant below, lowfloat.matmul must equal
   * the kernel its plan launches, on one thread and split across threads.run's pool (bits);
   * with accumulate="float32": a float32 loop over k (the products are exact), on the full problem;
   * a pure-Python loop over exact fractions that rounds every partial sum with
     lowfloat.reference.quantize, on a corner (4 x 256 x 3; deterministic modes);
   * lowfloat.matmul as it was at commit REV (--before, loaded beside this checkout), on the
     first 16 rows: the kernel's bits did not change;
   otherwise the script refuses to time;
3. timing: every row below, repetitions interleaved in one process; one table of medians.

Rows (each variant):

    1 thread      the kernel the plan launches for lowfloat.matmul, on this thread (no wrapper)
    2 threads     the same launch split across threads.run's pool (thread_count() threads)
    matmul()      the public call: float32 copies of the operands, the scan that decides the loops,
                  the kernel (split across threads from accumulate.PARALLEL_MIN_PRODUCTS products on)
                  and the result rounded into out_format
    before        lowfloat.matmul at REV (one thread: the kernel was serial), for some variants

with NumPy's float32 matmul of the same operands printed first as the reference line.

Targets (issue 16), (128, 4096) @ (4096, 128):
    float32 accumulator <= 30 ms; bfloat16 and E8M13, nearest even: <= 40 ms on one thread and
    <= 25 ms on two; promote_every=128 <= 1.2x the same accumulator without; directed modes and
    stochastic rounding <= 3x nearest even (bfloat16, one thread).

--threshold times the bfloat16 kernel on one thread against the split for (m, 256) @ (256, 256),
m = 1 ... 1024, and prints the smallest number of products from which the split wins at every
larger size: accumulate.PARALLEL_MIN_PRODUCTS should sit there.
"""

from __future__ import annotations

import argparse
from fractions import Fraction

import numpy as np
from _bench import (
    Case,
    Checks,
    check,
    load_average,
    load_before,
    print_footer,
    print_header,
    refuse_if_failed,
    time_interleaved,
    verdict,
)

import lowfloat as lf
from lowfloat import reference
from lowfloat.accumulate import PARALLEL_MIN_PRODUCTS
from lowfloat.kernels import threads
from lowfloat.kernels.plan import plan
from lowfloat.kernels.schedule import schedule
from lowfloat.options import rounding_options

E8M13 = lf.Format(exp_bits=8, man_bits=13, bias=127, specials="ieee")
BEFORE = "7bc92a6"  # the last commit with the per-element float64 kernel
NEAREST = "bfloat16"  # the row the directed and stochastic rows are measured against

#: label: (lowfloat.matmul options, time the kernel at --before too)
VARIANTS = {
    "float32": ({"accumulate": "float32"}, True),
    "bfloat16": ({"accumulate": "bfloat16"}, True),
    "E8M13": ({"accumulate": E8M13}, True),
    "E8M13, promote_every=128": ({"accumulate": E8M13, "promote_every": 128}, True),
    "bfloat16, toward_zero": ({"accumulate": "bfloat16", "rounding": "toward_zero"}, True),
    "bfloat16, toward_positive": ({"accumulate": "bfloat16", "rounding": "toward_positive"}, False),
    "bfloat16, toward_negative": ({"accumulate": "bfloat16", "rounding": "toward_negative"}, False),
    "bfloat16, nearest_away": ({"accumulate": "bfloat16", "rounding": "nearest_away"}, False),
    "bfloat16, stochastic": ({"accumulate": "bfloat16", "rounding": "stochastic", "rng": 0}, True),
    "E8M13, stochastic": ({"accumulate": E8M13, "rounding": "stochastic", "rng": 0}, False),
}
TARGET_FLOAT32_MS = 30.0
TARGET_ONE_THREAD_MS = 40.0
TARGET_TWO_THREADS_MS = 25.0
TARGET_PROMOTION_RATIO = 1.2
TARGET_MODE_RATIO = 3.0


def launches(a, b, options) -> tuple:
    """``(one_thread, split, out)``: the kernel lowfloat.matmul launches for ``options``, built as the call does."""
    fmt = lf.get_format(options["accumulate"])
    checked = rounding_options(fmt, options.get("rounding", "nearest_even"), None, False, False, options.get("rng"))
    chosen = plan("matmul", fmt, np.float64, checked.rounding)
    a3, b3 = a[None], b[None]  # (1, m, k), (1, k, n) float32
    every = options.get("promote_every")
    sums = schedule(a3, b3, fmt, every or max(a.shape[1], 1), every is not None, 0.0)
    out = np.empty((1, a.shape[0], b.shape[1]))  # float64
    rows, constants = a.shape[0], (sums, *chosen.constants, checked.key)

    def one_thread():
        chosen.kernel(a3, b3, out, 0, rows, *constants)

    def split():
        threads.run(chosen.kernel, rows, (a3, b3, out), constants, min_size=0)

    return one_thread, split, out


def exact_loop(a, b, accumulate, promote_every=None, rounding="nearest_even") -> np.ndarray:
    """The definition, in fractions: exact products, every partial sum rounded, float32 promotion."""
    m, k = a.shape
    chunk = promote_every or k
    out = np.empty((m, b.shape[1]))
    for i in range(m):
        for j in range(b.shape[1]):
            main = Fraction(0)
            for k0 in range(0, k, chunk):
                part = Fraction(0)
                for t in range(k0, min(k0 + chunk, k)):
                    exact = part + Fraction(float(a[i, t])) * Fraction(float(b[t, j]))
                    part = Fraction(reference.quantize(exact, accumulate, rounding=rounding))
                main = Fraction(reference.quantize(main + part, "float32")) if promote_every else part
            out[i, j] = reference.quantize(main, "float32")
    return out


def validate(a, b, before, checks: Checks) -> None:
    print("Validation (before any timing):")
    want = np.zeros((a.shape[0], b.shape[1]), np.float32)
    for t in range(a.shape[1]):
        want = (want + a[:, t, None] * b[None, t, :]).astype(np.float32)  # bfloat16 products: exact in float32
    check(checks, "accumulate=float32 == float32 loop over k (full problem)", lf.matmul(a, b), want, want, bits=True)
    corner_a, corner_b = a[:4, :256], b[:256, :3]
    head = a[:16]
    for label, (options, _) in VARIANTS.items():
        got = lf.matmul(a, b, **options)
        one_thread, split, out = launches(a, b, options)
        one_thread()
        check(checks, f"{label}: kernel, 1 thread == lowfloat.matmul", out[0].astype(np.float32), got, got)
        out.fill(85.0)
        split()
        check(checks, f"{label}: kernel, split == lowfloat.matmul", out[0].astype(np.float32), got, got)
        if options.get("rounding") != "stochastic":
            rounding = options.get("rounding", "nearest_even")
            expected = exact_loop(corner_a, corner_b, options["accumulate"], options.get("promote_every"), rounding)
            got_corner = lf.matmul(corner_a, corner_b, **options)
            check(checks, f"{label}: == exact loop (4 x 256 x 3)", got_corner, expected, expected)
        if before is not None:
            old_options = dict(options, accumulate=_before_format(before, options["accumulate"]))
            then = before.matmul(head, b, **old_options)
            check(checks, f"{label}: == lowfloat.matmul at --before (16 rows)", got[:16], then, then)
    refuse_if_failed(checks)


def _before_format(before, accumulate):
    """The accumulator as the package at --before spells it (its Format class is its own)."""
    if isinstance(accumulate, lf.Format):
        return before.Format(accumulate.exp_bits, accumulate.man_bits, accumulate.bias, accumulate.specials)
    return accumulate


def run_timing(a, b, before, repeats: int) -> bool:
    cases = [Case("matmul", "np.matmul float32", lambda: np.matmul(a, b))]
    rows = {}
    for label, (options, with_before) in VARIANTS.items():
        one_thread, split, _ = launches(a, b, options)
        row = {"1 thread": Case(label, "1 thread", one_thread), "threads": Case(label, "threads", split),
               "matmul()": Case(label, "matmul()", lambda o=options: lf.matmul(a, b, **o))}  # fmt: skip
        if before is not None and with_before:
            old_options = dict(options, accumulate=_before_format(before, options["accumulate"]))
            row["before"] = Case(label, "before", lambda o=old_options: before.matmul(a, b, **o))
        rows[label] = row
        cases += row.values()
    time_interleaved(cases, repeats)
    macs = a.shape[0] * a.shape[1] * b.shape[1]
    numpy_ms = cases[0].median * 1e3
    print(f"Medians of {repeats} interleaved repeats, ms; load average now {load_average()}; "
          f"{threads.thread_count()} threads; MAC = multiply-add")  # fmt: skip
    head = f"{'variant':<27} {'1 thread':>9} {'threads':>8} {'matmul()':>9} {'min 1 th':>9} {'ns/MAC':>7} "
    head += f"{'/nearest':>9} {'before':>8} {'before/now':>11}"
    print(head)
    print("-" * len(head))
    print(f"{'np.matmul float32 (BLAS)':<27} {'':>9} {'':>8} {numpy_ms:>9.1f} {min(cases[0].times) * 1e3:>9.1f}")
    nearest = rows[NEAREST]["1 thread"].median
    for label, row in rows.items():
        one, split, public = row["1 thread"].median, row["threads"].median, row["matmul()"].median
        then = row["before"].median if "before" in row else None
        then_text = f"{then * 1e3:>8.1f} {then / one:>11.1f}" if then is not None else f"{'-':>8} {'-':>11}"
        fastest = min(row["1 thread"].times)
        print(f"{label:<27} {one * 1e3:>9.1f} {split * 1e3:>8.1f} {public * 1e3:>9.1f} {fastest * 1e3:>9.1f} "
              f"{one / macs * 1e9:>7.2f} {one / nearest:>9.2f} {then_text}")  # fmt: skip
    print("\nAcceptance (medians above):")
    ok = verdict("accumulate=float32, 1 thread (ms)", rows["float32"]["1 thread"].median * 1e3, TARGET_FLOAT32_MS,
                 at_least=False, digits=1)  # fmt: skip
    for label in ("bfloat16", "E8M13"):
        ok &= verdict(f"{label}, 1 thread (ms)", rows[label]["1 thread"].median * 1e3, TARGET_ONE_THREAD_MS,
                      at_least=False, digits=1)  # fmt: skip
        ok &= verdict(f"{label}, {threads.thread_count()} threads (ms)", rows[label]["threads"].median * 1e3,
                      TARGET_TWO_THREADS_MS, at_least=False, digits=1)  # fmt: skip
    promoted = rows["E8M13, promote_every=128"]["1 thread"].median / rows["E8M13"]["1 thread"].median
    ok &= verdict("E8M13: promote_every=128 / without, 1 thread", promoted, TARGET_PROMOTION_RATIO, at_least=False)
    for label, row in rows.items():
        accumulate = label.split(",")[0]
        if "," in label and "promote" not in label:
            base = rows[accumulate]["1 thread"].median
            ok &= verdict(f"{label} / {accumulate} nearest even, 1 thread", row["1 thread"].median / base,
                          TARGET_MODE_RATIO, at_least=False)  # fmt: skip
    return ok


def run_threshold(repeats: int, seed: int) -> None:
    """The serial kernel against the split, (m, 256) @ (256, 256), m = 1 ... 1024 (bfloat16 accumulation)."""
    rng = np.random.default_rng(seed)
    k = n = 256
    print(f"{'m':>6} {'products':>12} {'1 thread us':>12} {'split us':>10} {'split/1':>8}")
    results = []
    for log_m in range(0, 11):
        m = 1 << log_m
        a = lf.quantize(rng.standard_normal((m, k)).astype(np.float32), "bf16")
        b = lf.quantize(rng.standard_normal((k, n)).astype(np.float32), "bf16")
        one_thread, split, _ = launches(a, b, {"accumulate": "bfloat16"})
        inner = max(1, 64 // m)  # about 4 Mi products a sample
        pair = [Case("threshold", "1 thread", one_thread), Case("threshold", "split", split)]
        time_interleaved(pair, repeats, inner=inner)
        ratio = pair[1].median / pair[0].median
        results.append((m * k * n, ratio))
        print(f"{m:>6} {m * k * n:>12,} {pair[0].median * 1e6:>12.1f} {pair[1].median * 1e6:>10.1f} {ratio:>8.2f}")
    crossover = next((size for i, (size, _) in enumerate(results) if all(r < 1 for _, r in results[i:])), None)
    print(f"\nCrossover: the split wins from {crossover:,} products on" if crossover else "\nThe split never wins")
    print(f"accumulate.PARALLEL_MIN_PRODUCTS = {PARALLEL_MIN_PRODUCTS:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repetitions of each row (default 7)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--m", type=int, default=128)
    parser.add_argument("--k", type=int, default=4096)
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--before", default=BEFORE, help=f"the commit to compare with (default {BEFORE})")
    parser.add_argument("--no-before", action="store_true", help="leave the past commit out")
    parser.add_argument("--threshold", action="store_true", help="where splitting across threads starts to pay")
    args = parser.parse_args()
    if args.threshold:
        print_header("bench_matmul --threshold: the bfloat16 kernel on one thread vs split across threads.run")
        run_threshold(args.repeats, args.seed)
        print_footer()
        return
    print_header(f"bench_matmul: matmul ({args.m}, {args.k}) @ ({args.k}, {args.n}), bfloat16 operands")
    past = "-" if args.no_before else args.before
    print(f"# {args.repeats} interleaved repeats, seed {args.seed}, before = {past}\n")
    rng = np.random.default_rng(args.seed)
    a = lf.quantize(rng.standard_normal((args.m, args.k)).astype(np.float32), "bf16")  # (m, k) float32
    b = lf.quantize(rng.standard_normal((args.k, args.n)).astype(np.float32), "bf16")  # (k, n) float32
    before = None if args.no_before else load_before(args.before)
    validate(a, b, before, Checks())
    passed = run_timing(a, b, before, args.repeats)
    print(f"\nOverall: {'PASS' if passed else 'FAIL'}")
    print_footer()


if __name__ == "__main__":
    main()
