"""Per-element kernels: the bits of one float to one code, and one code to float bits.

Both are written once for float32 and float64 data: ``U`` is the unsigned
type of the data's width (``np.uint32`` or ``np.uint64``) and every constant
is built in ``U``, so the compiled float32 path does 32-bit arithmetic.
The input's field widths follow from ``U`` at compile time
(:func:`lowfloat.kernels.layout.width_constants`); ``lay`` is a layout tuple
from the same module.

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

Formats beyond float32's range or precision arrive with a
:class:`~lowfloat.kernels.layout.WideLayout` and take a few more steps
(marked "wide" below): their normal range may reach below the input float's
own (a float64 subnormal input must then be normalised before it is
rounded, and a normal code may decode to a float64 subnormal), and their
significands may be wider than 32 bits.  :func:`~lowfloat.kernels.layout.is_wide`
is a compile-time constant, so these steps vanish from the other formats'
compiled code.
"""

import numpy as np
from numba.extending import overload

from .bitcast import bitcast
from .jit import njit
from .layout import WideLayout, is_wide, width_constants
from .wrapping import wrapping_add, wrapping_mul, xor_shift_right

# Counter-based random bits: element i's bits are a hash of (key, i), so they
# never depend on threads or chunks.  float64 data uses SplitMix64's increment
# and finaliser (Steele, Lea & Flood, "Fast splittable pseudorandom number
# generators", OOPSLA 2014).  float32 data uses one round of the 32-bit
# "lowbias32" mixer (C. Wellons, "Prospecting for hash functions", 2018) on
# the index's low half XOR the key's low half, plus the high halves times a
# golden-ratio constant: 32-bit multiplies vectorise over 8 lanes on AVX2
# where 64-bit ones cannot, and a second round would add 9 instructions to the
# stochastic fast path's 60 per 8 elements.  The mixer is a bijection, so
# within 2**32 elements no two share their bits; tests/test_stochastic.py
# checks neighbouring elements and neighbouring seeds for independence.
_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_MIX32_1 = np.uint32(0x7FEB352D)
_MIX32_2 = np.uint32(0x846CA68B)
_GOLDEN32 = np.uint32(0x9E3779B9)


@njit(cache=True, nogil=True, inline="always")
def _mix32(x):
    x = wrapping_mul(xor_shift_right(x, np.uint32(16)), _MIX32_1)
    x = wrapping_mul(xor_shift_right(x, np.uint32(15)), _MIX32_2)
    return xor_shift_right(x, np.uint32(16))


@njit(cache=True, nogil=True, inline="always")
def random_stream(index, count, key, U):
    """A run of elements whose random bits the loop can draw cheaply, from element ``index`` on.

    Returns ``(n, counter, step, salt)``: element ``index + j`` of the run
    (``j < n <= count``) gets ``stream_bits(counter + j * step, salt, key, U)``
    -- the loop adds ``step`` with
    :func:`~lowfloat.kernels.wrapping.wrapping_add`, so the counter stays in
    the lanes' width.  For float32 lanes the counter is the index's low half
    and a run ends where it wraps: the high half is fixed within a run, so its
    share of the hash (``salt``) is computed once.  For float64 lanes the
    counter is SplitMix64's Weyl sequence itself.
    """
    if width_constants(U)[0] == 31:
        low = np.uint64(index) & np.uint64(0xFFFFFFFF)
        high = np.uint32(np.uint64(index) >> np.uint64(32))
        key_high = np.uint32(key >> np.uint64(32))
        n = min(np.int64(count), np.int64(np.uint64(1 << 32) - low))
        return n, U(low), U(1), U(wrapping_mul(np.uint32(high ^ key_high), _GOLDEN32))
    weyl = wrapping_add(key, wrapping_mul(wrapping_add(np.uint64(index), np.uint64(1)), _GOLDEN_GAMMA))
    return np.int64(count), U(weyl), U(_GOLDEN_GAMMA), U(0)


@njit(cache=True, nogil=True, inline="always")
def stream_bits(counter, salt, key, U):
    """Random bits (type ``U``) from a counter of a run (see :func:`random_stream`)."""
    if width_constants(U)[0] == 31:
        key_low = np.uint32(key & np.uint64(0xFFFFFFFF))
        return U(_mix32(wrapping_add(np.uint32(np.uint32(counter) ^ key_low), np.uint32(salt))))
    z = wrapping_mul(xor_shift_right(np.uint64(counter), np.uint64(30)), _MIX1)
    z = wrapping_mul(xor_shift_right(z, np.uint64(27)), _MIX2)
    return U(xor_shift_right(z, np.uint64(31)))


