"""scaled_quantize: Transformer Engine's float32 scale, cast and dequantize, checked step by step in exact fractions."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lowfloat as lf
from lowfloat import reference
from lowfloat.scaling.integer import INT_FORMATS, code_values, element_format


def fl32(value: Fraction) -> Fraction:
    """An exact value rounded once to float32 (nearest-even), as an exact Fraction."""
    return Fraction(reference.quantize(value, "float32"))


def oracle_scale(amax: float, fmt_max: float, margin: int = 0) -> Fraction:
    """fl32(fmt_max / amax) / 2**margin, with Transformer Engine's special cases."""
    if amax == 0 or not math.isfinite(amax):
        return Fraction(1)
    return fl32(Fraction(fmt_max) / Fraction(amax)) / Fraction(2) ** margin


def oracle_code(x: float, scale: Fraction, fmt) -> int:
    """Code of fl32(x * scale) rounded half-even and saturated into fmt."""
    if math.isnan(x):
        return reference.encode(x, fmt)
    if math.isinf(x):
        return reference.encode(x, fmt, overflow="saturate")
    product = fl32(Fraction(x) * scale)
    value = math.copysign(0.0, x) if product == 0 else product
    return reference.encode(value, fmt, overflow="saturate")


def oracle_int(x: float, scale: Fraction, fmt) -> int:
    """Integer code: Python's round() of a Fraction is half-to-even; then the clamp."""
    return max(fmt.min, min(fmt.max, round(fl32(Fraction(x) * scale))))


FLOAT_FORMATS = ["float8_e4m3fn", "float8_e5m2", "float6_e3m2fn", "float4_e2m1fn", "float16"]


def random_data(seed, shape, spread=8):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * np.exp2(rng.integers(-spread, spread, shape))).astype(np.float32)


@pytest.mark.parametrize("fmt", FLOAT_FORMATS)
@pytest.mark.parametrize("margin", [0, 2])
def test_per_tensor_codes_equal_exact_transformer_engine_steps(fmt, margin):
    x = random_data(0, 200)
    q = lf.scaled_quantize(x, fmt, margin=margin)
    scale = oracle_scale(float(np.max(np.abs(x))), lf.get_format(fmt).max, margin)
    assert Fraction(float(q.quant_scale)) == scale
    expected = [oracle_code(float(v), scale, fmt) for v in x]
    np.testing.assert_array_equal(q.codes, np.array(expected, dtype=q.codes.dtype))


@pytest.mark.parametrize("fmt", FLOAT_FORMATS)
def test_dequantize_is_float32_value_times_float32_reciprocal(fmt):
    x = random_data(1, 100)
    q = lf.scaled_quantize(x, fmt)
    scale_inv = fl32(1 / Fraction(float(q.quant_scale)))
    assert Fraction(float(q.scale)) == scale_inv
    expected = [float(fl32(Fraction(reference.decode(int(c), fmt)) * scale_inv)) for c in q.codes]
    np.testing.assert_array_equal(q.dequantize(), np.array(expected, dtype=np.float32))


def test_int8_per_channel_equals_round_half_even_of_x_times_127_over_row_amax():
    w = random_data(2, (6, 40))
    q = lf.scaled_quantize(w, "int8", axis=0)
    assert q.quant_scale.shape == (6, 1) and q.codes.dtype == np.int8
    for row, codes, scale in zip(w, q.codes, q.quant_scale[:, 0], strict=True):
        exact = oracle_scale(float(np.max(np.abs(row))), 127)
        assert Fraction(float(scale)) == exact
        assert codes.tolist() == [oracle_int(float(v), exact, INT_FORMATS["int8"]) for v in row]
    assert q.codes.max() == 127 or q.codes.min() == -127


def test_int8_tie_rounds_to_even_and_range_is_symmetric():
    q = lf.scaled_quantize(np.float32([2.5, 3.5, -2.5, -200.0, 127.0]), "int8", scale=1.0)
    assert q.codes.tolist() == [2, 4, -2, -127, 127]


