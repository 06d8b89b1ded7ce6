"""lowfloat.testing's hard cases, exhaustive batches and random cases: they hold what they claim.

Each kind of hard case is checked against an exact oracle written here with
Python fractions and lowfloat.reference (:func:`holds_kind`), not with the
vectorised code that built it.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import lowfloat as lf
from lowfloat import reference
from lowfloat.testing import KINDS, exhaustive_batches, hard_cases, random_cases
from lowfloat.testing.inputs import input_type

INPUTS = ["float16", "bfloat16", "float32", "float64"]
FORMATS = ["float8_e4m3fn", "float8_e5m2", "float16", "bfloat16", "float8_e8m0fnu", "float4_e2m1fn",
           "float8_e4m3fnuz", "tensorfloat32", "float32"]  # fmt: skip


def input_bits(x, source) -> int:
    return int(source.to_bits(np.array([x], dtype=source.storage))[0])


def input_neighbours(x, source) -> tuple[Fraction, Fraction]:
    """The exact values of the input type's neighbours of a positive finite input (one bit pattern away)."""
    bits = input_bits(x, source)
    below, above = source.from_bits(np.array([bits - 1, bits + 1], dtype=source.uint)).astype(np.float64)
    return Fraction(float(below)), Fraction(float(above)) if math.isfinite(above) else math.inf


def exact(x) -> Fraction:
    return Fraction(float(x))


def holds_kind(kind: str, x, fmt, source) -> bool:
    """Whether the input ``x`` is of ``kind`` for casting ``source`` into ``fmt``, decided exactly."""
    fmt = lf.get_format(fmt)
    value = float(x)
    if kind == "zero":
        return value == 0
    if kind == "inf":
        return math.isinf(value)
    if kind in ("nan", "snan"):
        quiet = bool(input_bits(x, source) & source.quiet_bit)
        return math.isnan(value) and quiet == (kind == "nan")
    if not math.isfinite(value) or value == 0:
        return False
    magnitude = abs(exact(x))
    lo, hi = reference.neighbours(magnitude, fmt)
    smallest_subnormal = Fraction(fmt.smallest_subnormal)
    if kind == "grid":
        return lo == magnitude and magnitude <= fmt.max_exact
    if kind == "midpoint":
        return magnitude == (lo + hi) / 2 and hi <= fmt.max_exact
    if kind == "near_midpoint":  # the nearest input on one side of a tie (the tie itself excluded)
        middle = (lo + hi) / 2
        below, above = input_neighbours(abs(value), source)
        return lo < magnitude < hi and magnitude != middle and below <= middle <= above and hi <= fmt.max_exact
    if kind == "tiny":
        return magnitude < smallest_subnormal / 2
    if kind == "boundary":
        targets = [Fraction(fmt.smallest_normal), smallest_subnormal, Fraction(source.smallest_normal),
                   Fraction(source.smallest_subnormal), Fraction(source.smallest_normal - source.smallest_subnormal),
                   Fraction(fmt.smallest_normal) - smallest_subnormal,
                   Fraction(fmt.smallest_normal) * (1 - Fraction(1, 2 ** (fmt.man_bits + 2)))]  # fmt: skip
        below, above = input_neighbours(abs(value), source)
        return any(below <= t <= above for t in targets)
    if kind == "overflow":
        below_max = reference.magnitude_of_code(fmt.max_code_magnitude - 1, fmt)
        _, above = input_neighbours(abs(value), source)
        largest_input = input_bits(abs(value), source) + 1 >= source.max_bits
        return above >= below_max or largest_input  # at the top of either range, or the input just below it
    raise AssertionError(kind)


