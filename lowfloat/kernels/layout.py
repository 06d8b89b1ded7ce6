"""The named tuples that carry a format and a rounding across the kernel boundary.

Kernels receive plain integers, never a :class:`~lowfloat.Format`: one compiled
kernel then serves every format, and the tuple is the whole contract.  Each
tuple is a :class:`typing.NamedTuple`, so a kernel reads ``lay.max_mag``, not
``lay[2]``, and the fields are defined once, here.  Numba compiles named
tuples as fast as plain ones.

* :class:`Layout` -- what a format is: its field widths and special codes.
  Formats beyond float32's range or precision get a :class:`WideLayout`,
  the same fields under another type: Numba compiles a separate
  specialization for it (:func:`is_wide` is a compile-time constant), so the
  steps only those formats need cost the float32-range formats nothing.
* :class:`Rounding` -- how a value is rounded into it: the mode's rule (from
  :data:`lowfloat.rounding.RULES`), what an infinite result becomes, FTZ, DAZ,
  stochastic rounding's bit count and the tininess of the underflow flag.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np
from numba.core import types
from numba.extending import overload

from ..formats import Format
from ..rounding import check_overflow, check_tininess, rounding_rule

__all__ = ["Layout", "WideLayout", "Rounding", "layout", "rounding", "wide", "is_wide", "FLOAT32", "FLOAT64",
           "bits_type", "width_constants"]  # fmt: skip

# Input/output widths: (sign_shift, man_bits, bias, exp_field_max) of the IEEE
# binary float whose bits the kernel reads or writes.
FLOAT32 = (31, 23, 127, 255)
FLOAT64 = (63, 52, 1023, 2047)


def width_constants(U):
    """The width tuple of the float whose bits have unsigned type ``U``.

    Inside kernels this resolves at compile time to literal constants, which
    lets LLVM prove shift amounts small and keep the float32 path in 32-bit
    SIMD lanes.
    """
    return FLOAT32 if U is np.uint32 else FLOAT64


@overload(width_constants, inline="always")
def _width_constants_overload(U):
    # Numba freezes global tuples into the compiled code as constants
    if U.instance_type == types.uint32:
        return lambda U: FLOAT32
    return lambda U: FLOAT64


def bits_type(dtype) -> type:
    """The unsigned integer type that holds the bits of float32 or float64 data."""
    return np.uint32 if np.dtype(dtype) == np.float32 else np.uint64


class Layout(NamedTuple):
    """A format as the kernels see it: codes and their meaning (every field an int64)."""

    man_bits: int  # m: stored mantissa bits
    bias: int  # exponent bias
    max_mag: int  # code of the largest finite magnitude
    inf_mag: int  # code of +inf, or 2**bits + 1 where there is none (above every magnitude, the no-NaN 2**bits too)
    sign_code: int  # the sign bit as a code, 0 for unsigned formats
    nan_pos: int  # NaN code for a positive NaN (2**bits where there is no NaN)
    nan_neg: int  # NaN code for a negative NaN (every negative value of an unsigned format)
    no_neg_zero: int  # 1 for fnuz: -0 becomes +0, the code sign_code alone is NaN
    sub_exp: int  # a subnormal code c has value c * 2**sub_exp (E8M0: field 0 is 1 * 2**sub_exp)
    unsigned: int  # 1 for E8M0-style formats: no sign, no zero, field 0 normal
    has_nan: int  # 0 for formats without NaN (fp4, fp6): a NaN input is invalid there


class WideLayout(Layout):
    """The :class:`Layout` of a format beyond float32's range or precision (see :func:`wide`).

    Codes of up to 64 bits: fields that do not fit an int64 (float64's sign
    bit, the no-code sentinels of 63-bit formats) hold their value modulo
    2**64, which the kernels' wrapping casts read back as the same bits.
    """

    __slots__ = ()


def wide(fmt: Format) -> bool:
    """Whether a format reaches beyond float32's normal range or precision.

    That is ``emax > 127``, ``man_bits > 23`` or a smallest normal below
    ``2**-126`` (E8M0's ``2**-127`` aside, which the kernels have always
    handled).  The kernels round such formats from float64 data only (float32
    data is widened first, exactly) and decode them with the extra steps of
    a :class:`WideLayout`: inputs and values below the float's normal range
    taken apart exactly, significands of up to 53 bits.
    """
    return fmt.emax > 127 or fmt.man_bits > 23 or fmt.emin < (-126 if fmt.signed else -127)


def is_wide(lay) -> bool:
    """Whether a layout tuple is a :class:`WideLayout`: a constant inside compiled kernels."""
    return isinstance(lay, WideLayout)


@overload(is_wide, inline="always")
def _is_wide_overload(lay):
    if getattr(lay, "instance_class", None) is WideLayout:
        return lambda lay: True
    return lambda lay: False


class Rounding(NamedTuple):
    """How values move onto the grid: flags, so that kernels select instead of branching (every field an int64)."""

    nearest: int  # 1 for the round-to-nearest modes
    tie_away: int  # nearest: 1 if ties go away from zero, 0 if to even
    up_pos: int  # directed: 1 if inexact positive values round away from zero
    up_neg: int  # directed: 1 if inexact negative values round away from zero
    stochastic: int  # 1 for stochastic rounding
    big_pos: int  # code of a positive *infinite result* under the overflow policy
    big_neg: int  # code of a negative infinite result
    ftz: int  # 1: results in the target's subnormal range become zero
    daz: int  # 1: subnormal inputs (of the input's float type) count as zero
    sr_bits: int  # stochastic: random bits compared with the discarded ones (64: all the lane has)
    tiny_before: int  # underflow flag: 1 if tininess is decided before rounding, 0 after


def _int64s(cls, values):
    # NumPy integers, which Numba types exactly as Python ints (int64): with the JIT
    # disabled, the kernels' casts of them then wrap as compiled casts do, where a
    # Python int out of range (a float32 format's sign bit as int32) would raise.
    # Values from 2**63 (only 63- and 64-bit formats have them) are kept modulo 2**64.
    return cls(*(np.int64(v - (1 << 64) if v >= 1 << 63 else v) for v in values))


@cache
def layout(fmt: Format) -> Layout:
    """The :class:`Layout` of a format (cached): a :class:`WideLayout` where :func:`wide` says so."""
    no_code = 1 << fmt.bits
    sign = fmt.sign_code
    if fmt.specials in ("ieee", "fn"):
        nan_pos, nan_neg = fmt.nan_code, fmt.nan_code | sign
    elif fmt.specials == "fnuz":
        nan_pos = nan_neg = fmt.nan_code
    else:
        nan_pos, nan_neg = no_code, no_code | sign
    if not fmt.signed:
        nan_neg = fmt.nan_code  # no negative values: every negative result is NaN
    return _int64s(WideLayout if wide(fmt) else Layout, (
        fmt.man_bits,
        fmt.bias,
        fmt.max_code_magnitude,
        fmt.inf_code_magnitude if fmt.has_inf else no_code + 1,
        sign,
        nan_pos,
        nan_neg,
        int(fmt.specials == "fnuz"),
        fmt.emin - fmt.man_bits if fmt.has_zero else fmt.emin,
        int(not fmt.signed),
        int(fmt.has_nan),
    ))  # fmt: skip


@cache
def rounding(fmt: Format, mode: str = "nearest_even", overflow=None, ftz: bool = False, daz: bool = False,
             sr_bits=None, tininess: str = "after") -> Rounding:  # fmt: skip
    """The :class:`Rounding` of a mode, overflow policy and flags in a format (cached)."""
    rule = rounding_rule(mode, fmt)
    policy = check_overflow(fmt, overflow)
    lay = layout(fmt)
    sign = fmt.sign_code
    if policy == "saturate":
        big_pos, big_neg = fmt.max_code_magnitude, sign | fmt.max_code_magnitude
    elif policy == "inf":
        big_pos, big_neg = fmt.inf_code_magnitude, sign | fmt.inf_code_magnitude
    else:
        big_pos, big_neg = lay.nan_pos, lay.nan_neg
    if not fmt.signed:
        big_neg = fmt.nan_code
    return _int64s(Rounding, (
        rule.nearest,
        rule.ties == "away",
        rule.up_positive,
        rule.up_negative,
        rule.stochastic,
        big_pos,
        big_neg,
        bool(ftz) and fmt.has_subnormals,
        bool(daz),
        64 if sr_bits is None else int(sr_bits),
        check_tininess(tininess) == "before",
    ))  # fmt: skip
