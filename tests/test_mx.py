"""MX and NVFP4: bit for bit against gfloat 0.5.2's MX block quantization, and against exact step-by-step oracles."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import lowfloat as lf
from lowfloat import reference
from lowfloat.scaling.integer import INT_FORMATS

gfloat_block = pytest.importorskip("gfloat.block")
gfloat_formats = pytest.importorskip("gfloat.formats")

GFLOAT_MX = {
    "mxfp8_e4m3": gfloat_formats.format_info_mxfp8_e4m3,
    "mxfp8_e5m2": gfloat_formats.format_info_mxfp8_e5m2,
    "mxfp6_e3m2": gfloat_formats.format_info_mxfp6_e3m2,
    "mxfp6_e2m3": gfloat_formats.format_info_mxfp6_e2m3,
    "mxfp4": gfloat_formats.format_info_mxfp4_e2m1,
    "mxint8": gfloat_formats.format_info_mxint8,
}
FLOAT32_MAX = Fraction(float(np.finfo(np.float32).max))


def mx_data(seed, blocks=48):
    """Blocks of 32 float32 values, each block at its own magnitude from 2**-140 to 2**120, one all-zero block."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((blocks, 32)) * np.exp2(rng.integers(-140, 120, (blocks, 1)).astype(np.float64))
    x[:, :4] *= np.exp2(-rng.integers(0, 30, (blocks, 4)))  # small elements inside a block: subnormal results
    x[3] = 0.0
    x[5, :] = np.float32(448.0) * np.exp2(-rng.integers(0, 3, 32))  # exact powers of two near the top
    return x.astype(np.float32)


@pytest.mark.parametrize("name", list(GFLOAT_MX))
def test_mx_floor_rule_equals_gfloat_bit_for_bit(name):
    x = mx_data(list(GFLOAT_MX).index(name))
    q = lf.mx_quantize(x, name, scale_rounding="floor")
    info = GFLOAT_MX[name]
    # gfloat gets float64 copies: its log2 in float32 misjudges floor(log2) just below powers of two
    expected = np.stack(
        [gfloat_block.quantize_block(info, row.astype(np.float64), gfloat_block.compute_scale_amax) for row in x]
    )
    ours = q.dequantize(np.float64)
    np.testing.assert_array_equal(ours.view(np.uint64), expected.view(np.uint64))
    scales = [gfloat_block.compute_scale_amax(info.etype.emax, row.astype(np.float64)) for row in x]
    np.testing.assert_array_equal(q.scale[:, 0].astype(np.float64), np.array(scales))


def oracle_shared_exp(amax: Fraction, elem_max: Fraction, emax: int, rounding: str) -> int:
    """floor(log2(amax)) - emax, the smallest k with amax <= elem_max * 2**k, or the k of the power of two
    nearest to amax / elem_max (ties up); clamped to -127..127."""
    if amax == 0:
        return -127
    k = math.floor(math.log2(amax)) + 2  # a start above the answer, then step down exactly
    if rounding == "floor":
        while Fraction(2) ** k > amax:
            k -= 1
        k -= emax
    else:
        while amax <= elem_max * Fraction(2) ** (k - 1):
            k -= 1
        if rounding == "nearest" and amax / elem_max < Fraction(3, 4) * Fraction(2) ** k:
            k -= 1  # below the midpoint of 2**(k-1) and 2**k
    return max(-127, min(127, k))


def oracle_mx_codes(block: np.ndarray, name: str, rounding: str):
    element = lf.MX_FORMATS[name]
    is_int = isinstance(element, lf.IntFormat)
    elem_max = Fraction(element.max_value if is_int else element.max)
    amax = max(abs(Fraction(float(v))) for v in block)
    k = oracle_shared_exp(amax, elem_max, element.emax, rounding)
    codes = []
    for v in block:
        scaled = Fraction(float(v)) / Fraction(2) ** k
        if is_int:
            codes.append(max(element.min, min(element.max, round(scaled * 64))))
        else:
            codes.append(
                reference.encode(math.copysign(0.0, v) if scaled == 0 else scaled, element, overflow="saturate")
            )
    return k + 127, codes


