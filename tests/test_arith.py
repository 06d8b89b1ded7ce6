"""Element-wise arithmetic (lowfloat.add, sub, mul, div, fma, sqrt) against exact references.

Oracles: lowfloat.reference.quantize of the exact result in fractions (every
built-in format and deterministic mode), NumPy's own float32 and float16
arithmetic (correctly rounded for operands of those formats), and the
definition of stochastic rounding (the two neighbours, the up-probability).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from conftest import FORMAT_NAMES, all_codes, assert_same_values, ml_twin, reals_for
from hypothesis import given, settings
from hypothesis import strategies as st

import lowfloat as lf
from lowfloat import reference
from lowfloat.rounding import DETERMINISTIC_MODES

OPS = {"add": 2, "sub": 2, "mul": 2, "div": 2, "fma": 3, "sqrt": 1}


def _exact_sqrt(x: Fraction) -> Fraction:
    """sqrt(x) if it is rational, else a value strictly between the same grid points and midpoints.

    Grid points and midpoints of every format are multiples of 2**-151; a
    square root that is not a dyadic rational lies strictly inside an
    interval of width 2**-600, which contains none of them.
    """
    scaled = x * Fraction(2) ** 1200  # an integer: float64 values are multiples of 2**-1074
    assert scaled.denominator == 1
    root = math.isqrt(scaled.numerator)
    if root * root == scaled.numerator:
        return Fraction(root, 2**600)
    return Fraction(2 * root + 1, 2**601)


def _ieee(op: str, args: list[float]) -> float:
    """The float64 IEEE 754 result (exact for special values and exact zeros)."""
    x = args[0]
    with np.errstate(all="ignore"):
        if op == "add":
            return float(np.float64(x) + args[1])
        if op == "sub":
            return float(np.float64(x) - args[1])
        if op == "mul":
            return float(np.float64(x) * args[1])
        if op == "div":
            return float(np.float64(x) / args[1])
        if op == "sqrt":
            return float(np.sqrt(np.float64(x)))
        if math.isfinite(x) and math.isfinite(args[1]) and not math.isfinite(args[2]):
            return args[2]  # a finite product plus an infinite or NaN z
        return float(np.float64(x) * args[1] + args[2])


def expected(op: str, args, fmt, rounding: str) -> float:
    """The exact result of ``op`` rounded once by lowfloat.reference (special values per IEEE 754)."""
    args = [float(a) for a in args]
    if not all(math.isfinite(a) for a in args) or (op == "div" and args[1] == 0) or (op == "sqrt" and args[0] < 0):
        return reference.quantize(_ieee(op, args), fmt, rounding=rounding)
    if op in ("fma",) and (args[0] == 0 or args[1] == 0) and args[2] != 0:
        return reference.quantize(args[2], fmt, rounding=rounding)  # x * y = +-0: z
    f = [Fraction(a) for a in args]
    exact = {
        "add": lambda: f[0] + f[1],
        "sub": lambda: f[0] - f[1],
        "mul": lambda: f[0] * f[1],
        "div": lambda: f[0] / f[1],
        "fma": lambda: f[0] * f[1] + f[2],
        "sqrt": lambda: _exact_sqrt(f[0]),
    }[op]()
    if exact == 0 and op in ("add", "sub", "fma"):
        # IEEE 754 6.3: addends of one sign keep it; opposite signs give +0, or -0 rounding toward negative
        first = math.copysign(1, args[0]) * (math.copysign(1, args[1]) if op == "fma" else 1)
        second = math.copysign(1, args[-1]) * (-1 if op == "sub" else 1)
        negative = first < 0 if first == second else rounding == "toward_negative"
        return reference.quantize(-0.0 if negative else 0.0, fmt, rounding=rounding)
    if exact == 0:  # a product or quotient: the sign of IEEE 754's result
        return reference.quantize(_ieee(op, args), fmt, rounding=rounding)
    return reference.quantize(exact, fmt, rounding=rounding)


def call(op: str, args, fmt, **options):
    return getattr(lf, op)(*args, fmt, **options)


# ------------------------------------------------------------- the exact reference, every format and mode
@st.composite
def cases(draw, arity: int, width: int):
    fmt = draw(st.sampled_from(FORMAT_NAMES))
    rounding = draw(st.sampled_from(DETERMINISTIC_MODES))
    args = [draw(reals_for(fmt, width=width)) for _ in range(arity)]
    if arity >= 2 and draw(st.booleans()):
        # near-cancellation and near-ties: the second operand close to a multiple of the first
        args[1] = draw(st.sampled_from([-1.0, 1.0, 0.5, 3.0])) * args[0] + draw(reals_for(fmt, width=width))
        if width == 32:
            with np.errstate(over="ignore"):
                args[1] = float(np.float32(args[1]))
    if arity == 3 and draw(st.booleans()):
        with np.errstate(all="ignore"):
            product = np.float64(args[0]) * np.float64(args[1])
        args[2] = -float(product) if np.isfinite(product) else args[2]
        if width == 32:
            with np.errstate(over="ignore"):
                args[2] = float(np.float32(args[2]))
    return fmt, rounding, args


@pytest.mark.parametrize("width", [64, 32])
@pytest.mark.parametrize("op", list(OPS))
@settings(max_examples=50)
@given(data=st.data())
def test_op_equals_exact_result_rounded_once(op, width, data):
    fmt, rounding, args = data.draw(cases(OPS[op], width))
    dtype = np.float64 if width == 64 else np.float32
    got = call(op, [dtype(a) for a in args], fmt, rounding=rounding)
    assert got.dtype == dtype
    assert_same_values(got, expected(op, args, fmt, rounding), inputs=[tuple(args)])


def _hard_operands(fmt) -> list[tuple[float, float, float]]:
    """Operands whose exact results sit on, next to and between grid points and midpoints of ``fmt``."""
    fmt = lf.get_format(fmt)
    one = 1.0 if fmt.signed else 2.0
    ulp = one * 2.0**-fmt.man_bits
    big = fmt.max
    tiny = fmt.smallest_subnormal
    rows = []
    for base in (one, big / 2, big, tiny, 4 * tiny):
        for delta in (ulp / 2, ulp / 2 + 2.0**-60, ulp / 2 - 2.0**-60, ulp / 4, -ulp / 2 - 2.0**-70):
            step = delta * base / one if base != one else delta
            rows.append((base, step, -base))
            rows.append((-base, -step, base / 3))
    rows += [(3.0, 1 / 3, -1.0), (2.0, 2.0, 0.0), (-0.0, 5.0, -0.0), (0.0, -0.0, 0.0), (1e300, 1e300, -1e300)]
    return rows


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_every_op_and_mode_on_hard_operands_equals_reference(fmt):
    rows = _hard_operands(fmt)
    columns = [np.array([row[i] for row in rows]) for i in range(3)]
    for rounding in DETERMINISTIC_MODES:
        for op, arity in OPS.items():
            args = columns[:arity] if op != "sqrt" else [np.abs(columns[1])]
            got = call(op, args, fmt, rounding=rounding)
            want = [expected(op, [a[i] for a in args], fmt, rounding) for i in range(len(rows))]
            assert_same_values(got, want, inputs=list(zip(*args, strict=True)))


# ------------------------------------------------------------- external oracles: numpy's own arithmetic
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "sqrt"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_ops_in_float32_and_float16_equal_numpy_arithmetic(op, dtype):
    rng = np.random.default_rng(7)
    bits = np.dtype(dtype).itemsize * 8
    codes = rng.integers(0, 1 << bits, size=(2, 4000), dtype=np.uint64).astype(f"u{bits // 8}")
    x, y = codes.view(dtype)
    with np.errstate(all="ignore"):
        theirs = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}.get(op)
        want = np.sqrt(x) if op == "sqrt" else theirs(x, y)
    args = [x] if op == "sqrt" else [x, y]
    got = call(op, args, "float32" if dtype == np.float32 else "float16")
    assert got.dtype == np.float32
    assert_same_values(got, want.astype(np.float32), inputs=list(zip(x, y, strict=True)))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("fmt", ["float8_e4m3fn", "float8_e5m2"])
def test_every_pair_of_fp8_values_equals_ml_dtypes_arithmetic(op, fmt):
    # ml_dtypes computes in float32 and rounds back: correctly rounded for p = 3 or 4 (24 >= 2p + 2)
    twin = ml_twin(fmt)
    codes = all_codes(fmt)
    x = np.repeat(codes, codes.size).view(twin)
    y = np.tile(codes, codes.size).view(twin)
    theirs = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[op]
    with np.errstate(all="ignore"):
        want = theirs(x, y).astype(np.float32)
        got = call(op, [x.astype(np.float32), y.astype(np.float32)], fmt)
    assert_same_values(got, want)


# ------------------------------------------------------------- double rounding, pinned
def test_add_rounds_the_exact_sum_not_the_float64_sum():
    # 1 + 2**-4 is a tie in E4M3; the float64 sum drops 2**-60 and lands on it
    assert float(lf.add(1 + 2**-4, 2**-60, "e4m3")) == 1.125
    assert float(lf.quantize((1 + 2**-4) + 2**-60, "e4m3")) == 1.0


def test_fma_of_float32_operands_beats_float64_fma_then_round():
    x, y = np.float32(1 + 2**-23), np.float32(1 - 2**-23)  # x * y = 1 - 2**-46, exact in float64
    z = np.float32(255 + 2**-15 + 2**-16)
    # exact: 256 + 2**-15 + 2**-16 - 2**-46, just below a float32 midpoint; float64 rounds onto it
    twice = np.float32(np.float64(x) * np.float64(y) + np.float64(z))
    assert twice == np.float32(256 + 2**-14)
    assert lf.fma(x, y, z, "float32") == np.float32(256 + 2**-15)


def test_mul_and_div_far_beyond_float64_range_keep_directed_rounding():
    # the exact results overflow or underflow float64, but not their rounding
    assert float(lf.mul(1e300, 1e300, "bf16", rounding="toward_zero")) == lf.get_format("bf16").max
    assert float(lf.mul(1e300, 1e300, "bf16")) == math.inf
    assert float(lf.div(1e-300, 1e300, "e4m3", rounding="toward_positive")) == 2.0**-9
    assert math.copysign(1, lf.div(-1e-300, 1e300, "e4m3")) == -1.0


# ------------------------------------------------------------- stochastic rounding
def test_stochastic_add_rounds_up_with_the_exact_probability():
    # 1 + 2**-9 lies a quarter of the way from 1 to the next bfloat16 (1 + 2**-7)
    result = lf.add(np.ones(20_000), 2**-9, "bf16", rounding="stochastic", rng=3)
    assert set(np.unique(result)) <= {1.0, 1 + 2**-7}
    assert abs(np.mean(result == 1 + 2**-7) - 0.25) < 0.015


def test_stochastic_fma_sees_the_bits_float64_would_lose():
    # exact = 1 + 2**-8 + 2**-60: just above the midpoint between 1 and 1 + 2**-7 in bfloat16
    n = 20_000
    result = lf.fma(np.full(n, 1 + 2**-8), 1.0, 2**-60, "bf16", rounding="stochastic", rng=np.random.default_rng(1))
    assert set(np.unique(result)) <= {1.0, 1 + 2**-7}
    assert abs(np.mean(result == 1 + 2**-7) - 0.5) < 0.015


def test_stochastic_with_an_int_seed_repeats():
    x = np.linspace(0, 1, 1000)
    first = lf.mul(x, 1 / 3, "e4m3", rounding="stochastic", rng=5)
    assert_same_values(lf.mul(x, 1 / 3, "e4m3", rounding="stochastic", rng=5), first)


# ------------------------------------------------------------- shapes, dtypes, out, overflow
def test_operands_broadcast_like_numpy_and_keep_float32():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    y = np.float32([[0.5], [0.25]])
    got = lf.add(x, y, "bf16")
    assert got.shape == (2, 3) and got.dtype == np.float32
    assert_same_values(got, (x + y).astype(np.float32))
    assert lf.add(x, 1.5, "bf16").dtype == np.float32  # a Python scalar does not widen
    assert lf.add(x, np.float64(1.5), "bf16").dtype == np.float64
    assert lf.add(np.arange(3), 1, "bf16").dtype == np.float64


def test_scalar_operands_give_a_scalar():
    result = lf.mul(3, 7, "e4m3")
    assert isinstance(result, np.float64) and result == 20.0  # 21 is a tie between 20 and 22: even


def test_out_receives_the_result():
    out = np.empty(3, np.float32)
    result = lf.div(np.float32([1, 2, 3]), np.float32(3), "fp16", out=out)
    assert result is out
    assert_same_values(out, (np.float32([1, 2, 3]) / np.float32(3)).astype(np.float16).astype(np.float32))


def test_overflow_policy_applies_to_the_result():
    assert float(lf.add(400.0, 100.0, "e4m3")) != float(lf.add(400.0, 100.0, "e4m3"))  # NaN
    assert float(lf.add(400.0, 100.0, "e4m3", overflow="saturate")) == 448.0


def test_int64_operands_are_exact():
    assert float(lf.add(np.int64(2**53), np.int64(-(2**53) + 3), "fp16")) == 3.0


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fmt": "float7"}, "float7"),
        ({"rounding": "up"}, "unknown rounding"),
        ({"overflow": "clip"}, "unknown overflow"),
        ({"fmt": "e4m3", "overflow": "inf"}, "no infinity"),
        ({"rng": 1}, "rng"),
    ],
)
def test_bad_options_raise_value_error(kwargs, message):
    fmt = kwargs.pop("fmt", "bf16")
    with pytest.raises(ValueError, match=message):
        lf.add([1.0], [2.0], fmt, **kwargs)


def test_operands_that_do_not_broadcast_raise():
    with pytest.raises(ValueError, match=r"do not broadcast.*x \(2,\).*y \(3,\)"):
        lf.mul(np.ones(2), np.ones(3), "bf16")


def test_complex_and_boolean_operands_raise_type_error():
    with pytest.raises(TypeError, match="complex"):
        lf.add(1j, 1.0, "bf16")
    with pytest.raises(TypeError, match="boolean"):
        lf.sqrt(np.array([True]), "bf16")


def test_int64_beyond_float64_raises():
    with pytest.raises(ValueError, match="2\\*\\*53"):
        lf.add(np.int64(2**60 + 1), 1.0, "bf16")


def test_bad_out_raises():
    with pytest.raises(ValueError, match="shape"):
        lf.add(np.ones(3), 1.0, "bf16", out=np.empty(4))
    with pytest.raises(ValueError, match="dtype"):
        lf.add(np.ones(3), 1.0, "bf16", out=np.empty(3, np.float32))


@pytest.mark.parametrize("rounding", lf.ROUNDING_MODES)
@pytest.mark.parametrize("name", ["float6_e2m3fn", "float4_e2m1fn", "float8_e4m3fn", "bfloat16"])
def test_nan_operand_gives_nan_in_every_mode_even_in_formats_without_nan(name, rounding):
    rng = 1 if rounding == "stochastic" else None
    assert np.isnan(lf.add(np.nan, 1.0, name, rounding=rounding, rng=rng))
    assert np.isnan(lf.sqrt(-1.0, name, rounding=rounding, rng=rng))
    product = lf.matmul(np.float32([[np.nan, 1.0]]), np.float32([[1.0], [1.0]]), accumulate=name, rounding=rounding)
    assert np.isnan(product).all()


def test_python_integer_operand_beyond_2_53_raises_value_error_rather_than_rounding_silently():
    assert float(lf.add(2**53, 1, "fp32")) == 2.0**53  # exact operands: fine
    with pytest.raises(ValueError, match=r"y holds Python integers beyond 2\*\*53"):
        lf.add(1.0, 2**70 + 1, "fp32")
    with pytest.raises(ValueError, match=r"x holds Python integers beyond 2\*\*53"):
        lf.sum([1, 2**64 + 3], "fp32")
