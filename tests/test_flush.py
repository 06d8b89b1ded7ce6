"""Flush to zero (ftz: subnormal *results* become zero) and denormals are zero (daz: subnormal *inputs* count as zero).

FTZ acts after rounding: a value that rounds up to the smallest normal is kept,
one that rounds to a subnormal becomes a zero of its sign (+0 in fnuz formats,
which have no -0).  The exact reference has no FTZ, so the tests apply that
rule by hand to ``reference.encode``'s code.  DAZ acts on the input, in the
input's own float type: ``quantize(x, daz=True)`` equals ``quantize`` of ``x``
with its subnormals replaced by zeros of their sign.
"""

import math

import numpy as np
import pytest
from conftest import assert_same_codes, assert_same_values
from hypothesis import given, settings
from hypothesis import strategies as st

import lowfloat as lf
from lowfloat import reference

#: A format that is none of the built-ins: 10 bits, no infinity, no -0.
GENERIC = lf.Format(exp_bits=5, man_bits=4, bias=13, specials="fnuz")

#: Signed formats with subnormals: IEEE-like, fn, fnuz and none, of 4 to 32 bits.
FTZ_FORMATS = [
    "float32",
    "bfloat16",
    "float16",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e5m2fnuz",
    "float6_e2m3fn",
    "float4_e2m1fn",
    GENERIC,
]
FTZ_IDS = [str(fmt) for fmt in FTZ_FORMATS]


# ------------------------------------------------------------------ FTZ against the reference
def ftz_inputs(fmt, seed: int = 0) -> np.ndarray:
    """float64 values around the subnormal range of ``fmt``, a few normal ones and the specials, both signs."""
    fmt = lf.get_format(fmt)
    rng = np.random.default_rng(seed)
    smallest, normal = fmt.smallest_subnormal, fmt.smallest_normal
    count = (1 << fmt.man_bits) - 1  # positive subnormal codes
    steps = np.union1d(np.arange(min(count, 24)), rng.integers(0, count + 1, 40))  # some subnormal codes
    grid = steps * smallest
    fractions = np.array([0.0, 0.25, 0.5, 0.75, 1 / 3])  # points between a code and the next, ties included
    between = (grid[:, None] + fractions[None, :] * smallest).ravel()
    top = normal * np.array([1 - 2.0 ** -(fmt.man_bits + 1), 1 - 2.0 ** -(fmt.man_bits + 2), 1 - 2.0**-40])
    edges = [smallest / 2, smallest / 4, smallest * 1e-3, normal, normal * (1 + 2.0**-30), 1.0, fmt.max, 5e-324]
    normal_values = np.ldexp(1 + rng.random(20), rng.integers(fmt.emin, fmt.emax + 1, 20))
    magnitudes = np.concatenate([between, top, edges, normal_values])
    return np.concatenate([magnitudes, -magnitudes, [np.inf, -np.inf]])


def flushed_by_hand(code: int, x: float, fmt) -> int:
    """A finite code in the subnormal field becomes zero of ``x``'s sign (+0 where there is no -0)."""
    fmt = lf.get_format(fmt)
    if math.isnan(reference.decode(code, fmt)):  # fnuz NaN is 0x80: it is not a subnormal
        return code
    if code & ~fmt.sign_code < (1 << fmt.man_bits):
        return fmt.sign_code if math.copysign(1.0, x) < 0 and fmt.has_negative_zero else 0
    return code


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rounding", lf.DETERMINISTIC_MODES)
@pytest.mark.parametrize("fmt", FTZ_FORMATS, ids=FTZ_IDS)
def test_ftz_flushes_subnormal_results_to_signed_zero_and_keeps_the_rest_like_reference(fmt, rounding, dtype):
    x = ftz_inputs(fmt).astype(dtype)
    if fmt == "float32" and dtype == np.float32:
        x = np.concatenate([x, np.float32([1e-40, -1e-40, 2.0**-149, -(2.0**-126) * (1 - 2.0**-23)])])
    values = [float(v) for v in x]
    expected = [flushed_by_hand(reference.encode(v, fmt, rounding=rounding), v, fmt) for v in values]
    expected = np.array(expected, dtype=np.uint64).astype(lf.get_format(fmt).code_dtype)
    assert_same_codes(lf.encode(x, fmt, rounding=rounding, ftz=True), expected, inputs=x)
    assert_same_values(
        lf.quantize(x, fmt, rounding=rounding, ftz=True),
        [reference.decode(int(c), fmt) for c in expected],
        inputs=x,
    )


