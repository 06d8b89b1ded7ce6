"""Arrays of other libraries in and out: ml_dtypes, PyTorch, JAX and anything with DLPack.

In
--
:func:`lowfloat.arrays.as_real_array` hands every input that is not a NumPy
array of a NumPy dtype to :func:`foreign_values`, which reads it *exactly*:

* ml_dtypes arrays (bfloat16, the FP8, FP6 and FP4 dtypes, E8M0): their bits
  are decoded by :func:`lowfloat.decode` for the lowfloat format of the same
  name, into float32 (E8M0 into float64, see below) -- the only copy is the
  widening.  ml_dtypes' int1/int2/int4/uint1/uint2/uint4 become int8/uint8
  integers.
* PyTorch CPU tensors: a NumPy view of their memory where NumPy has the dtype
  (float16/32/64 and the integers; ``requires_grad`` tensors are detached,
  which shares memory), else their bits are decoded as above.
  ``torch.float4_e2m1fn_x2`` packs two FP4 values in a byte, the first in the
  low nibble (as PyTorch's ONNX exporter and :func:`lowfloat.pack` read it):
  a tensor of shape ``(..., n)`` holds ``(..., 2 * n)`` values.
* JAX arrays and any object with ``__dlpack__``: ``numpy.from_dlpack`` (a
  view), or where DLPack has no code for the dtype (bfloat16, FP8) the array
  protocol, which for JAX gives an ml_dtypes array.

E8M0's smallest value, 2**-127, is a float32 subnormal, which a CPU in
flush-to-zero mode (``torch.set_flush_denormal(True)``) would read as 0; E8M0
arrays are therefore read as float64, where every E8M0 value is normal.

Nothing here imports torch, jax or ml_dtypes: an object is recognised by the
module its type comes from, so a library is touched only when the object is
its own (and the library is then already imported).

Out
---
:func:`as_ml_dtypes` views lowfloat's codes as the ml_dtypes array of the
same format, without copying.  PyTorch tensors out: :mod:`lowfloat.torch`.
"""

from __future__ import annotations

import numpy as np

from .formats import BUILTIN_FORMATS, get_format

__all__ = [
    "FIRST_USER_DTYPE",
    "ML_DTYPES_FORMATS",
    "ML_DTYPES_INTEGERS",
    "TORCH_FORMATS",
    "as_ml_dtypes",
    "decode_bits",
    "extension_values",
    "foreign_values",
    "is_foreign",
    "numpy_view",
    "source_format",
    "readable_tensor",
    "tensor_bits",
    "tensor_values",
    "tensor_values_layout",
    "torch_dtype_name",
    "unpack_nibbles",
]

#: ml_dtypes' floating dtypes (by NumPy dtype name) and the lowfloat format whose
#: codes they store, in the low bits of one byte (two for bfloat16).
ML_DTYPES_FORMATS = {
    "bfloat16": "bfloat16",
    "float8_e4m3fn": "float8_e4m3fn",
    "float8_e5m2": "float8_e5m2",
    "float8_e4m3fnuz": "float8_e4m3fnuz",
    "float8_e5m2fnuz": "float8_e5m2fnuz",
    "float8_e4m3b11fnuz": "float8_e4m3b11fnuz",
    "float8_e3m4": "float8_e3m4",
    "float8_e4m3": "float8_e4m3",
    "float8_e8m0fnu": "float8_e8m0fnu",
    "float6_e2m3fn": "float6_e2m3fn",
    "float6_e3m2fn": "float6_e3m2fn",
    "float4_e2m1fn": "float4_e2m1fn",
}

#: ml_dtypes' integer dtypes: (bits, signed).  Each value sits in the low bits of
#: one byte, two's complement for the signed ones.
ML_DTYPES_INTEGERS = {
    "int1": (1, True),
    "int2": (2, True),
    "int4": (4, True),
    "uint1": (1, False),
    "uint2": (2, False),
    "uint4": (4, False),
}

# ml_dtypes' complex dtypes: refused as complex, like NumPy's own
_ML_DTYPES_COMPLEX = ("complex32", "bcomplex32")

#: PyTorch's floating dtypes that NumPy cannot view (by name, without "torch."),
#: and the lowfloat format of their bits.  float4_e2m1fn_x2 holds two codes per
#: byte, the first in the low nibble.
TORCH_FORMATS = {
    "bfloat16": "bfloat16",
    "float8_e4m3fn": "float8_e4m3fn",
    "float8_e5m2": "float8_e5m2",
    "float8_e4m3fnuz": "float8_e4m3fnuz",
    "float8_e5m2fnuz": "float8_e5m2fnuz",
    "float8_e8m0fnu": "float8_e8m0fnu",
    "float4_e2m1fn_x2": "float4_e2m1fn",
}

