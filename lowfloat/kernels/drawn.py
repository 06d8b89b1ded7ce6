"""Entry points that take each element's random bits explicitly, instead of drawing them from ``(key, index)``.

The public calls draw stochastic rounding's bits from a counter-based hash
(:func:`.scalar.random_bits`); tests pass chosen bits here -- 0, 1, the
threshold itself, ``2**W - 1`` -- to pin the comparison at its boundaries on
both the general kernel and the stochastic fast path, against
:func:`lowfloat.reference.encode_flags` with the same bits.  Not used by the
library itself.
"""

import numpy as np

from .jit import njit
from .scalar import encode_bits_flags
from .stochastic import encode_stochastic


@njit(cache=True, nogil=True)
def general_float32(bits, random, out, flags, lay, rnd):
    """``out[i], flags[i]`` = the general kernel's code and flags of float32 ``bits[i]`` with ``random[i]``."""
    for i in range(bits.size):
        out[i], flags[i] = encode_bits_flags(bits[i], np.uint32, np.int32, lay, rnd, random[i])


@njit(cache=True, nogil=True)
def general_float64(bits, random, out, flags, lay, rnd):
    """As :func:`general_float32`, float64 data."""
    for i in range(bits.size):
        out[i], flags[i] = encode_bits_flags(bits[i], np.uint64, np.int64, lay, rnd, random[i])


@njit(cache=True, nogil=True)
def stochastic_float32(bits, random, out, fast):
    """``out[i]`` = the stochastic fast path's code of float32 ``bits[i]`` with ``random[i]``."""
    for i in range(bits.size):
        out[i] = encode_stochastic(bits[i], random[i], np.uint32, np.int32, np.float32, fast)


@njit(cache=True, nogil=True)
def stochastic_float64(bits, random, out, fast):
    """As :func:`stochastic_float32`, float64 data."""
    for i in range(bits.size):
        out[i] = encode_stochastic(bits[i], random[i], np.uint64, np.int64, np.float64, fast)
