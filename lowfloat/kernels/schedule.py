"""What a matmul's operands allow its accumulation loops to skip: decided once per call, from one scan.

A rounded-accumulation matmul (:mod:`.matmul`) may run three ways that give
the same bits (see its module docstring): in float32 lanes, with the
unchecked grid rounding, or with every check.  Which ones are exact depends
on the accumulator's format and on the operands' values, so before a call
one pass over ``a`` and one over ``b`` (:func:`operand_range`) finds, for
each, the smallest and largest exponent of its nonzero finite values, the
union of their significand bits and whether any is inf or NaN.  From these
bounds, :func:`schedule` proves (or fails to prove) three things for every
product and every partial sum at once:

* ``narrow``: every product ``a[i, t] * b[t, j]`` is exact in float32 -- the
  significands have at most 24 bits together and no product leaves
  float32's range (its lowest bit not below ``2**-149``, its top below ``2**128``);
* ``bounded``: no partial sum overflows the accumulator and none is inf or
  NaN.  A partial sum of ``c`` products (``c`` the promotion interval) is at
  most ``c * max|a| * max|b| * (1 + 2**-m)**c``: each rounding moves a
  normal value by less than one ulp, ``2**-m`` of it, ``m`` the format's
  mantissa bits;
* ``normal``: no partial sum is nonzero and below the accumulator's
  smallest normal ``2**emin``.  Every product is a multiple of
  ``g = 2**(low_a + low_b)`` (``low``: the exponent of the lowest significand
  bit any value has) and at least ``L = 2**(emin_a + emin_b)`` if nonzero;
  by induction every partial sum is 0 or normal: a sum ``acc + term`` of
  magnitude below ``|term| / 2`` has ``|acc| > L / 2``, so both addends are
  multiples of ``min(g, 2**(log2(L) - 1 - m))``, and so is the sum.  With
  that quantum at least ``2**emin``, a nonzero sum is normal.

A flag that cannot be proved is simply off: the loop then checks.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..formats import BUILTIN_FORMATS, Format
from .jit import njit
from .nearest import FastConstants, fast_constants

__all__ = ["Schedule", "schedule", "operand_range"]

_FLOAT32_BIAS, _FLOAT32_MAN, _FLOAT32_EMIN_LOW = 127, 23, -149  # 2**-149: float32's smallest subnormal


class Schedule(NamedTuple):
    """One matmul call's accumulation: the promotion interval, DAZ, and what the operands allow."""

    chunk: int  # products per partial sum (K without promotion)
    promote: int  # 1: each finished partial sum is added into a float32 total (nearest even)
    flush_below: float  # DAZ: addends below this count as zeros of their sign (0: none)
    narrow: int  # 1: every product is exact in float32
    bounded: int  # 1: every operand is finite and no partial sum can overflow the accumulator
    normal: int  # 1: no partial sum is nonzero and below the accumulator's smallest normal
    probe: np.float32  # a float32 subnormal: the kernel checks its thread's FPU keeps it (see matmul)
    promotion: FastConstants  # float32's nearest-even constants, from float64 (the promotion's rounding)


@njit(cache=True, nogil=True)
def operand_range(bits):
    """``(exp_min, exp_max, significands)`` of float32 values given as uint32 bits, 1-D.

    ``exp_min``: the smallest exponent field of a nonzero finite value (255
    if there is none; 0 if one is subnormal); ``exp_max``: the largest
    exponent field (255 if any value is inf or NaN); ``significands``: the
    bitwise OR of the nonzero finite values' significands, implicit bit
    included (its lowest set bit is the lowest any value has).
    """
    exp_min = np.uint32(255)
    exp_max = np.uint32(0)
    significands = np.uint32(0)
    for x in bits:
        magnitude = np.uint32(x & np.uint32(0x7FFFFFFF))
        exp_field = np.uint32(magnitude >> np.uint32(23))
        counted = (magnitude != np.uint32(0)) & (exp_field != np.uint32(255))
        implicit = np.uint32(0x800000) if exp_field != np.uint32(0) else np.uint32(0)
        significand = np.uint32(np.uint32(magnitude & np.uint32(0x7FFFFF)) | implicit)
        significands = np.uint32(significands | (significand if counted else np.uint32(0)))
        exp_min = min(exp_min, exp_field if counted else np.uint32(255))
        exp_max = max(exp_max, exp_field)
    return exp_min, exp_max, significands


