"""pack / unpack: every code round-trips, the bit layout matches a pure-Python packer, bad input is refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lowfloat as lf
from lowfloat.scaling.packing import packed_nbytes

# (format name, bits, signed integer codes?)
PACKABLE = [
    ("float4_e2m1fn", 4, False),
    ("float6_e2m3fn", 6, False),
    ("float6_e3m2fn", 6, False),
    ("float8_e4m3fn", 8, False),
    ("float8_e8m0fnu", 8, False),
    ("int4", 4, True),
    ("int8", 8, True),
]


def all_codes_of(name, bits, signed):
    if signed:
        return np.arange(-(1 << (bits - 1)), 1 << (bits - 1)).astype(np.int8)
    return np.arange(1 << bits).astype(np.uint8)


def python_pack(codes, bits):
    """Little-endian bit stream of the codes, padded to whole groups, as bytes: the oracle."""
    per_group = {4: 2, 6: 4, 8: 1}[bits]
    count = per_group * math.ceil(len(codes) / per_group)
    stream = 0
    for i, code in enumerate(codes):
        stream |= (int(code) & ((1 << bits) - 1)) << (bits * i)
    return list(stream.to_bytes(count * bits // 8, "little"))


@pytest.mark.parametrize("name, bits, signed", PACKABLE)
@pytest.mark.parametrize("tail", [0, 1, 2, 3])
def test_every_code_round_trips_with_any_ragged_tail(name, bits, signed, tail):
    codes = all_codes_of(name, bits, signed)
    codes = np.concatenate([codes, np.random.default_rng(tail).permutation(codes)[:tail]])
    packed = lf.pack(codes, name)
    assert packed.dtype == np.uint8
    assert packed.size == packed_nbytes(codes.size, bits)
    back = lf.unpack(packed, name, codes.shape)
    assert back.dtype == codes.dtype
    np.testing.assert_array_equal(back, codes)


@pytest.mark.parametrize("name, bits, signed", PACKABLE)
def test_pack_bytes_equal_pure_python_little_endian_stream(name, bits, signed):
    codes = np.random.default_rng(1).permutation(all_codes_of(name, bits, signed))[:23]
    assert lf.pack(codes, name).tolist() == python_pack(codes.tolist(), bits)


def test_fp4_low_nibble_holds_the_first_code():
    assert lf.pack([0x1, 0xF], "fp4").tolist() == [0xF1]


@pytest.mark.parametrize(
    "count, bits, expected", [(0, 4, 0), (1, 4, 1), (7, 4, 4), (1, 6, 3), (4, 6, 3), (5, 6, 6), (5, 8, 5)]
)
def test_packed_nbytes_counts_two_fp4_per_byte_and_four_fp6_per_three(count, bits, expected):
    assert packed_nbytes(count, bits) == expected


def test_unpack_restores_multidimensional_shape():
    codes = np.arange(30, dtype=np.uint8).reshape(5, 6) % 16
    np.testing.assert_array_equal(lf.unpack(lf.pack(codes, "fp4"), "fp4", (5, 6)), codes)


def test_pack_refuses_a_16_bit_format():
    with pytest.raises(ValueError, match="4-, 6- and 8-bit"):
        lf.pack([1, 2], "fp16")


@pytest.mark.parametrize("name, bad", [("fp4", [16]), ("e3m2", [64]), ("fp4", [-1]), ("int4", [8]), ("int4", [-9])])
def test_pack_refuses_codes_outside_the_format(name, bad):
    with pytest.raises(ValueError, match="outside"):
        lf.pack(bad, name)


def test_pack_refuses_float_codes():
    with pytest.raises(ValueError, match="integers"):
        lf.pack([1.0, 2.0], "fp4")


def test_pack_refuses_unknown_format():
    with pytest.raises(ValueError, match="unknown format"):
        lf.pack([1], "fp5")


def test_unpack_refuses_wrong_byte_count():
    with pytest.raises(ValueError, match="take 2"):
        lf.unpack(np.zeros(3, np.uint8), "fp4", 4)


def test_unpack_refuses_non_uint8_bytes():
    with pytest.raises(ValueError, match="uint8"):
        lf.unpack(np.zeros(2, np.int16), "fp4", 4)


def test_unpack_refuses_negative_shape():
    with pytest.raises(ValueError, match="shape"):
        lf.unpack(np.zeros(2, np.uint8), "fp4", (-4,))


@pytest.mark.parametrize("name, bits, signed", PACKABLE)
def test_pack_and_unpack_write_into_out_and_return_it(name, bits, signed):
    codes = np.random.default_rng(2).permutation(all_codes_of(name, bits, signed))[:15]  # a ragged tail
    packed = np.full(packed_nbytes(15, bits), 0xAA, np.uint8)
    assert lf.pack(codes, name, out=packed) is packed
    np.testing.assert_array_equal(packed, lf.pack(codes, name))
    back = np.zeros((3, 5), codes.dtype)
    assert lf.unpack(packed, name, (3, 5), out=back) is back
    back = back.reshape(-1)
    np.testing.assert_array_equal(back, codes)


def test_pack_into_a_strided_out_writes_the_same_bytes():
    codes = np.arange(8, dtype=np.uint8) * 7 % 64
    out = np.zeros(12, np.uint8)[::2]  # six bytes, every other one
    lf.pack(codes, "e3m2", out=out)
    np.testing.assert_array_equal(out, lf.pack(codes, "e3m2"))


@pytest.mark.parametrize(
    "out, message",
    [(np.zeros(3, np.uint8), "shape"), (np.zeros(2, np.int8), "dtype"), ([0, 0], "numpy.ndarray")],
)
def test_pack_refuses_bad_out(out, message):
    with pytest.raises(ValueError, match=message):
        lf.pack([1, 2, 3], "fp4", out=out)


@pytest.mark.parametrize("out, message", [(np.zeros(3, np.uint8), "shape"), (np.zeros(4, np.int8), "dtype")])
def test_unpack_refuses_bad_out(out, message):
    with pytest.raises(ValueError, match=message):
        lf.unpack(np.zeros(2, np.uint8), "fp4", 4, out=out)