@pytest.mark.parametrize(
    ("name", "x", "rounding", "expected"),
    [
        ("fp16", 2.0**-24, "nearest_even", 0.0),  # smallest subnormal
        ("fp16", -(2.0**-24), "nearest_even", -0.0),
        ("fp16", 2.0**-14, "nearest_even", 2.0**-14),  # smallest normal
        ("fp16", 2.0**-14 * (1 - 2.0**-11), "nearest_even", 2.0**-14),  # a tie that rounds up to it: kept
        ("fp16", 2.0**-14 * (1 - 2.0**-11), "toward_zero", 0.0),  # the same value rounded down: flushed
        ("fp16", 2.0**-14 * (1 - 2.0**-12), "nearest_even", 2.0**-14),
        ("fp16", 2.0**-14 * (1 - 2.0**-12), "toward_positive", 2.0**-14),
        ("fp16", -(2.0**-14) * (1 - 2.0**-12), "toward_positive", -0.0),
        ("fp16", 1e-30, "toward_positive", 0.0),  # rounds up to the smallest subnormal, then flushed
        ("e4m3", -(2.0**-9), "nearest_even", -0.0),  # OCP E4M3 has -0
        ("e4m3fnuz", -(2.0**-10), "nearest_even", 0.0),  # fnuz has no -0: +0
        ("e4m3fnuz", -(2.0**-7) * 0.9, "toward_zero", 0.0),
        ("e2m1", 0.5, "nearest_even", 0.0),  # FP4's only subnormal
        ("e2m1", -0.75, "nearest_even", -1.0),  # a tie to the even smallest normal
        ("float32", 1e-40, "nearest_even", 0.0),
        ("float32", -1e-40, "toward_negative", -0.0),
        ("bf16", 2.0**-126 * (1 - 2.0**-9), "nearest_even", 2.0**-126),
        ("bf16", 2.0**-126 * (1 - 2.0**-7), "nearest_even", 0.0),  # the largest subnormal
    ],
)
def test_ftz_spot_values(name, x, rounding, expected):
    got = lf.quantize(np.float64(x), name, rounding=rounding, ftz=True)
    assert_same_values(got, expected, inputs=[x])


def test_ftz_off_keeps_subnormal_results():
    x = np.array([2.0**-24, -(2.0**-24), 2.0**-20])
    assert_same_values(lf.quantize(x, "fp16", ftz=False), x)
    assert_same_values(lf.quantize(x, "fp16"), x)


@pytest.mark.parametrize("fmt", FTZ_FORMATS, ids=FTZ_IDS)
def test_ftz_with_stochastic_rounding_flushes_the_stochastic_result(fmt):
    # FTZ acts after rounding, and the random bits depend on the seed and index alone
    x = np.repeat(ftz_inputs(fmt, seed=1), 16)
    plain = lf.quantize(x, fmt, rounding="stochastic", rng=5)
    fmt = lf.get_format(fmt)
    subnormal = (plain != 0) & (np.abs(plain) < fmt.smallest_normal)
    zero = np.copysign(0.0, x) if fmt.has_negative_zero else 0.0
    expected = np.where(subnormal, zero, plain)
    assert_same_values(lf.quantize(x, fmt, rounding="stochastic", rng=5, ftz=True), expected, inputs=x)


@pytest.mark.parametrize("rounding", lf.DETERMINISTIC_MODES)
def test_ftz_does_nothing_to_e8m0_which_has_no_subnormals(rounding):
    x = np.array([2.0**-127, 2.0**-128, 1e-45, 3.0, 2.0**-126 * 1.5, 2.0**127])
    assert_same_values(
        lf.quantize(x, "e8m0", rounding=rounding, ftz=True), lf.quantize(x, "e8m0", rounding=rounding), inputs=x
    )


# ------------------------------------------------------------------ DAZ: the input's subnormals
def test_daz_makes_float32_subnormal_inputs_into_bfloat16_signed_zeros():
    x = np.float32([1e-40, -1e-40, 2.0**-149, -(2.0**-149), 1e-38])  # all float32 subnormals
    assert_same_values(lf.quantize(x, "bf16", daz=True), [0.0, -0.0, 0.0, -0.0, 0.0])
    assert_same_codes(lf.encode(x, "bf16", daz=True), [0x0000, 0x8000, 0x0000, 0x8000, 0x0000])
    assert np.all(lf.quantize(x[[0, 1, 4]], "bf16") != 0)  # without DAZ these are bfloat16 subnormals
    normal = np.float32([2.0**-126, -(2.0**-126), 1.0])
    assert_same_values(lf.quantize(normal, "bf16", daz=True), normal)


def test_daz_makes_float64_subnormal_inputs_zero_even_where_directed_rounding_would_round_them_up():
    x = np.array([5e-324, -5e-324, 1e-310])  # float64 subnormals
    assert_same_values(lf.quantize(x, "fp16", rounding="toward_positive"), [2.0**-24, -0.0, 2.0**-24])
    assert_same_values(lf.quantize(x, "fp16", rounding="toward_positive", daz=True), [0.0, -0.0, 0.0])
    assert_same_values(lf.quantize(x, "fp16", rounding="toward_negative", daz=True), [0.0, -0.0, 0.0])
    assert_same_values(lf.quantize(x, "float32", rounding="toward_negative", daz=True), [0.0, -0.0, 0.0])
    assert_same_values(lf.quantize(2.0**-1022, "fp16", rounding="toward_positive", daz=True), 2.0**-24)


