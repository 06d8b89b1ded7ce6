"""block_quantize: 1 x k and k x k blocks against a slow exact per-block oracle in fractions."""

from __future__ import annotations

import inspect
import math
from fractions import Fraction

import numpy as np
import pytest

import lowfloat as lf
from lowfloat import reference
from lowfloat.scaling.blocks import DEFAULT_SCALE_ROUNDING
from lowfloat.scaling.integer import IntFormat, element_format

SCALE_MODES = {"floor": "toward_zero", "ceil": "toward_positive", "nearest": "nearest_even"}


def oracle_scale(amax: Fraction, elem_max: float, scale_fmt: str, rounding: str, emax: int | None = None) -> Fraction:
    """The scale rule, exactly: amax / elem_max ("ceil", "nearest") or amax / 2**emax ("floor") rounded once
    into the scale format (saturating; never 0 for amax > 0).  A zero block: 1, or E8M0's smallest value."""
    if amax == 0:
        return Fraction(2) ** -127 if lf.get_format(scale_fmt).name == "float8_e8m0fnu" else Fraction(1)
    ideal = amax / (Fraction(2) ** emax if rounding == "floor" else Fraction(elem_max))
    code = reference.encode(ideal, scale_fmt, rounding=SCALE_MODES[rounding], overflow="saturate")
    value = Fraction(reference.decode(code, scale_fmt))
    if value == 0:  # below the scale format's smallest value: its smallest positive value
        value = Fraction(lf.get_format(scale_fmt).smallest_subnormal)
    return value


def oracle_code(x: float, scale: Fraction, fmt) -> int:
    """Code of x / scale rounded once (half-even, saturating) into the element format."""
    quotient = Fraction(x) / scale
    if isinstance(fmt, IntFormat):
        return max(fmt.min, min(fmt.max, round(quotient)))
    value = math.copysign(0.0, x) if quotient == 0 else quotient
    return reference.encode(value, fmt, overflow="saturate")


