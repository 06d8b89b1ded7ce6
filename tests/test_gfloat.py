"""quantize against gfloat 0.5.2 (Graphcore), a second external oracle that rounds once from float64.

gfloat describes a format by a ``FormatInfo`` and rounds with ``round_ndarray``
(vectorised) and ``round_float`` (scalar) in five IEEE modes, saturating or
not.  Every format lowfloat has is compared: gfloat's presets where it has
one (IEEE binary16/32, bfloat16, OCP E4M3/E5M2, the MX FP6/FP4 formats and
E8M0; the fnuz formats are P3109's finite K8P4 and K8P3), and a ``FormatInfo``
built from lowfloat's fields for the rest.

Documented differences (each pinned against :mod:`lowfloat.reference` by a
test of its own, and kept out of the comparisons):

* formats without inf and NaN (FP6, FP4), ``overflow=None``: lowfloat
  saturates, as ml_dtypes does; gfloat's ``sat=False`` raises ValueError;
* E8M0 ties: lowfloat rounds them up (ml_dtypes, PyTorch); gfloat to the even code;
* E8M0 below ``2**-127``, zero and negatives: lowfloat clamps to ``2**-127``
  and gives NaN for zero and negatives; gfloat returns values the format
  cannot hold (``2**-128``, 0, -1).

Directed rounding beyond ``max`` needs no exception: gfloat 0.5.2 gives
``+-max`` exactly where IEEE 754-2019 section 7.4 does (rounding toward zero
for that sign) and an infinite result otherwise, as lowfloat does.
"""

import math

import numpy as np
import pytest
from conftest import sampled_codes

import lowfloat as lf
from lowfloat import reference

# gfloat is a test-only oracle: without it this module is skipped (and -ra reports the skip)
gfloat = pytest.importorskip("gfloat", reason="the gfloat oracle tests need gfloat==0.5.2")
gfloat_formats = pytest.importorskip("gfloat.formats", reason="the gfloat oracle tests need gfloat==0.5.2")
Domain, FormatInfo, RoundMode, Signedness = gfloat.Domain, gfloat.FormatInfo, gfloat.RoundMode, gfloat.Signedness

#: gfloat's own description of each lowfloat format it has.
GFLOAT_PRESETS = {
    "float32": gfloat_formats.format_info_binary32,
    "float16": gfloat_formats.format_info_binary16,
    "bfloat16": gfloat_formats.format_info_bfloat16,
    "float8_e4m3fn": gfloat_formats.format_info_ocp_e4m3,
    "float8_e5m2": gfloat_formats.format_info_ocp_e5m2,
    "float6_e2m3fn": gfloat_formats.format_info_ocp_e2m3,
    "float6_e3m2fn": gfloat_formats.format_info_ocp_e3m2,
    "float4_e2m1fn": gfloat_formats.format_info_ocp_e2m1,
    "float8_e8m0fnu": gfloat_formats.format_info_ocp_e8m0,
    # IEEE P3109 K8P4 / K8P3 with a finite domain: bias 8 / 16, NaN 0x80, no -0, no inf -- the fnuz formats
    "float8_e4m3fnuz": gfloat_formats.format_info_p3109(8, 4, Signedness.Signed, Domain.Finite),
    "float8_e5m2fnuz": gfloat_formats.format_info_p3109(8, 3, Signedness.Signed, Domain.Finite),
}

#: Formats that are none of the built-ins, one per special-value convention.
GENERIC_FORMATS = [
    lf.Format(exp_bits=3, man_bits=2, bias=3, specials="ieee"),
    lf.Format(exp_bits=5, man_bits=4, bias=13, specials="fn"),
    lf.Format(exp_bits=5, man_bits=4, bias=13, specials="fnuz"),
    lf.Format(exp_bits=3, man_bits=3, bias=2, specials="none"),
]

#: Every signed format compared (E8M0 has tests of its own).
SIGNED_FORMATS = [lf.get_format(name) for name in lf.BUILTIN_FORMATS if lf.get_format(name).signed]
SIGNED_FORMATS += GENERIC_FORMATS
SIGNED_IDS = [fmt.name for fmt in SIGNED_FORMATS]

#: lowfloat's rounding modes and gfloat's names for them.
ROUND_MODES = {
    "nearest_even": RoundMode.TiesToEven,
    "nearest_away": RoundMode.TiesToAway,
    "toward_zero": RoundMode.TowardZero,
    "toward_positive": RoundMode.TowardPositive,
    "toward_negative": RoundMode.TowardNegative,
}

#: gfloat's saturation flag and the lowfloat overflow policy that means the same.
SATURATION = {True: "saturate", False: None}

