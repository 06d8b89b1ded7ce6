"""Array kernels: float bits to codes, one entry point per path and input width.

Each entry point is its own Numba dispatcher, compiled the first time a call
takes it: the first ``lowfloat.encode`` of float32 data to nearest even
compiles only the nearest-even loop.  :mod:`lowfloat.kernels.plan` chooses
the entry point and builds its constants.

``key`` (a uint64) seeds stochastic rounding: element ``i`` draws its random
bits from ``(key, i)`` alone, so results do not depend on threads or how the
range is split.

The entry points take ``[start, stop)`` and loop over slices: indexing the
whole arrays with a runtime ``start`` made Numba guard against negative
indices and load and store element by element (half the speed).  There is one
entry point per input width, so no call passes a type object, which Numba's
dispatcher resolves slowly (about 35 us per call).
"""

import numpy as np

from .jit import njit
from .nearest import encode_nearest
from .scalar import encode_bits, encode_bits_flags, random_bits
from .shortcuts import binary16_codes, cut_short_codes
from .stochastic import encode_run, stochastic_runs


@njit(cache=True, nogil=True, inline="always")
def _nearest(bits, out, U, I, F, fast):
    for j in range(bits.size):
        out[j] = encode_nearest(bits[j], U, I, F, fast)


@njit(cache=True, nogil=True, inline="always")
def _general(bits, out, first, U, I, lay, rnd, key):
    for j in range(bits.size):
        out[j] = encode_bits(bits[j], U, I, lay, rnd, random_bits(first + j, key, U))


@njit(cache=True, nogil=True, inline="always")
def _with_flags(bits, out, flags, first, U, I, lay, rnd, key):
    for j in range(bits.size):
        out[j], flags[j] = encode_bits_flags(bits[j], U, I, lay, rnd, random_bits(first + j, key, U))


@njit(cache=True, nogil=True)
def nearest_float32(bits, out, start, stop, fast):
    """Codes of float32 data (as uint32 bits), nearest even, for elements ``start <= i < stop``."""
    _nearest(bits[start:stop], out[start:stop], np.uint32, np.int32, np.float32, fast)


@njit(cache=True, nogil=True)
def binary16_float32(bits, out, start, stop, fast):
    """float16 codes of float32 data, nearest even, by the CPU's conversion (:mod:`.shortcuts`; ``fast`` unused)."""
    binary16_codes(bits[start:stop], out[start:stop])


@njit(cache=True, nogil=True)
def cut_short_float32(bits, out, start, stop, fast):
    """Codes of float32 data, nearest even, for the formats of float32 cut short (:mod:`.shortcuts`)."""
    cut_short_codes(bits[start:stop], out[start:stop], fast)


@njit(cache=True, nogil=True)
def nearest_float64(bits, out, start, stop, fast):
    """Codes of float64 data (as uint64 bits), nearest even."""
    _nearest(bits[start:stop], out[start:stop], np.uint64, np.int64, np.float64, fast)


@njit(cache=True, nogil=True)
def stochastic_float32(bits, out, start, stop, fast, key):
    """Codes of float32 data, stochastically rounded (the fast path's formats)."""
    stochastic_runs(encode_run, bits[start:stop], out[start:stop], start, key, np.uint32, np.int32, np.float32, fast)


@njit(cache=True, nogil=True)
def stochastic_float64(bits, out, start, stop, fast, key):
    """Codes of float64 data, stochastically rounded (the fast path's formats)."""
    stochastic_runs(encode_run, bits[start:stop], out[start:stop], start, key, np.uint64, np.int64, np.float64, fast)


@njit(cache=True, nogil=True)
def general_float32(bits, out, start, stop, lay, rnd, key):
    """Codes of float32 data in any rounding mode, format and option (the general kernel)."""
    _general(bits[start:stop], out[start:stop], start, np.uint32, np.int32, lay, rnd, key)


@njit(cache=True, nogil=True)
def general_float64(bits, out, start, stop, lay, rnd, key):
    """Codes of float64 data in any rounding mode, format and option (the general kernel)."""
    _general(bits[start:stop], out[start:stop], start, np.uint64, np.int64, lay, rnd, key)


@njit(cache=True, nogil=True)
def flags_float32(bits, out, flags, start, stop, lay, rnd, key):
    """The general kernel on float32 data, writing each element's exception flags too."""
    _with_flags(bits[start:stop], out[start:stop], flags[start:stop], start, np.uint32, np.int32, lay, rnd, key)


@njit(cache=True, nogil=True)
def flags_float64(bits, out, flags, start, stop, lay, rnd, key):
    """The general kernel on float64 data, writing each element's exception flags too."""
    _with_flags(bits[start:stop], out[start:stop], flags[start:stop], start, np.uint64, np.int64, lay, rnd, key)
