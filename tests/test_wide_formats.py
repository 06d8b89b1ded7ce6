"""Formats up to float64's range and precision: the range rule, the dtypes, every kernel path, the oracles.

A format is accepted when every value, subnormals included, is a float64
value (exp_bits <= 11, man_bits <= 52, emax <= 1023, smallest positive value
>= 2**-1074).  Those beyond float32's range or precision are rounded from
float64 data only (float32 data is widened, exactly), their codes may be
uint64 and their values float64.  Checked here:

* the rule's bounds, exactly, and messages that name the bias that fixes them;
* ``Format(11, 52, 1023)`` is float64 bit for bit (NaN payloads aside);
* more than 1000 random wide formats against :mod:`lowfloat.reference` in
  every deterministic mode and overflow policy, and against gfloat;
* every kernel path (nearest-even, stochastic, general, flags, decode) against
  the general kernel and the reference on wide formats;
* pychop's classic ``chop`` where it rounds correctly (see
  :func:`test_wide_ieee_formats_round_like_pychop`);
* finfo, table, explain, the CLI, arithmetic and accumulation on wide formats.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from conftest import assert_same_codes, assert_same_values, reference_codes
from hypothesis import given, settings
from hypothesis import strategies as st

import lowfloat as lf
from lowfloat import reference
from lowfloat.formats import SPECIALS
from lowfloat.kernels.layout import wide
from lowfloat.kernels.plan import plan
from lowfloat.rounding import FLAG_INVALID

FLOAT64 = lf.Format(11, 52, 1023)  # IEEE 754 binary64 as a generic format
FLOAT64_BITS = np.uint64

#: Wide formats of every kind that the path tests run on: float64 itself, float64's range with few
#: bits (the precision studies' formats), normals inside float64's subnormals, 63-bit formats whose
#: special codes pass 2**62, a 16-bit one (table and small decode paths), an unsigned E11M0, and
#: float32's exponent range with more precision than float32.
WIDE_FORMATS = [
    FLOAT64,
    lf.Format(11, 10, 1023),
    lf.Format(8, 12, 130),
    lf.Format(11, 10, 1040),
    lf.Format(11, 51, 1024, "none"),
    lf.Format(11, 51, 1024, "fn"),
    lf.Format(10, 52, 511, "fnuz"),
    lf.Format(10, 5, 511, "ieee"),
    lf.Format(9, 6, 300, "fn"),
    lf.Format(11, 0, 1074, "fn", signed=False),
    lf.Format(8, 40, 127),
    lf.Format(4, 30, 1045, "fnuz"),
]


def max_code_magnitude(exp_bits, man_bits, specials) -> int:
    """The code of max, from the conventions' statement (ieee: the top binade is inf and NaN; fn: all ones is NaN)."""
    all_ones = (1 << (exp_bits + man_bits)) - 1
    return {"ieee": all_ones - (1 << man_bits), "fn": all_ones - 1}.get(specials, all_ones)


def bias_bounds(exp_bits, man_bits, specials="ieee", signed=True) -> tuple[int, int]:
    """The smallest and largest bias the range rule allows, computed from the rule's statement."""
    top_field = max_code_magnitude(exp_bits, man_bits, specials) >> man_bits  # max = 2**(top_field - bias) * ...
    if not signed:
        low = 0  # no zero: exponent field 0 is the binade 2**-bias
    elif man_bits:
        low = 1 - man_bits  # emin - man_bits = 1 - bias - man_bits
    else:
        low = 1
    return top_field - 1023, low + 1074


def random_wide_formats(count: int, seed: int) -> list[lf.Format]:
    """``count`` distinct formats beyond float32's range or precision, every convention, biases at the ends too."""
    rng = np.random.default_rng(seed)
    found: dict[lf.Format, None] = {}
    while len(found) < count:
        signed = bool(rng.random() > 0.05)
        exp_bits = int(rng.integers(1, 12))
        man_bits = int(rng.integers(0, 53)) if signed else 0
        specials = SPECIALS[rng.integers(len(SPECIALS))] if signed else "fn"
        low, high = bias_bounds(exp_bits, man_bits, specials, signed)
        if low > high:
            continue
        bias = int(rng.choice([low, high, rng.integers(low, high + 1), rng.integers(low, high + 1)]))
        try:
            fmt = lf.Format(exp_bits, man_bits, bias, specials, signed)
        except ValueError:  # ieee needs exp_bits >= 2 and man_bits >= 1; some have no finite value
            continue
        if wide(fmt):
            found[fmt] = None
    return list(found)


def policies(fmt) -> list:
    return [None, "saturate"] + (["inf"] if fmt.has_inf else []) + (["nan"] if fmt.has_nan else [])


def hard_inputs(fmt, rng, count: int = 3) -> np.ndarray:
    """float64 inputs that matter to ``fmt``: a few codes' values, ties and near-ties between neighbours,
    the overflow threshold, the subnormal range and below it, random magnitudes, zeros, inf, NaN."""
    codes = [0, 1, fmt.max_code_magnitude - 1, *rng.integers(0, fmt.max_code_magnitude + 1, count)]
    codes = [c for c in codes if 0 <= c < fmt.max_code_magnitude]
    points = []
    for code in codes:
        lo = reference.magnitude_of_code(int(code), fmt)
        hi = reference.magnitude_of_code(int(code) + 1, fmt)
        for fraction in (Fraction(0), Fraction(1, 2), Fraction(1, 4)):
            points.append(lo + (hi - lo) * fraction)
        half = lo + (hi - lo) / 2
        points += [float(np.nextafter(float(half), 0)), float(np.nextafter(float(half), np.inf))]
    top_ulp = Fraction(2) ** (fmt.emax - fmt.man_bits)
    points += [fmt.max_exact + top_ulp / 2, fmt.max_exact + top_ulp / 4, fmt.max_exact + top_ulp * 3 / 4]
    tiny = Fraction(2) ** fmt.smallest_exponent
    points += [tiny / 2, tiny / 3, tiny * 3 / 4, tiny / 2**20]
    with np.errstate(over="ignore", under="ignore"):
        magnitudes = np.array([_as_float(p) for p in points])
        randoms = np.ldexp(1 + rng.random(count), rng.integers(fmt.smallest_exponent - 3, fmt.emax + 2, count))
    magnitudes = np.concatenate([magnitudes, randoms, [5e-324, 2.2250738585072014e-308, 1e300]])
    signs = np.where(rng.random(magnitudes.size) < 0.5, -1.0, 1.0)
    return np.concatenate([magnitudes * signs, [0.0, -0.0, np.inf, -np.inf, np.nan]])


