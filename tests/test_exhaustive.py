"""Exhaustive: encode of every one of the 2**32 float32 bit patterns against ml_dtypes (numpy for float16).

The slow tests (``-m slow``; about 5 minutes with ``-n 2`` on two cores) walk
all 2**32 inputs in chunks of 2**24, one test per format so that
pytest-xdist can spread them.  The same comparison runs in the fast suite on
windows of interesting inputs (zeros, subnormals, 1, the top of the range,
inf and NaN, negatives).

Per chunk the work is: fill the bit patterns, cast with ml_dtypes into a
preallocated array, encode with lowfloat into another, compare the code
arrays with ``np.array_equal`` -- and only on a mismatch look closer:

(a) where ml_dtypes gives NaN, lowfloat must give NaN too, with any NaN code;
(b) formats without NaN (float6_*, float4_*): lowfloat refuses NaN inputs
    (ml_dtypes silently stores -0 or +0), so NaN inputs are replaced by 0
    here, and the refusal is tested on its own;
(c) float8_e8m0fnu: ml_dtypes rounds float32 subnormals in
    (2**-127, 1.5 * 2**-127) -- bit patterns 0x00400001..0x005FFFFF -- up to
    2**-126, though 2**-127 is nearer.  Those inputs, and only those, must
    differ, and lowfloat must agree with the reference there.

One shortcut keeps the float16 test inside the time budget: numpy's
float32 -> float16 cast (``npy_floatbits_to_halfbits``) raises a
floating-point overflow or underflow flag for every input beyond float16's
range, about 90 ns per value here -- 1.4 s per chunk over 85 % of the float32
space, 5 minutes in all.  There its source returns a constant: +-inf for
float32 exponent fields 143..254 (|x| >= 2**16) and +-0 for fields 0..101
(|x| < 2**-25).  In those binades numpy is called on every 64th input and the
last one, must give that constant, and lowfloat is compared with it on every
input; elsewhere numpy converts every input.  A fast test checks the constant
on whole slices at the region edges.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import NAMES_WITHOUT_NAN, TWINNED_NAMES, ml_twin, uint_of

import lowfloat as lf
from lowfloat import reference

CHUNK_BITS = 24
CHUNK = 1 << CHUNK_BITS  # 16 Mi inputs: 64 MB of float32
N_CHUNKS = 1 << (32 - CHUNK_BITS)

#: Formats compared with ml_dtypes' astype (numpy's float16 for float16).
ML_DTYPES_NAMES = [name for name in TWINNED_NAMES if name != "float32"]

#: float32 inputs where ml_dtypes' float8_e8m0fnu rounds up wrongly (see the module docstring).
E8M0_ML_DTYPES_BUG = (0x00400001, 0x00600000)  # [start, stop)

#: float32 exponent fields where numpy's float16 cast returns a constant (see the module docstring).
NUMPY_FLOAT16_TO_INF = range(143, 255)  # |x| >= 2**16: +-inf (0x7C00 | sign)
NUMPY_FLOAT16_TO_ZERO = range(0, 102)  # |x| < 2**-25: +-0 (sign)
NUMPY_FLOAT16_SAMPLE_STRIDE = 64
BINADE = 1 << 23  # float32 bit patterns per exponent field and sign

#: Windows of 2**16 float32 bit patterns for the fast version of the exhaustive comparison.
WINDOWS = [
    0x00000000,  # +0 and the smallest subnormals
    0x00400000,  # the subnormals where ml_dtypes' E8M0 rounds wrongly
    0x00800000,  # the smallest normals
    0x33000000,  # around 2**-25: float16's underflow threshold
    0x3B000000,  # around 2**-9: the smallest E4M3 subnormal
    0x3F800000,  # 1.0 and the values above it
    0x437F0000,  # around 255..256
    0x43E00000,  # 448 (E4M3 max) .. 464 (its overflow tie)
    0x477F0000,  # around 65504 (float16 max) and 65520 (its overflow tie)
    0x7F7F0000,  # the largest finite float32
    0x7F800000,  # +inf and the first NaNs
    0x7FFF0000,  # the last (quiet) NaNs
    0x80000000,  # -0 and negative subnormals
    0xBF800000,  # -1.0
    0xC3E00000,  # -448
    0xFF800000,  # -inf and negative NaNs
]


class Comparison:
    """Buffers for comparing one format with its twin over ranges of float32 bit patterns."""

    def __init__(self, name: str, size: int):
        self.name = name
        self.fmt = lf.get_format(name)
        self.twin = ml_twin(name)
        self.offsets = np.arange(size, dtype=np.uint32)
        self.bits = np.empty(size, np.uint32)  # (size,) uint32: the inputs' bit patterns
        self.x = self.bits.view(np.float32)  # (size,) float32: the inputs
        self.theirs = np.empty(size, self.twin)  # (size,) ml_dtypes results
        self.ours = np.empty(size, self.fmt.code_dtype)  # (size,) lowfloat codes

    def unexplained(self, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bit patterns, our codes, their codes) where the codes differ for no allowed reason."""
        np.add(self.offsets, np.uint32(start), out=self.bits)
        if not self.fmt.has_nan and _holds_nan_patterns(start, start + self.x.size):  # (b)
            self.x[np.isnan(self.x)] = 0
        if self.name == "float16":
            numpy_float16_codes(self.x, start, out=self.theirs.view(np.uint16))
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                np.copyto(self.theirs, self.x, casting="unsafe")
        lf.encode(self.x, self.name, out=self.ours)
        their_codes = self.theirs.view(uint_of(self.twin))
        if np.array_equal(self.ours, their_codes):
            return _nothing()
        bad = np.flatnonzero(self.ours != their_codes)
        with np.errstate(invalid="ignore"):
            their_nan = np.isnan(self.theirs[bad].astype(np.float32))
        our_nan = np.isnan(lf.decode(self.ours[bad], self.name))
        bad = bad[~(their_nan & our_nan)]  # (a)
        return self.bits[bad].copy(), self.ours[bad].copy(), their_codes[bad].copy()


