"""Array kernel: float bits rounded onto a format's grid, in the same width.

Fused encode + decode: the code never touches memory.  ``key``, ``fast``
and ``use_fast`` as in :mod:`.encode`.
"""

from numba import njit

from .nearest import quantize_nearest
from .scalar import decode_bits, encode_bits


@njit(cache=True, nogil=True)
def quantize_kernel(bits, out, start, stop, U, I, F, lay, rnd, key, fast, use_fast):
    """``out[i] = bits of bits[i] rounded into the format`` for ``start <= i < stop``; ``out`` may be ``bits``."""
    if use_fast:
        for i in range(start, stop):
            out[i] = quantize_nearest(bits[i], U, F, fast)
    else:
        for i in range(start, stop):
            out[i] = decode_bits(encode_bits(bits[i], U, I, lay, rnd, i, key), U, F, lay, rnd[0])