class _Range(NamedTuple):
    """One operand's bounds (exponents unbiased): ``2**low_exp`` divides every value, none reaches ``2**high_exp``."""

    finite: bool
    nonzero: bool  # some value is nonzero and finite
    subnormal: bool  # some value is a float32 subnormal
    min_exp: int  # every nonzero finite value is at least 2**min_exp
    high_exp: int  # every finite value is below 2**high_exp
    low_exp: int  # every finite value is a multiple of 2**low_exp
    width: int  # significant bits of the widest significand


def _range(x: np.ndarray) -> _Range:
    exp_min, exp_max, significands = (int(v) for v in operand_range(x.reshape(-1).view(np.uint32)))
    nonzero = exp_min != 255
    trailing = (significands & -significands).bit_length() - 1 if significands else 0
    min_exp = exp_min - _FLOAT32_BIAS
    return _Range(
        finite=exp_max != 255,
        nonzero=nonzero,
        subnormal=nonzero and exp_min == 0,
        min_exp=min_exp,
        high_exp=min(exp_max, 254) - _FLOAT32_BIAS + 1,
        low_exp=max(min_exp, 1 - _FLOAT32_BIAS) - _FLOAT32_MAN + trailing,
        width=_FLOAT32_MAN + 1 - trailing,
    )


_PROMOTION = fast_constants(BUILTIN_FORMATS["float32"], None, np.float64)
_PROBE = np.float32(2.0**-149)


def schedule(a: np.ndarray, b: np.ndarray, fmt: Format, chunk: int, promote: bool, flush_below: float) -> Schedule:
    """The :class:`Schedule` of ``a @ b`` (float32, C-contiguous) accumulated in ``fmt``, ``chunk`` products a sum.

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> from lowfloat.kernels.schedule import schedule
    >>> ones = np.ones((4, 2), np.float32)
    >>> s = schedule(np.ones((2, 4), np.float32), ones, lf.get_format("bf16"), 4, False, 0.0)
    >>> s.narrow, s.bounded, s.normal
    (1, 1, 1)
    >>> full = np.full((2, 4), 1 + 2**-23, np.float32)  # 24 significant bits: the products need 47
    >>> schedule(full, ones, lf.get_format("bf16"), 4, False, 0.0).narrow
    0
    >>> tiny = np.full((2, 4), 2**-20, np.float32)  # products below float16's smallest normal, 2**-14
    >>> schedule(tiny, ones, lf.get_format("fp16"), 4, False, 0.0).normal
    0
    >>> big = np.full((2, 4), 2**14, np.float32)  # four products of 2**14 pass float16's max
    >>> schedule(big, ones, lf.get_format("fp16"), 4, False, 0.0).bounded
    0
    """
    ra, rb = _range(a), _range(b)
    finite = ra.finite and rb.finite
    if not (ra.nonzero and rb.nonzero):  # every finite product is zero: exact, bounded and never tiny
        narrow, bounded, normal = True, finite, True
    else:
        narrow = (not (ra.subnormal or rb.subnormal) and ra.width + rb.width <= _FLOAT32_MAN + 1
                  and ra.low_exp + rb.low_exp >= _FLOAT32_EMIN_LOW and ra.high_exp + rb.high_exp <= 128)  # fmt: skip
        m = fmt.man_bits
        growth = chunk * math.log2(1 + 2.0**-m)  # log2 of (1 + 2**-m)**chunk
        bounded = finite and math.log2(chunk) + ra.high_exp + rb.high_exp + growth < math.log2(fmt.max)
        quantum = min(ra.low_exp + rb.low_exp, ra.min_exp + rb.min_exp - 1 - m)
        normal = not (ra.subnormal or rb.subnormal) and quantum >= fmt.emin
    return Schedule(
        chunk=int(chunk),
        promote=int(promote),
        flush_below=float(flush_below),
        narrow=int(narrow),
        bounded=int(bounded),
        normal=int(normal),
        probe=_PROBE,
        promotion=_PROMOTION,
    )