_NUM_HIGH_NANS = {"ieee": None, "fn": 1, "fnuz": 0, "none": 0}  # ieee: every NaN of the top binade


def gfloat_info(fmt) -> FormatInfo:
    """gfloat's description of a lowfloat format, built from its defining fields."""
    fmt = lf.get_format(fmt)
    high_nans = _NUM_HIGH_NANS[fmt.specials]
    return FormatInfo(
        fmt.name,
        k=fmt.bits,
        precision=fmt.precision_bits,
        bias=fmt.bias,
        is_signed=fmt.signed,
        domain=Domain.Extended if fmt.has_inf else Domain.Finite,
        has_nz=fmt.has_negative_zero,
        num_high_nans=(1 << fmt.man_bits) - 1 if high_nans is None else high_nans,
        # gfloat's has_subnormals=False makes exponent field 0 a normal binade (E8M0's 2**-127); a signed
        # format without mantissa bits has only zero there, which gfloat spells has_subnormals=True
        has_subnormals=fmt.has_subnormals or (fmt.signed and fmt.man_bits == 0),
        is_twos_complement=False,
    )


def _fields(info: FormatInfo) -> tuple:
    return (
        info.k,
        info.precision,
        info.bias,
        info.is_signed,
        info.domain,
        info.has_nz,
        info.num_high_nans,
        info.has_subnormals,
        info.is_twos_complement,
    )


def gfloat_round(fmt, x, rounding, sat) -> np.ndarray:
    """gfloat's rounding of float64 values (numpy warnings of its internals silenced)."""
    with np.errstate(all="ignore"):
        return gfloat.round_ndarray(gfloat_info(fmt), np.asarray(x, np.float64), ROUND_MODES[rounding], sat)


def lowfloat_round(fmt, x, rounding, sat) -> np.ndarray:
    return lf.quantize(x, fmt, rounding=rounding, overflow=SATURATION[sat])


def assert_same_as_gfloat(actual, expected, inputs, fmt, limit: int = 8):
    """Values equal, NaN equal to NaN; the sign of zero counts where the format has -0."""
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    nan_a, nan_e = np.isnan(actual), np.isnan(expected)
    same = (nan_a & nan_e) | (~nan_a & ~nan_e & (actual == expected))
    if lf.get_format(fmt).has_negative_zero:
        same &= nan_a | (np.signbit(actual) == np.signbit(expected))
    if not same.all():
        bad = np.flatnonzero(~same)
        rows = [f"x={float(inputs[i])!r}: lowfloat {actual[i]!r}, gfloat {expected[i]!r}" for i in bad[:limit]]
        raise AssertionError(f"{bad.size} of {same.size} values differ:\n  " + "\n  ".join(rows))


# ------------------------------------------------------------------ the format descriptions agree
@pytest.mark.parametrize("name", list(GFLOAT_PRESETS))
def test_format_info_built_from_lowfloat_fields_equals_gfloat_preset(name):
    assert _fields(gfloat_info(name)) == _fields(GFLOAT_PRESETS[name])


@pytest.mark.parametrize("fmt", SIGNED_FORMATS + [lf.FLOAT8_E8M0FNU], ids=SIGNED_IDS + ["float8_e8m0fnu"])
def test_gfloat_and_lowfloat_agree_on_max_and_smallest_values(fmt):
    info = gfloat_info(fmt)
    assert info.max == fmt.max
    assert info.smallest_normal == fmt.smallest_normal
    assert info.smallest == fmt.smallest_subnormal  # the smallest positive value


# ------------------------------------------------------------------ inputs
def grid_points(fmt) -> np.ndarray:
    """Positive float64 values on and between neighbouring codes: the code, 1/4, the midpoint, 3/4.

    Every code below max for formats of up to 16 bits, sampled codes above.
    Exact: a format value has at most 24 significant bits, a quarter point 26.
    """
    fmt = lf.get_format(fmt)
    codes = sampled_codes(fmt).astype(np.int64)
    codes = codes[codes < fmt.max_code_magnitude]  # positive finite codes with a finite successor
    lo = lf.decode(codes, fmt, dtype=np.float64)
    hi = lf.decode(codes + 1, fmt, dtype=np.float64)
    return (lo[:, None] + (hi - lo)[:, None] * np.array([0.0, 0.25, 0.5, 0.75])).ravel()


