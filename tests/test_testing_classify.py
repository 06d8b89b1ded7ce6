"""The classification of mismatches: exact neighbours, and one crafted mismatch per class.

grid_neighbours (vectorised float64) is checked against lowfloat.reference's
neighbours (Python fractions) on hypothesis inputs from lowfloat.testing's
own strategies; each rule of classify gets an input made to hit it, and the
order of the rules is checked where two could apply.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lowfloat as lf
from lowfloat import reference
from lowfloat.testing import MISMATCH_CLASSES, values
from lowfloat.testing.classify import classify
from lowfloat.testing.grid import grid_neighbours, next_below_max
from lowfloat.testing.inputs import input_type

FORMATS = ["e4m3", "e5m2", "fp16", "bf16", "e8m0", "fp4", "e4m3fnuz", "tf32", "fp32", "e3m4"]


@given(st.sampled_from(FORMATS), st.sampled_from(["float16", "bfloat16", "float32", "float64"]), st.data())
def test_grid_neighbours_equal_the_exact_reference(fmt, dtype, data):
    x = data.draw(values(fmt, dtype, kinds=["grid", "midpoint", "near_midpoint", "boundary", "tiny", "overflow",
                                            "random"]))  # fmt: skip
    if not np.isfinite(x) or x == 0:
        return
    lo, hi, tie = (a[0] for a in grid_neighbours(np.array([x]), fmt))
    exact_lo, exact_hi = reference.neighbours(Fraction(float(x)), lf.get_format(fmt))
    assert Fraction(float(lo)) == exact_lo
    # past float64's largest value (inputs near 2**1024, far beyond every format) hi is inf
    assert Fraction(float(hi)) == exact_hi if np.isfinite(hi) else exact_hi > Fraction(np.finfo(np.float64).max)
    assert tie == (abs(Fraction(float(x))) * 2 == exact_lo + exact_hi)


def test_grid_neighbours_of_zero_and_of_a_format_without_zero():
    lo, hi, tie = grid_neighbours(np.array([0.0, 2.0**-130, 3.0]), "e8m0")
    assert lo.tolist() == [0.0, 0.0, 2.0] and hi.tolist() == [2.0**-127, 2.0**-127, 4.0] and tie.tolist()[2]
    assert next_below_max("e4m3") == 416.0 and next_below_max("fp4") == 4.0


def one(x, expected, actual, fmt, dtype="float32", **options) -> str:
    """The class classify gives one mismatch (answers as values)."""
    source = input_type(dtype)
    options = {"rounding": "nearest_even", "overflow": None, "ftz": False, "daz": False} | options
    kinds = classify(np.array([x], dtype=source.storage), np.array([expected], np.float64),
                     np.array([actual], np.float64), lf.get_format(fmt), source, **options)  # fmt: skip
    return list(MISMATCH_CLASSES)[int(kinds[0])]


@pytest.mark.parametrize(
    "x, expected, actual, fmt, dtype, kind",
    [
        # NaN and infinite inputs come first, whatever the answers
        (np.nan, np.nan, 0.0, "e4m3", "float32", "nan_inf"),
        (np.inf, np.nan, 448.0, "e4m3", "float64", "nan_inf"),
        # float64 just above a tie, answered as float32(x) would be
        (1 + 2**-4 + 2**-30, 1.125, 1.0, "e4m3", "float64", "double_rounding"),
        (464 + 2**-40, np.nan, 448.0, "e4m3", "float64", "double_rounding"),  # even at the overflow threshold
        (1 + 2**-4 + 2**-30, 1.125, 0.0, "e4m3", "float64", "other"),  # not what float32 would give
        (1 + 2**-4, 1.0, 1.125, "e4m3", "float64", "tie"),  # a tie itself: float32(x) == x
        # overflow: at or beyond max, or an infinite/NaN answer just below it
        (500.0, np.nan, 448.0, "e4m3", "float32", "overflow"),
        (448.0, 448.0, np.nan, "e4m3", "float32", "overflow"),
        (440.0, 448.0, np.nan, "e4m3", "float32", "overflow"),
        (432.0, 448.0, 416.0, "e4m3", "float32", "tie"),  # below max, finite answers: an ordinary tie
        (65520.0, np.inf, 65504.0, "fp16", "float32", "overflow"),
        (-(2.0**127), np.nan, 2.0**127, "e8m0", "float32", "nan_inf"),  # negative into E8M0: no value at all
        # NaN or infinite answers elsewhere
        (1.0, 1.0, np.nan, "e4m3", "float32", "nan_inf"),
        (1.0, 1.0, np.inf, "fp16", "float32", "nan_inf"),
        # the sign of zero
        (-0.0, -0.0, 0.0, "e4m3", "float32", "zero_sign"),
        (-(2.0**-12), -0.0, 0.0, "e4m3", "float32", "zero_sign"),  # before subnormal
        # subnormal: below the format's smallest normal, or a subnormal input
        (3 * 2.0**-10, 2 * 2.0**-9, 2.0**-9, "e4m3", "float32", "subnormal"),  # a subnormal tie: subnormal first
        (2.0**-10 * 1.25, 2.0**-9, 0.0, "e4m3", "float32", "subnormal"),
        (1.2 * 2.0**-127, 2.0**-127, 2.0**-126, "e8m0", "float32", "subnormal"),  # ml_dtypes' E8M0 bug
        # ties broken the wrong way, in the round-to-nearest modes
        (3.0, 4.0, 2.0, "e8m0", "float32", "tie"),
        (-1.0625, -1.0, -1.125, "e4m3", "float32", "tie"),
        (-1.0625, -1.0, 1.125, "e4m3", "float32", "other"),  # the neighbour's magnitude, the wrong sign
        # anything else
        (1.07, 1.0, 1.125, "e4m3", "float32", "other"),
        (1.0, 1.0, 2.0, "e4m3", "float32", "other"),
    ],
)
def test_each_rule_classifies_its_mismatch(x, expected, actual, fmt, dtype, kind):
    assert one(x, expected, actual, fmt, dtype) == kind


def test_ties_in_directed_modes_are_rounding_in_the_wrong_direction():
    assert one(1.0625, 1.0, 1.125, "e4m3", rounding="toward_zero") == "other"
    assert one(1.0625, 1.125, 1.0, "e4m3", rounding="nearest_away") == "tie"