def test_int4_saturates_to_minus_8_and_7():
    q = lf.scaled_quantize(np.float32([100.0, -100.0, -7.5, 7.5, 6.5]), "int4", scale=1.0)
    assert q.codes.tolist() == [7, -8, -8, 7, 6]


@pytest.mark.parametrize("fmt", ["float8_e4m3fn", "float4_e2m1fn", "int8", "int4"])
@given(data=st.lists(st.floats(-(2.0**100), 2.0**100, width=32), min_size=1, max_size=40))
def test_dequantize_error_is_within_half_an_element_ulp(fmt, data):
    x = np.float32(data)
    q = lf.scaled_quantize(x, fmt)
    element = element_format(fmt)
    if isinstance(element, lf.IntFormat):
        bound = 0.5 * np.abs(q.scale.astype(np.float64))  # half a step of the integer grid
        relative = 0.0
    else:
        bound = 0.5 * element.smallest_subnormal * np.float64(q.scale)
        relative = 2.0 ** -(element.man_bits + 1)
    error = np.abs(q.dequantize().astype(np.float64) - x)
    allowed = (relative * np.abs(x) + bound) * (1 + 2**-20) + np.abs(x) * 2**-23  # + the float32 roundings
    assert np.all(error <= allowed)


def test_per_axis_scales_use_the_amax_over_all_other_axes():
    x = random_data(3, (3, 4, 5))
    q = lf.scaled_quantize(x, "e4m3", axis=(0, 2))
    assert q.quant_scale.shape == (3, 1, 5)
    amax = np.max(np.abs(x), axis=1, keepdims=True)
    expected = np.array([[[float(oracle_scale(float(a), 448.0)) for a in row[0]]] for row in amax], np.float32)
    np.testing.assert_array_equal(q.quant_scale, expected)


@pytest.mark.parametrize("amax_case, data", [("zero", [0.0, -0.0]), ("inf", [1.0, np.inf]), ("nan", [1.0, np.nan])])
def test_zero_or_non_finite_amax_keeps_scale_one(amax_case, data):
    q = lf.scaled_quantize(np.float32(data), "e4m3")
    assert float(q.quant_scale) == 1.0 and float(q.scale) == 1.0


def test_infinite_scale_becomes_float32_max():
    q = lf.scaled_quantize(np.float32([1e-45]), "e5m2")  # 57344 / 1e-45 overflows float32
    assert q.quant_scale == np.finfo(np.float32).max


def test_inf_saturates_and_nan_stays_nan_in_e4m3():
    q = lf.scaled_quantize(np.float32([np.inf, -np.inf, np.nan, 1.0]), "e4m3", scale=1.0)
    assert q.codes.tolist() == [0x7E, 0xFE, 0x7F, 0x38]


def test_power_of_two_rounds_the_scale_down():
    q = lf.scaled_quantize(np.float32([3.0]), "e4m3", power_of_two=True)
    assert float(q.quant_scale) == 128.0  # 448 / 3 = 149.3 -> 128
    q = lf.scaled_quantize(np.float32([3.0, 0.1]), "e4m3", axis=0, power_of_two=True)
    assert q.quant_scale.tolist() == [128.0, 4096.0]  # 4480 -> 4096


def test_explicit_quant_scale_is_used_as_given():
    q = lf.scaled_quantize(np.float32([1.0, 2.0]), "e4m3", quant_scale=[3.0, 5.0], axis=0)
    assert q.quant_scale.ravel().tolist() == [3.0, 5.0]
    assert q.dequantize().tolist() == [1.0, 2.0]


def test_float64_input_multiplies_in_float64():
    x = np.float64(1 + 2**-4 + 2**-30)  # just above a tie of E4M3: float32 first would round to 1
    assert float(lf.scaled_quantize(x, "e4m3", scale=1.0).dequantize()) == 1.125


