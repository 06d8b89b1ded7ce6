"""Format: defining fields, derived properties, built-ins, aliases, validation, identity."""

import copy
import dataclasses
import pickle

import numpy as np
import pytest
from conftest import FORMAT_NAMES

import lowfloat as lf
from lowfloat import Format, get_format, reference

# Spot table transcribed from the specifications (IEEE 754-2019, OCP OFP8 v1.0,
# OCP Microscaling v1.0, NVIDIA TF32): layout, bias and the defining limits.
#   name: (sign bits, exp_bits, man_bits, bias, max, smallest normal, smallest subnormal, has inf, has NaN)
SPEC_TABLE = {
    "float32": (1, 8, 23, 127, float.fromhex("0x1.fffffep127"), 2.0**-126, 2.0**-149, True, True),
    "tensorfloat32": (1, 8, 10, 127, float.fromhex("0x1.ffcp127"), 2.0**-126, 2.0**-136, True, True),
    "float16": (1, 5, 10, 15, 65504.0, 2.0**-14, 2.0**-24, True, True),
    "bfloat16": (1, 8, 7, 127, float.fromhex("0x1.fep127"), 2.0**-126, 2.0**-133, True, True),
    "float8_e4m3fn": (1, 4, 3, 7, 448.0, 2.0**-6, 2.0**-9, False, True),
    "float8_e5m2": (1, 5, 2, 15, 57344.0, 2.0**-14, 2.0**-16, True, True),
    "float8_e4m3fnuz": (1, 4, 3, 8, 240.0, 2.0**-7, 2.0**-10, False, True),
    "float8_e5m2fnuz": (1, 5, 2, 16, 57344.0, 2.0**-15, 2.0**-17, False, True),
    "float8_e4m3b11fnuz": (1, 4, 3, 11, 30.0, 2.0**-10, 2.0**-13, False, True),
    "float8_e4m3": (1, 4, 3, 7, 240.0, 2.0**-6, 2.0**-9, True, True),
    "float8_e3m4": (1, 3, 4, 3, 15.5, 2.0**-2, 2.0**-6, True, True),
    "float8_e8m0fnu": (0, 8, 0, 127, 2.0**127, 2.0**-127, 2.0**-127, False, True),
    "float6_e3m2fn": (1, 3, 2, 3, 28.0, 2.0**-2, 2.0**-4, False, False),
    "float6_e2m3fn": (1, 2, 3, 1, 7.5, 1.0, 2.0**-3, False, False),
    "float4_e2m1fn": (1, 2, 1, 1, 6.0, 1.0, 0.5, False, False),
}

# Special codes from the same specifications: (max code, +inf code or None, canonical NaN code or None).
SPECIAL_CODES = {
    "float32": (0x7F7FFFFF, 0x7F800000, 0x7FC00000),
    "tensorfloat32": (0x3FBFF, 0x3FC00, 0x3FE00),
    "float16": (0x7BFF, 0x7C00, 0x7E00),
    "bfloat16": (0x7F7F, 0x7F80, 0x7FC0),
    "float8_e4m3fn": (0x7E, None, 0x7F),
    "float8_e5m2": (0x7B, 0x7C, 0x7E),
    "float8_e4m3fnuz": (0x7F, None, 0x80),
    "float8_e5m2fnuz": (0x7F, None, 0x80),
    "float8_e4m3b11fnuz": (0x7F, None, 0x80),
    "float8_e4m3": (0x77, 0x78, 0x7C),
    "float8_e3m4": (0x6F, 0x70, 0x78),
    "float8_e8m0fnu": (0xFE, None, 0xFF),
    "float6_e3m2fn": (0x1F, None, None),
    "float6_e2m3fn": (0x1F, None, None),
    "float4_e2m1fn": (0x7, None, None),
}


