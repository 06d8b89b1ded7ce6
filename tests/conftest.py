"""Shared oracles, code enumerators and hypothesis profiles for the lowfloat tests.

The tests check lowfloat against three oracles at once:

* ml_dtypes (numpy's own float16 and float32) -- the external twin of each
  built-in format, found with :func:`ml_twin`;
* :mod:`lowfloat.reference` -- the exact, slow specification;
* hex spot tables transcribed from the specifications, in the test files.

Hypothesis profiles: ``default`` (100 examples), ``ci`` (1000 examples) and
``dev`` (20 examples, for quick edits); pick one with ``HYPOTHESIS_PROFILE=ci``.
All of them use ``deadline=None``: the first call of a Numba kernel compiles
(or loads from the on-disk cache), which no deadline should count.
"""

from __future__ import annotations

import functools
import gc
import math
import os
from fractions import Fraction

import ml_dtypes
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import lowfloat as lf
from lowfloat import reference

# ------------------------------------------------------------- hypothesis
settings.register_profile("default", deadline=None, max_examples=100)
settings.register_profile("ci", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=20)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# ------------------------------------------------------------- the kernels, compiled once
#: The native thread pools the tests drive besides lowfloat's own: OpenBLAS under numpy's matmul
#: (the trainer), torch's OpenMP, MKL where a library brings it.
NATIVE_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pytest_configure(config):
    """A distributed run (``-n N``) gives each worker one native thread, then compiles lowfloat's kernels once.

    The workers inherit the controller's environment.  N workers on N cores keep every core
    busy; a pool of N more threads in each worker only takes turns with the other workers,
    and OpenBLAS's and OpenMP's idle threads spin while they wait for work: with two of
    them the training notebook ran three times slower in the suite (71 s) than alone (24 s).
    A variable the caller set is left as it is.  lowfloat's own threads (``threads.run``)
    still split large arrays, as the tests of that split need.

    Then :func:`lowfloat.warmup` compiles each kernel path in one process, all cores busy:
    without it each worker compiles every kernel it meets on its own, at the same time as
    the other, into one Numba cache -- on an empty cache (CI, a new checkout) that was most
    of the suite's time.  With a warm cache it only checks the cache index (about a second).
    ``LOWFLOAT_TEST_WARMUP=0`` skips it.
    """
    distributed = getattr(config.option, "numprocesses", None)
    if hasattr(config, "workerinput") or not distributed:
        return  # a worker (the controller set it up), or a run in one process
    for name in NATIVE_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    if os.environ.get("LOWFLOAT_TEST_WARMUP") != "0":
        config.lowfloat_warmup = lf.warmup()


def pytest_collection_finish(session):
    """Once the tests are collected, what exists then stays out of every later garbage collection.

    A worker keeps everything it imported (numba, hypothesis, torch, the test modules and
    their parameters) to the end; Python's full collections walk all of it again each time,
    and the reference-heavy tests allocate enough to trigger about a hundred of them per
    worker (7 s of gen-2 collections in 46 s of three test files, half that when frozen).
    Garbage is collected first, so nothing is frozen that was already unreachable.
    """
    gc.collect()
    gc.freeze()


def pytest_report_header(config):
    report = getattr(config, "lowfloat_warmup", None)
    return f"lowfloat warmup: {report}" if report else None


# ------------------------------------------------------------- the formats
#: Canonical names of every built-in format, in lowfloat's order.
FORMAT_NAMES = list(lf.BUILTIN_FORMATS)

#: The external twin of each built-in format: ml_dtypes, or numpy for float16/float32.
#: tensorfloat32 has none.
_TWINS = {
    "float32": np.dtype(np.float32),
    "tensorfloat32": None,
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
    "float8_e4m3fn": np.dtype(ml_dtypes.float8_e4m3fn),
    "float8_e5m2": np.dtype(ml_dtypes.float8_e5m2),
    "float8_e4m3fnuz": np.dtype(ml_dtypes.float8_e4m3fnuz),
    "float8_e5m2fnuz": np.dtype(ml_dtypes.float8_e5m2fnuz),
    "float8_e4m3b11fnuz": np.dtype(ml_dtypes.float8_e4m3b11fnuz),
    "float8_e3m4": np.dtype(ml_dtypes.float8_e3m4),
    "float8_e4m3": np.dtype(ml_dtypes.float8_e4m3),
    "float8_e8m0fnu": np.dtype(ml_dtypes.float8_e8m0fnu),
    "float6_e2m3fn": np.dtype(ml_dtypes.float6_e2m3fn),
    "float6_e3m2fn": np.dtype(ml_dtypes.float6_e3m2fn),
    "float4_e2m1fn": np.dtype(ml_dtypes.float4_e2m1fn),
}
assert set(_TWINS) == set(FORMAT_NAMES), "a built-in format is missing from the twin table"

