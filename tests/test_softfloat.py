"""lowfloat against Berkeley SoftFloat 3: results *and* IEEE exception flags, in every rounding mode and both
tininess modes, for float16 and float32.

SoftFloat (through the ``softfloat`` package, a SWIG wrapper of SoftFloat 3)
is the external oracle: the casts f16_to_f32, f32_to_f16, f64_to_f16 and
f64_to_f32 against :func:`lowfloat.encode`, and add, sub, mul, div, mulAdd
and sqrt of float16 and float32 operands against :func:`lowfloat.add` ...,
on random bit patterns (NaNs, infinities and subnormals included), on the
hard cases of :func:`lowfloat.testing.make_vectors` (ties, midpoints +-1 ulp,
the overflow threshold, the subnormal boundary, exact cancellation) and on
every combination of a list of special operands (signed zeros, signalling
NaNs, the extremes).  The exact reference, :mod:`lowfloat.reference`, is
checked against SoftFloat on a sample of the same cases.

NaN results are compared as NaN: SoftFloat returns its own NaN (payloads
propagated, x86's negative default NaN), lowfloat a canonical quiet NaN.
SoftFloat 3 has no bfloat16 (nor any 8-bit format), so nothing here checks
bfloat16; float16 and float32 are SoftFloat's formats.

Two defects of the packaged SoftFloat (0.1.4.1) were found this way; in both
lowfloat follows IEEE 754 and the tests say so:

* ``f32_sqrt`` (and ``f64_sqrt``) return wrong roots -- the square root of 4
  comes back as 0x3FC545F0, about 1.54 -- so float32 square roots are checked
  against their definition instead, exactly (r*r against x), and against
  numpy's correctly rounded ``sqrt`` under nearest-even.
* ``f16_add`` and ``f16_sub`` raise only INEXACT, not OVERFLOW|INEXACT, when
  a negative result overflows to -inf under roundTowardNegative because of an
  addend far below half an ulp (SoftFloat's shortcut for a large exponent
  difference); the positive mirror image, and float32, raise OVERFLOW as IEEE
  754 section 7.4 requires.  These cases are recognised exactly and every
  other bit of them is still compared.
"""

from __future__ import annotations

import functools
import io
import math
import re
from fractions import Fraction

import numpy as np
import pytest
import softfloat

import lowfloat as lf
from lowfloat import reference
from lowfloat.rounding import DETERMINISTIC_MODES, FLAG_INEXACT, FLAG_INVALID, FLAG_OVERFLOW, TININESS
from lowfloat.testing import make_vectors, write_vectors

# ------------------------------------------------------------------ the SoftFloat oracle

#: lowfloat's rounding modes as SoftFloat's softfloat_roundingMode values.
SOFTFLOAT_ROUNDING = {
    "nearest_even": softfloat.softfloat_round_near_even,
    "nearest_away": softfloat.softfloat_round_near_maxMag,
    "toward_zero": softfloat.softfloat_round_minMag,
    "toward_negative": softfloat.softfloat_round_min,
    "toward_positive": softfloat.softfloat_round_max,
}
SOFTFLOAT_TININESS = {
    "after": softfloat.softfloat_tininess_afterRounding,
    "before": softfloat.softfloat_tininess_beforeRounding,
}
FLOATS = {16: np.float16, 32: np.float32, 64: np.float64}
UINTS = {16: np.uint16, 32: np.uint32, 64: np.uint64}
FORMATS = {16: lf.FLOAT16, 32: lf.FLOAT32}
_NAME = re.compile(r"f(\d+)_(?:to_f(\d+)|(\w+))")

# the compiled SWIG module: setting a value's bits through it costs a fifth of the proxy classes' attribute
# machinery, and SoftFloat's own call is then most of the ~3 us per case
_C = softfloat._softfloat


def widths(function: str) -> tuple[int, int]:
    """The operands' and the result's widths in bits of a SoftFloat function: f64_to_f16 -> (64, 16)."""
    source, target, _ = _NAME.fullmatch(function).groups()
    return int(source), int(target or source)


