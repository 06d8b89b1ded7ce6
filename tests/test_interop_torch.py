"""PyTorch tensors in (through every lowfloat function) and out (lowfloat.torch.quantize / encode / decode).

Checked: every floating dtype's every code reads as PyTorch's own value; the
casts give the bits of the same values passed as float64; tensors NumPy can
view are read and written without a copy (``data_ptr``); the dtype rule of
lowfloat.torch agrees with an exhaustive check; autograd sees in-place writes.
"""

from __future__ import annotations

import inspect
import tracemalloc

import ml_dtypes
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import lowfloat as lf
import lowfloat.torch as lft
from lowfloat.arrays import as_real_array
from lowfloat.interop import TORCH_FORMATS

FP8 = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"]
FLOATS = ["float64", "float32", "float16", "bfloat16"] + FP8
INTEGERS = ["uint8", "int8", "int16", "uint16", "int32", "uint32", "int64"]
TARGETS = ["float8_e4m3fn", "float8_e5m2", "bfloat16", "float16", "float4_e2m1fn", "float8_e8m0fnu", "float32"]
DETERMINISTIC = ["nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative"]


def bits64(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.double().numpy()
    with np.errstate(invalid="ignore"):
        return np.asarray(values, np.float64).view(np.uint64)


def same_values(a, b) -> bool:
    """Bit-identical as float64 (-0 is not 0), NaN where the other has NaN."""
    a, b = bits64(a), bits64(b)
    nan = np.isnan(a.view(np.float64))
    return bool(np.array_equal(nan, np.isnan(b.view(np.float64))) and np.array_equal(a[~nan], b[~nan]))


def every_value(name: str) -> torch.Tensor:
    """A tensor of every code of a torch dtype of at most 16 bits."""
    dtype = getattr(torch, name)
    if dtype.itemsize == 1:
        return torch.arange(256, dtype=torch.int16).to(torch.uint8).view(dtype)
    return torch.arange(-(1 << 15), 1 << 15, dtype=torch.int32).to(torch.int16).view(dtype)


def sample(name: str, n: int = 300, seed: int = 0) -> torch.Tensor:
    """Random values of a torch dtype (codes of a low format, numbers of a wide one or an integer dtype)."""
    generator = torch.Generator().manual_seed(seed)
    dtype = getattr(torch, name)
    if dtype in (torch.float32, torch.float64):
        return (torch.randn(n, generator=generator, dtype=torch.float64) * 30).to(dtype)
    if not dtype.is_floating_point:
        info = torch.iinfo(dtype)
        low, high = max(info.min, -(1 << 40)), min(info.max, 1 << 40)
        return torch.randint(low, high, (n,), generator=generator, dtype=torch.int64).to(dtype)
    codes = every_value(name)
    return codes[torch.randint(0, codes.numel(), (n,), generator=generator)]


def address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


# ------------------------------------------------------------------------------------- tensors in


@pytest.mark.parametrize("name", ["float16", "bfloat16"] + FP8)
def test_every_code_of_a_torch_float_dtype_reads_as_pytorchs_own_value(name):
    tensor = every_value(name)
    values = as_real_array(tensor)
    assert values.dtype == (np.float64 if name == "float8_e8m0fnu" else np.float16 if name == "float16" else np.float32)
    assert same_values(values, tensor.double())


def test_float4_e2m1fn_x2_bytes_hold_two_values_the_first_in_the_low_nibble():
    packed = torch.arange(256, dtype=torch.int16).to(torch.uint8).view(torch.float4_e2m1fn_x2).reshape(16, 16)
    values = as_real_array(packed)
    assert values.shape == (16, 32) and values.dtype == np.float32
    nibbles = np.arange(16, dtype=np.uint8).view(ml_dtypes.float4_e2m1fn).astype(np.float32)  # ml_dtypes' FP4
    byte = np.arange(256).reshape(16, 16)
    assert np.array_equal(values[:, 0::2], nibbles[byte & 0xF]) and np.array_equal(values[:, 1::2], nibbles[byte >> 4])
    with pytest.raises(ValueError, match=r"0-d float4_e2m1fn_x2 tensor"):
        as_real_array(packed[0, 0])


@pytest.mark.parametrize("name", FLOATS + INTEGERS)
def test_casts_of_a_tensor_give_the_bits_of_the_same_values_as_float64(name):
    tensor = sample(name)
    wide = tensor.double().numpy()  # exact for every dtype sampled (integers below 2**53)
    for target in TARGETS:
        keep = np.ones(wide.shape, bool) if lf.get_format(target).has_nan else ~np.isnan(wide)
        x, w = tensor[torch.from_numpy(keep)], wide[keep]
        for rounding in DETERMINISTIC:
            assert same_values(lf.quantize(x, target, rounding=rounding), lf.quantize(w, target, rounding=rounding))
        number = torch.from_numpy(~np.isnan(w))  # NaN's sign: see the test below
        assert np.array_equal(lf.encode(x[number], target, overflow="saturate"),
                              lf.encode(w[number.numpy()], target, overflow="saturate"))  # fmt: skip


def test_the_single_nan_of_a_fnuz_tensor_reads_as_negative_nan_as_lowfloat_and_ml_dtypes_decode_it():
    for name in ("float8_e4m3fnuz", "float8_e5m2fnuz"):
        nan = torch.tensor([0x80], dtype=torch.uint8).view(getattr(torch, name))
        value = as_real_array(nan)
        assert np.isnan(value[0]) and np.signbit(value[0])  # PyTorch's own widening gives +NaN
        assert np.signbit(np.array([0x80], np.uint8).view(getattr(ml_dtypes, name)).astype(np.float32)[0])


@pytest.mark.parametrize("name", ["float64", "float32", "float16"] + INTEGERS)
def test_tensors_numpy_can_view_are_read_without_a_copy_strided_and_requires_grad_included(name):
    tensor = sample(name, 64).reshape(8, 8)
    if tensor.dtype.is_floating_point:
        tensor.requires_grad_(True)
    for view in (tensor, tensor[1::2, ::3], tensor.T):
        values = as_real_array(view)
        assert address(values) == view.data_ptr()
        assert values.strides == tuple(s * view.element_size() for s in view.stride())
        assert np.array_equal(values, view.detach().numpy(), equal_nan=values.dtype.kind == "f")


def test_strided_bfloat16_and_fp8_views_read_their_own_elements():
    for name in ("bfloat16", "float8_e4m3fn"):
        tensor = sample(name, 64).reshape(8, 8)
        view = tensor.T[::2, 1::3]
        assert same_values(as_real_array(view), view.double())


def test_a_negated_view_reads_as_its_negated_values_and_complex_is_refused():
    base = torch.tensor([1.5, -2.0, 0.0])
    assert as_real_array(torch._neg_view(base)).tolist() == [-1.5, 2.0, -0.0]
    with pytest.raises(TypeError, match=r"x is complex \(torch.complex64\)"):
        lf.quantize(torch.zeros(2, dtype=torch.complex64).conj(), "e4m3")


@pytest.mark.parametrize(
    "tensor, message",
    [
        (torch.zeros(2, device="meta"), r"x is a torch.Tensor on device meta; lowfloat works in CPU memory"),
        (torch.zeros(2, 2).to_sparse(), r"x is a sparse_coo torch.Tensor \(torch.float32\); lowfloat reads dense"),
        (torch.zeros(2, dtype=torch.int4), r"x is a torch.Tensor of dtype torch.int4, which lowfloat cannot read"),
        (torch.zeros(2, dtype=torch.bits8), r"x is a torch.Tensor of dtype torch.bits8, which lowfloat cannot read"),
        (torch.tensor([True]), r"x is boolean"),
    ],
)
def test_tensors_lowfloat_cannot_read_exactly_are_refused_naming_device_layout_or_dtype(tensor, message):
    with pytest.raises(TypeError, match=message):
        lf.quantize(tensor, "e4m3")


def test_daz_flushes_the_subnormals_of_the_tensors_own_format():
    e4m3 = torch.tensor([2.0**-9, 2.0**-6]).to(torch.float8_e4m3fn)  # a subnormal and the smallest normal
    assert lf.quantize(e4m3, "bf16", daz=True).tolist() == [0.0, 2.0**-6]
    assert lft.quantize(e4m3, "bf16", dtype=torch.float32, daz=True).tolist() == [0.0, 2.0**-6]
    half = torch.tensor([2.0**-24, 2.0**-14], dtype=torch.float16)  # float16, read through NumPy's float16
    assert lf.quantize(half, "fp32", daz=True).tolist() == [0.0, 2.0**-14]


# ------------------------------------------------------------------------------- the dtype rule


def _every_value_fits(container, fmt) -> bool:
    """The exhaustive oracle: every code's value (NaN aside) survives quantize into the container bit for bit."""
    values = lf.decode(np.arange(1 << fmt.bits, dtype=fmt.code_dtype), fmt, dtype=np.float64)
    values = values[~np.isnan(values)]
    return same_values(lf.quantize(values, container), values)


def _torch_containers():
    return {name: lf.get_format(TORCH_FORMATS.get(name, name)) for name in ["float32", "float16"] + list(TORCH_FORMATS)}


@pytest.mark.parametrize("fmt", [name for name in lf.BUILTIN_FORMATS if lf.get_format(name).bits <= 16])
def test_holds_agrees_with_the_exhaustive_check_for_every_builtin_format_and_torch_dtype(fmt):
    fmt = lf.get_format(fmt)
    for name, container in _torch_containers().items():
        assert lft.holds(getattr(torch, name), fmt) == _every_value_fits(container, fmt), (name, fmt.name)
    assert lft.holds(torch.float64, fmt)
    assert not lft.holds(torch.int32, fmt)


@st.composite
def small_formats(draw):
    """Formats of at most 16 bits, signed (every convention) and unsigned (E8M0-like)."""
    exp_bits = draw(st.integers(1, 8))
    signed = draw(st.booleans()) or exp_bits < 3
    man_bits = draw(st.integers(0, 15 - exp_bits)) if signed else 0
    specials = draw(st.sampled_from(["ieee", "fn", "fnuz", "none"])) if signed else "fn"
    bias = draw(st.integers(-2, 2 ** (exp_bits - 1) + 8))
    try:
        return lf.Format(exp_bits=exp_bits, man_bits=man_bits, bias=bias, specials=specials, signed=signed)
    except ValueError:  # no finite value, or beyond float32's range
        return lf.get_format("float8_e4m3fnuz")


@given(small_formats())
def test_holds_agrees_with_the_exhaustive_check_for_random_formats(fmt):
    for name, container in _torch_containers().items():
        assert lft.holds(getattr(torch, name), fmt) == _every_value_fits(container, fmt), (name, fmt)


def test_holds_for_formats_too_wide_to_enumerate():
    assert lft.holds(torch.float32, "fp32") and lft.holds(torch.float32, "tf32") and lft.holds(torch.float64, "fp32")
    assert not lft.holds(torch.bfloat16, "tf32") and not lft.holds(torch.float16, "fp32")


# --------------------------------------------------------------------------- lowfloat.torch.quantize


@pytest.mark.parametrize("name", FLOATS + ["float4_e2m1fn_x2"])
def test_torch_quantize_keeps_shape_and_dtype_and_gives_the_float64_paths_values(name):
    if name == "float4_e2m1fn_x2":
        tensor = lft.encode(
            sample("float32", 48).reshape(4, 12), "fp4", dtype=torch.float4_e2m1fn_x2, overflow="saturate"
        )
    else:
        tensor = sample(name, 200)
        tensor = tensor[~torch.isnan(tensor.double())][:48].reshape(4, 12)  # NaN: see the NumPy tests
    wide = as_real_array(tensor).astype(np.float64)
    for fmt in ["float4_e2m1fn", "float8_e4m3fn", "float8_e5m2", "bfloat16", "float16", "float8_e8m0fnu"]:
        if not lft.holds(tensor.dtype, fmt):
            with pytest.raises(ValueError, match=rf"a {tensor.dtype} tensor cannot hold every {fmt} value"):
                lft.quantize(tensor, fmt)
            continue
        result = lft.quantize(tensor, fmt)
        assert result.dtype == tensor.dtype and result.shape == tensor.shape and not result.requires_grad
        assert same_values(as_real_array(result), lf.quantize(wide, fmt))


def test_torch_quantize_of_bfloat16_into_e4m3_stays_bfloat16_and_fp16_into_bfloat16_is_refused():
    x = torch.tensor([0.1, 464.0, -3.3, 1e-3], dtype=torch.bfloat16)
    result = lft.quantize(x, "e4m3")
    assert result.dtype == torch.bfloat16
    assert result.float().tolist() == lf.quantize(x.float().numpy(), "e4m3").tolist()
    with pytest.raises(ValueError, match=r"float16 has 11 significand bits, bfloat16 8\), so quantize would round"):
        lft.quantize(x, "fp16")
    assert lft.quantize(x, "fp16", dtype=torch.float32).dtype == torch.float32
    with pytest.raises(ValueError, match=r"float4_e2m1fn has -0, float8_e4m3fnuz not"):
        lft.quantize(torch.zeros(2, dtype=torch.float8_e4m3fnuz), "fp4")


def test_torch_quantize_of_an_integer_tensor_gives_float32():
    result = lft.quantize(torch.tensor([1, 3, 1000, 17]), "e4m3", overflow="saturate")
    assert result.dtype == torch.float32 and result.tolist() == [1.0, 3.0, 448.0, 16.0]


def test_torch_quantize_in_place_writes_the_tensors_own_memory():
    for dtype in (torch.float32, torch.float64, torch.bfloat16, torch.float16):
        x = torch.linspace(-3, 3, 50, dtype=torch.float64).to(dtype)
        expected = lf.quantize(x.double().numpy(), "e4m3")
        pointer = x.data_ptr()
        assert lft.quantize(x, "e4m3", out=x) is x
        assert x.data_ptr() == pointer and same_values(x, expected), dtype


def numpy_bytes_allocated(call) -> int:
    """Peak bytes NumPy and Python allocate during ``call()`` (PyTorch's own allocator is not traced)."""
    call()  # compile and cache outside the measurement
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_quantize_of_float32_and_float64_makes_no_numpy_copy_the_kernel_writes_the_tensor(dtype):
    x = torch.linspace(-3, 3, 1 << 20, dtype=dtype)
    assert numpy_bytes_allocated(lambda: lft.quantize(x, "fp16")) < 64 << 10  # the data is 4 or 8 MiB
    assert numpy_bytes_allocated(lambda: lft.quantize(x, "fp16", out=x)) < 64 << 10


def test_torch_quantize_into_a_non_contiguous_out_fills_exactly_that_view():
    x = torch.linspace(-3, 3, 12).reshape(3, 4)
    base = torch.zeros(4, 6)
    out = base.T[:4, :3].T  # (3, 4), strided
    lft.quantize(x, "e5m2", out=out)
    assert same_values(out, lf.quantize(x.numpy(), "e5m2"))
    assert int((base != 0).sum()) == int((out != 0).sum())


OPTION_CASES = [
    {"rounding": "toward_negative"},
    {"overflow": "saturate"},
    {"ftz": True},
    {"daz": True},
    {"rounding": "stochastic", "rng": 7},
    {"rounding": "stochastic", "rng": 7, "sr_bits": 3},
    {"tininess": "before", "flags": "fresh"},
]


def test_the_option_cases_cover_every_keyword_option_of_the_numpy_functions():
    for function in (lf.quantize, lf.encode):
        keywords = {p.name for p in inspect.signature(function).parameters.values() if p.kind == p.KEYWORD_ONLY}
        assert keywords - {"out"} == set().union(*OPTION_CASES), function.__name__


@pytest.mark.parametrize("options", OPTION_CASES)
def test_every_keyword_option_passes_through_to_the_numpy_functions(options):
    x = torch.tensor([2.0**-12, -(2.0**-8) * 3, 0.3, 500.0, -1e-30, 17.0] * 20)

    def fresh(flags_kind):  # a new flags array per call, of the kind each side takes
        return {**options, "flags": flags_kind(x.shape)} if "flags" in options else options

    def numpy_flags(shape):
        return np.zeros(shape, np.uint8)

    def torch_flags(shape):
        return torch.zeros(shape, dtype=torch.uint8)

    ours, theirs = fresh(torch_flags), fresh(numpy_flags)
    assert same_values(lft.quantize(x, "e4m3", **ours), lf.quantize(x.numpy(), "e4m3", **theirs))
    if "flags" in options:
        assert ours["flags"]._version == 1 and np.array_equal(ours["flags"].numpy(), theirs["flags"])
        assert ours["flags"].numpy().any()
    ours, theirs = fresh(numpy_flags), fresh(numpy_flags)
    assert np.array_equal(lft.encode(x, "e4m3", **ours).numpy(), lf.encode(x.numpy(), "e4m3", **theirs))
    if "flags" in options:
        assert np.array_equal(ours["flags"], theirs["flags"])
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'bogus'"):
        lft.quantize(x, "e4m3", bogus=1)


def test_torch_quantize_leaves_a_requires_grad_input_untouched_and_returns_no_grad():
    x = torch.tensor([0.1, 0.2], requires_grad=True)
    result = lft.quantize(x, "e4m3")
    assert not result.requires_grad and x.requires_grad and x.tolist() == [pytest.approx(0.1), pytest.approx(0.2)]


def test_an_in_place_write_is_seen_by_autograd_and_an_out_that_requires_grad_is_refused():
    leaf = torch.tensor([0.1, 0.7], requires_grad=True)
    hidden = leaf * 3
    loss = hidden.sin().sum()  # sin saves hidden for backward
    version = hidden._version
    lft.quantize(hidden.detach(), "e4m3", out=hidden.detach())
    assert hidden._version == version + 1
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation"):
        loss.backward()
    with pytest.raises(ValueError, match=r"out requires grad; lowfloat's casts are not recorded by autograd"):
        lft.quantize(leaf.detach(), "e4m3", out=leaf)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: lft.quantize(np.zeros(2), "e4m3"), TypeError, r"x must be a torch.Tensor, got ndarray"),
        (lambda: lft.quantize(torch.zeros(2), "e4m3", out=torch.zeros(3)), ValueError, r"out has shape \(3,\)"),
        (lambda: lft.quantize(torch.zeros(2), "e4m3", out=torch.zeros(2, dtype=torch.float64)), ValueError,
         r"out has dtype torch.float64, expected torch.float32"),
        (lambda: lft.quantize(torch.zeros(2), "e4m3", out=np.zeros(2, np.float32)), TypeError, r"out must be a torch"),
        (lambda: lft.quantize(torch.zeros(2), "e4m3", dtype=torch.int32), ValueError, r"floating torch dtype"),
        (lambda: lft.quantize(torch.zeros(2), "e4m3", dtype="float32"), TypeError, r"dtype must be a torch.dtype"),
        (lambda: lft.quantize(torch.zeros(3), "fp4", dtype=torch.float4_e2m1fn_x2), ValueError,
         r"x of shape \(3,\) cannot be packed two to a byte"),
        (lambda: lft.quantize(torch.tensor([float("nan"), 1.0]), "fp4", dtype=torch.float4_e2m1fn_x2), ValueError,
         r"the result holds NaN, which a torch.float4_e2m1fn_x2 tensor cannot hold"),
        (lambda: lft.quantize(torch.zeros(2), "e4m3", out=torch._neg_view(torch.zeros(2))), ValueError,
         r"out is a lazily negated view"),
    ],
)  # fmt: skip
def test_torch_casts_refuse_bad_arguments_with_a_message_naming_them(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----------------------------------------------------------------------------- encode and decode


@pytest.mark.parametrize("fmt", ["float8_e4m3fn", "bfloat16", "float32", "float4_e2m1fn", "float6_e3m2fn"])
def test_torch_encode_gives_lowfloats_codes_in_lowfloats_code_dtype(fmt):
    x = sample("float32", 64)
    codes = lft.encode(x, fmt, overflow="saturate")
    expected = lf.encode(x.numpy(), fmt, overflow="saturate")
    assert codes.numpy().dtype == expected.dtype and np.array_equal(codes.numpy(), expected)
    assert np.array_equal(lft.encode(x, fmt, dtype=torch.int64, overflow="saturate").numpy(), expected)


def test_torch_encode_of_float32_makes_no_numpy_copy_the_kernel_writes_the_codes_or_fp8_tensor():
    x = torch.linspace(-3, 3, 1 << 20)
    assert numpy_bytes_allocated(lambda: lft.encode(x, "e4m3")) < 64 << 10
    assert numpy_bytes_allocated(lambda: lft.encode(x, "e4m3", dtype=torch.float8_e4m3fn)) < 64 << 10


def test_torch_encode_into_the_formats_own_dtype_equals_pytorchs_cast_where_pytorch_rounds_to_nearest():
    x = torch.randn(4096, generator=torch.Generator().manual_seed(3)) * 100
    x = x[x.abs() <= 448]  # PyTorch saturates E4M3 beyond; lowfloat's default gives NaN
    for fmt, dtype in [("e4m3", torch.float8_e4m3fn), ("e5m2", torch.float8_e5m2), ("bf16", torch.bfloat16),
                       ("fp16", torch.float16)]:  # fmt: skip
        ours = lft.encode(x, fmt, dtype=dtype)
        assert ours.dtype == dtype
        assert torch.equal(ours.view(torch.uint8 if dtype.itemsize == 1 else torch.int16),
                           x.to(dtype).view(torch.uint8 if dtype.itemsize == 1 else torch.int16))  # fmt: skip


def test_torch_encode_packs_fp4_two_to_a_byte_as_lowfloat_pack_does_and_decode_unpacks():
    x = sample("float32", 64).reshape(4, 16)
    packed = lft.encode(x, "fp4", dtype=torch.float4_e2m1fn_x2, overflow="saturate")
    assert packed.shape == (4, 8)
    codes = lf.encode(x.numpy(), "fp4", overflow="saturate")
    assert np.array_equal(packed.view(torch.uint8).numpy().ravel(), lf.pack(codes, "fp4"))
    assert same_values(lft.decode(packed, "fp4"), lf.quantize(x.numpy(), "fp4", overflow="saturate"))


def test_torch_encode_refuses_dtypes_that_cannot_hold_the_codes():
    x = torch.zeros(2)
    with pytest.raises(ValueError, match=r"a torch.int8 tensor cannot hold every float8_e4m3fn code \(0..255\)"):
        lft.encode(x, "e4m3", dtype=torch.int8)
    with pytest.raises(ValueError, match=r"a torch.float8_e5m2 tensor does not hold float8_e4m3fn codes"):
        lft.encode(x, "e4m3", dtype=torch.float8_e5m2)
    with pytest.raises(ValueError, match=r"x contains NaN, which float4_e2m1fn cannot encode"):
        lft.encode(torch.tensor([float("nan")]), "fp4")


@pytest.mark.parametrize("fmt", ["float8_e4m3fn", "float8_e8m0fnu", "bfloat16", "float16", "float6_e2m3fn"])
def test_torch_decode_gives_lowfloats_values_for_every_code(fmt):
    fmt = lf.get_format(fmt)
    codes = np.arange(1 << fmt.bits, dtype=fmt.code_dtype)
    for dtype in (torch.float32, torch.float64):
        values = lft.decode(torch.from_numpy(codes), fmt, dtype=dtype)
        assert values.dtype == dtype and same_values(values, lf.decode(codes, fmt, dtype=np.float64))
    assert same_values(lft.decode(torch.from_numpy(codes.astype(np.int64)), fmt), lf.decode(codes, fmt))


def test_torch_decode_into_a_dtype_that_holds_the_format_and_of_a_tensor_of_the_formats_own_dtype():
    codes = torch.arange(256, dtype=torch.int32)
    in_bf16 = lft.decode(codes, "e4m3", dtype=torch.bfloat16)
    assert in_bf16.dtype == torch.bfloat16 and same_values(in_bf16, lf.decode(codes.numpy(), "e4m3"))
    fp8 = codes.to(torch.uint8).view(torch.float8_e4m3fn)
    assert same_values(lft.decode(fp8, "e4m3"), fp8.double())
    with pytest.raises(ValueError, match=r"codes has dtype torch.float8_e4m3fn: expected integer codes"):
        lft.decode(fp8, "e5m2")
    with pytest.raises(ValueError, match=r"a torch.float16 tensor cannot hold every float8_e8m0fnu value"):
        lft.decode(codes, "e8m0", dtype=torch.float16)
    with pytest.raises(ValueError, match=r"code 256 is outside 0..255"):
        lft.decode(torch.tensor([256]), "e4m3")
    with pytest.raises(TypeError, match=r"codes must be a torch.Tensor"):
        lft.decode([1, 2], "e4m3")


def test_torch_decode_writes_into_out_in_place():
    codes = torch.tensor([0x3C00, 0x7C00], dtype=torch.int32)
    out = torch.empty(2, dtype=torch.float64)
    pointer = out.data_ptr()
    assert lft.decode(codes, "fp16", dtype=torch.float64, out=out) is out
    assert out.data_ptr() == pointer and out.tolist() == [1.0, float("inf")]
