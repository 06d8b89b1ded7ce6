"""lowfloat.reference is the exact spec: check it against spot tables and ml_dtypes, then lowfloat against it.

Three oracles meet here: hex spot tables transcribed from the specifications,
ml_dtypes (for the reference itself), and the reference (for the fast
kernels, on float64 and float32 inputs: random values, every midpoint between
neighbouring codes, and one ulp either side of each).
"""

import functools
import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from conftest import (
    FORMAT_NAMES,
    NAMES_UP_TO_16_BITS,
    TWINNED_NAMES,
    all_codes,
    assert_same_codes,
    assert_same_values,
    ml_twin,
    reals_for,
    twin_to_float64,
    twin_values,
)
from hypothesis import given
from hypothesis import strategies as st

import lowfloat as lf
from lowfloat import reference

NAN = math.nan
INF = math.inf

# ------------------------------------------------------------------ spot tables from the specifications
# (format, code, value); NaN codes have value NAN.  Sources: IEEE 754-2019 (binary16/32),
# OCP OFP8 v1.0 tables 1-2 (E4M3, E5M2), OCP Microscaling v1.0 section 5.3 (FP6, FP4, E8M0),
# the AMD/Graphcore FNUZ conventions as in ml_dtypes, NVIDIA TF32.
SPOT_CODES = [
    ("float32", 0x3F800000, 1.0),
    ("float32", 0x00000001, 2.0**-149),
    ("float32", 0x00800000, 2.0**-126),
    ("float32", 0x7F7FFFFF, float.fromhex("0x1.fffffep127")),
    ("float32", 0xFF800000, -INF),
    ("float32", 0x7FC00000, NAN),
    ("float32", 0x80000000, -0.0),
    ("tensorfloat32", 0x1FC00, 1.0),
    ("tensorfloat32", 0x1FC01, 1.0 + 2.0**-10),
    ("tensorfloat32", 0x00001, 2.0**-136),
    ("tensorfloat32", 0x3FBFF, float.fromhex("0x1.ffcp127")),
    ("tensorfloat32", 0x3FC00, INF),
    ("tensorfloat32", 0x7FC00, -INF),
    ("tensorfloat32", 0x3FE00, NAN),
    ("float16", 0x3C00, 1.0),
    ("float16", 0x3555, 0.333251953125),
    ("float16", 0xC000, -2.0),
    ("float16", 0x0001, 2.0**-24),
    ("float16", 0x03FF, 1023 * 2.0**-24),
    ("float16", 0x0400, 2.0**-14),
    ("float16", 0x7BFF, 65504.0),
    ("float16", 0x7C00, INF),
    ("float16", 0xFC00, -INF),
    ("float16", 0x7E00, NAN),
    ("float16", 0x8000, -0.0),
    ("bfloat16", 0x3F80, 1.0),
    ("bfloat16", 0x4049, 3.140625),
    ("bfloat16", 0x0001, 2.0**-133),
    ("bfloat16", 0x7F7F, float.fromhex("0x1.fep127")),
    ("bfloat16", 0x7F80, INF),
    ("bfloat16", 0x7FC0, NAN),
    ("float8_e4m3fn", 0x00, 0.0),
    ("float8_e4m3fn", 0x80, -0.0),
    ("float8_e4m3fn", 0x01, 2.0**-9),
    ("float8_e4m3fn", 0x07, 0.875 * 2.0**-6),
    ("float8_e4m3fn", 0x08, 2.0**-6),
    ("float8_e4m3fn", 0x38, 1.0),
    ("float8_e4m3fn", 0x39, 1.125),
    ("float8_e4m3fn", 0x7E, 448.0),
    ("float8_e4m3fn", 0xFE, -448.0),
    ("float8_e4m3fn", 0x78, 256.0),
    ("float8_e4m3fn", 0x7F, NAN),
    ("float8_e4m3fn", 0xFF, NAN),
    ("float8_e5m2", 0x01, 2.0**-16),
    ("float8_e5m2", 0x04, 2.0**-14),
    ("float8_e5m2", 0x3C, 1.0),
    ("float8_e5m2", 0x7B, 57344.0),
    ("float8_e5m2", 0x7C, INF),
    ("float8_e5m2", 0xFC, -INF),
    ("float8_e5m2", 0x7D, NAN),
    ("float8_e5m2", 0x7E, NAN),
    ("float8_e5m2", 0x7F, NAN),
    ("float8_e5m2", 0x80, -0.0),
    ("float8_e4m3fnuz", 0x00, 0.0),
    ("float8_e4m3fnuz", 0x80, NAN),
    ("float8_e4m3fnuz", 0x40, 1.0),
    ("float8_e4m3fnuz", 0x01, 2.0**-10),
    ("float8_e4m3fnuz", 0x7F, 240.0),
    ("float8_e4m3fnuz", 0xFF, -240.0),
    ("float8_e5m2fnuz", 0x80, NAN),
    ("float8_e5m2fnuz", 0x40, 1.0),
    ("float8_e5m2fnuz", 0x01, 2.0**-17),
    ("float8_e5m2fnuz", 0x7F, 57344.0),
    ("float8_e4m3b11fnuz", 0x58, 1.0),
    ("float8_e4m3b11fnuz", 0x01, 2.0**-13),
    ("float8_e4m3b11fnuz", 0x7F, 30.0),
    ("float8_e4m3b11fnuz", 0x80, NAN),
    ("float8_e4m3", 0x38, 1.0),
    ("float8_e4m3", 0x77, 240.0),
    ("float8_e4m3", 0x78, INF),
    ("float8_e4m3", 0xF8, -INF),
    ("float8_e4m3", 0x79, NAN),
    ("float8_e3m4", 0x30, 1.0),
    ("float8_e3m4", 0x01, 2.0**-6),
    ("float8_e3m4", 0x6F, 15.5),
    ("float8_e3m4", 0x70, INF),
    ("float8_e3m4", 0x78, NAN),
    ("float8_e8m0fnu", 0x00, 2.0**-127),
    ("float8_e8m0fnu", 0x7F, 1.0),
    ("float8_e8m0fnu", 0x80, 2.0),
    ("float8_e8m0fnu", 0xFE, 2.0**127),
    ("float8_e8m0fnu", 0xFF, NAN),
    ("float6_e2m3fn", 0x01, 0.125),
    ("float6_e2m3fn", 0x08, 1.0),
    ("float6_e2m3fn", 0x1F, 7.5),
    ("float6_e2m3fn", 0x20, -0.0),
    ("float6_e2m3fn", 0x3F, -7.5),
    ("float6_e3m2fn", 0x01, 0.0625),
    ("float6_e3m2fn", 0x0C, 1.0),
    ("float6_e3m2fn", 0x1F, 28.0),
    ("float6_e3m2fn", 0x3F, -28.0),
] + [  # float4_e2m1fn: the whole OCP MX table
    ("float4_e2m1fn", code, value)
    for code, value in enumerate(
        [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]
    )
]