def softfloat_call(function: str, operands, rounding: str, tininess: str = "after"):
    """Run SoftFloat's ``function`` ("f32_to_f16", "f16_mulAdd", ...) on rows of operand bits.

    Returns the result bits (uint64) and SoftFloat's exception flags (uint8), case by case.
    """
    source, target = widths(function)
    call = getattr(_C, function)
    set_bits, get_bits = getattr(_C, f"float{source}_t_v_set"), getattr(_C, f"float{target}_t_v_get")
    arguments = [getattr(_C, f"new_float{source}_t")() for _ in operands]
    state = softfloat.cvar
    state.softfloat_roundingMode = SOFTFLOAT_ROUNDING[rounding]
    state.softfloat_detectTininess = SOFTFLOAT_TININESS[tininess]
    results, flags = [], []
    for row in zip(*(np.asarray(a).tolist() for a in operands), strict=True):
        for argument, bits in zip(arguments, row, strict=True):
            set_bits(argument, bits)
        state.softfloat_exceptionFlags = 0
        results.append(get_bits(call(*arguments)))
        flags.append(state.softfloat_exceptionFlags)
    return np.array(results, np.uint64), np.array(flags, np.uint8)


def test_softfloat_oracle_answers_a_known_case_in_testfloat_layout():
    # TestFloat's own example line: 3F800001 3C00 01 (float32 1 + 2**-23 -> float16 1.0, inexact)
    results, flags = softfloat_call("f32_to_f16", [np.array([0x3F800001])], "nearest_even")
    assert (int(results[0]), int(flags[0])) == (0x3C00, FLAG_INEXACT)


def test_softfloat_defines_no_bfloat16():
    # why bfloat16 has no SoftFloat comparison here: SoftFloat 3 knows binary16, 32, 64, 80 and 128 only
    assert not [name for name in dir(softfloat) if "bf16" in name.lower() or "bfloat" in name.lower()]


# ------------------------------------------------------------------ case sets


def uniform_bits(width: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 1 << width, size, dtype=np.uint64)


def sample(array: np.ndarray, size: int, seed: int) -> np.ndarray:
    """A seeded sample of at most ``size`` elements (all of them when there are fewer)."""
    if array.size <= size:
        return array
    return array[np.sort(np.random.default_rng(seed).choice(array.size, size, replace=False))]


def special_operands(width: int) -> np.ndarray:
    """Both signs of: 0, the smallest and largest subnormal, the smallest normal, 1, 1 + ulp, 1.5, 2,
    max - ulp, max, inf, a quiet and a signalling NaN."""
    man_bits = {16: 10, 32: 23}[width]
    infinity = ((1 << (width - 1 - man_bits)) - 1) << man_bits
    one = FLOATS[width](1).view(UINTS[width]).item()
    magnitudes = [0, 1, (1 << man_bits) - 1, 1 << man_bits, one, one + 1, one | (1 << (man_bits - 1)),
                  one + (1 << man_bits), infinity - 2, infinity - 1, infinity, infinity | (1 << (man_bits - 1)),
                  infinity | 1]  # fmt: skip
    magnitudes = np.array(magnitudes, np.uint64)
    return np.concatenate([magnitudes, magnitudes | np.uint64(1 << (width - 1))])


CASTS = ["f16_to_f32", "f32_to_f16", "f64_to_f16", "f64_to_f32"]
INPUT_NAMES = {16: "float16", 32: "float32", 64: "float64"}


@functools.cache
def cast_cases(function: str) -> np.ndarray:
    """Input bits for a cast: the vector generator's hard cases (sampled), specials, uniform random bits."""
    source, target = widths(function)
    hard = make_vectors(FORMATS[target], "encode", dtype=INPUT_NAMES[source], count=2048, seed=source + target)
    specials = special_operands(source) if source < 64 else _widened_specials()
    if source > target:  # a narrowing cast: its rounding thresholds too
        specials = np.concatenate([specials, thresholds(source, FORMATS[target])])
    return np.concatenate([sample(hard.operands[0], 6144, seed=1), specials, uniform_bits(source, 2048, seed=2)])


def thresholds(source: int, fmt) -> np.ndarray:
    """Input bits at and one input ulp around the thresholds of a cast into ``fmt``, of both signs: the tie
    above 1, the overflow threshold max + ulp/2, half the smallest subnormal, and the tininess threshold
    (above it a value below the smallest normal rounds up to it with an unbounded exponent)."""
    m = fmt.man_bits
    points = np.array([1 + 2.0 ** -(m + 1), fmt.max + 2.0 ** (fmt.emax - m - 1), fmt.smallest_subnormal / 2,
                       fmt.smallest_normal * (1 - 2.0 ** -(m + 2))], FLOATS[source])  # fmt: skip
    bits = points.view(UINTS[source]).astype(np.uint64)
    bits = np.concatenate([bits - np.uint64(1), bits, bits + np.uint64(1)])
    return np.concatenate([bits, bits | np.uint64(1 << (source - 1))])