@pytest.mark.parametrize("name", list(GFLOAT_MX))
@pytest.mark.parametrize("rounding", ["floor", "ceil", "nearest"])
def test_mx_codes_and_scales_equal_exact_oracle(name, rounding):
    x = mx_data(10 + list(GFLOAT_MX).index(name), blocks=12)
    q = lf.mx_quantize(x, name, scale_rounding=rounding)
    for row, codes, scale_code in zip(x, q.codes, q.scale_codes[:, 0], strict=True):
        expected_scale, expected_codes = oracle_mx_codes(row, name, rounding)
        assert int(scale_code) == expected_scale
        assert codes.astype(np.int64).tolist() == expected_codes


def test_mxfp8_e4m3_block_max_500_clips_to_448_under_floor_and_rounds_to_512_under_ceil():
    x = np.float32([500.0] + [1.0] * 31)
    assert lf.mx_quantize(x, "mxfp8_e4m3", scale_rounding="floor").dequantize()[0] == 448.0
    assert lf.mx_quantize(x, "mxfp8_e4m3", scale_rounding="ceil").dequantize()[0] == 512.0
    x[0] = 480.0
    assert lf.mx_quantize(x, "mxfp8_e4m3", scale_rounding="ceil").dequantize()[0] == 480.0


def test_mx_ceil_never_clips():
    x = mx_data(20).astype(np.float64)
    for name, element in lf.MX_FORMATS.items():
        q = lf.mx_quantize(x, name, scale_rounding="ceil")
        top = element.max_value if isinstance(element, lf.IntFormat) else element.max
        assert np.all(np.abs(x) <= top * q.scale.astype(np.float64))


def test_mx_non_finite_block_gets_nan_scale_and_only_that_block_is_nan():
    x = np.ones((3, 32), np.float32)
    x[0, 5], x[1, 7] = np.nan, -np.inf
    for name in ("mxfp8_e4m3", "mxfp4", "mxint8"):
        q = lf.mx_quantize(x, name)
        assert q.scale_codes[:, 0].tolist() == [0xFF, 0xFF, 127 - lf.MX_FORMATS[name].emax]
        deq = q.dequantize()
        assert np.isnan(deq[:2]).all() and np.array_equal(deq[2], x[2])


def test_mx_zero_block_gets_the_smallest_scale_code_zero():
    q = lf.mx_quantize(np.zeros(64, np.float32), "mxfp6_e2m3")
    assert q.scale_codes.tolist() == [0, 0] and not q.codes.any()


def test_mx_ragged_tail_equals_zero_padded_input():
    x = mx_data(30)[:2].reshape(-1)[:45]  # one full block and a 13-element tail
    padded = np.concatenate([x, np.zeros(19, np.float32)])
    q, full = lf.mx_quantize(x, "mxfp8_e5m2"), lf.mx_quantize(padded, "mxfp8_e5m2")
    np.testing.assert_array_equal(q.codes, full.codes[:45])
    np.testing.assert_array_equal(q.scale_codes, full.scale_codes)


def test_mx_along_axis_zero_equals_transposed():
    x = mx_data(31)[:4].reshape(32, 4)
    np.testing.assert_array_equal(lf.mx_quantize(x, "mxfp4", axis=0).codes, lf.mx_quantize(x.T.copy(), "mxfp4").codes.T)


def test_mx_float64_input_equals_float32_input_of_the_same_values():
    x = mx_data(32)
    np.testing.assert_array_equal(
        lf.mx_quantize(x.astype(np.float64), "mxfp6_e3m2").codes, lf.mx_quantize(x, "mxfp6_e3m2").codes
    )


def test_mx_nbytes_counts_packed_elements_and_one_byte_scales():
    x = mx_data(33, blocks=8).reshape(-1)  # 256 values, 8 blocks
    assert lf.mx_quantize(x, "mxfp4").nbytes == 128 + 8
    assert lf.mx_quantize(x, "mxfp6_e2m3").nbytes == 192 + 8
    assert lf.mx_quantize(x, "mxint8").nbytes == 256 + 8


def test_mxint8_codes_are_two_complement_integers_with_step_one_64th():
    q = lf.mx_quantize(np.float32([1.0, -1.0, 0.5, -0.25] + [0.0] * 28), "mxint8")
    assert q.codes[:4].tolist() == [64, -64, 32, -16] and q.scale[0] == 1.0
    assert INT_FORMATS["mxint8"].min == -128


