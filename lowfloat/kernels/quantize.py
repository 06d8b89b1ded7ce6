"""Array kernels: float bits rounded onto a format's grid, in the same width.

Fused encode + decode: the code never touches memory.  Entry points and
arguments as in :mod:`.encode`; ``out`` may be ``bits`` itself (in place).
"""

import numpy as np

from .jit import njit
from .nearest import quantize_nearest
from .scalar import decode_bits, encode_bits, encode_bits_flags, random_bits
from .shortcuts import binary16_values, cut_short_values
from .stochastic import quantize_run, stochastic_runs


@njit(cache=True, nogil=True, inline="always")
def _nearest(bits, out, U, I, F, fast):
    for j in range(bits.size):
        out[j] = quantize_nearest(bits[j], U, I, F, fast)


@njit(cache=True, nogil=True, inline="always")
def _general(bits, out, first, U, I, F, lay, rnd, key):
    for j in range(bits.size):
        out[j] = decode_bits(encode_bits(bits[j], U, I, lay, rnd, random_bits(first + j, key, U)), U, F, lay)


@njit(cache=True, nogil=True, inline="always")
def _with_flags(bits, out, flags, first, U, I, F, lay, rnd, key):
    for j in range(bits.size):
        code, flags[j] = encode_bits_flags(bits[j], U, I, lay, rnd, random_bits(first + j, key, U))
        out[j] = decode_bits(code, U, F, lay)


@njit(cache=True, nogil=True)
def nearest_float32(bits, out, start, stop, fast):
    """float32 data (as uint32 bits) rounded to nearest even, elements ``start <= i < stop``."""
    _nearest(bits[start:stop], out[start:stop], np.uint32, np.int32, np.float32, fast)


@njit(cache=True, nogil=True)
def binary16_float32(bits, out, start, stop, fast):
    """float32 data rounded to nearest even onto float16's grid by the CPU's conversion (``fast`` unused)."""
    binary16_values(bits[start:stop], out[start:stop])


@njit(cache=True, nogil=True)
def cut_short_float32(bits, out, start, stop, fast):
    """float32 data rounded to nearest even onto the grid of a format of float32 cut short (:mod:`.shortcuts`)."""
    cut_short_values(bits[start:stop], out[start:stop], fast)


@njit(cache=True, nogil=True)
def nearest_float64(bits, out, start, stop, fast):
    """float64 data (as uint64 bits) rounded to nearest even."""
    _nearest(bits[start:stop], out[start:stop], np.uint64, np.int64, np.float64, fast)


@njit(cache=True, nogil=True)
def stochastic_float32(bits, out, start, stop, fast, key):
    """float32 data rounded stochastically (the fast path's formats)."""
    stochastic_runs(quantize_run, bits[start:stop], out[start:stop], start, key, np.uint32, np.int32, np.float32, fast)


@njit(cache=True, nogil=True)
def stochastic_float64(bits, out, start, stop, fast, key):
    """float64 data rounded stochastically (the fast path's formats)."""
    stochastic_runs(quantize_run, bits[start:stop], out[start:stop], start, key, np.uint64, np.int64, np.float64, fast)


@njit(cache=True, nogil=True)
def general_float32(bits, out, start, stop, lay, rnd, key):
    """float32 data rounded in any mode, format and option (the general kernel)."""
    _general(bits[start:stop], out[start:stop], start, np.uint32, np.int32, np.float32, lay, rnd, key)


@njit(cache=True, nogil=True)
def general_float64(bits, out, start, stop, lay, rnd, key):
    """float64 data rounded in any mode, format and option (the general kernel)."""
    _general(bits[start:stop], out[start:stop], start, np.uint64, np.int64, np.float64, lay, rnd, key)


@njit(cache=True, nogil=True)
def flags_float32(bits, out, flags, start, stop, lay, rnd, key):
    """The general kernel on float32 data, writing each element's exception flags too."""
    _with_flags(bits[start:stop], out[start:stop], flags[start:stop], start, np.uint32, np.int32, np.float32, lay, rnd,
                key)  # fmt: skip


@njit(cache=True, nogil=True)
def flags_float64(bits, out, flags, start, stop, lay, rnd, key):
    """The general kernel on float64 data, writing each element's exception flags too."""
    _with_flags(bits[start:stop], out[start:stop], flags[start:stop], start, np.uint64, np.int64, np.float64, lay, rnd,
                key)  # fmt: skip
