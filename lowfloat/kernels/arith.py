"""Exact arithmetic, rounded to odd in float64: the first half of every lowfloat.arith operation.

Each ``*_to_odd`` function returns ``RO(v)``, the exact result ``v`` of an
operation on float64 numbers rounded *to odd* in float64: ``v`` itself if it
is a float64, else whichever of the two float64 neighbours of ``v`` has an odd
last significand bit.  Rounding that once more into any format of ``p <= 51``
significand bits, in any rounding mode, gives exactly what rounding ``v``
directly would (Boldo & Melquiond, "Emulation of FMA and correctly rounded
sums: proved algorithms using rounding to odd", IEEE TC 57(4), 2008): the odd
last bit is a sticky bit that keeps a value off the midpoints and grid points
of the narrower format.  Every lowfloat format has ``p <= 24``.

How the exact result is found (all error-free transformations, no branches
on the data except for special values):

* ``x + y``: TwoSum (Knuth) gives ``s = RN(x + y)`` and the exact error
  ``e = x + y - s``; the sign of ``e`` says which neighbour is the odd one.
* ``x * y``, ``x / y``, ``sqrt(x)``, ``fma``: the operands are first scaled
  by powers of two (exact) to significands in ``[1/2, 1)`` so that no
  intermediate underflows; then ``fma`` gives the exact error of the
  product, the exact remainder of the quotient or of the square root
  (``r = x - q*y`` and ``r = x - s*s`` are floats, Boldo & Daumas 2003).
  Scaling back is exact unless the result leaves float64's normal range;
  there it is far outside every lowfloat format's range and only its sign
  and whether it is zero matter: results beyond float64 become
  ``+-DBL_MAX`` (so rounding toward zero still gives the format's max),
  results below float64's subnormals become ``+-2**-1074``.

Zeros keep the sign IEEE 754's round-to-nearest operation gives them
(``-0 + -0 = -0``, ``x - x = +0``), as NumPy's float64 arithmetic does.
"""

import math
from fractions import Fraction

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic, overload

from .bitcast import bitcast
from .jit import njit

__all__ = ["fma", "add_to_odd", "mul_to_odd", "div_to_odd", "sqrt_to_odd", "fma_to_odd", "to_odd"]

_DBL_MAX = float.fromhex("0x1.fffffffffffffp1023")
_DBL_TINY = float.fromhex("0x1p-1074")  # the smallest float64 subnormal
_EXP_MASK = np.uint64(0x7FF0000000000000)
_SIGN_SHIFT = np.uint64(63)

# op numbers of binary_kernel
ADD, SUB, MUL, DIV = range(4)


def fma(a, b, c):
    """``a * b + c`` rounded once to the nearest float64.

    Compiled, this is LLVM's ``llvm.fma.f64`` (one fused instruction, or libm's
    correctly rounded ``fma``); with the JIT disabled it is computed exactly
    in fractions.

    >>> fma(1.0 + 2.0**-30, 1.0 - 2.0**-30, -1.0)  # the product's last bits, lost by a * b + c
    -8.673617379884035e-19
    """
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)) or a == 0 or b == 0:
        return a * b + c  # exact here: no rounding of a finite nonzero product is involved
    return float(Fraction(a) * Fraction(b) + Fraction(c))


@intrinsic
def _fma(typingctx, a, b, c):
    if not all(isinstance(t, types.Float) and t.bitwidth == 64 for t in (a, b, c)):
        return None

    def codegen(context, builder, signature, args):
        double = ir.DoubleType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(double, [double] * 3), "llvm.fma.f64")
        return builder.call(fn, args)

    return types.float64(types.float64, types.float64, types.float64), codegen


