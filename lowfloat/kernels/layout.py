"""The small tuples that carry a format and an input width across the kernel boundary.

Kernels receive plain integers, never a :class:`~lowfloat.Format`: one compiled
kernel then serves every format, and the tuple is the whole contract.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numba.core import types
from numba.extending import overload

from ..formats import Format
from ..rounding import (
    NEAREST_AWAY,
    NEAREST_EVEN,
    STOCHASTIC,
    TOWARD_NEGATIVE,
    TOWARD_POSITIVE,
    check_overflow,
    rounding_id,
)

__all__ = [
    "Layout",
    "layout",
    "DEFAULT_ROUNDING",
    "STOCHASTIC_ROUNDING",
    "FLOAT32",
    "FLOAT64",
    "bits_type",
    "width_constants",
]

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


# Field order of the layout tuple; each kernel unpacks it in this order.
Layout = tuple
FIELDS = (
    "man_bits",  # m: stored mantissa bits
    "bias",  # exponent bias
    "max_mag",  # code of the largest finite magnitude
    "inf_mag",  # code of +inf, or 2**bits + 1 where there is none (above every magnitude, the no-NaN 2**bits too)
    "sign_code",  # the sign bit as a code, 0 for unsigned formats
    "nan_pos",  # NaN code for a positive NaN (2**bits where there is no NaN)
    "nan_neg",  # NaN code for a negative NaN
    "big_pos",  # code of a positive *infinite result* under the overflow policy
    "big_neg",  # code of a negative infinite result
    "no_neg_zero",  # 1 for fnuz: -0 becomes +0, the code sign_code alone is NaN
    "sub_exp",  # a subnormal code c has value c * 2**sub_exp (E8M0: field 0 is 1 * 2**sub_exp)
)

# Field order of the rounding tuple: how values move onto the grid, as flags
# so that kernels select instead of branching.
ROUNDING_FIELDS = (
    "unsigned",  # 1 for E8M0-style formats: no sign, no zero, field 0 normal
    "nearest",  # 1 for the round-to-nearest modes
    "tie_away",  # nearest: 1 if ties go away from zero, 0 if to even
    "up_pos",  # directed: 1 if inexact positive values round away from zero
    "up_neg",  # directed: 1 if inexact negative values round away from zero
    "stochastic",  # 1 for stochastic rounding
    "ftz",  # 1: results in the target's subnormal range become zero
    "daz",  # 1: subnormal inputs (of the input's float type) count as zero
    "sr_bits",  # stochastic: random bits compared with the discarded ones (64: exact)
)

#: The rounding tuple of nearest-even into a signed format.  Kernels test for
#: it and run a loop where it is a compile-time constant, which LLVM folds.
DEFAULT_ROUNDING = (0, 1, 0, 0, 0, 0, 0, 0, 64)

#: The rounding tuple of plain stochastic rounding into a signed format: the
#: stochastic fast path (lowfloat/kernels/stochastic.py) serves it.
STOCHASTIC_ROUNDING = (0, 0, 0, 0, 0, 1, 0, 0, 64)


@cache
def layout(
    fmt: Format, rounding: str = "nearest_even", overflow=None, ftz: bool = False, daz: bool = False, sr_bits=None
) -> tuple[Layout, tuple]:
    """Build (and cache) the layout and rounding tuples for a format, mode, overflow policy and flags."""
    mode = rounding_id(rounding)
    policy = check_overflow(fmt, overflow)
    no_code = 1 << fmt.bits
    sign = fmt.sign_code
    inf_mag = fmt.inf_code_magnitude if fmt.has_inf else no_code + 1
    if fmt.specials in ("ieee", "fn"):
        nan_pos, nan_neg = fmt.nan_code, fmt.nan_code | sign
    elif fmt.specials == "fnuz":
        nan_pos = nan_neg = fmt.nan_code
    else:
        nan_pos, nan_neg = no_code, no_code | sign
    if policy == "saturate":
        big_pos, big_neg = fmt.max_code_magnitude, sign | fmt.max_code_magnitude
    elif policy == "inf":
        big_pos, big_neg = inf_mag, sign | inf_mag
    else:
        big_pos, big_neg = nan_pos, nan_neg
    if not fmt.signed:
        # no negative values: every negative result is NaN
        big_neg = nan_neg = fmt.nan_code
        if mode == NEAREST_EVEN:
            mode = NEAREST_AWAY  # E8M0 rounds ties up (ml_dtypes, PyTorch)
    lay = (
        fmt.man_bits,
        fmt.bias,
        fmt.max_code_magnitude,
        inf_mag,
        sign,
        nan_pos,
        nan_neg,
        big_pos,
        big_neg,
        int(fmt.specials == "fnuz"),
        fmt.emin - fmt.man_bits if fmt.has_zero else fmt.emin,
    )
    rnd = (
        int(not fmt.signed),
        int(mode in (NEAREST_EVEN, NEAREST_AWAY)),
        int(mode == NEAREST_AWAY),
        int(mode == TOWARD_POSITIVE),
        int(mode == TOWARD_NEGATIVE),
        int(mode == STOCHASTIC),
        int(bool(ftz) and fmt.has_subnormals),
        int(bool(daz)),
        64 if sr_bits is None else int(sr_bits),
    )
    # NumPy integers, which Numba types exactly as Python ints (int64): with the JIT
    # disabled, the kernels' casts of them then wrap as compiled casts do, where a
    # Python int out of range (a float32 format's sign bit as int32) would raise
    return tuple(np.int64(v) for v in lay), tuple(np.int64(v) for v in rnd)
