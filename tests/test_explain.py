"""explain(): every field against the exact reference, on the edge cases of each format."""

from __future__ import annotations

import bisect
import dataclasses
import math
from decimal import Decimal
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from conftest import NAMES_UP_TO_16_BITS, REPRESENTATIVE_NAMES, finite_values
from hypothesis import given
from hypothesis import strategies as st

import lowfloat as lf
from lowfloat import reference
from lowfloat.explain import DECISIONS

TWO = Fraction(2)


def floor_log2(value: Fraction) -> int:
    """floor(log2(value)) by search (independent of the library's bit-length trick)."""
    exponent = 0
    while TWO**exponent > value:
        exponent -= 1
    while TWO ** (exponent + 1) <= value:
        exponent += 1
    return exponent


def edge_inputs(name: str) -> list:
    """Inputs at a format's edges, derived from its limits: exact Fractions, and floats for the specials."""
    fmt = lf.get_format(name)
    top_ulp = TWO ** (fmt.emax - fmt.man_bits)
    tiny = TWO ** (fmt.emin - (fmt.man_bits if fmt.has_subnormals else 0))
    eps = TWO**-fmt.man_bits
    magnitudes = [
        fmt.max_exact, fmt.max_exact + top_ulp / 2, fmt.max_exact + top_ulp / 2 + top_ulp / 64,
        fmt.max_exact + top_ulp / 4, 4 * fmt.max_exact, tiny, tiny / 2, tiny / 4, 3 * tiny / 4, 3 * tiny / 2,
        TWO**fmt.emin, 1 + eps / 2, 1 + 3 * eps / 2, 1 - eps / 4, Fraction(1, 10), Fraction(1, 3),
    ]  # fmt: skip
    values = magnitudes + [-m for m in magnitudes]
    values += [0.0, -0.0, math.inf, -math.inf]
    if fmt.has_nan:
        values.append(math.nan)
    return values


CASES = [(name, x) for name in REPRESENTATIVE_NAMES for x in edge_inputs(name)]


def as_fraction(value):
    return Fraction(value)