def _as_float(value) -> float:
    """The nearest float64 of a number, inf beyond float64's range (where ``float()`` raises)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def reference_quantize(x, fmt, **options) -> np.ndarray:
    return np.array([reference.quantize(float(v), fmt, **options) for v in x])


def check_encode_and_quantize(x, fmt, rounding, overflow):
    """encode and quantize of float64 ``x`` equal the reference (NaN aside where the format has none)."""
    has_code = ~np.isnan(x) | fmt.has_nan
    case = np.array([f"{fmt!r} {rounding} {overflow} {float(v)!r}" for v in x])
    want = reference_codes(x[has_code].tolist(), fmt, rounding=rounding, overflow=overflow)
    assert_same_codes(lf.encode(x[has_code], fmt, rounding=rounding, overflow=overflow), want, inputs=case[has_code])
    got = lf.quantize(x, fmt, rounding=rounding, overflow=overflow)
    assert_same_values(got, reference_quantize(x, fmt, rounding=rounding, overflow=overflow), inputs=case)


# ------------------------------------------------------------------ the range rule
def test_the_issues_examples_are_formats_with_float64_values():
    fp11 = lf.Format(exp_bits=11, man_bits=10, bias=1023)
    assert (fp11.max, fp11.smallest_normal, fp11.smallest_subnormal) == (
        float.fromhex("0x1.ffcp1023"), 2.0**-1022, 2.0**-1032)
    assert fp11.value_dtype == np.float64 and fp11.code_dtype == np.uint32 and fp11.bits == 22
    e8m12 = lf.Format(exp_bits=8, man_bits=12, bias=130)
    assert (e8m12.smallest_normal, e8m12.smallest_subnormal) == (2.0**-129, 2.0**-141)
    assert e8m12.value_dtype == np.float32  # every value is a float32 (2**-141 is a float32 subnormal)


def test_generic_float64_and_float32_formats_have_the_ieee_limits():
    info = np.finfo(np.float64)
    assert (FLOAT64.max, FLOAT64.smallest_normal, FLOAT64.smallest_subnormal) == (
        float(info.max), float(info.smallest_normal), float(info.smallest_subnormal))
    assert FLOAT64.bits == 64 and FLOAT64.code_dtype == np.uint64 and FLOAT64.value_dtype == np.float64
    assert lf.Format(8, 23, 127) == lf.FLOAT32 and lf.Format(8, 23, 127).name == "float32"
    assert lf.FLOAT32.value_dtype == np.float32


@pytest.mark.parametrize("name", lf.format_names())
def test_every_builtin_format_keeps_its_name_and_float32_values(name):
    fmt = lf.get_format(name)
    assert fmt.name == name and fmt.value_dtype == np.float32 and not wide(fmt)


@settings(deadline=None, max_examples=300)
@given(exp_bits=st.integers(1, 11), man_bits=st.integers(0, 52), specials=st.sampled_from(SPECIALS),
       signed=st.booleans())  # fmt: skip
def test_the_bias_bounds_are_exactly_the_rule_and_the_messages_name_them(exp_bits, man_bits, specials, signed):
    if not signed:
        man_bits, specials = 0, "fn"
    if specials == "ieee" and (man_bits == 0 or exp_bits < 2):
        return  # refused for another reason
    if max_code_magnitude(exp_bits, man_bits, specials) < 1:
        return  # no finite nonzero value at all
    low, high = bias_bounds(exp_bits, man_bits, specials, signed)
    if low > high:
        message = (rf"no bias puts every value inside float64 -- max needs bias >= {low}, "
                   rf"the smallest value bias <= {high}; use fewer exp_bits or man_bits")  # fmt: skip
        with pytest.raises(ValueError, match=message):
            lf.Format(exp_bits, man_bits, low, specials, signed)
        return
    for bias in (low, high):
        fmt = lf.Format(exp_bits, man_bits, bias, specials, signed)
        assert fmt.emax <= 1023 and fmt.smallest_exponent >= -1074
        assert math.isfinite(fmt.max) and fmt.smallest_subnormal > 0
    with pytest.raises(ValueError, match=rf"beyond float64's largest exponent 1023; raise bias to at least {low}$"):
        lf.Format(exp_bits, man_bits, low - 1, specials, signed)
    message = rf"below float64's smallest subnormal 2\*\*-1074; lower bias to at most {high}$"
    with pytest.raises(ValueError, match=message):
        lf.Format(exp_bits, man_bits, high + 1, specials, signed)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ((12, 3, 2047), r"Format.exp_bits must be 1 to 11, got 12"),
        ((8, 53, 127), r"Format.man_bits must be 0 to 52, got 53"),
        ((11, 52, 1024), r"smallest positive value 2\*\*-1075, below float64's smallest subnormal 2\*\*-1074; "
                         r"lower bias to at most 1023"),
        ((11, 10, 1000), r"reaches 2\*\*1046, beyond float64's largest exponent 1023; raise bias to at least 1023"),
        ((11, 52, 1023, "fn"), r"no bias puts every value inside float64"),
    ],
)
def test_format_beyond_float64_is_refused_with_the_bound_and_the_fix(fields, message):
    with pytest.raises(ValueError, match=message):
        lf.Format(*fields)


def test_value_dtype_is_float32_exactly_where_float32_holds_every_value():
    assert lf.Format(8, 23, 127).value_dtype == np.float32
    assert lf.Format(8, 23, 128).value_dtype == np.float64  # smallest subnormal 2**-150
    assert lf.Format(8, 22, 128).value_dtype == np.float32  # smallest subnormal 2**-149
    assert lf.Format(8, 24, 127).value_dtype == np.float64  # 25 significand bits
    assert lf.Format(9, 3, 383).value_dtype == np.float64  # max 2**127 * 1.875, but 510 binades: 2**-385 too
    assert lf.Format(5, 3, -97).value_dtype == np.float32  # float16's field, float32's top binades: max 2**127 * 1.875
    assert lf.Format(5, 3, -98).value_dtype == np.float64  # ... one binade higher
    assert lf.Format(8, 0, 149, "fn", signed=False).value_dtype == np.float32
    assert lf.Format(8, 0, 150, "fn", signed=False).value_dtype == np.float64


@pytest.mark.parametrize(("bits", "dtype"), [(8, np.uint8), (16, np.uint16), (32, np.uint32), (33, np.uint64),
                                              (63, np.uint64), (64, np.uint64)])  # fmt: skip
def test_code_dtype_is_uint64_beyond_32_bits(bits, dtype):
    exp_bits = 11 if bits > 16 else 5
    fmt = lf.Format(exp_bits, bits - 1 - exp_bits, bias_bounds(exp_bits, bits - 1 - exp_bits)[1])
    assert fmt.bits == bits and fmt.code_dtype == np.dtype(dtype)


@pytest.mark.parametrize("fmt", WIDE_FORMATS, ids=lambda fmt: fmt.name)
def test_get_format_reads_a_descriptive_name_back(fmt):
    assert lf.get_format(fmt.name) == fmt
    assert lf.get_format(fmt.name.upper()) == fmt


def test_get_format_descriptive_names_may_leave_out_the_width_and_ieee_and_must_be_consistent():
    assert lf.get_format("e11m10_b1023") == lf.Format(11, 10, 1023)
    assert lf.get_format("e11m0_b1074_fnu") == lf.Format(11, 0, 1074, "fn", signed=False)
    with pytest.raises(ValueError, match=r"format name 'float16_e11m10_b1023_ieee' says 16 bits, but its fields "
                                         r"make 22 \(float22_e11m10_b1023_ieee\)"):  # fmt: skip
        lf.get_format("float16_e11m10_b1023_ieee")
    with pytest.raises(ValueError, match=r"raise bias to at least 1023"):
        lf.get_format("e11m10_b1000")


# ------------------------------------------------------------------ float64 itself
def float64_patterns() -> np.ndarray:
    """Random float64 bit patterns plus every neighbourhood that matters: subnormals, 1, max, inf, NaN."""
    rng = np.random.default_rng(64)
    spans = [0, 1 << 52, 0x3FF0000000000000 - 512, 0x7FEFFFFFFFFFFFFF - 512, 0x7FF0000000000000]
    pieces = [rng.integers(0, 1 << 64, 1 << 16, dtype=np.uint64)]
    pieces += [np.arange(start, start + 1024, dtype=np.uint64) for start in spans]
    positive = np.concatenate(pieces) & np.uint64((1 << 63) - 1)
    return np.concatenate([positive, positive | np.uint64(1 << 63)])


def test_generic_float64_quantize_encode_decode_are_the_identity_bit_for_bit():
    bits = float64_patterns()
    x = bits.view(np.float64)
    nan = np.isnan(x)
    for rounding in lf.DETERMINISTIC_MODES:
        q = lf.quantize(x, FLOAT64, rounding=rounding)
        np.testing.assert_array_equal(q.view(np.uint64)[~nan], bits[~nan], err_msg=rounding)
        np.testing.assert_array_equal(lf.encode(x, FLOAT64, rounding=rounding)[~nan], bits[~nan], err_msg=rounding)
    q = lf.quantize(x, FLOAT64, rounding="stochastic", rng=1)
    np.testing.assert_array_equal(q.view(np.uint64)[~nan], bits[~nan])
    codes = lf.encode(x, FLOAT64)
    assert codes.dtype == np.uint64
    np.testing.assert_array_equal(lf.decode(codes, FLOAT64).view(np.uint64)[~nan], bits[~nan])
    np.testing.assert_array_equal(lf.decode(bits, FLOAT64).view(np.uint64)[~nan], bits[~nan])


def test_generic_float64_nan_becomes_the_canonical_quiet_nan_keeping_its_sign():
    payloads = np.array([0x7FF0000000000001, 0x7FF8000000000123, 0xFFF4000000000000, 0xFFFFFFFFFFFFFFFF], np.uint64)
    flags = np.empty(4, np.uint8)
    codes = lf.encode(payloads.view(np.float64), FLOAT64, flags=flags)
    assert [hex(c) for c in codes.tolist()] == ["0x7ff8000000000000", "0x7ff8000000000000", "0xfff8000000000000",
                                                "0xfff8000000000000"]  # fmt: skip
    assert flags.tolist() == [FLAG_INVALID, 0, FLAG_INVALID, 0]  # signalling NaNs (quiet bit clear) raise INVALID
    q = lf.quantize(payloads.view(np.float64), FLOAT64)
    assert q.view(np.uint64).tolist() == codes.tolist()


def test_generic_float64_flags_equal_softfloat_rules_of_the_reference():
    x = np.array([1.0, 5e-324, 2.0**-1022, np.inf, -0.0], np.float64)
    flags = np.empty(x.size, np.uint8)
    lf.encode(x, FLOAT64, flags=flags)
    assert flags.tolist() == [reference.encode_flags(float(v), FLOAT64)[1] for v in x] == [0, 0, 0, 0, 0]


# ------------------------------------------------------------------ dtypes: float32 data, decode
@pytest.mark.parametrize("fmt", WIDE_FORMATS, ids=lambda fmt: fmt.name)
def test_float32_data_is_rounded_as_its_exact_float64_value(fmt):
    rng = np.random.default_rng(3)
    with np.errstate(over="ignore", under="ignore"):
        x = hard_inputs(fmt, rng).astype(np.float32)
    x = np.concatenate([x, np.float32([3.4028235e38, 1e-45, -1e-45, 1.1754942e-38])])
    keep = ~np.isnan(x) | fmt.has_nan
    wide_x = x.astype(np.float64)
    for rounding in ("nearest_even", "toward_positive", "stochastic"):
        rng_arg = 5 if rounding == "stochastic" else None
        q = lf.quantize(x, fmt, rounding=rounding, rng=rng_arg)
        assert q.dtype == fmt.value_dtype
        assert_same_values(q, lf.quantize(wide_x, fmt, rounding=rounding, rng=rng_arg))
        codes = lf.encode(x[keep], fmt, rounding=rounding, rng=rng_arg)
        np.testing.assert_array_equal(codes, lf.encode(wide_x[keep], fmt, rounding=rounding, rng=rng_arg))


def test_quantize_of_float32_data_returns_float64_where_float32_cannot_hold_the_result():
    x = np.float32([3.4028235e38, 1.0, 1e-45])  # float32's max rounds up to 2**128 with 11 significand bits
    q = lf.quantize(x, "e11m10_b1023")
    assert q.dtype == np.float64 and q.tolist() == [2.0**128, 1.0, 2.0**-149]
    assert lf.quantize(x, lf.Format(8, 12, 130)).dtype == np.float32  # every value of it is a float32
    out = np.empty(3, np.float32)
    with pytest.raises(ValueError, match=r"out has dtype float32, expected float64"):
        lf.quantize(x, "e11m10_b1023", out=out)


def test_decode_defaults_to_the_formats_value_dtype_and_refuses_float32_where_values_do_not_fit():
    fmt = lf.Format(11, 10, 1023)
    codes = lf.encode([1e300, 1e-310, -1.5], fmt)
    values = lf.decode(codes, fmt)
    assert values.dtype == np.float64
    assert values.tolist() == [reference.decode(int(c), fmt) for c in codes]
    with pytest.raises(ValueError, match=r"float32 cannot hold every value of float22_e11m10_b1023_ieee .*"
                                         r"decode it to dtype=numpy.float64"):  # fmt: skip
        lf.decode(codes, fmt, dtype=np.float32)
    e8m12 = lf.Format(8, 12, 130)
    codes = np.arange(0, 1 << 21, 997, dtype=np.uint32)
    as32 = lf.decode(codes, e8m12)
    assert as32.dtype == np.float32
    assert_same_values(as32, lf.decode(codes, e8m12, dtype=np.float64))
    assert lf.decode(codes[:50], lf.FLOAT16).dtype == np.float32  # the built-in formats as before


@pytest.mark.parametrize("fmt", WIDE_FORMATS, ids=lambda fmt: fmt.name)
def test_decode_of_sampled_codes_equals_the_reference(fmt):
    rng = np.random.default_rng(fmt.bits)
    codes = np.unique(np.concatenate([
        rng.integers(0, 1 << fmt.bits, 3000, dtype=np.uint64, endpoint=False) if fmt.bits < 64
        else rng.integers(0, 1 << 63, 3000, dtype=np.uint64) * np.uint64(2) + np.uint64(1),
        np.array([0, 1, 2, fmt.max_code_magnitude, fmt.max_code_magnitude - 1, 1 << fmt.man_bits,
                  (1 << fmt.man_bits) - 1, (1 << fmt.man_bits) + 1, fmt.sign_code, fmt.sign_code | 1,
                  (1 << fmt.bits) - 1], np.uint64),
    ])).astype(fmt.code_dtype)  # fmt: skip
    expected = np.array([reference.decode(int(c), fmt) for c in codes])
    assert_same_values(lf.decode(codes, fmt, dtype=np.float64), expected, inputs=codes)
    if fmt.value_dtype == np.float32:
        assert_same_values(lf.decode(codes, fmt, dtype=np.float32), expected, inputs=codes)


# ------------------------------------------------------------------ 1000 random formats: reference and gfloat
def test_more_than_1000_random_wide_formats_round_like_the_reference_in_every_mode_and_policy():
    formats = random_wide_formats(1000, seed=1014)
    assert len(set(formats)) >= 1000
    assert {(fmt.specials, fmt.signed) for fmt in formats} == {(s, True) for s in SPECIALS} | {("fn", False)}
    assert {fmt.bits > 32 for fmt in formats} == {True, False}
    rng = np.random.default_rng(8)
    checked = set()
    for fmt in formats:
        x = hard_inputs(fmt, rng, count=2)
        # the exact reference runs in Python: two modes a format, each mode hundreds of times over the run
        for rounding in rng.choice(lf.DETERMINISTIC_MODES, 2, replace=False):
            overflow = rng.choice(policies(fmt))
            check_encode_and_quantize(x, fmt, str(rounding), overflow)
            checked.add((str(rounding), overflow, fmt.bits > 32))
    assert len(checked) == len(lf.DETERMINISTIC_MODES) * 4 * 2  # each mode and policy, narrow and wide codes


def test_more_than_1000_random_wide_formats_round_like_gfloat():
    gfloat = pytest.importorskip("gfloat", reason="the gfloat oracle needs gfloat==0.5.2")
    from test_gfloat import ROUND_MODES, SATURATION, assert_same_as_gfloat, gfloat_info

    formats = [fmt for fmt in random_wide_formats(1200, seed=1015) if fmt.signed]
    assert len(formats) >= 1000
    rng = np.random.default_rng(9)
    for fmt in formats:
        x = hard_inputs(fmt, rng, count=2)
        x = x[~np.isnan(x)] if not fmt.has_nan else x
        if not (fmt.has_inf or fmt.has_nan):
            x = x[np.isfinite(x)]  # gfloat refuses inf into a format without inf and NaN even when saturating
        # gfloat scales |x| by 2**-(emin - man_bits) in float64: more than 2**1074 below the smallest value that
        # underflows to 0, and the directed modes lose the step up to it (lowfloat and the reference keep it)
        with np.errstate(under="ignore", over="ignore"):
            x = x[(x == 0) | ~np.isfinite(x) | (np.ldexp(np.abs(x), -fmt.smallest_exponent) != 0)]
        info = gfloat_info(fmt)
        for sat in (True, False) if (fmt.has_inf or fmt.has_nan) else (True,):
            for rounding, mode in ROUND_MODES.items():
                got = lf.quantize(x, fmt, rounding=rounding, overflow=SATURATION[sat])
                with np.errstate(all="ignore"):  # numpy warnings inside gfloat
                    expected = gfloat.round_ndarray(info, x, mode, sat)
                assert_same_as_gfloat(got, expected, x, fmt)


# ------------------------------------------------------------------ every kernel path
def float64_inputs_for(fmt) -> np.ndarray:
    """float64 bit patterns for the path comparisons: random bits, float64's neighbourhoods, and the format's
    own hard inputs (with random signs) -- subnormal range, ties and near-ties, overflow threshold."""
    rng = np.random.default_rng(fmt.exp_bits * 64 + fmt.man_bits)
    with np.errstate(all="ignore"):
        hard = np.concatenate([hard_inputs(fmt, rng, count=200) for _ in range(4)])
    return np.concatenate([float64_patterns(), hard.view(np.uint64)])


KEY = np.uint64(0x1234567890ABCDEF)


def run_plan(chosen, bits, out_dtype, key=KEY):
    out = np.empty(bits.size, out_dtype)
    chosen.run((bits, out), bits.size, key)
    return out


@pytest.mark.parametrize("rounding", ["nearest_even", "stochastic"])
@pytest.mark.parametrize("fmt", WIDE_FORMATS, ids=lambda fmt: fmt.name)
def test_fast_paths_equal_the_general_kernel_bit_for_bit_on_wide_formats(fmt, rounding):
    bits = float64_inputs_for(fmt)
    if not fmt.has_nan:
        bits = bits[~np.isnan(bits.view(np.float64))]  # NaN has no code there: the public encode refuses it
    served = False
    for overflow in (None, "saturate"):
        chosen = plan("encode", fmt, np.float64, rounding, overflow)
        if chosen.path != rounding:
            assert chosen.path == "general"
            continue
        served = True
        general = plan("encode", fmt, np.float64, rounding, overflow, path="general")
        assert_same_codes(run_plan(chosen, bits, fmt.code_dtype), run_plan(general, bits, fmt.code_dtype))
        fast_q = plan("quantize", fmt, np.float64, rounding, overflow)
        general_q = plan("quantize", fmt, np.float64, rounding, overflow, path="general")
        np.testing.assert_array_equal(run_plan(fast_q, bits, np.uint64), run_plan(general_q, bits, np.uint64))
    # the fast paths take formats whose grid float64's bits or FPU can round (normals above 2**-1021 or at 2**-1022)
    assert served == (fmt.signed and fmt.man_bits > 0 and (fmt.emin == -1022 or fmt.smallest_exponent >= -1021))


@pytest.mark.parametrize("fmt", WIDE_FORMATS, ids=lambda fmt: fmt.name)
def test_general_kernel_equals_the_reference_on_float64_neighbourhoods_and_hard_inputs(fmt):
    bits = float64_inputs_for(fmt)
    rng = np.random.default_rng(0)
    sample = np.concatenate([bits[-800:], rng.choice(bits[:-800], 1200, replace=False)])  # hard ones and a sample
    x = sample.view(np.float64)
    for rounding in lf.DETERMINISTIC_MODES:
        check_encode_and_quantize(x, fmt, rounding, None)


@pytest.mark.parametrize("fmt", [f for f in WIDE_FORMATS if f.bits <= 16], ids=lambda fmt: fmt.name)
def test_every_decode_path_equals_the_general_decode_on_every_code_of_a_16_bit_wide_format(fmt):
    codes = np.arange(1 << fmt.bits, dtype=fmt.code_dtype)
    general = run_plan(plan("decode", fmt, np.float64, path="general"), codes, np.uint64)
    taken = []
    for path in ("small", "table"):
        try:
            chosen = plan("decode", fmt, np.float64, path=path)
        except ValueError:  # the path does not serve this format
            continue
        taken.append(path)
        np.testing.assert_array_equal(run_plan(chosen, codes, np.uint64), general, err_msg=path)
    assert "table" in taken
    assert_same_values(general.view(np.float64), [reference.decode(int(c), fmt) for c in codes])


def test_plans_refuse_float32_lanes_for_wide_formats():
    with pytest.raises(ValueError, match=r"float22_e11m10_b1023_ieee reaches beyond float32's range or precision: "
                                         r"it is rounded from float64 data only"):  # fmt: skip
        plan("quantize", lf.Format(11, 10, 1023), np.float32)
    with pytest.raises(ValueError, match=r"float32 cannot hold every value of float22_e11m10_b1023_ieee"):
        plan("decode", lf.Format(11, 10, 1023), np.float32)
    with pytest.raises(ValueError, match=r"does not serve"):
        plan("encode", lf.Format(11, 10, 1040), np.float64, path="nearest_even")
    assert plan("decode", lf.Format(8, 12, 130), np.float32).path == "general"
    assert plan("quantize", lf.Format(11, 10, 1023), np.float64).path == "nearest_even"


@pytest.mark.parametrize("fmt", WIDE_FORMATS, ids=lambda fmt: fmt.name)
def test_stochastic_paths_equal_the_reference_with_drawn_bits_at_the_boundaries_on_wide_formats(fmt):
    from test_kernel_paths import boundary_draws

    from lowfloat.kernels import drawn

    rng = np.random.default_rng(2)
    with np.errstate(all="ignore"):
        values = hard_inputs(fmt, rng, count=6)
    values = values[np.isfinite(values)]
    rows = [(x, r) for x in values for r in boundary_draws(x, fmt, 64)]
    bits = np.array([x for x, _ in rows], np.float64).view(np.uint64)
    random = np.array([r for _, r in rows], np.uint64)
    general = plan("encode", fmt, np.float64, "stochastic", path="general")
    codes, flags = np.empty(bits.size, fmt.code_dtype), np.empty(bits.size, np.uint8)
    drawn.general_float64(bits, random, codes, flags, *general.constants)
    expected = [reference.encode_flags(float(x), fmt, rounding="stochastic", random_bits=r) for x, r in rows]
    want = np.array([code for code, _ in expected], np.uint64)
    assert_same_codes(codes, want, inputs=[f"{x!r} r={r}" for x, r in rows])
    np.testing.assert_array_equal(flags, [flag for _, flag in expected])
    fast = plan("encode", fmt, np.float64, "stochastic")
    if fast.path == "stochastic":
        fast_codes = np.empty(bits.size, fmt.code_dtype)
        drawn.stochastic_float64(bits, random, fast_codes, *fast.constants)
        np.testing.assert_array_equal(fast_codes, codes)


@pytest.mark.parametrize("fmt", WIDE_FORMATS, ids=lambda fmt: fmt.name)
def test_flags_ftz_daz_and_tininess_on_wide_formats_equal_the_reference(fmt):
    rng = np.random.default_rng(4)
    with np.errstate(all="ignore"):
        values = hard_inputs(fmt, rng, count=6)
    values = np.concatenate([values, 5e-324 * np.array([1.0, 3.0, -5.0]), [2.0**-1022, -(2.0**-1023)]])
    if not fmt.has_nan:
        values = values[~np.isnan(values)]
    for rounding in lf.DETERMINISTIC_MODES:
        for ftz, daz, tininess in ((False, False, "after"), (True, False, "before"), (False, True, "after"),
                                   (True, True, "before")):  # fmt: skip
            flags = np.empty(values.size, np.uint8)
            codes = lf.encode(values, fmt, rounding=rounding, ftz=ftz, daz=daz, tininess=tininess, flags=flags)
            expected = [reference.encode_flags(float(x), fmt, rounding=rounding, ftz=ftz, daz=daz, tininess=tininess)
                        for x in values]  # fmt: skip
            context = f"{rounding} ftz={ftz} daz={daz} tininess={tininess}"
            assert_same_codes(codes, np.array([c for c, _ in expected], np.uint64), inputs=values)
            np.testing.assert_array_equal(flags, [f for _, f in expected], err_msg=context)


# ------------------------------------------------------------------ inputs float64 cannot hold
def test_int64_beyond_2_pow_53_rounds_once_into_wide_formats_of_up_to_51_bits():
    x = np.array([2**60 + 2**8 + 1, -(2**53 + 1), 2**63 - 1, 3, (1 << 62) + (1 << 11) + (1 << 10)], np.int64)
    for fmt in (lf.Format(11, 50, 1023), lf.Format(11, 20, 1023), lf.Format(9, 40, 255, "fn")):
        for rounding in lf.DETERMINISTIC_MODES:
            want = [reference.encode(int(v), fmt, rounding=rounding) for v in x]  # Python ints: exact values
            assert_same_codes(lf.encode(x, fmt, rounding=rounding), np.array(want, np.uint64), inputs=x)


@pytest.mark.parametrize("man_bits", [51, 52])
def test_inputs_float64_cannot_hold_are_refused_for_formats_of_more_than_51_bits(man_bits):
    fmt = lf.Format(11, man_bits, 1023 if man_bits == 52 else 1024, "ieee" if man_bits == 52 else "none")
    with pytest.raises(ValueError, match=rf"x holds int64 values that float64 cannot hold exactly; {fmt.name} "
                                         rf"has {man_bits + 1} significand bits, more than the 51"):  # fmt: skip
        lf.quantize(np.array([2**53 + 1], np.int64), fmt)
    with pytest.raises(ValueError, match=r"x holds Python integer values that float64 cannot hold exactly"):
        lf.encode([2**70 + 1], fmt)
    if np.finfo(np.longdouble).nmant > 52:  # an extended long double (x86): one with more bits than float64
        with pytest.raises(ValueError, match=rf"x holds {np.dtype(np.longdouble)} values that float64 cannot hold"):
            lf.quantize(np.longdouble(1) + np.longdouble(2) ** -60, fmt)
        assert lf.quantize(np.longdouble(1.5), fmt) == 1.5
    exact = np.array([2**60, -(2**53), 2**63 - 2**11, 7], np.int64)  # values of both formats: fine
    assert lf.quantize(exact, fmt).tolist() == [float(v) for v in exact]
    assert lf.quantize([2**80, 5], fmt).tolist() == [2.0**80, 5.0]


# ------------------------------------------------------------------ arithmetic and accumulation
#: Formats arithmetic takes: up to 51 significand bits, smallest positive value at least 2**-1072.
ARITH_FORMATS = [lf.Format(11, 10, 1023), lf.Format(11, 50, 1023), lf.Format(9, 30, 255, "fn"),
                 lf.Format(11, 20, 1030, "fnuz"), lf.Format(10, 3, 600, "none")]  # fmt: skip


def arithmetic_operands(fmt, rng, count: int = 60) -> list[tuple[float, float, float]]:
    """Operand triples: random ones across float64's range, and products just off a midpoint of ``fmt``'s
    grid deep in float64's subnormal range, where rounding to nearest in float64 would land on the tie."""
    with np.errstate(all="ignore"):
        spread = np.ldexp(1 + rng.random((count, 3)), rng.integers(-1074, 1024, (count, 3)))
        near = np.ldexp(1 + rng.random((count, 3)), rng.integers(-40, 40, (count, 3)))
    triples = [tuple(row * np.where(rng.random(3) < 0.5, -1.0, 1.0)) for row in np.concatenate([spread, near])]
    step = fmt.smallest_exponent  # the subnormal spacing: a midpoint is an odd multiple of 2**(step - 1)
    for odd in (1, 3, 2 * rng.integers(1, 500) + 1):
        a = math.ldexp(float(odd), step - 1 - 433)
        for b in (2.0**433, math.ldexp(1 + 2.0**-52, 433), math.ldexp(1 - 2.0**-53, 433)):
            triples.append((a, b, math.ldexp(1.0, step - 60)))
    return triples


