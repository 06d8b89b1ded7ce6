"""Workbench for lowfloat.testing.check_cast: the exhaustive float32 check of ml_dtypes' E4M3 cast, timed.

Run from the repository root, with the virtualenv that has lowfloat and ml_dtypes installed:

    python kernels/bench_check.py [--size 32] [--workers 2] [--batch-bits 22] [--repeats 5]

1. check: ml_dtypes' cast must pass check_cast on the hard cases, else the script stops;
2. pieces: one batch of ``2**batch-bits`` float32 inputs through each step of a
   batch -- ml_dtypes' cast alone, lowfloat.encode alone, and the whole
   lowfloat.testing.check.run_batch -- repetitions interleaved, medians in ms;
   the difference is what the checker adds to the two casts;
3. the run: check_cast over ``2**size`` float32 inputs (all 2**32 by default;
   fewer are spread evenly over the whole bit-pattern space, every
   ``2**(32 - size)``-th) on a process pool of ``--workers``; prints the wall
   time, the rate, and the time that rate gives for all 2**32 inputs.

``--size 24`` is a quick smoke run (a few seconds).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import lowfloat as lf
from lowfloat.formats import get_format
from lowfloat.testing import check_cast
from lowfloat.testing.adapters import adapter
from lowfloat.testing.check import Batch, run_batch
from lowfloat.testing.inputs import input_type


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="log2 of the number of float32 inputs (default 32: all)")
    parser.add_argument("--workers", type=int, default=2, help="processes of the pool (default 2)")
    parser.add_argument("--batch-bits", type=int, default=22, help="log2 of the inputs per batch (default 22)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions of each piece (default 5)")
    parser.add_argument("--format", default="float8_e4m3fn", help="an ml_dtypes format (default float8_e4m3fn)")
    args = parser.parse_args()
    if not (1 <= args.size <= 32 and 1 <= args.batch_bits <= 26 and args.workers >= 1 and args.repeats >= 1):
        parser.error("--size 1..32, --batch-bits 1..26, --workers >= 1 and --repeats >= 1")
    try:
        cast = adapter("ml_dtypes", args.format, "float32")
    except ValueError as error:
        sys.exit(str(error))
    fmt = get_format(args.format)

    # 1) check
    hard = check_cast(cast, fmt, dtype="float32")
    if not hard.ok:
        sys.exit(f"ml_dtypes differs from lowfloat on the hard cases: refusing to time\n{hard}")
    print(f"check: ml_dtypes' {fmt.name} cast equals lowfloat on {hard.compared:,} hard cases")

    # 2) the pieces of one batch, interleaved
    size = 1 << args.batch_bits
    start = 0x3F000000  # ordinary finite values around 1
    x = input_type("float32").from_bits(np.arange(start, start + size, dtype=np.uint32))
    batch = Batch(cast, fmt, input_type("float32"), "nearest_even", None, False, False, "codes",
                  ("bits", start, start + size, 1), examples=3)  # fmt: skip
    pieces = {"ml_dtypes cast": lambda: cast(x), "lowfloat.encode": lambda: lf.encode(x, fmt),
              "run_batch (whole)": lambda: run_batch(batch)}  # fmt: skip
    times = {name: [] for name in pieces}
    for piece in pieces.values():  # warm-up: kernels load from the cache
        piece()
    for _ in range(args.repeats):
        for name, piece in pieces.items():
            began = time.perf_counter()
            piece()
            times[name].append((time.perf_counter() - began) * 1e3)
    print(f"\none batch of 2**{args.batch_bits} float32 inputs, median of {args.repeats} (ms):")
    for name, values in times.items():
        print(f"  {name:18} {statistics.median(values):8.1f}")

    # 3) the exhaustive run (or an even sample of it)
    step = 1 << (32 - args.size)
    cases = "exhaustive" if step == 1 else range(0, 1 << 32, step)
    began = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        report = check_cast(cast, fmt, dtype="float32", cases=cases, executor=pool, batch_size=size)
    seconds = time.perf_counter() - began
    rate = report.compared / seconds
    print(f"\ncheck_cast, {report.cases}, {args.workers} workers:")
    print(f"  {seconds:.1f} s, {rate / 1e6:.1f} M inputs/s; all 2**32 at this rate: {2**32 / rate / 60:.1f} min")
    print(f"  mismatches: {report.mismatches}")


if __name__ == "__main__":
    main()
