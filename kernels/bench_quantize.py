"""Workbench for quantize: validate the shipped kernels, then time them against numpy, ml_dtypes and torch.

Run from the repository root, with the virtualenv that has lowfloat installed:

    python kernels/bench_quantize.py [--size 24] [--repeats 7] [--formats float16 bfloat16 ...] [--no-torch]
    python kernels/bench_quantize.py --threshold [--size 24] [--repeats 7] [--threshold-format float8_e4m3fn]
    python kernels/bench_quantize.py --stochastic [--size 24] [--repeats 7] [--formats ...]

Default mode, for each format:

1. data: 2**size float32 values spread over the format's whole range (_bench.make_data);
2. validation, before any timing -- the public call, the serial, parallel and
   general kernels, and the float64 path must agree with ml_dtypes (numpy
   for float16) on every value and with lowfloat.reference on a sample of
   hard float64 inputs; otherwise the script refuses to time;
3. timing: every variant below, repetitions interleaved in one process;
   one table of medians, then the acceptance ratios with PASS/FAIL.

Variants (rows of the table):

    np.copyto(out, x)               the memory-bound floor: read and write 4 bytes a value
    lowfloat.quantize(x)            public API, allocates its result (split across threads from PARALLEL_MIN_SIZE)
    lowfloat.quantize(x, out=)      public API into a preallocated out
    kernel, serial -> out           the kernel the public call launches (quantize_float32), with the arguments
                                    lowfloat.quantize builds, over the whole array on this thread
    threads.run, split -> out       the same launch split across threads.run's pool, whatever the size
    general kernel, serial -> out   the serial kernel with use_fast=False (the every-mode kernel)
    f64 kernel, serial -> out       float64 input (the same values), serial kernel into a float64 out
    f64 lowfloat.quantize(out=)     float64 input through the public API into out
    numpy astype and back           x.astype(float16).astype(float32)           (float16 only)
    ml_dtypes astype and back       x.astype(ml_dtypes.<fmt>).astype(float32)   (the others)
    torch .to and back, 1 thread    x_t.to(torch.<fmt>).to(torch.float32)       (if torch imports)
    torch copy_ there and back -> out, N threads
                                    back.copy_(there.copy_(x_t)) into preallocated tensors, torch on
                                    threads.thread_count() threads (N, as lowfloat): quantize's torch twin
    torch .to and back, N threads   the allocating round trip on N threads
    torch copy_ one way -> out, N threads
                                    there.copy_(x_t) alone (what encode's target row times; half the bytes
                                    written): for information

Targets (the performance issue): serial into out / copyto <= 1.2; numpy float16 / lowfloat.quantize >= 30;
ml_dtypes / lowfloat.quantize >= 20 for fp8 and >= 1.3 for bfloat16; float64 rate / float32 rate >= 0.5;
against torch on N threads (issue 16): lowfloat.quantize(x, out=) / torch's copy_ there and back <= 1.1 for
float16 and bfloat16 and <= 1 (ahead) for fp8, lowfloat.quantize(x) / torch .to and back <= 1.

``--threshold`` times the kernel serial against threads.run's split (both
into out) for sizes 2**10 .. 2**size and prints where the split starts to
win, to set PARALLEL_MIN_SIZE in lowfloat/kernels/threads.py.  First calls
in fresh interpreters (cold and warm cache) are timed by bench_startup.py.
``--stochastic`` checks the stochastic fast path bit for bit against the
general kernel, then times both and the nearest-even kernel, serial into
out, float32 and float64 (target: stochastic at least half the throughput
of nearest-even, i.e. time ratio <= 2).
"""

from __future__ import annotations

import sys

import numpy as np
from _bench import (
    Bench,
    Case,
    Reference,
    launch_of,
    make_data,
    on_threads,
    other_libraries,
    parse_args,
    print_footer,
    print_header,
    run_bench,
    sample_oracles,
    time_interleaved,
    verdict,
)

import lowfloat
from lowfloat.formats import get_format
from lowfloat.kernels import threads
from lowfloat.kernels.threads import PARALLEL_MIN_SIZE

# Acceptance targets of the performance issue: other library's time / lowfloat.quantize(x)'s, at least.
# (serial into out / copyto <= 1.2 and float64 rate / float32 rate >= 0.5 live in _bench: every op has them.)
TARGET_NUMPY_FP16 = 30.0  # numpy float16 round trip
TARGET_MLDTYPES_BF16 = 1.3  # ml_dtypes bfloat16 round trip
TARGET_MLDTYPES_FP8 = 20.0  # ml_dtypes float8 round trips
TARGET_TORCH_COPY_F16 = 1.1  # float16, bfloat16: lowfloat.quantize(x, out=) / torch's copy_ there and back
TARGET_TORCH_AHEAD = 1.0  # fp8 into out, and every allocating call: lowfloat at least as fast as torch
TARGET_SR_OVER_NEAREST = 2.0  # stochastic quantize time / nearest-even quantize time, serial into out: at most