def _widened_specials() -> np.ndarray:
    """float64 bit patterns of the float32 specials and their neighbours: the thresholds of float32 and float16."""
    singles = special_operands(32).astype(np.uint32).view(np.float32)
    with np.errstate(invalid="ignore"):
        wide = singles[~np.isnan(singles)].astype(np.float64).view(np.uint64)
    nans = np.array([0x7FF8000000000000, 0x7FF0000000000001, 0xFFF8000000000001, 0xFFF0000000000001], np.uint64)
    return np.concatenate([wide, wide + np.uint64(1), wide - np.uint64(1), nans])


@functools.cache
def op_cases(width: int, op: str) -> tuple[np.ndarray, ...]:
    """Operand bits for an operation: hard cases of the vector generator (sampled), every combination of
    the special operands, and uniform random bits."""
    lowfloat_op = "fma" if op == "mulAdd" else op
    arity = reference.OPERATIONS[lowfloat_op]
    hard = make_vectors(FORMATS[width], lowfloat_op, count=2048, seed=width)
    keep = sample(np.arange(len(hard)), 6144, seed=3)
    specials = special_operands(width)
    grid = np.meshgrid(*([specials] * arity), indexing="ij")
    random = [uniform_bits(width, 2048, seed=4 + i) for i in range(arity)]
    return tuple(np.concatenate([hard.operands[i][keep], grid[i].ravel(), random[i]]) for i in range(arity))


def test_case_sets_hold_the_hard_cases():
    # what the sets claim, seen through SoftFloat's own answers: ties (the two nearest modes differ), every
    # flag combination of a cast, results that depend on tininess, exact zeros from nonzero operands
    for function in CASTS[1:]:
        bits = cast_cases(function)
        even, flags = softfloat_call(function, [bits], "nearest_even", "after")
        away, _ = softfloat_call(function, [bits], "nearest_away", "after")
        _, before = softfloat_call(function, [bits], "nearest_even", "before")
        assert np.count_nonzero(even != away) > 100, function
        assert set(np.unique(flags).tolist()) == {0, 1, 3, 5, 16}, function
        assert np.count_nonzero(flags != before) >= 4, function
    for width, op in OP_CASES:
        operands = op_cases(width, op)
        results, flags = softfloat_call(f"f{width}_{op}", operands, "nearest_even")
        nonzero = np.all([(a << np.uint64(65 - width)) != 0 for a in operands], axis=0)
        zero_result = (results << np.uint64(65 - width)) == 0
        assert np.count_nonzero(flags == FLAG_INVALID) > 100, (width, op)
        if op != "sqrt":
            assert np.count_nonzero(flags == FLAG_OVERFLOW | FLAG_INEXACT) > 30, (width, op)
        if op in ("add", "sub", "mulAdd"):
            assert np.count_nonzero(nonzero & zero_result) > 30, (width, op)
        if op in ("mul", "mulAdd"):
            _, before = softfloat_call(f"f{width}_{op}", operands, "nearest_even", "before")
            assert np.count_nonzero(flags != before) > 5, (width, op)


# ------------------------------------------------------------------ comparisons


def is_nan_bits(bits: np.ndarray, width: int) -> np.ndarray:
    return np.isnan(bits.astype(UINTS[width]).view(FLOATS[width]))


def assert_results_and_flags_equal(context, operands, width, got, got_flags, expected, expected_flags, tolerated=None):
    """Equal results (NaN as NaN) and equal flags, except the ``tolerated`` flag differences; lists the first cases."""
    same = (got == expected) | (is_nan_bits(got, width) & is_nan_bits(expected, width))
    same_flags = got_flags == expected_flags
    if tolerated is not None:
        same_flags |= tolerated
    if same.all() and same_flags.all():
        return
    bad = np.flatnonzero(~(same & same_flags))
    rows = [" ".join(f"{int(a[i]):X}" for a in operands)
            + f" -> lowfloat {int(got[i]):X} {int(got_flags[i]):02X}, SoftFloat {int(expected[i]):X} "
              f"{int(expected_flags[i]):02X}" for i in bad[:10]]  # fmt: skip
    raise AssertionError(f"{context}: {bad.size} of {got.size} cases differ "
                         f"({np.count_nonzero(~same)} results, {np.count_nonzero(~same_flags)} flags):\n  "
                         + "\n  ".join(rows))  # fmt: skip


