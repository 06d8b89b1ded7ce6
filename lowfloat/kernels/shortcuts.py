"""Two nearest-even casts from float32 that take far fewer instructions than the fast path's kernel.

Both give exactly the bits of :func:`.nearest.encode_nearest` and
:func:`.nearest.quantize_nearest` (tests/test_kernel_paths.py compares every
fast path with the general kernel on every class of float32 input).  Each is
an entry point of its own in :mod:`.encode` and :mod:`.quantize` (the paths
``"binary16"`` and ``"cut_short"``), which :func:`.plan.plan` takes for float32
data to nearest even when the format's constants are those of these formats --
so a first call compiles only the loop it runs:

* **IEEE binary16 (float16) with overflow to inf**: the CPU's own
  conversion, LLVM's ``fptrunc`` to half -- on x86 F16C's ``vcvtps2ph``, one
  instruction per eight values.  It rounds to nearest even in the MXCSR's
  rounding mode, as the fast path's FPU rounding assumes too, and it is
  untouched by the flush-to-zero and denormals-are-zero flags some
  libraries set: FTZ is ignored ("underflow results are converted to
  denormals", Intel SDM, VCVTPS2PH), and DAZ only zeroes float32 subnormal
  inputs, which round to a zero of their sign anyway; the way back for
  quantize, ``vcvtph2ps``, ignores DAZ (tests/test_shortcuts.py sets both
  flags and compares).  Its NaNs keep the top of their payload; a select
  puts the canonical NaN back.  Taken only where the target has the
  instruction (:data:`HARDWARE_BINARY16`).
* **float32 cut short** (8 exponent bits, bias 127: bfloat16,
  tensorfloat32): the integer rounding of :mod:`.nearest` is exact all the
  way down and the code is the rounded bits shifted, so the FPU rounding of
  the subnormal range and the re-biasing drop out.
"""

from __future__ import annotations

import platform

import numba
import numpy as np
from llvmlite import binding, ir
from numba.core import types
from numba.extending import intrinsic, overload

from .bitcast import bitcast
from .jit import njit
from .nearest import finish_code, finish_value

__all__ = ["HARDWARE_BINARY16", "to_binary16", "from_binary16", "is_binary16", "is_cut_short", "binary16_codes",
           "binary16_values", "cut_short_codes", "cut_short_values"]  # fmt: skip


def _hardware_binary16() -> bool:
    """Whether the code Numba generates converts float32 to binary16 with one instruction (no library call)."""
    machine = platform.machine().lower()
    if machine in ("aarch64", "arm64"):
        return True  # FCVT, base ARMv8
    if machine not in ("x86_64", "amd64"):
        return False
    if numba.config.CPU_NAME:  # Numba compiles for a named CPU: trust only the features it is given
        return "+f16c" in (numba.config.CPU_FEATURES or "").split(",")
    return bool(binding.get_host_cpu_features().get("f16c", False))


#: Whether float16 casts take the CPU's conversion instruction (F16C on x86-64).
HARDWARE_BINARY16 = _hardware_binary16()


def to_binary16(value):
    """Bits (uint16) of the float32 ``value`` rounded to nearest even into binary16.

    >>> hex(to_binary16(np.float32(1 + 2**-11)))  # a tie: to even, 1.0
    '0x3c00'
    >>> hex(to_binary16(np.float32(65520.0)))  # max + ulp/2: overflows to inf
    '0x7c00'
    """
    with np.errstate(over="ignore"):
        return np.asarray(value, np.float32).astype(np.float16).view(np.uint16)[()]


def from_binary16(code):
    """The float32 value of binary16 bits ``code`` (exact).

    >>> float(from_binary16(np.uint16(0x0001)))  # the smallest subnormal, 2**-24
    5.960464477539063e-08
    """
    return np.asarray(code, np.uint16).view(np.float16).astype(np.float32)[()]


@intrinsic
def _to_binary16(typingctx, value):
    if not (isinstance(value, types.Float) and value.bitwidth == 32):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(builder.fptrunc(args[0], ir.HalfType()), ir.IntType(16))

    return types.uint16(types.float32), codegen


