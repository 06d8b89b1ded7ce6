"""table(): every code of a small format, with its fields, value and class.

A format of at most 16 bits has at most 65536 codes, so it can be listed in
full.  The listing is a NumPy structured array -- no pandas needed -- that
sorts by value (``numpy.sort(t, order="value")``) and prints or saves like
any other array.
"""

from __future__ import annotations

import numpy as np

from . import reference
from .arrays import check_out
from .codec import decode
from .formats import Format, get_format

__all__ = ["table", "KINDS"]

#: The classes of a code.
KINDS = ("zero", "subnormal", "normal", "inf", "nan")

#: Largest code width :func:`table` lists (2**16 rows).
_MAX_BITS = 16


def split_fields(codes, fmt: Format):
    """The sign, exponent and mantissa fields of codes (integers or arrays of them).

    The sign field of an unsigned format is 0.
    """
    man_mask = (1 << fmt.man_bits) - 1
    exp_mask = (1 << fmt.exp_bits) - 1
    sign = codes >> (fmt.bits - 1) if fmt.signed else codes & 0
    return sign, (codes >> fmt.man_bits) & exp_mask, codes & man_mask


def classify(values, exp_fields, fmt: Format):
    """The class of each code, from its value and exponent field: one of :data:`KINDS`.

    Works on scalars and arrays alike (a scalar gives a 0-d string array).
    A zero exponent field marks a subnormal only in formats that have them
    (in E8M0 it is the normal binade ``2**-127``).
    """
    values = np.asarray(values, dtype=np.float64)
    exp_fields = np.asarray(exp_fields)
    conditions = [np.isnan(values), np.isinf(values), values == 0, (exp_fields == 0) & fmt.has_subnormals]
    return np.select(conditions, ["nan", "inf", "zero", "subnormal"], default="normal")


def fields_text(sign: int, exp_field: int, man_field: int, fmt: Format, separator: str = " | ", *,
                colour: bool = False) -> str:  # fmt: skip
    """A code's fields in binary, ``sign | exponent | mantissa``; absent fields are left out.

    ``colour=True`` wraps each field in an ANSI colour: sign blue, exponent
    green, mantissa red, as float visualisers do.

    >>> import lowfloat as lf
    >>> fields_text(0, 3, 5, lf.get_format("e4m3"))
    '0 | 0011 | 101'
    """
    parts = [("34", f"{sign:b}")] if fmt.signed else []
    parts.append(("32", f"{exp_field:0{fmt.exp_bits}b}"))
    if fmt.man_bits:
        parts.append(("31", f"{man_field:0{fmt.man_bits}b}"))
    return separator.join(f"\x1b[{ansi}m{bits}\x1b[0m" if colour else bits for ansi, bits in parts)


def field_names(fmt: Format) -> str:
    """The names of a format's fields, laid out as :func:`fields_text` prints them."""
    return " | ".join((["sign"] if fmt.signed else []) + ["exponent"] + (["mantissa"] if fmt.man_bits else []))


def table(fmt, *, out=None) -> np.ndarray:
    """Every code of a format of at most 16 bits: fields, value and class.

    Parameters
    ----------
    fmt : Format or str
        A format of at most 16 bits (float16, bfloat16, every fp8, fp6, fp4,
        and generic ones up to float64's range, such as ``"e11m4_b1023"``).
    out : ndarray, optional
        A structured array of ``2**fmt.bits`` rows and exactly the dtype
        below (``table(fmt).dtype``) to fill.

    Returns
    -------
    numpy.ndarray
        One row per code, in code order, with the fields

        ==========  ==========  ==============================================
        ``code``    code dtype  the code (uint8 or uint16)
        ``sign``    uint8       sign bit (0 for unsigned formats)
        ``exponent`` uint8      biased exponent field (uint16 beyond 8 exponent bits)
        ``mantissa`` uint16     mantissa (trailing significand) field
        ``bits``    str         the fields in binary, ``"0|0011|101"``
        ``value``   float64     the exact value (float64 holds every format's values)
        ``kind``    str         "zero", "subnormal", "normal", "inf" or "nan"
        ==========  ==========  ==============================================

    Raises
    ------
    ValueError
        The format has more than 16 bits (float32 would be 2**32 rows); a
        bad ``out``.

    Notes
    -----
    Values come from :func:`lowfloat.reference.decode` (formats of up to 8
    bits) or :func:`lowfloat.decode`; ``np.sort(t, order="value")``
    orders the rows by value, NaNs last.  -0 and +0 compare equal, so their
    order after sorting is not defined.

    Examples
    --------
    >>> import numpy as np
    >>> import lowfloat as lf
    >>> t = lf.table("e2m1")
    >>> t.dtype.names
    ('code', 'sign', 'exponent', 'mantissa', 'bits', 'value', 'kind')
    >>> t[[0, 1, 7, 9]][["bits", "value", "kind"]].tolist()
    [('0|00|0', 0.0, 'zero'), ('0|00|1', 0.5, 'subnormal'), ('0|11|1', 6.0, 'normal'), ('1|00|1', -0.5, 'subnormal')]
    >>> np.sort(t, order="value")["value"][:3].tolist()   # the most negative first
    [-6.0, -4.0, -3.0]
    >>> t = lf.table("e4m3")
    >>> t[0x1D][["bits", "value", "kind"]].tolist()
    ('0|0011|101', 0.1015625, 'normal')
    """
    fmt = get_format(fmt)
    if fmt.bits > _MAX_BITS:
        raise ValueError(f"table() lists formats of at most {_MAX_BITS} bits; {fmt.name} has {fmt.bits}")
    codes = np.arange(1 << fmt.bits, dtype=fmt.code_dtype)
    sign, exp_fields, man_fields = split_fields(codes, fmt)
    if fmt.bits <= 8:  # a few hundred codes: the exact reference, which needs no kernel compiled
        values = np.array([reference.decode(code, fmt) for code in codes.tolist()], np.float64)
    else:
        values = decode(codes, fmt, dtype=np.float64)
    exponent_dtype = np.uint8 if fmt.exp_bits <= 8 else np.uint16
    dtype = np.dtype([
        ("code", fmt.code_dtype), ("sign", np.uint8), ("exponent", exponent_dtype), ("mantissa", np.uint16),
        ("bits", f"U{fmt.bits + 2}"), ("value", np.float64), ("kind", f"U{max(map(len, KINDS))}"),
    ])  # fmt: skip
    check_out(out, codes.shape, dtype)
    rows = np.empty(codes.shape, dtype) if out is None else out
    rows["code"] = codes
    rows["sign"] = sign
    rows["exponent"] = exp_fields
    rows["mantissa"] = man_fields
    fields = zip(sign.tolist(), exp_fields.tolist(), man_fields.tolist(), strict=True)
    rows["bits"] = [fields_text(s, e, m, fmt, "|") for s, e, m in fields]
    rows["value"] = values
    rows["kind"] = classify(values, exp_fields, fmt)
    return rows
