"""Array kernels: float bits to codes.

``key`` (a uint64) seeds stochastic rounding: element ``i`` draws its random
bits from ``(key, i)`` alone, so results do not depend on threads or how the
range is split.  ``fast`` is the constant tuple of
:mod:`lowfloat.kernels.nearest`; when ``use_fast`` is true the rounding is
nearest-even and that shorter kernel runs; ``use_fast == 2`` runs the
stochastic-rounding fast path of :mod:`lowfloat.kernels.stochastic`; 0 (or
False) the general kernel.

The entry points take ``[start, stop)`` and loop over slices: indexing the
whole arrays with a runtime ``start`` made Numba guard against negative
indices and load and store element by element (half the speed).  There is one
entry point per input width, so no call passes a type object, which Numba's
dispatcher resolves slowly (about 35 us per call).
"""

import numpy as np

from .jit import njit
from .nearest import encode_nearest
from .scalar import encode_bits
from .stochastic import encode_run, stochastic_runs


@njit(cache=True, nogil=True, inline="always")
def _encode(bits, out, first, U, I, F, lay, rnd, key, fast, use_fast):
    """``out[j] = code of bits[j]``; ``first`` is the index of ``bits[0]`` in the whole array."""
    if use_fast == 1:
        for j in range(bits.size):
            out[j] = encode_nearest(bits[j], U, I, F, lay, fast)
    elif use_fast == 2:
        stochastic_runs(encode_run, bits, out, first, key, U, I, F, lay, fast)
    else:
        for j in range(bits.size):
            out[j] = encode_bits(bits[j], U, I, lay, rnd, first + j, key)


@njit(cache=True, nogil=True)
def encode_float32(bits, out, start, stop, lay, rnd, key, fast, use_fast):
    """Codes of float32 data (as uint32 bits) for elements ``start <= i < stop``."""
    _encode(bits[start:stop], out[start:stop], start, np.uint32, np.int32, np.float32, lay, rnd, key, fast, use_fast)


@njit(cache=True, nogil=True)
def encode_float64(bits, out, start, stop, lay, rnd, key, fast, use_fast):
    """Codes of float64 data (as uint64 bits) for elements ``start <= i < stop``."""
    _encode(bits[start:stop], out[start:stop], start, np.uint64, np.int64, np.float64, lay, rnd, key, fast, use_fast)
