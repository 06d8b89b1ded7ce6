"""Workbench for formats beyond float32's range or precision: validate their kernels, then time them.

Run from the repository root, with the virtualenv that has lowfloat installed:

    python kernels/bench_wide.py [--size 24] [--repeats 7] [--formats e11m10_b1023 ...] [--others]

For each format (any name ``lowfloat.get_format`` reads; default: float64's
range with 11 significand bits, float64 itself, normals inside float64's
subnormals, float32's range with 31 bits -- and bfloat16, a float32-range
format, as the yardstick):

1. data: 2**size float64 values spread over the format's whole range, from
   below its smallest value to above its max, with a sprinkle of specials;
2. validation, before any timing -- the public quantize, encode and decode,
   the serial kernel the call launches and the general kernel must agree
   with each other on every value, and with lowfloat.reference on a sample
   of hard inputs (ties and their neighbours, the overflow threshold, the
   subnormal range); otherwise the script refuses to time;
3. timing: every variant below, repetitions interleaved in one process; one
   table of medians.

Variants (rows of the table):

    np.copyto(out64, x64)            the memory-bound floor: read and write 8 bytes a value
    lowfloat.quantize(x, out=)       public API into a preallocated out
    kernel, serial -> out            the kernel the public call launches (nearest_even or general path)
    general kernel, serial -> out    the every-mode kernel (a WideLayout specialization for wide formats)
    lowfloat.encode(x, out=)         the codes (uint32 or uint64)
    lowfloat.decode(c, out=)         the codes back to float64
    gfloat round_ndarray             with --others: gfloat 0.5.2, the same rounding (a reference point)
    pychop chop                      with --others, IEEE formats only: pychop 0.6.2's classic chop

Nothing here has a target: the float32-range formats' kernels compile to the
same machine code as before wide formats existed (their layout is another
type), and the yardstick row shows what the wide specializations cost.
"""

from __future__ import annotations

import numpy as np
from _bench import Case, Checks, check, launch_of, parse_args, print_footer, print_header, refuse_if_failed
from _bench import time_interleaved as time_cases

import lowfloat
from lowfloat import reference
from lowfloat.formats import get_format
from lowfloat.kernels.layout import wide

WIDE_FORMATS = ("float22_e11m10_b1023_ieee", "float64_e11m52_b1023_ieee", "float22_e11m10_b1040_ieee",
                "float40_e8m31_b127_ieee", "bfloat16")  # fmt: skip


def make_wide_data(fmt, n: int, seed: int) -> np.ndarray:
    """``n`` float64 values with random significands in every binade of the format and a little beyond."""
    rng = np.random.default_rng(seed)
    exponents = rng.integers(fmt.smallest_exponent - 3, min(fmt.emax + 2, 1024), n)
    with np.errstate(over="ignore"):
        x = np.ldexp(1 + rng.random(n), exponents)
    x[rng.random(n) < 0.5] *= -1
    x[::4099] = np.resize([np.nan, np.inf, -np.inf, 0.0, -0.0], x[::4099].size)
    return x