@pytest.mark.parametrize("fmt", ARITH_FORMATS, ids=lambda fmt: fmt.name)
def test_arithmetic_into_wide_formats_equals_the_exact_result_rounded_once(fmt):
    rng = np.random.default_rng(fmt.man_bits)
    triples = arithmetic_operands(fmt, rng)
    x, y, z = (np.array(column) for column in zip(*triples, strict=True))
    for rounding in lf.DETERMINISTIC_MODES:
        for op, operands in (("add", (x, y)), ("sub", (x, z)), ("mul", (x, y)), ("div", (x, y)),
                             ("fma", (x, y, z)), ("sqrt", (np.abs(x),))):  # fmt: skip
            flags = np.empty(x.size, np.uint8)
            got = getattr(lf, op)(*operands, fmt, rounding=rounding, flags=flags)
            rows = list(zip(*operands, strict=True))
            expected = [reference.arithmetic(op, list(args), fmt, rounding=rounding) for args in rows]
            cases = [f"{op} {rounding} {[float(a) for a in args]}" for args in rows]
            assert_same_values(got, [v for v, _ in expected], inputs=cases)
            np.testing.assert_array_equal(flags, [f for _, f in expected], err_msg=f"{op} {rounding}")


def test_arithmetic_result_is_float64_for_float32_operands_into_a_format_float32_cannot_hold():
    x = np.float32([3.0e38, 1.0])
    got = lf.mul(x, np.float32(2), "e11m10_b1023")  # 6e38: beyond float32, a value of the format
    assert got.dtype == np.float64
    assert got.tolist() == [lf.quantize(float(x[0]) * 2, "e11m10_b1023"), 2.0]
    assert lf.mul(x, np.float32(2), lf.Format(8, 12, 130)).dtype == np.float32


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        (lf.Format(11, 51, 1024, "none"), r"has 52 significand bits; arithmetic rounds the exact result to odd in "
                                          r"float64 and then into the format, one exact rounding only for formats of "
                                          r"up to 51 bits"),
        (FLOAT64, r"has 53 significand bits"),
        (lf.Format(11, 50, 1024, "none"), r"reaches 2\*\*-1073; arithmetic rounds exactly once only into formats "
                                          r"whose smallest positive value is at least 2\*\*-1072"),
    ],
)
def test_arithmetic_refuses_formats_it_cannot_round_into_exactly_once(fmt, message):
    with pytest.raises(ValueError, match=message):
        lf.add(1.0, 2.0, fmt)