# ---------------------------------------------------------------- NVFP4


def fl32(value: Fraction):
    """Round an exact value once to float32; float32 overflow gives +-inf (a float)."""
    rounded = reference.quantize(value, "float32")
    return rounded if math.isinf(rounded) else Fraction(rounded)


def nvfp4_oracle(x: np.ndarray):
    """Transformer Engine's NVFP4 reference quantizer, step by step in exact fractions rounded to float32."""
    amax = max(abs(Fraction(float(v))) for v in x.ravel())
    if amax == 0:
        s_enc = Fraction(1)
    else:
        s_enc = fl32(Fraction(2688) / amax)
        s_enc = FLOAT32_MAX if math.isinf(s_enc) else s_enc
    s_dec = fl32(1 / s_enc)
    scale_codes, codes, values = [], [], []
    for block in x.reshape(-1, 16):
        block_amax = max(abs(Fraction(float(v))) for v in block)
        wanted = fl32(fl32(block_amax / 6) * s_enc)
        wanted = min(wanted, FLOAT32_MAX)
        scale_code = reference.encode(wanted, "float8_e4m3fn", overflow="saturate")
        scale = Fraction(reference.decode(scale_code, "float8_e4m3fn"))
        product = fl32(scale * s_dec)
        element_scale = FLOAT32_MAX if product == 0 else min(fl32(1 / product), FLOAT32_MAX)
        multiplier = fl32(fl32(scale * fl32(amax)) * Fraction(float(np.float32(1 / 2688))))
        scale_codes.append(scale_code)
        for v in block:
            y = fl32(Fraction(float(v)) * element_scale)
            y = math.copysign(math.inf, v) if not isinstance(y, Fraction) else math.copysign(0.0, v) if y == 0 else y
            code = reference.encode(y, "float4_e2m1fn", overflow="saturate")
            codes.append(code)
            values.append(float(fl32(Fraction(reference.decode(code, "float4_e2m1fn")) * multiplier)))
    return scale_codes, codes, values


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nvfp4_equals_exact_transformer_engine_steps(seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((6, 16)) * np.exp2(rng.integers(-12, 6, (6, 1)))).astype(np.float32)
    x[2] = 0.0
    x[4, 3] = -1e-30  # far below its block's amax
    q = lf.nvfp4_quantize(x.reshape(-1))
    scale_codes, codes, values = nvfp4_oracle(x)
    assert q.scale_codes.tolist() == scale_codes
    assert q.codes.tolist() == codes
    np.testing.assert_array_equal(q.dequantize(), np.array(values, np.float32))
    assert q.tensor_amax == np.max(np.abs(x))


def test_nvfp4_block_whose_scale_underflows_dequantizes_to_zero():
    x = np.float32([1e4] * 16 + [1e-6] * 16)  # block 1's E4M3 scale rounds to 0
    q = lf.nvfp4_quantize(x)
    assert q.scale[1] == 0.0 and not q.dequantize()[16:].any()


def test_nvfp4_via_mx_quantize_is_the_same():
    x = mx_data(40).reshape(-1)[:96] * np.float32(1e-30)
    a, b = lf.nvfp4_quantize(x), lf.mx_quantize(x, "nvfp4")
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a.scale_codes, b.scale_codes)


def test_nvfp4_nbytes_counts_packed_fp4_e4m3_scales_and_float32_amax():
    assert lf.nvfp4_quantize(np.ones(64, np.float32)).nbytes == 32 + 4 + 4


def test_nvfp4_non_finite_block_gets_nan_scale():
    x = np.ones(32, np.float32)
    x[20] = np.inf
    q = lf.nvfp4_quantize(x)
    assert q.scale_codes.tolist()[1] == 0x7F and np.isnan(q.dequantize()[16:]).all()
    assert q.tensor_amax == 1.0 and np.all(q.dequantize()[:16] == 1.0)


def test_mx_default_is_ceil_and_never_clips_while_floor_is_the_spec_rule():
    x = np.float32([480.0] + [1.0] * 31)
    default = lf.mx_quantize(x, "mxfp8_e4m3")
    assert default.scale[0] == 2.0 and default.dequantize()[0] == 480.0
    assert lf.mx_quantize(x, "mxfp8_e4m3", scale_rounding="floor").dequantize()[0] == 448.0


