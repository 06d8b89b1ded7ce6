"""The fast paths (nearest-even, stochastic, small-format decode) give bit-identical results to the general kernels.

The general kernels in lowfloat/kernels/scalar.py are the definition for
every mode; the fast paths in nearest.py, stochastic.py and decode.py must
never differ from them, on any input bit pattern or code, for any format
they serve.
"""

import numpy as np
import pytest

import lowfloat as lf
from lowfloat.codec import _kernel_setup
from lowfloat.kernels.decode import decode_float32, decode_float64, small_constants, small_float32, small_float64
from lowfloat.kernels.encode import encode_float32, encode_float64
from lowfloat.kernels.layout import layout
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


GENERIC = [(8, 3, 127, "ieee"), (5, 0, 3, "none"), (3, 2, -4, "fnuz"), (6, 9, 60, "none"), (1, 3, 0, "none"),
           (2, 1, 1, "fn"), (7, 8, 70, "ieee")]  # fmt: skip
SMALL_FORMATS = [fmt for fmt in FORMATS if fmt.bits <= 16] + [lf.Format(*fields) for fields in GENERIC]
SMALL_KERNELS = {
    np.float32: (small_float32, decode_float32, np.uint32),
    np.float64: (small_float64, decode_float64, np.uint64),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmt", SMALL_FORMATS, ids=lambda fmt: fmt.name)
def test_small_format_decode_equals_general_decode_on_every_code(fmt, dtype):
    constants = small_constants(fmt, dtype)
    if constants is None:  # unsigned, over 16 bits, or subnormals below the float's normal range
        assert not fmt.signed or fmt.bits > 16 or fmt.emin - fmt.man_bits < np.finfo(dtype).minexp
        return
    small, general, uint = SMALL_KERNELS[dtype]
    codes = np.arange(1 << fmt.bits, dtype=fmt.code_dtype)
    lay, rnd = layout(fmt)
    fast_bits, general_bits = np.empty(codes.size, uint), np.empty(codes.size, uint)
    small(codes, fast_bits, 0, codes.size, constants)
    general(codes, general_bits, 0, codes.size, lay, rnd[0])
    np.testing.assert_array_equal(fast_bits, general_bits)


def test_small_format_decode_serves_the_formats_it_should():
    served = {fmt.name for fmt in lf.BUILTIN_FORMATS.values() if small_constants(fmt, np.float32) is not None}
    assert {"float16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float4_e2m1fn", "float6_e3m2fn"} <= served
    assert "bfloat16" not in served and "float8_e8m0fnu" not in served and "float32" not in served
    assert small_constants(lf.BFLOAT16, np.float64) is not None