def oracle(x: np.ndarray, fmt_name, block: tuple, scale_fmt: str, rounding: str):
    """Per-block scales and codes of a 2-D x, blocks over the last axis (len(block) == 1) or both."""
    fmt = element_format(fmt_name)
    elem_max = fmt.max_value if isinstance(fmt, IntFormat) else fmt.max
    rows, cols = x.shape
    block_rows, block_cols = (1, block[0]) if len(block) == 1 else block
    nr, nc = -(-rows // block_rows), -(-cols // block_cols)
    scales = np.zeros((nr, nc))
    codes = np.zeros(x.shape, dtype=np.int64)
    for i in range(nr):
        for j in range(nc):
            tile = x[i * block_rows : (i + 1) * block_rows, j * block_cols : (j + 1) * block_cols]
            amax = max(abs(Fraction(float(v))) for v in tile.ravel())
            scale = oracle_scale(amax, elem_max, scale_fmt, rounding, fmt.emax)
            scales[i, j] = float(scale)
            for (a, b), v in np.ndenumerate(tile):
                codes[i * block_rows + a, j * block_cols + b] = oracle_code(float(v), scale, fmt)
    return scales, codes


def random_data(seed, shape, spread=6):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * np.exp2(rng.integers(-spread, spread, shape))
    return x.astype(np.float32)


CASES = [
    ("float8_e4m3fn", "float32", "ceil"),
    ("float8_e4m3fn", "float8_e8m0fnu", "ceil"),
    ("float8_e4m3fn", "float8_e8m0fnu", "floor"),
    ("float8_e5m2", "float8_e8m0fnu", "nearest"),
    ("float4_e2m1fn", "float8_e4m3fn", "nearest"),
    ("float6_e2m3fn", "float32", "floor"),
    ("int8", "float32", "nearest"),
    ("int4", "float8_e4m3fn", "ceil"),
    ("float8_e4m3fn", "float8_e8m0fnu", "nearest"),
    ("float8_e4m3fn", "float8_e4m3fn", "floor"),
    ("int8", "float8_e8m0fnu", "floor"),
]


@pytest.mark.parametrize("elem, scale_fmt, rounding", CASES)
def test_one_by_k_blocks_with_ragged_tail_equal_exact_oracle(elem, scale_fmt, rounding):
    x = random_data(0, (3, 37))
    x[1, 8:16] = 0.0  # an all-zero block
    b = lf.block_quantize(x, elem, block_size=8, scale_fmt=scale_fmt, scale_rounding=rounding)
    scales, codes = oracle(x, elem, (8,), scale_fmt, rounding)
    assert b.scale.shape == (3, 5)
    np.testing.assert_array_equal(b.scale.astype(np.float64), scales)
    np.testing.assert_array_equal(b.codes.astype(np.int64), codes)


@pytest.mark.parametrize("elem, scale_fmt, rounding", CASES[:5])
def test_two_dimensional_tiles_with_ragged_edges_equal_exact_oracle(elem, scale_fmt, rounding):
    x = random_data(1, (10, 13))
    b = lf.block_quantize(x, elem, block_size=(4, 4), scale_fmt=scale_fmt, scale_rounding=rounding)
    scales, codes = oracle(x, elem, (4, 4), scale_fmt, rounding)
    assert b.scale.shape == (3, 4)
    np.testing.assert_array_equal(b.scale.astype(np.float64), scales)
    np.testing.assert_array_equal(b.codes.astype(np.int64), codes)


def test_deepseek_shapes_give_one_scale_per_128_tile():
    x = random_data(2, (256, 384))
    activations = lf.block_quantize(x, "e4m3", block_size=128)
    weights = lf.block_quantize(x, "e4m3", block_size=(128, 128))
    assert activations.scale.shape == (256, 3)
    assert weights.scale.shape == (2, 3)
    tile = x[128:, 256:]
    assert weights.scale[1, 2] == np.float32(
        float(oracle_scale(Fraction(float(np.max(np.abs(tile)))), 448.0, "float32", "ceil"))
    )


def test_block_along_axis_zero_equals_transposed_block_along_last_axis():
    x = random_data(3, (20, 3))
    along0 = lf.block_quantize(x, "e4m3", block_size=8, axis=0)
    along_last = lf.block_quantize(x.T.copy(), "e4m3", block_size=8)
    np.testing.assert_array_equal(along0.codes, along_last.codes.T)
    np.testing.assert_array_equal(along0.scale, along_last.scale.T)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numba_block_amax_equals_numpy_tile_path_with_nan_and_inf(dtype):
    x = random_data(9, (5, 40)).astype(dtype)
    x[0, 3], x[1, 17], x[2, 39], x[3, 0] = np.nan, -np.inf, np.inf, -np.nan
    one_axis = lf.block_quantize(x, "e4m3", block_size=8)  # Numba amax kernel
    tiles = lf.block_quantize(x, "e4m3", block_size=(1, 8))  # numpy max(abs)
    np.testing.assert_array_equal(one_axis.scale, tiles.scale)
    np.testing.assert_array_equal(one_axis.codes, tiles.codes)
    assert np.isnan(one_axis.scale).sum() == 4


def test_tiles_over_axes_zero_and_two_of_a_3d_array():
    x = random_data(4, (8, 3, 8))
    b = lf.block_quantize(x, "e4m3", block_size=(4, 4), axis=(0, 2))
    assert b.scale.shape == (2, 3, 2)
    for k in range(3):
        one = lf.block_quantize(x[:, k, :].copy(), "e4m3", block_size=(4, 4))
        np.testing.assert_array_equal(b.codes[:, k, :], one.codes)


@pytest.mark.parametrize("rounding", ["ceil", "nearest"])
def test_dequantize_error_within_half_ulp_of_block_scale(rounding):
    x = random_data(5, (4, 64))
    b = lf.block_quantize(x, "e4m3", block_size=16, scale_rounding=rounding)
    s = np.repeat(b.scale.astype(np.float64), 16, axis=1)
    y = x / s
    half_ulp = 2.0 ** (np.floor(np.log2(np.maximum(np.abs(y), 2.0**-6))) - 4)  # E4M3: 3 mantissa bits
    error = np.abs(b.dequantize().astype(np.float64) - x)
    assert np.all(error <= half_ulp * s * (1 + 2**-20) + np.abs(x) * 2**-23)


def test_floor_clips_and_ceil_does_not():
    x = np.float32([[500.0, 1.0]])
    floor = lf.block_quantize(x, "e4m3", block_size=2, scale_fmt="e8m0", scale_rounding="floor")
    ceil = lf.block_quantize(x, "e4m3", block_size=2, scale_fmt="e8m0", scale_rounding="ceil")
    assert floor.dequantize()[0, 0] == 448.0 and floor.scale[0, 0] == 1.0
    assert ceil.scale[0, 0] == 2.0 and ceil.dequantize()[0, 0] == 512.0


def test_non_finite_block_gets_nan_scale_and_dequantizes_to_nan():
    x = np.float32([1.0, np.inf, 2.0, 3.0, np.nan, 1.0, 5.0, 6.0, 7.0])
    for scale_fmt in ("float32", "e8m0", "e4m3"):
        b = lf.block_quantize(x, "fp4", block_size=3, scale_fmt=scale_fmt)
        assert np.isnan(b.scale[:2]).all() and np.isfinite(b.scale[2])
        assert np.isnan(b.dequantize()[:6]).all() and np.isfinite(b.dequantize()[6:]).all()


def test_huge_block_saturates_e4m3_scale():
    b = lf.block_quantize(np.float32([1e9, 1.0]), "e4m3", block_size=2, scale_fmt="e4m3")
    assert b.scale[0] == 448.0 and b.dequantize()[0] == 448.0 * 448.0


def test_tiny_block_gets_the_smallest_scale_not_zero():
    b = lf.block_quantize(np.float32([1e-30, 0.0]), "e4m3", block_size=2, scale_fmt="e4m3")
    assert b.scale[0] == 2.0**-9


def test_nbytes_counts_packed_codes_and_scale_bytes():
    x = random_data(6, (4, 33))
    assert lf.block_quantize(x, "fp4", block_size=16, scale_fmt="e4m3").nbytes == 66 + 12
    assert lf.block_quantize(x, "e3m2", block_size=32, scale_fmt="e8m0").nbytes == 3 * 132 // 4 + 8
    assert lf.block_quantize(x, "e4m3", block_size=128).nbytes == 132 + 16


def test_packed_codes_round_trip_int4():
    b = lf.block_quantize(random_data(7, 21), "int4", block_size=8)
    np.testing.assert_array_equal(lf.unpack(b.packed_codes(), "int4", b.shape), b.codes)


def test_float64_dequantize_of_power_of_two_scales_equals_float32():
    b = lf.block_quantize(random_data(8, 64), "e4m3", block_size=32, scale_fmt="e8m0")
    np.testing.assert_array_equal(b.dequantize(np.float64), b.dequantize().astype(np.float64))


# ---------------------------------------------------------------- one vocabulary with MX


def mx_agreement_data(seed, dtype=np.float32):
    """Blocks of 32 at magnitudes from 2**-140 to 2**120, with zero, NaN, inf, power-of-two and ragged blocks."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((24, 32)) * np.exp2(rng.integers(-140, 120, (24, 1)).astype(np.float64))
    x[2] = 0.0
    x[4, 9], x[6, 1] = np.nan, -np.inf
    x[8] = 448.0 * np.exp2(-rng.integers(0, 3, 32))  # amax exactly elem_max * 2**k for E4M3
    x[10] = rng.uniform(-1, 1, 32)
    x[10, 0] = 1.5 * 2.0**-3 * 448  # on a midpoint of the "nearest" rule for E4M3: rounds up
    if dtype == np.float64:  # beyond E8M0's range both ways: the scale saturates, or stops at 2**-127
        x[12] *= 2.0**300
        x[14] *= 2.0**-400
    return x.astype(dtype).reshape(-1)[:-7]  # a ragged last block


@pytest.mark.parametrize("rounding", ["ceil", "floor", "nearest"])
@pytest.mark.parametrize("mx_name", ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_block_quantize_with_e8m0_scales_equals_mx_quantize_for_every_rule(rounding, mx_name, dtype):
    x = mx_agreement_data(len(mx_name) + (dtype == np.float64), dtype)
    element = lf.MX_FORMATS[mx_name]
    block = lf.block_quantize(x, element, block_size=32, scale_fmt="e8m0", scale_rounding=rounding)
    mx = lf.mx_quantize(x, mx_name, scale_rounding=rounding)
    np.testing.assert_array_equal(block.scale_codes, mx.scale_codes)
    np.testing.assert_array_equal(block.scale, mx.scale)
    np.testing.assert_array_equal(block.codes, mx.codes)
    np.testing.assert_array_equal(block.dequantize(np.float64), mx.dequantize(np.float64))


@pytest.mark.parametrize("rounding", ["ceil", "floor", "nearest"])
def test_e8m0_scales_equal_the_exact_rule_rounded_by_the_reference(rounding):
    # the exponent path (frexp) against the general definition: the ideal scale rounded once by the spec
    x = mx_agreement_data(3, np.float64)
    x = x[np.isfinite(x)][: 32 * 20]
    b = lf.block_quantize(x, "e4m3", block_size=32, scale_fmt="e8m0", scale_rounding=rounding)
    for block, scale in zip(x.reshape(-1, 32), b.scale, strict=True):
        amax = max(abs(Fraction(float(v))) for v in block)
        assert Fraction(float(scale)) == oracle_scale(amax, 448.0, "float8_e8m0fnu", rounding, 8)


def test_default_scale_rounding_is_the_same_for_block_and_mx_and_is_ceil():
    defaults = {
        f.__name__: inspect.signature(f).parameters["scale_rounding"].default
        for f in (lf.block_quantize, lf.mx_quantize)
    }
    assert defaults == {"block_quantize": "ceil", "mx_quantize": "ceil"}
    assert DEFAULT_SCALE_ROUNDING == "ceil"


def test_floor_keeps_400_as_384_with_e8m0_scales_in_block_and_mx():
    # the OCP rule: X = 2**(floor(log2 400) - 8) = 1, and 400 is a tie of E4M3 between 384 and 416
    x = np.float32([400.0, 1.0, 0.5, 0.25])
    block = lf.block_quantize(x, "e4m3", block_size=4, scale_fmt="e8m0", scale_rounding="floor")
    mx = lf.mx_quantize(x, "mxfp8_e4m3", block_size=4, scale_rounding="floor")
    assert block.dequantize().tolist() == mx.dequantize().tolist() == [384.0, 1.0, 0.5, 0.25]


def test_scale_dequantizes_in_scaled_and_block_arrays_alike():
    # for [400, 1, .5, .25] in E4M3 both scales are about 400 / 448 = 0.893, the multiplier back to x
    x = np.float32([400.0, 1.0, 0.5, 0.25])
    per_tensor = lf.scaled_quantize(x, "e4m3")
    per_block = lf.block_quantize(x, "e4m3", block_size=4)
    assert float(per_tensor.scale) == pytest.approx(400 / 448, rel=1e-6)
    assert float(per_block.scale[0]) == pytest.approx(400 / 448, rel=1e-6)
    for q in (per_tensor, per_block):
        values = lf.decode(q.codes, "e4m3")
        np.testing.assert_array_equal(q.dequantize(), values * q.scale)


def test_floor_with_float32_scales_maps_amax_to_the_top_binade_exactly():
    x = random_data(12, (4, 16))
    b = lf.block_quantize(x, "e4m3", block_size=16, scale_rounding="floor")
    top = np.max(np.abs(x), axis=1) / b.scale[:, 0].astype(np.float64)
    np.testing.assert_array_equal(top, np.full(4, 256.0))  # 2**emax of E4M3: amax / 2**8 is exact in float32


def test_old_keyword_elem_fmt_raises_type_error_naming_fmt():
    with pytest.raises(TypeError, match=r"^block_quantize\(\) got the old keyword 'elem_fmt'; use fmt=$"):
        lf.block_quantize(np.ones(4), elem_fmt="e4m3", block_size=2)


@pytest.mark.parametrize(("old", "new"), [("scales", "scale"), ("axes", "axis")])
def test_old_attribute_raises_attribute_error_naming_the_new_one(old, new):
    b = lf.block_quantize(np.ones(4), "e4m3", block_size=2)
    with pytest.raises(AttributeError, match=rf"BlockArray has no attribute '{old}'; it was renamed: use \.{new}$"):
        getattr(b, old)
    assert getattr(b, new) is not None


def test_dequantize_writes_into_out_and_returns_it():
    b = lf.block_quantize(random_data(13, (3, 20)), "e4m3", block_size=8)
    for dtype in (np.float32, np.float64):
        out = np.full((3, 20), np.nan, dtype)
        assert b.dequantize(dtype, out=out) is out
        np.testing.assert_array_equal(out, b.dequantize(dtype))
    strided = np.zeros((3, 40), np.float32)[:, ::2]  # not contiguous
    b.dequantize(out=strided)
    np.testing.assert_array_equal(strided, b.dequantize())


@pytest.mark.parametrize("out", [np.zeros((3, 20), np.float64), np.zeros((20, 3), np.float32), [0.0]])
def test_dequantize_refuses_bad_out(out):
    b = lf.block_quantize(random_data(14, (3, 20)), "e4m3", block_size=8)
    with pytest.raises(ValueError, match="out"):
        b.dequantize(out=out)


def test_packed_codes_write_into_out():
    b = lf.block_quantize(random_data(15, 21), "fp4", block_size=8)
    out = np.zeros(11, np.uint8)
    assert b.packed_codes(out=out) is out
    np.testing.assert_array_equal(out, b.packed_codes())


def test_ftz_flushes_subnormal_elements_and_keeps_scales():
    x = np.float32([448.0, 0.01, -0.005, 1.0])  # 0.01 and -0.005 are E4M3 subnormals (below 2**-6)
    plain = lf.block_quantize(x, "e4m3", block_size=4)
    flushed = lf.block_quantize(x, "e4m3", block_size=4, ftz=True)
    np.testing.assert_array_equal(flushed.scale, plain.scale)
    assert flushed.dequantize().tolist() == [448.0, 0.0, -0.0, 1.0]
    assert np.signbit(flushed.dequantize()[2])
    assert plain.dequantize()[1] != 0.0


def test_daz_reads_subnormal_inputs_as_zero_in_the_amax_too():
    tiny = np.float32(1e-40)  # a float32 subnormal
    x = np.float32([tiny, -tiny, 0.0, 0.0, 1.0, tiny, 0.0, 0.0])
    b = lf.block_quantize(x, "e4m3", block_size=4, daz=True)
    zeroed = lf.block_quantize(np.float32([0.0, -0.0, 0, 0, 1.0, 0, 0, 0]), "e4m3", block_size=4)
    np.testing.assert_array_equal(b.codes, zeroed.codes)
    np.testing.assert_array_equal(b.scale, zeroed.scale)  # block 0 is a zero block: scale 1
    assert lf.block_quantize(x, "e4m3", block_size=4).scale[0] != 1.0


def test_ftz_changes_nothing_for_integer_elements():
    x = random_data(16, 64)
    np.testing.assert_array_equal(
        lf.block_quantize(x, "int8", block_size=16, ftz=True).codes, lf.block_quantize(x, "int8", block_size=16).codes
    )


@pytest.mark.parametrize("option", ["ftz", "daz"])
def test_non_boolean_ftz_or_daz_is_refused(option):
    with pytest.raises(TypeError, match=option):
        lf.block_quantize(np.ones(4), "e4m3", block_size=2, **{option: 1})


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("block_size", [0, -4, (128, 0)])
def test_non_positive_block_size_is_refused(block_size):
    with pytest.raises(ValueError, match="positive"):
        lf.block_quantize(np.ones((4, 4)), "e4m3", block_size=block_size)


@pytest.mark.parametrize("block_size", [1.5, True, "8"])
def test_non_integer_block_size_is_refused(block_size):
    with pytest.raises(TypeError, match="block_size"):
        lf.block_quantize(np.ones((4, 4)), "e4m3", block_size=block_size)


@pytest.mark.parametrize("axis", [2, -3, (0, 5)])
def test_axis_out_of_range_is_refused(axis):
    block = (2, 2) if isinstance(axis, tuple) else 2
    with pytest.raises(ValueError, match="out of range"):
        lf.block_quantize(np.ones((4, 4)), "e4m3", block_size=block, axis=axis)


def test_mismatched_block_and_axes_are_refused():
    with pytest.raises(ValueError, match="needs 2 axes"):
        lf.block_quantize(np.ones((4, 4)), "e4m3", block_size=(2, 2), axis=0)


def test_repeated_axes_are_refused():
    with pytest.raises(ValueError, match="repeats"):
        lf.block_quantize(np.ones((4, 4)), "e4m3", block_size=(2, 2), axis=(1, -1))


def test_too_few_dimensions_are_refused():
    with pytest.raises(ValueError, match="dimension"):
        lf.block_quantize(np.ones(4), "e4m3", block_size=(2, 2))


def test_scalar_is_refused():
    with pytest.raises(ValueError, match="dimension"):
        lf.block_quantize(1.0, "e4m3", block_size=2)


def test_unknown_element_format_is_refused():
    with pytest.raises(ValueError, match="^fmt: unknown format"):
        lf.block_quantize(np.ones(4), "e9m9", block_size=2)


@pytest.mark.parametrize("scale_fmt", ["float16", "e5m2", "nope"])
def test_unsupported_scale_format_is_refused(scale_fmt):
    with pytest.raises(ValueError, match="scale_fmt"):
        lf.block_quantize(np.ones(4), "e4m3", block_size=2, scale_fmt=scale_fmt)


def test_unknown_scale_rounding_is_refused():
    with pytest.raises(ValueError, match="scale_rounding"):
        lf.block_quantize(np.ones(4), "e4m3", block_size=2, scale_rounding="up")


def test_bad_dequantize_dtype_is_refused():
    with pytest.raises(ValueError, match="dtype"):
        lf.block_quantize(np.ones(4), "e4m3", block_size=2).dequantize(np.float16)