def test_spec_table_covers_every_builtin_format():
    assert set(SPEC_TABLE) == set(FORMAT_NAMES) == set(lf.format_names())
    assert set(SPECIAL_CODES) == set(FORMAT_NAMES)


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_builtin_format_fields_and_limits_match_the_spec_table(name):
    sign_bits, exp_bits, man_bits, bias, max_value, normal, subnormal, has_inf, has_nan = SPEC_TABLE[name]
    fmt = lf.BUILTIN_FORMATS[name]
    assert (fmt.exp_bits, fmt.man_bits, fmt.bias, fmt.signed) == (exp_bits, man_bits, bias, bool(sign_bits))
    assert fmt.bits == sign_bits + exp_bits + man_bits
    assert fmt.precision_bits == man_bits + 1
    assert (fmt.max, fmt.smallest_normal, fmt.smallest_subnormal) == (max_value, normal, subnormal)
    assert (fmt.has_inf, fmt.has_nan) == (has_inf, has_nan)
    assert fmt.name == name and str(fmt) == name


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_builtin_format_special_codes_match_the_spec_table(name):
    max_code, inf_code, nan_code = SPECIAL_CODES[name]
    fmt = lf.BUILTIN_FORMATS[name]
    assert fmt.max_code_magnitude == max_code
    assert fmt.inf_code_magnitude == inf_code
    assert fmt.nan_code == nan_code


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_derived_limits_equal_the_reference_values_of_their_codes(name):
    fmt = lf.BUILTIN_FORMATS[name]
    assert reference.decode(fmt.max_code_magnitude, fmt) == fmt.max
    assert fmt.max_exact == reference.magnitude_of_code(fmt.max_code_magnitude, fmt)
    smallest_code = 0 if not fmt.has_zero else 1
    assert reference.decode(smallest_code, fmt) == fmt.smallest_subnormal
    assert 2.0**fmt.emin == fmt.smallest_normal
    assert 2.0**fmt.emax <= fmt.max < 2.0 ** (fmt.emax + 1)


@pytest.mark.parametrize(
    ("name", "dtype"),
    [("float32", np.uint32), ("tensorfloat32", np.uint32), ("float16", np.uint16), ("bfloat16", np.uint16)]
    + [(name, np.uint8) for name in FORMAT_NAMES if lf.get_format(name).bits <= 8],
)
def test_code_dtype_is_the_narrowest_unsigned_type_that_holds_a_code(name, dtype):
    assert lf.get_format(name).code_dtype == np.dtype(dtype)


def test_module_constants_are_the_builtin_formats():
    assert lf.FLOAT8_E4M3FN is lf.BUILTIN_FORMATS["float8_e4m3fn"]
    assert lf.FLOAT4_E2M1FN is lf.BUILTIN_FORMATS["float4_e2m1fn"]
    assert lf.FLOAT32 is lf.BUILTIN_FORMATS["float32"]
    for name in FORMAT_NAMES:
        assert getattr(lf, name.upper()) is lf.BUILTIN_FORMATS[name]


# ------------------------------------------------------------------ aliases
@pytest.mark.parametrize(("alias", "canonical"), sorted(lf.ALIASES.items()))
def test_alias_resolves_to_its_canonical_builtin(alias, canonical):
    assert get_format(alias) is lf.BUILTIN_FORMATS[canonical]
    assert get_format(alias).name == canonical


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("e4m3", "float8_e4m3fn"),  # OCP E4M3 (max 448), not the IEEE-like float8_e4m3 (max 240)
        ("fp16", "float16"),
        ("half", "float16"),
        ("bf16", "bfloat16"),
        ("fp4", "float4_e2m1fn"),
        ("e2m1", "float4_e2m1fn"),
        ("e5m2", "float8_e5m2"),
        ("e8m0", "float8_e8m0fnu"),
        ("tf32", "tensorfloat32"),
        ("fp32", "float32"),
        ("fp6_e3m2", "float6_e3m2fn"),
        ("e2m3", "float6_e2m3fn"),
    ],
)
def test_well_known_alias_names_the_expected_format(alias, canonical):
    assert lf.ALIASES[alias] == canonical
    assert get_format(alias) is get_format(canonical)


def test_e4m3_alias_is_the_ocp_format_with_max_448():
    assert get_format("e4m3").max == 448.0
    assert get_format("e4m3") != get_format("float8_e4m3")


@pytest.mark.parametrize("spelling", ["E4M3", " e4m3 ", "Float8_E4M3FN", "BF16\n"])
def test_get_format_ignores_case_and_surrounding_whitespace(spelling):
    assert get_format(spelling) is get_format(spelling.strip().lower())


def test_get_format_returns_a_format_unchanged():
    custom = Format(exp_bits=3, man_bits=3, bias=3, specials="fn")
    assert get_format(custom) is custom
    assert get_format(lf.FLOAT16) is lf.FLOAT16


