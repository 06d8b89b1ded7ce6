"""Array kernel: float bits to codes.

``key`` (a uint64) seeds stochastic rounding: element ``i`` draws its random
bits from ``(key, i)`` alone, so results do not depend on threads or how the
range is split.  ``fast`` is the constant tuple of
:mod:`lowfloat.kernels.nearest`; when ``use_fast`` is true the rounding is
nearest-even and that shorter kernel runs, otherwise the general one.
"""

from numba import njit

from .nearest import encode_nearest
from .scalar import encode_bits


@njit(cache=True, nogil=True)
def encode_kernel(bits, out, start, stop, U, I, F, lay, rnd, key, fast, use_fast):
    """``out[i] = code of bits[i]`` for ``start <= i < stop`` (1-D contiguous arrays)."""
    if use_fast:
        for i in range(start, stop):
            out[i] = encode_nearest(bits[i], U, I, F, lay, fast)
    else:
        for i in range(start, stop):
            out[i] = encode_bits(bits[i], U, I, lay, rnd, i, key)
