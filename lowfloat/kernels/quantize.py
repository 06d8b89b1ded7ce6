"""Array kernels: float bits rounded onto a format's grid, in the same width.

Fused encode + decode: the code never touches memory.  Arguments and entry
points as in :mod:`.encode`; ``out`` may be ``bits`` itself (in place).
"""

import numpy as np

from .jit import njit
from .nearest import quantize_nearest
from .scalar import decode_bits, encode_bits, random_stream, stream_bits
from .stochastic import quantize_stochastic
from .wrapping import wrapping_add


@njit(cache=True, nogil=True, inline="always")
def _quantize(bits, out, first, U, I, F, lay, rnd, key, fast, use_fast):
    """``out[j] = bits of bits[j] rounded into the format``; ``first`` is ``bits[0]``'s index."""
    if use_fast == 1:
        for j in range(bits.size):
            out[j] = quantize_nearest(bits[j], U, I, F, fast)
    elif use_fast == 2:
        done = 0
        while done < bits.size:  # runs in which the random bits count in the lane's width
            n, counter, step, salt = random_stream(first + done, bits.size - done, key, U)
            src, dst = bits[done : done + n], out[done : done + n]
            _stochastic_run(src, dst, counter, step, salt, key, U, I, F, lay, fast)
            done += n
    else:
        for j in range(bits.size):
            out[j] = decode_bits(encode_bits(bits[j], U, I, lay, rnd, first + j, key), U, F, lay, rnd[0])


# A function of its own, not inlined by Numba: compiled beside the other loops, LLVM's
# register allocator shuffled this loop's two dozen constants between registers, a
# quarter more instructions per element (kernels/bench_quantize.py --stochastic).
@njit(cache=True, nogil=True)
def _stochastic_run(bits, out, counter, step, salt, key, U, I, F, lay, fast):
    for j in range(bits.size):
        out[j] = quantize_stochastic(bits[j], stream_bits(counter, salt, key, U), U, I, F, lay, fast)
        counter = wrapping_add(counter, step)


@njit(cache=True, nogil=True)
def quantize_float32(bits, out, start, stop, lay, rnd, key, fast, use_fast):
    """float32 data (as uint32 bits) rounded onto the grid, elements ``start <= i < stop``."""
    _quantize(bits[start:stop], out[start:stop], start, np.uint32, np.int32, np.float32, lay, rnd, key, fast, use_fast)


@njit(cache=True, nogil=True)
def quantize_float64(bits, out, start, stop, lay, rnd, key, fast, use_fast):
    """float64 data (as uint64 bits) rounded onto the grid, elements ``start <= i < stop``."""
    _quantize(bits[start:stop], out[start:stop], start, np.uint64, np.int64, np.float64, lay, rnd, key, fast, use_fast)
