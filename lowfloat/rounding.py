"""Rounding modes and overflow policies: their names, numbers and rules.

One place defines the vocabulary that the exact reference, the public
wrappers and the kernels share, so a mode means the same everywhere.

Rounding modes (IEEE 754-2019 section 4.3 names in brackets)
------------------------------------------------------------
``"nearest_even"``     nearest value, ties to the even code [roundTiesToEven]: the
                       even significand; in formats without mantissa bits
                       the even exponent (as gfloat does)
``"nearest_away"``     nearest value, ties away from zero [roundTiesToAway]
``"toward_zero"``      truncate the magnitude [roundTowardZero]
``"toward_positive"``  the smallest value >= x [roundTowardPositive]
``"toward_negative"``  the largest value <= x [roundTowardNegative]
``"stochastic"``       one of the two neighbours ``lo < x < hi``, ``hi`` with
                       probability ``(x - lo) / (hi - lo)``: unbiased in
                       expectation; representable values are returned unchanged

For unsigned formats (E8M0) ``"nearest_even"`` rounds ties up, as ml_dtypes
and PyTorch do: with no mantissa bits every significand is 1, so "even" has
no natural meaning there.

Overflow (IEEE 754-2019 section 7.4, extended to formats without infinity)
--------------------------------------------------------------------------
Rounding a finite value whose magnitude is beyond the largest finite value
``max`` gives, under IEEE 754, either ``+-max`` (when the mode rounds that
sign toward zero: ``toward_zero``; ``toward_positive`` for negative x;
``toward_negative`` for positive x) or an *infinite result* (every other
case).  An infinite input is an infinite result too.  The ``overflow=``
policy says what an infinite result becomes:

``None``        the format's default, as ml_dtypes and the ONNX Cast table:
                ``ieee`` -> +-inf; ``fn``/``fnuz`` -> NaN; ``none`` -> +-max
``"saturate"``  +-max (OCP's saturating conversion; Transformer Engine, torch)
``"inf"``       +-inf (only for formats with infinities)
``"nan"``       NaN (only for formats with NaN)

A finite result that IEEE 754 gives as ``+-max`` stays ``+-max`` under every
policy.  Stochastic rounding that rounds up past ``max`` gives an infinite
result, as round-to-nearest does.  NaN input gives NaN wherever the format has NaN.
"""

from __future__ import annotations

__all__ = ["ROUNDING_MODES", "DETERMINISTIC_MODES", "OVERFLOW_POLICIES", "rounding_id", "overflow_id", "check_overflow"]

#: Rounding modes, in the order of their kernel numbers.
ROUNDING_MODES = (
    "nearest_even",
    "nearest_away",
    "toward_zero",
    "toward_positive",
    "toward_negative",
    "stochastic",
)

#: The modes that give one answer for one input.
DETERMINISTIC_MODES = ROUNDING_MODES[:5]

#: Overflow policies other than ``None`` (the format's default).
OVERFLOW_POLICIES = ("saturate", "inf", "nan")

# Kernel numbers.  Plain ints: they travel inside the layout tuple.
NEAREST_EVEN, NEAREST_AWAY, TOWARD_ZERO, TOWARD_POSITIVE, TOWARD_NEGATIVE, STOCHASTIC = range(6)


def rounding_id(rounding) -> int:
    """Kernel number of a rounding mode name; ValueError naming the valid ones."""
    if isinstance(rounding, str) and rounding in ROUNDING_MODES:
        return ROUNDING_MODES.index(rounding)
    raise ValueError(f"unknown rounding {rounding!r}; expected one of {', '.join(ROUNDING_MODES)}")


def check_overflow(fmt, overflow) -> str:
    """Resolve an ``overflow=`` policy for ``fmt`` to "saturate", "inf" or "nan".

    Raises ValueError for an unknown policy or one the format cannot follow.
    """
    if overflow is None:
        return "inf" if fmt.has_inf else "nan" if fmt.has_nan else "saturate"
    if not isinstance(overflow, str) or overflow not in OVERFLOW_POLICIES:
        raise ValueError(f"unknown overflow {overflow!r}; expected None or one of {', '.join(OVERFLOW_POLICIES)}")
    if overflow == "inf" and not fmt.has_inf:
        raise ValueError(f"overflow='inf' is impossible: {fmt.name} has no infinity")
    if overflow == "nan" and not fmt.has_nan:
        raise ValueError(f"overflow='nan' is impossible: {fmt.name} has no NaN")
    return overflow


def overflow_id(fmt, overflow) -> int:
    """Kernel number of the resolved policy: 0 saturate, 1 inf, 2 nan."""
    return OVERFLOW_POLICIES.index(check_overflow(fmt, overflow))


def rounds_toward_zero(rounding: str, negative: bool) -> bool:
    """Whether ``rounding`` moves a value of this sign toward zero (so overflow gives max)."""
    if rounding == "toward_zero":
        return True
    if rounding == "toward_positive":
        return negative
    if rounding == "toward_negative":
        return not negative
    return False
