"""The fast paths (nearest-even, stochastic) give bit-identical results to the general kernel.

The general kernel in lowfloat/kernels/scalar.py is the definition for every
mode; the fast paths in nearest.py and stochastic.py must never differ from
it, on any input bit pattern, for any format they serve.
"""

import numpy as np
import pytest

import lowfloat as lf
from lowfloat.codec import _kernel_setup
from lowfloat.kernels.encode import encode_float32, encode_float64
from lowfloat.kernels.quantize import quantize_float32, quantize_float64

FORMATS = [*lf.BUILTIN_FORMATS.values(), lf.Format(5, 4, 10, "ieee"), lf.Format(3, 1, 2, "fn"),
           lf.Format(6, 6, 40, "fnuz"), lf.Format(7, 5, 63, "fn"), lf.Format(2, 2, 0, "none")]  # fmt: skip
KERNELS = {np.float32: (encode_float32, quantize_float32), np.float64: (encode_float64, quantize_float64)}
PATHS = {"nearest_even": 1, "stochastic": 2}


def bit_patterns(dtype):
    """Random bits plus every neighbourhood that matters: subnormals, around 1, near max, inf and NaN."""
    rng = np.random.default_rng(7)
    if dtype == np.float32:
        spans = [
            (0, 1 << 18),
            (0x3F000000, 1 << 18),
            (0x80000000, 1 << 16),
            (0x7F7F0000, 0x10100),
            (0x33000000, 1 << 18),
        ]
        pieces = [rng.integers(0, 1 << 32, 1 << 18, dtype=np.uint64).astype(np.uint32)]
        pieces += [np.arange(start, start + size, dtype=np.uint64).astype(np.uint32) for start, size in spans]
        return np.concatenate(pieces)
    wide = bit_patterns(np.float32).view(np.float32).astype(np.float64)
    return np.concatenate([rng.integers(0, 1 << 64, 1 << 18, dtype=np.uint64), wide.view(np.uint64),
                           (wide * (1 + 2.0**-30)).view(np.uint64)])  # fmt: skip


def around_smallest_subnormal(fmt, dtype):
    """Random inputs from far below the format's smallest subnormal q up to 2q: where stochastic rounding
    chooses between 0 and q from the input's exact fraction of q, and the first subnormals above it."""
    uint = np.uint32 if dtype == np.float32 else np.uint64
    low, high = (np.array([fmt.smallest_subnormal * 2.0**-40, fmt.smallest_subnormal * 2], dtype).view(uint))
    rng = np.random.default_rng(11)
    return rng.integers(low, high, 1 << 16, dtype=uint, endpoint=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rounding", list(PATHS))
@pytest.mark.parametrize("fmt", FORMATS, ids=lambda fmt: fmt.name)
def test_fast_path_equals_general_kernel_bit_for_bit(fmt, rounding, dtype):
    with np.errstate(all="ignore"):
        bits = np.concatenate([bit_patterns(dtype), around_smallest_subnormal(fmt, dtype)])
    encode_kernel, quantize_kernel = KERNELS[dtype]
    for overflow in (None, "saturate"):
        lay, rnd, fast, path = _kernel_setup(fmt, rounding, overflow, dtype)
        if path != PATHS[rounding]:
            assert path == 0 and (not fmt.signed or fmt.man_bits == 0 or fmt.bits > 16 or fmt.emin < -125)
            continue
        key = np.uint64(0x1234567890ABCDEF)
        fast_codes, general_codes = np.empty(bits.size, fmt.code_dtype), np.empty(bits.size, fmt.code_dtype)
        encode_kernel(bits, fast_codes, 0, bits.size, lay, rnd, key, fast, path)
        encode_kernel(bits, general_codes, 0, bits.size, lay, rnd, key, fast, 0)
        if not fmt.has_nan:  # NaN has no code there: the public encode refuses it
            keep = ~np.isnan(bits.view(dtype))
            fast_codes, general_codes = fast_codes[keep], general_codes[keep]
        np.testing.assert_array_equal(fast_codes, general_codes)
        fast_values, general_values = np.empty_like(bits), np.empty_like(bits)
        quantize_kernel(bits, fast_values, 0, bits.size, lay, rnd, key, fast, path)
        quantize_kernel(bits, general_values, 0, bits.size, lay, rnd, key, fast, 0)
        np.testing.assert_array_equal(fast_values, general_values)