def hard_sample(fmt, seed: int) -> np.ndarray:
    """Grid values, midpoints and their float64 neighbours, the overflow threshold, the subnormal range."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, fmt.max_code_magnitude, 300, dtype=np.uint64)
    lo = lowfloat.decode(codes, fmt, dtype=np.float64)
    hi = lowfloat.decode(codes + np.uint64(1), fmt, dtype=np.float64)
    middle = lo + (hi - lo) / 2
    top = 2.0 ** (fmt.emax - fmt.man_bits)
    with np.errstate(over="ignore"):
        edges = [fmt.max, fmt.max + top / 2, fmt.max + top / 4, fmt.smallest_subnormal / 2, 5e-324, 1e300]
    points = np.concatenate([lo, middle, np.nextafter(middle, 0), np.nextafter(middle, np.inf), edges])
    return np.concatenate([points, -points])


def validate(fmt, x: np.ndarray, checks: Checks) -> None:
    """The public calls, the launched kernel and the general kernel against each other and the reference."""
    print(f"{fmt.name}: validating")
    has_nan = fmt.has_nan
    data = x if has_nan else x[~np.isnan(x)]
    out = np.empty_like(data)
    public = lowfloat.quantize(data, fmt)
    launch = launch_of("quantize", data, fmt, out)
    launch.serial()()
    check(checks, f"{launch.name} = lowfloat.quantize", out, public, data, bits=True)
    general = launch.on_path("general")
    general.serial()()
    check(checks, "general kernel = lowfloat.quantize", out, public, data, bits=True)
    codes = lowfloat.encode(data, fmt)
    check(checks, "decode(encode(x)) = quantize(x)", lowfloat.decode(codes, fmt, dtype=np.float64), public, data)
    sample = hard_sample(fmt, 1)
    want = np.array([reference.quantize(float(v), fmt) for v in sample])
    check(checks, "quantize = lowfloat.reference (hard inputs)", lowfloat.quantize(sample, fmt), want, sample)


def wide_cases(fmt, x: np.ndarray, others: bool) -> list[Case]:
    """The timed variants of one format."""
    data = x if fmt.has_nan else np.nan_to_num(x, nan=0.0)
    out = np.empty_like(data)
    codes = lowfloat.encode(data, fmt)
    code_out = np.empty_like(codes)
    values_out = np.empty(data.shape, np.float64)
    launch = launch_of("quantize", data, fmt, out)
    group = fmt.name
    cases = [
        Case(group, "np.copyto(out64, x64)", lambda: np.copyto(out, data)),
        Case(group, "lowfloat.quantize(x, out=)", lambda: lowfloat.quantize(data, fmt, out=out)),
        Case(group, f"kernel, serial -> out ({launch.plan.path})", launch.serial()),
        Case(group, "general kernel, serial -> out", launch.on_path("general").serial()),
        Case(group, "lowfloat.encode(x, out=)", lambda: lowfloat.encode(data, fmt, out=code_out)),
        Case(group, "lowfloat.decode(c, out=)", lambda: lowfloat.decode(codes, fmt, dtype=np.float64, out=values_out)),
    ]
    if others:
        cases += _other_cases(fmt, data, group)
    return cases


def _other_cases(fmt, data: np.ndarray, group: str) -> list[Case]:
    """gfloat's and (IEEE formats) pychop's rounding of the same data, where they are installed."""
    cases = []
    try:
        import gfloat
        from gfloat import Domain
    except ImportError:
        print("  gfloat is not installed: its row is left out")
    else:
        info = gfloat.FormatInfo(fmt.name, k=fmt.bits, precision=fmt.precision_bits, bias=fmt.bias,
                                 is_signed=fmt.signed, domain=Domain.Extended if fmt.has_inf else Domain.Finite,
                                 has_nz=fmt.has_negative_zero,
                                 num_high_nans={"ieee": (1 << fmt.man_bits) - 1, "fn": 1}.get(fmt.specials, 0),
                                 has_subnormals=fmt.has_subnormals or fmt.man_bits == 0,
                                 is_twos_complement=False)  # fmt: skip
        cases.append(Case(group, "gfloat round_ndarray", lambda: gfloat.round_ndarray(info, data), reference=True))
    if fmt.specials == "ieee" and fmt.bias == (1 << (fmt.exp_bits - 1)) - 1:
        try:
            from pychop import Customs
            from pychop.np.float_point import Chop_
        except ImportError:
            print("  pychop is not installed: its row is left out")
        else:
            chop = Chop_(customs=Customs(t=fmt.precision_bits, emax=fmt.emax), rmode=1)
            cases.append(Case(group, "pychop chop", lambda: chop(data), reference=True))
    return cases


def print_rows(cases: list[Case], n: int) -> None:
    """Median and min per variant, values per second, and the ratio to the float64 copy of the same format."""
    width = max(len(c.name) for c in cases)
    group_width = max(len(c.group) for c in cases)
    head = f"{'format':<{group_width}} {'variant':<{width}} {'median ms':>10} {'min ms':>8} {'Gval/s':>7} {'/copy':>7}"
    print(head)
    print("-" * len(head))
    floors = {c.group: c.median for c in cases if c.name == "np.copyto(out64, x64)"}
    group = None
    for case in cases:
        if group is not None and case.group != group:
            print()
        group = case.group
        times = f"{case.median * 1e3:>10.2f} {min(case.times) * 1e3:>8.2f} {n / case.median / 1e9:>7.2f}"
        print(f"{case.group:<{group_width}} {case.name:<{width}} {times} {case.median / floors[case.group]:>7.2f}")


def main() -> None:
    def extra(parser):
        parser.add_argument("--others", action="store_true", help="time gfloat and pychop on the same data too")

    args = parse_args(__doc__, extra)
    if args.formats == ["float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"]:  # the workbench's default list
        args.formats = list(WIDE_FORMATS)
    formats = [get_format(name) for name in args.formats]
    print_header("wide formats: quantize, encode and decode of float64 data", args)
    n = 1 << args.size
    data = {fmt: make_wide_data(fmt, n, args.seed) for fmt in formats}
    checks = Checks()
    for fmt in formats:
        print(f"  ({fmt.name}: {'wide' if wide(fmt) else 'float32-range'} layout)")
        validate(fmt, data[fmt], checks)
    refuse_if_failed(checks)
    cases = [case for fmt in formats for case in wide_cases(fmt, data[fmt], args.others)]
    time_cases(cases, args.repeats)
    print_rows(cases, n)
    print_footer()


if __name__ == "__main__":
    main()