#: Built-in formats that have an external twin.
TWINNED_NAMES = [name for name in FORMAT_NAMES if _TWINS[name] is not None]
#: Built-in formats of at most 16 bits (every code can be enumerated cheaply).
NAMES_UP_TO_16_BITS = [name for name in FORMAT_NAMES if lf.get_format(name).bits <= 16]
#: Built-in formats of at most 8 bits.
NAMES_UP_TO_8_BITS = [name for name in FORMAT_NAMES if lf.get_format(name).bits <= 8]
#: Built-in formats without NaN (encode refuses NaN for them).
NAMES_WITHOUT_NAN = [name for name in FORMAT_NAMES if not lf.get_format(name).has_nan]
#: One format of each kind: IEEE-like of several widths, fn, fnuz, none, unsigned.
REPRESENTATIVE_NAMES = [
    "float32",
    "tensorfloat32",
    "float16",
    "bfloat16",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e4m3b11fnuz",
    "float8_e3m4",
    "float8_e8m0fnu",
    "float6_e3m2fn",
    "float4_e2m1fn",
]


def ml_twin(fmt) -> np.dtype | None:
    """The ml_dtypes (or numpy) dtype with the same codes and values as ``fmt``, or None."""
    return _TWINS[lf.get_format(fmt).name]


def uint_of(dtype) -> np.dtype:
    """The unsigned integer dtype of the same width as ``dtype`` (a float type's bits)."""
    return np.dtype(f"u{np.dtype(dtype).itemsize}")


def twin_values(codes, fmt) -> np.ndarray:
    """Codes viewed as the twin dtype (4- and 6-bit ml_dtypes occupy a whole uint8)."""
    twin = ml_twin(fmt)
    return np.asarray(codes).astype(uint_of(twin)).view(twin)


def twin_codes(values) -> np.ndarray:
    """The codes (bits) of an array of a twin dtype."""
    return values.view(uint_of(values.dtype))


def twin_to_float64(values) -> np.ndarray:
    """Twin-dtype values as float64 (exact); NaN casts silently."""
    with np.errstate(invalid="ignore"):
        return values.astype(np.float64)


# ------------------------------------------------------------- code enumerators
def all_codes(fmt) -> np.ndarray:
    """Every code of ``fmt``, in order: ``0 .. 2**bits - 1`` in its code dtype."""
    fmt = lf.get_format(fmt)
    return np.arange(1 << fmt.bits, dtype=np.uint64).astype(fmt.code_dtype)


def edge_codes(fmt) -> list[int]:
    """Codes at the edges of the ranges: zeros, smallest values, 1, max, inf, NaN, of both signs."""
    fmt = lf.get_format(fmt)
    magnitudes = {0, 1, 2, (1 << fmt.man_bits) - 1, 1 << fmt.man_bits, fmt.max_code_magnitude - 1}
    magnitudes |= {fmt.max_code_magnitude, fmt.bias << fmt.man_bits, (fmt.bias << fmt.man_bits) + 1}
    if fmt.has_inf:
        magnitudes |= {fmt.inf_code_magnitude, fmt.inf_code_magnitude + 1}
    if fmt.has_nan:
        magnitudes.add(fmt.nan_code & ~fmt.sign_code)
    magnitudes.add((1 << (fmt.bits - int(fmt.signed))) - 1)  # all ones
    codes = {m for m in magnitudes if 0 <= m < (1 << fmt.bits)}
    codes |= {m | fmt.sign_code for m in codes}
    return sorted(codes)


def sampled_codes(fmt, count: int = 4096, seed: int = 0) -> np.ndarray:
    """All codes for formats of up to 16 bits, else the edge codes and ``count`` random ones."""
    fmt = lf.get_format(fmt)
    if fmt.bits <= 16:
        return all_codes(fmt)
    rng = np.random.default_rng(seed)
    random = rng.integers(0, 1 << fmt.bits, size=count, dtype=np.uint64)
    codes = np.union1d(np.array(edge_codes(fmt), dtype=np.uint64), random)
    return codes.astype(fmt.code_dtype)


def is_nan_code(codes, fmt) -> np.ndarray:
    """Which codes are NaN, by the exact reference (not by lowfloat's kernels)."""
    return np.array([math.isnan(reference.decode(int(c), fmt)) for c in np.ravel(codes)], dtype=bool).reshape(
        np.shape(codes)
    )


def non_nan_codes(fmt, count: int = 4096) -> np.ndarray:
    """:func:`sampled_codes` without the NaN codes."""
    codes = sampled_codes(fmt, count)
    fmt = lf.get_format(fmt)
    if fmt.bits <= 16:
        values = lf.decode(codes, fmt)  # checked against ml_dtypes and the reference in test_codec
        return codes[~np.isnan(values)]
    return codes[~is_nan_code(codes, fmt)]


def finite_values(fmt) -> list[Fraction]:
    """Every finite non-negative value of a format of at most 16 bits, ascending, exactly."""
    fmt = lf.get_format(fmt)
    return [reference.magnitude_of_code(c, fmt) for c in range(fmt.max_code_magnitude + 1)]


# ------------------------------------------------------------- comparisons
def hexes(codes) -> list[str]:
    return [hex(int(c)) for c in np.ravel(codes)]