@njit(cache=True, nogil=True, inline="always")
def random_bits(index, key, U):
    """Random bits (type ``U``) for element ``index`` under ``key`` (a uint64)."""
    n, counter, step, salt = random_stream(index, 1, key, U)
    return stream_bits(counter, salt, key, U)


@njit(cache=True, nogil=True, inline="always")
def significand(magnitude, U, I, m, bias, unsigned):
    """Step 2 of :func:`encode_bits` (the stochastic fast path derives ``exact_shift`` its own way).

    Returns the exponent and mantissa fields of an input magnitude, its
    significand ``sig`` (implicit bit included), the target's biased
    exponent ``t`` of its binade, ``t`` raised to the first field with the
    target's spacing (``tt``; 1, or 0 for unsigned formats, which have no
    subnormals) and ``exact_shift``, the number of ``sig``'s bits below the
    target's spacing there.
    """
    sign_shift, in_man, in_bias, in_exp_max = width_constants(U)
    exp_field = I(magnitude >> U(in_man))
    man_field = U(magnitude & U(U(U(1) << U(in_man)) - U(1)))
    sig = U(man_field | U(U(exp_field != I(0)) << U(in_man)))
    t = I(max(exp_field, I(1)) + I(bias - in_bias))
    tt = max(t, I(1 - unsigned))
    exact_shift = I(I(in_man - m) + I(tt - t))
    return exp_field, man_field, sig, t, tt, exact_shift


@njit(cache=True, nogil=True, inline="always")
def stochastic_up(rem, exact_shift, random_lane, U, I, sr_bits):
    """Whether stochastic rounding rounds up, given the discarded bits ``rem``.

    Up with probability ``rem / 2**exact_shift``: the top ``drawn`` bits of
    that fraction are compared with as many random bits -- at most the
    lane's width; ``sr_bits`` limits them further, as hardware does.
    Probabilities below ``2**-drawn`` truncate to zero.  Shared with the
    stochastic fast path, which must draw the same way.
    """
    sign_shift = width_constants(U)[0]
    lane = U(sign_shift)
    drawn = min(exact_shift, I(sr_bits), I(sign_shift + 1))
    random = U(random_lane >> U(U(I(sign_shift) + I(1) - max(drawn, I(1))) & lane))
    drop = I(exact_shift - drawn)
    threshold = U(0) if drop > I(sign_shift) else U(rem >> U(U(drop) & lane))
    return random < threshold


def input_significand(magnitude, U, I, lay):
    """:func:`significand` of an input magnitude for a layout; a wide layout's normalises subnormal inputs.

    A compile-time choice inside kernels (by the layout's type), so the
    float32-range formats compile exactly :func:`significand`.
    """
    if is_wide(lay):
        return wide_significand(magnitude, U, I, lay)
    return significand(magnitude, U, I, lay.man_bits, lay.bias, lay.unsigned)


@overload(input_significand, inline="always")
def _input_significand_overload(magnitude, U, I, lay):
    if getattr(lay, "instance_class", None) is WideLayout:
        return lambda magnitude, U, I, lay: wide_significand(magnitude, U, I, lay)
    return lambda magnitude, U, I, lay: significand(magnitude, U, I, lay.man_bits, lay.bias, lay.unsigned)


