"""lowfloat.sum, dot and matmul against plain loops that round every partial sum the same way.

Oracles: pure-Python loops over exact fractions with lowfloat.reference.quantize
after every addition (the stated order, written out independently), NumPy
float32 loops, np.matmul (shapes, and values where every sum is exact), the
known effect of a 14-bit accumulator on long FP8 dot products, and -- for the
tiled, SIMD, float32-lane matmul kernel -- a plain loop over one output
element at a time that rounds each partial sum with the element kernels, as
the matmul kernel did before it was tiled (``element_loop``).
"""

from __future__ import annotations

import contextlib
import math
import platform
import re
from fractions import Fraction

import numpy as np
import pytest
from conftest import assert_same_values
from fpu_flags import X86_64, flushing_subnormals
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

import lowfloat as lf
from lowfloat import reference
from lowfloat.kernels import matmul as kernels
from lowfloat.kernels import threads
from lowfloat.kernels.arith import add_to_odd
from lowfloat.kernels.layout import layout, rounding
from lowfloat.kernels.nearest import fast_constants
from lowfloat.kernels.plan import plan
from lowfloat.kernels.schedule import schedule
from lowfloat.options import random_key
from lowfloat.rounding import DETERMINISTIC_MODES, ROUNDING_MODES

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


# ------------------------------------------------------------- matmul kernel against the element loop
@njit(cache=True, error_model="numpy")
def element_loop(a, b, out, chunk, promote, flush_below, kind, fast, rounder, main, key, negative_zero):
    """out[p] = a[p] @ b[p], one element at a time: the partial sums rounded as the kernel's docstring states.

    kind 0 rounds with the nearest-even element kernel, 1 the stochastic one,
    2 the general one (the fast ones are tested equal to it elsewhere).
    """
    batch, m, k = a.shape
    n = b.shape[2]
    for p in range(batch):
        for i in range(m):
            for j in range(n):
                total = -0.0
                part = -0.0
                for t in range(k):
                    if t > 0 and t % chunk == 0:
                        total = kernels.round_nearest(add_to_odd(total, part, False), 0, main, 0)
                        part = -0.0
                    x = math.copysign(0.0, part) if abs(part) < flush_below else part
                    y = np.float64(a[p, i, t]) * np.float64(b[p, t, j])  # exact
                    y = math.copysign(0.0, y) if abs(y) < flush_below else y
                    s = add_to_odd(x, y, negative_zero)
                    index = ((p * m + i) * n + j) * k + t
                    if kind == 0:
                        part = kernels.round_nearest(s, index, fast, key)
                    elif kind == 1:
                        part = kernels.round_stochastic(s, index, fast, key)
                    else:
                        part = kernels.round_general(s, index, rounder, key)
                if promote:
                    total = kernels.round_nearest(add_to_odd(total, part, False), 0, main, 0)
                out[p, i, j] = total if promote else part


def oracle(a, b, accumulate, rounding_mode="nearest_even", promote_every=None, daz=False, overflow=None, seed=0):
    """``element_loop`` of 3-D float32 operands, its constants built here from the format (not by the plan)."""
    fmt = lf.get_format(accumulate)
    fast = fast_constants(fmt, overflow, np.float64)
    kind = 2
    if fast is not None and rounding_mode == "nearest_even":
        kind = 0
    elif fast is not None and rounding_mode == "stochastic":
        kind = 1
    stand_in = fast if fast is not None else fast_constants(lf.get_format("bf16"), None, np.float64)
    rounder = kernels.GeneralRounder(layout(fmt), rounding(fmt, rounding_mode, overflow), np.int64(0))
    main = fast_constants(lf.get_format("float32"), None, np.float64)
    key = random_key(rounding_mode, seed if rounding_mode == "stochastic" else None, None)
    k = a.shape[2]
    chunk = max(k, 1) if promote_every is None else promote_every
    out = np.empty((a.shape[0], a.shape[1], b.shape[2]))
    flush_below = fmt.smallest_normal if daz else 0.0
    with np.errstate(all="ignore"):
        element_loop(a, b, out, chunk, promote_every is not None, flush_below, kind, stand_in, rounder, main, key,
                     rounding_mode == "toward_negative")  # fmt: skip
    return out


