"""finfo: every limit against ml_dtypes.finfo / numpy.finfo and the reference; caching; the table."""

import pickle
import subprocess
import sys
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from conftest import FORMAT_NAMES, TWINNED_NAMES, ml_twin

import lowfloat as lf
from lowfloat import reference

ATTRIBUTES = (
    "bits eps epsneg max min smallest_normal smallest_subnormal tiny nexp nmant maxexp minexp machep negep "
    "precision resolution"
).split()


def external_finfo(name):
    twin = ml_twin(name)
    return np.finfo(twin) if twin in (np.float16, np.float32) else ml_dtypes.finfo(twin)


@pytest.mark.parametrize("name", TWINNED_NAMES)
def test_finfo_equals_ml_dtypes_finfo_for_every_attribute(name):
    ours, theirs = lf.finfo(name), external_finfo(name)
    differing = {
        attr: (getattr(ours, attr), getattr(theirs, attr))
        for attr in ATTRIBUTES
        if float(getattr(ours, attr)) != float(getattr(theirs, attr))
    }
    assert differing == {}, f"{name}: (lowfloat, ml_dtypes) differ for {differing}"


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_finfo_limits_equal_reference_values_of_neighbouring_codes(name):
    # A third oracle: the limits are values of codes, decoded exactly.
    fmt = lf.get_format(name)
    fi = lf.finfo(name)
    one = reference.encode(1.0, fmt)
    assert fi.eps == reference.decode(one + 1, fmt) - 1.0
    assert fi.epsneg == 1.0 - reference.decode(one - 1, fmt)
    assert fi.eps == 2.0**fi.machep and fi.epsneg == 2.0**fi.negep
    assert fi.max == reference.decode(fmt.max_code_magnitude, fmt)
    assert fi.min == (-fi.max if fmt.signed else reference.decode(0, fmt))
    smallest_code = 1 if fmt.has_zero else 0
    assert fi.smallest_subnormal == reference.decode(smallest_code, fmt)
    assert fi.smallest_normal == fi.tiny == 2.0**fi.minexp
    assert fi.maxexp == fmt.emax + 1 and 2.0 ** (fi.maxexp - 1) <= fi.max < 2.0**fi.maxexp
    assert (fi.bits, fi.nexp, fi.iexp, fi.nmant) == (fmt.bits, fmt.exp_bits, fmt.exp_bits, fmt.man_bits)
    assert fi.code_dtype == fmt.code_dtype
    assert fi.format is fmt
    assert fi.resolution == reference.quantize(Fraction(1, 10**fi.precision), fmt)


def test_finfo_tensorfloat32_matches_the_spec_table():
    # No ml_dtypes twin: values from NVIDIA's TF32 definition (float32 range, 10 mantissa bits).
    fi = lf.finfo("tf32")
    assert fi.max == float.fromhex("0x1.ffcp127")
    assert fi.min == -float.fromhex("0x1.ffcp127")
    assert (fi.smallest_normal, fi.smallest_subnormal) == (2.0**-126, 2.0**-136)
    assert (fi.eps, fi.epsneg, fi.machep, fi.negep) == (2.0**-10, 2.0**-11, -10, -11)
    assert (fi.bits, fi.nexp, fi.nmant, fi.minexp, fi.maxexp) == (19, 8, 10, -126, 128)
    assert (fi.precision, fi.resolution) == (3, float.fromhex("0x1.064p-10"))  # 0.001 rounded to tf32
    assert fi.code_dtype == np.uint32 and fi.dtype is None


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_finfo_attribute_types_are_python_ints_and_floats(name):
    fi = lf.finfo(name)
    for attr in ("bits", "nexp", "nmant", "maxexp", "minexp", "machep", "negep", "precision"):
        assert type(getattr(fi, attr)) is int, attr
    for attr in ("eps", "epsneg", "max", "min", "smallest_normal", "smallest_subnormal", "tiny", "resolution"):
        assert type(getattr(fi, attr)) is float, attr


# ------------------------------------------------------------------ caching
def test_finfo_is_cached_per_format_across_alias_canonical_name_and_format():
    fi = lf.finfo("float8_e4m3fn")
    assert lf.finfo("e4m3") is fi
    assert lf.finfo("E4M3FN") is fi
    assert lf.finfo(lf.FLOAT8_E4M3FN) is fi
    assert lf.finfo(lf.Format(4, 3, 7, "fn")) is fi
    assert lf.finfo("bf16") is lf.finfo("bfloat16")
    assert lf.finfo("e4m3") is not lf.finfo("float8_e4m3")


def test_finfo_of_a_custom_format_is_cached_and_pickles_to_the_cached_object():
    custom = lf.Format(3, 3, 2, "fnuz")
    fi = lf.finfo(custom)
    assert lf.finfo(lf.Format(3, 3, 2, "fnuz")) is fi
    assert pickle.loads(pickle.dumps(fi)) is fi
    assert fi.max == 60.0 and fi.min == -60.0  # 1.875 * 2**(7 - 2)