@pytest.mark.parametrize(("name", "code", "value"), SPOT_CODES, ids=[f"{n}-{c:#x}" for n, c, _ in SPOT_CODES])
def test_decode_spot_code_gives_the_spec_value_in_reference_and_lowfloat(name, code, value):
    assert_same_values(reference.decode(code, name), value)
    assert_same_values(lf.decode(code, name), value)
    assert_same_values(lf.decode(code, name, dtype=np.float64), value)


@pytest.mark.parametrize(
    ("name", "code", "value"),
    [row for row in SPOT_CODES if not math.isnan(row[2])],
    ids=[f"{n}-{c:#x}" for n, c, v in SPOT_CODES if not math.isnan(v)],
)
def test_encode_spot_value_gives_the_spec_code_in_reference_and_lowfloat(name, code, value):
    assert reference.encode(value, name) == code
    assert lf.encode(value, name) == code
    if abs(value) < 2.0**128 or math.isinf(value):
        with np.errstate(over="ignore"):
            assert lf.encode(np.float32(value), name) == code


# ------------------------------------------------------------------ the reference against ml_dtypes
@pytest.mark.parametrize("name", [name for name in TWINNED_NAMES if lf.get_format(name).bits <= 16])
def test_reference_decode_of_every_code_equals_ml_dtypes(name):
    codes = all_codes(name)
    expected = twin_to_float64(twin_values(codes, name))
    got = [reference.decode(int(c), name) for c in codes]
    assert_same_values(got, expected, inputs=codes)


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2", "float8_e3m4", "float6_e3m2fn", "float4_e2m1fn"])
def test_reference_encode_of_float32_grid_equals_ml_dtypes(name):
    # ml_dtypes rounds float32 once, so it agrees with the reference on float32 inputs.
    values = np.concatenate([np.linspace(-600, 600, 4801, dtype=np.float32), np.float32([2.0**-10, -(2.0**-9)])])
    with np.errstate(over="ignore", invalid="ignore"):
        expected = values.astype(ml_twin(name)).view(np.uint8)
    got = [reference.encode(float(v), name) for v in values]
    got = np.array(got, dtype=np.uint8)
    ml_nan = np.isnan(twin_to_float64(expected.view(ml_twin(name))))
    assert_same_codes(np.where(ml_nan, 0, got), np.where(ml_nan, 0, expected), inputs=values)
    assert all(math.isnan(reference.decode(int(c), name)) for c in got[ml_nan])


