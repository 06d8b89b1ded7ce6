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