def test_format_names_lists_canonical_names_then_aliases():
    assert lf.format_names() == list(lf.BUILTIN_FORMATS)
    assert lf.format_names(aliases=True) == list(lf.BUILTIN_FORMATS) + list(lf.ALIASES)
    for name in lf.format_names(aliases=True):
        get_format(name)


def test_every_alias_targets_a_canonical_name_and_none_shadows_one():
    assert set(lf.ALIASES.values()) <= set(lf.BUILTIN_FORMATS)
    assert not set(lf.ALIASES) & set(lf.BUILTIN_FORMATS)


# ------------------------------------------------------------------ get_format errors
@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("fp7", "fp16"), ("e4m4", "e4m3"), ("bfloat8", "bfloat16"), ("float8_e4m3fnz", "float8_e4m3fn")],
)
def test_get_format_unknown_name_raises_value_error_naming_close_matches(name, suggestion):
    with pytest.raises(ValueError, match=rf"unknown format '{name}'; closest known names: .*\b{suggestion}\b"):
        get_format(name)


def test_get_format_unknown_name_without_close_matches_says_where_to_look():
    with pytest.raises(ValueError, match=r"unknown format 'qqqqqqqq' \(lowfloat.format_names\(aliases=True\)") as info:
        get_format("qqqqqqqq")
    assert "closest" not in str(info.value)


@pytest.mark.parametrize("fmt", [8, None, 3.5, np.float16, np.dtype("float32"), ("float16",), b"float16"])
def test_get_format_non_string_raises_type_error(fmt):
    with pytest.raises(TypeError, match=r"a format must be a lowfloat.Format or a name, got "):
        get_format(fmt)


def test_encode_with_unknown_format_name_raises_value_error():
    with pytest.raises(ValueError, match=r"unknown format 'fp7'"):
        lf.encode(1.0, "fp7")


# ------------------------------------------------------------------ custom formats and validation
def test_format_with_builtin_fields_is_the_builtin_format():
    fmt = Format(exp_bits=4, man_bits=3, bias=7, specials="fn")
    assert fmt == lf.FLOAT8_E4M3FN
    assert fmt.name == "float8_e4m3fn"
    assert Format(8, 0, 127, "fn", signed=False) == lf.FLOAT8_E8M0FNU


def test_custom_format_gets_a_descriptive_name():
    assert Format(exp_bits=3, man_bits=2, bias=3, specials="ieee").name == "float6_e3m2_b3_ieee"
    assert Format(exp_bits=5, man_bits=0, bias=15, specials="fn", signed=False).name == "float5_e5m0_b15_fnu"


def test_format_accepts_numpy_integers_and_bools_and_stores_python_types():
    fmt = Format(np.int8(4), np.uint16(3), np.int64(7), "fn", np.bool_(True))
    assert fmt == lf.FLOAT8_E4M3FN
    assert all(type(v) is int for v in (fmt.exp_bits, fmt.man_bits, fmt.bias))
    assert type(fmt.signed) is bool


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        (dict(exp_bits="4"), TypeError, r"Format.exp_bits must be an int, got '4'"),
        (dict(exp_bits=4.0), TypeError, r"Format.exp_bits must be an int, got 4.0"),
        (dict(exp_bits=True), TypeError, r"Format.exp_bits must be an int, got True"),
        (dict(man_bits=3.0), TypeError, r"Format.man_bits must be an int, got 3.0"),
        (dict(man_bits=None), TypeError, r"Format.man_bits must be an int, got None"),
        (dict(bias=np.float64(7)), TypeError, r"Format.bias must be an int"),
        (dict(bias=np.bool_(True)), TypeError, r"Format.bias must be an int"),
        (dict(signed=1), TypeError, r"Format.signed must be a bool, got 1"),
        (dict(signed="yes"), TypeError, r"Format.signed must be a bool, got 'yes'"),
        (dict(specials="IEEE"), ValueError, r"Format.specials must be one of .*got 'IEEE'"),
        (dict(specials="fnu"), ValueError, r"Format.specials must be one of .*got 'fnu'"),
        (dict(exp_bits=0), ValueError, r"Format.exp_bits must be 1 to 11, got 0"),
        (dict(exp_bits=12), ValueError, r"Format.exp_bits must be 1 to 11, got 12"),
        (dict(man_bits=-1), ValueError, r"Format.man_bits must be 0 to 52, got -1"),
        (dict(man_bits=53), ValueError, r"Format.man_bits must be 0 to 52, got 53"),
        (dict(signed=False), ValueError, r"unsigned formats .* need man_bits=0 and specials='fn', got man_bits=3"),
        (dict(signed=False, man_bits=0), ValueError, r"unsigned formats .*got man_bits=0, specials='ieee'"),
        (dict(man_bits=0), ValueError, r"an 'ieee' format needs man_bits >= 1 .*got exp_bits=4, man_bits=0"),
        (dict(exp_bits=1), ValueError, r"an 'ieee' format needs .*exp_bits >= 2 .*got exp_bits=1"),
        (dict(exp_bits=11, bias=100), ValueError, r"reaches 2\*\*1946, beyond float64's largest exponent 1023; "
                                                  r"raise bias to at least 1023"),
        (dict(exp_bits=11, bias=1022), ValueError, r"reaches 2\*\*1024, beyond float64's largest exponent"),
        (dict(bias=1100), ValueError, r"smallest positive value 2\*\*-1102, below float64's smallest subnormal "
                                      r"2\*\*-1074; lower bias to at most 1072"),
        (dict(exp_bits=1, man_bits=0, specials="fn"), ValueError, r"has no finite nonzero value"),
    ],
)
def test_format_with_invalid_field_raises_naming_the_field(fields, error, message):
    defining = dict(exp_bits=4, man_bits=3, bias=7, specials="ieee", signed=True)
    defining.update(fields)
    with pytest.raises(error, match=message):
        Format(**defining)