@njit(cache=True, nogil=True, inline="always")
def wide_significand(magnitude, U, I, lay):
    """:func:`significand` for a wide layout, the input normalised: its leading one at bit ``in_man``.

    A normal input is taken as it is; a subnormal one (exponent field 0)
    is shifted up to its leading one, and its exponent ``1 - shift`` goes
    below 1 -- what a wider exponent field would hold.  The leading one's
    position is read off the exact float64 conversion of the integer
    magnitude (below 2**53), which no FTZ or DAZ setting can disturb.  Zero
    gets the exponent of a binade far below every format's (0.0's exponent
    field reads as -1023 there): a format whose values all lie below the
    input's normal range must not see it in binade 1.
    """
    sign_shift, in_man, in_bias, in_exp_max = width_constants(U)
    m, unsigned = lay.man_bits, lay.unsigned
    exp_field, man_field, sig, t, tt, exact_shift = significand(magnitude, U, I, m, lay.bias, unsigned)
    lead = I(I(bitcast(np.float64(np.int64(magnitude)), np.uint64) >> np.uint64(52)) - I(1023))
    up = I(I(in_man) - lead)
    subnormal = exp_field == I(0)
    exponent = I(I(1) - up) if subnormal else max(exp_field, I(1))
    sig = U(magnitude << U(U(up) & U(sign_shift))) if subnormal else sig
    t = I(exponent + I(lay.bias - in_bias))
    tt = max(t, I(1 - unsigned))
    exact_shift = I(I(in_man - m) + I(tt - t))
    return exp_field, man_field, sig, t, tt, exact_shift


# Exception flags, as lowfloat.rounding defines them (Berkeley SoftFloat's bit values)
FLAG_INEXACT = np.uint8(1)
FLAG_UNDERFLOW = np.uint8(2)
FLAG_OVERFLOW = np.uint8(4)
FLAG_INVALID = np.uint8(16)
_NO_FLAGS = np.uint8(0)


@njit(cache=True, nogil=True, inline="always")
def encode_bits_flags(bits, U, I, lay, rnd, random):
    """Code of the float whose bits are ``bits``, rounded once into the layout's format, and its flags.

    ``random`` is the element's random bits (type ``U``; see
    :func:`random_bits`), which only stochastic rounding reads: where no
    mode needs them, LLVM drops their computation.
    ``U`` and ``I`` are the unsigned and signed integer types of the data's
    width; every intermediate is cast back to one of them (Numba would widen
    to 64 bits) so that the float32 path vectorises over 32-bit lanes.  The
    flags (a uint8, :mod:`lowfloat.rounding`'s rules) are pure arithmetic on
    values the rounding computes anyway: where a caller drops them, LLVM
    drops their computation too.
    """
    sign_shift, in_man, in_bias, in_exp_max = width_constants(U)
    m, unsigned = lay.man_bits, lay.unsigned
    one = U(1)
    # 1) split the input into sign, exponent field and mantissa field
    negative = (bits >> U(sign_shift)) != U(0)
    magnitude = U(bits & U(U(one << U(sign_shift)) - one))
    subnormal_input = magnitude < U(one << U(in_man))
    magnitude = U(0) if (rnd.daz != 0) & subnormal_input else magnitude  # DAZ: subnormal inputs are zero
    # 2) significand and the target's biased exponent t of the input's binade;
    #    below the target's normal range (t < 1) the spacing stops shrinking, so
    #    more bits are rounded away and the code lands in the subnormal field.
    #    (wide formats normalise a subnormal input first: t may go below 1 where their normals still are)
    exp_field, man_field, sig, t, tt, exact_shift = input_significand(magnitude, U, I, lay)
    # beyond in_man + 2 every bit of v is discarded: the deterministic modes see no change
    shift = U(U(min(exact_shift, I(in_man + 2))) & U(sign_shift))  # the mask shows LLVM the shift fits
    v = U(sig + U(U(tt - I(1)) << U(in_man)))  # = (t << in_man) | man_field in the normal range
    # 3) round `shift` bits away; a carry out of the mantissa moves into the exponent by itself
    kept = U(v >> shift)
    rem = U(v & U(U(one << shift) - one))
    half = U(U(one << shift) >> one)
    odd = U(kept & one) != U(0)
    away = (rnd.up_neg if negative else rnd.up_pos) != 0
    up_nearest = (rem > half) | ((rem == half) & (odd | (rnd.tie_away != 0)))
    up_stochastic = stochastic_up(rem, exact_shift, random, U, I, rnd.sr_bits)
    up_directed = up_stochastic if rnd.stochastic != 0 else away
    up = (rem != U(0)) & (up_nearest if rnd.nearest != 0 else up_directed)
    code_mag = I(I(kept) + I(up))
    # below the smallest value of a format without zero every value is inexact (step 5 clamps it)
    inexact = (rem != U(0)) | ((unsigned != 0) & (t < I(0)))
    # FTZ: results in the subnormal field become zero (of the input's sign where there is -0)
    flushed = (rnd.ftz != 0) & (code_mag < I(I(1) << I(m))) & (code_mag != I(0))
    code_mag = I(0) if flushed else code_mag
    # 4) unsigned formats clamp underflow to their smallest value (there is no zero)
    code_mag = I(0) if (unsigned != 0) & (t < I(0)) else code_mag
    # 5) overflow: IEEE 754 7.4 gives +-max when rounding toward zero, else an infinite result
    overflow = code_mag > I(lay.max_mag)
    code_mag = min(code_mag, I(lay.max_mag))
    zero_sign = I(0) if lay.no_neg_zero != 0 else I(lay.sign_code)  # fnuz has no -0
    sign_bit = (zero_sign if code_mag == I(0) else I(lay.sign_code)) if negative else I(0)
    code = I(code_mag | sign_bit)
    big = I(rnd.big_neg) if negative else I(rnd.big_pos)
    code = big if overflow & ((rnd.nearest != 0) | (rnd.stochastic != 0) | away) else code
    # 6) special inputs: NaN, and inf (an infinite result); unsigned formats have no zero or negatives
    special_input = exp_field == I(in_exp_max)
    nan = I(lay.nan_neg) if negative else I(lay.nan_pos)
    special = nan if man_field != U(0) else big
    code = special if special_input else code
    not_held = (unsigned != 0) & (negative | (magnitude == U(0)))
    code = I(lay.nan_pos) if not_held else code
    # 7) the flags: underflow is tiny and inexact (tiny_result, below), overflow always inexact too
    tiny = tiny_result(magnitude, negative, random, U, I, lay, rnd)
    flags = FLAG_INEXACT if inexact | flushed else _NO_FLAGS
    flags = np.uint8(flags | FLAG_UNDERFLOW) if (inexact & tiny) | flushed else flags
    flags = np.uint8(FLAG_OVERFLOW | FLAG_INEXACT) if overflow else flags
    # a NaN input raises INVALID when signalling (quiet bit clear) or when the format has no NaN;
    # an infinite input when it does not stay the same infinity
    signalling = U(man_field >> U(in_man - 1)) == U(0)
    nan_flags = FLAG_INVALID if signalling | (lay.has_nan == 0) else _NO_FLAGS
    kept_infinity = big == (I(lay.inf_mag) | (I(lay.sign_code) if negative else I(0)))
    inf_flags = _NO_FLAGS if kept_infinity else FLAG_INVALID
    flags = (nan_flags if man_field != U(0) else inf_flags) if special_input else flags
    flags = FLAG_INVALID if not_held & ~special_input else flags
    return code, flags


