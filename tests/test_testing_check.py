"""check_cast / assert_cast: they pass correct casts and sort every seeded bug into its class.

The cast under test is written here from the OCP OFP8 spec with NumPy alone
(:func:`e4m3_codes`), independently of lowfloat's kernels, with switches that
seed one classic bug each: truncation, double rounding through float32,
saturation where OCP's default is NaN, a subnormal shift one too far, and a
sign taken from ``x < 0`` (which loses -0).
"""

from __future__ import annotations

import io
import math
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import lowfloat as lf
from lowfloat import reference
from lowfloat.testing import MISMATCH_CLASSES, assert_cast, check_cast, hard_cases
from lowfloat.testing.adapters import adapter


def e4m3_codes(x, *, truncate=False, through_float32=False, saturate=False, subnormal_shift=0,
               sign_from_comparison=False) -> np.ndarray:  # fmt: skip
    """float32 or float64 -> OCP E4M3 codes (bias 7, max 448, NaN S.1111.111), with seeded bugs.

    Each switch seeds one bug; all off, the cast is correct.
    """
    x = np.asarray(x)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf; signalling NaNs quieten
        if through_float32:
            x = x.astype(np.float32)  # the bug: float64 rounded to float32 first
        x = x.astype(np.float64)  # exact for float32 (and float64) inputs
    negative = x < 0 if sign_from_comparison else np.signbit(x)  # the bug: -0.0 < 0 is False
    finite = np.isfinite(x)
    magnitude = np.where(finite, np.abs(x), 0.0)
    # 1) the exponent, clamped at emin = -6 below which values are subnormal
    _, k = np.frexp(magnitude)
    exponent = np.where(magnitude == 0, -6, np.maximum(k - 1, -6))
    # 2) the significand in units of its last bit (2**(exponent - 3)): exact, in [0, 16)
    units = np.ldexp(magnitude, 3 - exponent)
    if subnormal_shift:
        units = np.where(magnitude < 2.0**-6, np.ldexp(units, -subnormal_shift), units)  # the bug
    steps = np.floor(units) if truncate else np.rint(units)  # rint rounds ties to even
    # 3) exponent field * 8 + mantissa: a carry out of the mantissa lands in the exponent by itself
    code = (exponent + 6) * 8 + steps.astype(np.int64)
    overflow = (code > 0x7E) | np.isinf(x)
    code = np.where(overflow, 0x7E if saturate else 0x7F, code)
    code = np.where(np.isnan(x), 0x7F, code)
    return (code | np.where(negative, 0x80, 0)).astype(np.uint8)


def counts(report) -> dict:
    return {kind: n for kind, n in report.counts.items() if n}


# ------------------------------------------------------------------ correct casts pass


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cases", ["hard", 50_000])
def test_a_correct_cast_written_from_the_spec_passes(dtype, cases):
    report = check_cast(e4m3_codes, "e4m3", dtype=dtype, cases=cases)
    assert report.ok, str(report)
    assert report.compared == (hard_cases("e4m3", dtype).size if cases == "hard" else cases)