#: NumPy numbers user-defined (extension) dtypes, such as ml_dtypes', from here up (NPY_USERDEF)
FIRST_USER_DTYPE = 256

# DLPack device types whose memory is host memory NumPy can read (kDLCPU, kDLCUDAHost)
_HOST_DEVICES = (1, 3)
_DLPACK_DEVICE_NAMES = {2: "CUDA", 4: "OpenCL", 7: "Vulkan", 8: "Metal", 10: "ROCm", 13: "CUDA managed", 14: "oneAPI"}


# ------------------------------------------------------------------------------------------- in


def is_foreign(x) -> bool:
    """Whether ``x`` (not a NumPy array) is another library's array: a torch tensor or a DLPack producer."""
    return _is_torch(x) or hasattr(type(x), "__dlpack__")


def _is_torch(x) -> bool:
    # by the module of the type (or of a base class: nn.Parameter, user subclasses), never by importing torch
    return any(cls.__module__.partition(".")[0] == "torch" for cls in type(x).__mro__)


def _type_name(x) -> str:
    cls = type(x)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def foreign_values(x, what: str = "x") -> np.ndarray:
    """Another library's array as a NumPy array of the same values (a view where possible).

    Arrays of an extension dtype (JAX's bfloat16 and FP8 arrive as ml_dtypes
    arrays) are left to :func:`extension_values`.

    Raises
    ------
    TypeError
        A tensor on a device other than the CPU, a sparse or nested tensor,
        or a dtype lowfloat cannot read exactly; the message names the type
        and the dtype.
    """
    if _is_torch(x):
        import torch  # x is a torch object, so torch is already imported

        if isinstance(x, torch.Tensor):
            return tensor_values(x, what)
    array = _from_dlpack(x, what)
    if array is None:
        try:
            array = np.asarray(x)
        except Exception as error:  # any failure of a foreign __array__: say whose object it was
            dtype = getattr(x, "dtype", "unknown")
            raise TypeError(
                f"{what} is a {_type_name(x)} of dtype {dtype}, which lowfloat cannot read: {error}"
            ) from None
    return array


def _from_dlpack(x, what):
    """``numpy.from_dlpack(x)`` (a view), None if DLPack cannot carry x's dtype; TypeError off the host."""
    if not hasattr(type(x), "__dlpack__"):
        return None
    if hasattr(type(x), "__dlpack_device__"):
        kind, index = x.__dlpack_device__()
        if int(kind) not in _HOST_DEVICES:
            device = _DLPACK_DEVICE_NAMES.get(int(kind), f"DLPack device type {int(kind)}")
            raise TypeError(
                f"{what} is a {_type_name(x)} on device {device}:{index}; lowfloat works in host memory -- "
                "copy it to the CPU first"
            )
    try:
        return np.from_dlpack(x)
    except (BufferError, RuntimeError, TypeError, ValueError):
        return None  # DLPack has no code for bfloat16 or FP8: the array protocol may still give them


def extension_values(array: np.ndarray, what: str = "x") -> np.ndarray:
    """An array of an extension dtype (ml_dtypes) as a NumPy array of the same values.

    Floating dtypes decode to float32 (E8M0 to float64), integers to int8 or
    uint8.  Unknown extension dtypes raise TypeError; extension dtypes of
    strings and the like are returned as they are, for the caller to refuse.
    """
    dtype = array.dtype
    name = dtype.name
    if name in ML_DTYPES_FORMATS and dtype.itemsize <= 2:
        fmt = get_format(ML_DTYPES_FORMATS[name])
        return decode_bits(array.view(fmt.code_dtype), fmt, what, dtype)
    if name in ML_DTYPES_INTEGERS and dtype.itemsize == 1:
        bits, signed = ML_DTYPES_INTEGERS[name]
        return _small_integers(array.view(np.uint8), bits, signed, what, dtype)
    if name in _ML_DTYPES_COMPLEX:
        raise TypeError(f"{what} is complex ({dtype}); round the real and imaginary parts separately")
    if dtype.kind in "fiucV":
        raise TypeError(f"{what} has dtype {dtype} (a NumPy extension dtype lowfloat has no table for); "
                        "expected real numbers")  # fmt: skip
    return array


def decode_bits(codes: np.ndarray, fmt, what: str, dtype) -> np.ndarray:
    """The values of the codes held by an array of ``dtype``: float32, or float64 for E8M0."""
    from .codec import decode  # codec reads its input through this module: import on first use

    limit = 1 << fmt.bits
    if fmt.bits < 8 * codes.dtype.itemsize and codes.size and int(codes.max()) >= limit:
        raise ValueError(
            f"{what} ({dtype}) holds the byte {int(codes.max()):#04x}, which is not a {fmt.name} code: "
            f"each byte must hold one code in its low {fmt.bits} bits"
        )
    return np.asarray(decode(codes, fmt, dtype=np.float32 if fmt.signed else np.float64))  # 0-d stays an array