def reference_sum(values, fmt, rounding) -> float:
    """The sequential rounded sum, partial sum by partial sum, by the reference."""
    total = -0.0
    for v in values:
        total, _ = reference.arithmetic("add", [total, float(v)], fmt, rounding=rounding)
    return total


@pytest.mark.parametrize("fmt", ARITH_FORMATS + [lf.Format(11, 50, 1024, "none")], ids=lambda fmt: fmt.name)
def test_sum_and_dot_with_a_wide_accumulator_equal_the_reference_partial_sum_by_partial_sum(fmt):
    rng = np.random.default_rng(12)
    with np.errstate(all="ignore"):
        x = np.ldexp(1 + rng.random(40), rng.integers(-1074, 1000, 40)) * np.where(rng.random(40) < 0.5, -1, 1)
        x[::5] = np.ldexp(1 + rng.random(8), rng.integers(-5, 5, 8))  # some of a size, so that sums cancel
    for rounding in ("nearest_even", "toward_zero", "toward_negative"):
        assert_same_values(lf.sum(x, fmt, rounding=rounding), reference_sum(x, fmt, rounding), inputs=[rounding])
    a = rng.standard_normal(30).astype(np.float32)
    b = (rng.standard_normal(30) * 1e30).astype(np.float32)
    got = lf.dot(a, b, fmt)
    assert got.dtype == np.float64  # float32 cannot hold the accumulator's values
    assert_same_values(got, reference_sum(a.astype(np.float64) * b.astype(np.float64), fmt, "nearest_even"))