@pytest.mark.parametrize("fmt", ["float8_e5m2", "float8_e4m3fnuz", "bfloat16", "float8_e8m0fnu", "float4_e2m1fn"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_lowfloats_own_encode_and_quantize_pass(fmt, dtype):
    assert_cast(lambda x: lf.encode(np.where(np.isnan(x), 0, x), fmt) if not lf.get_format(fmt).has_nan
                else lf.encode(x, fmt), fmt, dtype=dtype)  # fmt: skip
    assert_cast(lambda x: lf.quantize(x, fmt), fmt, dtype=dtype, output="values", cases=5_000)


@pytest.mark.parametrize("rounding", ["nearest_away", "toward_zero", "toward_positive", "toward_negative"])
def test_every_deterministic_mode_and_policy_is_checked_as_given(rounding):
    for overflow in (None, "saturate"):
        options = dict(rounding=rounding, overflow=overflow)
        assert check_cast(lambda x, options=options: lf.encode(x, "e5m2", **options), "e5m2", dtype="float64",
                          **options).ok  # fmt: skip
    wrong = check_cast(lambda x: lf.encode(x, "e5m2"), "e5m2", dtype="float32", rounding=rounding)
    assert not wrong.ok  # nearest-even is not what was asked for


# ------------------------------------------------------------------ seeded bugs, each in its class


def test_truncation_is_mostly_other_with_ties_broken_the_wrong_way():
    report = check_cast(lambda x: e4m3_codes(x, truncate=True), "e4m3", dtype="float32")
    found = counts(report)
    assert set(found) == {"tie", "subnormal", "overflow", "other"}
    assert max(found, key=found.get) == "other"
    for mismatch in report.examples["tie"]:  # a tie, exactly, and the other neighbour chosen
        explained = lf.explain(mismatch.x, "e4m3")
        assert explained.tie and lf.decode(mismatch.actual, "e4m3") in (-explained.upper, explained.lower)


def test_double_rounding_through_float32_is_found_and_named():
    report = check_cast(lambda x: e4m3_codes(x, through_float32=True), "e4m3", dtype="float64")
    assert counts(report) == {"double_rounding": 254}  # 2 x 126 midpoints' neighbours, and 464 + 1 ulp both signs
    for mismatch in report.examples["double_rounding"]:
        narrowed = np.float32(mismatch.x)
        assert narrowed != mismatch.x
        assert lf.encode(narrowed, "e4m3") == mismatch.actual != lf.encode(mismatch.x, "e4m3")
    assert check_cast(lambda x: e4m3_codes(x, through_float32=True), "e4m3", dtype="float32").ok  # exact there


def test_saturating_e4m3_where_ocp_says_nan_is_an_overflow_and_infinity_bug():
    report = check_cast(lambda x: e4m3_codes(x, saturate=True), "e4m3", dtype="float32")
    found = counts(report)
    assert set(found) == {"overflow", "nan_inf"} and found["nan_inf"] == 2  # +-inf -> +-448
    assert all(abs(float(m.x)) > 448 for m in report.examples["overflow"])
    assert check_cast(lambda x: e4m3_codes(x, saturate=True), "e4m3", dtype="float32", overflow="saturate").ok


@pytest.mark.parametrize("shift", [1, 2])
def test_a_wrong_subnormal_shift_is_a_subnormal_bug(shift):
    report = check_cast(lambda x: e4m3_codes(x, subnormal_shift=shift), "e4m3", dtype="float32", cases=20_000)
    assert set(counts(report)) == {"subnormal"}
    assert all(0 < abs(float(m.x)) < 2.0**-6 for m in report.examples["subnormal"])


def test_a_sign_from_x_less_than_zero_loses_negative_zero():
    report = check_cast(lambda x: e4m3_codes(x, sign_from_comparison=True), "e4m3", dtype="float32")
    assert counts(report) == {"zero_sign": 1}
    (mismatch,) = report.examples["zero_sign"]
    assert mismatch.bits == 0x80000000 and (mismatch.expected, mismatch.actual) == (0x80, 0x00)


def test_nan_turned_into_zero_is_a_nan_inf_bug():
    report = check_cast(lambda x: np.where(np.isnan(x), 0, e4m3_codes(x)), "e4m3", dtype="bfloat16")
    assert counts(report) == {"nan_inf": 8}  # two quiet and two signalling NaNs, both signs


def test_ties_broken_to_even_in_e8m0_where_the_format_rounds_them_up():
    def e8m0_ties_to_even(x):  # 2**round(log2 x), a tie between exponents going to the even exponent field
        magnitude, k = np.frexp(x)  # x = magnitude * 2**k, magnitude in [0.5, 1)
        exponent = k - 1 + (magnitude > 0.75) + ((magnitude == 0.75) & ((k - 1 + 127) % 2 == 1))
        return lf.encode(np.ldexp(1.0, exponent), "e8m0")

    x = np.float32(2.0 ** np.arange(-20, 20) * 1.5)  # all ties
    report = check_cast(e8m0_ties_to_even, "e8m0", dtype="float32", cases=x)
    assert counts(report) == {"tie": 20}


def test_values_output_is_compared_by_value_and_sign():
    report = check_cast(lambda x: lf.quantize(x.astype(np.float32), "bf16"), "bf16", dtype="float64",
                        output="values")  # fmt: skip
    assert counts(report).keys() == {"double_rounding"}
    assert isinstance(report.examples["double_rounding"][0].actual, float)

    def positive_zeros(x):  # every zero result +0; NaN of either sign stays NaN
        rounded = lf.quantize(x, "bf16")
        return np.where(rounded == 0, 0.0, rounded)

    flipped = check_cast(positive_zeros, "bf16", dtype="float32", output="values")
    assert set(counts(flipped)) == {"zero_sign"}  # -0 and the tiny negatives that round to -0


# ------------------------------------------------------------------ the issue's 378 probes against the peers


def issue_probes() -> np.ndarray:
    """The 126 midpoints between neighbouring positive finite E4M3 values, and each nudged by 2**-40 up and down."""
    values = [reference.magnitude_of_code(c, lf.get_format("e4m3")) for c in range(127)]
    midpoints = np.array([float((a + b) / 2) for a, b in zip(values, values[1:], strict=False)])
    return np.concatenate([midpoints, midpoints * (1 + 2.0**-40), midpoints * (1 - 2.0**-40)])


@pytest.mark.parametrize("library", ["ml_dtypes", "torch"])
def test_peers_double_round_126_of_the_378_probes(library):
    pytest.importorskip(library)
    probes = issue_probes()
    assert probes.size == 378
    report = check_cast(adapter(library, "e4m3", "float64"), "e4m3", dtype="float64", cases=probes)
    assert report.compared == 378 and counts(report) == {"double_rounding": 126}


# ------------------------------------------------------------------ cases, executors, reports


def test_random_cases_repeat_with_the_seed_whatever_the_batch_size():
    def bug(x):
        return e4m3_codes(x, truncate=True)

    one = check_cast(bug, "e4m3", dtype="float64", cases=30_000, seed=3)
    split = check_cast(bug, "e4m3", dtype="float64", cases=30_000, seed=3, batch_size=30_000)
    assert one.counts == split.counts and one.mismatches > 1000
    assert check_cast(bug, "e4m3", dtype="float64", cases=30_000, seed=4).counts != one.counts


def test_executors_give_the_serial_report():
    def bug(x):
        return e4m3_codes(x, truncate=True)

    serial = check_cast(bug, "e4m3", dtype="float32", batch_size=100)
    with ThreadPoolExecutor(2) as pool:
        threaded = check_cast(bug, "e4m3", dtype="float32", batch_size=100, executor=pool)
    assert threaded == serial and threaded.examples == serial.examples


def test_a_process_pool_runs_a_picklable_cast_and_refuses_a_local_one():
    cast = adapter("numpy", "fp16", "float32")
    with ProcessPoolExecutor(2) as pool:
        report = check_cast(cast, "fp16", dtype="float32", cases=range(0x47000000, 0x47800000), executor=pool,
                            batch_size=1 << 21)  # fmt: skip
        assert report.ok and report.compared == 1 << 23
        with pytest.raises(TypeError, match="module level"):
            check_cast(lambda x: cast(x), "fp16", dtype="float32", executor=pool)


def test_a_dask_cluster_runs_the_batches_through_get_executor():
    distributed = pytest.importorskip("distributed")

    def bug(x):
        return e4m3_codes(x, truncate=True)

    serial = check_cast(bug, "e4m3", dtype="float64", cases=20_000, batch_size=2_000)
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        report = check_cast(bug, "e4m3", dtype="float64", cases=20_000, batch_size=2_000,
                            executor=client.get_executor())  # fmt: skip
    assert report == serial and report.examples == serial.examples


def test_exhaustive_16_bit_inputs_and_ranges_of_bit_patterns():
    report = check_cast(adapter("numpy", "fp16", "bfloat16"), "fp16", dtype="bfloat16", cases="exhaustive")
    assert report.ok and report.compared == 65536 and report.cases == "every bfloat16 input: 65,536"
    part = check_cast(adapter("numpy", "fp16", "float32"), "fp16", dtype="float32", cases=range(0, 1 << 32, 1 << 16))
    assert part.ok and part.compared == 65536


def test_given_inputs_must_be_values_of_the_input_type():
    assert check_cast(e4m3_codes, "e4m3", dtype="float32", cases=[0.5, 464.0, -0.0]).compared == 3
    with pytest.raises(ValueError, match="not a float32 value"):
        check_cast(e4m3_codes, "e4m3", dtype="float32", cases=[0.1])  # a float64 0.1
    with pytest.raises(ValueError, match="not a bfloat16 value"):
        check_cast(e4m3_codes, "e4m3", dtype="bfloat16", cases=np.float32([1 + 2**-10]))


def test_a_cast_working_in_place_disturbs_neither_the_report_nor_the_callers_array():
    def truncate_then_scribble(x):
        codes = e4m3_codes(x, truncate=True)
        x[...] = 1.0
        return codes

    given = hard_cases("e4m3", "float32")
    kept = given.copy()
    report = check_cast(truncate_then_scribble, "e4m3", dtype="float32", cases=given)
    assert report.counts == check_cast(lambda x: e4m3_codes(x, truncate=True), "e4m3", dtype="float32").counts
    assert np.array_equal(given.view(np.uint32), kept.view(np.uint32))
    assert report.examples["other"][0].x != 1.0


def test_nan_inputs_are_skipped_when_the_format_has_no_nan_code():
    report = check_cast(adapter("ml_dtypes", "fp4", "float32"), "fp4", dtype="float32")
    assert report.skipped == 8 and report.compared == hard_cases("fp4", "float32").size - 8
    assert report.ok  # every other input agrees with ml_dtypes
    assert "8 skipped (NaN: float4_e2m1fn has no NaN code)" in str(report)


@pytest.mark.parametrize(
    "fn, options, message",
    [
        (lambda x: x[:1], {}, r"shape \(1,\)"),
        (lambda x: x, {}, "output='values'"),
        (lambda x: lf.encode(x, "e4m3"), {"output": "values"}, "output='codes'"),
        (lambda x: np.full(x.shape, 256), {}, "code 256, outside 0..255"),
        (lambda x: np.full(x.shape, -1, np.int16), {}, "code -1"),
        (lambda x: x.astype(bool), {}, "integer codes"),
    ],
)
def test_a_cast_returning_the_wrong_thing_is_told_what(fn, options, message):
    with pytest.raises(ValueError, match=message):
        check_cast(fn, "e4m3", dtype="float32", **options)


def test_int8_codes_and_ml_dtypes_arrays_are_read_as_codes():
    assert check_cast(lambda x: e4m3_codes(x).view(np.int8), "e4m3", dtype="float32").ok
    import ml_dtypes

    assert check_cast(lambda x: x.astype(ml_dtypes.float8_e4m3fn), "e4m3", dtype="float32").ok
    assert check_cast(lambda x: x.astype(ml_dtypes.float8_e4m3fn), "e4m3", dtype="float32", output="values").ok


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"rounding": "stochastic"}, ValueError, "stochastic"),
        ({"rounding": "up"}, ValueError, "rounding"),
        ({"overflow": "inf"}, ValueError, "inf"),
        ({"output": "bits"}, ValueError, "output"),
        ({"cases": "all"}, ValueError, "cases must be"),
        ({"cases": "exhaustive", "dtype": "float64"}, ValueError, "at most 32 bits"),
        ({"cases": range(-1, 5)}, ValueError, "bit patterns"),
        ({"cases": ["a"]}, ValueError, "real numbers"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"examples": -1}, ValueError, "examples"),
        ({"ftz": "yes"}, TypeError, "ftz"),
        ({"executor": object()}, TypeError, "Executor"),
    ],
)
def test_bad_options_are_refused_by_name(options, error, message):
    options = {"dtype": "float32"} | options
    with pytest.raises(error, match=message):
        check_cast(e4m3_codes, "e4m3", **options)
    with pytest.raises(TypeError, match="callable"):
        check_cast("e4m3_codes", "e4m3", dtype="float32")