def test_nbytes_counts_packed_codes_and_float32_scales():
    x = random_data(4, (4, 10))
    assert lf.scaled_quantize(x, "fp4").nbytes == 20 + 4
    assert lf.scaled_quantize(x, "int4", axis=0).nbytes == 20 + 4 * 4
    assert lf.scaled_quantize(x, "e3m2").nbytes == 30 + 4
    assert lf.scaled_quantize(x, "int8").nbytes == 40 + 4


def test_packed_codes_round_trip():
    q = lf.scaled_quantize(random_data(5, 9), "fp4")
    np.testing.assert_array_equal(lf.unpack(q.packed_codes(), "fp4", q.shape), q.codes)


# ---------------------------------------------------------------- scale dequantizes, quant_scale quantizes


@pytest.mark.parametrize("fmt", ["float8_e4m3fn", "int8"])
def test_explicit_scale_dequantizes_and_its_float32_reciprocal_quantizes(fmt):
    x = random_data(6, 50)
    x = np.where(np.isnan(x), 0, x)
    q = lf.scaled_quantize(x, fmt, scale=0.3)
    quant = fl32(1 / Fraction(float(np.float32(0.3))))
    assert q.scale == np.float32(0.3) and Fraction(float(q.quant_scale)) == quant
    element = element_format(fmt)
    expected = [oracle_int(float(v), quant, element) if isinstance(element, lf.IntFormat) else
                oracle_code(float(v), quant, fmt) for v in x]  # fmt: skip
    np.testing.assert_array_equal(q.codes, np.array(expected, dtype=q.codes.dtype))
    values = code_values(q.codes, element)
    np.testing.assert_array_equal(q.dequantize(), values * np.float32(0.3))


@pytest.mark.parametrize("axis", [None, 1])
def test_power_of_two_scale_given_back_as_scale_or_quant_scale_gives_the_same_codes(axis):
    x = random_data(7, (3, 8))
    q = lf.scaled_quantize(x, "e5m2", axis=axis, power_of_two=True)
    for again in (lf.scaled_quantize(x, "e5m2", axis=axis, scale=q.scale),
                  lf.scaled_quantize(x, "e5m2", axis=axis, quant_scale=q.quant_scale)):  # fmt: skip
        np.testing.assert_array_equal(again.codes, q.codes)
        np.testing.assert_array_equal(again.scale, q.scale)
        np.testing.assert_array_equal(again.quant_scale, q.quant_scale)


def test_scale_is_the_float32_reciprocal_of_quant_scale():
    q = lf.scaled_quantize(random_data(8, (5, 7)), "fp4", axis=0)
    np.testing.assert_array_equal(q.scale, (np.float32(1) / q.quant_scale).astype(np.float32))
    assert q.scale.dtype == q.quant_scale.dtype == np.float32


def test_old_attribute_scale_inv_raises_attribute_error_naming_scale():
    q = lf.scaled_quantize([1.0, 2.0], "e4m3")
    with pytest.raises(AttributeError, match=r"ScaledArray has no attribute 'scale_inv'; it was renamed: use \.scale$"):
        q.scale_inv  # noqa: B018


def test_dequantize_and_packed_codes_write_into_out():
    q = lf.scaled_quantize(random_data(9, (2, 5)), "fp4")
    out = np.full((2, 5), np.nan, np.float32)
    assert q.dequantize(out=out) is out
    np.testing.assert_array_equal(out, q.dequantize())
    packed = np.zeros(5, np.uint8)
    assert q.packed_codes(out=packed) is packed
    np.testing.assert_array_equal(packed, q.packed_codes())


@pytest.mark.parametrize("out", [np.zeros((2, 5), np.float64), np.zeros(10, np.float32), "out"])
def test_dequantize_refuses_bad_out(out):
    q = lf.scaled_quantize(random_data(10, (2, 5)), "e4m3")
    with pytest.raises(ValueError, match="out"):
        q.dequantize(out=out)


