"""Comparing a cast's results with lowfloat's, bit for bit, one batch at a time.

:func:`as_results` reads what the cast under test returned -- codes or
values -- and refuses anything else with a message naming the problem;
:func:`mismatches` compares it with lowfloat's answer.  Equal means the same
code, or the same value with the same sign (so -0 and +0 differ), except
that any NaN equals any other NaN whatever its payload or sign: the formats'
NaNs carry no meaning beyond being NaN.
"""

from __future__ import annotations

import numpy as np

from ..codec import decode
from ..formats import Format

__all__ = ["OUTPUTS", "as_results", "mismatches", "same_values", "result_values"]

#: What a cast under test returns: codes (unsigned integers) or values (floats).
OUTPUTS = ("codes", "values")


def as_results(result, fmt: Format, output: str, size: int) -> np.ndarray:
    """The cast's ``result`` as codes of ``fmt.code_dtype`` or as float64 values.

    Parameters
    ----------
    result : array_like
        What the cast returned for ``size`` inputs: integers for
        ``output="codes"`` (any integer dtype, or an ml_dtypes array, whose
        bits are the codes), floats for ``output="values"`` (NumPy or
        ml_dtypes floats).
    fmt : Format
    output : {"codes", "values"}
    size : int
        How many inputs the cast was given.

    Raises
    ------
    ValueError
        The wrong number of results, floats where codes were expected or the
        reverse, codes outside ``0 .. 2**fmt.bits - 1``.
    """
    array = np.asarray(result)
    if array.shape != (size,):
        raise ValueError(f"the cast returned an array of shape {array.shape} for {size} inputs; "
                         f"it must return one result per input, shape ({size},)")  # fmt: skip
    kind = array.dtype.kind
    if output == "codes":
        if kind == "V" and array.dtype.itemsize <= 4:  # an ml_dtypes array: its bits are the codes
            array = array.view(f"u{array.dtype.itemsize}")
            kind = "u"
        if kind == "f":
            raise ValueError(f"the cast returned {array.dtype} values, but output='codes' expects integer codes; "
                             "return codes or pass output='values'")  # fmt: skip
        if kind not in "ui":
            raise ValueError(f"the cast returned dtype {array.dtype}; output='codes' expects integer codes")
        if kind == "i" and 8 * array.dtype.itemsize == fmt.bits:  # e.g. int8 codes: the same bits
            array = array.view(f"u{array.dtype.itemsize}")
        if size:
            low, high = int(array.min()), int(array.max())
            if low < 0 or high >= 1 << fmt.bits:
                bad = low if low < 0 else high
                raise ValueError(f"the cast returned code {bad}, outside 0..{(1 << fmt.bits) - 1}, "
                                 f"the codes of {fmt.name}")  # fmt: skip
        return array.astype(fmt.code_dtype, copy=False)
    if kind == "V" and hasattr(array.dtype.type, "__float__"):  # ml_dtypes floats: exact in float32
        array = array.astype(np.float32)
        kind = "f"
    if kind != "f":
        raise ValueError(f"the cast returned dtype {array.dtype}, but output='values' expects floats; "
                         "return values or pass output='codes'")  # fmt: skip
    return array.astype(np.float64, copy=False)


def result_values(results: np.ndarray, fmt: Format, output: str) -> np.ndarray:
    """Results (codes or values) as float64 values: codes are decoded exactly."""
    if output == "codes":
        return decode(results, fmt, dtype=np.float64)
    return np.asarray(results, dtype=np.float64)


def same_values(a, b) -> np.ndarray:
    """Element-wise: the same value and sign, or both NaN (any payload)."""
    a, b = np.asarray(a), np.asarray(b)
    return ((a == b) & (np.signbit(a) == np.signbit(b))) | (np.isnan(a) & np.isnan(b))


def mismatches(expected: np.ndarray, actual: np.ndarray, fmt: Format, output: str) -> np.ndarray:
    """Indices where the cast's results differ from lowfloat's, bit for bit (NaN as NaN).

    Both arrays come from :func:`as_results`.  This is the one place a batch
    is compared: a later comparison of exception flags joins here.

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> fmt = lf.get_format("e4m3")
    >>> mismatches(np.uint8([0x7F, 0x00, 0x38]), np.uint8([0xFF, 0x80, 0x38]), fmt, "codes")  # NaN = NaN; -0 != +0
    array([1])
    """
    if output == "codes":
        unequal = np.flatnonzero(expected != actual)
        if unequal.size and fmt.has_nan:
            both_nan = np.isnan(decode(expected[unequal], fmt)) & np.isnan(decode(actual[unequal], fmt))
            unequal = unequal[~both_nan]
        return unequal
    return np.flatnonzero(~same_values(expected, actual))
