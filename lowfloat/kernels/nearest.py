"""The round-to-nearest-even fast path for signed formats.

Rounding to nearest even is what almost every call asks for, so it gets its
own, shorter element kernel (about half the instructions of the general one
in :mod:`lowfloat.kernels.scalar`, which stays the definition for every
other mode and is tested equal to this one):

* In the target's normal range the input's bits are rounded as an integer:
  add half an output ulp minus one, plus the last kept bit (ties to even),
  and clear the dropped bits.  A carry walks into the exponent by itself.
* In the target's subnormal range the FPU does the rounding: adding
  ``C = 2**(emin - m + in_man)``, whose ulp is the target's subnormal
  spacing, rounds to nearest even, and ``t - C`` is the rounded value while
  ``bits(t) - bits(C)`` is the subnormal code.

The FPU trick is used only where it cannot be disturbed by flush-to-zero or
denormals-are-zero flags some libraries set: every input it must round and
every value it produces is normal.  Formats whose subnormal range lies in
float32's own subnormals (bfloat16, tensorfloat32, float32, from float32
input) need no trick: there the integer rounding is exact all the way down.
Other formats (E8M0, formats without mantissa bits, some generic ones) take
the general kernel.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np

from ..formats import Format
from ..rounding import check_overflow
from .bitcast import bitcast
from .jit import njit
from .layout import layout, rounding, width_constants

__all__ = ["FastConstants", "fast_constants", "encode_nearest", "quantize_nearest"]


class FastConstants(NamedTuple):
    """Constants of the nearest-even and stochastic fast paths for one format, overflow policy and input type.

    The ``U`` fields are of the input's unsigned type (uint32 for float32
    data), ``c`` of its float type, the code fields int64.
    """

    shift: object  # U  k: input mantissa bits dropped in the normal range
    round_add: object  # U  half an output ulp, minus one
    lsb_mask: object  # U  mask of the last kept bit (nothing to keep even when nothing drops)
    keep_mask: object  # U  clears the dropped bits
    min_normal: object  # U  below this magnitude the FPU rounds (0: the integer rounding is exact all the way)
    c: object  # F  C = 2**(emin - m + in_man), whose ulp is the smallest subnormal
    c_bits: object  # U  C's bits
    max_bits: object  # U  the bits of the format's max
    rebias: object  # U  (in_bias - bias) << m: re-biases rounded bits to a code
    inf_bits: object  # U  the input's +inf
    big_fixed: object  # U  the float an infinite result becomes ...
    big_sign_mask: object  # U  ... and which part of it takes the input's sign
    nan_fixed: object  # U  the float a NaN becomes ...
    nan_sign_mask: object  # U  ... and which part of it takes the input's sign
    zero_sign_mask: object  # U  the sign a zero keeps (fnuz has no -0)
    max_mag: int  # the code of the largest finite magnitude
    big_code: int  # the code (magnitude) of a positive infinite result
    nan_code: int  # the code of a positive NaN
    sign_code: int  # the sign bit as a code
    no_neg_zero: int  # 1 for fnuz
    bias: int  # the format's exponent bias
    sub_exp: int  # the exponent of the smallest subnormal


@cache
def fast_constants(fmt: Format, overflow, dtype) -> FastConstants | None:
    """Constants of the fast paths for ``fmt`` read from ``dtype`` data, or None if they do not apply."""
    float_type = np.dtype(dtype).type
    info = np.finfo(float_type)
    uint = np.uint32 if float_type is np.float32 else np.uint64
    in_man, f_emin, f_emax = info.nmant, info.minexp, info.maxexp - 1
    sub_exp = fmt.emin - fmt.man_bits
    integer_only = fmt.emin == f_emin
    if not fmt.signed or not (integer_only or (sub_exp >= f_emin + 1 and sub_exp + in_man <= f_emax)):
        return None
    if fmt.man_bits == 0:
        # the last kept bit would be the input's exponent bit, whose parity is the
        # code's only when the biases differ by an even number: leave these to the general kernel
        return None
    policy = check_overflow(fmt, overflow)
    lay, rnd = layout(fmt), rounding(fmt, "nearest_even", overflow)

    def bits(value) -> int:
        return int(np.asarray(value, dtype=float_type).view(uint))

    sign = 1 << (8 * np.dtype(dtype).itemsize - 1)
    inf_bits, qnan_bits = bits(np.inf), bits(np.inf) | (1 << (in_man - 1))
    shift = in_man - fmt.man_bits
    c = float_type(1.0 if integer_only else 2.0 ** (sub_exp + in_man))
    fnuz = fmt.specials == "fnuz"
    # the float an infinite result becomes, and which part of it takes the input's sign
    if policy == "saturate":
        big_fixed, big_sign_mask = bits(fmt.max), sign
    elif policy == "inf":
        big_fixed, big_sign_mask = inf_bits, sign
    else:  # fnuz's only NaN, code 0x80, decodes with its sign bit set
        big_fixed, big_sign_mask = (sign | qnan_bits, 0) if fnuz else (qnan_bits, sign)
    nan_fixed, nan_sign_mask = (sign | qnan_bits, 0) if fnuz else (qnan_bits, sign)
    return FastConstants(
        shift=uint(shift),
        round_add=uint((1 << shift >> 1) - 1 if shift else 0),
        lsb_mask=uint(1 if shift else 0),
        keep_mask=uint(~((1 << shift) - 1) & (2 * sign - 1)),
        min_normal=uint(0 if integer_only else bits(2.0**fmt.emin)),
        c=c,
        c_bits=uint(bits(c)),
        max_bits=uint(bits(fmt.max)),
        rebias=uint((f_emax - fmt.bias) << fmt.man_bits),
        inf_bits=uint(inf_bits),
        big_fixed=uint(big_fixed),
        big_sign_mask=uint(big_sign_mask),
        nan_fixed=uint(nan_fixed),
        nan_sign_mask=uint(nan_sign_mask),
        zero_sign_mask=uint(0 if fnuz else sign),
        max_mag=lay.max_mag,
        big_code=rnd.big_pos,
        nan_code=lay.nan_pos,
        sign_code=lay.sign_code,
        no_neg_zero=lay.no_neg_zero,
        bias=lay.bias,
        sub_exp=lay.sub_exp,
    )


@njit(cache=True, nogil=True, inline="always")
def _round_nearest(bits, U, F, fast):
    """Sign, magnitude, rounded magnitude bits and the FPU sum ``t`` of one element."""
    sign_shift, in_man, in_bias, in_exp_max = width_constants(U)
    shift = U(fast.shift & U(sign_shift))  # a no-op that shows LLVM the shift fits the lane
    sign = U(bits & U(U(1) << U(sign_shift)))
    magnitude = U(bits ^ sign)
    # the subnormal range: the FPU rounds x + C to a multiple of C's ulp
    t = bitcast(magnitude, F) + fast.c
    # the normal range: round the bits as an integer; carries move into the exponent
    lsb = U(U(magnitude >> shift) & fast.lsb_mask)
    rounded = U(magnitude + fast.round_add + lsb)
    return sign, magnitude, rounded, t


@njit(cache=True, nogil=True, inline="always")
def finish_value(r, sign, magnitude, U, I, fast):
    """Output bits from the rounded magnitude ``r``: sign, overflow and NaN (shared with stochastic.py).

    The comparisons are signed (one SIMD instruction; unsigned ones take
    two): ``magnitude`` is below the sign bit, and so is ``r`` wherever the
    input is not NaN.
    """
    out = U(sign | r) if r != U(0) else U(sign & fast.zero_sign_mask)
    out = U(U(sign & fast.big_sign_mask) | fast.big_fixed) if I(r) > I(fast.max_bits) else out
    out = U(U(sign & fast.nan_sign_mask) | fast.nan_fixed) if I(magnitude) > I(fast.inf_bits) else out
    return out


@njit(cache=True, nogil=True, inline="always")
def finish_code(code_mag, sign, magnitude, U, I, fast):
    """The code from the rounded code magnitude: overflow, NaN and sign (shared with stochastic.py).

    Overflow and NaN replace the magnitude, then the sign goes on: in signed
    formats every negative special code is its positive one with the sign
    bit set (fnuz's NaN, 0x80, is its own negative), so one sign selection
    serves all three cases.
    """
    code_mag = I(fast.big_code) if code_mag > I(fast.max_mag) else code_mag
    code_mag = I(fast.nan_code) if I(magnitude) > I(fast.inf_bits) else code_mag  # signed: as finish_value
    # then the sign, except on a zero of fnuz (no -0): one comparison with a magnitude that
    # is 0 for fnuz and no magnitude otherwise (nested selects went to 64-bit lanes)
    unsigned_mag = I(0) if fast.no_neg_zero != 0 else I(-1)
    code = I(code_mag | (I(fast.sign_code) if sign != U(0) else I(0)))
    return code_mag if code_mag == unsigned_mag else code


@njit(cache=True, nogil=True, inline="always")
def quantize_nearest(bits, U, I, F, fast):
    """Bits of the float ``bits`` rounded to nearest even onto the format (see module docstring)."""
    sign, magnitude, rounded, t = _round_nearest(bits, U, F, fast)
    r = bitcast(t - fast.c, U) if I(magnitude) < I(fast.min_normal) else U(rounded & fast.keep_mask)
    return finish_value(r, sign, magnitude, U, I, fast)


@njit(cache=True, nogil=True, inline="always")
def encode_nearest(bits, U, I, F, fast):
    """Code of the float ``bits`` rounded to nearest even into the format (see module docstring)."""
    sign_shift = width_constants(U)[0]
    sign, magnitude, rounded, t = _round_nearest(bits, U, F, fast)
    subnormal_code = I(bitcast(t, U) - fast.c_bits)
    normal_code = I(U(U(rounded >> U(fast.shift & U(sign_shift))) - fast.rebias))
    code_mag = subnormal_code if I(magnitude) < I(fast.min_normal) else normal_code
    return finish_code(code_mag, sign, magnitude, U, I, fast)
