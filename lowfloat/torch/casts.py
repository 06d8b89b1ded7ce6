"""encode, decode and quantize for PyTorch CPU tensors.

The NumPy functions :func:`lowfloat.encode`, :func:`lowfloat.decode` and
:func:`lowfloat.quantize` do the rounding; this module reads tensors exactly
(:mod:`lowfloat.interop`: a view of a float16/32/64 or integer tensor, the
decoded bits of a bfloat16 or FP8 one) and writes the results straight into
the memory of the tensor it returns, so that a float32 or float64 tensor is
never copied and ``out=`` may be the input itself.  Every keyword option of
the NumPy functions (``rounding``, ``overflow``, ``ftz``, ``daz``, ``rng``,
``sr_bits``, ``flags``, ``tininess``) passes through unchanged; ``flags=``
may be a ``torch.uint8`` tensor.

The dtype rule
--------------
:func:`quantize` returns a tensor of the input's dtype and :func:`decode` one
of the dtype asked for -- but only where every value the format can produce is
a value of that dtype: more significand bits, a range at least as wide, and
the format's infinities, zeros and signed zeros.  Then the result is exactly
the rounded value, stored without a second rounding.  Where it is not (float16
values in a bfloat16 tensor: 11 significand bits in 8), the call is refused
with a ValueError naming the reason; pass ``dtype=torch.float32`` (which holds
every format's values) to get them.  Integer tensors quantize into float32
(float64 for a format whose values float32 cannot all hold).
A NaN result in a dtype without NaN (``float4_e2m1fn_x2``) is refused too.

Results do not require grad: these are casts, not autograd operations.  An
``out=`` tensor is written in place, and its version counter is advanced as
PyTorch's own in-place operations do, so autograd notices the change.
"""

from __future__ import annotations

import types

import numpy as np
import torch

from .. import codec
from ..formats import get_format
from ..interop import (
    TORCH_FORMATS,
    numpy_view,
    readable_tensor,
    tensor_bits,
    tensor_values_layout,
    torch_dtype_name,
    unpack_nibbles,
)

__all__ = ["quantize", "encode", "decode", "holds"]

# float64 as the attributes of a Format that holds() reads: wider than every lowfloat format
_FLOAT64 = types.SimpleNamespace(
    name="float64",
    precision_bits=53,
    smallest_subnormal=float(np.finfo(np.float64).smallest_subnormal),
    max=float(np.finfo(np.float64).max),
    signed=True,
    has_zero=True,
    has_negative_zero=True,
    has_inf=True,
    has_nan=True,
)

# lowfloat's code dtypes and the torch dtypes of the same integers
_CODE_DTYPES = {np.dtype(np.uint8): torch.uint8, np.dtype(np.uint16): torch.uint16, np.dtype(np.uint32): torch.uint32}

_PACKED = torch.float4_e2m1fn_x2  # two FP4 codes a byte, the first in the low nibble


def _grid(dtype):
    """The format whose values a floating torch dtype holds (a Format, or float64's stand-in); None otherwise."""
    name = torch_dtype_name(dtype)
    if name == "float64":
        return _FLOAT64
    if name in ("float32", "float16"):
        return get_format(name)
    if name in TORCH_FORMATS:
        return get_format(TORCH_FORMATS[name])
    return None


def _misfit(container, fmt) -> str | None:
    """Why some value of ``fmt`` is not a value of ``container``; None if every one is."""
    if fmt.precision_bits > container.precision_bits:
        return f"{fmt.name} has {fmt.precision_bits} significand bits, {container.name} {container.precision_bits}"
    if fmt.smallest_subnormal < container.smallest_subnormal:
        return (
            f"{fmt.name} reaches {fmt.smallest_subnormal:g}, below {container.name}'s {container.smallest_subnormal:g}"
        )
    if fmt.max > container.max:
        return f"{fmt.name} reaches {fmt.max:g}, beyond {container.name}'s {container.max:g}"
    if fmt.signed and not container.signed:
        return f"{fmt.name} has negative values, {container.name} none"
    if fmt.has_zero and not container.has_zero:
        return f"{fmt.name} has zero, {container.name} not"
    if fmt.has_negative_zero and not container.has_negative_zero:
        return f"{fmt.name} has -0, {container.name} not"
    if fmt.has_inf and not container.has_inf:
        return f"{fmt.name} has infinities, {container.name} not"
    return None