def numpy_float16_constant(bits: int) -> int | None:
    """The float16 code numpy gives every input of this bit pattern's binade, or None if it varies."""
    exp_field, sign = (bits >> 23) & 0xFF, (bits >> 16) & 0x8000
    if exp_field in NUMPY_FLOAT16_TO_INF:
        return sign | 0x7C00
    if exp_field in NUMPY_FLOAT16_TO_ZERO:
        return sign
    return None


def numpy_float16_codes(x, start: int, out):
    """numpy's float16 codes of the float32 inputs ``x`` (bit patterns ``start, start + 1, ...``)."""
    pos = 0
    while pos < x.size:
        stop = min(x.size, (start + pos) // BINADE * BINADE + BINADE - start)
        constant = numpy_float16_constant(start + pos)
        with np.errstate(over="ignore", invalid="ignore"):  # numpy warns on overflow
            if constant is None:
                np.copyto(out[pos:stop].view(np.float16), x[pos:stop], casting="unsafe")
            else:
                part = x[pos:stop]
                sample = np.concatenate([part[::NUMPY_FLOAT16_SAMPLE_STRIDE], part[-1:]]).astype(np.float16)
                assert (sample.view(np.uint16) == constant).all(), f"numpy's float16 varies near {start + pos:#x}"
                out[pos:stop] = constant
        pos = stop


def _holds_nan_patterns(start: int, stop: int) -> bool:
    """Whether bit patterns [start, stop) reach into exponent field 255 (inf and NaN) of either sign."""
    return any(start < top and stop > top - BINADE for top in (0x80000000, 0x100000000))


def _nothing():
    return np.empty(0, np.uint32), np.empty(0, np.uint32), np.empty(0, np.uint32)


def expected_mismatches(name: str, start: int, stop: int) -> np.ndarray:
    """The bit patterns in [start, stop) where lowfloat must differ from ml_dtypes."""
    if name != "float8_e8m0fnu":
        return np.empty(0, np.uint32)
    low, high = max(start, E8M0_ML_DTYPES_BUG[0]), min(stop, E8M0_ML_DTYPES_BUG[1])
    return np.arange(low, max(low, high), dtype=np.uint32)


def check_mismatches(name: str, found, start: int, stop: int):
    bits, ours, theirs = (np.concatenate(parts) for parts in zip(*found, strict=True)) if found else _nothing()
    expected = expected_mismatches(name, start, stop)
    if not np.array_equal(bits, expected):
        surprise = ~np.isin(bits, expected)
        missing = np.setdiff1d(expected, bits)
        rows = [
            f"x = {int(b):#010x} ({float(np.uint32(b).view(np.float32))!r}): "
            f"lowfloat {int(o):#x}, ml_dtypes {int(t):#x}"
            for b, o, t in zip(bits[surprise][:10], ours[surprise][:10], theirs[surprise][:10], strict=True)
        ]
        raise AssertionError(
            f"{name}: {int(surprise.sum())} unexpected mismatches, {missing.size} expected ones missing "
            f"(first missing: {[hex(int(b)) for b in missing[:5]]}):\n  " + "\n  ".join(rows)
        )
    if bits.size:  # (c): lowfloat gives the nearest value, 2**-127, and agrees with the reference
        assert (ours == 0x00).all() and (theirs == 0x01).all()
        sample = np.unique(np.concatenate([bits[:: max(1, bits.size // 200)], bits[-1:]]))
        for b in sample:
            value = float(np.uint32(b).view(np.float32))
            assert reference.encode(value, name) == 0x00, hex(int(b))


# ------------------------------------------------------------------ fast: windows of interesting inputs
@pytest.mark.parametrize("name", ML_DTYPES_NAMES)
def test_encode_float32_windows_equal_ml_dtypes(name):
    size = 1 << 16
    comparison = Comparison(name, size)
    for start in WINDOWS:
        found = [comparison.unexplained(start)]
        check_mismatches(name, found, start, start + size)


@pytest.mark.parametrize(
    "start",
    [0x47800000, 0x7F700000, 0x32F00000, 0x00000000, 0xC7800000, 0xFF700000, 0xB2F00000, 0x80000000],
)
def test_numpy_float16_cast_is_constant_where_the_exhaustive_test_samples_it(start):
    # the first and last 2**20 inputs of the constant regions, every one through numpy
    bits = np.arange(start, start + (1 << 20), dtype=np.uint32)
    with np.errstate(over="ignore"):
        codes = bits.view(np.float32).astype(np.float16).view(np.uint16)
    assert (codes == numpy_float16_constant(start)).all()
    assert numpy_float16_constant(start + (1 << 20) - 1) == numpy_float16_constant(start)
    assert numpy_float16_constant(0x47000000) is None and numpy_float16_constant(0x33000000) is None


def test_encode_e8m0_differs_from_ml_dtypes_exactly_on_its_subnormal_rounding_bug():
    # the whole bug range and its edges, in the fast suite
    start, stop = 0x00380000, 0x00680000
    comparison = Comparison("float8_e8m0fnu", stop - start)
    found = [comparison.unexplained(start)]
    check_mismatches("float8_e8m0fnu", found, start, stop)
    assert found[0][0].size == E8M0_ML_DTYPES_BUG[1] - E8M0_ML_DTYPES_BUG[0]


def test_encode_float32_windows_into_float32_are_the_input_bits():
    for start in WINDOWS:
        bits = np.arange(start, start + (1 << 16), dtype=np.uint32)
        check_float32_identity(bits, np.empty(bits.size, np.uint32))


@pytest.mark.parametrize("name", NAMES_WITHOUT_NAN)
def test_encode_every_float32_nan_pattern_class_into_format_without_nan_raises_value_error(name):
    # (b): one of each kind of NaN -- quiet, signalling, negative, with and without payload
    patterns = [0x7FC00000, 0x7F800001, 0x7FFFFFFF, 0xFFC00000, 0xFF800001, 0xFFFFFFFF, 0x7FA00000]
    for pattern in patterns:
        x = np.array([1.0, 0.0], dtype=np.float32)
        x.view(np.uint32)[1] = pattern
        with pytest.raises(ValueError, match=rf"x contains NaN, which {name} cannot encode"):
            lf.encode(x, name)
        with pytest.raises(ValueError, match=rf"x contains NaN, which {name} cannot encode"):
            lf.encode(x, name, out=np.empty(2, np.uint8))


# ------------------------------------------------------------------ slow: all 2**32 inputs
@pytest.mark.slow
@pytest.mark.parametrize("name", ML_DTYPES_NAMES)
def test_encode_every_float32_equals_ml_dtypes(name):
    comparison = Comparison(name, CHUNK)
    found = []
    for chunk in range(N_CHUNKS):
        bits, ours, theirs = comparison.unexplained(chunk << CHUNK_BITS)
        if bits.size:
            found.append((bits, ours, theirs))
    check_mismatches(name, found, 0, 1 << 32)


def check_float32_identity(bits, out):
    """encode(x, "float32") is x's own bit pattern, except that NaN may become any NaN code."""
    x = bits.view(np.float32)
    lf.encode(x, "float32", out=out)
    if np.array_equal(out, bits):
        return
    bad = np.flatnonzero(out != bits)
    explained = np.isnan(x[bad]) & np.isnan(out[bad].view(np.float32))
    bad = bad[~explained]
    assert bad.size == 0, [f"{int(bits[i]):#010x} -> {int(out[i]):#010x}" for i in bad[:10]]


@pytest.mark.slow
def test_encode_every_float32_into_float32_is_the_input_bits():
    offsets = np.arange(CHUNK, dtype=np.uint32)
    bits = np.empty(CHUNK, np.uint32)
    out = np.empty(CHUNK, np.uint32)
    for chunk in range(N_CHUNKS):
        np.add(offsets, np.uint32(chunk << CHUNK_BITS), out=bits)
        check_float32_identity(bits, out)