@overload(fma, inline="always")
def _fma_overload(a, b, c):
    def impl(a, b, c):
        return _fma(np.float64(a), np.float64(b), np.float64(c))

    return impl


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def to_odd(h, r):
    """``RO(h + r)`` given ``h = RN(h + r)`` (or ``|r|`` below half of h's spacing) and only r's sign.

    An even ``h`` with ``r != 0`` moves one step toward ``h + r``: the odd
    neighbour.  Infinities and NaN pass unchanged.
    """
    bits = bitcast(np.float64(h), np.uint64)
    even = (bits & np.uint64(1)) == np.uint64(0)
    finite = (bits & _EXP_MASK) != _EXP_MASK
    negative = (bits >> _SIGN_SHIFT) != np.uint64(0)
    away = (r < 0.0) == negative  # h and r of the same sign: the magnitude grows
    # the odd neighbour: an even pattern plus one, or minus one (max() keeps +0's pattern from wrapping)
    moved = np.uint64(bits | np.uint64(1)) if away else np.uint64(max(bits, np.uint64(1)) - np.uint64(1))
    fix = even & finite & (r != 0.0) & (r == r)
    result = bitcast(moved if fix else bits, np.float64)
    # h = 0 only when the exact value is 0; should a residual remain, keep its sign and stay nonzero
    return math.copysign(_DBL_TINY, r) if (h == 0.0) & (r != 0.0) & (r == r) else result


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def exact_zero(result, a_negative, b_negative, negative_zero):
    """``result`` of a sum of addends with these signs, with IEEE 754 6.3's sign where it is an exact zero.

    A zero sum of addends of opposite signs is +0 -- what round-to-nearest
    float64 arithmetic gives -- except when rounding toward negative
    (``negative_zero``), where it is -0; addends of one sign keep it.
    """
    return -0.0 if (result == 0.0) & negative_zero & (a_negative != b_negative) else result


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def add_to_odd(x, y, negative_zero):
    """``RO(x + y)``: TwoSum, then the error's sign picks the odd neighbour.

    ``negative_zero``: the sum is rounded toward negative, where an exact zero
    sum of opposite signs is -0 (:func:`exact_zero`).
    """
    s = x + y
    # 1) TwoSum (Knuth): e = x + y - s exactly, when s is finite
    virtual_y = s - x
    e = (x - (s - virtual_y)) + (y - virtual_y)
    # 2) a finite sum beyond float64 rounded to inf: keep it finite and beyond every format
    overflowed = math.isinf(s) & math.isfinite(x) & math.isfinite(y)
    result = math.copysign(_DBL_MAX, s) if overflowed else to_odd(s, e)
    return exact_zero(result, math.copysign(1.0, x) < 0.0, math.copysign(1.0, y) < 0.0, negative_zero)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _scale(h, k):
    """``h * 2**k``: exact in float64's normal range; beyond it +-DBL_MAX, below it never zero."""
    v = np.ldexp(h, k)
    v = math.copysign(_DBL_MAX, h) if math.isinf(v) else v
    return math.copysign(_DBL_TINY, h) if (v == 0.0) & (h != 0.0) else v


@njit(cache=True, nogil=True, error_model="numpy")
def mul_to_odd(x, y):
    """``RO(x * y)``."""
    if not (math.isfinite(x) and math.isfinite(y)) or x == 0.0 or y == 0.0:
        return x * y  # exact: IEEE 754 special values and signed zeros
    # 1) significands in [1/2, 1): their product in [1/4, 1) has an exact error term
    mx, ex = math.frexp(x)
    my, ey = math.frexp(y)
    high = mx * my
    low = fma(mx, my, -high)  # mx * my = high + low exactly
    # 2) round to odd, then scale back
    return _scale(to_odd(high, low), ex + ey)


@njit(cache=True, nogil=True, error_model="numpy")
def div_to_odd(x, y):
    """``RO(x / y)``."""
    if not (math.isfinite(x) and math.isfinite(y)) or x == 0.0 or y == 0.0:
        return x / y  # exact: IEEE 754 special values, x / 0 = +-inf, 0 / 0 = NaN
    mx, ex = math.frexp(x)
    my, ey = math.frexp(y)
    # 1) q = RN(mx / my) in (1/2, 2); the remainder mx - q * my is a float (no underflow here)
    q = mx / my
    remainder = fma(-q, my, mx)
    # 2) mx / my - q = remainder / my: its sign is the remainder's times my's
    return _scale(to_odd(q, remainder if my > 0.0 else -remainder), ex - ey)


@njit(cache=True, nogil=True, error_model="numpy")
def sqrt_to_odd(x):
    """``RO(sqrt(x))``; NaN for x < 0, ``sqrt(-0) = -0``."""
    if not math.isfinite(x) or x <= 0.0:
        return np.sqrt(x)
    # 1) x = m * 2**e with e even and m in [1/2, 2)
    m, e = math.frexp(x)
    if e % 2 != 0:
        m *= 2.0
        e -= 1
    # 2) s = RN(sqrt(m)); the remainder m - s * s is a float and has the sign of sqrt(m) - s
    s = np.sqrt(m)
    remainder = fma(-s, s, m)
    return np.ldexp(to_odd(s, remainder), e // 2)  # exact: sqrt of a float64 stays in its normal range


@njit(cache=True, nogil=True, error_model="numpy")
def fma_to_odd(x, y, z, negative_zero):
    """``RO(x * y + z)``: the product exactly, plus z, rounded to odd once (exact zeros as :func:`exact_zero`)."""
    product_negative = (math.copysign(1.0, x) < 0.0) != (math.copysign(1.0, y) < 0.0)
    return exact_zero(_fma_to_odd(x, y, z), product_negative, math.copysign(1.0, z) < 0.0, negative_zero)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _fma_to_odd(x, y, z):
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)) or x == 0.0 or y == 0.0:
        return fma(x, y, z)  # exact, or IEEE 754's special values
    # 1) scale: x * y = (mx * my) * 2**k with mx * my in [1/4, 1); z by the same power
    mx, ex = math.frexp(x)
    my, ey = math.frexp(y)
    k = ex + ey
    zs = np.ldexp(z, -k)
    if math.isinf(zs):
        # |z| > 2**1024 |x * y|: the product is far below z's last bit, only its sign counts
        return to_odd(z, mx * my)
    # a z far below the product's last bit only counts by its sign: keep it nonzero
    zs = math.copysign(_DBL_TINY, z) if (zs == 0.0) & (z != 0.0) else zs
    # 2) the exact sum zs + high + low as th + a + b, then h + c + b (TwoProduct, three TwoSums)
    high = mx * my
    low = fma(mx, my, -high)
    th = zs + high
    v = th - zs
    tl = (zs - (th - v)) + (high - v)
    a = tl + low
    v = a - tl
    b = (tl - (a - v)) + (low - v)
    h = th + a
    v = h - th
    c = (th - (h - v)) + (a - v)
    # 3) h is RN of the sum, or off it by less than half of h's spacing: either z and the
    #    product cancel (then tl = b = 0 and h = RN exactly), or |a| <= 1.5 ulp(th) and
    #    |b| <= 2**-51 ulp(h).  The residual c + b has the sign of its rounded sum.
    return _scale(to_odd(h, c + b), k)