def softfloat_misses_overflow(function: str, rounding: str, results, flags, lowfloat_flags) -> np.ndarray:
    """The cases where the packaged SoftFloat's f16_add/f16_sub omit OVERFLOW (see the module docstring):
    a result of -inf toward negative with SoftFloat's flags INEXACT where lowfloat's are OVERFLOW|INEXACT."""
    if function not in ("f16_add", "f16_sub") or rounding != "toward_negative":
        return np.zeros(results.shape, bool)
    return (results == 0xFC00) & (flags == FLAG_INEXACT) & (lowfloat_flags == FLAG_OVERFLOW | FLAG_INEXACT)


# ------------------------------------------------------------------ casts


@pytest.mark.parametrize("tininess", TININESS)
@pytest.mark.parametrize("rounding", DETERMINISTIC_MODES)
@pytest.mark.parametrize("function", CASTS)
def test_cast_equals_softfloat_results_and_flags(function, rounding, tininess):
    source, target = widths(function)
    bits = cast_cases(function)
    flags = np.zeros(bits.size, np.uint8)
    codes = lf.encode(bits.astype(UINTS[source]).view(FLOATS[source]), FORMATS[target], rounding=rounding,
                      tininess=tininess, flags=flags)  # fmt: skip
    expected, expected_flags = softfloat_call(function, [bits], rounding, tininess)
    assert_results_and_flags_equal(f"{function} {rounding} tininess {tininess}", [bits], target,
                                   codes.astype(np.uint64), flags, expected, expected_flags)  # fmt: skip


@pytest.mark.parametrize("rounding", DETERMINISTIC_MODES)
@pytest.mark.parametrize("function", CASTS)
def test_cast_reference_equals_softfloat_results_and_flags(function, rounding):
    source, target = widths(function)
    bits = sample(cast_cases(function), 300, seed=5)
    values = bits.astype(UINTS[source]).view(FLOATS[source])
    for tininess in TININESS:
        expected, expected_flags = softfloat_call(function, [bits], rounding, tininess)
        spec = [reference.encode_flags(x, FORMATS[target], rounding=rounding, tininess=tininess) for x in values]
        assert_results_and_flags_equal(f"reference {function} {rounding} tininess {tininess}", [bits], target,
                                       np.array([c for c, _ in spec], np.uint64), np.array([f for _, f in spec],
                                       np.uint8), expected, expected_flags)  # fmt: skip


# ------------------------------------------------------------------ operations

OPS = ["add", "sub", "mul", "div", "mulAdd", "sqrt"]
OP_CASES = [(width, op) for width in (16, 32) for op in OPS if (width, op) != (32, "sqrt")]


def lowfloat_op(op: str, operands, width: int, rounding: str, tininess: str):
    """lowfloat's result bits and flags for operands given as bits of float``width``."""
    values = [a.astype(UINTS[width]).view(FLOATS[width]) for a in operands]  # signalling NaNs stay signalling
    flags = np.zeros(operands[0].size, np.uint8)
    function = getattr(lf, "fma" if op == "mulAdd" else op)
    result = np.asarray(function(*values, FORMATS[width], rounding=rounding, tininess=tininess, flags=flags))
    return result.astype(FLOATS[width]).view(UINTS[width]).astype(np.uint64), flags  # exact: on the grid


@pytest.mark.parametrize("tininess", TININESS)
@pytest.mark.parametrize("rounding", DETERMINISTIC_MODES)
@pytest.mark.parametrize(("width", "op"), OP_CASES, ids=[f"f{w}_{op}" for w, op in OP_CASES])
def test_operation_equals_softfloat_results_and_flags(width, op, rounding, tininess):
    operands = op_cases(width, op)
    got, got_flags = lowfloat_op(op, operands, width, rounding, tininess)
    function = f"f{width}_{op}"
    expected, expected_flags = softfloat_call(function, operands, rounding, tininess)
    tolerated = softfloat_misses_overflow(function, rounding, expected, expected_flags, got_flags)
    assert_results_and_flags_equal(f"{function} {rounding} tininess {tininess}", operands, width, got, got_flags,
                                   expected, expected_flags, tolerated)  # fmt: skip