def test_matmul_with_a_wide_accumulator_and_output_format_equals_the_reference():
    rng = np.random.default_rng(13)
    acc = lf.Format(11, 10, 1023)
    a = (rng.standard_normal((3, 20)) * 1e20).astype(np.float32)
    b = (rng.standard_normal((20, 2)) * 1e20).astype(np.float32)
    got = lf.matmul(a, b, accumulate=acc, out_format=acc)
    assert got.dtype == np.float64
    expected = [[reference_sum(a[i].astype(np.float64) * b[:, j].astype(np.float64), acc, "nearest_even")
                 for j in range(2)] for i in range(3)]  # fmt: skip
    assert_same_values(got, expected)
    assert lf.matmul(a, b, accumulate=acc).dtype == np.float32  # out_format float32 (the default) holds the result


def test_accumulation_refuses_accumulators_of_more_than_51_bits():
    message = r"has 53 significand bits; partial sums are rounded to odd in float64 and then into the accumulator"
    with pytest.raises(ValueError, match=message):
        lf.sum([1.0, 2.0], FLOAT64)
    with pytest.raises(ValueError, match=message):
        lf.dot([1.0], [2.0], FLOAT64)
    with pytest.raises(ValueError, match=message):
        lf.matmul(np.ones((1, 2), np.float32), np.ones((2, 1), np.float32), accumulate=FLOAT64)
    assert lf.matmul(np.ones((1, 2), np.float32), np.ones((2, 1), np.float32), out_format=FLOAT64).tolist() == [[2.0]]