@njit(cache=True, nogil=True, inline="always")
def tiny_result(magnitude, negative, random, U, I, lay, rnd):
    """Whether a finite magnitude counts as tiny for the underflow flag (see :mod:`lowfloat.rounding`).

    Before rounding: below the smallest normal ``2**emin``.  After rounding:
    also not rounded up to ``2**emin`` on the grid of the format's precision
    with an unbounded exponent range -- which only a value in the last step
    below ``2**emin`` can be.  There that grid's step is ``2**s`` input ulps,
    and ``d`` input ulps separate the value from ``2**emin`` (float bits are
    monotonic).  ``2**emin``'s code is even (mantissa 0), except in formats
    without mantissa bits, where its exponent field 1 is odd: a tie goes
    down there (E8M0 rounds ties up anyway).
    """
    sign_shift, in_man, in_bias, in_exp_max = width_constants(U)
    m, unsigned = lay.man_bits, lay.unsigned
    # the input's biased exponent of 2**emin, and of the binade below it
    emin_field = I(I(1) - I(unsigned) - I(lay.bias) + I(in_bias))
    # (wide) 2**emin may itself be an input subnormal: its bits are linear there, and the
    # step shrinks by a bit for every binade 2**emin lies below the input's normal range
    wide = is_wide(lay)
    emin_bits = U(U(emin_field) << U(in_man))
    below_bits = U(U(1) << U(U(emin_field - I(1) + I(in_man)) & U(sign_shift)))
    emin_bits = below_bits if wide & (emin_field < I(1)) else emin_bits
    before = magnitude < emin_bits
    # the step, in input ulps: finer by one bit where that binade is the input's subnormal range
    s = I(I(in_man) - I(m) - (I(1) if emin_field <= I(1) else I(0)))
    s = I(s + min(I(emin_field - I(1)), I(0))) if wide else s
    step = U(U(1) << U(U(max(s, I(0))) & U(sign_shift)))
    d = U(emin_bits - magnitude)
    tie_up = (rnd.tie_away != 0) | (m > 0) | (unsigned != 0)
    up_nearest = (U(d + d) < step) | ((U(d + d) == step) & tie_up)
    away = (rnd.up_neg if negative else rnd.up_pos) != 0
    up_stochastic = stochastic_up(U(step - d), s, random, U, I, rnd.sr_bits)
    up_directed = up_stochastic if rnd.stochastic != 0 else away
    up = (d < step) & (s >= I(0)) & (up_nearest if rnd.nearest != 0 else up_directed)
    return before & ~((rnd.tiny_before == 0) & up)


