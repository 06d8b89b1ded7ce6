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

import numpy as np

from ..formats import Format
from ..rounding import check_overflow
from .bitcast import bitcast
from .jit import njit
from .layout import width_constants

__all__ = ["nearest_constants", "encode_nearest", "quantize_nearest"]


@cache
def nearest_constants(fmt: Format, overflow, dtype) -> tuple | None:
    """Constants of the fast path for ``fmt`` read from ``dtype`` data, or None if it does not apply."""
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
    integers = (
        shift,  # k: input mantissa bits dropped in the normal range
        (1 << shift >> 1) - 1 if shift else 0,  # half an output ulp, minus one
        1 if shift else 0,  # mask of the last kept bit (nothing to keep even when nothing drops)
        ~((1 << shift) - 1) & (2 * sign - 1),  # clears the dropped bits
        0 if integer_only else bits(2.0**fmt.emin),  # below this magnitude the FPU rounds
    )
    more = (
        bits(c),
        bits(fmt.max),
        (f_emax - fmt.bias) << fmt.man_bits,  # (in_bias - bias) << m: re-bias rounded bits to a code
        inf_bits,
        big_fixed,
        big_sign_mask,
        nan_fixed,
        nan_sign_mask,
        0 if fnuz else sign,  # the sign a zero keeps (fnuz has no -0)
    )
    return tuple(uint(v) for v in integers) + (c,) + tuple(uint(v) for v in more)


@njit(cache=True, nogil=True, inline="always")
def _round_nearest(bits, U, F, fast):
    """Sign, magnitude, rounded magnitude bits and the FPU sum ``t`` of one element."""
    sign_shift, in_man, in_bias, in_exp_max = width_constants(U)
    shift, round_add, lsb_mask, keep_mask, min_normal, c = fast[:6]
    shift = U(shift & U(sign_shift))  # a no-op that shows LLVM the shift fits the lane
    sign = U(bits & U(U(1) << U(sign_shift)))
    magnitude = U(bits ^ sign)
    # the subnormal range: the FPU rounds x + C to a multiple of C's ulp
    t = bitcast(magnitude, F) + c
    # the normal range: round the bits as an integer; carries move into the exponent
    lsb = U(U(magnitude >> shift) & lsb_mask)
    rounded = U(magnitude + round_add + lsb)
    return sign, magnitude, rounded, t


@njit(cache=True, nogil=True, inline="always")
def finish_value(r, sign, magnitude, U, I, fast):
    """Output bits from the rounded magnitude ``r``: sign, overflow and NaN (shared with stochastic.py).

    The comparisons are signed (one SIMD instruction; unsigned ones take
    two): ``magnitude`` is below the sign bit, and so is ``r`` wherever the
    input is not NaN.
    """
    max_bits = fast[7]
    inf_bits, big_fixed, big_sign_mask, nan_fixed, nan_sign_mask, zero_sign_mask = fast[9:]
    out = U(sign | r) if r != U(0) else U(sign & zero_sign_mask)
    out = U(U(sign & big_sign_mask) | big_fixed) if I(r) > I(max_bits) else out
    out = U(U(sign & nan_sign_mask) | nan_fixed) if I(magnitude) > I(inf_bits) else out
    return out


@njit(cache=True, nogil=True, inline="always")
def finish_code(code_mag, sign, magnitude, U, I, lay, fast):
    """The code from the rounded code magnitude: overflow, NaN and sign (shared with stochastic.py).

    Overflow and NaN replace the magnitude, then the sign goes on: in signed
    formats every negative special code is its positive one with the sign
    bit set (fnuz's NaN, 0x80, is its own negative), so one sign selection
    serves all three cases.
    """
    m, bias, max_mag, inf_mag, sign_code, nan_pos, nan_neg, big_pos, big_neg, no_neg_zero, sub_exp = lay
    inf_bits = fast[9]
    code_mag = I(big_pos) if code_mag > I(max_mag) else code_mag
    code_mag = I(nan_pos) if I(magnitude) > I(inf_bits) else code_mag  # signed: as finish_value
    # then the sign, except on a zero of fnuz (no -0): one comparison with a magnitude that
    # is 0 for fnuz and no magnitude otherwise (nested selects went to 64-bit lanes)
    unsigned_mag = I(0) if no_neg_zero != 0 else I(-1)
    code = I(code_mag | (I(sign_code) if sign != U(0) else I(0)))
    return code_mag if code_mag == unsigned_mag else code


@njit(cache=True, nogil=True, inline="always")
def quantize_nearest(bits, U, I, F, fast):
    """Bits of the float ``bits`` rounded to nearest even onto the format (see module docstring)."""
    keep_mask, min_normal, c = fast[3:6]
    sign, magnitude, rounded, t = _round_nearest(bits, U, F, fast)
    r = bitcast(t - c, U) if I(magnitude) < I(min_normal) else U(rounded & keep_mask)
    return finish_value(r, sign, magnitude, U, I, fast)


@njit(cache=True, nogil=True, inline="always")
def encode_nearest(bits, U, I, F, lay, fast):
    """Code of the float ``bits`` rounded to nearest even into the format (see module docstring)."""
    sign_shift = width_constants(U)[0]
    shift, round_add, lsb_mask, keep_mask, min_normal, c, c_bits, max_bits, rebias = fast[:9]
    sign, magnitude, rounded, t = _round_nearest(bits, U, F, fast)
    subnormal_code = I(bitcast(t, U) - c_bits)
    normal_code = I(U(U(rounded >> U(shift & U(sign_shift))) - rebias))
    code_mag = subnormal_code if I(magnitude) < I(min_normal) else normal_code
    return finish_code(code_mag, sign, magnitude, U, I, lay, fast)