def test_the_report_lists_each_class_with_examples_and_lowfloats_explanation():
    report = check_cast(lambda x: e4m3_codes(x, truncate=True, sign_from_comparison=True), "e4m3",
                        dtype="float32", examples=2)  # fmt: skip
    text = str(report)
    lines = text.splitlines()
    assert lines[0] == "<lambda>: float32 -> float8_e4m3fn (nearest_even, overflow=nan), comparing codes"
    assert lines[1] == f"cases       hard cases (level 1): {hard_cases('e4m3', 'float32').size:,} inputs"
    assert lines[4].startswith("mismatches  ") and f"{report.mismatches:,}" in lines[4]
    headings = [line.split(":")[0] for line in lines if line and not line.startswith(" ") and ":" in line[:30]]
    assert headings[-5:] == ["tie broken the wrong way", "subnormal", "overflow threshold", "sign of zero", "other"]
    assert text.count("lowfloat, for the first:") == 5 and "decision    tie to even" in text
    assert "x = -0.0 (0x80000000): expected 0x80 = -0.0, got 0x00 = 0.0" in text
    assert set(MISMATCH_CLASSES) == set(report.counts)


def test_assert_cast_raises_with_the_report_and_returns_it_when_equal():
    with pytest.raises(AssertionError, match="tie broken the wrong way"):
        assert_cast(lambda x: e4m3_codes(x, truncate=True), "e4m3", dtype="float32")
    assert assert_cast(e4m3_codes, "e4m3", dtype="float32").ok


def test_progress_shows_on_a_terminal_only(monkeypatch, capsys):
    check_cast(e4m3_codes, "e4m3", dtype="float32", cases=20_000, batch_size=1000)
    assert capsys.readouterr().err == ""  # not a terminal: silent

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    check_cast(e4m3_codes, "e4m3", dtype="float32", cases=20_000, batch_size=1000)
    assert "20" in terminal.getvalue()  # 20.0k inputs (tqdm) or 20,000 inputs (plain)


# ------------------------------------------------------------------ all 2**32 float32 inputs


@pytest.mark.slow
def test_ml_dtypes_e4m3_cast_equals_lowfloat_on_every_float32_input():
    pytest.importorskip("ml_dtypes")
    with ProcessPoolExecutor(2) as pool:
        report = check_cast(adapter("ml_dtypes", "e4m3", "float32"), "e4m3", dtype="float32", cases="exhaustive",
                            executor=pool)  # fmt: skip
    assert report.ok, str(report)
    assert report.compared == 2**32 and math.isfinite(report.seconds)
