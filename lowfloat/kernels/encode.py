"""Array kernels: float bits to codes."""

from numba import njit, prange

from .scalar import encode_bits
from .threads import CHUNK


@njit(cache=True, nogil=True)
def encode_serial(bits, out, U, width, lay):
    """``out[i] = code of bits[i]`` for 1-D contiguous arrays."""
    for i in range(bits.size):
        out[i] = encode_bits(bits[i], U, width, lay)


@njit(cache=True, nogil=True, parallel=True)
def encode_parallel(bits, out, U, width, lay):
    """:func:`encode_serial` over chunks in parallel; same results."""
    n = bits.size
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        for i in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
            out[i] = encode_bits(bits[i], U, width, lay)