# ------------------------------------------------------------------ finfo, table, explain, the command line
def test_finfo_of_the_generic_float64_equals_numpy_finfo_float64():
    ours, numpy_info = lf.finfo(FLOAT64), np.finfo(np.float64)
    for name in ("eps", "epsneg", "machep", "negep", "minexp", "maxexp", "max", "min", "smallest_normal", "tiny",
                 "smallest_subnormal", "nmant", "nexp", "iexp", "precision", "resolution", "bits"):  # fmt: skip
        assert getattr(ours, name) == getattr(numpy_info, name), name
    assert ours.dtype == np.float64 and ours.code_dtype == np.uint64  # numpy's own float dtype; the codes'
    assert "dtype = float64   code_dtype = uint64" in str(ours)
    assert lf.finfo("e11m10_b1023").dtype is None  # no float dtype of numpy's or ml_dtypes' holds exactly those


@pytest.mark.parametrize("fmt", WIDE_FORMATS, ids=lambda fmt: fmt.name)
def test_finfo_of_wide_formats_is_derived_from_the_reference(fmt):
    info = lf.finfo(fmt)
    assert info.max == reference.decode(fmt.max_code_magnitude, fmt)
    assert info.smallest_subnormal == reference.decode(0 if not fmt.has_zero else 1, fmt)
    assert info.eps == 2.0 ** (max(fmt.emin, 0) - fmt.man_bits)
    assert len(str(info).splitlines()) == 11


