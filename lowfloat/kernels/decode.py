"""Array kernels: codes to float bits."""

from numba import njit, prange

from .scalar import decode_bits
from .threads import CHUNK


@njit(cache=True, nogil=True)
def decode_serial(codes, out, U, F, lay, unsigned):
    """``out[i] = bits of the value of codes[i]`` for 1-D contiguous arrays."""
    for i in range(codes.size):
        out[i] = decode_bits(codes[i], U, F, lay, unsigned)


@njit(cache=True, nogil=True, parallel=True)
def decode_parallel(codes, out, U, F, lay, unsigned):
    """:func:`decode_serial` over chunks in parallel; same results."""
    n = codes.size
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        for i in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
            out[i] = decode_bits(codes[i], U, F, lay, unsigned)


@njit(cache=True, nogil=True)
def lookup_serial(codes, table, out):
    """``out[i] = table[codes[i]]``: decoding through a table of every code's value.

    For formats of up to 16 bits a table (at most 256 KiB of float32) stays
    in cache and a lookup is cheaper than the arithmetic of ``decode_bits``,
    which builds the table.
    """
    for i in range(codes.size):
        out[i] = table[codes[i]]


@njit(cache=True, nogil=True, parallel=True)
def lookup_parallel(codes, table, out):
    """:func:`lookup_serial` over chunks in parallel; same results."""
    n = codes.size
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        for i in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
            out[i] = table[codes[i]]
