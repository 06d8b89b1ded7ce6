"""Array kernels: float bits rounded onto a format's grid, in the same width.

Fused encode + decode: the code never touches memory.  Arguments and entry
points as in :mod:`.encode`; ``out`` may be ``bits`` itself (in place).
"""

import numpy as np

from .jit import njit
from .nearest import quantize_nearest
from .scalar import decode_bits, encode_bits
from .stochastic import quantize_run, stochastic_runs


@njit(cache=True, nogil=True, inline="always")
def _quantize(bits, out, first, U, I, F, lay, rnd, key, fast, use_fast):
    """``out[j] = bits of bits[j] rounded into the format``; ``first`` is ``bits[0]``'s index."""
    if use_fast == 1:
        for j in range(bits.size):
            out[j] = quantize_nearest(bits[j], U, I, F, fast)
    elif use_fast == 2:
        stochastic_runs(quantize_run, bits, out, first, key, U, I, F, lay, fast)
    else:
        for j in range(bits.size):
            out[j] = decode_bits(encode_bits(bits[j], U, I, lay, rnd, first + j, key), U, F, lay, rnd[0])


@njit(cache=True, nogil=True)
def quantize_float32(bits, out, start, stop, lay, rnd, key, fast, use_fast):
    """float32 data (as uint32 bits) rounded onto the grid, elements ``start <= i < stop``."""
    _quantize(bits[start:stop], out[start:stop], start, np.uint32, np.int32, np.float32, lay, rnd, key, fast, use_fast)


@njit(cache=True, nogil=True)
def quantize_float64(bits, out, start, stop, lay, rnd, key, fast, use_fast):
    """float64 data (as uint64 bits) rounded onto the grid, elements ``start <= i < stop``."""
    _quantize(bits[start:stop], out[start:stop], start, np.uint64, np.int64, np.float64, lay, rnd, key, fast, use_fast)