def test_table_of_a_16_bit_wide_format_lists_every_code_with_a_wide_exponent_field():
    fmt = lf.Format(10, 5, 511)
    rows = lf.table(fmt)
    assert rows.size == 1 << 16 and rows.dtype["exponent"] == np.uint16
    sample = rows[:: 1 << 8]
    assert_same_values(sample["value"], [reference.decode(int(c), fmt) for c in sample["code"]])
    assert rows[0x7BE0][["exponent", "mantissa", "kind"]].tolist() == (0x3DF, 0, "normal")
    assert rows["value"][0x7BE0] == 2.0 ** (0x3DF - 511)
    assert lf.table("e4m3").dtype["exponent"] == np.uint8  # the narrow formats' table as before
    with pytest.raises(ValueError, match=r"lists formats of at most 16 bits; float22_e11m10_b1023_ieee has 22"):
        lf.table("e11m10_b1023")


@pytest.mark.parametrize("fmt", WIDE_FORMATS, ids=lambda fmt: fmt.name)
def test_explain_of_wide_formats_agrees_with_encode_on_floats(fmt):
    rng = np.random.default_rng(6)
    with np.errstate(all="ignore"):
        values = hard_inputs(fmt, rng, count=2)
    for x in values[np.isfinite(values)][::3]:
        e = lf.explain(float(x), fmt)
        assert e.code == int(lf.encode(x, fmt))
        assert_same_values(float(e.value), reference.decode(e.code, fmt), inputs=[x])


def test_explain_shows_errors_below_float64s_smallest_subnormal_exactly():
    e = lf.explain("1e-310", FLOAT64)
    assert e.abs_error < Fraction(2) ** -1074
    assert "error       3.05506...e-325 absolute" in str(e)
    assert "(not a binary fraction)" in str(e)  # 1e-310's fraction has 311 digits: left out