def test_ftz_flushes_elements_that_would_be_subnormal():
    x = np.float32([448.0, 0.01, -0.005, 1.0])  # quant_scale 1: 0.01 and -0.005 are E4M3 subnormals
    q = lf.scaled_quantize(x, "e4m3", ftz=True)
    assert q.dequantize().tolist() == [448.0, 0.0, -0.0, 1.0] and np.signbit(q.dequantize()[2])
    assert lf.scaled_quantize(x, "e4m3").dequantize()[1] != 0.0
    np.testing.assert_array_equal(
        lf.scaled_quantize(x, "int8", ftz=True).codes, lf.scaled_quantize(x, "int8").codes
    )  # integers have no subnormals


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_daz_reads_subnormals_of_the_input_type_as_zero_before_the_amax(dtype):
    tiny = np.finfo(dtype).smallest_subnormal
    x = np.array([tiny, -3 * tiny, 0.0], dtype)
    q = lf.scaled_quantize(x, "e4m3", daz=True)
    assert float(q.quant_scale) == 1.0 and q.codes.tolist() == [0x00, 0x80, 0x00]  # an all-zero tensor
    assert float(lf.scaled_quantize(x, "e4m3").quant_scale) != 1.0


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("keyword", ["scale", "quant_scale"])
@pytest.mark.parametrize("scale", [0.0, -1.0, np.inf, np.nan, 1e300])
def test_bad_explicit_scale_is_refused(keyword, scale):
    with pytest.raises(ValueError, match=keyword):
        lf.scaled_quantize(np.float32([1.0]), "e4m3", **{keyword: scale})


@pytest.mark.parametrize("keyword", ["scale", "quant_scale"])
def test_explicit_scale_of_wrong_shape_is_refused(keyword):
    with pytest.raises(ValueError, match="broadcast"):
        lf.scaled_quantize(np.ones((3, 4), np.float32), "e4m3", axis=0, **{keyword: [1.0, 2.0]})


def test_unknown_format_is_refused_naming_integer_formats():
    with pytest.raises(ValueError, match="int8"):
        lf.scaled_quantize([1.0], "int7")


def test_scale_format_e8m0_is_refused_as_element_format():
    with pytest.raises(ValueError, match="unsigned"):
        lf.scaled_quantize([1.0], "e8m0")


@pytest.mark.parametrize("axis", [2, -3])
def test_axis_out_of_range_is_refused(axis):
    with pytest.raises(ValueError, match="out of range"):
        lf.scaled_quantize(np.ones((2, 2)), "e4m3", axis=axis)


def test_axis_of_wrong_type_is_refused():
    with pytest.raises(TypeError, match="axis"):
        lf.scaled_quantize(np.ones((2, 2)), "e4m3", axis=1.0)


def test_non_finite_margin_is_refused():
    with pytest.raises(ValueError, match="margin"):
        lf.scaled_quantize([1.0], "e4m3", margin=np.inf)


def test_nan_into_int8_is_refused():
    with pytest.raises(ValueError, match="NaN"):
        lf.scaled_quantize([1.0, np.nan], "int8", scale=1.0)


def test_complex_input_is_refused():
    with pytest.raises(TypeError, match="complex"):
        lf.scaled_quantize([1j], "e4m3")


def test_scale_and_quant_scale_together_are_refused():
    with pytest.raises(ValueError, match="not both"):
        lf.scaled_quantize([1.0], "e4m3", scale=2.0, quant_scale=0.5)


def test_scale_whose_reciprocal_overflows_float32_is_refused():
    with pytest.raises(ValueError, match="reciprocal"):
        lf.scaled_quantize([1.0], "e4m3", scale=1e-40)


@pytest.mark.parametrize("option", ["ftz", "daz"])
def test_non_boolean_ftz_or_daz_is_refused(option):
    with pytest.raises(TypeError, match=option):
        lf.scaled_quantize([1.0], "e4m3", **{option: "yes"})