def holds(dtype, fmt) -> bool:
    """Whether every value of ``fmt`` -- zeros, signed zeros and infinities included -- is a value of ``dtype``.

    A value of a binary format is an integer of at most ``precision_bits``
    bits times a power of two no smaller than the smallest subnormal, no
    larger than the largest finite value; so one format's values are all
    values of another exactly when it has no more significand bits, no
    smaller quantum and no larger maximum (and the sign, zero, -0 and
    infinities it needs).

    Parameters
    ----------
    dtype : torch.dtype
    fmt : Format or str

    Examples
    --------
    >>> import torch
    >>> from lowfloat.torch import holds
    >>> holds(torch.bfloat16, "e4m3"), holds(torch.bfloat16, "fp16"), holds(torch.float16, "e8m0")
    (True, False, False)
    """
    container = _grid(dtype)
    return container is not None and _misfit(container, get_format(fmt)) is None


# ------------------------------------------------------------------------------------- helpers


def _input_tensor(x, function):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}; lowfloat.{function} takes NumPy arrays")
    return readable_tensor(x, "x")


def _check_dtype(dtype, fmt, action):
    """``dtype`` if it is a floating torch dtype that holds every value of ``fmt``, else a ValueError saying why."""
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {dtype!r}")
    container = _grid(dtype)
    if container is None:
        raise ValueError(f"dtype must be a floating torch dtype, got {dtype}")
    reason = _misfit(container, fmt)
    if reason is not None:
        raise ValueError(
            f"a {dtype} tensor cannot hold every {fmt.name} value ({reason}), so {action} would round twice; "
            f"pass dtype={_wide_enough(fmt)}"
        )
    return dtype


def _wide_enough(fmt):
    """float32 if it holds every value of ``fmt``, else float64."""
    return torch.float32 if _misfit(get_format("float32"), fmt) is None else torch.float64


