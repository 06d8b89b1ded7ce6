"""The exact specification, in plain Python integers and fractions.

Slow, scalar and written to be read: this module *is* the definition the fast
kernels are tested against.  No floating-point arithmetic decides anything
here -- values are :class:`fractions.Fraction` -- so there is no double
rounding to hide behind.

Examples
--------
>>> from lowfloat import reference
>>> hex(reference.encode(0.1, "float8_e4m3fn"))
'0x1d'
>>> reference.decode(0x1D, "float8_e4m3fn")
0.1015625
>>> reference.quantize(1 + 2**-4 + 2**-30, "float8_e4m3fn")  # no double rounding
1.125
"""

from __future__ import annotations

import math
from fractions import Fraction

from .formats import Format, get_format
from .rounding import DETERMINISTIC_MODES, check_overflow, rounds_toward_zero

__all__ = ["decode", "encode", "quantize", "neighbours", "magnitude_of_code", "code_of_magnitude"]


def _exact(x) -> Fraction:
    """The exact value of a finite real number (float, int or Fraction)."""
    return Fraction(x)


def magnitude_of_code(code_magnitude: int, fmt: Format) -> Fraction:
    """Exact value of a finite code without its sign bit."""
    exp_field = code_magnitude >> fmt.man_bits
    man_field = code_magnitude & ((1 << fmt.man_bits) - 1)
    if exp_field == 0 and fmt.has_zero:
        # subnormal: 0.man * 2**emin
        return Fraction(man_field, 1 << fmt.man_bits) * Fraction(2) ** fmt.emin
    # normal: 1.man * 2**(exp_field - bias)
    return Fraction((1 << fmt.man_bits) + man_field, 1 << fmt.man_bits) * Fraction(2) ** (exp_field - fmt.bias)


def code_of_magnitude(value: Fraction, fmt: Format) -> int:
    """Code (without sign) of an exactly representable finite magnitude."""
    if value == 0:
        if not fmt.has_zero:
            raise ValueError(f"{fmt.name} has no zero")
        return 0
    exponent = _floor_log2(value)
    if exponent < fmt.emin:
        if not fmt.has_subnormals:
            raise ValueError(f"{value} is not representable in {fmt.name}")
        man_field = value / Fraction(2) ** (fmt.emin - fmt.man_bits)
        exp_field = 0
    else:
        man_field = (value / Fraction(2) ** exponent - 1) * (1 << fmt.man_bits)
        exp_field = exponent + fmt.bias
    if man_field.denominator != 1:
        raise ValueError(f"{value} is not representable in {fmt.name}")
    code = (exp_field << fmt.man_bits) | int(man_field)
    if code > fmt.max_code_magnitude:
        raise ValueError(f"{value} is beyond the largest finite value of {fmt.name}")
    return code


def _floor_log2(value: Fraction) -> int:
    """floor(log2(value)) for a positive Fraction, exactly."""
    exponent = value.numerator.bit_length() - value.denominator.bit_length()
    # the estimate is exact or one too large
    if Fraction(2) ** exponent > value:
        exponent -= 1
    return exponent


def decode(code: int, fmt) -> float:
    """Value of a code, as a Python float (exact: every format fits float64).

    Raises ValueError for a code outside ``0 .. 2**fmt.bits - 1``.
    """
    fmt = get_format(fmt)
    code = int(code)
    if not 0 <= code < (1 << fmt.bits):
        raise ValueError(f"code {code} is outside 0..{(1 << fmt.bits) - 1} for {fmt.name}")
    negative = fmt.signed and code >= fmt.sign_code
    magnitude = code - fmt.sign_code if negative else code
    if fmt.specials == "fnuz" and code == fmt.sign_code:
        return math.nan
    if magnitude > fmt.max_code_magnitude:
        if magnitude == fmt.inf_code_magnitude:
            return -math.inf if negative else math.inf
        return math.nan
    value = float(magnitude_of_code(magnitude, fmt))
    return -value if negative else value


def neighbours(x, fmt) -> tuple[Fraction, Fraction]:
    """The representable magnitudes ``lo <= |x| < hi`` around a finite nonzero ``|x|``.

    The grid is extended past ``max`` with the top binade's spacing (to
    decide overflow as IEEE 754 does), and below the smallest value of a
    format without zero ``lo`` is 0.
    """
    fmt = get_format(fmt)
    magnitude = abs(_exact(x))
    exponent = max(_floor_log2(magnitude), fmt.emin)
    quantum = Fraction(2) ** (exponent - fmt.man_bits)
    steps = math.floor(magnitude / quantum)
    return steps * quantum, (steps + 1) * quantum


