"""Turning what users pass into what kernels take, and refusing what cannot be.

Kernels read 1-D, contiguous, native-endian float32 or float64 arrays and
write 1-D contiguous arrays.  This module converts every other real input
*exactly* (or, for 64-bit integers, Python integers of any size and long
doubles, by rounding to odd, which keeps the later single rounding exact),
and checks ``out=`` arrays.  Arrays of other libraries -- ml_dtypes, PyTorch,
JAX, DLPack -- are read by :mod:`lowfloat.interop`.
"""

from __future__ import annotations

import numpy as np

from .interop import FIRST_USER_DTYPE, extension_values, foreign_values, is_foreign
from .kernels.widen import widen_to_odd

__all__ = ["as_real_array", "check_out", "kernel_input", "exact_float64", "result_dtype", "widen_float32"]


def as_real_array(x, what: str = "x") -> np.ndarray:
    """``x`` as a real NumPy array (any shape), or TypeError naming the problem.

    Python ints too large for int64 stay Python ints (an object array, with
    any Python floats beside them): their exact value is kept until
    :func:`kernel_input` rounds them to odd.  ml_dtypes arrays, torch
    tensors, JAX arrays and other DLPack producers are read exactly by
    :mod:`lowfloat.interop`: NumPy views of their memory where NumPy has the
    dtype, their values decoded into float32 (E8M0: float64) where it has not.
    """
    if isinstance(x, np.ndarray):
        array = x
    elif is_foreign(x):
        array = foreign_values(x, what)
    else:
        array = np.asarray(x)
    if array.dtype.num >= FIRST_USER_DTYPE:  # an extension dtype: ml_dtypes' bfloat16, FP8, ...
        array = extension_values(array, what)
    kind = array.dtype.kind
    if kind in "fiu":
        return array
    if kind == "b":
        raise TypeError(
            f"{what} is boolean; lowfloat rounds real numbers -- convert with {what}.astype(float) if you mean 0 and 1"
        )
    if kind == "c":
        raise TypeError(f"{what} is complex ({array.dtype}); round the real and imaginary parts separately")
    if kind == "O" and array.size and all(_is_python_real(v) for v in array.flat):
        return array  # Python ints of any size (and floats): kernel_input rounds them to odd
    names = {"O": "object", "U": "string", "S": "bytes", "M": "datetime", "m": "timedelta", "V": "structured"}
    cls = type(x)
    given = "" if cls.__module__ in ("builtins", "numpy") else f", got a {cls.__module__}.{cls.__qualname__}"
    raise TypeError(f"{what} has dtype {array.dtype} ({names.get(kind, 'non-numeric')}); expected real numbers{given}")


def _is_python_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# float64's largest value; its last significand bit is 1, so it stands for any larger
# integer after rounding to odd (every format's range ends far below it)
_FLOAT64_MAX_ODD = float.fromhex("0x1.fffffffffffffp+1023")


def _int_to_odd(n: int) -> float:
    """A Python int rounded to odd in float64 (see kernels/widen.py): truncate, set the last bit if inexact."""
    magnitude = abs(n)
    drop = max(magnitude.bit_length() - 53, 0)
    kept = magnitude >> drop
    if magnitude & ((1 << drop) - 1):
        kept |= 1
    value = _FLOAT64_MAX_ODD if drop > 1023 - 52 else float(kept) * 2.0**drop  # both factors exact
    return -value if n < 0 else value


def _python_reals_to_odd(array: np.ndarray) -> np.ndarray:
    """An object array of Python ints (of any size) and floats as float64: floats exactly, ints rounded to odd."""
    flat = [_int_to_odd(v) if isinstance(v, int) else v for v in array.flat]
    return np.array(flat, np.float64).reshape(array.shape)


def kernel_input(array: np.ndarray) -> np.ndarray:
    """A native-endian, C-contiguous float32 or float64 array with the same values.

    float32 and float64 stay as they are; float16 and integers of up to 32
    bits widen exactly to float64 (float16 to float32); int64, uint64, Python
    ints of any size and long double round to odd in float64.
    """
    with np.errstate(invalid="ignore"):  # signalling NaNs quieten silently
        return _kernel_input(array)