def test_daz_makes_float16_subnormal_inputs_zero_and_keeps_normal_float16_values():
    subnormal = np.float16([1e-6, -1e-6, 2.0**-24, 6e-5])  # below float16's smallest normal 2**-14
    assert_same_values(lf.quantize(subnormal, "float32", daz=True), [0.0, -0.0, 0.0, 0.0])
    assert np.all(lf.quantize(subnormal, "float32") != 0)  # exact in float32 without DAZ
    normal = np.float16([2.0**-14, -(2.0**-14), 1e-4, 65504.0])
    assert_same_values(lf.quantize(normal, "float32", daz=True), normal.astype(np.float64))
    assert_same_codes(lf.encode(np.float16([1e-6, -1e-6]), "e4m3", rounding="toward_positive", daz=True), [0, 0x80])


def test_daz_into_e8m0_makes_float32_subnormals_nan_because_zero_has_no_code():
    x32 = np.float32([1e-40, 2.0**-127, 2.0**-149, 1.0])  # 2**-127 is E8M0's smallest value, a float32 subnormal
    assert_same_values(lf.quantize(x32, "e8m0"), [2.0**-127, 2.0**-127, 2.0**-127, 1.0])
    assert_same_values(lf.quantize(x32, "e8m0", daz=True), [np.nan, np.nan, np.nan, 1.0])
    assert_same_codes(lf.encode(x32, "e8m0", daz=True), [0xFF, 0xFF, 0xFF, 127])
    x64 = np.array([2.0**-127, 1e-40, 5e-324])  # the first two are normal float64 values
    assert_same_values(lf.quantize(x64, "e8m0", daz=True), [2.0**-127, 2.0**-127, np.nan])


@pytest.mark.skipif(np.finfo(np.longdouble).smallest_normal >= 1e-310, reason="long double is float64 here")
def test_daz_keeps_long_double_values_that_are_normal_in_long_double_but_subnormal_in_float64():
    # DAZ concerns subnormals "of x's own float type": 1e-310 is a normal long double.
    x = np.array([1e-310, -1e-310], dtype=np.longdouble)
    assert_same_values(lf.quantize(x, "fp16", rounding="toward_positive", daz=True), [2.0**-24, -0.0])
    assert_same_values(lf.quantize(x, "fp16", rounding="toward_negative", daz=True), [0.0, -(2.0**-24)])


def _zero_subnormals(x: np.ndarray) -> np.ndarray:
    """``x`` with the subnormals of its own dtype replaced by zeros of their sign."""
    tiny = np.finfo(x.dtype).smallest_normal
    return np.where((np.abs(x) < tiny) & (x != 0), np.copysign(x.dtype.type(0), x), x)


def _floats_with_subnormals(dtype):
    width = np.finfo(dtype).bits
    tiny = float(np.finfo(dtype).smallest_normal)
    subnormals = st.floats(-tiny, tiny, width=width, exclude_min=True, exclude_max=True)
    return st.lists(st.one_of(subnormals, st.floats(width=width)), min_size=1, max_size=40)


DAZ_FORMATS = ["float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2fnuz", "float4_e2m1fn", "e8m0", GENERIC]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@settings(deadline=None)
@given(data=st.data())
def test_daz_equals_rounding_the_input_with_its_subnormals_zeroed(dtype, data):
    x = np.array(data.draw(_floats_with_subnormals(dtype)), dtype)
    fmt = data.draw(st.sampled_from(DAZ_FORMATS))
    rounding = data.draw(st.sampled_from(lf.ROUNDING_MODES))
    options = {"rng": 3} if rounding == "stochastic" else {}  # same seed, same index: same random bits
    got = lf.quantize(x, fmt, rounding=rounding, daz=True, **options)
    expected = lf.quantize(_zero_subnormals(x), fmt, rounding=rounding, **options)
    assert_same_values(got, expected, inputs=x)


# ------------------------------------------------------------------ refused flags
@pytest.mark.parametrize("cast", [lf.quantize, lf.encode], ids=["quantize", "encode"])
@pytest.mark.parametrize("flag", ["ftz", "daz"])
@pytest.mark.parametrize("value", [1, 0, "yes", None, 1.0], ids=repr)
def test_ftz_or_daz_that_is_not_a_bool_raises_type_error_naming_it(cast, flag, value):
    with pytest.raises(TypeError, match=flag):
        cast([1.0], "fp16", **{flag: value})


@pytest.mark.parametrize("flag", ["ftz", "daz"])
def test_ftz_and_daz_accept_numpy_bools(flag):
    x = np.array([2.0**-24, 1e-310, 1.0])
    assert_same_values(lf.quantize(x, "fp16", **{flag: np.bool_(True)}), lf.quantize(x, "fp16", **{flag: True}))