def _round_magnitude(magnitude: Fraction, negative: bool, fmt: Format, rounding: str) -> Fraction:
    """Round a positive magnitude onto the (unbounded-above) grid of ``fmt``."""
    lo, hi = neighbours(magnitude, fmt)
    if lo == magnitude:
        return lo
    if rounding in ("nearest_even", "nearest_away"):
        if magnitude - lo != hi - magnitude:
            return lo if magnitude - lo < hi - magnitude else hi
        # an exact tie
        if rounding == "nearest_away" or not fmt.signed:
            return hi  # unsigned (E8M0): ties up, as ml_dtypes and PyTorch
        # ties to the even code: the even significand where there are mantissa bits,
        # the even exponent where there are none; beyond max either way overflows
        lo_is_even = lo > fmt.max_exact or code_of_magnitude(lo, fmt) % 2 == 0
        return lo if lo_is_even else hi
    if rounds_toward_zero(rounding, negative):
        return lo
    return hi


def encode(x, fmt, *, rounding: str = "nearest_even", overflow=None) -> int:
    """The code of ``x`` rounded once, exactly, into ``fmt``.

    Parameters
    ----------
    x : float, int or Fraction
        The exact value to round (a float's exact binary value is used).
    fmt : Format or str
    rounding : str
        One of :data:`lowfloat.rounding.DETERMINISTIC_MODES`.
    overflow : None, "saturate", "inf" or "nan"
        What an infinite result becomes (see :mod:`lowfloat.rounding`).

    Returns
    -------
    int
        The code, sign bit included.

    Raises
    ------
    ValueError
        NaN into a format without NaN, an unknown mode or impossible policy.
    """
    fmt = get_format(fmt)
    if rounding == "stochastic":
        raise ValueError(
            "the reference is deterministic; stochastic rounding gives one of reference.neighbours(x), "
            "the upper one with probability (|x| - lo) / (hi - lo)"
        )
    if rounding not in DETERMINISTIC_MODES:
        raise ValueError(f"unknown rounding {rounding!r}; expected one of {', '.join(DETERMINISTIC_MODES)}")
    policy = check_overflow(fmt, overflow)
    is_float = isinstance(x, float)
    negative = math.copysign(1.0, x) < 0 if is_float else x < 0

    def with_sign(magnitude_code: int) -> int:
        if not fmt.signed:
            return fmt.nan_code if negative else magnitude_code
        if negative and (magnitude_code != 0 or fmt.has_negative_zero):
            return fmt.sign_code | magnitude_code
        return magnitude_code

    def nan_code() -> int:
        if fmt.specials in ("ieee", "fn"):
            return fmt.nan_code | (fmt.sign_code if negative else 0)
        return fmt.nan_code

    def infinite_result() -> int:
        if policy == "nan":
            return nan_code()
        if policy == "inf":
            return with_sign(fmt.inf_code_magnitude)
        return with_sign(fmt.max_code_magnitude)

    # 1) special inputs
    if is_float and math.isnan(x):
        if not fmt.has_nan:
            raise ValueError(f"NaN has no code in {fmt.name}, which has no NaN")
        return nan_code()
    if is_float and math.isinf(x):
        return infinite_result()
    magnitude = abs(_exact(x))
    if magnitude == 0:
        return fmt.nan_code if not fmt.has_zero else with_sign(0)
    # 2) round once onto the grid
    rounded = _round_magnitude(magnitude, negative, fmt, rounding)
    # 3) overflow: IEEE 754 gives max when rounding toward zero, else an infinite result
    if rounded > fmt.max_exact:
        if rounds_toward_zero(rounding, negative):
            return with_sign(fmt.max_code_magnitude)
        return infinite_result()
    # 4) a format without zero clamps underflow to its smallest value
    if rounded == 0 and not fmt.has_zero:
        rounded = magnitude_of_code(0, fmt)
    return with_sign(code_of_magnitude(rounded, fmt))


def quantize(x, fmt, *, rounding: str = "nearest_even", overflow=None) -> float:
    """``x`` rounded onto ``fmt``'s grid, as a Python float (NaN for NaN in)."""
    fmt = get_format(fmt)
    if isinstance(x, float) and math.isnan(x):
        return math.nan
    return decode(encode(x, fmt, rounding=rounding, overflow=overflow), fmt)
