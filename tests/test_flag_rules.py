"""The exception-flag rules of lowfloat.rounding, one test per row of its table, for every convention.

IEEE 754 fixes the flags of IEEE-style formats (and test_softfloat.py holds
float16 and float32 to SoftFloat); the table in :mod:`lowfloat.rounding`
extends the same principles to formats with no infinity (``fn``), no -0
(``fnuz``), no NaN (``none``), no zero and no sign (E8M0), and to the
overflow policies.  Each row is checked on every format it applies to --
the built-ins and a few generic ones -- through the public kernels
(:func:`lowfloat.encode`, :func:`lowfloat.quantize` and the arithmetic) *and*
the exact reference, which must agree with each other and with the row.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import lowfloat as lf
from lowfloat import reference
from lowfloat.rounding import (
    DETERMINISTIC_MODES,
    FLAG_INEXACT,
    FLAG_INFINITE,
    FLAG_INVALID,
    FLAG_OVERFLOW,
    FLAG_UNDERFLOW,
    TININESS,
)

FORMATS = [*lf.BUILTIN_FORMATS.values(), lf.Format(5, 4, 10, "ieee"), lf.Format(3, 1, 2, "fn"),
           lf.Format(6, 6, 40, "fnuz"), lf.Format(2, 2, 0, "none")]  # fmt: skip
IDS = [fmt.name for fmt in FORMATS]
DTYPES = [np.float32, np.float64]
UINT = {np.float16: np.uint16, np.float32: np.uint32, np.float64: np.uint64}


def policies(fmt) -> list:
    """Every overflow policy ``fmt`` accepts: its default, saturate, and inf / nan where it has them."""
    return [None, "saturate"] + (["inf"] if fmt.has_inf else []) + (["nan"] if fmt.has_nan else [])


def cast_outcome(x, fmt, dtype, **options):
    """``x`` (a float, or a bit pattern given as a NumPy unsigned int) rounded into ``fmt`` from ``dtype`` by
    encode, quantize and the reference; asserts that all four agree and returns (code, value, flags)."""
    if isinstance(x, np.unsignedinteger):
        array = np.array([x], UINT[dtype]).view(dtype)
    else:
        assert math.isinf(x) or exact_in(dtype, x), f"{x!r} is not a {np.dtype(dtype).name}"
        array = np.array([x], dtype)
    scalar = array[0]
    quantize_flags = np.zeros(1, np.uint8)
    value = lf.quantize(array, fmt, flags=quantize_flags, **options)[0]
    expected_value, expected_quantize_flags = reference.quantize_flags(scalar, fmt, **options)
    context = f"{x!r} ({np.dtype(dtype).name}) into {fmt.name} {options}"
    assert _same(value, expected_value), (context, value, expected_value)
    assert quantize_flags[0] == expected_quantize_flags, (context, quantize_flags[0], expected_quantize_flags)
    if math.isnan(scalar) and not fmt.has_nan:
        return None, float(value), int(quantize_flags[0])
    encode_flags = np.zeros(1, np.uint8)
    code = lf.encode(array, fmt, flags=encode_flags, **options)[0]
    expected_code, expected_encode_flags = reference.encode_flags(scalar, fmt, **options)
    assert (int(code), int(encode_flags[0])) == (expected_code, expected_encode_flags), context
    assert encode_flags[0] == quantize_flags[0], context
    return int(code), float(value), int(encode_flags[0])


def _same(a, b) -> bool:
    a, b = float(a), float(b)
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def settings(fmt, *, tininess: bool = False, overflow: bool = False):
    """Every deterministic mode, with both tininess settings and every overflow policy of ``fmt`` where a
    row depends on them."""
    for rounding in DETERMINISTIC_MODES:
        for when in TININESS if tininess else ("after",):
            for policy in policies(fmt) if overflow else (None,):
                yield dict(rounding=rounding, tininess=when, overflow=policy)


def exact_in(dtype, value) -> bool:
    with np.errstate(over="ignore", under="ignore"):
        return math.isfinite(dtype(value)) and float(dtype(value)) == value


def dtypes_for(x) -> list:
    """The input dtypes that hold ``x`` exactly."""
    return [dtype for dtype in DTYPES if exact_in(dtype, x)]


def signed(values, fmt):
    return [v for x in values for v in ((x, -x) if fmt.signed else (x,))]


# ------------------------------------------------------------------ one test per row


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_exact_value_on_the_grid_raises_no_flag(fmt):
    for x in signed([fmt.max, fmt.smallest_subnormal, fmt.smallest_normal], fmt):
        for dtype in DTYPES:
            for options in settings(fmt, overflow=True):
                code, value, flags = cast_outcome(x, fmt, dtype, **options)
                assert (value, flags) == (x, 0), (x, options)


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_finite_value_off_the_grid_raises_inexact(fmt):
    # a third of an ulp above the smallest normal: neither tiny nor near max
    x = fmt.smallest_normal * (1 + 2.0 ** -(fmt.man_bits + 2))
    for dtype in dtypes_for(x):
        for options in settings(fmt):
            for v in signed([x], fmt):
                _, value, flags = cast_outcome(v, fmt, dtype, **options)
                assert flags == FLAG_INEXACT and value != v, (v, options)


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_finite_value_rounding_beyond_max_raises_overflow_and_inexact_whatever_it_becomes(fmt):
    # any mode, any policy: inf, NaN or +-max, the flags are OVERFLOW | INEXACT
    ulp = 2.0 ** (fmt.emax - fmt.man_bits)
    outcomes = set()
    for x in signed([4 * fmt.max, fmt.max + 0.75 * ulp], fmt):
        for options in settings(fmt, overflow=True):
            if abs(x) < 2 * fmt.max and not options["rounding"].startswith("nearest"):
                continue  # max + 3/4 ulp rounds beyond max only to nearest; the directed modes see 4 max
            for dtype in dtypes_for(x):
                _, value, flags = cast_outcome(x, fmt, dtype, **options)
                assert flags == FLAG_OVERFLOW | FLAG_INEXACT, (x, options, value)
                outcomes.add("max" if abs(value) == fmt.max else "inf" if math.isinf(value) else repr(value))
    assert outcomes <= {"max", "inf", "nan"} and "max" in outcomes


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_tiny_value_off_the_grid_raises_underflow_and_inexact(fmt):
    # 1.25 times the smallest positive value (E8M0: 1.25 * 2**-129, below its smallest 2**-127): tiny before
    # and after rounding in every mode; E8M0 gives 2**-127 at least
    x = 1.25 * (fmt.smallest_subnormal if fmt.has_zero else fmt.smallest_normal / 4)
    for dtype in dtypes_for(x):
        for options in settings(fmt, tininess=True):
            for v in signed([x], fmt):
                _, value, flags = cast_outcome(v, fmt, dtype, **options)
                assert flags == FLAG_UNDERFLOW | FLAG_INEXACT, (v, options)
                if not fmt.has_zero:
                    assert value == fmt.smallest_normal


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.has_subnormals], ids=lambda f: f.name)
def test_subnormal_result_flushed_by_ftz_raises_underflow_and_inexact(fmt):
    for dtype in DTYPES:
        for options in settings(fmt, tininess=True):
            for x in signed([fmt.smallest_subnormal], fmt):  # exact, but subnormal: flushed
                _, value, flags = cast_outcome(x, fmt, dtype, ftz=True, **options)
                assert value == 0 and flags == FLAG_UNDERFLOW | FLAG_INEXACT, (x, options)


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.has_zero], ids=lambda f: f.name)
def test_subnormal_input_with_daz_becomes_zero_without_flags(fmt):
    for dtype in DTYPES:
        tiny = float(np.finfo(dtype).smallest_subnormal) * 3
        for options in settings(fmt):
            for x in (tiny, -tiny):
                _, value, flags = cast_outcome(x, fmt, dtype, daz=True, **options)
                negative = x < 0 and fmt.has_negative_zero
                assert (value, math.copysign(1, value) < 0, flags) == (0.0, negative, 0), (x, options)


def _nan_bits(dtype, signalling: bool, negative: bool = False):
    info = np.finfo(dtype)
    width = np.dtype(dtype).itemsize * 8
    exponent = ((1 << info.nexp) - 1) << info.nmant
    payload = 1 if signalling else 1 << (info.nmant - 1)
    return UINT[dtype](exponent | payload | (int(negative) << (width - 1)))


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.has_nan], ids=lambda f: f.name)
def test_quiet_nan_into_a_format_with_nan_raises_nothing(fmt):
    for dtype in [np.float16, *DTYPES]:
        for negative in (False, True):
            for options in settings(fmt, overflow=True):
                code, value, flags = cast_outcome(_nan_bits(dtype, False, negative), fmt, dtype, **options)
                assert math.isnan(value) and flags == 0, options


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)  # E8M0 included: float32 input widens to float64 first
def test_signalling_nan_raises_invalid(fmt):
    for dtype in [np.float16, *DTYPES]:
        for options in settings(fmt, overflow=True):
            code, value, flags = cast_outcome(_nan_bits(dtype, True), fmt, dtype, **options)
            assert math.isnan(value) and flags == FLAG_INVALID, (np.dtype(dtype).name, options)


@pytest.mark.parametrize("fmt", [f for f in FORMATS if not f.has_nan], ids=lambda f: f.name)
def test_nan_into_a_format_without_nan_raises_invalid_and_encode_refuses_it(fmt):
    for dtype in DTYPES:
        for options in settings(fmt, overflow=True):
            _, value, flags = cast_outcome(_nan_bits(dtype, False), fmt, dtype, **options)
            assert math.isnan(value) and flags == FLAG_INVALID
    with pytest.raises(ValueError, match="cannot encode"):
        lf.encode([math.nan], fmt, flags=np.zeros(1, np.uint8))


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.has_inf], ids=lambda f: f.name)
def test_infinity_kept_by_the_policy_raises_nothing(fmt):
    for dtype in DTYPES:
        for options in settings(fmt, overflow=True):
            if options["overflow"] not in (None, "inf"):
                continue
            for x in (math.inf, -math.inf):
                _, value, flags = cast_outcome(x, fmt, dtype, **options)
                assert (value, flags) == (x, 0), options


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_infinity_that_becomes_nan_or_max_raises_invalid(fmt):
    # fn and fnuz give NaN, none gives +-max, "saturate" +-max, "nan" NaN: a value the input was not
    checked = 0
    for dtype in DTYPES:
        for options in settings(fmt, overflow=True):
            for x in signed([math.inf], fmt):
                _, value, flags = cast_outcome(x, fmt, dtype, **options)
                if math.isinf(value):
                    continue  # kept: the row above
                assert (math.isnan(value) or abs(value) == fmt.max) and flags == FLAG_INVALID, (x, options)
                checked += 1
    assert checked


def test_zero_or_a_negative_value_into_e8m0_raises_invalid():
    fmt = lf.FLOAT8_E8M0FNU
    for dtype in DTYPES:
        for options in settings(fmt):
            for x in (0.0, -0.0, -1.0, -(2.0**-130), -math.inf):
                code, value, flags = cast_outcome(x, fmt, dtype, **options)
                assert (code, flags) == (fmt.nan_code, FLAG_INVALID), (x, options)
            subnormal = 3 * float(np.finfo(dtype).smallest_subnormal)
            _, _, flags = cast_outcome(subnormal, fmt, dtype, daz=True, **options)  # DAZ makes a zero of it
            assert flags == FLAG_INVALID


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.specials == "fnuz"], ids=lambda f: f.name)
def test_negative_zero_into_fnuz_becomes_plus_zero_without_flags(fmt):
    for dtype in DTYPES:
        for options in settings(fmt):
            code, value, flags = cast_outcome(-0.0, fmt, dtype, **options)
            assert (code, math.copysign(1, value), flags) == (0, 1.0, 0), options


# ------------------------------------------------------------------ arithmetic: its own flags with the rounding's

# each case: operation, operands, the operation's own flags, the exact result before rounding into the format
OPERATION_CASES = [
    ("div", (1.0, 0.0), FLAG_INFINITE, math.inf),
    ("div", (-1.0, 0.0), FLAG_INFINITE, -math.inf),
    ("div", (0.0, 0.0), FLAG_INVALID, math.nan),
    ("sqrt", (-1.0,), FLAG_INVALID, math.nan),
    ("mul", (0.0, math.inf), FLAG_INVALID, math.nan),
    ("fma", (0.0, math.inf, 1.0), FLAG_INVALID, math.nan),
    ("add", (math.inf, -math.inf), FLAG_INVALID, math.nan),
    ("mul", (2.0**100, 2.0**100), 0, 2.0**200),
    ("sub", (1.0, 1.0), 0, 0.0),
]


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_operation_flags_are_its_own_and_those_of_rounding_its_exact_result(fmt):
    for op, operands, own, exact in OPERATION_CASES:
        for options in settings(fmt, tininess=True, overflow=True):
            flags = np.zeros(1, np.uint8)
            value = getattr(lf, op)(*(np.array([v]) for v in operands), fmt, flags=flags, **options)[0]
            expected_value, expected_flags = reference.arithmetic(op, operands, fmt, **options)
            context = (op, operands, options)
            assert _same(value, expected_value) and flags[0] == expected_flags, (context, value, flags[0])
            # the exact result's own rounding, by the cast rules tested above
            if math.isnan(exact):
                rounding_flags = 0 if fmt.has_nan else FLAG_INVALID
            else:
                _, _, rounding_flags = cast_outcome(exact, fmt, np.float64, **options)
            assert flags[0] == own | rounding_flags, context