def _small_integers(data: np.ndarray, bits: int, signed: bool, what: str, dtype) -> np.ndarray:
    """Sub-byte integers, one per byte in the low bits: uint8 as they are, int8 sign-extended."""
    if data.size and int(data.max()) >= 1 << bits:
        raise ValueError(
            f"{what} ({dtype}) holds the byte {int(data.max()):#04x}, which is not a {bits}-bit integer: "
            f"each byte must hold one in its low {bits} bits"
        )
    if not signed:
        return data  # the bytes are the values
    shift = np.int8(8 - bits)
    return (data.view(np.int8) << shift) >> shift  # move the sign bit to bit 7, then shift back arithmetically


# --------------------------------------------------------------------------------------- torch


def torch_dtype_name(dtype) -> str:
    """A torch dtype's name without the module: ``torch.bfloat16`` -> ``"bfloat16"``."""
    return str(dtype).removeprefix("torch.")


def readable_tensor(tensor, what: str = "x"):
    """A CPU, strided, detached tensor with the values of ``tensor`` (the same memory, except for neg views).

    A tensor whose negation is pending (PyTorch's neg bit: the imaginary part
    of a conjugate view, for one) is resolved, which copies it: NumPy cannot
    express a lazy negation.
    """
    import torch  # the caller holds a tensor, so torch is already imported

    if tensor.device.type != "cpu":
        raise TypeError(
            f"{what} is a torch.Tensor on device {tensor.device}; lowfloat works in CPU memory -- pass {what}.cpu()"
        )
    if tensor.is_nested or tensor.layout != torch.strided:
        layout = "nested" if tensor.is_nested else str(tensor.layout).removeprefix("torch.")
        raise TypeError(f"{what} is a {layout} torch.Tensor ({tensor.dtype}); lowfloat reads dense, strided tensors")
    tensor = tensor.detach()  # shares memory; lowfloat's results carry no autograd history
    if tensor.dtype.is_complex:
        raise TypeError(f"{what} is complex ({tensor.dtype}); round the real and imaginary parts separately")
    if tensor.is_neg():
        tensor = tensor.resolve_neg()
    return tensor


def tensor_bits(tensor) -> np.ndarray:
    """A NumPy view of a tensor's bits as unsigned integers of its item size (no copy)."""
    import torch

    uint = {1: torch.uint8, 2: torch.uint16, 4: torch.uint32, 8: torch.uint64}[tensor.dtype.itemsize]
    return tensor.view(uint).numpy()


def tensor_values(tensor, what: str = "x") -> np.ndarray:
    """A CPU tensor's values as a NumPy array: a view where NumPy has the dtype, else its bits decoded exactly."""
    tensor = readable_tensor(tensor, what)
    name = torch_dtype_name(tensor.dtype)
    if name in TORCH_FORMATS:
        fmt = get_format(TORCH_FORMATS[name])
        codes = tensor_bits(tensor)
        if name == "float4_e2m1fn_x2":
            codes = unpack_nibbles(codes, what)
        return decode_bits(codes, fmt, what, tensor.dtype)
    return numpy_view(tensor, what)


def numpy_view(tensor, what: str = "x") -> np.ndarray:
    """``tensor.numpy()`` of a readable tensor, or TypeError naming a dtype NumPy has no twin for."""
    try:
        return tensor.numpy()
    except (RuntimeError, TypeError) as error:  # quantized, sub-byte "shell" and bits dtypes
        raise TypeError(
            f"{what} is a torch.Tensor of dtype {tensor.dtype}, which lowfloat cannot read: {error}"
        ) from None


# torch dtypes NumPy can view (by name, which is NumPy's name too)
_NUMPY_VIEWABLE = ("bool", "float16", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32",
                   "int64", "uint64")  # fmt: skip


def tensor_values_layout(tensor, what: str = "x") -> tuple[tuple[int, ...], np.dtype | None]:
    """The shape and dtype of :func:`tensor_values` of a tensor, without reading it (dtype None: unreadable)."""
    name = torch_dtype_name(tensor.dtype)
    shape = _unpacked_shape(tuple(tensor.shape), what) if name == "float4_e2m1fn_x2" else tuple(tensor.shape)
    if name in TORCH_FORMATS:
        return shape, np.dtype(np.float32 if get_format(TORCH_FORMATS[name]).signed else np.float64)
    return shape, np.dtype(name) if name in _NUMPY_VIEWABLE else None


def _unpacked_shape(shape: tuple[int, ...], what: str) -> tuple[int, ...]:
    """The shape of the values a float4_e2m1fn_x2 tensor of ``shape`` holds: the last axis doubled."""
    if not shape:
        raise ValueError(f"{what} is a 0-d float4_e2m1fn_x2 tensor: its two values have no axis to lie along")
    return shape[:-1] + (2 * shape[-1],)


