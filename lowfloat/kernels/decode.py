"""Array kernels: codes to float bits."""

from numba import njit

from .scalar import decode_bits


@njit(cache=True, nogil=True)
def decode_kernel(codes, out, start, stop, U, F, lay, unsigned):
    """``out[i] = bits of the value of codes[i]`` for ``start <= i < stop``."""
    for i in range(start, stop):
        out[i] = decode_bits(codes[i], U, F, lay, unsigned)


@njit(cache=True, nogil=True)
def lookup_kernel(codes, out, start, stop, table):
    """``out[i] = table[codes[i]]``: decoding through a table of every code's value.

    For formats of up to 16 bits a table (at most 256 KiB of float32) stays
    in cache and a lookup is cheaper than the arithmetic of ``decode_bits``,
    which builds the table.
    """
    for i in range(start, stop):
        out[i] = table[codes[i]]
