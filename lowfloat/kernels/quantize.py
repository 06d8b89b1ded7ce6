"""Array kernels: float bits rounded onto a format's grid, in the same width.

Fused encode + decode: the code never touches memory.
"""

from numba import njit, prange

from .scalar import decode_bits, encode_bits
from .threads import CHUNK


@njit(cache=True, nogil=True)
def quantize_serial(bits, out, U, F, width, lay, sub_scale):
    """``out[i] = bits of bits[i] rounded into the format``; ``out`` may be ``bits``."""
    for i in range(bits.size):
        out[i] = decode_bits(encode_bits(bits[i], U, width, lay), U, F, width, lay, sub_scale)


@njit(cache=True, nogil=True, parallel=True)
def quantize_parallel(bits, out, U, F, width, lay, sub_scale):
    """:func:`quantize_serial` over chunks in parallel; same results."""
    n = bits.size
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        for i in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
            out[i] = decode_bits(encode_bits(bits[i], U, width, lay), U, F, width, lay, sub_scale)