@pytest.mark.parametrize("rounding", DETERMINISTIC_MODES)
@pytest.mark.parametrize(("width", "op"), OP_CASES, ids=[f"f{w}_{op}" for w, op in OP_CASES])
def test_operation_reference_equals_softfloat_results_and_flags(width, op, rounding):
    operands = tuple(sample(a, 200, seed=6) for a in op_cases(width, op))
    values = [a.astype(UINTS[width]).view(FLOATS[width]) for a in operands]
    function = f"f{width}_{op}"
    for tininess in TININESS:
        expected, expected_flags = softfloat_call(function, operands, rounding, tininess)
        spec = [reference.arithmetic("fma" if op == "mulAdd" else op, row, FORMATS[width], rounding=rounding,
                                     tininess=tininess) for row in zip(*values, strict=True)]  # fmt: skip
        got = np.array([v for v, _ in spec], np.float64).astype(FLOATS[width]).view(UINTS[width]).astype(np.uint64)
        got_flags = np.array([f for _, f in spec], np.uint8)
        tolerated = softfloat_misses_overflow(function, rounding, expected, expected_flags, got_flags)
        assert_results_and_flags_equal(f"reference {function} {rounding} tininess {tininess}", operands, width, got,
                                       got_flags, expected, expected_flags, tolerated)  # fmt: skip


@pytest.mark.parametrize("rounding", DETERMINISTIC_MODES)
@pytest.mark.parametrize("op", ["add", "sub", "mulAdd"])
def test_exact_zero_result_has_the_sign_softfloat_gives(op, rounding):
    # IEEE 754 6.3: x + (-x), x - x, and x * y + z cancelling exactly, are +0 -- but -0 toward negative
    x = np.array([0x3C00, 0x0001, 0x7BFF, 0x0000, 0x8000, 0x0000, 0x8000], np.uint64)
    y = np.array([0xBC00, 0x8001, 0xFBFF, 0x8000, 0x0000, 0x0000, 0x8000], np.uint64)
    if op == "sub":
        y = y ^ np.uint64(0x8000)
    operands = (x, y) if op != "mulAdd" else (x, np.full(x.size, 0x3C00, np.uint64), y)
    got, got_flags = lowfloat_op(op, operands, 16, rounding, "after")
    expected, expected_flags = softfloat_call(f"f16_{op}", operands, rounding)
    assert_results_and_flags_equal(f"f16_{op} {rounding}", operands, 16, got, got_flags, expected, expected_flags)
    cancelled = got[:3]  # the three cancellations of nonzero operands
    assert (cancelled == (0x8000 if rounding == "toward_negative" else 0x0000)).all()


# ------------------------------------------------------------------ SoftFloat's two defects


def test_negative_sum_overflowing_by_a_tiny_addend_raises_overflow():
    # -65504 - 2**-14 toward negative: the exact sum lies below -max, so it rounds to -inf, an overflow
    # (IEEE 754 7.4); SoftFloat agrees for the positive mirror image and for float32
    flags = np.zeros(2, np.uint8)
    result = lf.add(np.float16([-65504.0, 65504.0]), np.float16([-(2.0**-14), 2.0**-14]), "fp16",
                    rounding="toward_negative", flags=flags)  # fmt: skip
    assert result.tolist() == [-math.inf, 65504.0]
    assert flags.tolist() == [FLAG_OVERFLOW | FLAG_INEXACT, FLAG_INEXACT]
    mirror = softfloat_call("f16_add", [np.array([0x7BFF]), np.array([0x0400])], "toward_positive")
    single = softfloat_call("f32_add", [np.array([0xFF7FFFFF]), np.array([0x80800000])], "toward_negative")
    assert [(int(r[0]), int(f[0])) for r, f in (mirror, single)] == [(0x7C00, 5), (0xFF800000, 5)]


@pytest.mark.xfail(strict=True, reason="the packaged SoftFloat's f16_add omits OVERFLOW for a negative sum that "
                                       "overflows by an addend below half an ulp (IEEE 754 7.4 requires it)")
def test_softfloat_f16_add_raises_overflow_for_a_negative_sum():
    results, flags = softfloat_call("f16_add", [np.array([0xFBFF]), np.array([0x8400])], "toward_negative")
    assert (int(results[0]), int(flags[0])) == (0xFC00, FLAG_OVERFLOW | FLAG_INEXACT)


@pytest.mark.xfail(strict=True, reason="the packaged SoftFloat's f32_sqrt is wrong: sqrt(4) = 0x3FC545F0 (~1.54)")
def test_softfloat_f32_sqrt_equals_lowfloat():
    squares = np.float32([1.0, 2.0, 4.0, 9.0, 2.25]).view(np.uint32).astype(np.uint64)
    got, got_flags = lowfloat_op("sqrt", (squares,), 32, "nearest_even", "after")
    expected, expected_flags = softfloat_call("f32_sqrt", [squares], "nearest_even")
    assert_results_and_flags_equal("f32_sqrt", [squares], 32, got, got_flags, expected, expected_flags)


