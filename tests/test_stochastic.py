"""Stochastic rounding: neighbours only, unbiased statistics, reproducible seeds and threads, sr_bits, refused input.

Rounding ``x`` stochastically gives one of its two neighbours ``lo < |x| < hi``,
``hi`` with probability ``p = (|x| - lo) / (hi - lo)``.  The statistical tests
use fixed seeds, so they are deterministic; their bounds are ``K_SIGMA``
standard errors of a binomial proportion, ``K_SIGMA * sqrt(p * (1 - p) / N)``.
"""

import math
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import numpy as np
import pytest
from conftest import FORMAT_NAMES, assert_same_values, non_nan_codes, reals_for
from hypothesis import given, settings
from hypothesis import strategies as st

import lowfloat as lf
from lowfloat import reference
from lowfloat.kernels import threads

#: A format that is none of the built-ins: 10 bits, no infinity, no -0 (NaN is 0x200).
GENERIC = lf.Format(exp_bits=5, man_bits=4, bias=13, specials="fnuz")

#: The formats the stochastic tests run on.
SR_FORMATS = ["float16", "bfloat16", "float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", GENERIC]
SR_IDS = [str(fmt) for fmt in SR_FORMATS]

#: Copies of each value in the statistical tests.
N = 1 << 18
#: Standard errors allowed between an observed and an expected proportion.
K_SIGMA = 5
#: Up-probabilities tested: common ones, a tie, and a tiny one.
POSITIONS = [0.1, 0.25, 0.5, 0.9, 2.0**-10]

DTYPES = [np.float32, np.float64]


def stochastic(x, fmt, **options):
    return lf.quantize(x, fmt, rounding="stochastic", **options)


# ------------------------------------------------------------------ the result is a neighbour
def allowed_results(x: float, fmt) -> list[float]:
    """What stochastic rounding may give for ``x``: reference results of its two signed neighbours.

    Rounding the neighbours themselves with the reference applies the format's
    rules to them: a neighbour beyond ``max`` is an infinite result (inf, NaN or
    max by the overflow policy), and -0 becomes +0 where there is no -0.
    """
    if not math.isfinite(x) or x == 0:
        return [reference.quantize(x, fmt)]
    lo, hi = reference.neighbours(x, fmt)
    if lo == abs(Fraction(x)):
        return [reference.quantize(x, fmt)]
    sign = -1 if x < 0 else 1
    lo_signed = math.copysign(0.0, x) if lo == 0 else sign * lo  # a float keeps the sign of zero
    return [reference.quantize(lo_signed, fmt), reference.quantize(sign * hi, fmt)]


def same_value(a: float, b: float) -> bool:
    """Equal as values, NaN equal to NaN, and the sign of zero counts."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", SR_FORMATS, ids=SR_IDS)
@settings(deadline=None)
@given(data=st.data())
def test_stochastic_result_is_one_of_the_two_neighbours_of_x(fmt, dtype, data):
    width = 32 if dtype == np.float32 else 64
    values = data.draw(st.lists(reals_for(fmt, width=width, allow_nan=False), min_size=1, max_size=8))
    seed = data.draw(st.integers(0, 2**64 - 1))
    x = np.array(values, dtype)
    got = stochastic(x.repeat(32), fmt, rng=seed)  # (len(x) * 32,) many draws per value: both neighbours show
    assert got.dtype == dtype
    for value, results in zip(x.tolist(), got.reshape(x.size, 32).tolist(), strict=True):
        allowed = allowed_results(value, fmt)
        for result in results:
            assert any(same_value(result, a) for a in allowed), f"x={value!r}: got {result!r}, allowed {allowed}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_stochastic_returns_every_representable_value_unchanged(name, dtype):
    values = lf.decode(non_nan_codes(name), name, dtype=np.float64)  # exact, -0 included where it exists
    x = values.astype(dtype)
    for seed in (0, 1, 2**64 - 1):
        got = stochastic(x, name, rng=seed)
        assert_same_values(got, values, inputs=x)


@pytest.mark.parametrize("fmt", SR_FORMATS, ids=SR_IDS)
def test_stochastic_of_zeros_and_infinities_equals_nearest_even(fmt):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan] * 64)
    assert_same_values(stochastic(x, fmt, rng=7), lf.quantize(x, fmt), inputs=x)


# ------------------------------------------------------------------ statistics with fixed seeds
def bracket(fmt, region: str) -> tuple[Fraction, Fraction]:
    """Two neighbouring representable magnitudes ``lo < hi`` in a region of the format's range."""
    fmt = lf.get_format(fmt)
    if region == "subnormal":
        # the middle of the subnormal range (0 and the smallest subnormal when there is one subnormal)
        quantum = Fraction(2) ** (fmt.emin - fmt.man_bits)
        steps = ((1 << fmt.man_bits) - 1) // 2
        return steps * quantum, (steps + 1) * quantum
    # normal and negative: 1 + 2**-m and the value after it (an odd code below an even one)
    quantum = Fraction(1, 1 << fmt.man_bits)
    return 1 + quantum, 1 + 2 * quantum


