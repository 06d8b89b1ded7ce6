"""Every refused input of encode, decode and quantize: the exception type and a message that names the problem."""

import datetime

import numpy as np
import pytest
from conftest import NAMES_WITHOUT_NAN

import lowfloat as lf

CASTS = [lf.encode, lf.quantize]
CAST_IDS = ["encode", "quantize"]


# ------------------------------------------------------------------ values that are not real numbers
@pytest.mark.parametrize("cast", CASTS, ids=CAST_IDS)
@pytest.mark.parametrize(
    ("x", "message"),
    [
        (1 + 2j, r"x is complex \(complex128\); round the real and imaginary parts separately"),
        (np.array([1.0, 2.0], dtype=np.complex64), r"x is complex \(complex64\)"),
        ([1.0, 2j], r"x is complex"),
        (np.array([1.0, None], dtype=object), r"x has dtype object \(object\); expected real numbers"),
        ([1.0, None], r"x has dtype object \(object\)"),
        ("1.5", r"x has dtype <U3 \(string\); expected real numbers"),
        (["1.5", "2"], r"x has dtype <U3 \(string\)"),
        (b"1.5", r"x has dtype \|S3 \(bytes\)"),
        (np.datetime64("2024-01-01"), r"x has dtype datetime64\[D\] \(datetime\)"),
        (np.array(["2024-01-01"], dtype="datetime64[s]"), r"\(datetime\); expected real numbers"),
        (np.timedelta64(3, "s"), r"x has dtype timedelta64\[s\] \(timedelta\)"),
        (datetime.datetime(2024, 1, 1), r"x has dtype object"),
        (np.zeros(2, dtype=[("a", "f4"), ("b", "f4")]), r"\(structured\); expected real numbers"),
        (True, r"x is boolean; lowfloat rounds real numbers -- convert with x.astype\(float\)"),
        (np.array([True, False]), r"x is boolean"),
        (np.bool_(False), r"x is boolean"),
    ],
)
def test_non_real_input_raises_type_error(cast, x, message):
    with pytest.raises(TypeError, match=message):
        cast(x, "e4m3")


# ------------------------------------------------------------------ codes that are not codes
@pytest.mark.parametrize(
    ("codes", "name", "message"),
    [
        (300, "e4m3", r"code 300 is outside 0..255, the codes of float8_e4m3fn"),
        ([1, 2, 256], "e4m3", r"code 256 is outside 0..255"),
        (np.array([0, 256], dtype=np.uint16), "e5m2", r"code 256 is outside 0..255, the codes of float8_e5m2"),
        (-1, "e4m3", r"code -1 is outside 0..255"),
        (np.array([3, -2, 400], dtype=np.int16), "e4m3", r"code -2 is outside 0..255"),
        (16, "fp4", r"code 16 is outside 0..15, the codes of float4_e2m1fn"),
        (np.array([15, 16], dtype=np.uint8), "fp4", r"code 16 is outside 0..15"),
        (np.array([64], dtype=np.uint8), "e2m3", r"code 64 is outside 0..63"),
        (1 << 16, "fp16", r"code 65536 is outside 0..65535"),
        (np.array([1 << 19], dtype=np.uint32), "tf32", r"code 524288 is outside 0..524287"),
        (np.array([2**64 - 1], dtype=np.uint64), "float32", r"code 18446744073709551615 is outside 0..4294967295"),
        (1.0, "e4m3", r"codes must be integers, got dtype float64; use encode\(\) for values"),
        (np.array([56.0], dtype=np.float32), "e4m3", r"codes must be integers, got dtype float32"),
        (np.float16(3), "e4m3", r"codes must be integers, got dtype float16"),
        (True, "e4m3", r"codes must be integers, got dtype bool"),
        (np.array([True, False]), "fp4", r"codes must be integers, got dtype bool"),
    ],
)
def test_decode_of_non_code_raises_value_error(codes, name, message):
    with pytest.raises(ValueError, match=message):
        lf.decode(codes, name)


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (np.array([1 + 0j]), r"codes has dtype complex128; expected integers"),
        ("56", r"codes has dtype <U2; expected integers"),
        (np.array([56], dtype=object), r"codes has dtype object; expected integers"),
        (np.datetime64("2024-01-01"), r"codes has dtype datetime64\[D\]; expected integers"),
    ],
)
def test_decode_of_non_numeric_codes_raises_type_error(codes, message):
    with pytest.raises(TypeError, match=message):
        lf.decode(codes, "e4m3")


@pytest.mark.parametrize("dtype", [np.float16, np.longdouble, np.int32, np.uint8, "f2", np.complex64])
def test_decode_to_a_dtype_other_than_float32_or_float64_raises_value_error(dtype):
    with pytest.raises(ValueError, match=r"dtype must be numpy.float32 or numpy.float64, got "):
        lf.decode([0x38], "e4m3", dtype=dtype)


