"""explain(): what happens to one number when it is rounded into a format.

Every field comes from :mod:`lowfloat.reference`, the exact specification in
Python fractions, so an explanation never rounds anything it reports: the
input, the result, its neighbours and the errors are exact
:class:`fractions.Fraction` values.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np

from . import reference
from .codetable import classify, field_names, fields_text, split_fields
from .formats import Format, get_format
from .rounding import check_overflow, rounding_rule

__all__ = ["explain", "Explanation", "DECISIONS"]

#: What rounding did, as :attr:`Explanation.decision` names it.
DECISIONS = (
    "exact",  # x is representable
    "rounded down",  # to the neighbour below x (toward -inf)
    "rounded up",  # to the neighbour above x (toward +inf)
    "tie to even",  # x halfway between its neighbours; the one with the even code
    "tie away from zero",  # x halfway; the larger magnitude (nearest_away, and E8M0's ties)
    "overflow to inf",  # rounded beyond max; the format's policy gives +-inf
    "overflow to NaN",  # ... gives NaN
    "overflow to max",  # ... gives +-max (saturation, or IEEE 754's rule for directed rounding)
    "underflow to zero",  # a nonzero x rounded to zero
    "underflow to smallest",  # a format without zero (E8M0) clamps to its smallest value
    "infinity to inf",  # an infinite input
    "infinity to NaN",
    "infinity to max",
    "NaN",  # NaN in, NaN out
    "not representable: NaN",  # zero or a negative number into an unsigned format (E8M0)
)

_HEX_NUMBER = re.compile(r"([+-]?)0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?", re.IGNORECASE)
_SIGNIFICANT_DIGITS = 40  # decimals are printed exactly up to this many significant digits


@dataclass(frozen=True)
class Explanation:
    """How one number rounds into a format -- every quantity exact.

    Build one with :func:`explain`.  ``str()`` prints an aligned block,
    ``repr()`` one line.  Exact values are :class:`fractions.Fraction`;
    zeros, infinities and NaN are floats (a float keeps the sign of zero).

    Attributes
    ----------
    text : str                  the input as given (``"0.1"``, ``repr`` of a float)
    x : Fraction or float       the exact input
    fmt : Format                the target format
    rounding : str              the rounding mode
    overflow : str              the overflow policy in force ("saturate", "inf" or "nan")
    code : int                  the result's code, by :func:`lowfloat.reference.encode`
    sign : int                  sign field (0 for unsigned formats)
    exp_field : int             biased exponent field
    man_field : int             mantissa (trailing significand) field
    exponent : int or None      unbiased exponent: exp_field - bias (normal), emin (subnormal);
                                None for zero, inf and NaN
    kind : str                  "zero", "subnormal", "normal", "inf" or "nan"
    value : Fraction or float   the result's exact value
    significand : int or None   integer significand m (signed) with value = m * 2**quantum_exponent
    quantum_exponent : int or None  exponent q of the last significand bit: exponent - man_bits
    lower, upper : Fraction or None  consecutive grid values with lower <= x <= upper (both x when
                                x is on the grid); past max the grid continues with the top
                                binade's spacing, as IEEE 754 rounds before it decides overflow
    ulp : Fraction or None      spacing of the grid at x: 2**(max(floor(log2|x|), emin) - man_bits)
                                (the subnormal spacing at x = 0)
    abs_error : Fraction or float or None  |value - x| (inf when a finite x overflows to inf)
    rel_error : Fraction or float or None  abs_error / |x| (inf with an infinite error; None for x = 0)
    tie : bool                  x lies exactly halfway between lower and upper
    decision : str              what rounding did: one of :data:`DECISIONS`

    Fields that do not apply (the neighbours of NaN, the error of a NaN
    result, ...) are None.

    Examples
    --------
    >>> import lowfloat as lf
    >>> e = lf.explain("0.1", "e4m3")
    >>> hex(e.code), e.value, e.decision
    ('0x1d', Fraction(13, 128), 'rounded up')
    >>> print(e)
    0.1 in float8_e4m3fn (nearest_even, overflow=nan)
    input       0.1 = 0x1.999999999999...p-4 (1/10, not a binary fraction)
    code        0x1D
    fields      0 | 0011 | 101  (sign | exponent | mantissa)
    exponent    3 biased, -4 unbiased (bias 7)
    class       normal
    value       0.1015625 = 13 * 2^-7 = 0x1.ap-4
    neighbours  0.09375 < x < 0.1015625
    ulp         0.0078125 = 2^-7
    error       0.0015625 absolute, 0.015625 relative, 0.2 ulp
    decision    rounded up
    >>> lf.explain(464, "e4m3")
    Explanation(464 -> float8_e4m3fn: code 0x7E, value 448, tie to even)
    """

    text: str
    x: Fraction | float
    fmt: Format
    rounding: str
    overflow: str
    code: int
    sign: int
    exp_field: int
    man_field: int
    exponent: int | None
    kind: str
    value: Fraction | float
    significand: int | None
    quantum_exponent: int | None
    lower: Fraction | None
    upper: Fraction | None
    ulp: Fraction | None
    abs_error: Fraction | float | None
    rel_error: Fraction | float | None
    tie: bool
    decision: str

    def __repr__(self):
        digits = (self.fmt.bits + 3) // 4
        return (
            f"Explanation({self.text} -> {self.fmt.name}: code 0x{self.code:0{digits}X}, "
            f"value {_decimal_text(self.value)}, {self.decision})"
        )

    def __str__(self):
        return self.to_text()

    def rows(self, *, colour: bool = False) -> list[tuple[str, str]]:
        """The block as (label, text) pairs; the first pair is the heading, with an empty label.

        ``colour=True`` colours the sign, exponent and mantissa fields with
        ANSI escape codes.
        """
        fmt = self.fmt
        digits = (fmt.bits + 3) // 4
        rows = [("", f"{self.text} in {fmt.name} ({self.rounding}, overflow={self.overflow})")]
        rows.append(("input", _input_text(self.x)))
        rows.append(("code", f"0x{self.code:0{digits}X}"))
        shown = fields_text(self.sign, self.exp_field, self.man_field, fmt, colour=colour)
        rows.append(("fields", f"{shown}  ({field_names(fmt)})"))
        unbiased = "" if self.exponent is None else f", {self.exponent} unbiased"
        subnormal = " = emin" if self.kind == "subnormal" else ""
        rows.append(("exponent", f"{self.exp_field} biased{unbiased}{subnormal} (bias {fmt.bias})"))
        rows.append(("class", self.kind))
        value = _decimal_text(self.value)
        if self.significand is not None and self.value != 0:
            value += f" = {self.significand} * 2^{self.quantum_exponent} = {_hex_text(Fraction(self.value))}"
        rows.append(("value", value))
        if self.lower is not None:
            if self.lower == self.upper:
                where = "representable" if abs(self.lower) <= fmt.max_exact else "on the grid, but past max"
                rows.append(("neighbours", f"x is {where}"))
            else:
                past = [_decimal_text(v) for v in (self.lower, self.upper) if abs(v) > fmt.max_exact]
                note = f" ({' and '.join(past)} past max)" if past else ""
                rows.append(("neighbours", f"{_decimal_text(self.lower)} < x < {_decimal_text(self.upper)}{note}"))
        if self.ulp is not None:
            rows.append(("ulp", f"{_decimal_text(self.ulp)} = 2^{reference._floor_log2(self.ulp)}"))
        if self.abs_error is not None:
            error = f"{float(self.abs_error):.6g} absolute"
            if self.rel_error is not None:
                error += f", {float(self.rel_error):.6g} relative"
            if self.ulp is not None and not math.isinf(self.abs_error):
                error += f", {float(self.abs_error / self.ulp):.6g} ulp"
            rows.append(("error", error))
        rows.append(("decision", self.decision + (" (x was a tie)" if self.tie and "tie" not in self.decision else "")))
        return rows

    def to_text(self, *, colour: bool = False) -> str:
        """The aligned block ``str()`` prints; ``colour=True`` adds ANSI colours to the fields."""
        rows = self.rows(colour=colour)
        width = max(len(label) for label, _ in rows) + 2
        return "\n".join((label.ljust(width) + text) if label else text for label, text in rows)


def explain(x, fmt, *, rounding: str = "nearest_even", overflow=None) -> Explanation:
    """Explain how one number rounds into a format: code, fields, value, neighbours, error.

    Parameters
    ----------
    x : str, float, int, Fraction, Decimal, NumPy or ml_dtypes scalar
        One real number.  A string is read *exactly*: ``"0.1"`` means 1/10,
        not the float64 nearest to it; ``"1/3"``, ``"1e-3"``, hex floats
        (``"0x1.8p-3"``), ``"inf"``, ``"-0"`` and ``"nan"`` work too.  A float
        (or NumPy float scalar) means its exact binary value.
    fmt : Format or str
        The target format, e.g. ``"e4m3"``.
    rounding : str, optional
        A deterministic mode: ``"nearest_even"`` (default), ``"nearest_away"``,
        ``"toward_zero"``, ``"toward_positive"`` or ``"toward_negative"``.
        (Stochastic rounding picks :attr:`Explanation.upper` with probability
        ``(x - lower) / (upper - lower)``.)
    overflow : {None, "saturate", "inf", "nan"}, optional
        What an infinite result becomes; None is the format's default.

    Returns
    -------
    Explanation

    Raises
    ------
    ValueError
        An unparsable string, an unknown format or mode, an impossible
        overflow policy, NaN into a format without NaN.
    TypeError
        ``x`` is not a real number (or is a bool).

    Notes
    -----
    The code is :func:`lowfloat.reference.encode`'s, which equals
    :func:`lowfloat.encode`'s for every float input.  For a decimal string
    the two can differ: ``encode`` sees the float64 nearest to the decimal,
    which rounds a second time when that float64 lies on the other side of a
    tie.  Special values and overflow follow :mod:`lowfloat.rounding`.

    Examples
    --------
    >>> import lowfloat as lf
    >>> e = lf.explain(464, "e4m3")   # halfway between 448 (code 0x7E) and 480 (0x7F is NaN)
    >>> e.lower, e.upper, e.tie, e.decision
    (Fraction(448, 1), Fraction(480, 1), True, 'tie to even')
    >>> lf.explain(465, "e4m3").decision
    'overflow to NaN'
    >>> lf.explain(465, "e4m3", overflow="saturate").decision
    'overflow to max'
    >>> e = lf.explain(2**-10, "e4m3")    # half the smallest subnormal: a tie, zero is even
    >>> e.decision, e.tie, e.value
    ('underflow to zero', True, 0.0)
    >>> e = lf.explain(0.1, "bf16")       # a float is its exact binary value
    >>> e.x
    Fraction(3602879701896397, 36028797018963968)
    >>> print(e.rows()[1][1])
    0.1000000000000000055511151231257827021181... = 0x1.999999999999ap-4
    """
    fmt = get_format(fmt)
    policy = check_overflow(fmt, overflow)
    text, exact = _read_number(x)
    # 1) the code, from the exact specification
    code = reference.encode(exact, fmt, rounding=rounding, overflow=overflow)
    sign, exp_field, man_field = (int(field) for field in split_fields(code, fmt))
    negative_result = bool(sign)
    result = reference.decode(code, fmt)
    kind = str(classify(result, exp_field, fmt))
    # 2) the result's exact value, and as m * 2**q
    value = result
    significand = quantum_exponent = exponent = None
    if kind in ("normal", "subnormal"):
        magnitude = reference.magnitude_of_code(code - fmt.sign_code if negative_result else code, fmt)
        value = -magnitude if negative_result else magnitude
        exponent = exp_field - fmt.bias if kind == "normal" else fmt.emin
        quantum_exponent = exponent - fmt.man_bits
        significand = int(value / Fraction(2) ** quantum_exponent)
    elif kind == "zero":
        significand, quantum_exponent = 0, fmt.emin - fmt.man_bits
    # 3) neighbours, ulp, errors and the decision
    lower = upper = ulp = abs_error = rel_error = None
    tie = False
    finite = isinstance(exact, Fraction) or math.isfinite(exact)
    representable_sign = fmt.signed or (finite and exact > 0)
    if finite and representable_sign:
        lower, upper, ulp = _neighbours(Fraction(exact), fmt)
        tie = lower != upper and (exact - lower) == (upper - exact)
        if kind != "nan":
            abs_error = abs(Fraction(value) - Fraction(exact)) if kind != "inf" else math.inf
            rel_error = None if exact == 0 else math.inf if kind == "inf" else abs_error / abs(Fraction(exact))
    decision = _decision(exact, value, kind, fmt, rounding, tie)
    return Explanation(
        text=text, x=exact, fmt=fmt, rounding=rounding, overflow=policy, code=code, sign=sign, exp_field=exp_field,
        man_field=man_field, exponent=exponent, kind=kind, value=value, significand=significand,
        quantum_exponent=quantum_exponent, lower=lower, upper=upper, ulp=ulp, abs_error=abs_error,
        rel_error=rel_error, tie=tie, decision=decision,
    )  # fmt: skip


# ------------------------------------------------------------------ reading


def _read_number(x) -> tuple[str, Fraction | float]:
    """How to print ``x``, and its exact value: a Fraction, or a float for zeros, infinities and NaN."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"x must be a real number, got the bool {x!r}")
    if isinstance(x, str):
        return x.strip(), _parse(x)
    if isinstance(x, np.generic) and x.dtype.kind == "V" and hasattr(type(x), "__float__"):
        # an ml_dtypes scalar (bfloat16, float8_*, ...): every value of those is exact as a float
        text, (_, value) = str(x), _read_number(float(x))
        return text, value
    if isinstance(x, (float, np.floating)):
        value = float(x) if not math.isfinite(x) or x == 0 else Fraction(*x.as_integer_ratio())
        return repr(float(x)) if isinstance(x, float) else str(x), value
    if isinstance(x, (numbers.Rational, np.integer, Decimal)):
        if isinstance(x, Decimal) and (not x.is_finite() or x == 0):
            return str(x), float(x)
        value = Fraction(int(x)) if isinstance(x, np.integer) else Fraction(x)
        return str(x), value if value else 0.0
    raise TypeError(f"x must be a real number (str, float, int, Fraction, Decimal), got {type(x).__name__}")