# ------------------------------------------------------------------ the reference's own rules
@pytest.mark.parametrize(
    ("x", "name", "rounding", "code"),
    [
        (1.0625, "e4m3", "nearest_even", 0x38),  # tie between 1 (even) and 1.125: to even
        (1.1875, "e4m3", "nearest_even", 0x3A),  # tie between 1.125 and 1.25 (even)
        (1.0625, "e4m3", "nearest_away", 0x39),
        (-1.0625, "e4m3", "nearest_away", 0xB9),
        (1.0625, "e4m3", "toward_zero", 0x38),
        (1.0625, "e4m3", "toward_positive", 0x39),
        (-1.0625, "e4m3", "toward_positive", 0xB8),
        (-1.0625, "e4m3", "toward_negative", 0xB9),
        (2.0**-10, "e4m3", "nearest_even", 0x00),  # half the smallest subnormal: tie to even zero
        (-(2.0**-10), "e4m3", "nearest_even", 0x80),  # ... keeping the sign
        (-(2.0**-11), "e4m3fnuz", "nearest_even", 0x00),  # half its smallest subnormal; fnuz has no -0
        (3 * 2.0**-11, "e4m3", "nearest_even", 0x01),
        (3.0, "e8m0", "nearest_even", 0x81),  # E8M0 ties round up: 3 -> 4
        (3.0, "e8m0", "toward_zero", 0x80),
        (2.0**-200, "e8m0", "nearest_even", 0x00),  # no zero: the smallest value
        (0.0, "e8m0", "nearest_even", 0xFF),  # ... and zero is NaN
        (-1.0, "e8m0", "nearest_even", 0xFF),  # no negatives
        (0.25, "fp4", "nearest_even", 0x0),  # tie between 0 and 0.5: to even
        (5.0, "fp4", "nearest_even", 0x6),  # tie between 4 (even) and 6
        (7.0, "fp4", "nearest_even", 0x7),  # beyond max: fp4 saturates
        (65520.0, "fp16", "nearest_even", 0x7C00),
        (65520.0, "fp16", "toward_zero", 0x7BFF),
    ],
)
def test_reference_encode_spot_roundings(x, name, rounding, code):
    assert reference.encode(x, name, rounding=rounding) == code
    assert lf.encode(x, name, rounding=rounding) == code


def test_reference_encode_takes_exact_fractions_and_big_ints():
    assert reference.encode(Fraction(17, 16), "e4m3") == 0x38  # tie to even
    assert reference.encode(Fraction(17, 16) + Fraction(1, 10**30), "e4m3") == 0x39
    assert reference.encode(2**64 + 1, "float32") == 0x5F800000  # 2**64
    assert reference.encode(-(2**200), "float32") == 0xFF800000  # -inf
    assert reference.quantize(Fraction(1, 3), "fp16") == 0.333251953125