@pytest.mark.parametrize(("name", "x"), CASES, ids=[f"{n}-{x}" for n, x in CASES])
def test_every_field_agrees_with_the_reference_on_edge_cases(name, x):
    fmt = lf.get_format(name)
    e = lf.explain(x, fmt)
    finite_x = isinstance(x, Fraction) or math.isfinite(x)
    # the code: the exact specification's
    assert e.code == reference.encode(x, fmt)
    if isinstance(x, float) or float(x) == x:
        with np.errstate(over="ignore"):
            assert e.code == int(lf.encode(float(x), fmt))  # the fast path agrees on every float input
    # the fields put back together give the code
    assert e.sign in ((0, 1) if fmt.signed else (0,))
    assert 0 <= e.exp_field < 2**fmt.exp_bits and 0 <= e.man_field < 2**fmt.man_bits
    assert (e.sign << (fmt.bits - 1) if fmt.signed else 0) | (e.exp_field << fmt.man_bits) | e.man_field == e.code
    # the value and the class, from the reference's decoded value
    decoded = reference.decode(e.code, fmt)
    if math.isnan(decoded):
        assert e.kind == "nan" and math.isnan(e.value)
    elif math.isinf(decoded):
        assert e.kind == "inf" and e.value == decoded
    else:
        magnitude = abs(Fraction(decoded))
        expected_kind = "zero" if magnitude == 0 else "subnormal" if magnitude < TWO**fmt.emin else "normal"
        assert e.kind == expected_kind
        assert e.value == Fraction(decoded)
        if magnitude == 0:
            assert math.copysign(1.0, e.value) == math.copysign(1.0, decoded)
            assert e.significand == 0 and e.exponent is None
        else:
            # value = m * 2**q with m the integer significand
            assert e.significand * TWO**e.quantum_exponent == e.value
            assert e.exponent == (floor_log2(magnitude) if e.kind == "normal" else fmt.emin)
            assert e.quantum_exponent == e.exponent - fmt.man_bits
            assert e.exponent == (e.exp_field - fmt.bias if e.kind == "normal" else fmt.emin)
            limit = 2**fmt.man_bits
            assert (limit <= abs(e.significand) < 2 * limit) if e.kind == "normal" else abs(e.significand) < limit
    # neighbours, ulp, errors
    if not finite_x or (not fmt.signed and x <= 0):
        assert e.lower is e.upper is e.ulp is e.abs_error is e.rel_error is None
        assert not e.tie
        return
    exact = Fraction(x)
    assert e.lower <= exact <= e.upper
    assert e.ulp == TWO ** (max(floor_log2(abs(exact)) if exact else fmt.emin, fmt.emin) - fmt.man_bits)
    if e.lower != e.upper:
        assert e.upper - e.lower == e.ulp
    assert e.tie == (e.lower != e.upper and exact - e.lower == e.upper - exact)
    if e.kind == "nan":
        assert e.abs_error is None and e.rel_error is None
    elif e.kind == "inf":
        assert e.abs_error == math.inf and e.rel_error == math.inf
    else:
        assert e.abs_error == abs(Fraction(e.value) - exact)
        assert e.rel_error == (None if exact == 0 else e.abs_error / abs(exact))
    # the decision is consistent with what happened
    assert e.decision in DECISIONS
    if e.decision == "exact":
        assert e.value == exact
    elif e.decision == "rounded up":
        assert e.value > exact
    elif e.decision == "rounded down":
        assert e.value < exact


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2", "float6_e3m2fn", "float4_e2m1fn", "float16"])
def test_neighbours_are_the_nearest_representable_values(name):
    fmt = lf.get_format(name)
    magnitudes = finite_values(fmt)
    grid = sorted(set([-m for m in magnitudes] + magnitudes))
    rng = np.random.default_rng(1)
    for _ in range(50):
        x = Fraction(rng.uniform(-1, 1)) * fmt.max_exact
        e = lf.explain(x, fmt)
        below = grid[bisect.bisect_right(grid, x) - 1]
        above = grid[bisect.bisect_left(grid, x)]
        assert (e.lower, e.upper) == (below, above)