def extra_options(parser) -> None:
    parser.add_argument("--threshold", action="store_true", help="time serial vs parallel over sizes 2**10..2**size")
    parser.add_argument("--threshold-format", default="float8_e4m3fn", help="format for --threshold")
    parser.add_argument("--stochastic", action="store_true", help="stochastic vs nearest-even kernels, serial")


# --------------------------------------------------------------------------------------------------
# default mode: validate, then time


def call(data, fmt, wide, out):
    """lowfloat.quantize of the float32 data, or of the same values in float64 (``wide``)."""
    return lowfloat.quantize(data.x64 if wide else data.x, fmt, out=out)


def references(data, fmt, torch) -> list[Reference]:
    """numpy (float16) or ml_dtypes, and torch: cast to their dtype and back to float32."""
    x = data.x
    x_t = torch.from_numpy(x) if torch is not None else None

    def into(dtype):
        there, back = torch.empty(x.size, dtype=dtype), torch.empty(x.size, dtype=torch.float32)  # preallocated
        return lambda: back.copy_(there.copy_(x_t))

    refs = other_libraries(
        fmt,
        torch,
        lambda dtype: lambda: x.astype(dtype).astype(np.float32),
        "astype and back",
        lambda dtype: lambda: x_t.to(dtype).to(torch.float32),
        ".to and back",
        into=into,
        into_label="copy_ there and back -> out",
        op="quantize",
    )
    if torch is not None and hasattr(torch, get_format(fmt).name):  # the one-way copy_ encode is judged against
        there = torch.empty(x.size, dtype=getattr(torch, get_format(fmt).name))
        count = threads.thread_count()
        one_way = on_threads(torch, count, lambda: there.copy_(x_t))
        widen = lambda t: t.to(torch.float32).numpy()  # noqa: E731 -- compared after the timing, not timed
        refs.append(Reference(f"torch copy_ one way -> out, {count} threads", one_way, as_array=widen, gate=False,
                              against="lowfloat.quantize(x, out=)"))  # fmt: skip
    return refs


def target(fmt_name: str, label: str) -> float | None:
    """The issue's target for a reference row: how many times slower than lowfloat.quantize it must be.

    For torch on the default thread count (issue 16) the other way round:
    lowfloat's time over torch's at most this.
    """
    if label.startswith("numpy"):
        return TARGET_NUMPY_FP16
    if label.startswith("ml_dtypes"):
        return TARGET_MLDTYPES_BF16 if fmt_name == "bfloat16" else TARGET_MLDTYPES_FP8
    if label.startswith("torch copy_ one way"):
        return None  # information: writes half of quantize's bytes
    if label.startswith("torch copy_"):
        return TARGET_TORCH_COPY_F16 if fmt_name in ("float16", "bfloat16") else TARGET_TORCH_AHEAD
    if label.startswith("torch") and not label.endswith("1 thread"):
        return TARGET_TORCH_AHEAD  # the allocating call
    return None  # torch on one thread: for information


BENCH = Bench(
    op="quantize",
    call=call,
    references=references,
    oracles=lambda data, fmt: sample_oracles("quantize", data, fmt),
    target=target,
)


# --------------------------------------------------------------------------------------------------
# --threshold: where the parallel kernel starts to pay


def _launch(x, fmt, out):
    """The kernel launch of ``lowfloat.quantize(x, fmt, out=out)``."""
    return launch_of("quantize", x, fmt, out)


