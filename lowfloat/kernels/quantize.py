"""Array kernels: float bits rounded onto a format's grid, in the same width.

Fused encode + decode: the code never touches memory.
"""

from numba import njit, prange

from .layout import DEFAULT_ROUNDING
from .scalar import decode_bits, encode_bits
from .threads import CHUNK


@njit(cache=True, nogil=True, inline="always")
def _quantize_range(bits, out, start, stop, U, I, F, lay, rnd):
    for i in range(start, stop):
        out[i] = decode_bits(encode_bits(bits[i], U, I, lay, rnd), U, F, lay, rnd[0])


@njit(cache=True, nogil=True)
def quantize_serial(bits, out, U, I, F, lay, rnd):
    """``out[i] = bits of bits[i] rounded into the format``; ``out`` may be ``bits``."""
    if rnd == DEFAULT_ROUNDING:  # the same loop with the mode folded in
        _quantize_range(bits, out, 0, bits.size, U, I, F, lay, DEFAULT_ROUNDING)
    else:
        _quantize_range(bits, out, 0, bits.size, U, I, F, lay, rnd)


@njit(cache=True, nogil=True, parallel=True)
def quantize_parallel(bits, out, U, I, F, lay, rnd):
    """:func:`quantize_serial` over chunks in parallel; same results."""
    n = bits.size
    default = rnd == DEFAULT_ROUNDING
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        start, stop = chunk * CHUNK, min(n, (chunk + 1) * CHUNK)
        if default:
            _quantize_range(bits, out, start, stop, U, I, F, lay, DEFAULT_ROUNDING)
        else:
            _quantize_range(bits, out, start, stop, U, I, F, lay, rnd)