def statistics_case(fmt, region, dtype):
    """Inputs ``x`` (N copies at each of POSITIONS), their exact positions ``p`` and ``lo``, ``hi``, ``sign``."""
    lo, hi = bracket(fmt, region)
    sign = -1 if region == "negative" else 1
    wanted = [lo + (hi - lo) * Fraction(p) for p in POSITIONS]
    points = np.array([sign * float(w) for w in wanted], dtype)  # rounded to the input dtype
    exact = [(abs(Fraction(float(v))) - lo) / (hi - lo) for v in points]
    assert all(0 < p < 1 for p in exact), "the input dtype cannot hold a point strictly between lo and hi"
    return points, [float(p) for p in exact], lo, hi, sign


@pytest.mark.parametrize("region", ["normal", "subnormal", "negative"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", SR_FORMATS, ids=SR_IDS)
def test_stochastic_rounds_up_with_probability_equal_to_the_position_between_neighbours(fmt, dtype, region):
    points, positions, lo, hi, sign = statistics_case(fmt, region, dtype)
    x = points.repeat(N)  # (5 * N,) blocks of N copies; above PARALLEL_MIN_SIZE, so split across threads
    got = stochastic(x, fmt, rng=20240601).astype(np.float64).reshape(len(points), N)
    lo_value, hi_value = sign * float(lo), sign * float(hi)
    for point, p, block in zip(points, positions, got, strict=True):
        assert np.all((block == lo_value) | (block == hi_value)), f"x={point!r}: a result is not a neighbour"
        standard_error = math.sqrt(p * (1 - p) / N)
        up = np.count_nonzero(block == hi_value) / N
        assert abs(up - p) <= K_SIGMA * standard_error, f"x={point!r}: up {up}, expected {p} +- {K_SIGMA} s.e."
        mean_error = abs(block.mean() - float(point))
        assert mean_error <= K_SIGMA * float(hi - lo) * standard_error, f"x={point!r}: mean is off by {mean_error}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", SR_FORMATS, ids=SR_IDS)
def test_stochastic_far_below_the_smallest_subnormal_rounds_up_with_probability_x_over_it(fmt, dtype):
    # Between 0 and the smallest subnormal s, p = |x| / s however small x is: 1e-30 into float16
    # must almost never round up to 2**-24.  Positions below 1/4 reach several binades below s.
    smallest = lf.get_format(fmt).smallest_subnormal
    positions = [2.0**-3, 2.0**-6, 2.0**-10, 0.1]
    x = np.array([p * smallest for p in positions], dtype)
    positions = [float(Fraction(float(v)) / Fraction(smallest)) for v in x]  # exact, after rounding to dtype
    got = stochastic(x.repeat(N), fmt, rng=17).astype(np.float64).reshape(len(positions), N)
    for point, p, block in zip(x, positions, got, strict=True):
        assert np.all((block == 0) | (block == smallest)), f"x={point!r}: a result is not a neighbour"
        up = np.count_nonzero(block == smallest) / N
        assert abs(up - p) <= K_SIGMA * math.sqrt(p * (1 - p) / N), f"x={point!r}: up {up}, expected {p}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_stochastic_into_e8m0_rounds_up_with_probability_equal_to_the_position(dtype):
    # E8M0's neighbours are powers of two: 3 lies a half of the way from 2 to 4, 2.2 a tenth
    x = np.array([3.0, 2.2, 1.5 * 2.0**-126]).astype(dtype)
    lo = np.array([2.0, 2.0, 2.0**-126])
    positions = [0.5, float((Fraction(float(x[1])) - 2) / 2), 0.5]
    got = stochastic(x.repeat(N), "e8m0", rng=3).astype(np.float64).reshape(3, N)
    for point, p, low, block in zip(x, positions, lo, got, strict=True):
        assert np.all((block == low) | (block == 2 * low)), f"x={point!r}: a result is not a neighbour"
        up = np.count_nonzero(block == 2 * low) / N
        assert abs(up - p) <= K_SIGMA * math.sqrt(p * (1 - p) / N), f"x={point!r}: up {up}, expected {p}"


# ------------------------------------------------------------------ sr_bits: a k-bit random number
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sr_bits", [1, 2, 3, 5])
def test_sr_bits_truncates_the_up_probability_to_k_bits(sr_bits, dtype):
    # float16 at 1: the discarded bits are rem / 2**shift of a quantum 2**-10
    quantum = Fraction(1, 1 << 10)
    points = np.array([float(1 + quantum * Fraction(p)) for p in (0.1, 0.3, 0.55, 0.7, 0.9)], dtype)
    got = stochastic(points.repeat(N), "fp16", rng=11, sr_bits=sr_bits).astype(np.float64).reshape(len(points), N)
    hi = float(1 + quantum)
    for point, block in zip(points, got, strict=True):
        p = (Fraction(float(point)) - 1) / quantum
        truncated = math.floor(p * 2**sr_bits) / 2**sr_bits  # floor(p * 2**k) / 2**k
        assert np.all((block == 1.0) | (block == hi))
        up = np.count_nonzero(block == hi) / N
        if truncated == 0:
            assert up == 0, f"x={point!r}: p={float(p)} truncates to 0 with {sr_bits} bits, yet some rounded up"
        else:
            bound = K_SIGMA * math.sqrt(truncated * (1 - truncated) / N)
            assert abs(up - truncated) <= bound, f"x={point!r}: up {up}, expected {truncated}"


@pytest.mark.parametrize(
    ("dtype", "discarded"),
    [(np.float32, 23 - 10), (np.float64, 52 - 10)],  # float16's mantissa keeps 10 of the input's bits
)
def test_sr_bits_at_least_the_discarded_bits_equals_exact_stochastic_rounding(dtype, discarded):
    x = (1 + np.random.default_rng(5).random(1 << 14)).astype(dtype)  # [1, 2): one binade, one shift
    exact = stochastic(x, "fp16", rng=99)
    for sr_bits in (discarded, discarded + 1, 64):
        assert_same_values(stochastic(x, "fp16", rng=99, sr_bits=sr_bits), exact)
    fewer = stochastic(x, "fp16", rng=99, sr_bits=4)  # p truncated to 4 bits: often a different choice
    assert np.any(fewer != exact), "sr_bits below the discarded bits should change some results"


def test_sr_bits_accepts_numpy_integers():
    x = np.full(64, 1 + 2.0**-12)
    assert_same_values(stochastic(x, "fp16", rng=1, sr_bits=np.int64(4)), stochastic(x, "fp16", rng=1, sr_bits=4))


# ------------------------------------------------------------------ seeds and generators
HALFWAY = np.full(4096, 1 + 2.0**-11)  # a tie in float16: each result is a fair coin


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_int_seed_gives_bit_identical_results_and_another_seed_does_not(dtype):
    x = HALFWAY.astype(dtype)
    first = stochastic(x, "fp16", rng=12345)
    assert np.array_equal(first.view(np.uint8), stochastic(x, "fp16", rng=12345).view(np.uint8))
    assert np.array_equal(first.view(np.uint8), stochastic(x, "fp16", rng=np.uint64(12345)).view(np.uint8))
    assert not np.array_equal(first, stochastic(x, "fp16", rng=12346))


def test_generator_advances_so_two_calls_differ_and_a_fresh_generator_repeats_them():
    generator = np.random.default_rng(0)
    first, second = stochastic(HALFWAY, "fp16", rng=generator), stochastic(HALFWAY, "fp16", rng=generator)
    assert not np.array_equal(first, second)
    again = np.random.default_rng(0)
    assert np.array_equal(stochastic(HALFWAY, "fp16", rng=again), first)
    assert np.array_equal(stochastic(HALFWAY, "fp16", rng=again), second)


def test_seed_sequence_is_accepted_and_repeats_its_result():
    # The docstring of encode/quantize lists numpy.random.SeedSequence among the accepted rng types.
    first = stochastic(HALFWAY, "fp16", rng=np.random.SeedSequence(2024))
    assert np.array_equal(first, stochastic(HALFWAY, "fp16", rng=np.random.SeedSequence(2024)))
    assert not np.array_equal(first, stochastic(HALFWAY, "fp16", rng=np.random.SeedSequence(2025)))
    assert np.all((first == 1.0) | (first == 1 + 2.0**-10))


def test_no_rng_draws_fresh_entropy_so_two_calls_differ():
    assert not np.array_equal(stochastic(HALFWAY, "fp16"), stochastic(HALFWAY, "fp16"))


def test_encode_and_quantize_with_one_seed_make_the_same_choices():
    x = np.random.default_rng(1).standard_normal(10_000)
    codes = lf.encode(x, "e4m3", rounding="stochastic", rng=8)
    assert_same_values(lf.decode(codes, "e4m3", dtype=np.float64), stochastic(x, "e4m3", rng=8))


@pytest.mark.parametrize("dtype", DTYPES)
def test_element_result_depends_on_its_value_seed_and_index_alone(dtype):
    x = np.random.default_rng(2).standard_normal(5000).astype(dtype)
    changed = x.copy()
    changed[::3] *= 7  # other elements' values must not matter
    got, got_changed = stochastic(x, "bf16", rng=4), stochastic(changed, "bf16", rng=4)
    keep = np.ones(x.size, bool)
    keep[::3] = False
    assert np.array_equal(got[keep], got_changed[keep])


def test_index_is_the_c_order_position_whatever_the_memory_layout():
    x = np.random.default_rng(3).standard_normal((60, 70))
    wide = np.zeros((60, 140))
    wide[:, ::2] = x
    expected = stochastic(x, "e5m2", rng=6)
    assert_same_values(stochastic(np.asfortranarray(x), "e5m2", rng=6), expected)  # column-major memory
    assert_same_values(stochastic(wide[:, ::2], "e5m2", rng=6), expected)  # strided view
    assert_same_values(stochastic(x.ravel(), "e5m2", rng=6).reshape(x.shape), expected)


# ------------------------------------------------------------------ the same result on any number of threads
class CountingPool:
    """A thread pool that counts the pieces run() hands it."""

    def __init__(self):
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="test-lowfloat")
        self.pieces = 0

    def submit(self, fn, *args):
        self.pieces += 1
        return self.executor.submit(fn, *args)