def test_format_limits_at_float64_edges_are_accepted_and_one_beyond_refused():
    assert Format(8, 23, 127).max == lf.FLOAT32.max  # float32 itself
    assert Format(11, 52, 1023).max == np.finfo(np.float64).max  # float64 itself
    with pytest.raises(ValueError, match=r"smallest positive value 2\*\*-1075, below float64's smallest subnormal"):
        Format(11, 52, 1024)
    # unsigned (E8M0-style) formats reach down to 2**-1074 and no further
    assert Format(11, 0, 1074, "fn", signed=False).smallest_normal == 2.0**-1074
    with pytest.raises(ValueError, match=r"smallest positive value 2\*\*-1075, below float64's"):
        Format(11, 0, 1075, "fn", signed=False)


# ------------------------------------------------------------------ identity: equality, hashing, pickling
def test_formats_are_equal_by_fields_and_unequal_when_any_field_differs():
    base = Format(4, 3, 7, "fn")
    assert base == Format(exp_bits=4, man_bits=3, bias=7, specials="fn", signed=True)
    for changed in (dict(exp_bits=5), dict(man_bits=2), dict(bias=8), dict(specials="ieee")):
        assert dataclasses.replace(base, **changed) != base
    assert lf.FLOAT8_E4M3 != lf.FLOAT8_E4M3FN  # same layout, different specials


def test_formats_are_hashable_and_usable_as_dict_keys():
    table = {fmt: name for name, fmt in lf.BUILTIN_FORMATS.items()}
    assert len(table) == len(lf.BUILTIN_FORMATS)
    assert table[Format(5, 2, 15, "ieee")] == "float8_e5m2"
    assert hash(Format(4, 3, 7, "fn")) == hash(lf.FLOAT8_E4M3FN)
    assert {Format(4, 3, 7, "fn"), lf.FLOAT8_E4M3FN} == {lf.FLOAT8_E4M3FN}


@pytest.mark.parametrize("fmt", [*lf.BUILTIN_FORMATS.values(), Format(3, 3, 2, "fnuz"), Format(6, 0, 31, "fn", False)])
def test_format_pickles_and_copies_to_an_equal_format(fmt):
    restored = pickle.loads(pickle.dumps(fmt))
    assert restored == fmt and hash(restored) == hash(fmt)
    assert restored.name == fmt.name and restored.max == fmt.max
    assert copy.deepcopy(fmt) == fmt


def test_format_pickle_stays_small_after_cached_properties_were_computed():
    fmt = Format(3, 3, 2, "fnuz")
    before = len(pickle.dumps(fmt))
    fmt.max_exact  # noqa: B018 -- fills the cached property
    assert len(pickle.dumps(fmt)) == before


@pytest.mark.parametrize("fmt", [*lf.BUILTIN_FORMATS.values(), Format(3, 3, 2, "fnuz")])
def test_format_repr_evaluates_back_to_an_equal_format(fmt):
    assert eval(repr(fmt), {"Format": Format}) == fmt


def test_format_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        lf.FLOAT16.bias = 14