def _kernel_input(array: np.ndarray) -> np.ndarray:
    dtype = array.dtype
    if not dtype.isnative:
        array = array.astype(dtype.newbyteorder("="))
        dtype = array.dtype
    if dtype == np.float32 or dtype == np.float64:
        return np.asarray(array, order="C")
    if dtype == np.float16:
        return np.asarray(array, dtype=np.float32, order="C")
    if dtype.kind in "iu" and dtype.itemsize == 8:
        src = np.asarray(array, order="C")
        out = np.empty(src.shape, np.float64)
        widen_to_odd(src.reshape(-1), out.reshape(-1))
        return out
    if dtype.kind in "iu":
        return np.asarray(array, dtype=np.float64, order="C")
    if dtype.kind == "O":  # Python ints and floats, as as_real_array let through
        return _python_reals_to_odd(array)
    return _longdouble_to_odd(np.asarray(array, order="C"))


def _longdouble_to_odd(array: np.ndarray) -> np.ndarray:
    """Round a wider-than-float64 float array to odd in float64 (see kernels/widen.py)."""
    with np.errstate(over="ignore", invalid="ignore"):
        wide = array.astype(np.float64)
        residual = array - wide.astype(array.dtype)  # exact: both share the top bits
    lsb_even = (wide.view(np.uint64) & np.uint64(1)) == 0
    fix = (residual != 0) & lsb_even & np.isfinite(wide)
    wide[fix] = np.nextafter(wide[fix], np.where(residual[fix] > 0, np.inf, -np.inf))
    return wide


def check_out(out, shape, dtype, source: np.ndarray | None = None) -> np.ndarray | None:
    """Validate an ``out=`` array: ndarray, exact shape and dtype, writeable, not overlapping.

    ``source`` is the array the kernel reads; ``out`` may be that very array
    (same memory, same layout: an in-place operation), but may not overlap it
    in any other way.
    """
    if out is None:
        return None
    if not isinstance(out, np.ndarray):
        raise ValueError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"out has shape {out.shape}, expected {tuple(shape)}")
    if out.dtype != dtype:
        raise ValueError(f"out has dtype {out.dtype}, expected {np.dtype(dtype)}")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if source is not None and np.may_share_memory(out, source):
        same = (
            out.__array_interface__["data"][0] == source.__array_interface__["data"][0]
            and out.strides == source.strides
            and out.dtype.itemsize == source.dtype.itemsize
        )
        if not same and np.shares_memory(out, source):
            raise ValueError("out overlaps the input partially; pass out=x itself or a separate array")
    return out


def exact_float64(x, name: str = "x") -> np.ndarray:
    """``x`` as float64 with exactly the same values, or an error naming ``name``."""
    array = as_real_array(x, name)
    dtype = array.dtype
    if dtype.kind in "iu" and dtype.itemsize == 8:
        if array.size and (int(array.max()) > 2**53 or int(array.min()) < -(2**53)):
            raise ValueError(f"{name} holds 64-bit integers beyond 2**53, which float64 cannot hold exactly")
        return array.astype(np.float64)
    if dtype.kind == "O":  # Python ints of any size, and floats (as_real_array lets them through)
        if any(isinstance(v, int) and abs(v) > 2**53 for v in array.flat):
            raise ValueError(f"{name} holds Python integers beyond 2**53, which float64 cannot hold exactly")
        return array.astype(np.float64)
    if dtype.kind == "f" and dtype.itemsize > 8:
        with np.errstate(over="ignore", invalid="ignore"):
            wide = array.astype(np.float64)
            exact = (wide.astype(dtype) == array) | np.isnan(array)
        if not exact.all():
            raise ValueError(f"{name} holds {dtype} values that float64 cannot hold exactly")
        return wide
    with np.errstate(invalid="ignore"):  # signalling NaNs quieten silently
        return array.astype(np.float64)


def result_dtype(arrays) -> np.dtype:
    """float32 if the operands' NumPy result type is a float of at most 4 bytes, else float64."""
    common = np.result_type(*arrays)
    return np.dtype(np.float32) if common.kind == "f" and common.itemsize <= 4 else np.dtype(np.float64)


def widen_float32(array: np.ndarray) -> np.ndarray:
    """float32 values as float64, exactly, NaNs included: a signalling NaN stays signalling (for the INVALID flag).

    NumPy's conversion quietens signalling NaNs; here every NaN keeps its sign
    and payload bits, moved to the top of float64's mantissa as hardware does.
    """
    with np.errstate(invalid="ignore"):
        wide = array.astype(np.float64)
    nan = np.isnan(array)
    if nan.any():
        bits = np.ascontiguousarray(array).view(np.uint32)[nan].astype(np.uint64)
        sign, payload = bits >> np.uint64(31), bits & np.uint64(0x7FFFFF)
        wide.view(np.uint64)[nan] = (sign << np.uint64(63)) | np.uint64(0x7FF0000000000000) | (payload << np.uint64(29))
    return wide