def _parse(text: str) -> Fraction | float:
    """The exact value of a decimal, fraction or hex-float string."""
    stripped = text.strip()
    lowered = stripped.lower().lstrip("+-")
    negative = stripped.startswith("-")
    if lowered in ("inf", "infinity", "nan"):
        return float(stripped)
    hex_match = _HEX_NUMBER.fullmatch(stripped)
    try:
        if hex_match:
            sign, whole, frac, power = hex_match.groups()
            frac = frac or ""
            if not (whole or frac):
                raise ValueError
            value = Fraction(int(whole + frac or "0", 16), 16 ** len(frac)) * Fraction(2) ** int(power or 0)
        elif "0x" in lowered:
            raise ValueError
        else:
            value = Fraction(stripped)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"not a number: {text!r}") from None
    if value == 0:
        return -0.0 if negative else 0.0
    return -value if hex_match and negative else value


# ------------------------------------------------------------------ rounding facts


def _neighbours(x: Fraction, fmt: Format) -> tuple[Fraction, Fraction, Fraction]:
    """Signed grid values ``lower <= x <= upper`` and the ulp at x."""
    if x == 0:
        return x, x, Fraction(2) ** (fmt.emin - fmt.man_bits)
    lo, hi = reference.neighbours(x, fmt)
    ulp = hi - lo
    if lo == abs(x):
        return x, x, ulp
    return (lo, hi, ulp) if x > 0 else (-hi, -lo, ulp)


