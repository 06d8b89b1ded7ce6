"""Workbench: what exception flags cost -- nothing for calls without ``flags=``, one pass more for calls with it.

Run from the repository root:

    python kernels/bench_flags.py [--size 24] [--repeats 7] [--formats float16 float8_e4m3fn] [--before 2d635da]

The general kernel (every rounding mode, FTZ, DAZ) now computes the IEEE
flags in the same pass as the code and returns them; a call without
``flags=`` drops them, and LLVM drops their computation.  To show it, this
script times, in one process and interleaved, serial kernels into ``out`` on
``2**size`` float32 values (rounding toward zero, which takes the general
kernel):

* ``general, before flags``: the general quantize kernel of the commit given by
  ``--before`` (default: the last commit without flags), loaded beside this
  checkout's as the package ``lowfloat_before`` (extracted with ``git archive``);
* ``general, now``: this checkout's general kernel, no flags asked;
* ``flags kernel``: the same with a flags array written;
* ``nearest-even fast path``: for scale.

Both general kernels are first checked to give the same bits.  Target:
general now / general before within noise (<= 1.05); the flags kernel is
reported for information.
"""

from __future__ import annotations

import importlib
import sys

import numpy as np
from _bench import (
    FORMATS,
    Case,
    load_before,
    make_data,
    parse_args,
    print_footer,
    print_header,
    print_table,
    time_interleaved,
)

import lowfloat
from lowfloat.formats import get_format
from lowfloat.kernels.plan import plan

TARGET_GENERAL_RATIO = 1.05
KEY = np.uint64(0)  # toward_zero draws no random bits; the general kernel takes a key all the same


def extra_options(parser) -> None:
    parser.add_argument("--before", default="2d635da", help="the commit whose general kernel is the baseline")


def before_general(before, fmt_name: str, x: np.ndarray, out: np.ndarray):
    """The old general quantize kernel over the whole array (its entry point took use_fast=0)."""
    codec = importlib.import_module("lowfloat_before.codec")
    quantize = importlib.import_module("lowfloat_before.kernels.quantize")
    fmt = before.get_format(fmt_name)
    lay, rnd, fast, _ = codec._kernel_setup(fmt, "toward_zero", None, x.dtype)
    bits, target = x.view(np.uint32), out.view(np.uint32)
    return lambda: quantize.quantize_float32(bits, target, 0, bits.size, lay, rnd, np.uint64(0), fast, 0)


def main() -> None:
    args = parse_args(__doc__, extra_options)
    if args.formats == list(FORMATS):
        args.formats = ["float16", "float8_e4m3fn"]
    print_header("bench_flags: exception flags' cost, serial kernels into out, float32 data", args)
    before = load_before(args.before)
    cases, ratios = [], {}
    for name in args.formats:
        fmt = get_format(name)
        x = make_data(fmt, 1 << args.size, args.seed)  # (n,) float32
        bits = x.view(np.uint32)
        outs = {label: np.empty_like(x) for label in ("before", "now", "flags", "nearest")}
        flags = np.empty(x.size, np.uint8)
        general = plan("quantize", fmt, np.float32, "toward_zero")
        with_flags = plan("quantize", fmt, np.float32, "toward_zero", flags=True)
        nearest = plan("quantize", fmt, np.float32)
        old = before_general(before, fmt.name, x, outs["before"])
        rows = [
            Case(fmt.name, "general, before flags", old),
            Case(fmt.name, "general, now", lambda g=general, o=outs["now"], b=bits: g.kernel(
                b, o.view(np.uint32), 0, b.size, *g.constants, KEY)),
            Case(fmt.name, "flags kernel", lambda f=with_flags, o=outs["flags"], b=bits, fl=flags: f.kernel(
                b, o.view(np.uint32), fl, 0, b.size, *f.constants, KEY)),
            Case(fmt.name, "nearest-even fast path", lambda n=nearest, o=outs["nearest"], b=bits: n.kernel(
                b, o.view(np.uint32), 0, b.size, *n.constants)),
        ]  # fmt: skip
        for case in rows:
            case.run()
        if not (np.array_equal(outs["before"].view(np.uint32), outs["now"].view(np.uint32))
                and np.array_equal(outs["now"].view(np.uint32), outs["flags"].view(np.uint32))):  # fmt: skip
            sys.exit(f"REFUSING TO TIME: the general kernels disagree ({fmt.name})")
        expected = lowfloat.quantize(x, fmt, rounding="toward_zero")
        if not np.array_equal(expected.view(np.uint32), outs["now"].view(np.uint32)):
            sys.exit(f"REFUSING TO TIME: the kernel differs from lowfloat.quantize ({fmt.name})")
        cases += rows
        ratios[fmt.name] = rows
    time_interleaved(cases, args.repeats)
    print_table(cases, 1 << args.size, floor="nearest-even fast path", subject="general, before flags")
    for name, rows in ratios.items():
        ratio = rows[1].median / rows[0].median
        verdict = "PASS" if ratio <= TARGET_GENERAL_RATIO else "CHECK"
        print(f"{name:<16} general now / before {ratio:5.2f}  (target <= {TARGET_GENERAL_RATIO})  {verdict};  "
              f"flags kernel / general {rows[2].median / rows[1].median:5.2f}")  # fmt: skip
    print_footer()


if __name__ == "__main__":
    main()
