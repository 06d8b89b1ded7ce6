"""Array kernels: float bits to codes.

``fast`` is the constant tuple of :mod:`lowfloat.kernels.nearest`; when
``use_fast`` is true the rounding is nearest-even and that shorter kernel
runs.  Otherwise the general kernel does, with the rounding flags folded in
as constants for nearest-even (E8M0 and some generic formats come here).
"""

from numba import njit, prange

from .layout import DEFAULT_ROUNDING
from .nearest import encode_nearest
from .scalar import encode_bits
from .threads import CHUNK


@njit(cache=True, nogil=True, inline="always")
def _encode_range(bits, out, start, stop, U, I, F, lay, rnd, fast, use_fast):
    if use_fast:
        for i in range(start, stop):
            out[i] = encode_nearest(bits[i], U, I, F, lay, fast)
    elif rnd == DEFAULT_ROUNDING:
        for i in range(start, stop):
            out[i] = encode_bits(bits[i], U, I, lay, DEFAULT_ROUNDING)
    else:
        for i in range(start, stop):
            out[i] = encode_bits(bits[i], U, I, lay, rnd)


@njit(cache=True, nogil=True)
def encode_serial(bits, out, U, I, F, lay, rnd, fast, use_fast):
    """``out[i] = code of bits[i]`` for 1-D contiguous arrays."""
    _encode_range(bits, out, 0, bits.size, U, I, F, lay, rnd, fast, use_fast)


@njit(cache=True, nogil=True, parallel=True)
def encode_parallel(bits, out, U, I, F, lay, rnd, fast, use_fast):
    """:func:`encode_serial` over chunks in parallel; same results."""
    n = bits.size
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        _encode_range(bits, out, chunk * CHUNK, min(n, (chunk + 1) * CHUNK), U, I, F, lay, rnd, fast, use_fast)
