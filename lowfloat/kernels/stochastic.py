"""The stochastic-rounding fast path, for the formats of the nearest-even one.

Bit-identical to the general kernel in :mod:`lowfloat.kernels.scalar` (the
workbench and the tests compare them) and about five times as fast: it adds
random bits to the input's own bits and clears the dropped ones, where the
general kernel takes the significand apart and compares.  ``W`` is the lane
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
  bits of ``R`` with the top bits of the fraction ``x / q``; both
  comparisons amount to ``R < floor(x / q * 2**W)``.  That threshold is the
  significand moved to the top of the lane and shifted right by
  ``c = in_bias - 1 + sub_exp - max(exp_field, 1)``: one shift, where
  ``c >= W`` leaves nothing.

The result is the rounded value's bits; its code (for ``encode``) is read
off them as the nearest-even path does.  Formats whose subnormal range lies
in the input float's own subnormals (bfloat16 from float32) never take the
second case: their bits are linear all the way down.
"""

from .bitcast import bitcast
from .jit import njit
from .layout import width_constants
from .nearest import finish_code, finish_value
from .scalar import random_stream, stream_bits
from .wrapping import shift_left, shift_right, wrapping_add


@njit(cache=True, nogil=True, inline="always")
def _round_stochastic(bits, random, U, I, fast):
    """Sign, magnitude and the bits of the magnitude rounded stochastically with ``random`` bits."""
    sign_shift, in_man, in_bias, in_exp_max = width_constants(U)
    bias, sub_exp, shift, min_normal = fast.bias, fast.sub_exp, fast.shift, fast.min_normal
    lane = U(sign_shift)
    integer_only = min_normal == U(0)
    sign = U(bits & U(U(1) << lane))
    magnitude = U(bits ^ sign)
    exp_field = I(magnitude >> U(in_man))
    # es = k + max(1 - t, 0), t the target's biased exponent of x's binade (exact_shift of
    # significand()); integer-only formats keep es = k all the way down, float32 subnormals too
    es_base = I(shift) if integer_only else I(I(shift) + I(1 + in_bias) - I(bias))
    es = max(I(shift), I(es_base - exp_field))
    # 1) x >= q (es <= in_man): add the top es bits of ~random, clear the es dropped bits.
    #    Shifting ~random right once first makes es = 0 add nothing, with no select.
    add = shift_right(U(U(~random) >> U(1)), U(I(sign_shift) - es))
    rounded = U(U(magnitude + add) & shift_left(U(~U(0)), U(es)))
    # 2) x < q: q when random < floor(x / q * 2**W).  With sig the significand (implicit bit
    #    included), that threshold is (sig << top) >> c, top = W - 1 - in_man putting sig's
    #    leading bit at the lane's top, c = in_bias - 1 + sub_exp - max(exp_field, 1) >= 0.
    implicit = U(0) if exp_field == I(0) else U(U(1) << lane)
    wide = U(U(magnitude << U(sign_shift - in_man)) | implicit)
    c = I(I(in_bias - 1) + I(sub_exp) - max(exp_field, I(1)))
    threshold = shift_right(wide, U(c))
    threshold = U(0) if c > I(sign_shift) else threshold
    q_bits = U(0) if integer_only else U(U(I(sub_exp + in_bias)) << U(in_man))
    tiny = q_bits if random < threshold else U(0)
    r = tiny if I(magnitude) < I(q_bits) else rounded  # both below the sign bit
    return sign, magnitude, r


@njit(cache=True, nogil=True, inline="always")
def quantize_stochastic(bits, random, U, I, F, fast):
    """Bits of the float ``bits`` rounded stochastically onto the format with ``random`` bits."""
    sign, magnitude, r = _round_stochastic(bits, random, U, I, fast)
    return finish_value(r, sign, magnitude, U, I, fast)


@njit(cache=True, nogil=True, inline="always")
def encode_stochastic(bits, random, U, I, F, fast):
    """Code of the float ``bits`` rounded stochastically into the format with ``random`` bits."""
    sign_shift = width_constants(U)[0]
    sign, magnitude, r = _round_stochastic(bits, random, U, I, fast)
    # a subnormal result is a multiple of q below 2**emin: adding C = 2**(emin - m + in_man),
    # whose ulp is q, is exact and leaves the code in the low bits (normal operands only)
    subnormal_code = I(bitcast(bitcast(r, F) + fast.c, U) - fast.c_bits)
    normal_code = I(I(r >> U(fast.shift & U(sign_shift))) - I(fast.rebias))  # signed: below min_normal it is unused
    code_mag = subnormal_code if I(r) < I(fast.min_normal) else normal_code
    return finish_code(code_mag, sign, magnitude, U, I, fast)


@njit(cache=True, nogil=True, inline="always")
def stochastic_runs(run, bits, out, first, key, U, I, F, fast):
    """Call ``run`` (:func:`quantize_run` or :func:`encode_run`) on each run of elements of one random stream.

    Within a run the random bits' counter steps in the lanes' width (see
    :func:`~lowfloat.kernels.scalar.random_stream`); ``first`` is the index
    of ``bits[0]`` in the whole array.
    """
    done = 0
    while done < bits.size:
        n, counter, step, salt = random_stream(first + done, bits.size - done, key, U)
        run(bits[done : done + n], out[done : done + n], counter, step, salt, key, U, I, F, fast)
        done += n


# The loops are functions of their own, not inlined by Numba: compiled beside the other
# loops of an entry point, LLVM's register allocator shuffled their two dozen constants
# between registers, a third more instructions per element (bench_quantize.py --stochastic).
@njit(cache=True, nogil=True)
def quantize_run(bits, out, counter, step, salt, key, U, I, F, fast):
    """``out[j]`` = bits of ``bits[j]`` rounded stochastically, over one run of the random stream."""
    for j in range(bits.size):
        out[j] = quantize_stochastic(bits[j], stream_bits(counter, salt, key, U), U, I, F, fast)
        counter = wrapping_add(counter, step)


@njit(cache=True, nogil=True)
def encode_run(bits, out, counter, step, salt, key, U, I, F, fast):
    """``out[j]`` = code of ``bits[j]`` rounded stochastically, over one run of the random stream."""
    for j in range(bits.size):
        out[j] = encode_stochastic(bits[j], stream_bits(counter, salt, key, U), U, I, F, fast)
        counter = wrapping_add(counter, step)
