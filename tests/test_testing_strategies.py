"""lowfloat.testing's hypothesis strategies generate what they claim.

Every value is of the dtype asked for; each kind's values are of that kind
(by the exact oracle of test_testing_cases); each kind turns up in the
default mixture; formats are valid; codes are in range with the special
ones among them.  And hypothesis stays out of ``import lowfloat.testing``.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from test_testing_cases import holds_kind

import lowfloat as lf
from lowfloat.testing import KINDS, codes, formats, hard_cases, values
from lowfloat.testing.inputs import input_type
from lowfloat.testing.strategies import VALUE_KINDS, special_codes

INPUTS = ["float16", "bfloat16", "float32", "float64"]
# formats of every width class: listed in full (<= 16 bits) and sampled (tf32, float32, generic wide ones)
FORMATS = ["e4m3", "e5m2", "fp16", "bf16", "e8m0", "fp4", "e4m3fnuz", "tf32", "fp32",
           lf.Format(exp_bits=6, man_bits=12, bias=31, specials="fn")]  # fmt: skip


def nonempty(fmt, dtype, kind) -> bool:
    return kind == "random" or hard_cases(fmt, dtype, kinds=[kind]).size > 0


def check_kind(fmt, dtype, kind):
    """Draw inputs of one kind and check each one's dtype and kind."""
    source = input_type(dtype)

    @settings(max_examples=25, database=None)
    @given(values(fmt, dtype, kinds=[kind]))
    def check(x):
        assert type(x) is source.storage.type
        assert source.holds(np.array([x]))[0]
        if kind != "random":
            assert holds_kind(kind, x, fmt, source), (kind, x)

    check()


@pytest.mark.parametrize("dtype", INPUTS)
@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_each_kind_draws_inputs_of_that_kind_and_of_the_dtype_asked_for(fmt, dtype):
    for kind in VALUE_KINDS:
        if nonempty(fmt, dtype, kind):
            check_kind(fmt, dtype, kind)
        else:
            with pytest.raises(ValueError, match="has no inputs"):
                values(fmt, dtype, kinds=[kind])


@pytest.mark.parametrize("dtype", INPUTS)
def test_every_kind_turns_up_in_the_default_mixture(dtype):
    source = input_type(dtype)
    for kind in KINDS:
        if not nonempty("e4m3", dtype, kind):
            continue
        found = find(values("e4m3", dtype), lambda x, kind=kind: holds_kind(kind, x, "e4m3", source),
                     settings=settings(max_examples=2000, database=None,
                                       suppress_health_check=[HealthCheck.too_slow]))  # fmt: skip
        assert holds_kind(kind, found, "e4m3", source)


@given(values("bf16", "bfloat16", shape=(3, 5)))
def test_arrays_have_the_shape_and_dtype_and_bfloat16_values(x):
    assert x.shape == (3, 5) and x.dtype == np.float32
    assert (x.view(np.uint32) & 0xFFFF == 0).all()


def test_wide_formats_draw_fresh_grid_values_beyond_the_hard_case_sample():
    sample = set(hard_cases("fp32", "float64", kinds=["midpoint"]).tolist())
    seen = []

    @settings(max_examples=200, database=None)
    @given(values("fp32", "float64", kinds=["midpoint"]))
    def collect(x):
        seen.append(float(x))

    collect()
    assert any(x not in sample for x in seen)


@settings(max_examples=300)
@given(formats())
def test_formats_are_valid_and_include_generic_ones(fmt):
    assert isinstance(fmt, lf.Format) and 0 < fmt.max < float("inf")
    assert lf.get_format(fmt) == fmt


def test_formats_draw_builtin_and_generic_ones_within_max_bits():
    builtin = find(formats(max_bits=8), lambda f: f.name in lf.BUILTIN_FORMATS)
    generic = find(formats(max_bits=8), lambda f: f.name not in lf.BUILTIN_FORMATS and not f.signed)
    assert builtin.bits <= 8 and generic.bits <= 8
    assert find(formats(builtin=False), lambda f: f.specials == "ieee").name not in lf.BUILTIN_FORMATS

    @given(formats(max_bits=6))
    def small(fmt):
        assert fmt.bits <= 6

    small()
    with pytest.raises(ValueError, match="builtin=True or generic=True"):
        formats(builtin=False, generic=False)
    with pytest.raises(ValueError, match="max_bits"):
        formats(max_bits=1)


@pytest.mark.parametrize("fmt", ["e4m3", "e5m2", "fp4", "e8m0", "e4m3fnuz", "fp32"])
def test_codes_are_in_range_and_the_special_ones_turn_up(fmt):
    fmt = lf.get_format(fmt)

    @given(codes(fmt))
    def in_range(code):
        assert isinstance(code, int) and 0 <= code < 1 << fmt.bits

    in_range()
    for code in special_codes(fmt):
        assert find(codes(fmt), lambda c, code=code: c == code, settings=settings(database=None)) == code
    values_of_specials = lf.decode(np.array(special_codes(fmt), dtype=fmt.code_dtype), fmt)
    assert fmt.max in values_of_specials and np.isnan(values_of_specials).any() == fmt.has_nan


@given(st.data())
def test_codes_of_random_formats_decode(data):
    fmt = data.draw(formats(max_bits=12))
    code = data.draw(codes(fmt))
    assert 0 <= code < 1 << fmt.bits
    lf.decode(code, fmt)


@pytest.mark.parametrize("bias", [-3, -1, 0])
def test_special_codes_of_formats_whose_bias_leaves_out_one_are_in_range(bias):
    # 1.0 is not a normal number of these formats; a bias below 1 once gave negative codes.
    fmt = lf.Format(exp_bits=2, man_bits=1, bias=bias)
    found = special_codes(fmt)
    assert found and all(0 <= code < 1 << fmt.bits for code in found)


def test_unknown_kinds_and_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="unknown kind 'ties'"):
        values("e4m3", kinds=["ties"])
    with pytest.raises(ValueError, match="shape"):
        values("e4m3", shape=(-1,))
    with pytest.raises(ValueError, match="dtype must be one of"):
        values("e4m3", "int8")


def test_importing_lowfloat_testing_does_not_import_hypothesis():
    code = "import sys, lowfloat, lowfloat.testing; assert 'hypothesis' not in sys.modules; " \
           "lowfloat.testing.hard_cases('e4m3'); assert 'hypothesis' not in sys.modules"  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True)
    code = "import sys, lowfloat; lowfloat.quantize(1.0, 'e4m3'); assert 'lowfloat.testing' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