def test_command_line_takes_wide_formats_by_name(capsys):
    from lowfloat.cli import main

    assert main(["info", "e11m10_b1023"]) == 0
    out = capsys.readouterr().out
    assert "Machine parameters for float22_e11m10_b1023_ieee" in out and "code_dtype = uint32" in out
    assert "minexp =  -1022" in out
    assert main(["quantize", "--format", "e11m10_b1023", "1e300", "-1e-310", "0x1.ffep1023"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "float22_e11m10_b1023_ieee, rounding nearest_even"
    assert lines[2].split() == ["1e300", "0x1F8DF9", repr(float(lf.quantize(1e300, "e11m10_b1023")))]
    assert lines[3].split() == ["-1e-310", "0x200005", repr(-5 * 2.0**-1032)]
    assert lines[4].split() == ["0x1.ffep1023", "0x1FFC00", "inf"]  # a tie above max: to even, overflow
    assert main(["table", "e10m5_b511", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "0x0000,0,0,0,0|0000000000|00000,0.0,zero"
    assert main(["info", "e11m10_b1000"]) == 2
    assert "raise bias to at least 1023" in capsys.readouterr().err


# ------------------------------------------------------------------ pychop
PYCHOP_MODES = {1: "nearest_even", 2: "toward_positive", 3: "toward_negative", 4: "toward_zero"}


def signed_grid_points(fmt, rng, count: int = 1500) -> np.ndarray:
    """Values, quarter points and midpoints of random neighbouring codes, both signs, and random magnitudes."""
    codes = rng.integers(0, fmt.max_code_magnitude, count, dtype=np.uint64)
    lo = lf.decode(codes, fmt, dtype=np.float64)
    hi = lf.decode(codes + np.uint64(1), fmt, dtype=np.float64)
    points = (lo[:, None] + (hi - lo)[:, None] * np.array([0.0, 0.25, 0.5, 0.75])).ravel()
    with np.errstate(over="ignore"):
        randoms = np.ldexp(1 + rng.random(count), rng.integers(fmt.smallest_exponent - 2, fmt.emax + 2, count))
    magnitudes = np.concatenate([points, randoms])
    return magnitudes * np.where(rng.random(magnitudes.size) < 0.5, -1.0, 1.0)


def assert_same_values_but_zero_signs(actual, expected, inputs):
    """Values equal, NaN equal to NaN; +0 and -0 equal (pychop returns +0 for -0 and for negative underflow)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert_same_values(np.where(actual == 0, 0.0, actual), np.where(expected == 0, 0.0, expected), inputs=inputs)


@pytest.mark.parametrize("exp_bits", [9, 10, 11])
@pytest.mark.parametrize("man_bits", [10, 23, 40, 51, 52])
def test_wide_ieee_formats_round_like_pychops_classic_chop(exp_bits, man_bits):
    """pychop 0.6.2's ``Chop_`` (the MATLAB chop port) with ``customs=(t, emax)``: IEEE formats of bias ``emax``.

    Left out, where pychop is wrong:

    * for 11 exponent bits, inputs below ``2**(t - 1024)`` (``t = man_bits + 1``): chop
      scales each value by ``2**(t - 1 - e)``, which is inf in float64 there, so the
      lowest binades and the subnormals come back wrong;
    * magnitudes just above half the smallest subnormal ``q``, up to ``q/2 (1 + 2**-t)``:
      chop first rounds them to t bits -- onto ``q/2`` itself, a tie -- and then to 0
      (double rounding; the exact answer is ``q``);
    * the sign of zero: chop returns +0 for -0 and for negative values that underflow.

    Formats of up to 10 exponent bits are compared over the rest of their range.
    """
    pytest.importorskip("pychop", reason="the pychop oracle needs pychop==0.6.2")
    from pychop import Customs
    from pychop.np.float_point import Chop_

    fmt = lf.Format(exp_bits, man_bits, (1 << (exp_bits - 1)) - 1)
    rng = np.random.default_rng(exp_bits * 100 + man_bits)
    x = signed_grid_points(fmt, rng)
    if exp_bits == 11:
        x = x[np.abs(x) >= 2.0 ** (man_bits + 1 - 1024)]
    half_q = fmt.smallest_subnormal / 2
    x = x[~((np.abs(x) > half_q) & (np.abs(x) <= half_q * (1 + 2.0 ** -(man_bits + 1))))]
    x = np.concatenate([x, [0.0, -0.0, np.inf, -np.inf]])
    results = {}
    for rmode, rounding in PYCHOP_MODES.items():
        with np.errstate(all="ignore"):
            theirs = Chop_(customs=Customs(t=man_bits + 1, emax=fmt.emax), rmode=rmode)(x.copy())
        results[rounding] = lf.quantize(x, fmt, rounding=rounding)
        assert_same_values_but_zero_signs(results[rounding], theirs, inputs=[f"{rounding} {v!r}" for v in x])
    if man_bits < 52:  # (with 53 significand bits every float64 input in the normal range is exact)
        assert (results["toward_positive"] != results["toward_negative"]).sum() > x.size // 4  # the modes differ


@pytest.mark.parametrize("man_bits", [24, 30, 40])
def test_float32_range_formats_of_more_precision_round_like_pychops_lightchop(man_bits):
    """pychop 0.6.2's ``Chop(exp_bits=8, sig_bits=m)`` (LightChop, its NumPy front end) on float32's range.

    Only values up to max are compared: LightChop's known overflow bugs (values in
    ``[2**(emax+1), 2**(emax+2))`` give 0, the carry at ``max + ulp/2`` is missed) lie
    beyond it, and its wrong tie direction of negative values for ties to zero or away
    from zero is not one of these modes.  Left out too: its exponents below ``1e-38``
    (it takes ``log2(max(|x|, 1e-38))``) keep it off wider exponent ranges, with 52
    mantissa bits its directed modes miss by an ulp in the subnormal range, and it
    returns +0 for -0.
    """
    pychop = pytest.importorskip("pychop", reason="the pychop oracle needs pychop==0.6.2")

    fmt = lf.Format(8, man_bits, 127)
    rng = np.random.default_rng(man_bits)
    x = signed_grid_points(fmt, rng)
    x = np.concatenate([x[np.abs(x) <= fmt.max], [0.0, fmt.max, -fmt.max]])
    for rmode, rounding in PYCHOP_MODES.items():
        with np.errstate(all="ignore"):
            theirs = np.asarray(pychop.Chop(exp_bits=8, sig_bits=man_bits, rmode=rmode)(x.copy()))
        assert_same_values_but_zero_signs(lf.quantize(x, fmt, rounding=rounding), theirs,
                                          inputs=[f"{rounding} {v!r}" for v in x])  # fmt: skip


def test_scaled_and_block_quantization_refuse_element_formats_beyond_float32():
    x = np.float32([1.0, 3.0, -200.0, 1e-3])
    with pytest.raises(ValueError, match=r"fmt: float22_e11m10_b1023_ieee reaches beyond float32's range or precision"):
        lf.scaled_quantize(x, lf.Format(11, 10, 1023))
    with pytest.raises(ValueError, match=r"fmt: float22_e11m10_b1023_ieee reaches beyond float32's range"):
        lf.block_quantize(x, "e11m10_b1023", block_size=2)
    e8m12 = lf.Format(8, 12, 130)  # its values are float32 values: an element format like any other
    q = lf.scaled_quantize(x, e8m12)
    np.testing.assert_array_equal(q.codes, lf.encode(x * q.quant_scale, e8m12, overflow="saturate"))
    assert lf.block_quantize(x, e8m12, block_size=2).codes.dtype == np.uint32


def test_testing_hard_cases_and_check_cast_serve_wide_formats():
    from lowfloat.testing import check_cast, hard_cases

    fmt = lf.Format(11, 10, 1023)
    x = hard_cases(fmt, dtype="float64")
    top_ulp = 2.0 ** (fmt.emax - fmt.man_bits)
    assert (x == fmt.max - top_ulp / 2).any()  # the midpoint below max: lo + hi would overflow float64
    assert (x == fmt.smallest_subnormal / 2).any()
    assert check_cast(lambda v: lf.encode(v, fmt), fmt, dtype="float64").ok
    assert check_cast(lambda v: lf.encode(v, FLOAT64), FLOAT64, dtype="float64").ok  # 53 bits: no midpoints