def _decision(x, value, kind: str, fmt: Format, rounding: str, tie: bool) -> str:
    """What rounding did to ``x`` (one of :data:`DECISIONS`)."""
    result_name = {"inf": "inf", "nan": "NaN"}.get(kind, "max")
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    if isinstance(x, float) and math.isinf(x):
        return f"infinity to {result_name}"
    if not fmt.signed and (x < 0 or x == 0):
        return "not representable: NaN"
    if x == 0:
        return "exact"
    negative = x < 0
    # the rounded magnitude on the grid without an upper end, as the reference rounds
    rule = rounding_rule(rounding, fmt)
    rounded = reference._round_magnitude(abs(x), negative, fmt, rule)
    if rounded > fmt.max_exact:
        return f"overflow to {result_name}"
    if rounded == abs(x):
        return "exact"
    if rounded == 0:
        return "underflow to zero" if fmt.has_zero else "underflow to smallest"
    if tie and rule.nearest:
        return "tie away from zero" if rule.ties == "away" else "tie to even"
    return "rounded up" if value > x else "rounded down"


# ------------------------------------------------------------------ printing


def _decimal_text(value, significant: int = _SIGNIFICANT_DIGITS) -> str:
    """A number in decimal: exactly when it terminates within ``significant`` digits, else cut with "..."."""
    if isinstance(value, float) and (value == 0 or not math.isfinite(value)):
        return repr(value)
    value = Fraction(value)
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    value = abs(value)
    # point: where the decimal point goes after the first digit (0.01 -> -1, 448 -> 3)
    point = len(str(value.numerator // value.denominator)) if value >= 1 else -_leading_zeros(value)
    scaled = value * Fraction(10) ** (significant - point)
    digits = str(scaled.numerator // scaled.denominator)  # exactly `significant` digits
    exact = scaled.denominator == 1
    digits = digits.rstrip("0") or "0"
    tail = "" if exact else "..."
    if -6 <= point <= 21:
        if point <= 0:
            text = "0." + "0" * -point + digits
        elif len(digits) <= point:
            text = digits + "0" * (point - len(digits))
        else:
            text = digits[:point] + "." + digits[point:]
        return sign + text + tail
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}{tail}e{point - 1:+03d}"


def _leading_zeros(value: Fraction) -> int:
    """For 0 < value < 1: how many zeros follow the decimal point before the first nonzero digit."""
    zeros = 0
    while value * 10 < 1:
        value *= 10
        zeros += 1
    return zeros


def _hex_text(value: Fraction, digits: int = 12) -> str:
    """A number as a hex float, ``0x1.ap-4``: exact for binary fractions, else ``digits`` hex digits and "..."."""
    if value == 0:
        return "0x0p+0"
    sign = "-" if value < 0 else ""
    value = abs(value)
    exponent = reference._floor_log2(value)
    rest = value / Fraction(2) ** exponent - 1
    dyadic = rest.denominator & (rest.denominator - 1) == 0
    hex_digits = ""
    while rest and (dyadic or len(hex_digits) < digits):
        rest *= 16
        hex_digits += f"{int(rest):x}"
        rest -= int(rest)
    fraction = "." + hex_digits + ("..." if rest else "") if hex_digits else ""
    return f"{sign}0x1{fraction}p{exponent:+d}"


def _input_text(x) -> str:
    if isinstance(x, float):
        return repr(x)
    text = f"{_decimal_text(x)} = {_hex_text(x)}"
    if x.denominator & (x.denominator - 1):
        text += f" ({x}, not a binary fraction)"
    return text
