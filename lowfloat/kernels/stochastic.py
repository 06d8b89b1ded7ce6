"""The stochastic-rounding fast path, for the formats of the nearest-even one.

Bit-identical to the general kernel in :mod:`lowfloat.kernels.scalar` (the
workbench and the tests compare them) and about three times as fast:

* In the target's normal range ``k`` bits are dropped and the general kernel
  rounds up when the top ``k`` random bits ``T`` are below the dropped bits
  ``rem``.  That is exactly when ``rem + (2**k - 1 - T)`` carries into the
  kept bits, and ``2**k - 1 - T`` is the top ``k`` bits of ``~random``: so
  add them to the input's bits and clear the dropped ones.  A carry walks
  into the exponent by itself, as in nearest-even rounding.
* In the subnormal range the general kernel's arithmetic runs as it is,
  with its per-element shift; its result is exact and normal in the data's
  float type (the fast-path formats guarantee that), so it is scaled back
  with one multiplication.
"""

from numba import njit

from .bitcast import bitcast
from .layout import width_constants
from .nearest import finish_code, finish_value
from .scalar import random_bits, significand, stochastic_up


@njit(cache=True, nogil=True, inline="always")
def _round_stochastic(bits, index, key, U, I, lay, fast):
    """Sign, magnitude, the normal range's rounded bits and the subnormal range's code."""
    sign_shift, in_man, in_bias, in_exp_max = width_constants(U)
    m, bias = lay[0], lay[1]
    shift, round_add, lsb_mask = fast[:3]
    lane = U(sign_shift)
    k = U(shift & lane)
    sign = U(bits & U(U(1) << lane))
    magnitude = U(bits ^ sign)
    # 1) normal range: add the complement of the top k random bits (nothing when k == 0)
    add = U(U(~random_bits(index, key, U)) >> U(U(I(sign_shift) + I(1) - I(k)) & lane))
    rounded = U(magnitude + U(add & U(U(0) - lsb_mask)))
    # 2) subnormal range: the general kernel's steps with t <= 0, where v is sig
    exp_field, man_field, sig, t, tt, exact_shift = significand(magnitude, U, I, m, bias, 0)
    cut = U(U(min(exact_shift, I(in_man + 2))) & lane)
    kept = U(sig >> cut)
    rem = U(sig & U(U(U(1) << cut) - U(1)))
    sub_code = I(I(kept) + I(stochastic_up(rem, exact_shift, index, key, U, I, 64)))
    return sign, magnitude, rounded, sub_code


@njit(cache=True, nogil=True, inline="always")
def quantize_stochastic(bits, index, key, U, I, F, lay, fast):
    """Bits of the float ``bits`` rounded stochastically onto the format (see module docstring)."""
    in_man = width_constants(U)[1]
    keep_mask, min_normal, c = fast[3:6]
    sign, magnitude, rounded, sub_code = _round_stochastic(bits, index, key, U, I, lay, fast)
    unit = F(c * F(F(1.0) / F(U(1) << U(in_man))))  # 2**(emin - m): c is 2**(emin - m + in_man)
    subnormal = bitcast(F(sub_code) * unit, U)
    r = subnormal if magnitude < min_normal else U(rounded & keep_mask)
    return finish_value(r, sign, magnitude, U, fast)


@njit(cache=True, nogil=True, inline="always")
def encode_stochastic(bits, index, key, U, I, lay, fast):
    """Code of the float ``bits`` rounded stochastically into the format (see module docstring)."""
    sign_shift = width_constants(U)[0]
    shift, min_normal, rebias = fast[0], fast[4], fast[8]
    sign, magnitude, rounded, sub_code = _round_stochastic(bits, index, key, U, I, lay, fast)
    normal_code = I(U(U(rounded >> U(shift & U(sign_shift))) - rebias))
    code_mag = sub_code if magnitude < min_normal else normal_code
    return finish_code(code_mag, sign, magnitude, U, I, lay, fast)
