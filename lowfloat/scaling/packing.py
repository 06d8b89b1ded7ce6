"""Packed storage of sub-byte codes: FP4/INT4 two per byte, FP6 four per three bytes.

Layout (little-endian bit order, codes taken in C order)
--------------------------------------------------------
4-bit codes   byte ``i`` holds code ``2i`` in its low nibble and code ``2i+1``
              in its high nibble, as PyTorch's ``float4_e2m1fn_x2`` and
              NVIDIA's fp4x2 store them.
6-bit codes   three bytes ``i, i+1, i+2`` hold the 24-bit little-endian word
              ``c0 | c1 << 6 | c2 << 12 | c3 << 18`` of four codes.
8-bit codes   one byte each (stored as they are).

A ragged tail (a count that is not a multiple of 2 or 4) is padded with
zero codes up to a whole byte group; :func:`unpack` takes the shape to
restore, so the padding never comes back.  Integer formats (int4) pack their
two's complement bits and unpack sign-extended.
"""

from __future__ import annotations

import math

import numpy as np

from ..arrays import check_out
from .integer import IntFormat, element_format

__all__ = ["pack", "unpack", "packed_nbytes"]

_PACKABLE_BITS = (4, 6, 8)


def _packable(fmt):
    """The format and its code width, or ValueError if it cannot be packed."""
    fmt = element_format(fmt, allow_unsigned=True)
    if fmt.bits not in _PACKABLE_BITS:
        raise ValueError(f"pack supports 4-, 6- and 8-bit formats; {fmt.name} has {fmt.bits}-bit codes")
    return fmt, fmt.bits


def packed_nbytes(count: int, bits: int) -> int:
    """Bytes that ``count`` codes of ``bits`` bits take packed (the tail padded to a whole byte group)."""
    if bits == 4:
        return math.ceil(count / 2)
    if bits == 6:
        return 3 * math.ceil(count / 4)
    return count * (1 if bits <= 8 else 2 if bits <= 16 else 4)  # whole code units


def pack(codes, fmt, *, out=None) -> np.ndarray:
    """Pack codes of a 4-, 6- or 8-bit format into bytes.

    Parameters
    ----------
    codes : array_like of integers
        Codes of ``fmt`` (any shape; read in C order).  For integer formats
        (int4, int8) the integers themselves.
    fmt : Format, IntFormat or str
    out : ndarray of uint8, optional
        1-D array of exactly the packed length to write the bytes into.

    Returns
    -------
    ndarray of uint8, 1-D
        ``ceil(n / 2)`` bytes for 4-bit codes, ``3 * ceil(n / 4)`` for
        6-bit codes, ``n`` for 8-bit codes.

    Raises
    ------
    ValueError
        A format that is not 4, 6 or 8 bits wide; codes that are not
        integers or lie outside the format's codes; a bad ``out``.

    Examples
    --------
    >>> import lowfloat as lf
    >>> lf.pack([0x1, 0xF, 0x7], "fp4")           # low nibble first; the odd tail padded with 0
    array([241,   7], dtype=uint8)
    >>> lf.unpack(lf.pack([0x1, 0xF, 0x7], "fp4"), "fp4", 3)
    array([ 1, 15,  7], dtype=uint8)
    >>> lf.pack([1, 2, 3, 4], "e3m2").tolist()     # four 6-bit codes in three bytes
    [129, 48, 16]
    """
    fmt, bits = _packable(fmt)
    array = np.asarray(codes)
    if array.dtype.kind not in "iu":
        if array.size == 0 and array.dtype.kind == "f":
            array = array.astype(np.int64)
        else:
            raise ValueError(f"codes must be integers, got dtype {array.dtype}")
    flat = array.reshape(-1).astype(np.int64)
    if isinstance(fmt, IntFormat):
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        low, high = 0, (1 << bits) - 1
    if flat.size and (flat.min() < low or flat.max() > high):
        bad = int(flat.min()) if flat.min() < low else int(flat.max())
        raise ValueError(f"code {bad} is outside {low}..{high}, the codes of {fmt.name}")
    check_out(out, (packed_nbytes(flat.size, bits),), np.uint8, array)
    result = np.empty(packed_nbytes(flat.size, bits), np.uint8) if out is None else out
    unsigned = (flat & ((1 << bits) - 1)).astype(np.uint8)  # two's complement bits of integer codes
    if bits == 8:
        result[...] = unsigned
        return result
    per_group = 2 if bits == 4 else 4
    padded = np.zeros(per_group * math.ceil(flat.size / per_group), np.uint32)
    padded[: flat.size] = unsigned
    groups = padded.reshape(-1, per_group)  # (ngroups, 2 or 4)
    if bits == 4:
        result[...] = groups[:, 0] | (groups[:, 1] << np.uint32(4))
        return result
    shifts = np.array([0, 6, 12, 18], np.uint32)
    word = np.bitwise_or.reduce(groups << shifts, axis=1)  # (ngroups,) c0 | c1 << 6 | c2 << 12 | c3 << 18
    triples = result.reshape(-1, 3)  # the 24-bit word, little-endian (a view when result is contiguous)
    for byte in range(3):
        triples[:, byte] = (word >> np.uint32(8 * byte)) & np.uint32(0xFF)
    if not np.shares_memory(triples, result):
        result[...] = triples.reshape(-1)
    return result