@njit(cache=True, nogil=True, inline="always")
def encode_bits(bits, U, I, lay, rnd, random):
    """Code of the float ``bits`` rounded once into the layout's format (:func:`encode_bits_flags` without flags)."""
    code, flags = encode_bits_flags(bits, U, I, lay, rnd, random)
    return code


@njit(cache=True, nogil=True, inline="always")
def decode_bits(code, U, F, lay):
    """Bits (type ``U``) of the float of type ``F`` equal to ``code``'s value."""
    sign_shift, out_man, out_bias, out_exp_max = width_constants(U)
    m, bias, max_mag, inf_mag, sign_code = lay.man_bits, lay.bias, lay.max_mag, lay.inf_mag, lay.sign_code
    no_neg_zero, sub_exp = lay.no_neg_zero, lay.sub_exp
    # unsigned arithmetic in the output's width throughout: 32-bit SIMD lanes for float32
    code = U(code)
    sign = U(sign_code)
    lane = U(sign_shift)  # masking a shift amount with it is a no-op that shows LLVM the shift fits
    # 1) sign and magnitude
    negative = U(code & sign) != U(0)
    mag = U(code - sign) if negative else code
    sign_bits = U(U(negative) << lane)
    # 2) subnormal codes: units = mag (plus E8M0's leading one) times 2**sub_exp.  Where
    #    that is a normal output float, convert units exactly and add sub_exp to its
    #    exponent field; where it is an output subnormal, its bits are units shifted.
    units = U(mag + U(lay.unsigned))
    wide = is_wide(lay)
    # (wide) subnormal codes of more than 31 bits: converted from int64 (int32 vectorises better)
    as_float = F(np.int64(units)) if wide else F(np.int32(units))
    as_normal = U(bitcast(as_float, U) + U(U(np.int64(sub_exp)) << U(out_man)))
    as_subnormal = U(units << U(U(sub_exp + out_man + out_bias - 1) & lane))
    first_normal = min(max(np.int64(1 - out_bias) - sub_exp, np.int64(0)), np.int64(sign_shift))
    subnormal = as_subnormal if units < U(U(1) << U(first_normal)) else as_normal
    # 3) normal codes: re-bias the exponent and widen the mantissa; one addition does both
    normal = U(U(mag << U(U(out_man - m) & lane)) + U(U(out_bias - bias) << U(out_man)))
    # (wide) a normal code below the output's normal range: its significand shifted as a subnormal
    exp_field = U(mag >> U(U(m) & lane))
    out_exp = np.int64(np.int64(exp_field) - bias + out_bias)  # the output's biased exponent
    sig = U(U(mag & U(U(U(1) << U(U(m) & lane)) - U(1))) | U(U(1) << U(U(m) & lane)))
    low = U(sig << U(U(out_exp - np.int64(1) + np.int64(out_man - m)) & lane))
    normal = low if wide & (out_exp < np.int64(1)) else normal
    value = subnormal if exp_field == U(0) else normal
    value = U(0) if units == U(0) else value
    # 4) inf and NaN (quiet, keeping the sign)
    exp_all_ones = U(U(out_exp_max) << U(out_man))
    is_inf = mag == U(inf_mag)
    is_nan = ((mag > U(max_mag)) & ~is_inf) | ((no_neg_zero != 0) & (code == sign))
    value = exp_all_ones if is_inf else value
    value = U(exp_all_ones | U(U(1) << U(out_man - 1))) if is_nan else value
    return U(sign_bits | value)