def test_reference_neighbours_bracket_a_value_on_the_grid():
    assert reference.neighbours(1.1, "e4m3") == (Fraction(1), Fraction(9, 8))
    assert reference.neighbours(-1.1, "e4m3") == (Fraction(1), Fraction(9, 8))
    assert reference.neighbours(460.0, "e4m3") == (Fraction(448), Fraction(480))  # past max: top spacing
    assert reference.neighbours(2.0**-12, "e4m3") == (Fraction(0), Fraction(1, 512))
    assert reference.neighbours(1.0, "e4m3") == (Fraction(1), Fraction(9, 8))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: reference.encode(NAN, "fp4"), ValueError, r"NaN has no code in float4_e2m1fn"),
        (lambda: reference.encode(1.0, "e4m3", rounding="up"), ValueError, r"unknown rounding 'up'"),
        (lambda: reference.encode(1.0, "e4m3", overflow="inf"), ValueError, r"overflow='inf' is impossible"),
        (lambda: reference.decode(256, "e4m3"), ValueError, r"code 256 is outside 0..255"),
        (lambda: reference.decode(-1, "e4m3"), ValueError, r"code -1 is outside"),
    ],
)
def test_reference_refuses_what_the_api_refuses(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ------------------------------------------------------------------ double rounding
def test_encode_float64_1_plus_2_pow_minus_4_plus_2_pow_minus_30_gives_1_125_not_ml_dtypes_1():
    x = 1 + 2**-4 + 2**-30  # just above the tie 1.0625 between 1.0 and 1.125; float32(x) is the tie
    assert reference.encode(x, "float8_e4m3fn") == 0x39
    assert lf.encode(x, "float8_e4m3fn") == 0x39
    assert lf.encode(np.array([x]), "float8_e4m3fn")[0] == 0x39
    assert lf.quantize(x, "float8_e4m3fn") == 1.125
    # ml_dtypes converts float64 through float32 and rounds twice: the tie then goes to even, 1.0
    assert float(np.array([x]).astype(ml_dtypes.float8_e4m3fn)[0]) == 1.0
    assert lf.encode(np.float32(x), "float8_e4m3fn") == 0x38  # float32(x) *is* the tie


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float8_e5m2", "float4_e2m1fn", "tensorfloat32"])
def test_encode_float64_just_above_a_tie_rounds_up_once(name):
    fmt = lf.get_format(name)
    one = reference.magnitude_of_code(fmt.bias << fmt.man_bits, fmt)
    tie = one + Fraction(1, 2 ** (fmt.man_bits + 1))
    x = float(tie) + 2.0**-40  # float32(x) is the tie
    expected = reference.encode(x, fmt)
    assert expected == (fmt.bias << fmt.man_bits) + 1
    assert lf.encode(x, fmt) == expected


# ------------------------------------------------------------------ lowfloat against the reference: hypothesis
def check_against_reference(values, name, rounding, overflow, dtype):
    """encode and quantize of an array of ``dtype`` equal the reference, element by element."""
    xs = np.array(values, dtype=dtype)
    fmt = lf.get_format(name)
    options = dict(rounding=rounding, overflow=overflow)
    expected = [reference.encode(float(v), fmt, **options) for v in xs]
    assert_same_codes(lf.encode(xs, fmt, **options), expected, inputs=xs)
    expected_values = [
        reference.decode(c, fmt) if not math.isnan(v) else NAN for c, v in zip(expected, xs, strict=True)
    ]
    got = lf.quantize(xs, fmt, **options)
    assert got.dtype == dtype
    assert_same_values(got, np.array(expected_values, dtype=np.float64), inputs=xs)


@pytest.mark.parametrize("name", FORMAT_NAMES)
@given(data=st.data())
def test_encode_float64_equals_reference_for_every_mode_and_overflow(name, data):
    values = data.draw(st.lists(reals_for(name, allow_nan=lf.get_format(name).has_nan), min_size=1, max_size=12))
    rounding = data.draw(st.sampled_from(lf.DETERMINISTIC_MODES))
    overflow = data.draw(st.sampled_from([None, "saturate"]))
    check_against_reference(values, name, rounding, overflow, np.float64)


@given(
    name=st.sampled_from(FORMAT_NAMES),
    rounding=st.sampled_from(lf.DETERMINISTIC_MODES),
    overflow=st.sampled_from([None, "saturate"]),
    data=st.data(),
)
def test_encode_float32_equals_reference_for_every_format_mode_and_overflow(name, rounding, overflow, data):
    strategy = reals_for(name, width=32, allow_nan=lf.get_format(name).has_nan)
    values = data.draw(st.lists(strategy, min_size=1, max_size=12))
    check_against_reference(values, name, rounding, overflow, np.float32)


# ------------------------------------------------------------------ lowfloat against the reference: midpoints
@functools.cache
def _reference_encode(x: float, name: str, rounding: str, overflow) -> int:
    return reference.encode(x, name, rounding=rounding, overflow=overflow)


def grid_pairs(name, count: int = 2048, seed: int = 1):
    """Neighbouring magnitudes ``(lo, hi)`` of a format, exactly.

    All of them for formats of up to 8 bits; ``count`` sampled ones for wider
    formats.  The grid is extended by one step past ``max`` (the overflow
    threshold) and, for formats without zero, down to 0.
    """
    fmt = lf.get_format(name)
    if fmt.bits <= 8:
        starts = range(fmt.max_code_magnitude + 1)
    else:
        rng = np.random.default_rng(seed)
        sampled = rng.integers(0, fmt.max_code_magnitude, size=count)
        starts = sorted(set(sampled.tolist()) | {0, 1, fmt.max_code_magnitude, (1 << fmt.man_bits) - 1})
    top_step = Fraction(2) ** (fmt.emax - fmt.man_bits)
    pairs = []
    for c in starts:
        lo = reference.magnitude_of_code(c, fmt)
        hi = reference.magnitude_of_code(c + 1, fmt) if c < fmt.max_code_magnitude else lo + top_step
        pairs.append((lo, hi))
    if not fmt.has_zero:
        pairs.append((Fraction(0), reference.magnitude_of_code(0, fmt)))
    return pairs


def midpoint_inputs(name, dtype, count: int = 2048):
    """Midpoints and one ``dtype`` ulp either side, as Python floats.

    Both signs of every midpoint for formats of up to 8 bits; one random sign
    per sampled midpoint for wider ones.
    """
    ftype = np.dtype(dtype).type
    rng = np.random.default_rng(2)
    both_signs = lf.get_format(name).bits <= 8
    points = []
    for lo, hi in grid_pairs(name, count):
        mid = (lo + hi) / 2
        exact = ftype(float(mid))
        assert Fraction(float(exact)) == mid, f"midpoint {mid} of {name} is not exact in {dtype}"
        for sign in (1, -1) if both_signs else (rng.choice([1, -1]),):
            m = ftype(sign) * exact
            points += [m, np.nextafter(m, ftype(-np.inf)), np.nextafter(m, ftype(np.inf))]
    return [float(p) for p in points]


def check_midpoints(name, dtype, count):
    xs = midpoint_inputs(name, dtype, count)
    array = np.array(xs, dtype=dtype)
    for rounding in lf.DETERMINISTIC_MODES:
        for overflow in (None, "saturate"):
            expected = [_reference_encode(x, name, rounding, overflow) for x in xs]
            got = lf.encode(array, name, rounding=rounding, overflow=overflow)
            assert_same_codes(got, expected, inputs=[f"{x!r} ({rounding}, overflow={overflow})" for x in xs])


@pytest.mark.parametrize("name", NAMES_UP_TO_16_BITS)
def test_encode_float64_midpoints_and_their_neighbours_equal_reference(name):
    check_midpoints(name, np.float64, count=1024)  # every midpoint of the 8-bit formats; a sample of the rest


@pytest.mark.parametrize("name", NAMES_UP_TO_16_BITS)
def test_encode_float32_midpoints_and_their_neighbours_equal_reference(name):
    check_midpoints(name, np.float32, count=512)


@pytest.mark.parametrize("name", ["tensorfloat32", "float32"])
def test_encode_float64_midpoints_of_wide_formats_equal_reference(name):
    # Not exhaustive: 256 sampled neighbouring pairs, nearest modes and toward_zero.
    xs = midpoint_inputs(name, np.float64, count=256)
    array = np.array(xs)
    for rounding in ("nearest_even", "nearest_away", "toward_zero"):
        for overflow in (None, "saturate"):
            expected = [reference.encode(x, name, rounding=rounding, overflow=overflow) for x in xs]
            assert_same_codes(lf.encode(array, name, rounding=rounding, overflow=overflow), expected, inputs=xs)
