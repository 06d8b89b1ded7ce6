"""Array kernels: codes to float bits.  Entry points as in :mod:`.encode`."""

import numpy as np

from .jit import njit
from .scalar import decode_bits


@njit(cache=True, nogil=True)
def decode_float32(codes, out, start, stop, lay, unsigned):
    """``out[i] = bits of the float32 value of codes[i]`` for ``start <= i < stop``."""
    c, o = codes[start:stop], out[start:stop]
    for j in range(c.size):
        o[j] = decode_bits(c[j], np.uint32, np.float32, lay, unsigned)


@njit(cache=True, nogil=True)
def decode_float64(codes, out, start, stop, lay, unsigned):
    """``out[i] = bits of the float64 value of codes[i]`` for ``start <= i < stop``."""
    c, o = codes[start:stop], out[start:stop]
    for j in range(c.size):
        o[j] = decode_bits(c[j], np.uint64, np.float64, lay, unsigned)


@njit(cache=True, nogil=True)
def lookup(codes, out, start, stop, table):
    """``out[i] = table[codes[i]]``: decoding through a table of every code's value.

    For formats of up to 16 bits a table (at most 256 KiB of float32) stays
    in cache and a lookup is cheaper than the arithmetic of ``decode_bits``,
    which builds the table.
    """
    c, o = codes[start:stop], out[start:stop]
    for j in range(c.size):
        o[j] = table[c[j]]


_SIGN32 = np.uint32(0x80000000)
_MAGNITUDE32 = np.uint32(0x7FFFFFFF)
_INF32 = np.uint32(0x7F800000)
_QUIET_NAN32 = np.uint32(0x7FC00000)


@njit(cache=True, nogil=True)
def shift_float32(codes, out, start, stop, shift):
    """Decode a float32 cut short -- bfloat16, tensorfloat32 -- to float32 bits: a shift.

    Formats with float32's exponent field and bias and IEEE specials are
    float32 with ``shift`` low mantissa bits removed, subnormals included;
    shifting back is exact.  NaNs become the canonical quiet NaN with their
    sign, as in :func:`decode_bits`.  For bfloat16 this beats the lookup
    table, whose 256 KiB miss L2 on random codes.
    """
    c, o = codes[start:stop], out[start:stop]
    amount = np.uint32(np.uint32(shift) & np.uint32(31))
    for j in range(c.size):
        bits = np.uint32(np.uint32(c[j]) << amount)
        nan = np.uint32(bits & _MAGNITUDE32) > _INF32
        o[j] = np.uint32(np.uint32(bits & _SIGN32) | _QUIET_NAN32) if nan else bits