# ------------------------------------------------------------------ rounding and overflow options
@pytest.mark.parametrize("cast", CASTS, ids=CAST_IDS)
@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("e4m3", dict(rounding="up"), r"unknown rounding 'up'; expected one of nearest_even, nearest_away, "),
        ("e4m3", dict(rounding="NEAREST_EVEN"), r"unknown rounding 'NEAREST_EVEN'"),
        ("e4m3", dict(rounding=None), r"unknown rounding None"),
        ("e4m3", dict(rounding=0), r"unknown rounding 0"),
        ("e4m3", dict(overflow="clip"), r"unknown overflow 'clip'; expected None or one of saturate, inf, nan"),
        ("e4m3", dict(overflow=True), r"unknown overflow True"),
        ("e4m3", dict(overflow="inf"), r"overflow='inf' is impossible: float8_e4m3fn has no infinity"),
        ("e4m3fnuz", dict(overflow="inf"), r"overflow='inf' is impossible: float8_e4m3fnuz has no infinity"),
        ("e8m0", dict(overflow="inf"), r"overflow='inf' is impossible: float8_e8m0fnu has no infinity"),
        ("fp4", dict(overflow="inf"), r"overflow='inf' is impossible: float4_e2m1fn has no infinity"),
        ("fp4", dict(overflow="nan"), r"overflow='nan' is impossible: float4_e2m1fn has no NaN"),
        ("e3m2", dict(overflow="nan"), r"overflow='nan' is impossible: float6_e3m2fn has no NaN"),
    ],
)
def test_unknown_or_impossible_option_raises_value_error(cast, name, options, message):
    with pytest.raises(ValueError, match=message):
        cast(np.array([1.0, 2.0]), name, **options)


@pytest.mark.parametrize("options", [dict(rounding=["nearest_even"]), dict(overflow={"saturate"})])
def test_unhashable_option_raises_an_error_naming_the_option(options):
    (option,) = options
    for cast in CASTS:
        with pytest.raises((TypeError, ValueError), match=option):
            cast(np.array([1.0]), "e4m3", **options)


@pytest.mark.parametrize("name", ["e4m3", "e5m2", "fp16", "bf16", "e4m3fnuz", "e8m0"])
def test_every_possible_overflow_policy_is_accepted(name):
    fmt = lf.get_format(name)
    policies = [None, "saturate"] + (["inf"] if fmt.has_inf else []) + (["nan"] if fmt.has_nan else [])
    for policy in policies:
        lf.encode([1e30, 1.0], name, overflow=policy)
        lf.quantize([1e30, 1.0], name, overflow=policy)


# ------------------------------------------------------------------ NaN into formats without NaN
@pytest.mark.parametrize("name", NAMES_WITHOUT_NAN)
@pytest.mark.parametrize(
    "x",
    [
        np.nan,
        [1.0, np.nan],
        np.array([[0.5], [-np.nan]], dtype=np.float32),
        np.array([0x7F800001, 0xFFC00000, 0x3F800000], dtype=np.uint32).view(np.float32),  # signalling, negative
        np.array([np.nan], dtype=np.float16),
    ],
    ids=["scalar", "list", "2d-float32", "float32-payloads", "float16"],
)
def test_encode_nan_into_format_without_nan_raises_value_error(name, x):
    with pytest.raises(ValueError, match=rf"x contains NaN, which {name} cannot encode \(it has no NaN\)"):
        lf.encode(x, name)


@pytest.mark.parametrize("name", NAMES_WITHOUT_NAN)
def test_quantize_keeps_nan_for_format_without_nan(name):
    q = lf.quantize(np.array([np.nan, 1.0, -np.nan]), name)
    assert np.isnan(q[0]) and q[1] == 1.0 and np.isnan(q[2])