@pytest.mark.parametrize("dtype", INPUTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_hard_case_is_of_its_kind_and_of_the_input_type(fmt, dtype):
    source = input_type(dtype)
    for kind in KINDS:
        x = hard_cases(fmt, dtype, kinds=[kind])
        assert x.dtype == source.storage and x.ndim == 1
        assert source.holds(x).all()
        bits = source.to_bits(x)
        assert np.unique(bits).size == bits.size, f"{kind}: an input listed twice"
        # both signs of every input
        assert np.array_equal(np.sort(bits[: bits.size // 2] | source.sign_bit), np.sort(bits[bits.size // 2 :]))
        sample = x[:: max(1, x.size // 300)]  # the exact oracle is slow: every input of small kinds, a sample of large
        wrong = [float(v) for v in sample if not holds_kind(kind, v, fmt, source)]
        assert not wrong, f"{fmt} {dtype} {kind}: {wrong[:5]}"


def test_hard_cases_are_a_new_writable_array_each_call():
    first = hard_cases("e4m3", "float32")
    first[...] = 0
    assert first.flags.writeable and (hard_cases("e4m3", "float32").view(np.uint32) != 0).any()


def test_bfloat16_hard_cases_are_float32_holding_bfloat16_values():
    x = hard_cases("e4m3", "bfloat16")
    assert x.dtype == np.float32
    assert (x.view(np.uint32) & 0xFFFF == 0).all()
    snan = hard_cases("e4m3", "bf16", kinds=["snan"]).view(np.uint32) >> 16
    assert {0x7F81, 0xFF81} <= set(snan.tolist())  # a signalling NaN stays signalling


def test_e4m3_float64_hard_cases_hold_the_issue_probes():
    # the 126 midpoints between neighbouring positive finite E4M3 values, and their float64 neighbours
    x = hard_cases("e4m3", "float64")
    positive = [reference.magnitude_of_code(c, lf.get_format("e4m3")) for c in range(127)]
    midpoints = [float((a + b) / 2) for a, b in zip(positive, positive[1:], strict=False)]
    assert len(midpoints) == 126
    have = set(x.tolist())
    assert set(midpoints) <= have
    assert {math.nextafter(m, math.inf) for m in midpoints} <= have
    assert {math.nextafter(m, 0) for m in midpoints} <= have
    assert {-m for m in midpoints} <= have
    assert {0.0, 448.0, 464.0, math.nextafter(464.0, math.inf), 480.0, math.inf, -math.inf} <= have
    assert 2.0**-10 in have and math.nextafter(2.0**-10, 0) in have  # half the smallest subnormal, and below


@pytest.mark.parametrize("kind", ["midpoint", "near_midpoint"])
def test_a_16_bit_input_into_its_own_format_has_no_midpoints(kind):
    assert hard_cases("fp16", "float16", kinds=[kind]).size == 0
    assert hard_cases("bf16", "bfloat16", kinds=[kind]).size == 0


def test_wide_formats_sample_every_exponent():
    x = hard_cases("fp32", "float64", kinds=["grid"])
    exponents = set(np.frexp(np.abs(x))[1].tolist())
    assert len(exponents) == 254 + 23  # every normal binade and every subnormal one


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_level_2_is_every_bit_pattern_of_a_16_bit_input(dtype):
    source = input_type(dtype)
    x = hard_cases("e4m3", dtype, level=2)
    assert x.size == 65536 and x.dtype == source.storage
    assert np.array_equal(source.to_bits(x), np.arange(65536, dtype=np.uint16))


def test_level_2_refuses_wide_inputs_and_points_at_the_batches():
    with pytest.raises(ValueError, match="exhaustive_batches"):
        hard_cases("e4m3", "float32", level=2)
    with pytest.raises(ValueError, match="2\\*\\*64"):
        hard_cases("e4m3", "float64", level=2)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: hard_cases("e4m3", "float32", level=3), "level must be 1"),
        (lambda: hard_cases("e4m3", "float32", level=True), "level must be 1"),
        (lambda: hard_cases("e4m3", "float32", kinds=["ties"]), "unknown kind 'ties'"),
        (lambda: hard_cases("e4m3", "int8"), "dtype must be one of"),
        (lambda: hard_cases("e9m9", "float32"), "e9m9"),
        (lambda: hard_cases("e4m3", "float16", level=2, kinds=["zero"]), "level 1"),
        (lambda: list(exhaustive_batches("float64")), "too many"),
        (lambda: list(exhaustive_batches("float16", 0)), "batch_size"),
        (lambda: list(exhaustive_batches("float16", start=5, stop=2)), "start <= stop"),
        (lambda: random_cases("e4m3", "float32", -1), "size"),
    ],
)
def test_bad_arguments_are_refused_by_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_exhaustive_batches_walk_every_input_once_in_order():
    batches = list(exhaustive_batches("bfloat16", 10_000))
    assert [b.size for b in batches] == [10_000] * 6 + [5536]
    bits = np.concatenate([input_type("bf16").to_bits(b) for b in batches])
    assert np.array_equal(bits, np.arange(65536, dtype=np.uint16))
    part = list(exhaustive_batches("float32", 3, start=0x3F800000, stop=0x3F800005))
    assert [b.tolist() for b in part] == [[1.0, 1 + 2**-23, 1 + 2**-22], [1 + 3 * 2**-23, 1 + 2**-21]]


@pytest.mark.parametrize("dtype", INPUTS)
def test_random_cases_repeat_with_the_seed_and_mix_their_three_kinds(dtype):
    source = input_type(dtype)
    x = random_cases("e4m3", dtype, 30_000, seed=5)
    assert x.dtype == source.storage and x.size == 30_000 and source.holds(x).all()
    assert np.array_equal(source.to_bits(x), source.to_bits(random_cases("e4m3", dtype, 30_000, seed=5)))
    assert not np.array_equal(source.to_bits(x), source.to_bits(random_cases("e4m3", dtype, 30_000, seed=6)))
    with np.errstate(invalid="ignore"):
        in_range = np.abs(x.astype(np.float64)) <= 4 * lf.get_format("e4m3").max
    assert in_range.mean() > 0.5  # the in-range and nudged thirds, whatever the input type
    hard = set(source.to_bits(hard_cases("e4m3", dtype)).tolist())
    assert len(hard & set(source.to_bits(x).tolist())) > 1000  # nudged by 0 ulps: hard cases themselves
    if dtype == "float64":
        far = (np.abs(x) > 1e30) | (np.abs(x) < 1e-30)
        assert far.mean() > 0.25  # the uniform third lands mostly far outside E4M3's range