def kernel_result(a, b, accumulate, rounding_mode="nearest_even", promote_every=None, daz=False, overflow=None,
                  seed=0, split=False, flushing=False, **flags):  # fmt: skip
    """The matmul kernel the plan picks, on 3-D float32 operands; ``flags`` turn Schedule fields off (or on).

    ``flushing``: run it on this thread with the FPU's FTZ and DAZ flags set.
    """
    fmt = lf.get_format(accumulate)
    chosen = plan("matmul", fmt, np.float64, rounding_mode, overflow)
    k = a.shape[2]
    chunk = max(k, 1) if promote_every is None else promote_every
    plan_of_sums = schedule(a, b, fmt, chunk, promote_every is not None, fmt.smallest_normal if daz else 0.0)
    plan_of_sums = plan_of_sums._replace(**flags)
    key = random_key(rounding_mode, seed if rounding_mode == "stochastic" else None, None)
    out = np.full((a.shape[0], a.shape[1], b.shape[2]), 85.0)  # unless the kernel writes every element, tests fail
    rows = a.shape[0] * a.shape[1]
    constants = (plan_of_sums, *chosen.constants, key)
    with np.errstate(all="ignore"), flushing_subnormals() if flushing else contextlib.nullcontext():
        threads.run(chosen.kernel, rows, (a, b, out), constants, min_size=0 if split else rows + 1)
    return out


def operands(kind, shape_a, shape_b, rng):
    """(a, b) float32 operands of one kind of data (each kind steers the kernel into other loops)."""
    if kind == "bf16":  # products exact in float32, sums bounded and normal: float32 lanes, grid rounding
        return grid_values("bf16", shape_a, rng), grid_values("bf16", shape_b, rng)
    if kind == "float32":  # full float32 significands: products need float64 lanes
        return rng.standard_normal(shape_a).astype(np.float32), rng.standard_normal(shape_b).astype(np.float32)
    if kind == "huge":  # partial sums overflow the narrow formats: checked loops
        return grid_values("bf16", shape_a, rng, 2.0**40), grid_values("bf16", shape_b, rng, 2.0**40)
    if kind == "tiny":  # partial sums in the subnormal ranges (and below float32's for bfloat16 products)
        return grid_values("bf16", shape_a, rng, 2.0**-60), grid_values("bf16", shape_b, rng, 2.0**-60)
    if kind == "specials":  # NaN, inf and zeros among ordinary values
        a, b = grid_values("bf16", shape_a, rng), grid_values("bf16", shape_b, rng)
        a.flat[::7] = 0.0
        a.flat[3::11] = np.inf
        b.flat[5::13] = -np.inf
        b.flat[2::17] = np.nan
        return a, b
    # "mixed": rows of different scales, so that some sums cancel to small values
    a = grid_values("e4m3", shape_a, rng) * np.exp2(rng.integers(-12, 12, shape_a[:-1] + (1,))).astype(np.float32)
    return a, grid_values("e4m3", shape_b, rng)


KINDS = ["bf16", "float32", "huge", "tiny", "specials", "mixed"]
KERNEL_ACCUMULATORS = ["bfloat16", E8M13, "float16", "float8_e4m3fn", "float32"]