@pytest.fixture
def counting_pool(monkeypatch):
    pool = CountingPool()
    monkeypatch.setattr(threads, "_get_pool", lambda: pool)
    yield pool
    pool.executor.shutdown()


def serial(call):
    """``call()`` with every array computed in one piece on the calling thread."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(threads, "PARALLEL_MIN_SIZE", 1 << 62)
        return call()


@pytest.mark.parametrize("cast", [lf.quantize, lf.encode], ids=["quantize", "encode"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_large_array_is_bit_identical_on_one_and_two_threads(monkeypatch, counting_pool, dtype, cast):
    x = np.random.default_rng(4).standard_normal(1 << 21).astype(dtype)  # above PARALLEL_MIN_SIZE
    assert x.size >= threads.PARALLEL_MIN_SIZE
    one = serial(lambda: cast(x, "e4m3", rounding="stochastic", rng=77))
    assert counting_pool.pieces == 0
    monkeypatch.setattr(threads, "thread_count", lambda: 2)
    two = cast(x, "e4m3", rounding="stochastic", rng=77)
    assert counting_pool.pieces == 2
    assert np.array_equal(one.view(np.uint8), two.view(np.uint8))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pieces", [1, 2, 3, 7])
def test_stochastic_result_is_the_same_for_any_number_of_pieces(monkeypatch, counting_pool, pieces, dtype):
    x = np.random.default_rng(5).standard_normal(100_003).astype(dtype)  # odd size: uneven pieces
    expected = serial(lambda: stochastic(x, "bf16", rng=31))
    monkeypatch.setattr(threads, "PARALLEL_MIN_SIZE", 1)
    monkeypatch.setattr(threads, "thread_count", lambda: pieces)
    got = stochastic(x, "bf16", rng=31)
    assert counting_pool.pieces == (pieces if pieces > 1 else 0)
    assert np.array_equal(got.view(np.uint8), expected.view(np.uint8))


# ------------------------------------------------------------------ why stochastic rounding matters
def accumulate_in_float16(increment, steps, **options):
    """Add ``increment`` ``steps`` times, rounding each partial sum to float16."""
    total = np.float64(0.0)
    for _ in range(steps):
        total = lf.quantize(total + increment, "fp16", **options)
    return float(total)


def test_float16_sum_of_small_increments_stalls_under_nearest_even_and_not_under_stochastic():
    # at 0.25 float16's spacing is 2**-12 ~ 2.44e-4: adding 1e-4 (under half of it) is lost
    assert accumulate_in_float16(1e-4, 10_000) == 0.25
    total = accumulate_in_float16(1e-4, 10_000, rounding="stochastic", rng=np.random.default_rng(0))
    assert abs(total - 1.0) <= 0.05


# ------------------------------------------------------------------ overflow
@pytest.mark.parametrize(
    ("fmt", "overflow", "rounded_up"),
    [
        ("float16", None, np.inf),  # 65504 + 16 = 65520 lies between max and the next grid point 65536
        ("float16", "saturate", 65504.0),
        ("float8_e4m3fn", None, np.nan),  # 448 + 16: the next grid point 480 is NaN's code
        ("float8_e4m3fn", "saturate", 448.0),
        ("float8_e5m2", None, np.inf),
        ("float8_e5m2", "nan", np.nan),
        ("float4_e2m1fn", None, 6.0),  # no inf, no NaN: saturates
        (GENERIC, None, np.nan),
    ],
    ids=str,
)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_stochastic_between_max_and_the_next_grid_point_gives_max_or_the_overflow_result(
    fmt, overflow, rounded_up, sign
):
    fmt = lf.get_format(fmt)
    quantum = 2.0 ** (fmt.emax - fmt.man_bits)
    x = np.full(N, sign * (fmt.max + quantum / 4))
    got = stochastic(x, fmt, overflow=overflow, rng=13)
    expected_up = sign * rounded_up
    is_max = got == sign * fmt.max
    is_up = np.isnan(got) if np.isnan(expected_up) else got == expected_up
    assert np.all(is_max | is_up)
    if expected_up != sign * fmt.max:
        up = np.count_nonzero(is_up) / N
        assert abs(up - 0.25) <= K_SIGMA * math.sqrt(0.25 * 0.75 / N)


@pytest.mark.parametrize(("name", "overflow_result"), [("fp16", np.inf), ("e4m3", np.nan), ("e2m1", 6.0)])
def test_stochastic_beyond_the_grid_point_after_max_always_overflows(name, overflow_result):
    x = np.full(1024, 1e30)
    got = stochastic(x, name, rng=0)
    assert_same_values(got, np.full(x.shape, overflow_result))
    assert_same_values(stochastic(x, name, rng=0, overflow="saturate"), np.full(x.shape, lf.get_format(name).max))


# ------------------------------------------------------------------ refused input
@pytest.mark.parametrize("cast", [lf.quantize, lf.encode], ids=["quantize", "encode"])
@pytest.mark.parametrize("rng", ["seed", 1.5, -1, True, object()], ids=["str", "float", "negative", "bool", "object"])
def test_rng_of_wrong_type_raises_type_error_naming_rng(cast, rng):
    with pytest.raises(TypeError, match="rng"):
        cast([1.0], "fp16", rounding="stochastic", rng=rng)


@pytest.mark.parametrize("rounding", lf.DETERMINISTIC_MODES)
@pytest.mark.parametrize(
    "option",
    [{"rng": 0}, {"rng": np.random.default_rng(0)}, {"sr_bits": 8}],
    ids=["rng-int", "rng-generator", "sr_bits"],
)
def test_rng_or_sr_bits_without_stochastic_rounding_raises_value_error(rounding, option):
    with pytest.raises(ValueError, match="stochastic"):
        lf.quantize([1.0], "fp16", rounding=rounding, **option)
    with pytest.raises(ValueError, match="stochastic"):
        lf.encode([1.0], "fp16", rounding=rounding, **option)


def test_rng_without_rounding_argument_raises_value_error():
    with pytest.raises(ValueError, match="stochastic"):
        lf.quantize([1.0], "fp16", rng=0)


@pytest.mark.parametrize("sr_bits", [0, 65, -3, 1.5, 8.0, True, "8"], ids=repr)
def test_sr_bits_outside_1_to_64_or_not_an_int_raises_value_error(sr_bits):
    with pytest.raises(ValueError, match="sr_bits"):
        lf.quantize([1.0], "fp16", rounding="stochastic", rng=0, sr_bits=sr_bits)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_up_decisions_of_neighbouring_elements_and_neighbouring_seeds_are_independent(dtype):
    # x halfway between 1 and 1 + 2**-10 in float16: each element rounds up with probability 1/2.
    # Independent decisions agree with their neighbour's, or with the next seed's, half the time,
    # and pairs of neighbours fall into the four (up, up) ... (down, down) cells a quarter each.
    n = 1 << 16
    x = np.full(n, 1 + 2.0**-11, dtype)
    up = [lf.quantize(x, "float16", rounding="stochastic", rng=seed) > 1 for seed in (1, 2)]
    standard_error = 0.5 / math.sqrt(n)
    assert abs(np.mean(up[0]) - 0.5) < 5 * standard_error
    assert abs(np.mean(up[0][1:] == up[0][:-1]) - 0.5) < 5 * standard_error
    assert abs(np.mean(up[0] == up[1]) - 0.5) < 5 * standard_error
    cells = np.bincount(2 * up[0][0::2] + up[0][1::2], minlength=4)  # disjoint pairs (2i, 2i + 1)
    expected = n / 8
    chi_square = float(np.sum((cells - expected) ** 2 / expected))
    assert chi_square < 16.3  # the 0.999 quantile of chi-square with 3 degrees of freedom