# ------------------------------------------------------------------ bad out=
def _out_cases():
    """(cast, x, out, message) for each wrong ``out``."""
    x = np.array([1.0, 2.0, 3.0])
    read_only_u8 = np.zeros(3, np.uint8)
    read_only_u8.flags.writeable = False
    read_only_f64 = np.zeros(3)
    read_only_f64.flags.writeable = False
    read_only_f32 = np.zeros(3, np.float32)
    read_only_f32.flags.writeable = False
    codes = np.array([0x38, 0x39, 0x3A], dtype=np.uint8)
    return [
        ("encode-shape", lf.encode, x, np.zeros(2, np.uint8), r"out has shape \(2,\), expected \(3,\)"),
        ("encode-2d-shape", lf.encode, x, np.zeros((3, 1), np.uint8), r"out has shape \(3, 1\), expected \(3,\)"),
        ("encode-dtype", lf.encode, x, np.zeros(3, np.uint16), r"out has dtype uint16, expected uint8"),
        ("encode-int8", lf.encode, x, np.zeros(3, np.int8), r"out has dtype int8, expected uint8"),
        ("encode-read-only", lf.encode, x, read_only_u8, r"out is read-only"),
        ("encode-list", lf.encode, x, [0, 0, 0], r"out must be a numpy.ndarray, got list"),
        ("encode-scalar", lf.encode, 1.0, np.uint8(0), r"out must be a numpy.ndarray, got uint8"),
        ("quantize-shape", lf.quantize, x, np.zeros(4), r"out has shape \(4,\), expected \(3,\)"),
        ("quantize-dtype", lf.quantize, x, np.zeros(3, np.float32), r"out has dtype float32, expected float64"),
        (
            "quantize-f32-dtype",
            lf.quantize,
            x.astype(np.float32),
            np.zeros(3),
            r"out has dtype float64, expected float32",
        ),
        ("quantize-f16-dtype", lf.quantize, x.astype(np.float16), np.zeros(3, np.float16), r"expected float64"),
        ("quantize-read-only", lf.quantize, x, read_only_f64, r"out is read-only"),
        ("quantize-tuple", lf.quantize, x, (0.0, 0.0, 0.0), r"out must be a numpy.ndarray, got tuple"),
        ("decode-shape", lf.decode, codes, np.zeros(2, np.float32), r"out has shape \(2,\), expected \(3,\)"),
        ("decode-dtype", lf.decode, codes, np.zeros(3), r"out has dtype float64, expected float32"),
        ("decode-read-only", lf.decode, codes, read_only_f32, r"out is read-only"),
        ("decode-list", lf.decode, codes, [0.0] * 3, r"out must be a numpy.ndarray, got list"),
    ]


@pytest.mark.parametrize(
    ("cast", "x", "out", "message"), [c[1:] for c in _out_cases()], ids=[c[0] for c in _out_cases()]
)
def test_bad_out_raises_value_error(cast, x, out, message):
    with pytest.raises(ValueError, match=message):
        cast(x, "e4m3", out=out)


def test_read_only_out_is_left_unchanged():
    out = np.full(3, 7.0)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        lf.quantize(np.array([1.0, 2.0, 3.0]), "e4m3", out=out)
    assert (out == 7.0).all()


def test_quantize_out_overlapping_the_input_partially_raises_value_error():
    buffer = np.arange(10.0)
    with pytest.raises(ValueError, match=r"out overlaps the input partially; pass out=x itself or a separate array"):
        lf.quantize(buffer[1:], "e4m3", out=buffer[:-1])
    assert (buffer == np.arange(10.0)).all()


def test_quantize_out_reversing_the_input_raises_value_error():
    buffer = np.arange(10.0)
    with pytest.raises(ValueError, match=r"out overlaps the input partially"):
        lf.quantize(buffer, "e4m3", out=buffer[::-1])


def test_encode_out_overlapping_float32_input_partially_raises_value_error():
    buffer = np.arange(8, dtype=np.float32)
    with pytest.raises(ValueError, match=r"out overlaps the input partially"):
        lf.encode(buffer[2:6], "float32", out=buffer.view(np.uint32)[:4])


def test_encode_out_inside_the_input_memory_raises_value_error():
    raw = np.zeros(4, dtype=np.float64)
    with pytest.raises(ValueError, match=r"out overlaps the input partially"):
        lf.encode(raw, "e4m3", out=raw.view(np.uint8)[:4])


def test_decode_out_overlapping_the_codes_raises_value_error():
    raw = np.zeros(16, dtype=np.uint8)
    raw[4:8] = [0x38, 0x39, 0x3A, 0x3B]
    with pytest.raises(ValueError, match=r"out overlaps the input partially"):
        lf.decode(raw[4:8], "e4m3", out=raw.view(np.float32))


# ------------------------------------------------------------------ bad formats
@pytest.mark.parametrize("cast", [lf.encode, lf.quantize, lf.decode], ids=["encode", "quantize", "decode"])
def test_bad_format_raises_value_error_for_unknown_names_and_type_error_for_other_types(cast):
    with pytest.raises(ValueError, match=r"unknown format 'e4m4'; closest known names: e4m3"):
        cast([1], "e4m4")
    with pytest.raises(TypeError, match=r"a format must be a lowfloat.Format or a name, got NoneType"):
        cast([1], None)
    with pytest.raises(TypeError, match=r"a format must be a lowfloat.Format or a name, got Float16DType"):
        cast([1], np.dtype(np.float16))