@intrinsic
def _from_binary16(typingctx, code):
    if not (isinstance(code, types.Integer) and code.bitwidth == 16):
        return None

    def codegen(context, builder, signature, args):
        return builder.fpext(builder.bitcast(args[0], ir.HalfType()), ir.FloatType())

    return types.float32(code), codegen


@overload(to_binary16, inline="always")
def _to_binary16_overload(value):
    return lambda value: _to_binary16(value)


@overload(from_binary16, inline="always")
def _from_binary16_overload(code):
    return lambda code: _from_binary16(code)


def is_binary16(fast) -> bool:
    """Whether :class:`.nearest.FastConstants` (float32 data) are IEEE binary16's with overflow to inf.

    Asked in Python by :func:`.plan.plan`, which then takes the ``"binary16"`` path.
    """
    return bool(
        fast.shift == 13 and fast.bias == 15 and fast.sub_exp == -24 and fast.max_mag == 0x7BFF
        and fast.big_code == 0x7C00 and fast.nan_code == 0x7E00 and fast.sign_code == 0x8000
    )  # fmt: skip


def is_cut_short(fast) -> bool:
    """Whether :class:`.nearest.FastConstants` (float32 data) are of a format whose grid is float32's cut short.

    The integer rounding is exact down to zero (``min_normal`` 0) and the
    biases agree (nothing to re-bias).  Asked in Python by :func:`.plan.plan`,
    which then takes the ``"cut_short"`` path.
    """
    return bool(fast.min_normal == 0 and fast.rebias == 0)


@njit(cache=True, nogil=True, inline="always")
def _canonical_nan(bits):
    """Whether the float32 ``bits`` are a NaN (signed compare: one SIMD instruction)."""
    return np.int32(bits & np.uint32(0x7FFFFFFF)) > np.int32(0x7F800000)


@njit(cache=True, nogil=True, inline="always")
def binary16_codes(bits, out):
    """``out[j]`` = binary16 code of the float32 bits ``bits[j]``, nearest even, NaN canonical (0x7E00, signed)."""
    for j in range(bits.size):
        x = bits[j]
        nan = np.uint16(np.uint16(np.uint32(x >> np.uint32(16)) & np.uint32(0x8000)) | np.uint16(0x7E00))
        out[j] = nan if _canonical_nan(x) else to_binary16(bitcast(x, np.float32))


@njit(cache=True, nogil=True, inline="always")
def binary16_values(bits, out):
    """``out[j]`` = bits of float32 ``bits[j]`` rounded to nearest even onto binary16's grid, NaN canonical."""
    for j in range(bits.size):
        x = bits[j]
        nan = np.uint32(np.uint32(x & np.uint32(0x80000000)) | np.uint32(0x7FC00000))
        value = bitcast(from_binary16(to_binary16(bitcast(x, np.float32))), np.uint32)
        out[j] = nan if _canonical_nan(x) else value


@njit(cache=True, nogil=True, inline="always")
def _round_cut_short(bits, fast):
    """Sign, magnitude and rounded magnitude bits: :mod:`.nearest`'s integer rounding, which is exact here."""
    shift = np.uint32(fast.shift & np.uint32(31))
    sign = np.uint32(bits & np.uint32(0x80000000))
    magnitude = np.uint32(bits ^ sign)
    lsb = np.uint32(np.uint32(magnitude >> shift) & fast.lsb_mask)
    return sign, magnitude, np.uint32(magnitude + fast.round_add + lsb), shift


@njit(cache=True, nogil=True, inline="always")
def cut_short_codes(bits, out, fast):
    """``out[j]`` = code of the float32 bits ``bits[j]`` rounded to nearest even (:func:`is_cut_short` formats)."""
    for j in range(bits.size):
        sign, magnitude, rounded, shift = _round_cut_short(bits[j], fast)
        out[j] = finish_code(np.int32(rounded >> shift), sign, magnitude, np.uint32, np.int32, fast)


@njit(cache=True, nogil=True, inline="always")
def cut_short_values(bits, out, fast):
    """``out[j]`` = bits of float32 ``bits[j]`` rounded to nearest even onto the grid (:func:`is_cut_short`)."""
    for j in range(bits.size):
        sign, magnitude, rounded, shift = _round_cut_short(bits[j], fast)
        out[j] = finish_value(np.uint32(rounded & fast.keep_mask), sign, magnitude, np.uint32, np.int32, fast)
