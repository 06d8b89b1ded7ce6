"""Arrays of other libraries in: ml_dtypes, JAX, DLPack and array-protocol objects; as_ml_dtypes out.

Every input kind must give the bits that the same values give as a NumPy
array -- float64 for the casts, which round once from any precision -- and
NumPy views where the memory can be shared.  PyTorch has its own file,
tests/test_interop_torch.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tracemalloc

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import lowfloat as lf
from lowfloat.arrays import as_real_array
from lowfloat.interop import ML_DTYPES_FORMATS, ML_DTYPES_INTEGERS

ML_FLOATS = sorted(ML_DTYPES_FORMATS)
ML_INTEGERS = sorted(ML_DTYPES_INTEGERS)
TARGETS = ["float8_e4m3fn", "float8_e5m2", "bfloat16", "float16", "float4_e2m1fn", "float8_e8m0fnu"]
DETERMINISTIC = ["nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative"]


def bits64(values) -> np.ndarray:
    """Values as float64 bit patterns: equal arrays of these are bit-identical values, NaN and -0 included."""
    with np.errstate(invalid="ignore"):  # signalling NaNs quieten
        return np.asarray(values, np.float64).view(np.uint64)


def widen(array) -> np.ndarray:
    """An ml_dtypes array's values as float64, by ml_dtypes' own (exact) cast."""
    with np.errstate(invalid="ignore"):  # signalling NaNs quieten
        return array.astype(np.float64)


def same_values(a, b) -> bool:
    """The same values, bit for bit as float64 (so -0 is not 0), NaN where the other has NaN (payloads aside)."""
    a, b = bits64(a), bits64(b)
    nan = np.isnan(a.view(np.float64))
    return bool(np.array_equal(nan, np.isnan(b.view(np.float64))) and np.array_equal(a[~nan], b[~nan]))


def every_value(name: str) -> np.ndarray:
    """Every code of an ml_dtypes float dtype, as an array of that dtype."""
    fmt = lf.get_format(ML_DTYPES_FORMATS[name])
    return np.arange(1 << fmt.bits, dtype=fmt.code_dtype).view(np.dtype(getattr(ml_dtypes, name)))


# ------------------------------------------------------------------------------------ the tables


def test_every_ml_dtypes_dtype_is_in_a_table_with_finfo_or_iinfo_matching_lowfloat():
    seen = set()
    for name in ml_dtypes.__all__:
        kind = getattr(ml_dtypes, name)
        if not isinstance(kind, type) or name in ("finfo", "iinfo"):
            continue
        dtype = np.dtype(kind)
        seen.add(name)
        if name in ML_DTYPES_FORMATS:
            ml, ours = ml_dtypes.finfo(kind), lf.finfo(ML_DTYPES_FORMATS[name])
            assert (ml.bits, ml.nmant) == (ours.bits, ours.nmant), name
            assert float(ml.max) == float(ours.max), name
            assert float(ml.smallest_subnormal) == float(ours.smallest_subnormal), name
            assert float(ml.smallest_normal) == float(ours.smallest_normal), name
            assert float(ml.eps) == float(ours.eps), name
        elif name in ML_DTYPES_INTEGERS:
            bits, signed = ML_DTYPES_INTEGERS[name]
            info = ml_dtypes.iinfo(kind)
            assert (info.bits, info.min < 0) == (bits, signed), name
            assert (info.min, info.max) == (
                (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
            )
        else:
            assert "complex" in name, f"ml_dtypes.{name} ({dtype}) is in no table"
    assert set(ML_DTYPES_FORMATS) | set(ML_DTYPES_INTEGERS) <= seen


# ------------------------------------------------------------------------------- ml_dtypes arrays


@pytest.mark.parametrize("name", ML_FLOATS)
def test_every_code_of_an_ml_dtypes_float_reads_as_ml_dtypes_exact_value(name):
    array = every_value(name)
    values = as_real_array(array)
    expected_dtype = np.float64 if name == "float8_e8m0fnu" else np.float32
    assert values.dtype == expected_dtype and values.shape == array.shape
    assert same_values(values, widen(array))  # ml_dtypes' own widening is exact


@pytest.mark.parametrize("name", ML_FLOATS)
@pytest.mark.parametrize("target", TARGETS)
def test_casts_of_an_ml_dtypes_array_give_the_bits_of_the_same_values_as_float64(name, target):
    rng = np.random.default_rng(1)
    array = rng.choice(every_value(name), 300)
    wide = widen(array)
    if not lf.get_format(target).has_nan:
        keep = ~np.isnan(wide)
        array, wide = array[keep], wide[keep]
    for rounding in DETERMINISTIC:
        assert np.array_equal(bits64(lf.quantize(array, target, rounding=rounding)),
                              bits64(lf.quantize(wide, target, rounding=rounding)))  # fmt: skip
        assert np.array_equal(lf.encode(array, target, rounding=rounding), lf.encode(wide, target, rounding=rounding))
    assert np.array_equal(lf.encode(array, target, overflow="saturate"), lf.encode(wide, target, overflow="saturate"))


def test_quantize_of_an_ml_dtypes_array_returns_float32_as_for_float32_input():
    array = np.array([0.1, 3.0], ml_dtypes.bfloat16)
    assert lf.quantize(array, "e4m3").dtype == np.float32
    assert lf.quantize(np.array([0.5], ml_dtypes.float8_e8m0fnu), "bf16").dtype == np.float64


def test_ml_dtypes_scalars_and_zero_d_arrays_read_as_scalars():
    assert lf.quantize(ml_dtypes.bfloat16(0.1), "e4m3") == np.float32(0.1015625)
    assert lf.encode(np.array(3.0, ml_dtypes.float8_e5m2), "e4m3") == 0x44


@pytest.mark.parametrize("name", ["bfloat16", "float8_e4m3fn", "float8_e8m0fnu", "float6_e3m2fn"])
def test_ml_dtypes_views_with_strides_read_their_own_elements(name):
    array = every_value(name).reshape(-1, 4)[::3, ::-2]
    assert same_values(as_real_array(array), widen(array))


def test_reading_an_ml_dtypes_bfloat16_array_allocates_only_the_float32_result():
    array = np.random.default_rng(0).standard_normal(1 << 20).astype(ml_dtypes.bfloat16)
    as_real_array(array)  # compile and cache outside the measurement
    tracemalloc.start()
    try:
        values = as_real_array(array)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert values.nbytes == 4 * array.size
    assert peak <= values.nbytes + (64 << 10)


@pytest.mark.parametrize("name", ML_INTEGERS)
def test_ml_dtypes_integers_read_as_their_integers(name):
    bits, signed = ML_DTYPES_INTEGERS[name]
    kind = getattr(ml_dtypes, name)
    info = ml_dtypes.iinfo(kind)
    array = np.arange(info.min, info.max + 1).astype(kind)
    values = as_real_array(array)
    assert values.dtype == (np.int8 if signed else np.uint8)
    assert values.tolist() == list(range(info.min, info.max + 1))
    assert np.array_equal(lf.quantize(array, "e2m1"), lf.quantize(values.astype(np.float64), "e2m1"))
    if not signed:
        assert np.shares_memory(values, array)  # the bytes are the values: a view


def test_ml_dtypes_bytes_beyond_the_code_width_are_refused_with_the_byte_named():
    with pytest.raises(ValueError, match=r"holds the byte 0x10, which is not a float4_e2m1fn code"):
        lf.quantize(np.array([1, 16], np.uint8).view(ml_dtypes.float4_e2m1fn), "e4m3")
    with pytest.raises(ValueError, match=r"holds the byte 0xff, which is not a 4-bit integer"):
        lf.quantize(np.array([255], np.uint8).view(ml_dtypes.int4), "e4m3")


def test_ml_dtypes_complex_and_numpy_structured_arrays_are_refused_by_name():
    with pytest.raises(TypeError, match=r"x is complex \(complex32\)"):
        lf.quantize(np.zeros(2, ml_dtypes.complex32), "e4m3")
    with pytest.raises(TypeError, match=r"\(structured\); expected real numbers"):
        lf.quantize(np.zeros(2, [("a", "f4")]), "e4m3")


def test_daz_flushes_the_subnormals_of_the_format_an_ml_dtypes_array_arrives_in():
    e4m3 = np.array([2.0**-9, -(2.0**-7), 2.0**-6], ml_dtypes.float8_e4m3fn)  # two subnormals, the smallest normal
    assert lf.quantize(e4m3, "bf16").tolist() == [2.0**-9, -(2.0**-7), 2.0**-6]
    flushed = lf.quantize(e4m3, "bf16", daz=True)
    assert flushed.tolist() == [0.0, 0.0, 2.0**-6] and np.signbit(flushed).tolist() == [False, True, False]
    bf16 = np.array([2.0**-130, 2.0**-126], ml_dtypes.bfloat16)
    assert lf.quantize(bf16, "fp32", daz=True).tolist() == [0.0, 2.0**-126]
    e8m0 = np.array([2.0**-127, 1.0], ml_dtypes.float8_e8m0fnu)  # 2**-127 is E8M0's smallest *normal* value
    assert lf.quantize(e8m0, "bf16", daz=True).tolist() == [2.0**-127, 1.0]


# -------------------------------------------------------------------------- as_ml_dtypes, out


@pytest.mark.parametrize("name", ML_FLOATS + ["float16", "float32"])
def test_as_ml_dtypes_views_every_code_as_the_value_lowfloat_decodes(name):
    fmt = lf.get_format(name)
    codes = np.arange(min(1 << fmt.bits, 1 << 16), dtype=fmt.code_dtype)
    if fmt.bits == 32:
        codes = np.random.default_rng(0).integers(0, 1 << 32, 1 << 16, dtype=np.uint64).astype(np.uint32)
    values = lf.as_ml_dtypes(codes, fmt)
    assert values.dtype.name == name and np.shares_memory(values, codes)
    assert same_values(widen(values), lf.decode(codes, fmt, dtype=np.float64))


@pytest.mark.parametrize("name", ["float4_e2m1fn", "float6_e2m3fn", "float6_e3m2fn"])
def test_ml_dtypes_stores_fp4_and_fp6_one_code_per_byte_in_the_low_bits_as_lowfloat_does(name):
    fmt = lf.get_format(name)
    values = lf.decode(np.arange(1 << fmt.bits, dtype=np.uint8), fmt)
    stored = values.astype(getattr(ml_dtypes, name)).view(np.uint8)
    assert np.array_equal(stored, lf.encode(values, fmt))


def test_as_ml_dtypes_converts_other_integer_codes_and_accepts_a_generic_format_equal_to_a_builtin():
    codes = [0x1D, 0x7E]
    assert lf.as_ml_dtypes(codes, "e4m3").astype(np.float32).tolist() == [0.1015625, 448.0]
    generic = lf.Format(exp_bits=4, man_bits=3, bias=7, specials="fn")
    assert lf.as_ml_dtypes(np.array(codes, np.int64), generic).dtype == np.dtype(ml_dtypes.float8_e4m3fn)
    strided = np.arange(16, dtype=np.uint8)[::3]
    assert np.shares_memory(lf.as_ml_dtypes(strided, "fp4"), strided)


@pytest.mark.parametrize(
    "codes, fmt, error, message",
    [
        ([1], "tf32", ValueError, r"ml_dtypes has no dtype for tensorfloat32; as_ml_dtypes covers float16, float32"),
        ([1], lf.Format(3, 2, 3, "ieee"), ValueError, r"no dtype for float6_e3m2_b3_ieee"),
        ([16], "fp4", ValueError, r"code 16 is outside 0..15, the codes of float4_e2m1fn"),
        (np.array([16], np.uint8), "fp4", ValueError, r"code 16 is outside 0..15"),
        ([-1], "e4m3", ValueError, r"code -1 is outside 0..255"),
        ([1.0], "e4m3", ValueError, r"codes must be integers, got dtype float64"),
        ([1], "no_such_format", ValueError, r"no_such_format"),
    ],
)
def test_as_ml_dtypes_refuses_formats_ml_dtypes_lacks_and_non_codes(codes, fmt, error, message):
    with pytest.raises(error, match=message):
        lf.as_ml_dtypes(codes, fmt)


# ---------------------------------------------------------------------------- JAX and DLPack


class DLPackOnly:
    """An array that only speaks DLPack (as CuPy, JAX or TensorFlow arrays do), delegating to NumPy."""

    def __init__(self, array, device=(1, 0)):
        self.array, self.device = array, device

    def __dlpack__(self, **kwargs):
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.device


class ArrayProtocolOnly:
    """An array that only has ``__array__`` (as pandas and xarray objects do)."""

    def __init__(self, array):
        self.array = array

    def __array__(self, dtype=None, copy=None):
        return self.array


class BrokenArray:
    dtype = "weird32"

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("cannot export")

    def __dlpack__(self, **kwargs):
        raise BufferError("no")


def test_a_dlpack_producer_is_read_through_a_shared_view():
    base = np.linspace(-3, 3, 50)
    values = as_real_array(DLPackOnly(base))
    assert np.shares_memory(values, base)
    assert np.array_equal(lf.quantize(DLPackOnly(base), "e4m3"), lf.quantize(base, "e4m3"))


def test_a_dlpack_producer_on_a_gpu_is_refused_naming_the_device():
    with pytest.raises(TypeError, match=r"x is a test_interop.DLPackOnly on device CUDA:1; lowfloat works in host"):
        lf.quantize(DLPackOnly(np.zeros(2), device=(2, 1)), "e4m3")


def test_an_array_protocol_object_is_read_and_an_unreadable_one_named():
    base = np.float32([0.1, 500.0])
    values = as_real_array(ArrayProtocolOnly(base))
    assert np.shares_memory(values, base)
    assert np.array_equal(lf.quantize(ArrayProtocolOnly(base), "e4m3"), lf.quantize(base, "e4m3"), equal_nan=True)
    with pytest.raises(
        TypeError, match=r"x is a test_interop.BrokenArray of dtype weird32, which lowfloat cannot read"
    ):
        lf.quantize(BrokenArray(), "e4m3")
    with pytest.raises(TypeError, match=r"expected real numbers, got a test_interop.ArrayProtocolOnly"):
        lf.quantize(ArrayProtocolOnly(np.array(["a"])), "e4m3")


def test_a_jax_float32_array_is_read_through_dlpack_without_a_copy():
    x = jnp.linspace(-2.0, 2.0, 64, dtype=jnp.float32)
    values = as_real_array(x)
    assert values.dtype == np.float32
    assert values.__array_interface__["data"][0] == x.unsafe_buffer_pointer()
    assert np.array_equal(bits64(lf.quantize(x, "e4m3")), bits64(lf.quantize(np.asarray(x, np.float64), "e4m3")))


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float8_e4m3fn, jnp.float8_e5m2, jnp.float4_e2m1fn,
                                   jnp.float8_e8m0fnu, jnp.float16, jnp.int32, jnp.int4])  # fmt: skip
def test_jax_arrays_of_every_kind_give_the_bits_of_the_same_values_as_float64(dtype):
    x = jnp.asarray(np.random.default_rng(2).uniform(0.25, 6, 40)).astype(dtype)
    wide = widen(np.asarray(x))
    for target in ["e4m3", "e2m1", "bf16"]:
        assert np.array_equal(bits64(lf.quantize(x, target)), bits64(lf.quantize(wide, target)))
        assert np.array_equal(lf.encode(x, target), lf.encode(wide, target))


def test_jax_is_named_in_the_error_for_a_dtype_no_reader_knows():
    with pytest.raises(TypeError, match=r"x is complex"):
        lf.quantize(jnp.zeros(2, jnp.complex64), "e4m3")
    assert jax.devices()[0].platform == "cpu"


# -------------------------------------------------------------- every function that takes reals


def _functions():
    from lowfloat import plot

    def histogram(x):  # figures are built without pyplot: nothing to close
        return np.array([patch.get_height() for patch in plot.histogram(x, "fp16").axes[0].patches])

    return {
        "encode": lambda x: lf.encode(x, "e4m3"),
        "quantize": lambda x: lf.quantize(x, "e5m2", rounding="stochastic", rng=3),
        "add": lambda x: lf.add(x, x, "bf16"),
        "fma": lambda x: lf.fma(x, x, x, "fp16"),
        "sqrt": lambda x: lf.sqrt(x, "e4m3"),
        "sum": lambda x: lf.sum(x, "bf16"),
        "dot": lambda x: lf.dot(x, x, "fp16"),
        "matmul": lambda x: lf.matmul(x, x, accumulate="bf16"),
        "scaled_quantize": lambda x: lf.scaled_quantize(x, "e4m3").codes,
        "block_quantize": lambda x: lf.block_quantize(x, "e4m3", block_size=8).codes,
        "mx_quantize": lambda x: lf.mx_quantize(x, "mxfp4", block_size=8).codes,
        "nvfp4_quantize": lambda x: lf.nvfp4_quantize(x, block_size=8).codes,
        "histogram": histogram,
    }


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def test_every_function_that_takes_reals_accepts_ml_dtypes_jax_and_dlpack_inputs_as_their_numpy_values():
    values = np.random.default_rng(4).standard_normal((8, 8)).astype(ml_dtypes.bfloat16)
    as_float32 = values.astype(np.float32)  # what a bfloat16 input is read as
    inputs = {
        "ml_dtypes": values,
        "jax bfloat16": jnp.asarray(values),
        "jax float32": jnp.asarray(as_float32),
        "DLPack": DLPackOnly(as_float32),
        "__array__": ArrayProtocolOnly(as_float32),
    }
    for name, function in _functions().items():
        expected = function(as_float32)
        for kind, x in inputs.items():
            assert _same(function(x), expected), (name, kind)


# ------------------------------------------------------------- optional libraries absent or unloaded


_WORKOUT = """
import numpy as np
import lowfloat as lf
x = np.linspace(-3, 3, 64, dtype=np.float32)
codes = lf.encode(x, "e4m3")
assert np.array_equal(lf.decode(codes, "e4m3"), lf.quantize(x, "e4m3"))
lf.add(x, x, "bf16"); lf.sum(x, "fp16"); lf.matmul(x.reshape(8, 8), x.reshape(8, 8))
lf.mx_quantize(x, "mxfp8_e4m3"); lf.scaled_quantize(x, "int8"); lf.explain(0.1, "e4m3")
assert lf.as_ml_dtypes(lf.encode(x, "fp16"), "fp16").dtype == np.float16   # NumPy's own: no ml_dtypes needed
"""


def test_lowfloat_imports_and_works_with_torch_jax_and_ml_dtypes_blocked():
    code = (
        "import sys\n"
        "for name in ('torch', 'jax', 'jaxlib', 'ml_dtypes'):\n"
        "    sys.modules[name] = None  # any import of them raises ImportError\n"
        + _WORKOUT
        + textwrap.dedent("""
        try:
            lf.as_ml_dtypes(codes, "e4m3")
        except ImportError as error:
            print("as_ml_dtypes:", error)
        try:
            import lowfloat.torch
        except ImportError as error:
            print("lowfloat.torch:", error)
        """)
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "as_ml_dtypes: as_ml_dtypes needs ml_dtypes for float8_e4m3fn: pip install ml_dtypes",
        "lowfloat.torch: lowfloat.torch needs PyTorch: pip install torch",
    ]


def test_lowfloat_never_imports_torch_jax_or_ml_dtypes_for_numpy_input():
    code = _WORKOUT + "print(sorted(m for m in ('torch', 'jax', 'ml_dtypes') if m in sys.modules))\n"
    result = subprocess.run([sys.executable, "-c", "import sys\n" + code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