def threshold_mode(args) -> None:
    """Serial vs parallel kernel into out over sizes 2**10 .. 2**size; prints the crossover."""
    print_header("bench_quantize --threshold: the kernel serial vs split by threads.run, both into out", args)
    fmt = get_format(args.threshold_format)
    x_all = make_data(fmt, 1 << args.size, args.seed)
    print(
        f"# format {fmt.name}, float32 input; PARALLEL_MIN_SIZE in lowfloat/kernels/threads.py = "
        f"{PARALLEL_MIN_SIZE:,} (2**{PARALLEL_MIN_SIZE.bit_length() - 1})\n"
    )
    head = f"{'log2 n':>6} {'n':>10} {'serial us':>11} {'parallel us':>12} {'parallel/serial':>16}  faster"
    print(head)
    print("-" * len(head))
    ratios = {}
    for log2n in range(10, args.size + 1):
        n = 1 << log2n
        x = x_all[:n].copy()  # (n,) float32
        out_s, out_p = np.empty_like(x), np.empty_like(x)
        serial = Case("", "serial", _launch(x, fmt, out_s).serial())
        parallel = Case("", "parallel", _launch(x, fmt, out_p).parallel())
        out_s.fill(0)
        out_p.fill(1)
        serial.run()
        parallel.run()
        if not np.array_equal(out_s.view(np.uint32), out_p.view(np.uint32)):
            sys.exit(f"REFUSING TO TIME: serial and parallel runs differ at n = {n}")
        inner = max(1, (1 << 21) // n)  # ~2 Mi values per sample keeps short kernels above timer noise
        time_interleaved([serial, parallel], args.repeats, inner=inner)
        ratios[log2n] = parallel.median / serial.median
        print(
            f"{log2n:>6} {n:>10,} {serial.median * 1e6:>11.1f} {parallel.median * 1e6:>12.1f} "
            f"{ratios[log2n]:>16.2f}  {'parallel' if ratios[log2n] < 1 else 'serial'}"
        )
    # the crossover: the smallest size from which parallel wins at every larger size
    crossover = None
    for log2n in sorted(ratios, reverse=True):
        if ratios[log2n] >= 1:
            break
        crossover = log2n
    print()
    if crossover is None:
        print(f"Crossover: none -- the split never beat the serial kernel up to 2**{args.size}")
    else:
        print(
            f"Crossover: parallel wins from 2**{crossover} = {1 << crossover:,} elements on "
            f"(PARALLEL_MIN_SIZE is 2**{PARALLEL_MIN_SIZE.bit_length() - 1} = {PARALLEL_MIN_SIZE:,})"
        )
    print_footer()


# --------------------------------------------------------------------------------------------------
# --stochastic: the stochastic fast path against the general kernel and against nearest-even


def _stochastic_launch(x, fmt, out):
    """The kernel launch of ``lowfloat.quantize(x, fmt, rounding="stochastic", rng=1, out=out)``."""
    return launch_of("quantize", x, fmt, out, rounding="stochastic", rng=1)


def stochastic_mode(args) -> None:
    """Validate the stochastic fast path bit for bit, then time it against nearest-even, serial into out."""
    print_header("bench_quantize --stochastic: stochastic vs nearest-even quantize, serial kernels into out", args)
    cases, ratios = [], {}
    for name in args.formats:
        fmt = get_format(name)
        x32 = make_data(fmt, 1 << args.size, args.seed)
        for x in (x32, x32.astype(np.float64)):
            group = f"{fmt.name[:9]} {x.dtype.name}"
            outs = [np.empty_like(x) for _ in range(2)]
            nearest = _launch(x, fmt, outs[0]).serial()
            sr = _stochastic_launch(x, fmt, outs[1])
            if sr.plan.path != "stochastic":
                print(f"# {group}: no stochastic fast path for this format; the general kernel serves it")
                continue
            general = sr.on_path("general").serial()
            sr_fast, general_out = sr.serial(), outs[1]
            sr_fast()
            fast_bits = general_out.view(np.uint64 if x.dtype == np.float64 else np.uint32).copy()
            general()
            if not np.array_equal(fast_bits, general_out.view(fast_bits.dtype)):
                sys.exit(f"REFUSING TO TIME: the stochastic fast path differs from the general kernel ({group})")
            rows = [Case(group, "nearest_even kernel, serial -> out", nearest),
                    Case(group, "stochastic kernel, serial -> out", sr_fast),
                    Case(group, "stochastic general kernel, serial -> out", general)]  # fmt: skip
            time_interleaved(rows, args.repeats)
            cases += rows
            ratios[group] = rows[1].median / rows[0].median
    print("# validation: the stochastic fast path equals the general kernel bit for bit on every value above\n")
    width = max(len(c.name) for c in cases)
    print(f"{'format':<19} {'variant':<{width}} {'median ms':>10} {'min ms':>8} {'/nearest':>9}")
    for i in range(0, len(cases), 3):
        for case in cases[i : i + 3]:
            print(f"{case.group:<19} {case.name:<{width}} {case.median * 1e3:>10.2f} {min(case.times) * 1e3:>8.2f} "
                  f"{case.median / cases[i].median:>9.2f}")  # fmt: skip
        print()
    for group, ratio in ratios.items():
        verdict(f"{group}: stochastic time / nearest-even time", ratio, TARGET_SR_OVER_NEAREST, at_least=False)
    print_footer()


def main() -> None:
    args = parse_args(__doc__, extra_options)
    if args.stochastic:
        stochastic_mode(args)
    elif args.threshold:
        threshold_mode(args)
    else:
        run_bench(BENCH, args, "bench_quantize: lowfloat.quantize vs numpy, ml_dtypes, torch")


if __name__ == "__main__":
    main()