def test_finfo_of_unknown_name_raises_value_error_and_of_non_name_type_error():
    with pytest.raises(ValueError, match=r"unknown format 'fp7'"):
        lf.finfo("fp7")
    with pytest.raises(TypeError, match=r"a format must be a lowfloat.Format or a name, got int"):
        lf.finfo(8)


# ------------------------------------------------------------------ the printed table
BFLOAT16_TABLE = """\
Machine parameters for bfloat16
---------------------------------------------------------------
precision =   2   resolution = 0.0100098
machep =     -7   eps =        0.0078125
negep =      -8   epsneg =     0.00390625
minexp =   -126   tiny =       1.17549e-38
maxexp =    128   max =        3.38953e+38
nexp =        8   min =        -max
smallest_normal = 1.17549e-38   smallest_subnormal = 9.18355e-41
dtype = bfloat16   code_dtype = uint16
---------------------------------------------------------------"""

FLOAT8_E4M3FN_TABLE = """\
Machine parameters for float8_e4m3fn
---------------------------------------------------------------
precision =   1   resolution = 0.101562
machep =     -3   eps =        0.125
negep =      -4   epsneg =     0.0625
minexp =     -6   tiny =       0.015625
maxexp =      9   max =        448
nexp =        4   min =        -max
smallest_normal = 0.015625   smallest_subnormal = 0.00195312
dtype = float8_e4m3fn   code_dtype = uint8
---------------------------------------------------------------"""


@pytest.mark.parametrize(("name", "table"), [("bfloat16", BFLOAT16_TABLE), ("e4m3", FLOAT8_E4M3FN_TABLE)])
def test_finfo_str_is_the_fixed_table(name, table):
    assert str(lf.finfo(name)) == table


@pytest.mark.parametrize("name", [name for name in TWINNED_NAMES if name not in ("float16", "float32")])
def test_finfo_str_matches_ml_dtypes_table_line_by_line(name):
    ours = str(lf.finfo(name)).splitlines()
    theirs = str(external_finfo(name)).splitlines()
    assert ours.pop(-2) == f"dtype = {name}   code_dtype = {lf.get_format(name).code_dtype}"  # ours alone
    assert ours[0] == theirs[0]
    assert [line.split() for line in ours[1:]] == [line.split() for line in theirs[1:]]


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_finfo_str_columns_are_aligned(name):
    lines = str(lf.finfo(name)).splitlines()
    assert len(lines) == 11
    assert lines[1] == lines[-1] == "-" * 63
    # rows 2..7: "<name> = <value right-aligned>   <name> = <value>", the second column at a fixed place
    second_labels = [line[18:31] for line in lines[2:8]]
    assert second_labels == [
        "resolution = ",
        "eps =        ",
        "epsneg =     ",
        "tiny =       ",
        "max =        ",
        "min =        ",
    ]
    assert all(line[15:18] == "   " for line in lines[2:8])


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_finfo_str_lines_have_no_trailing_whitespace(name):
    lines = str(lf.finfo(name)).splitlines()
    assert [line.rstrip() for line in lines] == lines


def test_finfo_repr_names_format_and_limits():
    assert repr(lf.finfo("e3m4")) == (
        "finfo(resolution=0.09375, min=-15.5, max=15.5, format=float8_e3m4, dtype=float8_e3m4, code_dtype=uint8)"
    )


# ------------------------------------------------------------------ dtype and code_dtype
@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_finfo_dtype_is_the_float_dtype_numpy_or_ml_dtypes_has_for_the_format(name):
    # as numpy.finfo(t).dtype and ml_dtypes.finfo(t).dtype: the float type itself, or None where neither has one
    fi = lf.finfo(name)
    twin = ml_twin(name)
    assert fi.dtype == twin if twin is not None else fi.dtype is None
    if twin is not None:
        assert fi.dtype == external_finfo(name).dtype
    assert fi.code_dtype == lf.get_format(name).code_dtype and fi.code_dtype.kind == "u"


def test_finfo_dtype_of_a_custom_format_is_none_and_of_an_equal_builtin_is_its_dtype():
    assert lf.finfo(lf.Format(3, 3, 2, "fnuz")).dtype is None
    assert lf.finfo(lf.Format(5, 2, 15, "ieee")).dtype == np.dtype(ml_dtypes.float8_e5m2)


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_finfo_imports_ml_dtypes_only_when_its_dtype_is_asked_for():
    code = (
        "import sys, lowfloat as lf\n"
        "fi = lf.finfo('bf16'); fi.max; lf.finfo('fp16').dtype\n"
        "print('ml_dtypes' in sys.modules, lf.finfo('bf16').dtype, 'ml_dtypes' in sys.modules)\n"
    )
    assert _run(code) == "False bfloat16 True"


def test_finfo_dtype_is_none_without_ml_dtypes_but_numpy_dtypes_remain():
    code = (
        "import sys; sys.modules['ml_dtypes'] = None  # as if it were not installed\n"
        "import lowfloat as lf\n"
        "print(lf.finfo('bf16').dtype, lf.finfo('fp16').dtype, lf.finfo('e4m3').code_dtype)\n"
        "print(lf.finfo('e4m3'))\n"
    )
    out = _run(code).splitlines()
    assert out[0] == "None float16 uint8"
    assert "dtype = None   code_dtype = uint8" in out
