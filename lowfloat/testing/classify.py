"""What kind of mistake a mismatch is: double rounding, a tie, a subnormal, overflow, NaN/inf, a zero's sign.

:func:`classify` sorts the mismatches of one batch into the classes of
:data:`MISMATCH_CLASSES`.  Each input gets the first class whose test it
passes, in this order:

1. ``nan_inf``: the input is NaN or infinite.
2. ``double_rounding`` (float64 inputs): the cast's answer is lowfloat's
   answer for ``float32(x)``, and ``float32(x) != x`` -- the cast rounded
   into float32 first, and that rounding landed on (or crossed) a tie.
3. ``overflow``: ``|x| >= max``, or ``|x|`` lies above the value below
   ``max`` and one of the two answers is infinite or NaN (an overflow too
   early); in an unsigned format (E8M0), positive ``x`` only.
4. ``nan_inf``: one answer is NaN or infinite and the other is not (or they
   are different non-finite values).
5. ``zero_sign``: both answers are zeros, of different signs.
6. ``subnormal``: ``|x|`` is below the format's smallest normal, or is a
   subnormal of the input type itself.
7. ``tie`` (round-to-nearest modes): ``x`` is exactly halfway between two
   neighbours and the cast chose the other one.
8. ``other``: anything else (for example rounding in the wrong direction).

Every test is exact: the neighbours and ties come from
:func:`lowfloat.testing.grid.grid_neighbours` (exact float64 arithmetic,
the same grid as :func:`lowfloat.reference.neighbours`), the answers are
exact decoded values, and lowfloat's answer for ``float32(x)`` comes from
:func:`lowfloat.quantize`.
"""

from __future__ import annotations

import numpy as np

from ..codec import quantize
from ..formats import Format
from .compare import same_values
from .grid import grid_neighbours, next_below_max
from .inputs import InputType

__all__ = ["MISMATCH_CLASSES", "classify"]

#: The classes of mismatch, in the order a report lists them, with what each means.
MISMATCH_CLASSES = {
    "double_rounding": "double rounding near a tie: the answer for float32(x), not for x",
    "tie": "tie broken the wrong way: x is halfway between two values and the other one was chosen",
    "subnormal": "subnormal: |x| is below the smallest normal (of the format, or of the input type)",
    "overflow": "overflow threshold: |x| at or beyond max, or just below it with an infinite or NaN answer",
    "nan_inf": "NaN/inf: a NaN or infinite input, or a NaN or infinite answer where the other is not",
    "zero_sign": "sign of zero: both answers are zero, with different signs",
    "other": "other: a finite x rounded to a wrong value",
}

_NEAREST_MODES = ("nearest_even", "nearest_away")


def classify(x, expected, actual, fmt: Format, source: InputType, *, rounding: str, overflow, ftz: bool,
             daz: bool) -> np.ndarray:  # fmt: skip
    """The class of each mismatch, as indices into :data:`MISMATCH_CLASSES` (uint8).

    Parameters
    ----------
    x : ndarray
        The inputs that gave mismatches, of the input's storage dtype.
    expected, actual : ndarray of float64
        lowfloat's answers and the cast's, as exact values (decoded codes).
    fmt : Format
    source : InputType
    rounding, overflow, ftz, daz
        The options of the cast (for lowfloat's answer to ``float32(x)``).
    """
    names = list(MISMATCH_CLASSES)
    with np.errstate(invalid="ignore"):  # signalling NaNs quieten: they stay NaN
        x64 = np.asarray(x, dtype=np.float64)
    magnitude = np.abs(x64)
    result = np.full(x64.shape, names.index("other"), np.uint8)
    open_ = np.ones(x64.shape, bool)  # not classified yet

    def assign(name, mask):
        nonlocal open_
        hit = open_ & mask
        result[hit] = names.index(name)
        open_ &= ~hit

    finite_x = np.isfinite(x64)
    # 1) non-finite inputs
    assign("nan_inf", ~finite_x)
    # 2) double rounding through float32
    if source.bits > 32 and open_.any():
        with np.errstate(over="ignore", invalid="ignore"):
            narrowed = np.asarray(x, dtype=np.float32)
        twice = quantize(narrowed, fmt, rounding=rounding, overflow=overflow, ftz=ftz, daz=daz)
        moved = narrowed.astype(np.float64) != x64
        assign("double_rounding", moved & same_values(twice, actual))
    # 3) the overflow threshold
    overflowed = ~np.isfinite(expected) | ~np.isfinite(actual)
    near_max = finite_x & ((magnitude >= fmt.max) | ((magnitude > next_below_max(fmt)) & overflowed))
    if not fmt.signed:  # a negative x has no value in an unsigned format (E8M0) however small: not an overflow
        near_max &= x64 > 0
    assign("overflow", near_max)
    # 4) NaN or infinity in the answers
    assign("nan_inf", ~np.isfinite(expected) | ~np.isfinite(actual))
    # 5) the sign of zero
    assign("zero_sign", (expected == 0) & (actual == 0))
    # 6) subnormal: below the format's normal range, or a subnormal input (where DAZ and FTZ act)
    tiny = (magnitude > 0) & ((magnitude < fmt.smallest_normal) | (magnitude < source.smallest_normal))
    assign("subnormal", tiny)
    # 7) a tie broken the wrong way
    if rounding in _NEAREST_MODES and open_.any():
        lo, hi, tie = grid_neighbours(np.where(finite_x, x64, 0), fmt)
        same_sign = np.signbit(actual) == np.signbit(x64)
        chose_a_neighbour = same_sign & ((np.abs(actual) == lo) | (np.abs(actual) == hi))
        assign("tie", tie & chose_a_neighbour)
    return result