def test_mx_ftz_flushes_subnormal_elements_only():
    x = np.float32([6.0, 0.5, -0.5, 1.0] + [0.0] * 28)  # 0.5 is E2M1's one subnormal (X = 1)
    plain = lf.mx_quantize(x, "mxfp4")
    flushed = lf.mx_quantize(x, "mxfp4", ftz=True)
    assert plain.dequantize()[:4].tolist() == [6.0, 0.5, -0.5, 1.0]
    assert flushed.dequantize()[:4].tolist() == [6.0, 0.0, -0.0, 1.0] and np.signbit(flushed.dequantize()[2])
    np.testing.assert_array_equal(flushed.scale_codes, plain.scale_codes)


def test_mx_and_nvfp4_daz_equal_the_input_with_its_subnormals_zeroed():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(64).astype(np.float32)
    x[32:] = np.float32(1e-39) * rng.standard_normal(32).astype(np.float32)  # one block of float32 subnormals
    zeroed = np.where(np.abs(x) < np.finfo(np.float32).tiny, np.copysign(np.float32(0), x), x)
    for name in ("mxfp8_e4m3", "nvfp4"):
        q, expected = lf.mx_quantize(x, name, daz=True), lf.mx_quantize(zeroed, name)
        np.testing.assert_array_equal(q.codes, expected.codes)
        np.testing.assert_array_equal(q.scale_codes, expected.scale_codes)
    assert lf.mx_quantize(x, "mxfp8_e4m3").codes[32:].any()  # without daz, X = 2**-127 keeps them


def test_nvfp4_ftz_flushes_its_subnormal_elements():
    x = np.float32([6.0, 0.5, -0.5, 1.0] + [0.0] * 12)
    assert lf.nvfp4_quantize(x, ftz=True).dequantize()[:4].tolist() == [6.0, 0.0, 0.0, 1.0]
    assert lf.nvfp4_quantize(x).dequantize()[:4].tolist() == [6.0, 0.5, -0.5, 1.0]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("fmt", ["mxfp8", "e4m3", "mxfp4_e2m1", 3])
def test_unknown_mx_format_is_refused(fmt):
    with pytest.raises(ValueError, match="unknown MX format"):
        lf.mx_quantize(np.ones(32), fmt)


@pytest.mark.parametrize("scale_rounding", ["up", "round", None])
def test_unknown_scale_rounding_is_refused(scale_rounding):
    with pytest.raises(ValueError, match="scale_rounding"):
        lf.mx_quantize(np.ones(32), "mxfp4", scale_rounding=scale_rounding)


@pytest.mark.parametrize("scale_rounding", ["floor", "nearest"])
def test_nvfp4_with_a_scale_rounding_other_than_the_default_is_refused(scale_rounding):
    with pytest.raises(ValueError, match="nvfp4"):
        lf.mx_quantize(np.ones(32), "nvfp4", scale_rounding=scale_rounding)


@pytest.mark.parametrize("block_size", [0, -32])
def test_non_positive_block_size_is_refused(block_size):
    with pytest.raises(ValueError, match="positive"):
        lf.mx_quantize(np.ones(32), "mxfp4", block_size=block_size)
    with pytest.raises(ValueError, match="positive"):
        lf.nvfp4_quantize(np.ones(32), block_size=block_size)


def test_tuple_block_size_is_refused():
    with pytest.raises(TypeError, match="one axis"):
        lf.mx_quantize(np.ones((32, 32)), "mxfp4", block_size=(32, 32))


@pytest.mark.parametrize("axis", [1, -2])
def test_axis_out_of_range_is_refused(axis):
    with pytest.raises(ValueError, match="out of range"):
        lf.mx_quantize(np.ones(32), "mxfp8_e4m3", axis=axis)
    with pytest.raises(ValueError, match="out of range"):
        lf.nvfp4_quantize(np.ones(32), axis=axis)


def test_scalar_is_refused():
    with pytest.raises(ValueError, match="dimension"):
        lf.mx_quantize(1.0, "mxfp4")


def test_string_input_is_refused():
    with pytest.raises(TypeError, match="string"):
        lf.mx_quantize(["a"], "mxfp4")
