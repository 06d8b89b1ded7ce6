"""Randomly drawn formats: the kernels equal the exact reference for every mode and policy.

Each example draws a format (exp_bits 1-8, man_bits 0-10, a bias that keeps
its values inside float32, every special-value convention), a rounding mode,
an overflow policy and inputs around its grid -- codes' values, midpoints
and points a fraction of an ulp away -- in float64 and float32.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import lowfloat as lf
from lowfloat import reference
from lowfloat.formats import SPECIALS


@st.composite
def formats(draw):
    exp_bits = draw(st.integers(1, 8))
    man_bits = draw(st.integers(0, 10))
    specials = draw(st.sampled_from(SPECIALS))
    bias = draw(st.integers(-20, 127))
    try:
        return lf.Format(exp_bits=exp_bits, man_bits=man_bits, bias=bias, specials=specials)
    except ValueError:
        assume(False)


def policies(fmt):
    return [None, "saturate"] + (["inf"] if fmt.has_inf else []) + (["nan"] if fmt.has_nan else [])


@st.composite
def cases(draw):
    fmt = draw(formats())
    rounding = draw(st.sampled_from(lf.DETERMINISTIC_MODES))
    overflow = draw(st.sampled_from(policies(fmt)))
    values = []
    for _ in range(draw(st.integers(1, 24))):
        code = draw(st.integers(0, fmt.max_code_magnitude))  # every magnitude up to max is finite
        value = reference.decode(code, fmt)
        lo, hi = reference.neighbours(value, fmt) if value != 0 else (0, fmt.smallest_subnormal)
        step = float(hi - lo) if hi != lo else fmt.smallest_subnormal
        fraction = draw(st.sampled_from([0.0, 0.5, 0.25, 0.75, 1e-9, 0.5 + 1e-9, 0.5 - 1e-9, 1.5, 3.0]))
        sign = draw(st.sampled_from([1.0, -1.0]))
        values.append(sign * (abs(value) + fraction * step))
    values += draw(st.lists(st.floats(allow_nan=False, width=64), max_size=4))
    if fmt.has_nan:
        values.append(math.nan)
    return fmt, rounding, overflow, np.array(values, dtype=np.float64)


def expected_codes(x, fmt, rounding, overflow):
    return np.array(
        [reference.encode(float(v), fmt, rounding=rounding, overflow=overflow) for v in x], dtype=fmt.code_dtype
    )


def same_codes(got, want, fmt):
    """Equal codes, or both NaN (a format may have several NaN codes)."""
    got_nan = np.isnan(lf.decode(got, fmt))
    want_nan = np.isnan(lf.decode(want, fmt))
    return np.array_equal(got_nan, want_nan) and np.array_equal(got[~got_nan], want[~want_nan])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(case=cases())
def test_random_format_inputs_encode_like_the_reference(dtype, case):
    fmt, rounding, overflow, x = case
    with np.errstate(over="ignore"):
        x = x.astype(dtype)
    got = lf.encode(x, fmt, rounding=rounding, overflow=overflow)
    assert same_codes(got, expected_codes(x, fmt, rounding, overflow), fmt), (fmt, rounding, overflow, x)


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(cases())
def test_random_format_quantize_is_decode_of_encode(case):
    fmt, rounding, overflow, x = case
    q = lf.quantize(x, fmt, rounding=rounding, overflow=overflow)
    d = lf.decode(lf.encode(x, fmt, rounding=rounding, overflow=overflow), fmt, dtype=np.float64)
    np.testing.assert_array_equal(q, d)
    assert np.array_equal(np.signbit(q[~np.isnan(q)]), np.signbit(d[~np.isnan(d)]))
