"""Array kernels: codes to float bits.  Entry points as in :mod:`.encode`."""

import numpy as np
from numba import njit

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