def unpack_nibbles(packed: np.ndarray, what: str) -> np.ndarray:
    """Bytes of shape (..., n) holding two 4-bit codes each, low nibble first, as codes of shape (..., 2n)."""
    shape = _unpacked_shape(packed.shape, what)
    codes = np.empty(packed.shape + (2,), np.uint8)  # (..., n, 2)
    np.bitwise_and(packed, np.uint8(0xF), out=codes[..., 0])
    np.right_shift(packed, np.uint8(4), out=codes[..., 1])
    return codes.reshape(shape)


def source_format(x):
    """The lowfloat Format an ml_dtypes array or a torch tensor stores its values in, or None.

    For the formats that are read by decoding (bfloat16, FP8, FP6, FP4,
    E8M0), so that ``daz=`` can flush *their* subnormals; None for NumPy's
    own dtypes and everything else.
    """
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return None
    if isinstance(dtype, np.dtype):
        name = ML_DTYPES_FORMATS.get(dtype.name) if dtype.num >= FIRST_USER_DTYPE else None
    elif _is_torch(x):
        name = TORCH_FORMATS.get(torch_dtype_name(dtype))
    else:
        name = None
    return None if name is None else get_format(name)


# ------------------------------------------------------------------------------------------ out

# lowfloat's formats that ml_dtypes (or NumPy itself, for float16 and float32) has a dtype for
_NUMPY_TWINS = {"float16": np.float16, "float32": np.float32}


def as_ml_dtypes(codes, fmt) -> np.ndarray:
    """View codes as the ml_dtypes array of the same format, without copying.

    Parameters
    ----------
    codes : array_like of integers
        Codes of ``fmt``, as :func:`lowfloat.encode` returns them.
    fmt : Format or str
        A format ml_dtypes has: bfloat16, the FP8, FP6 and FP4 formats and
        E8M0 (and float16/float32, which are NumPy's own).

    Returns
    -------
    ndarray
        Of ``ml_dtypes.<fmt.name>`` (``numpy.float16``/``float32`` for those),
        same shape.  A view of ``codes`` -- they share memory -- when
        ``codes`` is an ndarray of ``fmt.code_dtype``; other integer inputs
        are checked and converted first.  ml_dtypes stores FP4 and FP6 one
        code per byte in the low bits, as lowfloat does.

    Raises
    ------
    ValueError
        A format ml_dtypes has no dtype for (tensorfloat32, formats you
        define yourself), codes that are not integers or not codes of
        ``fmt``.
    ImportError
        ml_dtypes is not installed.

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> codes = lf.encode([0.1, 448.0, -3.0], "e4m3")
    >>> values = lf.as_ml_dtypes(codes, "e4m3")
    >>> values.dtype.name, values.astype(np.float32).tolist()
    ('float8_e4m3fn', [0.1015625, 448.0, -3.0])
    >>> np.shares_memory(values, codes)
    True
    """
    fmt = get_format(fmt)
    name = fmt.name if BUILTIN_FORMATS.get(fmt.name) == fmt else None
    if name not in ML_DTYPES_FORMATS and name not in _NUMPY_TWINS:
        known = ", ".join(list(_NUMPY_TWINS) + list(ML_DTYPES_FORMATS))
        raise ValueError(f"ml_dtypes has no dtype for {fmt.name}; as_ml_dtypes covers {known}")
    if name in _NUMPY_TWINS:
        dtype = np.dtype(_NUMPY_TWINS[name])
    else:
        try:
            import ml_dtypes
        except ImportError:
            raise ImportError(f"as_ml_dtypes needs ml_dtypes for {fmt.name}: pip install ml_dtypes") from None
        dtype = np.dtype(getattr(ml_dtypes, name))
    return _checked_codes(codes, fmt).view(dtype)


def _checked_codes(codes, fmt) -> np.ndarray:
    """``codes`` as an array of ``fmt.code_dtype`` (itself when it already is one), every one a code of ``fmt``."""
    array = codes if isinstance(codes, np.ndarray) else np.asarray(codes)
    if array.dtype.kind not in "iu" and not (array.size == 0 and array.dtype.kind == "f"):
        raise ValueError(f"codes must be integers, got dtype {array.dtype}; use lowfloat.encode() for values")
    unchecked = array.dtype != fmt.code_dtype or fmt.bits < 8 * fmt.code_dtype.itemsize
    if unchecked and array.size:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= 1 << fmt.bits:
            bad = low if low < 0 else high
            raise ValueError(f"code {bad} is outside 0..{(1 << fmt.bits) - 1}, the codes of {fmt.name}")
    return array if array.dtype == fmt.code_dtype else array.astype(fmt.code_dtype)
