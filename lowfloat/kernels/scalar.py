"""Per-element kernels: the bits of one float to one code, and one code to float bits.

Both are written once for float32 and float64 data: ``U`` is the unsigned
type of the data's width (``np.uint32`` or ``np.uint64``) and every constant
is built in ``U``, so the compiled float32 path does 32-bit arithmetic.
``width`` is a tuple from :mod:`lowfloat.kernels.layout` (``FLOAT32`` or
``FLOAT64``) and ``lay`` a layout tuple from the same module.

The bodies are straight-line: every case is computed and the answer is
*selected* (``a if c else b``, ``&`` and ``|`` on booleans, never ``and``/``or``),
so LLVM can turn the element loop into SIMD code.  Branching here costs an
order of magnitude in speed.

Symbols, as in the OCP and IEEE 754 specs:

* ``exp_field``  the input's biased exponent field
* ``man_field``  the input's trailing significand (mantissa) field
* ``sig``        significand with its implicit bit: value = sig * 2**(E - in_man)
* ``t``          the target format's biased exponent for the input's binade
* ``m``          the target's mantissa bits; ``shift`` bits are rounded away
"""

import numpy as np
from numba import njit

from .bitcast import bitcast


@njit(cache=True, nogil=True, inline="always")
def encode_bits(bits, U, width, lay):
    """Code of the float whose bits are ``bits`` (type ``U``), rounded once into the layout's format."""
    sign_shift, in_man, in_bias, in_exp_max = width
    (m, bias, max_mag, inf_mag, sign_code, nan_pos, nan_neg, big_pos, big_neg,
     no_neg_zero, unsigned, nearest, tie_away, up_pos, up_neg) = lay  # fmt: skip
    one = U(1)
    # 1) split the input into sign, exponent field and mantissa field
    negative = (bits >> U(sign_shift)) != U(0)
    magnitude = bits & U((one << U(sign_shift)) - one)
    exp_field = np.int64(magnitude >> U(in_man))
    man_field = magnitude & U((one << U(in_man)) - one)
    # 2) significand and the target's biased exponent t of the input's binade;
    #    below the target's normal range (t < 1) the spacing stops shrinking, so
    #    more bits are rounded away and the code lands in the subnormal field.
    sig = man_field | U(U(exp_field != 0) << U(in_man))
    t = max(exp_field, np.int64(1)) - in_bias + bias
    tt = max(t, np.int64(1) - unsigned)  # unsigned formats have no subnormals: field 0 is normal
    shift = min(in_man - m + (tt - t), in_man + 2)  # beyond in_man + 2 nothing changes
    v = U(sig + U(U(tt - 1) << U(in_man)))  # = (t << in_man) | man_field in the normal range
    # 3) round `shift` bits away; a carry out of the mantissa moves into the exponent by itself
    kept = U(v >> U(shift))
    rem = v & U((one << U(shift)) - one)
    half = U((one << U(shift)) >> one)
    odd = (kept & one) != U(0)
    away = (up_neg if negative else up_pos) != 0
    up_nearest = (rem > half) | ((rem == half) & (odd | (tie_away != 0)))
    up = (rem != U(0)) & ((up_nearest if nearest != 0 else away))
    code_mag = np.int64(kept) + np.int64(up)
    # 4) unsigned formats clamp underflow to their smallest value (there is no zero)
    code_mag = 0 if (unsigned != 0) & (t < 0) else code_mag
    # 5) overflow: IEEE 754 7.4 gives +-max when rounding toward zero, else an infinite result
    overflow = code_mag > max_mag
    code_mag = min(code_mag, max_mag)
    signed_code = sign_code | code_mag if (code_mag != 0) | (no_neg_zero == 0) else code_mag
    code = signed_code if negative else code_mag
    big = big_neg if negative else big_pos
    code = big if overflow & ((nearest != 0) | away) else code
    # 6) special inputs: NaN, and inf (an infinite result); unsigned formats have no zero or negatives
    is_special = exp_field == in_exp_max
    special = (nan_neg if negative else nan_pos) if man_field != U(0) else big
    code = special if is_special else code
    code = nan_pos if (unsigned != 0) & (negative | (magnitude == U(0))) else code
    return code


@njit(cache=True, nogil=True, inline="always")
def decode_bits(code, U, F, width, lay, sub_scale):
    """Bits (type ``U``) of the float of type ``F`` equal to ``code``'s value.

    ``sub_scale`` is ``F(2**(emin - m))`` (``2**-bias`` for unsigned formats):
    the weight of one unit of a subnormal code.
    """
    sign_shift, out_man, out_bias, out_exp_max = width
    (m, bias, max_mag, inf_mag, sign_code, nan_pos, nan_neg, big_pos, big_neg,
     no_neg_zero, unsigned, nearest, tie_away, up_pos, up_neg) = lay  # fmt: skip
    code = np.int64(code)
    # 1) sign and magnitude
    negative = (sign_code != 0) & (code >= sign_code)
    mag = code - sign_code if negative else code
    sign_bits = U(U(negative) << U(sign_shift))
    # 2) subnormal codes (and E8M0's field 0, which is 1 * 2**-bias): units of sub_scale, exact in F
    lead = np.int32(unsigned)
    subnormal = bitcast(F(np.int32(mag) + lead) * sub_scale, U)
    # 3) normal codes: re-bias the exponent and widen the mantissa; one addition does both
    normal = U(U(U(mag) << U(out_man - m)) + U(U(out_bias - bias) << U(out_man)))
    value = subnormal if (mag >> m) == 0 else normal
    # 4) inf and NaN (quiet, keeping the sign)
    exp_all_ones = U(U(out_exp_max) << U(out_man))
    is_nan = ((mag > max_mag) & (mag != inf_mag)) | ((no_neg_zero != 0) & (code == sign_code))
    value = exp_all_ones if mag == inf_mag else value
    value = U(exp_all_ones | U(U(1) << U(out_man - 1))) if is_nan else value
    return sign_bits | value
