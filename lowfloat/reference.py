"""The exact specification, in plain Python integers and fractions.

Slow, scalar and written to be read: this module *is* the definition every
kernel path is tested against -- every rounding mode (stochastic rounding
with the random bits passed explicitly), flush to zero, denormals are zero,
overflow policies and IEEE exception flags, for casts and for arithmetic.
No floating-point arithmetic decides anything here -- values are
:class:`fractions.Fraction` -- so there is no double rounding to hide behind.
The rules themselves (which neighbour each mode takes, what each flag means)
are those of :mod:`lowfloat.rounding`.

Examples
--------
>>> from lowfloat import reference
>>> hex(reference.encode(0.1, "float8_e4m3fn"))
'0x1d'
>>> reference.decode(0x1D, "float8_e4m3fn")
0.1015625
>>> reference.quantize(1 + 2**-4 + 2**-30, "float8_e4m3fn")  # no double rounding
1.125
>>> reference.encode_flags(465.0, "float8_e4m3fn")  # (NaN code, OVERFLOW | INEXACT)
(127, 5)
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .formats import Format, get_format
from .rounding import (
    FLAG_INEXACT,
    FLAG_INFINITE,
    FLAG_INVALID,
    FLAG_OVERFLOW,
    FLAG_UNDERFLOW,
    Rule,
    check_overflow,
    check_tininess,
    rounding_rule,
)

__all__ = [
    "decode",
    "encode",
    "encode_flags",
    "quantize",
    "quantize_flags",
    "arithmetic",
    "neighbours",
    "magnitude_of_code",
    "code_of_magnitude",
    "OPERATIONS",
]

#: The operations :func:`arithmetic` computes, with their number of operands.
OPERATIONS = {"add": 2, "sub": 2, "mul": 2, "div": 2, "fma": 3, "sqrt": 1}


def _exact(x) -> Fraction:
    """The exact value of a finite real number: a float (NumPy's too), an int or a Fraction."""
    return Fraction(float(x)) if isinstance(x, np.floating) else Fraction(x)


def _power_of_two(exponent: int) -> Fraction:
    """``2**exponent`` as a Fraction (``Fraction(2) ** exponent``, without its normalising arithmetic).

    >>> _power_of_two(-3), _power_of_two(4)
    (Fraction(1, 8), Fraction(16, 1))
    """
    return Fraction(1 << exponent) if exponent >= 0 else Fraction(1, 1 << -exponent)


def _floor_scaled(value: Fraction, exponent: int) -> int:
    """``floor(value * 2**exponent)`` for a non-negative Fraction, in integers.

    >>> _floor_scaled(Fraction(7, 3), 2), _floor_scaled(Fraction(7, 3), -1)
    (9, 1)
    """
    if exponent >= 0:
        return (value.numerator << exponent) // value.denominator
    return value.numerator // (value.denominator << -exponent)


def magnitude_of_code(code_magnitude: int, fmt: Format) -> Fraction:
    """Exact value of a finite code without its sign bit."""
    exp_field = code_magnitude >> fmt.man_bits
    man_field = code_magnitude & ((1 << fmt.man_bits) - 1)
    if exp_field == 0 and fmt.has_zero:
        # subnormal: 0.man * 2**emin
        return Fraction(man_field, 1 << fmt.man_bits) * _power_of_two(fmt.emin)
    # normal: 1.man * 2**(exp_field - bias)
    return Fraction((1 << fmt.man_bits) + man_field, 1 << fmt.man_bits) * _power_of_two(exp_field - fmt.bias)


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
        man_field = value / _power_of_two(fmt.emin - fmt.man_bits)
        exp_field = 0
    else:
        man_field = (value / _power_of_two(exponent) - 1) * (1 << fmt.man_bits)
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
    # the estimate is exact or one too large: too large when value < 2**exponent
    return exponent - 1 if _floor_scaled(value, -exponent) == 0 else exponent


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
    return _grid_neighbours(magnitude, max(_floor_log2(magnitude), fmt.emin) - fmt.man_bits)


def _grid_neighbours(magnitude: Fraction, quantum_exponent: int) -> tuple[Fraction, Fraction]:
    """The multiples ``lo <= magnitude < hi`` of ``2**quantum_exponent`` around a magnitude."""
    quantum = _power_of_two(quantum_exponent)
    steps = _floor_scaled(magnitude, -quantum_exponent)
    return steps * quantum, (steps + 1) * quantum


@dataclass(frozen=True)
class _Draw:
    """Stochastic rounding's random integer: ``bits`` of ``width`` bits, the top ``compared`` of them used."""

    bits: int
    width: int
    compared: int

    def rounds_up(self, fraction: Fraction) -> bool:
        """Up when the top bits are below ``floor(fraction * 2**compared)`` (``fraction`` in (0, 1))."""
        threshold = math.floor(fraction * (1 << self.compared))
        return self.bits >> (self.width - self.compared) < threshold


def _round_between(magnitude, lo, hi, negative, rule: Rule, lo_is_even: bool, draw: _Draw | None) -> Fraction:
    """``lo`` or ``hi`` for ``lo < magnitude < hi``, as ``rule`` decides."""
    below, above = magnitude - lo, hi - magnitude
    side = (below > above) - (below < above)
    random_up = draw.rounds_up((magnitude - lo) / (hi - lo)) if rule.stochastic else False
    return hi if rule.rounds_up(negative, side, lo_is_even, random_up) else lo


def _round_magnitude(magnitude: Fraction, negative: bool, fmt: Format, rule: Rule, draw=None) -> Fraction:
    """Round a positive magnitude onto the (unbounded-above) grid of ``fmt``."""
    lo, hi = neighbours(magnitude, fmt)
    if lo == magnitude:
        return lo
    # the even code: the even significand where there are mantissa bits, the even exponent
    # where there are none; beyond max either way overflows
    lo_is_even = lo > fmt.max_exact or lo == 0 or code_of_magnitude(lo, fmt) % 2 == 0
    return _round_between(magnitude, lo, hi, negative, rule, lo_is_even, draw)


def _round_unbounded(magnitude: Fraction, negative: bool, fmt: Format, rule: Rule, draw=None) -> Fraction:
    """Round a positive magnitude to ``fmt``'s precision with an unbounded exponent range (for tininess)."""
    exponent = _floor_log2(magnitude)
    lo, hi = _grid_neighbours(magnitude, exponent - fmt.man_bits)
    if lo == magnitude:
        return lo
    # even: the last significand bit, or (no mantissa bits) the exponent field of lo's binade
    if fmt.man_bits:
        lo_is_even = (lo / _power_of_two(exponent - fmt.man_bits)) % 2 == 0
    else:
        lo_is_even = (exponent + fmt.bias) % 2 == 0
    return _round_between(magnitude, lo, hi, negative, rule, lo_is_even, draw)


def _float_bits(x) -> tuple[int, int, int] | None:
    """(bits, exponent bits, mantissa bits) of a NumPy or Python float, or None for other numbers."""
    if isinstance(x, np.floating) and x.dtype.itemsize in (2, 4, 8):
        info = np.finfo(x.dtype)
        uint = {2: np.uint16, 4: np.uint32, 8: np.uint64}[x.dtype.itemsize]
        return int(np.asarray(x).view(uint)), info.nexp, info.nmant
    if isinstance(x, float):
        return struct.unpack("<Q", struct.pack("<d", x))[0], 11, 52
    return None


def _is_signalling_nan(x) -> bool:
    """Whether a float is a NaN with its quiet bit (the mantissa's top bit) clear."""
    layout = _float_bits(x)
    if layout is None or not math.isnan(x):
        return False
    bits, _, man_bits = layout
    return not (bits >> (man_bits - 1)) & 1


def _input_smallest_normal(x, dtype) -> Fraction | None:
    """The smallest normal of ``x``'s own float type (``dtype`` if given), or None for exact numbers."""
    if dtype is not None:
        return _power_of_two(int(np.finfo(np.dtype(dtype)).minexp))
    if isinstance(x, np.floating):
        return _power_of_two(int(np.finfo(x.dtype).minexp))
    if isinstance(x, float):
        return _power_of_two(-1022)
    return None


def _check_draw(rule: Rule, random_bits, random_width, sr_bits) -> _Draw | None:
    if not rule.stochastic:
        if random_bits is not None or sr_bits is not None:
            raise ValueError(f"random_bits= and sr_bits= apply only to rounding='stochastic', not {rule.mode!r}")
        return None
    if random_bits is None:
        raise ValueError(
            "the reference is deterministic: for rounding='stochastic' pass random_bits, the integer of "
            "random_width bits the rounding compares (see lowfloat.rounding)"
        )
    if not isinstance(random_width, int) or random_width < 1:
        raise ValueError(f"random_width must be a positive int, got {random_width!r}")
    if not 0 <= int(random_bits) < (1 << random_width):
        raise ValueError(f"random_bits must be in 0 .. 2**{random_width} - 1, got {random_bits!r}")
    compared = random_width if sr_bits is None else min(int(sr_bits), random_width)
    return _Draw(int(random_bits), random_width, compared)


def encode_flags(x, fmt, *, rounding: str = "nearest_even", overflow=None, ftz: bool = False, daz: bool = False,
                 tininess: str = "after", random_bits=None, random_width: int = 64, sr_bits=None,
                 dtype=None) -> tuple[int, int]:  # fmt: skip
    """The code of ``x`` rounded once, exactly, into ``fmt``, and the exception flags it raises.

    Parameters
    ----------
    x : float, int, Fraction or NumPy float scalar
        The exact value to round (a float's exact binary value is used).
    fmt : Format or str
    rounding : str
        One of :data:`lowfloat.ROUNDING_MODES`.
    overflow : None, "saturate", "inf" or "nan"
        What an infinite result becomes (see :mod:`lowfloat.rounding`).
    ftz, daz : bool
        Flush subnormal results to zero; count subnormal inputs -- of ``x``'s
        own float type, or of ``dtype`` -- as zero.
    tininess : {"after", "before"}
        When a result is tiny, for the underflow flag.
    random_bits, random_width, sr_bits
        Stochastic rounding only: the integer of ``random_width`` bits that
        the rounding compares, of which the top ``min(sr_bits, random_width)``
        count.  ``x`` goes to the upper neighbour when those bits are below
        ``floor((|x| - lo) / (hi - lo) * 2**compared)``.  lowfloat's kernels
        draw ``random_width`` = 32 bits for float32 data and 64 for float64.
    dtype : numpy dtype, optional
        The float type ``x`` came from, for DAZ and signalling NaNs (default:
        ``x``'s own type; float64 for Python floats).

    Returns
    -------
    (int, int)
        The code, sign bit included, and the flags (:data:`lowfloat.FLAG_INEXACT` ...).

    Raises
    ------
    ValueError
        NaN into a format without NaN, an unknown mode or impossible policy,
        stochastic rounding without ``random_bits``.
    """
    fmt = get_format(fmt)
    rule = rounding_rule(rounding, fmt)
    policy = check_overflow(fmt, overflow)
    check_tininess(tininess)
    draw = _check_draw(rule, random_bits, random_width, sr_bits)
    is_float = isinstance(x, (float, np.floating))
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
        return nan_code(), FLAG_INVALID if _is_signalling_nan(x) else 0
    if is_float and math.isinf(x):
        code = infinite_result()
        keeps_infinity = policy == "inf" and (fmt.signed or not negative)
        return code, 0 if keeps_infinity else FLAG_INVALID
    magnitude = abs(_exact(x))
    smallest_input_normal = _input_smallest_normal(x, dtype)
    if daz and smallest_input_normal is not None and magnitude < smallest_input_normal:
        magnitude = Fraction(0)  # DAZ: a subnormal input counts as a zero of its sign, silently
    if not fmt.has_zero and (magnitude == 0 or negative):
        return fmt.nan_code, FLAG_INVALID  # E8M0 holds neither zero nor negative values
    if magnitude == 0:
        return with_sign(0), 0
    # 2) round once onto the grid; inexact when it moved
    rounded = _round_magnitude(magnitude, negative, fmt, rule, draw)
    flags = FLAG_INEXACT if rounded != magnitude else 0
    # 3) overflow: IEEE 754 gives max when rounding toward zero, else an infinite result
    if rounded > fmt.max_exact:
        code = with_sign(fmt.max_code_magnitude) if rule.toward_zero(negative) else infinite_result()
        return code, FLAG_OVERFLOW | FLAG_INEXACT
    # 4) underflow: tiny (before or after rounding) and inexact
    smallest_normal = _power_of_two(fmt.emin)
    tiny_value = magnitude if tininess == "before" else _round_unbounded(magnitude, negative, fmt, rule, draw)
    if flags and tiny_value < smallest_normal:
        flags |= FLAG_UNDERFLOW
    # 5) a format without zero clamps underflow to its smallest value; FTZ flushes subnormal results
    if rounded == 0 and not fmt.has_zero:
        rounded = smallest_normal
    if ftz and fmt.has_subnormals and 0 < rounded < smallest_normal:
        rounded = Fraction(0)
        flags |= FLAG_UNDERFLOW | FLAG_INEXACT
    return with_sign(code_of_magnitude(rounded, fmt)), flags


def encode(x, fmt, *, rounding: str = "nearest_even", overflow=None, ftz: bool = False, daz: bool = False,
           random_bits=None, random_width: int = 64, sr_bits=None, dtype=None) -> int:  # fmt: skip
    """The code of ``x`` rounded once, exactly, into ``fmt`` (:func:`encode_flags` without the flags)."""
    code, _ = encode_flags(x, fmt, rounding=rounding, overflow=overflow, ftz=ftz, daz=daz, random_bits=random_bits,
                           random_width=random_width, sr_bits=sr_bits, dtype=dtype)  # fmt: skip
    return code


def quantize_flags(x, fmt, **options) -> tuple[float, int]:
    """``x`` rounded onto ``fmt``'s grid as a Python float, and the flags; options as :func:`encode_flags`.

    NaN stays NaN even in formats without NaN (with INVALID there, as for a
    signalling NaN).
    """
    fmt = get_format(fmt)
    if isinstance(x, (float, np.floating)) and math.isnan(x):
        encode_flags(0.0 if fmt.has_zero else 1.0, fmt, **options)  # validates the options
        signalling = _is_signalling_nan(x)
        return math.nan, FLAG_INVALID if signalling or not fmt.has_nan else 0
    code, flags = encode_flags(x, fmt, **options)
    return decode(code, fmt), flags


def quantize(x, fmt, **options) -> float:
    """``x`` rounded onto ``fmt``'s grid, as a Python float (NaN for NaN in); options as :func:`encode`."""
    value, _ = quantize_flags(x, fmt, **options)
    return value


# ------------------------------------------------------------------ arithmetic

# Square roots are computed to this many bits and rounded to odd (the last bit set when
# inexact): rounding that once more into a format of up to SQRT_BITS - 2 bits is exact
# (Boldo & Melquiond, IEEE TC 57(4), 2008).
_SQRT_BITS = 256


def _sqrt_to_odd(value: Fraction) -> Fraction:
    """``sqrt(value)`` rounded to odd at ``_SQRT_BITS`` bits: exact, or off by less than a sticky bit."""
    exponent = _floor_log2(value) // 2 - _SQRT_BITS
    scaled = value / Fraction(4) ** exponent  # sqrt(value) = sqrt(scaled) * 2**exponent
    whole = scaled.numerator // scaled.denominator
    root = math.isqrt(whole)
    if root * root != scaled:
        root |= 1  # sticky: the root lies strictly between root - 1 and root + 1
    return Fraction(root) * _power_of_two(exponent)


def arithmetic(op: str, operands, fmt, *, rounding: str = "nearest_even", overflow=None, ftz: bool = False,
               daz: bool = False, tininess: str = "after", random_bits=None, random_width: int = 64,
               sr_bits=None) -> tuple[float, int]:  # fmt: skip
    """``op`` of the operands computed exactly and rounded once into ``fmt``, and the exception flags.

    Parameters
    ----------
    op : {"add", "sub", "mul", "div", "fma", "sqrt"}
        ``fma`` is ``x * y + z``.
    operands : sequence of floats
        Python or NumPy floats (their exact values); as many as ``op`` takes.
    fmt, rounding, overflow, ftz, tininess, random_bits, random_width, sr_bits
        As for :func:`encode_flags`.
    daz : bool
        Operands below ``fmt``'s smallest normal count as zeros of their sign
        (a unit with DAZ working in ``fmt`` sees its own subnormals as zero).

    Returns
    -------
    (float, int)
        The result and the flags (:mod:`lowfloat.rounding` has the rules).

    Examples
    --------
    >>> from lowfloat import reference
    >>> reference.arithmetic("add", [1.0, 2.0**-60], "e4m3")   # inexact
    (1.0, 1)
    >>> reference.arithmetic("div", [1.0, 0.0], "fp16")        # INFINITE
    (inf, 8)
    >>> reference.arithmetic("sub", [1.0, 1.0], "fp16", rounding="toward_negative")  # x - x is -0 here
    (-0.0, 0)
    """
    fmt = get_format(fmt)
    if op not in OPERATIONS:
        raise ValueError(f"unknown operation {op!r}; expected one of {', '.join(OPERATIONS)}")
    values = [x if isinstance(x, (float, np.floating)) else float(x) for x in operands]
    if len(values) != OPERATIONS[op]:
        raise ValueError(f"{op} takes {OPERATIONS[op]} operand(s), got {len(values)}")
    options = dict(rounding=rounding, overflow=overflow, ftz=ftz, tininess=tininess, random_bits=random_bits,
                   random_width=random_width, sr_bits=sr_bits)  # fmt: skip
    invalid = FLAG_INVALID if any(_is_signalling_nan(v) for v in values) else 0
    if daz:
        smallest = fmt.smallest_normal
        values = [math.copysign(0.0, v) if math.isfinite(v) and abs(v) < smallest else float(v) for v in values]
    values = [float(v) for v in values]
    exact, op_flags = _exact_result(op, values, rounding)
    value, flags = quantize_flags(exact, fmt, **options)
    return value, flags | op_flags | invalid


def _exact_result(op: str, v: list, rounding: str) -> tuple[float | Fraction, int]:
    """The exact result (a Fraction, or a float for zeros, infinities and NaN) and the operation's own flags."""
    nan = math.nan
    if any(math.isnan(x) for x in v):
        if op == "fma" and _zero_times_infinity(v[0], v[1]):
            return nan, FLAG_INVALID  # fma(0, inf, NaN) is invalid too (IEEE 754 7.2 lets it be; SoftFloat does)
        return nan, 0
    if op in ("add", "sub"):
        x, y = v[0], (-v[1] if op == "sub" else v[1])
        return _sum(x, y, rounding)
    if op == "mul":
        return _product(v[0], v[1])
    if op == "div":
        x, y = v
        sign = -1.0 if (math.copysign(1, x) < 0) != (math.copysign(1, y) < 0) else 1.0
        if (x == 0 and y == 0) or (math.isinf(x) and math.isinf(y)):
            return nan, FLAG_INVALID
        if math.isinf(x):
            return sign * math.inf, 0
        if math.isinf(y):
            return sign * 0.0, 0
        if y == 0:
            return sign * math.inf, FLAG_INFINITE
        return (Fraction(x) / Fraction(y) if x != 0 else sign * 0.0), 0
    if op == "sqrt":
        (x,) = v
        if x < 0:
            return nan, FLAG_INVALID  # -inf included; -0 is not below 0
        if x == 0 or math.isinf(x):
            return x, 0
        return _sqrt_to_odd(Fraction(x)), 0
    # fma: the exact product, then the exact sum with z
    x, y, z = v
    if _zero_times_infinity(x, y):
        return nan, FLAG_INVALID
    product, _ = _product(x, y)
    return _sum(product, z, rounding)


def _zero_times_infinity(x, y) -> bool:
    return (x == 0 and math.isinf(y)) or (math.isinf(x) and y == 0)


def _product(x, y) -> tuple[float | Fraction, int]:
    if _zero_times_infinity(x, y):
        return math.nan, FLAG_INVALID
    sign = -1.0 if (math.copysign(1, x) < 0) != (math.copysign(1, y) < 0) else 1.0
    if math.isinf(x) or math.isinf(y):
        return sign * math.inf, 0
    if x == 0 or y == 0:
        return sign * 0.0, 0
    return Fraction(x) * Fraction(y), 0


def _sum(x, y, rounding: str) -> tuple[float | Fraction, int]:
    """``x + y`` exactly; x and y are floats or Fractions (an exact product)."""
    x_inf = isinstance(x, float) and math.isinf(x)
    y_inf = isinstance(y, float) and math.isinf(y)
    if x_inf and y_inf and x != y:
        return math.nan, FLAG_INVALID  # inf - inf
    if x_inf or y_inf:
        return (x if x_inf else y), 0
    total = Fraction(x) + Fraction(y)
    if total != 0:
        return total, 0
    # an exact zero (IEEE 754 6.3): two zeros of one sign keep it; otherwise +0, but -0 toward negative
    x_negative, y_negative = _is_negative(x), _is_negative(y)
    if x == 0 and y == 0 and x_negative == y_negative:
        return (-0.0 if x_negative else 0.0), 0
    return (-0.0 if rounding == "toward_negative" else 0.0), 0


def _is_negative(v) -> bool:
    return math.copysign(1.0, v) < 0 if isinstance(v, float) else v < 0