def _packed_shape(shape, what):
    """The shape of a float4_e2m1fn_x2 tensor holding values of ``shape``: two a byte along the last axis."""
    if not shape or shape[-1] % 2:
        raise ValueError(f"{what} of shape {tuple(shape)} cannot be packed two to a byte along its last axis")
    return tuple(shape[:-1]) + (shape[-1] // 2,)


def _check_writable(tensor, name):
    """Refuse a tensor lowfloat cannot write into through NumPy, naming why."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.device.type != "cpu" or tensor.layout != torch.strided:
        raise ValueError(f"{name} must be a dense CPU tensor, got one on {tensor.device} ({tensor.layout})")
    if tensor.requires_grad:
        raise ValueError(
            f"{name} requires grad; lowfloat's casts are not recorded by autograd -- pass {name}.detach()"
        )
    if tensor.is_neg() or tensor.is_conj():
        raise ValueError(f"{name} is a lazily negated view, which NumPy cannot write through")


def _result(out, shape, dtype):
    """A tensor to write into: ``out`` (checked) or a new one."""
    if out is None:
        return torch.empty(shape, dtype=dtype)
    _check_writable(out, "out")
    if out.dtype != dtype:
        raise ValueError(f"out has dtype {out.dtype}, expected {dtype}")
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"out has shape {tuple(out.shape)}, expected {tuple(shape)}")
    return out


def _numpy_options(options):
    """The keyword options for the NumPy function, a ``flags=`` tensor replaced by a view of its memory."""
    flags = options.get("flags")
    if isinstance(flags, torch.Tensor):
        _check_writable(flags, "flags")
        options = {**options, "flags": numpy_view(flags, "flags")}
    return options


def _done(result, out, options=None):
    """``result``, after advancing the version counter of every tensor written in place, as PyTorch does."""
    for written in (out, (options or {}).get("flags")):
        if isinstance(written, torch.Tensor):
            torch.autograd.graph.increment_version(written)
    return result


def _store(values: np.ndarray, result) -> None:
    """Write float values, every one a value of ``result``'s dtype, into ``result``'s memory (exactly)."""
    if result.dtype in (torch.float32, torch.float64):
        result.numpy()[...] = values  # exact: the values are values of the dtype
        return
    fmt = _grid(result.dtype)
    if not fmt.has_nan and values.size and np.isnan(values).any():
        raise ValueError(f"the result holds NaN, which a {result.dtype} tensor cannot hold")
    if result.dtype == _PACKED:
        _pack_into(codec.encode(values, fmt), result)
    else:
        codec.encode(values, fmt, out=tensor_bits(result))  # exact: nothing to round


def _pack_into(codes: np.ndarray, result) -> None:
    """FP4 codes of shape (..., 2n) into the bytes of a float4_e2m1fn_x2 tensor of shape (..., n)."""
    bits = tensor_bits(result)
    np.bitwise_or(codes[..., 0::2], np.left_shift(codes[..., 1::2], np.uint8(4)), out=bits)


def _code_array(codes, fmt):
    """The codes a tensor holds as a NumPy array: its integers, or the bits of a tensor of fmt's own dtype."""
    tensor = readable_tensor(codes, "codes")
    if tensor.dtype.is_floating_point:
        if _grid(tensor.dtype) != fmt:
            raise ValueError(
                f"codes has dtype {tensor.dtype}: expected integer codes, or a tensor whose dtype is {fmt.name} "
                "itself; use lowfloat.torch.quantize or encode for values"
            )
        bits = tensor_bits(tensor)
        return unpack_nibbles(bits, "codes") if tensor.dtype == _PACKED else bits
    if tensor.dtype == torch.bool:
        raise ValueError("codes must be integers, got dtype torch.bool")
    return numpy_view(tensor, "codes")


# ------------------------------------------------------------------------------------ the casts


def quantize(x, fmt, *, dtype=None, out=None, **options):
    """Round a tensor's values once onto a format's grid; a tensor of the same shape and dtype comes back.

    Parameters
    ----------
    x : torch.Tensor
        On the CPU, any floating or integer dtype (bfloat16, FP8 and
        ``float4_e2m1fn_x2`` included), any strides; a ``requires_grad``
        tensor is read through ``detach()`` (no copy).
    fmt : Format or str
    dtype : torch.dtype, optional
        The result's dtype: ``x.dtype`` by default (float32 for integer
        tensors, or float64 where float32 cannot hold the format).  Must
        hold every value of ``fmt`` (see the module docstring);
        ``float4_e2m1fn_x2`` packs the last axis two to a byte.
    out : torch.Tensor, optional
        A CPU tensor of the result's shape and dtype to write into; may be
        ``x`` itself.  Must not require grad.
    **options
        Every keyword option of :func:`lowfloat.quantize`: ``rounding``,
        ``overflow``, ``ftz``, ``daz``, ``rng``, ``sr_bits``, ``flags`` (a
        ``torch.uint8`` tensor or a NumPy array), ``tininess``.

    Returns
    -------
    torch.Tensor
        ``out`` if given.  For a float32 or float64 result the kernel writes
        into the tensor's memory directly.

    Raises
    ------
    TypeError
        ``x`` is not a CPU tensor of a real dtype.
    ValueError
        ``dtype`` cannot hold every value of ``fmt``; a bad ``out``; the
        errors of :func:`lowfloat.quantize`.

    Examples
    --------
    >>> import torch, lowfloat.torch as lft
    >>> q = lft.quantize(torch.tensor([0.1, 464.0, 500.0], dtype=torch.bfloat16), "e4m3")
    >>> q.dtype, q.tolist()                                                       # stays bfloat16
    (torch.bfloat16, [0.1015625, 448.0, nan])
    >>> w = torch.tensor([0.1, 1 / 3])
    >>> lft.quantize(w, "fp16", out=w) is w                                       # in place
    True
    >>> w.tolist()
    [0.0999755859375, 0.333251953125]
    >>> lft.quantize(torch.tensor([1.0]), "fp16", dtype=torch.bfloat16)
    Traceback (most recent call last):
    ...
    ValueError: a torch.bfloat16 tensor cannot hold every float16 value (float16 has 11 significand bits, ...
    """
    fmt = get_format(fmt)
    tensor = _input_tensor(x, "quantize")
    if dtype is None:
        dtype = tensor.dtype if tensor.dtype.is_floating_point else _wide_enough(fmt)
    _check_dtype(dtype, fmt, "quantize")
    # the NumPy function reads the tensor itself (so that daz= knows its format): a view of float16/32/64 and
    # integer memory, decoded bfloat16 and FP8; it returns float32 for float32 values, float64 for the rest
    shape, read_as = tensor_values_layout(tensor, "x")
    result = _result(out, _packed_shape(shape, "x") if dtype == _PACKED else shape, dtype)
    numpy_options = _numpy_options(options)
    if result.dtype == (torch.float32 if read_as == np.float32 else torch.float64):
        codec.quantize(tensor, fmt, out=result.numpy(), **numpy_options)  # the kernel writes into the tensor
    else:
        _store(np.asarray(codec.quantize(tensor, fmt, **numpy_options)), result)
    return _done(result, out, options)


def encode(x, fmt, *, dtype=None, out=None, **options):
    """Round a tensor's values once into a format and return their codes as a tensor.

    Parameters
    ----------
    x : torch.Tensor
        As for :func:`quantize`.
    fmt : Format or str
    dtype : torch.dtype, optional
        The codes' dtype.  By default ``torch.uint8``, ``torch.uint16`` or
        ``torch.uint32`` -- lowfloat's code dtypes, the same numbers as
        :func:`lowfloat.encode` (PyTorch's uint16/uint32 support few
        operations: pass ``torch.int32`` or ``torch.int64`` for arithmetic on
        codes).  Any integer dtype that holds every code works, and so does
        the torch dtype that *is* ``fmt`` (``torch.float8_e4m3fn`` for
        ``"e4m3"``, ``torch.bfloat16``, ``torch.float4_e2m1fn_x2`` for
        ``"fp4"``, packing the last axis two to a byte): then the codes are
        that tensor's bits, a cast with any rounding mode.
    out : torch.Tensor, optional
        A CPU tensor of the codes' shape and dtype to write into.
    **options
        Every keyword option of :func:`lowfloat.encode`, as for :func:`quantize`.

    Returns
    -------
    torch.Tensor
        Same shape as ``x`` (the last axis halved for ``float4_e2m1fn_x2``).

    Raises
    ------
    TypeError, ValueError
        As for :func:`quantize`; a ``dtype`` that cannot hold the codes.

    Examples
    --------
    >>> import torch, lowfloat.torch as lft
    >>> x = torch.tensor([0.1, 448.0, 464.0, 465.0])
    >>> lft.encode(x, "e4m3")
    tensor([ 29, 126, 126, 127], dtype=torch.uint8)
    >>> fp8 = lft.encode(x, "e4m3", dtype=torch.float8_e4m3fn, rounding="toward_zero")   # a cast, any mode
    >>> fp8.dtype, fp8.float().tolist()
    (torch.float8_e4m3fn, [0.09375, 448.0, 448.0, 448.0])
    """
    fmt = get_format(fmt)
    tensor = _input_tensor(x, "encode")
    if dtype is None:
        dtype = _CODE_DTYPES[fmt.code_dtype]
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {dtype!r}")
    shape, _ = tensor_values_layout(tensor, "x")
    numpy_options = _numpy_options(options)
    if dtype.is_floating_point:
        if _grid(dtype) != fmt:
            raise ValueError(f"a {dtype} tensor does not hold {fmt.name} codes; pass an integer dtype")
        result = _result(out, _packed_shape(shape, "x") if dtype == _PACKED else shape, dtype)
        if dtype == _PACKED:
            _pack_into(codec.encode(tensor, fmt, **numpy_options), result)
        else:
            codec.encode(tensor, fmt, out=tensor_bits(result), **numpy_options)  # the kernel writes the bits
        return _done(result, out, options)
    if dtype == torch.bool or dtype.is_complex or torch.iinfo(dtype).max < (1 << fmt.bits) - 1:
        raise ValueError(f"a {dtype} tensor cannot hold every {fmt.name} code (0..{(1 << fmt.bits) - 1})")
    result = _result(out, shape, dtype)
    target = result.numpy()
    if target.dtype == fmt.code_dtype:
        codec.encode(tensor, fmt, out=target, **numpy_options)
    else:
        target[...] = codec.encode(tensor, fmt, **numpy_options)
    return _done(result, out, options)


def decode(codes, fmt, *, dtype=torch.float32, out=None):
    """Return the exact values of codes held in a tensor.

    Parameters
    ----------
    codes : torch.Tensor
        Integer codes in ``0 .. 2**fmt.bits - 1`` (any integer dtype), or a
        tensor whose dtype is ``fmt`` itself (its bits are the codes; a
        ``float4_e2m1fn_x2`` tensor of shape ``(..., n)`` holds ``(..., 2n)``).
    fmt : Format or str
    dtype : torch.dtype, optional
        The values' dtype, float32 by default; any floating dtype that holds
        every value of ``fmt``.
    out : torch.Tensor, optional
        A CPU tensor of the values' shape and ``dtype`` to write into.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    TypeError, ValueError
        As for :func:`lowfloat.decode`; a ``dtype`` that cannot hold every
        value of ``fmt``.

    Examples
    --------
    >>> import torch, lowfloat.torch as lft
    >>> lft.decode(torch.tensor([0x1D, 0x7E, 0x7F, 0xFE], dtype=torch.uint8), "e4m3")
    tensor([ 0.1016, 448.0000,      nan, -448.0000])
    >>> lft.decode(torch.tensor([0x1D, 0xFE]), "e4m3", dtype=torch.bfloat16)
    tensor([   0.1016, -448.0000], dtype=torch.bfloat16)
    """
    fmt = get_format(fmt)
    if not isinstance(codes, torch.Tensor):
        raise TypeError(f"codes must be a torch.Tensor, got {type(codes).__name__}; lowfloat.decode takes NumPy arrays")
    array = _code_array(codes, fmt)
    _check_dtype(dtype, fmt, "decode")
    shape = _packed_shape(array.shape, "codes") if dtype == _PACKED else array.shape
    result = _result(out, shape, dtype)
    if dtype in (torch.float32, torch.float64):
        target = result.numpy()
        codec.decode(array, fmt, dtype=target.dtype, out=target)  # into the tensor's memory
    else:
        _store(np.asarray(codec.decode(array, fmt, dtype=np.float64)), result)
    return _done(result, out)