@settings(max_examples=60)
@given(
    kind=st.sampled_from(KINDS),
    accumulate=st.sampled_from(KERNEL_ACCUMULATORS),
    rounding_mode=st.sampled_from(ROUNDING_MODES),
    batch=st.integers(1, 2),
    m=st.integers(1, 5),
    k=st.integers(0, 40),
    n=st.integers(1, 19),
    promote_every=st.sampled_from([None, 1, 3, 7]),
    daz=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_matmul_kernel_equals_the_element_loop_bit_for_bit(kind, accumulate, rounding_mode, batch, m, k, n,
                                                            promote_every, daz, seed):  # fmt: skip
    rng = np.random.default_rng(seed)
    a, b = operands(kind, (batch, m, k), (batch, k, n), rng)
    options = dict(rounding_mode=rounding_mode, promote_every=promote_every, daz=daz, seed=seed)
    assert_same_values(kernel_result(a, b, accumulate, **options), oracle(a, b, accumulate, **options))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("accumulate", KERNEL_ACCUMULATORS, ids=str)
def test_matmul_kernel_equals_the_element_loop_across_tiles(kind, accumulate):
    # more rows, columns and products than one tile holds (R_TILE, J_TILE, K_TILE), none a multiple of it,
    # and a promotion interval that divides neither K nor the tile
    assert (18, 261, 300) > (kernels.R_TILE, kernels.J_TILE, kernels.K_TILE)
    rng = np.random.default_rng(len(kind))
    a, b = operands(kind, (1, 18, 300), (1, 300, 261), rng)
    for rounding_mode, promote_every in [("nearest_even", None), ("toward_negative", 97), ("stochastic", 97)]:
        options = dict(rounding_mode=rounding_mode, promote_every=promote_every, seed=5)
        assert_same_values(kernel_result(a, b, accumulate, **options), oracle(a, b, accumulate, **options))


#: Schedule fields a kernel may be told are off: each one only makes it check more, never changes the bits.
FLAGS_OFF = [{}, {"narrow": 0}, {"bounded": 0}, {"normal": 0}, {"probe": np.float32(0.0)},
             {"narrow": 0, "bounded": 0, "normal": 0}]  # fmt: skip


@pytest.mark.parametrize("flags", FLAGS_OFF, ids=lambda f: ",".join(f) or "as_scheduled")
@pytest.mark.parametrize("rounding_mode", ROUNDING_MODES)
@pytest.mark.parametrize("accumulate", KERNEL_ACCUMULATORS, ids=str)
def test_every_loop_of_the_kernel_gives_the_element_loops_bits(accumulate, rounding_mode, flags):
    # bfloat16 operands allow every shortcut; turning each off runs every loop of every entry point
    # (float32 lanes or float64, grid or checked; a zero probe stands for an FPU that flushes subnormals)
    rng = np.random.default_rng(12)
    a, b = operands("bf16", (2, 3, 70), (2, 70, 9), rng)
    options = dict(rounding_mode=rounding_mode, promote_every=16, seed=3)
    assert_same_values(kernel_result(a, b, accumulate, **flags, **options), oracle(a, b, accumulate, **options))


@pytest.mark.parametrize("rounding_mode", ROUNDING_MODES)
def test_threads_give_the_bits_of_one_thread(rounding_mode):
    rng = np.random.default_rng(13)
    a, b = operands("mixed", (3, 7, 50), (3, 50, 11), rng)
    options = dict(rounding_mode=rounding_mode, promote_every=8, seed=9)
    one = kernel_result(a, b, "bf16", **options)
    assert_same_values(kernel_result(a, b, "bf16", split=True, **options), one)
    assert_same_values(one, oracle(a, b, "bf16", **options))


def test_large_matmul_splits_across_threads_with_the_bits_of_one_thread(monkeypatch):
    rng = np.random.default_rng(14)
    a, b = grid_values("bf16", (40, 300), rng), grid_values("bf16", (300, 90), rng)
    serial = lf.matmul(a, b, accumulate="bf16", rounding="stochastic", rng=2)
    calls = []
    original = threads.run
    monkeypatch.setattr(threads, "run", lambda *args, **kw: calls.append(kw) or original(*args, **kw))
    monkeypatch.setattr(lf.accumulate, "PARALLEL_MIN_PRODUCTS", 1)
    assert_same_values(lf.matmul(a, b, accumulate="bf16", rounding="stochastic", rng=2), serial)
    assert calls and calls[0]["min_size"] == 2  # any two rows go to the pool


@pytest.mark.parametrize("overflow", ["saturate", "inf"])
@pytest.mark.parametrize("rounding_mode", ["nearest_even", "toward_zero", "toward_positive", "stochastic"])
def test_overflowing_partial_sums_follow_the_overflow_policy(rounding_mode, overflow):
    a = np.full((2, 1, 40), 2.0**12, np.float32)
    a[1] *= -1
    b = np.full((2, 40, 3), 2.0**3, np.float32)  # 40 * 2**15 passes float16's max (65504)
    options = dict(rounding_mode=rounding_mode, overflow=overflow, seed=1)
    got = kernel_result(a, b, "float16", **options)
    assert_same_values(got, oracle(a, b, "float16", **options))
    assert np.isinf(got).any() or (np.abs(got) == 65504).any()


def test_float32_subnormal_operands_and_sums_round_as_the_element_loop():
    # every partial sum of bfloat16 products below 2**-126 is a float32 subnormal: the float32
    # lanes round them by integer arithmetic all the way down, E8M13 too; float16 flushes nothing here
    tiny = np.float32(2.0**-70)
    rng = np.random.default_rng(15)
    a, b = grid_values("bf16", (1, 4, 30), rng) * tiny, grid_values("bf16", (1, 30, 5), rng) * tiny
    a[0, 0, :3] = np.float32(2.0**-149)  # a float32 subnormal operand
    for accumulate in ["bfloat16", E8M13]:
        for rounding_mode in ["nearest_even", "toward_negative"]:
            options = dict(rounding_mode=rounding_mode)
            assert_same_values(kernel_result(a, b, accumulate, **options), oracle(a, b, accumulate, **options))


@pytest.mark.parametrize("flags", FLAGS_OFF, ids=lambda f: ",".join(f) or "as_scheduled")
def test_toward_negative_exact_zero_sums_are_negative_zero(flags):
    a = np.float32([[[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]]])
    b = np.float32([[[1.0], [1.0], [1.0]]])
    for accumulate in ["bfloat16", "float16"]:
        got = kernel_result(a, b, accumulate, "toward_negative", **flags)
        assert_same_values(got, oracle(a, b, accumulate, "toward_negative"))
        assert (got == 0).all() and np.signbit(got).all()
        assert not np.signbit(kernel_result(a, b, accumulate, "toward_positive", **flags)).any()


@pytest.mark.parametrize("rounding_mode", ROUNDING_MODES)
@pytest.mark.parametrize("accumulate", ["bfloat16", E8M13], ids=str)
def test_partial_sums_beyond_float32_round_as_the_element_loop(accumulate, rounding_mode):
    # products near float32's max are float32s (and provably so: the operands are below 2**64), their
    # sums are not: the float32 lanes must round the sum itself (toward zero: the format's max), not
    # float32's overflowed infinity
    c = (2 - 2.0**-7) * 2.0**63
    a = np.float32([[[c, c, -c], [-c, -c, c / 2]]])
    b = np.float32([[[c], [c], [c]]])
    assert schedule(a, b, lf.get_format(accumulate), 3, False, 0.0).narrow == 1
    options = dict(rounding_mode=rounding_mode, seed=4)
    for flags in FLAGS_OFF:
        assert_same_values(kernel_result(a, b, accumulate, **flags, **options), oracle(a, b, accumulate, **options))


def test_schedule_proves_what_the_operands_allow():
    ones = np.ones((1, 2, 4), np.float32)
    bf16 = lf.get_format("bf16")
    s = schedule(ones, ones.transpose(0, 2, 1).copy(), bf16, 4, False, 0.0)
    assert (s.narrow, s.bounded, s.normal) == (1, 1, 1)
    full = np.full((1, 2, 4), 1 + 2.0**-23, np.float32)  # 24 significant bits: products need 47
    assert schedule(full, ones.transpose(0, 2, 1).copy(), bf16, 4, False, 0.0).narrow == 0
    big = np.full((1, 2, 4), 2.0**40, np.float32)
    fp16 = lf.get_format("fp16")
    assert schedule(big, ones.transpose(0, 2, 1).copy(), fp16, 4, False, 0.0).bounded == 0
    assert schedule(big, ones.transpose(0, 2, 1).copy(), bf16, 4, False, 0.0).bounded == 1
    inf = ones.copy()
    inf[0, 0, 0] = np.inf
    assert schedule(inf, ones.transpose(0, 2, 1).copy(), bf16, 4, False, 0.0).bounded == 0
    tiny = np.full((1, 2, 4), 2.0**-70, np.float32)
    assert schedule(tiny, tiny.transpose(0, 2, 1).copy(), bf16, 4, False, 0.0).normal == 0
    zeros = np.zeros((1, 2, 4), np.float32)
    assert schedule(zeros, tiny.transpose(0, 2, 1).copy(), fp16, 4, False, 0.0)[3:6] == (1, 1, 1)


def test_plan_takes_the_directed_path_for_deterministic_modes_on_fast_formats():
    e4m3 = lf.get_format("e4m3")
    for mode in ["nearest_away", "toward_zero", "toward_positive", "toward_negative"]:
        assert plan("matmul", e4m3, np.float64, mode).path == "directed"
    assert plan("matmul", e4m3, np.float64, "toward_zero", ftz=True).path == "general"
    assert plan("matmul", lf.get_format("e8m0"), np.float64, "toward_zero").path == "general"
    with pytest.raises(ValueError, match="deterministic modes"):
        plan("matmul", e4m3, np.float64, "stochastic", path="directed")


@pytest.mark.parametrize("accumulate", ["float8_e8m0fnu", "float4_e2m1fn", "float8_e4m3fnuz"])
@pytest.mark.parametrize("rounding_mode", ["nearest_even", "toward_positive"])
def test_general_path_formats_equal_the_element_loop(accumulate, rounding_mode):
    rng = np.random.default_rng(16)
    a, b = operands("mixed", (1, 3, 25), (1, 25, 4), rng)
    for options in [dict(rounding_mode=rounding_mode), dict(rounding_mode=rounding_mode, daz=True, promote_every=4)]:
        assert_same_values(kernel_result(a, b, accumulate, **options), oracle(a, b, accumulate, **options))
        assert_same_values(kernel_result(a, b, accumulate, narrow=0, **options), oracle(a, b, accumulate, **options))


@pytest.mark.skipif(not X86_64, reason="the FTZ and DAZ flags of x86-64's MXCSR")
@pytest.mark.parametrize("rounding_mode", ["nearest_even", "toward_negative", "stochastic"])
@pytest.mark.parametrize("accumulate", ["bfloat16", E8M13, "float16", "float32"], ids=str)
def test_kernel_gives_the_same_bits_where_a_library_set_flush_to_zero(accumulate, rounding_mode):
    # float32 lanes add subnormal float32s (bfloat16's subnormals are float32's): with FTZ or DAZ set
    # for the thread, the kernel must notice and take float64 lanes, whose sums are never subnormal.
    # E4M3 values times 2**-64: products near 2**-128, float32 subnormals and still exact in float32
    rng = np.random.default_rng(17)
    tiny = np.float32(2.0**-64)
    a, b = grid_values("e4m3", (1, 4, 40), rng) * tiny, grid_values("e4m3", (1, 40, 9), rng) * tiny
    assert schedule(a, b, lf.get_format(accumulate), 8, True, 0.0).narrow == 1
    options = dict(rounding_mode=rounding_mode, promote_every=8, seed=2)
    want = oracle(a, b, accumulate, **options)
    assert_same_values(kernel_result(a, b, accumulate, flushing=True, **options), want)


#: The fast loops and the LLVM type of the lanes their rounding works on, with the mode whose constants
#: they take (float32's own sum rounds by the FPU: float adds; the others on integer bits).
FAST_LOOPS = [("_narrow_grid_even_loop", "i32", "nearest_even"), ("_narrow_grid_signed_loop", "i32", "toward_zero"),
              ("_narrow_nearest_loop", "i32", "nearest_even"), ("_wide_grid_even_loop", "i64", "nearest_even"),
              ("_wide_grid_stochastic_loop", "i64", "stochastic"),
              ("_narrow_sum_loop", "float", "nearest_even")]  # fmt: skip
LANE_BITS = {"i32": 32, "i64": 64, "float": 32}


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="SIMD widths of x86-64")
@pytest.mark.parametrize(("name", "lane_type", "rounding_mode"), FAST_LOOPS)
def test_fast_loops_are_vectorised_over_full_registers(name, lane_type, rounding_mode):
    # as tests/test_vectorisation.py does for the casts: a branch LLVM cannot turn into selects keeps
    # every bit and runs several times slower, which no other test notices
    with open("/proc/cpuinfo") as cpuinfo:
        register_bits = 256 if " avx2" in cpuinfo.read() else 128
    fresh = njit(nogil=True, error_model="numpy")(getattr(kernels, name).py_func)  # no disk cache: IR kept
    a, b = np.ones((1, 2, 8), np.float32), np.ones((1, 8, 16), np.float32)
    fmt = lf.get_format("bf16")
    fresh(a, b, np.empty((1, 2, 16)), 0, 2, schedule(a, b, fmt, 8, False, 0.0), kernels.accumulator(fmt, rounding_mode),
          np.uint64(1))  # fmt: skip
    ir = fresh.inspect_llvm(fresh.signatures[0])
    # arithmetic on vectors: the rounding itself (the loops' fills and copies move vectors too)
    lanes = max((int(n) for n in re.findall(rf"= (?:f?add|and|or|xor|lshr) <(\d+) x {lane_type}>", ir)), default=0)
    assert lanes >= register_bits // LANE_BITS[lane_type], f"{name} is not vectorised"


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
