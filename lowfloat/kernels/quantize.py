"""Array kernels: float bits rounded onto a format's grid, in the same width.

Fused encode + decode: the code never touches memory.  ``fast`` and
``use_fast`` choose the nearest-even kernel as in :mod:`.encode`.
"""

from numba import njit, prange

from .layout import DEFAULT_ROUNDING
from .nearest import quantize_nearest
from .scalar import decode_bits, encode_bits
from .threads import CHUNK


@njit(cache=True, nogil=True, inline="always")
def _quantize_range(bits, out, start, stop, U, I, F, lay, rnd, fast, use_fast):
    if use_fast:
        for i in range(start, stop):
            out[i] = quantize_nearest(bits[i], U, F, fast)
    elif rnd == DEFAULT_ROUNDING:
        for i in range(start, stop):
            out[i] = decode_bits(encode_bits(bits[i], U, I, lay, DEFAULT_ROUNDING), U, F, lay, 0)
    else:
        for i in range(start, stop):
            out[i] = decode_bits(encode_bits(bits[i], U, I, lay, rnd), U, F, lay, rnd[0])


@njit(cache=True, nogil=True)
def quantize_serial(bits, out, U, I, F, lay, rnd, fast, use_fast):
    """``out[i] = bits of bits[i] rounded into the format``; ``out`` may be ``bits``."""
    _quantize_range(bits, out, 0, bits.size, U, I, F, lay, rnd, fast, use_fast)


@njit(cache=True, nogil=True, parallel=True)
def quantize_parallel(bits, out, U, I, F, lay, rnd, fast, use_fast):
    """:func:`quantize_serial` over chunks in parallel; same results."""
    n = bits.size
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        _quantize_range(bits, out, chunk * CHUNK, min(n, (chunk + 1) * CHUNK), U, I, F, lay, rnd, fast, use_fast)