def edge_values(fmt) -> np.ndarray:
    """Positive edge magnitudes: around max and the overflow threshold, the smallest values."""
    fmt = lf.get_format(fmt)
    ulp = 2.0 ** (fmt.emax - fmt.man_bits)  # spacing of the top binade
    tiny = fmt.smallest_subnormal
    above = fmt.max + ulp * np.array([0.25, 0.5, 0.5 + 2.0**-20, 0.75, 1.0, 1.5])
    return np.concatenate(
        [
            [fmt.max, np.nextafter(fmt.max, 0), 2 * fmt.max, 1e300],
            above,
            [tiny, tiny / 2, tiny / 2 * (1 + 2.0**-20), tiny / 2 * (1 - 2.0**-20), tiny / 4, 5e-324],
            [fmt.smallest_normal, np.nextafter(fmt.smallest_normal, 0), 1.0],
        ]
    )


def random_values(fmt, count: int = 4000, seed: int = 0) -> np.ndarray:
    """Positive values with random significands in every binade from below the subnormals to above max."""
    fmt = lf.get_format(fmt)
    rng = np.random.default_rng(seed)
    exponents = rng.integers(fmt.emin - fmt.man_bits - 3, fmt.emax + 2, count)
    return np.ldexp(1 + rng.random(count), exponents)


def comparison_inputs(fmt) -> np.ndarray:
    """float64 inputs: grid points, edges and random values of both signs, ±0, ±inf and NaN."""
    magnitudes = np.concatenate([grid_points(fmt), edge_values(fmt), random_values(fmt)])
    return np.concatenate([magnitudes, -magnitudes, [0.0, -0.0, np.inf, -np.inf, np.nan]])


def in_dtype(x: np.ndarray, dtype) -> np.ndarray:
    """``x`` rounded to ``dtype`` (float32 overflows to inf, a value worth testing too)."""
    with np.errstate(over="ignore"):
        return x.astype(dtype)


# ------------------------------------------------------------------ signed formats: every mode, both saturations
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sat", [True, False], ids=["sat", "nosat"])
@pytest.mark.parametrize("rounding", list(ROUND_MODES))
@pytest.mark.parametrize("fmt", SIGNED_FORMATS, ids=SIGNED_IDS)
def test_quantize_equals_gfloat_round_ndarray(fmt, rounding, sat, dtype):
    x = in_dtype(comparison_inputs(fmt), dtype)
    if not sat and not fmt.has_inf and not fmt.has_nan:
        # gfloat refuses to round beyond max into FP6/FP4 without sat (it raises); lowfloat saturates,
        # pinned by test_formats_without_inf_or_nan_saturate_where_gfloat_raises
        x = x[~(np.abs(x) > fmt.max)]
    got = lowfloat_round(fmt, x, rounding, sat)
    assert_same_as_gfloat(got, gfloat_round(fmt, x, rounding, sat), x, fmt)


@pytest.mark.parametrize("sat", [True, False], ids=["sat", "nosat"])
@pytest.mark.parametrize("rounding", list(ROUND_MODES))
@pytest.mark.parametrize("fmt", SIGNED_FORMATS, ids=SIGNED_IDS)
def test_scalar_edge_values_equal_gfloat_round_float(fmt, rounding, sat):
    # the same spot checks through gfloat's scalar path and lowfloat's scalar (0-d) path
    magnitudes = edge_values(fmt)
    for x in np.concatenate([magnitudes, -magnitudes, [0.0, -0.0, np.inf, -np.inf, np.nan]]):
        try:
            with np.errstate(all="ignore"):
                expected = gfloat.round_float(gfloat_info(fmt), float(x), ROUND_MODES[rounding], sat)
        except ValueError:  # no NaN, or overflow without inf/NaN and without sat: see the module docstring
            assert not fmt.has_nan and (math.isnan(x) or not sat)
            continue
        got = lowfloat_round(fmt, np.float64(x), rounding, sat)
        assert_same_as_gfloat([got], [expected], [x], fmt)


@pytest.mark.parametrize("sat", [True, False], ids=["sat", "nosat"])
@pytest.mark.parametrize("rounding", ["toward_zero", "toward_positive", "toward_negative"])
@pytest.mark.parametrize("name", ["float16", "bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz"])
def test_directed_rounding_beyond_max_follows_ieee_754_section_7_4_like_gfloat_and_reference(name, rounding, sat):
    # +-max where the mode rounds that sign toward zero, else an infinite result (inf, or NaN without inf);
    # saturation turns every infinite result into +-max.  Infinite inputs are infinite results.
    fmt = lf.get_format(name)
    ulp = 2.0 ** (fmt.emax - fmt.man_bits)
    magnitudes = np.array([fmt.max + ulp / 4, fmt.max + ulp / 2, fmt.max + ulp, 2 * fmt.max, 1e300, np.inf])
    x = np.concatenate([magnitudes, -magnitudes])
    overflow = SATURATION[sat]
    expected = [reference.quantize(float(v), fmt, rounding=rounding, overflow=overflow) for v in x]
    got = lowfloat_round(fmt, x, rounding, sat)
    assert_same_as_gfloat(got, expected, x, fmt)
    assert_same_as_gfloat(gfloat_round(fmt, x, rounding, sat), expected, x, fmt)


