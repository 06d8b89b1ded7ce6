"""lowfloat.sum, dot and matmul against plain loops that round every partial sum the same way.

Oracles: pure-Python loops over exact fractions with lowfloat.reference.quantize
after every addition (the stated order, written out independently), NumPy
float32 loops, np.matmul (shapes, and values where every sum is exact), and
the known effect of a 14-bit accumulator on long FP8 dot products.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from conftest import assert_same_values
from hypothesis import given, settings
from hypothesis import strategies as st

import lowfloat as lf
from lowfloat import reference
from lowfloat.rounding import DETERMINISTIC_MODES

E8M13 = lf.Format(exp_bits=8, man_bits=13, bias=127, specials="ieee")  # a 14-bit significand
ACCUMULATORS = ["float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2", E8M13]


# ------------------------------------------------------------- the loops the tests compare against
def rounded(value: Fraction, fmt, rounding="nearest_even") -> float:
    return reference.quantize(value, fmt, rounding=rounding)


def add_rounded(s, v, fmt, rounding="nearest_even") -> float:
    """``s + v`` exactly, rounded once; IEEE 754 arithmetic once a partial sum is inf or NaN."""
    if not (np.isfinite(s) and np.isfinite(v)):
        with np.errstate(invalid="ignore"):
            return reference.quantize(float(np.float64(s) + np.float64(v)), fmt, rounding=rounding)
    return rounded(Fraction(s) + Fraction(v), fmt, rounding)


def sequential_sum(values, fmt, rounding="nearest_even") -> float:
    s = 0.0
    for v in values:
        s = add_rounded(s, v, fmt, rounding)
    return s


def pairwise_sum(values, fmt, rounding="nearest_even") -> float:
    """Adjacent pairs, level by level; an odd last value goes up unchanged."""
    if len(values) == 0:
        return 0.0
    level = list(values)
    while len(level) > 1:
        pairs = [add_rounded(level[i], level[i + 1], fmt, rounding) for i in range(0, len(level) - 1, 2)]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return add_rounded(0.0, level[0], fmt, rounding)


def loop_matmul(a, b, acc_fmt, promote_every=None, out_fmt="float32", rounding="nearest_even"):
    """2-D a @ b by the definition: exact products, rounded partial sums, float32 promotion, output rounding."""
    m, k = a.shape
    n = b.shape[1]
    chunk = promote_every or max(k, 1)
    out = np.empty((m, n))
    for i in range(m):
        for j in range(n):
            main = 0.0
            for k0 in range(0, k, chunk):
                part = 0.0
                for t in range(k0, min(k0 + chunk, k)):
                    exact = Fraction(part) + Fraction(float(a[i, t])) * Fraction(float(b[t, j]))
                    part = rounded(exact, acc_fmt, rounding)
                main = rounded(Fraction(main) + Fraction(part), "float32") if promote_every else part
            out[i, j] = rounded(Fraction(main), out_fmt)
    return out


def assert_same_numbers(got, want):
    """Equal as numbers (NaN equals NaN; the sign of zero is not compared: the loops start at +0, lowfloat at -0)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    assert same.all(), f"got {got[~same]}, expected {want[~same]}"


def grid_values(fmt, shape, rng, scale=1.0) -> np.ndarray:
    """Random normals times ``scale``, rounded onto ``fmt``'s grid, as float32."""
    return lf.quantize((rng.standard_normal(shape) * scale).astype(np.float32), fmt)


# ------------------------------------------------------------- sum
@settings(max_examples=40)
@given(
    values=st.lists(st.floats(-1e3, 1e3, allow_subnormal=False), max_size=12),
    fmt=st.sampled_from(["bfloat16", "float16", "float8_e4m3fn", "float8_e5m2", "float6_e2m3fn"]),
    rounding=st.sampled_from(DETERMINISTIC_MODES),
    order=st.sampled_from(["sequential", "pairwise"]),
)
def test_sum_equals_a_loop_rounding_every_partial_sum(values, fmt, rounding, order):
    loop = sequential_sum if order == "sequential" else pairwise_sum
    got = lf.sum(np.array(values, np.float64), fmt, order=order, rounding=rounding)
    assert_same_numbers(got, loop(values, fmt, rounding))


def test_pairwise_tree_of_five_values_is_stated_one():
    x = [1.0, 2**-8, 2**-8, 2**-8, 2**-8]  # ((1 + a) + (a + a)) + a in bfloat16
    assert float(lf.sum(x, "bf16", order="pairwise")) == 1 + 2**-6
    assert float(lf.sum(x, "bf16")) == 1.0  # every 2**-8 is a tie that goes back to 1


def test_sum_along_an_axis_sums_each_row():
    rng = np.random.default_rng(4)
    x = grid_values("bf16", (3, 5, 7), rng)
    got = lf.sum(x, "bf16", axis=1)
    assert got.shape == (3, 7) and got.dtype == np.float32
    for i in range(3):
        for j in range(7):
            assert got[i, j] == sequential_sum(x[i, :, j].tolist(), "bf16")