# The operations' own exception flags (IEEE 754 7.2 and 7.3), SoftFloat's bit values; the
# flags of rounding the result are the cast's (lowfloat.kernels.scalar).
_INFINITE = np.uint8(8)
_INVALID = np.uint8(16)
_NONE = np.uint8(0)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _zero_times_infinity(x, y):
    return ((x == 0.0) & math.isinf(y)) | (math.isinf(x) & (y == 0.0))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def binary_flags(op, x, y):
    """INVALID for inf - inf, 0 * inf, 0 / 0, inf / inf; INFINITE for finite nonzero / 0 (signalling NaNs aside)."""
    y_added = -y if op == SUB else y
    if op == ADD or op == SUB:
        return _INVALID if math.isinf(x) & math.isinf(y_added) & (x != y_added) else _NONE
    if op == MUL:
        return _INVALID if _zero_times_infinity(x, y) else _NONE
    invalid = ((x == 0.0) & (y == 0.0)) | (math.isinf(x) & math.isinf(y))
    infinite = math.isfinite(x) & (x != 0.0) & (y == 0.0)
    return _INVALID if invalid else _INFINITE if infinite else _NONE


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def fma_flags(x, y, z):
    """INVALID for 0 * inf (whatever z is, as SoftFloat) and for an infinite product plus the opposite infinity."""
    product_infinite = (math.isinf(x) & (y != 0.0) & ~math.isnan(y)) | (math.isinf(y) & (x != 0.0) & ~math.isnan(x))
    product_negative = (math.copysign(1.0, x) < 0.0) != (math.copysign(1.0, y) < 0.0)
    cancels = product_infinite & math.isinf(z) & (product_negative != (z < 0.0))
    return _INVALID if _zero_times_infinity(x, y) | cancels else _NONE


@njit(cache=True, nogil=True, error_model="numpy")
def binary_kernel(op, x, y, out, flags, negative_zero):
    """``out[i] = RO(x[i] op y[i])`` for 1-D float64 arrays; ``op`` is ADD, SUB, MUL or DIV.

    ``flags`` receives the operation's own flags when it is not empty;
    ``negative_zero``: rounding toward negative (exact zero sums are -0).
    """
    with_flags = flags.size > 0
    for i in range(out.size):
        if op == ADD:
            out[i] = add_to_odd(x[i], y[i], negative_zero)
        elif op == SUB:
            out[i] = add_to_odd(x[i], -y[i], negative_zero)
        elif op == MUL:
            out[i] = mul_to_odd(x[i], y[i])
        else:
            out[i] = div_to_odd(x[i], y[i])
        if with_flags:
            flags[i] = binary_flags(op, x[i], y[i])


@njit(cache=True, nogil=True, error_model="numpy")
def fma_kernel(x, y, z, out, flags, negative_zero):
    """``out[i] = RO(x[i] * y[i] + z[i])`` for 1-D float64 arrays (flags as :func:`binary_kernel`)."""
    with_flags = flags.size > 0
    for i in range(out.size):
        out[i] = fma_to_odd(x[i], y[i], z[i], negative_zero)
        if with_flags:
            flags[i] = fma_flags(x[i], y[i], z[i])


@njit(cache=True, nogil=True, error_model="numpy")
def sqrt_kernel(x, out, flags, negative_zero):
    """``out[i] = RO(sqrt(x[i]))`` for 1-D float64 arrays; INVALID for x < 0 (``negative_zero`` is unused)."""
    with_flags = flags.size > 0
    for i in range(out.size):
        out[i] = sqrt_to_odd(x[i])
        if with_flags:
            flags[i] = _INVALID if x[i] < 0.0 else _NONE
