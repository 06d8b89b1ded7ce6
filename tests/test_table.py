"""table(): every code of the small formats, round-tripped through decode and encode."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from conftest import NAMES_UP_TO_16_BITS, TWINNED_NAMES, assert_same_codes, assert_same_values, twin_values

import lowfloat as lf
from lowfloat import reference


@pytest.mark.parametrize("name", NAMES_UP_TO_16_BITS)
def test_table_round_trips_through_decode_and_encode(name):
    fmt = lf.get_format(name)
    rows = lf.table(fmt)
    assert len(rows) == 2**fmt.bits and rows["code"].dtype == fmt.code_dtype
    assert_same_codes(rows["code"], np.arange(2**fmt.bits))
    assert_same_values(rows["value"], lf.decode(rows["code"], fmt, dtype=np.float64))
    numbers = ~np.isnan(rows["value"])
    if not fmt.has_negative_zero:  # the -0 code of a format without -0 does not exist, 0 has one code
        numbers &= ~((rows["value"] == 0) & (rows["code"] != 0))
    assert_same_codes(lf.encode(rows["value"][numbers], fmt), rows["code"][numbers])
    # the fields put back together give the code
    sign = rows["sign"].astype(np.int64) << (fmt.bits - 1) if fmt.signed else 0
    rebuilt = sign | (rows["exponent"].astype(np.int64) << fmt.man_bits) | rows["mantissa"]
    assert_same_codes(rebuilt, rows["code"])
    # the bit string spells the same fields
    expected_bits = [format(int(c), f"0{fmt.bits}b") for c in rows["code"][:: max(1, len(rows) // 512)]]
    assert [b.replace("|", "") for b in rows["bits"][:: max(1, len(rows) // 512)]] == expected_bits


@pytest.mark.parametrize("name", [n for n in TWINNED_NAMES if n in NAMES_UP_TO_16_BITS])
def test_table_values_match_ml_dtypes(name):
    rows = lf.table(name)
    with np.errstate(invalid="ignore"):
        assert_same_values(rows["value"], twin_values(rows["code"], name).astype(np.float64))


@pytest.mark.parametrize("name", NAMES_UP_TO_16_BITS)
def test_table_classes_follow_the_values(name):
    fmt = lf.get_format(name)
    rows = lf.table(fmt)
    step = max(1, len(rows) // 1024)  # the reference is slow; every code of the 8-bit formats, a sample of the rest
    for row in rows[::step]:
        value = reference.decode(int(row["code"]), fmt)
        expected = (
            "nan" if math.isnan(value) else "inf" if math.isinf(value) else "zero" if value == 0
            else "subnormal" if abs(Fraction(value)) < Fraction(2) ** fmt.emin else "normal"
        )  # fmt: skip
        assert row["kind"] == expected, hex(int(row["code"]))


def test_table_sorts_by_value_with_nans_last():
    rows = np.sort(lf.table("e4m3"), order="value")
    values = rows["value"]
    assert np.all(np.diff(values[:-2]) >= 0) and np.isnan(values[-2:]).all()
    assert values[0] == -448 and rows[0]["code"] == 0xFE


@pytest.mark.parametrize(
    ("name", "code", "bits", "value", "kind"),
    [
        ("e4m3", 0x1D, "0|0011|101", 0.1015625, "normal"),
        ("e4m3", 0x7E, "0|1111|110", 448.0, "normal"),
        ("e4m3", 0x7F, "0|1111|111", math.nan, "nan"),
        ("e4m3", 0x01, "0|0000|001", 2.0**-9, "subnormal"),
        ("e4m3", 0x80, "1|0000|000", -0.0, "zero"),
        ("e5m2", 0x7C, "0|11111|00", math.inf, "inf"),
        ("e5m2", 0xFB, "1|11110|11", -57344.0, "normal"),
        ("e4m3fnuz", 0x80, "1|0000|000", math.nan, "nan"),
        ("e8m0", 0x00, "00000000", 2.0**-127, "normal"),
        ("e8m0", 0xFF, "11111111", math.nan, "nan"),
        ("fp16", 0x3C00, "0|01111|0000000000", 1.0, "normal"),
        ("bf16", 0x0001, "0|00000000|0000001", 2.0**-133, "subnormal"),
        ("e2m1", 0xF, "1|11|1", -6.0, "normal"),
    ],
)
def test_table_spot_rows_from_the_specs(name, code, bits, value, kind):
    row = lf.table(name)[code]
    assert (str(row["bits"]), str(row["kind"])) == (bits, kind)
    assert_same_values(row["value"], value)


def test_table_refuses_wide_and_unknown_formats():
    with pytest.raises(ValueError, match="at most 16 bits; float32 has 32"):
        lf.table("fp32")
    with pytest.raises(ValueError, match="at most 16 bits; tensorfloat32 has 19"):
        lf.table("tf32")
    with pytest.raises(ValueError, match="unknown format 'fp7'"):
        lf.table("fp7")
    with pytest.raises(TypeError, match="a format must be"):
        lf.table(8)


def test_table_fills_out_and_returns_it():
    expected = lf.table("e2m1")
    out = np.zeros(16, expected.dtype)
    assert lf.table("e2m1", out=out) is out
    assert out.tolist() == expected.tolist()


def test_table_refuses_out_of_another_dtype_or_length():
    with pytest.raises(ValueError, match="dtype"):
        lf.table("e2m1", out=np.zeros(16, np.float64))
    with pytest.raises(ValueError, match="shape"):
        lf.table("e2m1", out=np.zeros(8, lf.table("e2m1").dtype))