def assert_same_values(actual, expected, inputs=None, limit: int = 8):
    """Arrays equal value by value: NaN equals NaN, and the sign of zero counts.

    On failure the message lists the first ``limit`` mismatches (with their
    inputs if given).
    """
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    with np.errstate(invalid="ignore"):
        a = actual.astype(np.float64)
        e = expected.astype(np.float64)
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    same = (nan_a & nan_e) | (~nan_a & ~nan_e & (a == e) & (np.signbit(a) == np.signbit(e)))
    _raise_mismatches(same, inputs, limit, "values", lambda i: f"got {a.ravel()[i]!r}, expected {e.ravel()[i]!r}")


def assert_same_codes(actual, expected, inputs=None, limit: int = 8):
    """Code arrays equal exactly; the message shows the first mismatches in hex."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    same = actual.astype(np.uint64) == expected.astype(np.uint64)
    _raise_mismatches(
        same, inputs, limit, "codes",
        lambda i: f"got {hex(int(actual.ravel()[i]))}, expected {hex(int(expected.ravel()[i]))}",
    )  # fmt: skip


def _raise_mismatches(same, inputs, limit, noun, describe):
    """AssertionError listing the first ``limit`` places where ``same`` is False, if any."""
    if same.all():
        return
    bad = np.flatnonzero(~same.ravel())
    rows = []
    for i in bad[:limit]:
        where = f"input {np.ravel(inputs)[i]!r}: " if inputs is not None else f"index {i}: "
        rows.append(where + describe(i))
    raise AssertionError(f"{bad.size} of {same.size} {noun} differ:\n  " + "\n  ".join(rows))


def reference_codes(values, fmt, **options) -> np.ndarray:
    """``reference.encode`` applied to every element (Python floats or ints)."""
    fmt = lf.get_format(fmt)
    return np.array([reference.encode(v, fmt, **options) for v in values], dtype=np.uint64).astype(fmt.code_dtype)


# ------------------------------------------------------------- hypothesis strategies
def reals_for(fmt, *, width: int = 64, allow_nan: bool = True) -> st.SearchStrategy[float]:
    """Floats that matter to ``fmt``: any float, plus many inside and around its range.

    Values are Python floats exactly representable in float``width``: random
    significands in every binade from below the smallest subnormal to above
    the largest value, points at simple fractions between neighbouring codes
    (ties included), and hypothesis' own floats (0, inf, NaN, extremes).
    """
    return _reals_for(lf.get_format(fmt), width, allow_nan)


@functools.cache
def _reals_for(fmt, width: int, allow_nan: bool) -> st.SearchStrategy[float]:
    emin_sub = fmt.emin - (fmt.man_bits if fmt.has_subnormals else 0)
    lo_exp = max(emin_sub - 3, -149 if width == 32 else -1074)
    hi_exp = min(fmt.emax + 2, 127 if width == 32 else 1023)
    magnitudes = st.builds(_in_binade, st.integers(lo_exp, hi_exp), st.integers(0, (1 << 52) - 1), st.just(width))
    near_grid = st.builds(
        _near_grid_value,
        st.integers(0, fmt.max_code_magnitude + 1),
        st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(1, 4), Fraction(3, 4), Fraction(1, 3)]),
        st.just(fmt),
        st.just(width),
    )
    signed = st.builds(_with_sign, st.one_of(magnitudes, near_grid), st.booleans())
    anything = st.floats(width=width, allow_nan=allow_nan)
    return st.one_of(signed, anything)


def _with_sign(magnitude: float, negative: bool) -> float:
    return -magnitude if negative else magnitude


def _in_binade(exponent: int, fraction_bits: int, width: int) -> float:
    """``(1 + fraction_bits / 2**52) * 2**exponent``, rounded to float``width``."""
    value = math.ldexp(1.0 + fraction_bits / 2.0**52, exponent)
    with np.errstate(over="ignore"):
        return float(np.float32(value)) if width == 32 else value


def _below_power_of_two(exponent: int, width: int) -> float:
    """The largest float``width`` below ``2**exponent`` (the largest finite one if that overflows)."""
    ftype = np.float32 if width == 32 else np.float64
    top = ftype(2.0**exponent) if exponent < (128 if width == 32 else 1024) else ftype(np.inf)
    return float(np.nextafter(top, ftype(0)))


def _near_grid_value(code_magnitude: int, fraction: Fraction, fmt, width: int) -> float:
    """A value ``fraction`` of the way from the code's value to the next one up, in float``width``."""
    lo = _grid_value(code_magnitude, fmt)
    hi = _grid_value(code_magnitude + 1, fmt)
    exact = lo + (hi - lo) * fraction
    with np.errstate(over="ignore"):  # beyond float32: inf, a value worth testing too
        return float(np.float32(float(exact))) if width == 32 else float(exact)


def _grid_value(code_magnitude: int, fmt) -> Fraction:
    """Value of a magnitude code, continuing the top binade's spacing past the largest finite value."""
    if code_magnitude <= fmt.max_code_magnitude:
        return reference.magnitude_of_code(code_magnitude, fmt)
    top = reference.magnitude_of_code(fmt.max_code_magnitude, fmt)
    quantum = Fraction(2) ** (fmt.emax - fmt.man_bits)
    return top + quantum * (code_magnitude - fmt.max_code_magnitude)