def unpack(packed, fmt, shape, *, out=None) -> np.ndarray:
    """Unpack bytes written by :func:`pack` back into codes of the given shape.

    Parameters
    ----------
    packed : array_like of uint8
        The bytes (1-D), exactly as many as :func:`pack` writes for ``shape``.
    fmt : Format, IntFormat or str
    shape : int or tuple of int
        Shape of the codes to restore (the padding of a ragged tail is dropped).
    out : ndarray, optional
        Array of ``shape`` and ``fmt.code_dtype`` to write the codes into.

    Returns
    -------
    ndarray
        Codes in ``fmt.code_dtype`` (uint8 for float formats; int8,
        sign-extended, for integer formats).

    Raises
    ------
    ValueError
        A format that is not 4, 6 or 8 bits wide, bytes that are not uint8,
        a byte count that does not match ``shape``, or a bad ``out``.

    Examples
    --------
    >>> import lowfloat as lf
    >>> lf.unpack(lf.pack([-8, 7, -1], "int4"), "int4", (3,))
    array([-8,  7, -1], dtype=int8)
    """
    fmt, bits = _packable(fmt)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(not isinstance(n, (int, np.integer)) or n < 0 for n in shape):
        raise ValueError(f"shape must be non-negative ints, got {shape!r}")
    count = math.prod(shape)
    data = np.asarray(packed)
    if data.dtype != np.uint8:
        raise ValueError(f"packed must be uint8 bytes, got dtype {data.dtype}")
    data = data.reshape(-1)
    check_out(out, shape, fmt.code_dtype, data)
    expected = packed_nbytes(count, bits)
    if data.size != expected:
        raise ValueError(f"packed has {data.size} bytes; {count} codes of {fmt.name} take {expected}")
    if bits == 8:
        unsigned = data.astype(np.uint32)
    elif bits == 4:
        unsigned = np.stack([data & np.uint8(0xF), data >> np.uint8(4)], axis=1).reshape(-1).astype(np.uint32)
    else:
        triples = data.reshape(-1, 3).astype(np.uint32)
        word = triples[:, 0] | (triples[:, 1] << np.uint32(8)) | (triples[:, 2] << np.uint32(16))
        shifts = np.array([0, 6, 12, 18], np.uint32)
        unsigned = ((word[:, None] >> shifts) & np.uint32(0x3F)).reshape(-1)
    unsigned = unsigned[:count]
    if isinstance(fmt, IntFormat):
        signed = unsigned.astype(np.int32)
        codes = np.where(signed >= (1 << (bits - 1)), signed - (1 << bits), signed).reshape(shape)
    else:
        codes = unsigned.reshape(shape)
    if out is None:
        return codes.astype(fmt.code_dtype)
    out[...] = codes  # exact: every code fits the code dtype
    return out
