"""Workbench for matmul: validate the rounded-accumulation kernel, then time it against np.matmul.

Run from the repository root, with the virtualenv that has lowfloat installed:

    python kernels/bench_matmul.py [--repeats 7] [--seed 0] [--m 128] [--k 4096] [--n 128]

1. data: a (m, k) and b (k, n), standard normals rounded onto float8_e4m3fn (held as float32);
2. validation, before any timing -- lowfloat.matmul must equal
   * with accumulate="float32": a float32 loop over k (the E4M3 products are exact in float32),
     on the full problem;
   * for every timed accumulator: a pure-Python loop over exact fractions that rounds every
     partial sum with lowfloat.reference.quantize, on a corner of the problem (4 x 256 x 3);
   otherwise the script refuses to time;
3. timing: every variant below, repetitions interleaved in one process; one table of medians.

Variants (rows of the table):

    np.matmul float32                    the BLAS product in float32 (no rounding emulation)
    accumulate=float32                   every partial sum rounded to float32 (an FMA chain)
    accumulate=bfloat16                  every partial sum rounded to bfloat16
    accumulate=E8M13                     a 14-bit significand, Hopper's FP8 tensor-core accumulator
    accumulate=E8M13, promote_every=128  DeepSeek-V3's promotion into float32 every 128 products
    accumulate=bfloat16, stochastic      the general (every-mode) element kernel

Target (the arithmetic issue): (128, 4096) @ (4096, 128) in well under 1 s with accumulate != float32.
"""

from __future__ import annotations

import argparse
from fractions import Fraction

import numpy as np
from _bench import Case, Checks, check, load_average, print_footer, print_header, refuse_if_failed, time_interleaved

import lowfloat as lf
from lowfloat import reference

E8M13 = lf.Format(exp_bits=8, man_bits=13, bias=127, specials="ieee")
TARGET_SECONDS = 1.0

VARIANTS = {
    "accumulate=float32": {"accumulate": "float32"},
    "accumulate=bfloat16": {"accumulate": "bfloat16"},
    "accumulate=E8M13": {"accumulate": E8M13},
    "accumulate=E8M13, promote_every=128": {"accumulate": E8M13, "promote_every": 128},
    "accumulate=bfloat16, stochastic": {"accumulate": "bfloat16", "rounding": "stochastic", "rng": 0},
}


def loop_matmul(a, b, accumulate, promote_every=None) -> np.ndarray:
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
                    part = Fraction(reference.quantize(exact, accumulate))
                main = Fraction(reference.quantize(main + part, "float32")) if promote_every else part
            out[i, j] = reference.quantize(main, "float32")
    return out


def validate(a, b, checks: Checks) -> None:
    print("Validation (before any timing):")
    want = np.zeros((a.shape[0], b.shape[1]), np.float32)
    for t in range(a.shape[1]):
        want = (want + a[:, t, None] * b[None, t, :]).astype(np.float32)  # E4M3 products: exact in float32
    check(checks, "accumulate=float32 == float32 loop over k (full problem)", lf.matmul(a, b), want, want)
    corner_a, corner_b = a[:4, :256], b[:256, :3]
    for label, options in VARIANTS.items():
        if options.get("rounding") == "stochastic":
            continue  # the reference is deterministic; the tests check stochastic rounding
        got = lf.matmul(corner_a, corner_b, **options)
        expected = loop_matmul(corner_a, corner_b, options["accumulate"], options.get("promote_every"))
        check(checks, f"{label} == exact loop (4 x 256 x 3)", got, expected, expected)
    refuse_if_failed(checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repetitions of each variant (default 7)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--m", type=int, default=128)
    parser.add_argument("--k", type=int, default=4096)
    parser.add_argument("--n", type=int, default=128)
    args = parser.parse_args()
    print_header(f"matmul ({args.m}, {args.k}) @ ({args.k}, {args.n}), E4M3 operands")
    print(f"# {args.repeats} interleaved repeats, seed {args.seed}\n")
    rng = np.random.default_rng(args.seed)
    a = lf.quantize(rng.standard_normal((args.m, args.k)).astype(np.float32), "e4m3")  # (m, k) float32
    b = lf.quantize(rng.standard_normal((args.k, args.n)).astype(np.float32), "e4m3")  # (k, n) float32
    validate(a, b, Checks())
    cases = [Case("matmul", "np.matmul float32", lambda: np.matmul(a, b))]
    cases += [Case("matmul", label, lambda o=options: lf.matmul(a, b, **o)) for label, options in VARIANTS.items()]
    time_interleaved(cases, args.repeats)
    base = cases[0].median
    macs = args.m * args.k * args.n
    print(f"Medians of {args.repeats} interleaved repeats; load average now {load_average()}")
    print(f"{'variant':<38} {'median ms':>10} {'min ms':>9} {'ns/MAC':>7} {'/np.matmul':>11}")
    for case in cases:
        print(
            f"{case.name:<38} {case.median * 1e3:>10.1f} {min(case.times) * 1e3:>9.1f} "
            f"{case.median / macs * 1e9:>7.2f} {case.median / base:>11.0f}"
        )
    print("\nAcceptance:")
    worst = max(case.median for case in cases[2:5])
    verdict = "PASS" if worst < TARGET_SECONDS else "FAIL"
    print(f"  slowest nearest-even accumulate != float32: {worst:.3f} s (target < {TARGET_SECONDS} s)  {verdict}")
    print_footer()


if __name__ == "__main__":
    main()