@pytest.mark.parametrize("rounding", list(ROUND_MODES))
@pytest.mark.parametrize("name", ["float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn"])
def test_formats_without_inf_or_nan_saturate_where_gfloat_raises(name, rounding):
    # lowfloat's overflow=None for a format with neither inf nor NaN is +-max, as ml_dtypes does;
    # gfloat's round_ndarray(sat=False) raises "No Infs or NaNs in format ..., and sat=False" instead.
    fmt = lf.get_format(name)
    magnitudes = np.array([fmt.max * 1.25, fmt.max * 2, 1e30, np.inf])
    x = np.concatenate([magnitudes, -magnitudes])
    expected = [reference.quantize(float(v), fmt, rounding=rounding) for v in x]
    assert_same_as_gfloat(lf.quantize(x, fmt, rounding=rounding), expected, x, fmt)
    assert_same_as_gfloat(lf.quantize(x, fmt, rounding=rounding), np.sign(x) * fmt.max, x, fmt)


# ------------------------------------------------------------------ E8M0: unsigned, no zero, no subnormals
E8M0 = lf.FLOAT8_E8M0FNU


def e8m0_inputs() -> np.ndarray:
    """Positive float64 values from 2**-127 up, beyond 2**127, with inf and NaN; no ties (1.5 * 2**e)."""
    powers = np.ldexp(1.0, np.arange(-127, 128))
    points = (powers[:, None] * np.array([1.0, 1.25, 1.5 - 2.0**-30, 1.5 + 2.0**-30, 1.75])).ravel()
    rng = np.random.default_rng(0)
    values = np.ldexp(1 + rng.random(4000), rng.integers(-127, 129, 4000))
    values = values[(values / np.ldexp(1.0, np.floor(np.log2(values)).astype(int))) != 1.5]
    return np.concatenate([points, values, [2.0**127, 2.0**128, 3 * 2.0**127, 1e300, np.inf, np.nan]])


@pytest.mark.parametrize("sat", [True, False], ids=["sat", "nosat"])
@pytest.mark.parametrize("rounding", list(ROUND_MODES))
def test_e8m0_quantize_equals_gfloat_away_from_ties_and_below_its_range(rounding, sat):
    x = e8m0_inputs()
    assert_same_as_gfloat(lowfloat_round(E8M0, x, rounding, sat), gfloat_round(E8M0, x, rounding, sat), x, E8M0)


@pytest.mark.parametrize("overflow", [None, "saturate"])
def test_e8m0_ties_round_up_like_the_reference_where_gfloat_rounds_to_the_even_code(overflow):
    # lowfloat (and ml_dtypes, PyTorch) round E8M0 ties up: 3 -> 4, 1.5 * 2**-127 -> 2**-126.
    # gfloat rounds them to the even code (3 -> 2, as code 128 is even); the two agree only where
    # the upper neighbour has the even code.  1.5 * 2**127 rounds up past max: NaN, or max saturated.
    ties = np.ldexp(1.5, np.arange(-127, 128))
    expected = [reference.quantize(float(v), E8M0, overflow=overflow) for v in ties]
    assert_same_as_gfloat(lf.quantize(ties, E8M0, overflow=overflow), expected, ties, E8M0)
    assert lf.quantize(3.0, E8M0) == 4.0


@pytest.mark.parametrize("rounding", list(ROUND_MODES))
def test_e8m0_clamps_tiny_values_and_gives_nan_for_zero_and_negatives_like_the_reference(rounding):
    # gfloat returns values E8M0 cannot hold here: 2**-128 for 2**-128, 0 for 0, -1 for -1.
    # lowfloat clamps positive values below 2**-127 to 2**-127 (there is no zero to underflow to)
    # and gives NaN for zero and negative values (there is no sign).
    x = np.array([2.0**-128, 2.0**-130, 1.5 * 2.0**-128, 5e-324, 0.0, -0.0, -1.0, -(2.0**-130), -np.inf])
    expected = [reference.quantize(float(v), E8M0, rounding=rounding) for v in x]
    assert_same_as_gfloat(lf.quantize(x, E8M0, rounding=rounding), expected, x, E8M0)
    assert_same_as_gfloat(lf.quantize(x, E8M0, rounding=rounding), [2.0**-127] * 4 + [np.nan] * 5, x, E8M0)