@pytest.mark.parametrize(
    ("name", "x", "options", "code", "decision"),
    [
        ("e4m3", "0.1", {}, 0x1D, "rounded up"),
        ("e4m3", "-0.1", {}, 0x9D, "rounded down"),
        ("e4m3", 448, {}, 0x7E, "exact"),
        ("e4m3", 464, {}, 0x7E, "tie to even"),  # halfway between 448 and 480: the even code 0x7E
        ("e4m3", 465, {}, 0x7F, "overflow to NaN"),
        ("e4m3", 465, {"overflow": "saturate"}, 0x7E, "overflow to max"),
        ("e4m3", 1.0625, {}, 0x38, "tie to even"),  # 1 + 2**-4, between 1 (0x38) and 1.125 (0x39)
        ("e4m3", 1.1875, {}, 0x3A, "tie to even"),  # between 1.125 (0x39) and 1.25 (0x3A)
        ("e4m3", 1.0625, {"rounding": "nearest_away"}, 0x39, "tie away from zero"),
        ("e4m3", 1.0625, {"rounding": "toward_zero"}, 0x38, "rounded down"),
        ("e4m3", -1.0625, {"rounding": "toward_positive"}, 0xB8, "rounded up"),
        ("e4m3", -1.0625, {"rounding": "toward_negative"}, 0xB9, "rounded down"),
        ("e4m3", 2**-10, {}, 0x00, "underflow to zero"),  # half the smallest subnormal: a tie, 0 is even
        ("e4m3", 3 * 2**-11, {}, 0x01, "rounded up"),
        ("e4m3", "-0", {}, 0x80, "exact"),
        ("e4m3", "nan", {}, 0x7F, "NaN"),
        ("e4m3", "inf", {}, 0x7F, "infinity to NaN"),
        ("e4m3", "-inf", {"overflow": "saturate"}, 0xFE, "infinity to max"),
        ("e5m2", 61440, {}, 0x7C, "overflow to inf"),  # a tie that rounds up, past max
        ("e5m2", "-inf", {}, 0xFC, "infinity to inf"),
        ("fp16", 65520, {}, 0x7C00, "overflow to inf"),
        ("fp16", 1e6, {"rounding": "toward_zero"}, 0x7BFF, "overflow to max"),  # IEEE 754 7.4
        ("fp16", -1e6, {"rounding": "toward_positive"}, 0xFBFF, "overflow to max"),
        ("bf16", "1e-50", {}, 0x0000, "underflow to zero"),
        ("e4m3fnuz", "-0", {}, 0x00, "exact"),  # no -0: +0
        ("e4m3fnuz", -(2**-12), {}, 0x00, "underflow to zero"),
        ("e2m1", 7, {}, 0x7, "overflow to max"),  # no inf, no NaN: saturates
        ("e2m1", 6.5, {}, 0x7, "rounded down"),
        ("e2m1", 5, {}, 0x6, "tie to even"),
        ("e8m0", 3, {}, 0x81, "tie away from zero"),  # ties up, as ml_dtypes and torch
        ("e8m0", 0, {}, 0xFF, "not representable: NaN"),
        ("e8m0", -2, {}, 0xFF, "not representable: NaN"),
        ("e8m0", 2**-200, {}, 0x00, "underflow to smallest"),
        ("e8m0", 2**-128 * 3, {"rounding": "toward_zero"}, 0x00, "rounded down"),
    ],
)
def test_decision_and_code_of_spot_cases(name, x, options, code, decision):
    e = lf.explain(x, name, **options)
    assert (hex(e.code), e.decision) == (hex(code), decision)


def test_issue_example_point_one_in_e4m3():
    e = lf.explain("0.1", "float8_e4m3fn")
    assert e.x == Fraction(1, 10)
    assert (e.code, e.sign, e.exp_field, e.man_field) == (0x1D, 0, 0b0011, 0b101)
    assert (e.exponent, e.kind, e.value, e.significand, e.quantum_exponent) == (-4, "normal", Fraction(13, 128), 13, -7)
    assert (e.lower, e.upper, e.ulp) == (Fraction(3, 32), Fraction(13, 128), Fraction(1, 128))
    assert (e.abs_error, e.rel_error) == (Fraction(1, 640), Fraction(1, 64))
    lines = str(e).splitlines()
    assert "0x1D" in lines[2] and "0 | 0011 | 101" in lines[3] and "0.1015625 = 13 * 2^-7" in lines[6]


def test_str_is_an_aligned_block_and_repr_one_line():
    e = lf.explain(464, "e4m3")
    lines = str(e).splitlines()
    labels = [line.split()[0] for line in lines[1:]]
    assert labels == ["input", "code", "fields", "exponent", "class", "value", "neighbours", "ulp", "error", "decision"]
    starts = {len(line) - len(line[len(label) :].lstrip()) for line, label in zip(lines[1:], labels, strict=True)}
    assert len(starts) == 1  # every value starts in the same column
    assert "\n" not in repr(e) and repr(e) == "Explanation(464 -> float8_e4m3fn: code 0x7E, value 448, tie to even)"
    assert "\x1b[" not in str(e) and "\x1b[" in e.to_text(colour=True)


def test_str_of_specials_leaves_out_what_does_not_apply():
    text = str(lf.explain(math.nan, "e5m2"))
    assert "neighbours" not in text and "error" not in text and text.splitlines()[-1].split() == ["decision", "NaN"]


def test_explanation_is_frozen():
    e = lf.explain(1, "e4m3")
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.code = 0