def test_float16_sum_stagnates_and_stochastic_rounding_does_not():
    x = np.full(10_000, 1e-4)
    assert float(lf.sum(x, "fp16")) == 0.25
    assert abs(float(lf.sum(x, "fp16", rounding="stochastic", rng=0)) - 1.0) < 0.05


def test_empty_and_negative_zero_sums():
    assert float(lf.sum([], "bf16")) == 0.0
    assert np.signbit(lf.sum([-0.0, -0.0], "bf16"))


# ------------------------------------------------------------- dot
@settings(max_examples=30)
@given(
    n=st.integers(1, 20),
    seed=st.integers(0, 2**16),
    fmt=st.sampled_from(["bfloat16", "float16", "float8_e4m3fn", E8M13]),
    order=st.sampled_from(["sequential", "pairwise"]),
)
def test_dot_equals_a_loop_over_exact_products(n, seed, fmt, order):
    rng = np.random.default_rng(seed)
    a, b = grid_values("bf16", n, rng), grid_values("e4m3", n, rng, 4.0)
    products = [float(x) * float(y) for x, y in zip(a, b, strict=True)]  # exact: float32 values
    loop = sequential_sum if order == "sequential" else pairwise_sum
    got = lf.dot(a, b, fmt, order=order)
    assert got.dtype == np.float32
    assert_same_numbers(got, loop(products, fmt))


def test_dot_broadcasts_leading_axes():
    rng = np.random.default_rng(5)
    a, b = grid_values("bf16", (4, 1, 9), rng), grid_values("bf16", (3, 9), rng)
    got = lf.dot(a, b, "bf16")
    assert got.shape == (4, 3)
    assert got[2, 1] == lf.dot(a[2, 0], b[1], "bf16")


# ------------------------------------------------------------- matmul
@pytest.mark.parametrize("accumulate", ACCUMULATORS, ids=str)
@pytest.mark.parametrize("promote_every", [None, 3])
def test_matmul_equals_the_defining_loop(accumulate, promote_every):
    rng = np.random.default_rng(6)
    a, b = grid_values("e4m3", (3, 10), rng), grid_values("e4m3", (10, 4), rng)
    got = lf.matmul(a, b, accumulate=accumulate, promote_every=promote_every)
    assert_same_numbers(got, loop_matmul(a, b, accumulate, promote_every))


@pytest.mark.parametrize("rounding", ["nearest_away", "toward_zero", "toward_positive", "toward_negative"])
def test_matmul_directed_rounding_equals_the_loop(rounding):
    rng = np.random.default_rng(8)
    a, b = grid_values("bf16", (2, 12), rng), grid_values("bf16", (12, 3), rng)
    got = lf.matmul(a, b, accumulate="bf16", rounding=rounding, out_format="e5m2")
    assert_same_numbers(got, loop_matmul(a, b, "bf16", out_fmt="e5m2", rounding=rounding))


def test_matmul_float32_accumulation_equals_a_float32_loop():
    # bfloat16 operands: every product is exact in float32, so the plain float32 loop is the definition
    rng = np.random.default_rng(9)
    a, b = grid_values("bf16", (2, 5, 64), rng), grid_values("bf16", (2, 64, 6), rng)
    got = lf.matmul(a, b)
    want = np.zeros((2, 5, 6), np.float32)
    for t in range(64):
        want = (want + a[:, :, t, None] * b[:, None, t, :]).astype(np.float32)
    assert got.dtype == np.float32
    assert_same_values(got, want)


def test_matmul_float32_accumulation_is_a_fused_multiply_add():
    # full float32 operands: the product is exact, unlike in np.float32(acc + np.float32(a * b))
    x, y = np.float32(1 + 2**-23), np.float32(1 - 2**-23)
    z = np.float32(255 + 2**-15 + 2**-16)
    a = np.array([[z, x]], np.float32)
    b = np.array([[1.0], [y]], np.float32)
    assert lf.matmul(a, b)[0, 0] == lf.fma(x, y, z, "float32") == np.float32(256 + 2**-15)


@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [((4,), (4,)), ((4,), (4, 3)), ((2, 4), (4,)), ((5, 1, 2, 4), (3, 4, 2)), ((2, 3, 4), (4, 1)), ((0, 4), (4, 2))],
)
def test_matmul_shapes_follow_np_matmul(shape_a, shape_b):
    rng = np.random.default_rng(10)
    a = rng.integers(-8, 8, shape_a).astype(np.float32)  # small integers: every sum is exact
    b = rng.integers(-8, 8, shape_b).astype(np.float32)
    got = lf.matmul(a, b, accumulate="bf16")
    want = np.matmul(a, b)
    assert np.shape(got) == want.shape
    assert_same_numbers(got, want)