def _neighbours_float32(r: np.ndarray):
    """The float32 values just below and above non-negative finite float32 values (max's upper one is inf)."""
    return np.nextafter(r, np.float32(-np.inf)), np.nextafter(r, np.float32(np.inf))


@pytest.mark.parametrize("rounding", DETERMINISTIC_MODES)
def test_float32_sqrt_is_the_exact_root_rounded(rounding):
    # the definition, exactly: r rounds sqrt(x) when the exact squares of r's neighbours (or of the
    # midpoints between them and r) bracket x; IEEE 754 sqrt in float32 is never a tie, so nearest_away and
    # nearest_even agree -- and nearest_even is numpy's own float32 sqrt
    bits = np.concatenate([sample(op_cases(32, "sqrt")[0], 4000, seed=7), special_operands(32)])
    x = bits.astype(np.uint32).view(np.float32)
    flags = np.zeros(x.size, np.uint8)
    r = lf.sqrt(x, "fp32", rounding=rounding, flags=flags)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(r, np.sqrt(x) if rounding.startswith("nearest") else r)
    signalling = np.isnan(x) & ((bits & np.uint64(1 << 22)) == 0)
    invalid = signalling | ((x < 0) & ~np.isnan(x))
    np.testing.assert_array_equal(flags & FLAG_INVALID, np.where(invalid, FLAG_INVALID, 0))
    finite = np.isfinite(x) & (x > 0)
    below, above = _neighbours_float32(r[finite])
    for xi, ri, lo, hi, fi in zip(x[finite], r[finite], below, above, flags[finite], strict=True):
        exact, root = Fraction(float(xi)), Fraction(float(ri))
        if rounding.startswith("nearest"):
            low, high = (root + Fraction(float(lo))) / 2, (root + Fraction(float(hi))) / 2
            assert low * low < exact < high * high, (xi, ri)
        elif rounding == "toward_positive":
            assert Fraction(float(lo)) ** 2 < exact <= root * root, (xi, ri)
        else:  # toward zero and toward negative: the root's magnitude is not above sqrt(x)
            assert root * root <= exact < Fraction(float(hi)) ** 2, (xi, ri)
        assert fi == (FLAG_INEXACT if root * root != exact else 0), (xi, ri, fi)


# ------------------------------------------------------------------ the vector files, as a C team checks them


@pytest.mark.parametrize("tininess", TININESS)
@pytest.mark.parametrize("rounding", DETERMINISTIC_MODES)
def test_vector_file_for_float32_to_float16_equals_softfloat_line_by_line(rounding, tininess):
    text = io.StringIO()
    write_vectors(text, "fp16", "encode", dtype="float32", rounding=rounding, tininess=tininess, count=1000, seed=9)
    lines = sample(np.array(text.getvalue().splitlines()), 3000, seed=10)
    operands, results, flags = (np.array([int(line.split()[i], 16) for line in lines], np.uint64) for i in range(3))
    expected, expected_flags = softfloat_call("f32_to_f16", [operands], rounding, tininess)
    assert_results_and_flags_equal(f"vectors f32 -> f16 {rounding} {tininess}", [operands], 16, results,
                                   flags.astype(np.uint8), expected, expected_flags)  # fmt: skip


@pytest.mark.parametrize("op", ["add", "mulAdd", "sqrt"])
def test_vector_file_for_float16_operations_equals_softfloat_line_by_line(op):
    text = io.StringIO()
    write_vectors(text, "fp16", "fma" if op == "mulAdd" else op, rounding="toward_negative", count=500, seed=11)
    rows = np.array([[int(field, 16) for field in line.split()] for line in text.getvalue().splitlines()], np.uint64)
    rows = rows[sample(np.arange(len(rows)), 3000, seed=12)]
    operands = tuple(rows[:, i] for i in range(rows.shape[1] - 2))
    expected, expected_flags = softfloat_call(f"f16_{op}", operands, "toward_negative")
    tolerated = softfloat_misses_overflow(f"f16_{op}", "toward_negative", expected, expected_flags,
                                          rows[:, -1].astype(np.uint8))  # fmt: skip
    assert_results_and_flags_equal(f"vectors f16_{op}", operands, 16, rows[:, -2], rows[:, -1].astype(np.uint8),
                                   expected, expected_flags, tolerated)  # fmt: skip