@pytest.mark.parametrize(
    ("x", "exact"),
    [
        ("0.1", Fraction(1, 10)),
        (" 1/3 ", Fraction(1, 3)),
        ("1e-3", Fraction(1, 1000)),
        ("-0x1.8p-3", Fraction(-3, 16)),
        ("0x10", Fraction(16)),
        (0.1, Fraction(3602879701896397, 2**55)),
        (np.float32(0.1), Fraction(13421773, 2**27)),
        (np.float16(0.1), Fraction(1638, 2**14)),
        (ml_dtypes.bfloat16(0.1), Fraction(205, 2**11)),
        (ml_dtypes.float8_e4m3fn(-0.1), Fraction(-13, 2**7)),
        (np.int64(2**60 + 1), Fraction(2**60 + 1)),
        (Decimal("0.1"), Fraction(1, 10)),
        (Fraction(1, 7), Fraction(1, 7)),
        (3, Fraction(3)),
    ],
)
def test_inputs_are_read_exactly(x, exact):
    assert lf.explain(x, "fp16").x == exact


@pytest.mark.parametrize("x", ["-0", "-0.0", -0.0, "-0x0p+0"])
def test_negative_zero_keeps_its_sign(x):
    e = lf.explain(x, "e4m3")
    assert e.x == 0 and math.copysign(1.0, e.x) == -1.0 and e.code == 0x80


def test_decimal_string_is_rounded_once_from_its_exact_value():
    # 1 + 2**-4 + 10**-30 is just above a tie in E4M3; its nearest float64 is the tie itself
    text = "1.0625000000000000000000000000001"
    assert float(text) == 1.0625
    assert lf.explain(text, "e4m3").value == Fraction(9, 8)
    assert lf.explain(float(text), "e4m3").value == 1


@pytest.mark.parametrize(
    ("x", "fmt", "options", "error", "message"),
    [
        ("abc", "e4m3", {}, ValueError, "not a number: 'abc'"),
        ("0x", "e4m3", {}, ValueError, "not a number"),
        ("0x1.8q3", "e4m3", {}, ValueError, "not a number"),
        ("1/0", "e4m3", {}, ValueError, "not a number"),
        ("", "e4m3", {}, ValueError, "not a number"),
        (True, "e4m3", {}, TypeError, "bool"),
        (1 + 2j, "e4m3", {}, TypeError, "complex"),
        ([1.0], "e4m3", {}, TypeError, "list"),
        (None, "e4m3", {}, TypeError, "NoneType"),
        (1.0, "fp7", {}, ValueError, "unknown format 'fp7'"),
        (1.0, "e4m3", {"rounding": "stochastic"}, ValueError, "deterministic"),
        (1.0, "e4m3", {"rounding": "sideways"}, ValueError, "unknown rounding 'sideways'"),
        (1.0, "e4m3", {"overflow": "inf"}, ValueError, "has no infinity"),
        (1.0, "e4m3", {"overflow": "wrap"}, ValueError, "unknown overflow 'wrap'"),
        ("nan", "fp4", {}, ValueError, "has no NaN"),
    ],
)
def test_bad_arguments_raise_clear_errors(x, fmt, options, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        lf.explain(x, fmt, **options)


finite_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(
    x=finite_floats,
    name=st.sampled_from(NAMES_UP_TO_16_BITS),
    rounding=st.sampled_from(lf.DETERMINISTIC_MODES),
    saturate=st.booleans(),
)
def test_code_matches_the_fast_encode_for_every_float(x, name, rounding, saturate):
    overflow = "saturate" if saturate else None
    e = lf.explain(x, name, rounding=rounding, overflow=overflow)
    assert e.code == int(lf.encode(x, name, rounding=rounding, overflow=overflow))
    if e.lower is not None and not e.decision.startswith(("overflow", "underflow to smallest")):
        assert e.abs_error <= e.ulp  # never further than one grid step
        if rounding.startswith("nearest"):
            assert 2 * e.abs_error <= e.ulp  # nearest: at most half a step