def test_matmul_stochastic_accumulation_repeats_with_a_seed_and_stays_on_the_grid():
    rng = np.random.default_rng(11)
    a, b = grid_values("e4m3", (4, 200), rng), grid_values("e4m3", (200, 4), rng)
    first = lf.matmul(a, b, accumulate="bf16", rounding="stochastic", rng=3, out_format="bf16")
    assert_same_values(lf.matmul(a, b, accumulate="bf16", rounding="stochastic", rng=3, out_format="bf16"), first)
    assert_same_values(lf.quantize(first, "bf16"), first)


def test_14_bit_accumulator_loses_accuracy_at_k_4096_and_promotion_restores_it():
    # DeepSeek-V3 (2024), section 3.3.2: Hopper's FP8 GEMM accumulates in about 14 bits; promoting
    # every 128 products into float32 brings the error back down.  Positive inputs: no cancellation.
    rng = np.random.default_rng(0)
    a = grid_values("e4m3", (16, 4096), rng)
    b = grid_values("e4m3", (4096, 16), rng)
    a, b = np.abs(a), np.abs(b)
    exact = a.astype(np.float64) @ b.astype(np.float64)  # exact: E4M3 products, sums far below 2**53 ulps

    def median_error(**options) -> float:
        result = lf.matmul(a, b, **options).astype(np.float64)
        return float(np.median(np.abs(result - exact) / exact))

    float32 = median_error()
    narrow = median_error(accumulate=E8M13)
    promoted = median_error(accumulate=E8M13, promote_every=128)
    assert float32 < 1e-6
    assert narrow > 1e-3 and narrow > 1000 * float32  # measured 3.3e-3 against 1.4e-7
    assert promoted < 1e-4 and promoted < narrow / 20  # measured 1.7e-5


# ------------------------------------------------------------- bad input
def test_matmul_mismatched_inner_dimensions_raise():
    with pytest.raises(ValueError, match="a has 3 columns but b has 4 rows"):
        lf.matmul(np.ones((2, 3)), np.ones((4, 2)))


def test_matmul_batch_axes_that_do_not_broadcast_raise():
    with pytest.raises(ValueError, match="batch axes do not broadcast"):
        lf.matmul(np.ones((2, 2, 3)), np.ones((3, 3, 2)))


def test_matmul_scalars_raise():
    with pytest.raises(ValueError, match="at least one dimension"):
        lf.matmul(2.0, np.ones(3))


@pytest.mark.parametrize("bad", [0, -128])
def test_matmul_promote_every_not_positive_raises_value_error(bad):
    with pytest.raises(ValueError, match="promote_every must be a positive int"):
        lf.matmul(np.ones((2, 3)), np.ones((3, 2)), promote_every=bad)


@pytest.mark.parametrize("bad", [1.5, "128", True])
def test_matmul_promote_every_not_an_int_raises_type_error(bad):
    with pytest.raises(TypeError, match="promote_every"):
        lf.matmul(np.ones((2, 3)), np.ones((3, 2)), promote_every=bad)


@pytest.mark.parametrize("option", ["accumulate", "out_format"])
def test_matmul_unknown_format_raises(option):
    with pytest.raises(ValueError, match="float7"):
        lf.matmul(np.ones((2, 3)), np.ones((3, 2)), **{option: "float7"})


def test_matmul_values_float32_cannot_hold_raise():
    with pytest.raises(ValueError, match="quantize"):
        lf.matmul(np.full((2, 3), 0.1), np.ones((3, 2)))


def test_matmul_bad_rounding_raises():
    with pytest.raises(ValueError, match="unknown rounding"):
        lf.matmul(np.ones((2, 3)), np.ones((3, 2)), rounding="up")


def test_sum_bad_order_and_axis_raise():
    with pytest.raises(ValueError, match="unknown order"):
        lf.sum([1.0], "bf16", order="tree")
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        lf.sum(np.ones((2, 2)), "bf16", axis=2)
    with pytest.raises(TypeError, match="axis must be None or an int"):
        lf.sum(np.ones((2, 2)), "bf16", axis=(0, 1))
    with pytest.raises(ValueError, match="float7"):
        lf.sum([1.0], "float7")


def test_dot_bad_shapes_raise():
    with pytest.raises(ValueError, match="last axes differ"):
        lf.dot(np.ones(3), np.ones(4), "bf16")
    with pytest.raises(ValueError, match="at least one dimension"):
        lf.dot(1.0, 1.0, "bf16")
    with pytest.raises(ValueError, match="leading axes do not broadcast"):
        lf.dot(np.ones((2, 3)), np.ones((4, 3)), "bf16")
    with pytest.raises(ValueError, match="unknown order"):
        lf.dot(np.ones(3), np.ones(3), "bf16", order=None)
