"""The stochastic-rounding fast path, for the formats of the nearest-even one.

Bit-identical to the general kernel in :mod:`lowfloat.kernels.scalar` (the
workbench and the tests compare them) and about three and a half times as
fast: it adds random bits to the input's own bits and clears the dropped
ones, where the general kernel takes the significand apart and compares.  ``W`` is the lane
width (32 or 64), ``R`` the element's ``W`` random bits, ``es`` the number
of the input significand's bits below the target's spacing at the input
(``exact_shift`` of :func:`~lowfloat.kernels.scalar.significand`: ``k`` in
the target's normal range, more below it), ``q = 2**sub_exp`` the target's
smallest subnormal.

* ``x >= q`` (so ``es`` <= the input's mantissa bits): the general kernel
  rounds up when the top ``es`` bits of ``R`` are below the dropped bits
  ``rem``.  That is exactly when ``rem + (2**es - 1 - top)`` carries into
  the kept bits, and ``2**es - 1 - top`` is the top ``es`` bits of ``~R``:
  so add them to the input's bits and clear the ``es`` low bits.  A carry
  walks into the exponent by itself, and in the subnormal range the cleared
  bits leave a multiple of ``q``, as the float's own spacing is finer there.
* ``x < q``: the result is ``q`` or 0.  The general kernel compares the top
  bits of ``R`` with the top bits of the fraction ``x / q = sig / 2**es``;
  both comparisons amount to ``R < floor(x / q * 2**W)``, an integer shift
  of ``sig`` either way (left when ``es <= W``, right otherwise).

The result is the rounded value's bits; its code (for ``encode``) is read
off them as the nearest-even path does.  Formats whose subnormal range lies
in the input float's own subnormals (bfloat16 from float32) never take the
second case: their bits are linear all the way down.
"""

from .bitcast import bitcast
from .jit import njit
from .layout import width_constants
from .nearest import finish_code, finish_value
from .scalar import random_bits, significand
from .wrapping import shift_left, shift_right


@njit(cache=True, nogil=True, inline="always")
def _round_stochastic(bits, random, U, I, lay, fast):
    """Sign, magnitude and the bits of the magnitude rounded stochastically with ``random`` bits."""
    sign_shift, in_man, in_bias, in_exp_max = width_constants(U)
    m, bias, sub_exp = lay[0], lay[1], lay[10]
    min_normal = fast[4]
    width = I(sign_shift + 1)
    sign = U(bits & U(U(1) << U(sign_shift)))
    magnitude = U(bits ^ sign)
    exp_field, man_field, sig, t, tt, es = significand(magnitude, U, I, m, bias, 0)
    # 1) x >= q: add the complement of the top es random bits, clear the es dropped bits
    drop = U(min(es, I(in_man)))  # es exceeds in_man only when x < q, where step 2 decides
    add = shift_right(U(~random), U(U(width) - drop))  # a shift by W (drop 0) is taken mod W ...
    add = add if drop != U(0) else U(0)  # ... so select: nothing to add when nothing drops
    rounded = U(U(magnitude + add) & U(~U(shift_left(U(1), drop) - U(1))))
    # 2) x < q: q with probability x / q, i.e. when random < floor(x / q * 2**W)
    q_bits = U(U(I(sub_exp + in_bias)) << U(in_man)) if min_normal != U(0) else U(0)
    left = U(max(I(width - es), I(0)))
    right = max(I(es - width), I(0))
    fraction = shift_right(shift_left(sig, left), U(right))
    fraction = U(0) if right > I(sign_shift) else fraction
    tiny = q_bits if random < fraction else U(0)
    r = tiny if magnitude < q_bits else rounded
    return sign, magnitude, r


@njit(cache=True, nogil=True, inline="always")
def quantize_stochastic(bits, index, key, U, I, F, lay, fast):
    """Bits of the float ``bits`` (element ``index``) rounded stochastically onto the format."""
    sign, magnitude, r = _round_stochastic(bits, random_bits(index, key, U), U, I, lay, fast)
    return finish_value(r, sign, magnitude, U, fast)


@njit(cache=True, nogil=True, inline="always")
def encode_stochastic(bits, index, key, U, I, F, lay, fast):
    """Code of the float ``bits`` (element ``index``) rounded stochastically into the format."""
    sign_shift = width_constants(U)[0]
    shift, min_normal, c, c_bits, rebias = fast[0], fast[4], fast[5], fast[6], fast[8]
    sign, magnitude, r = _round_stochastic(bits, random_bits(index, key, U), U, I, lay, fast)
    # a subnormal result is a multiple of q below 2**emin: adding C = 2**(emin - m + in_man),
    # whose ulp is q, is exact and leaves the code in the low bits (normal operands only)
    subnormal_code = I(bitcast(bitcast(r, F) + c, U) - c_bits)
    normal_code = I(I(r >> U(shift & U(sign_shift))) - I(rebias))  # signed: below min_normal it is unused
    code_mag = subnormal_code if r < min_normal else normal_code
    return finish_code(code_mag, sign, magnitude, U, I, lay, fast)
