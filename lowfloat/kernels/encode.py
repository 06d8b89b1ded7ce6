"""Array kernels: float bits to codes."""

from numba import njit, prange

from .layout import DEFAULT_ROUNDING
from .scalar import encode_bits
from .threads import CHUNK


@njit(cache=True, nogil=True, inline="always")
def _encode_range(bits, out, start, stop, U, I, lay, rnd):
    for i in range(start, stop):
        out[i] = encode_bits(bits[i], U, I, lay, rnd)


@njit(cache=True, nogil=True)
def encode_serial(bits, out, U, I, lay, rnd):
    """``out[i] = code of bits[i]`` for 1-D contiguous arrays."""
    if rnd == DEFAULT_ROUNDING:  # the same loop with the mode folded in: about twice as fast
        _encode_range(bits, out, 0, bits.size, U, I, lay, DEFAULT_ROUNDING)
    else:
        _encode_range(bits, out, 0, bits.size, U, I, lay, rnd)


@njit(cache=True, nogil=True, parallel=True)
def encode_parallel(bits, out, U, I, lay, rnd):
    """:func:`encode_serial` over chunks in parallel; same results."""
    n = bits.size
    default = rnd == DEFAULT_ROUNDING
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        start, stop = chunk * CHUNK, min(n, (chunk + 1) * CHUNK)
        if default:
            _encode_range(bits, out, start, stop, U, I, lay, DEFAULT_ROUNDING)
        else:
            _encode_range(bits, out, start, stop, U, I, lay, rnd)
