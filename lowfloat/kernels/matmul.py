"""Accumulation kernels: sums and matrix products with every partial sum rounded.

Every partial sum is ``round(RO(acc + term))``: the exact sum rounded to odd
in float64 (:func:`.arith.add_to_odd`), then once into the accumulator's
format -- the exact sum rounded once.  Products of float32 values are exact
in float64.  Rounding a value here runs exactly the element kernels
:func:`lowfloat.quantize` runs, one entry point per path (chosen by
:func:`lowfloat.kernels.plan.plan`):

* ``*_nearest``: nearest even, the constants a :class:`.nearest.FastConstants`
  (matmul: an :class:`Accumulator`);
* ``*_stochastic``: the stochastic fast path, the same constants;
* ``matmul_directed``: the directed modes and nearest away on the fast
  paths' formats, an :class:`Accumulator`;
* ``*_general``: every other mode and format, the constants a :class:`GeneralRounder`.

The sums' entry points are compiled loops.  The matmul entry points are
Python functions that choose, per call and thread, one of the compiled loops
below (``_*_loop``) and call it, so that a call compiles only the loop it takes.

How a matmul runs its partial sums
----------------------------------
Each matmul entry point picks, per call, the fastest loop that gives the
same bits (:class:`.schedule.Schedule` carries what the operands allow):

* **float32 lanes** (eight per AVX2 register, where float64 has four) when
  every product is exact in float32 and the format's grid is at least two
  bits coarser than float32's everywhere: TwoSum in float32 gives the exact
  sum as ``s + e``, and rounding it to odd *in float32* before rounding into
  the format gives the same result as the float64 round-to-odd (Boldo &
  Melquiond's theorem needs only those two bits).  The one exception is
  float32 itself to nearest even, which takes float32's own rounded sum
  (where grid rounding applies, that sum and nothing else: ``_narrow_sum``).
  Stochastic rounding stays in float64 lanes, whose random bits it draws.
* **grid rounding** (unchecked) when no partial sum can overflow, be inf or
  NaN, or fall into the accumulator's subnormal range: rounding is then an
  integer addition and a mask on the sum's bits (:class:`GridRounding`).
* otherwise the **checked** loop: the element kernels with every special
  case, as :func:`lowfloat.quantize` runs them.

All of them are tested bit for bit against a plain loop over the element
kernels (tests/test_matmul.py); any NaN equals any NaN there (IEEE 754 does
not specify a NaN's sign or payload through arithmetic).
"""

import math
from functools import cache
from typing import NamedTuple

import numpy as np

from ..formats import BUILTIN_FORMATS, Format
from ..rounding import rounding_rule
from .arith import add_to_odd
from .bitcast import bitcast
from .jit import njit
from .layout import Layout, Rounding, layout, rounding, width_constants
from .nearest import FastConstants, fast_constants, quantize_nearest
from .scalar import decode_bits, encode_bits, random_bits, random_stream, stream_bits
from .stochastic import quantize_stochastic
from .wrapping import wrapping_add, wrapping_mul

__all__ = ["GeneralRounder", "GridRounding", "Accumulator", "general_rounder", "accumulator", "sum_nearest",
           "sum_stochastic", "sum_general", "matmul_nearest", "matmul_directed", "matmul_stochastic",
           "matmul_general", "loops"]  # fmt: skip


class GeneralRounder(NamedTuple):
    """The general kernel's constants: the format's layout and the rounding."""

    layout: Layout
    rounding: Rounding
    narrow: int  # matmul: 1 if float32 lanes may round this (see _narrow_fits); sums ignore it


@njit(cache=True, nogil=True, inline="always")
def round_nearest(value, index, fast, key):
    """``value`` (float64) rounded to nearest even onto the format of ``fast``."""
    bits = bitcast(np.float64(value), np.uint64)
    return bitcast(quantize_nearest(bits, np.uint64, np.int64, np.float64, fast), np.float64)


@njit(cache=True, nogil=True, inline="always")
def round_stochastic(value, index, fast, key):
    """``value`` rounded stochastically with the random bits of ``index`` under ``key``."""
    bits = bitcast(np.float64(value), np.uint64)
    random = random_bits(index, key, np.uint64)
    return bitcast(quantize_stochastic(bits, random, np.uint64, np.int64, np.float64, fast), np.float64)


# Not inlined into the loops by Numba (LLVM may still inline it): the general element kernel
# then compiles once, not once per call site.
@njit(cache=True, nogil=True)
def round_general(value, index, rounder, key):
    """``value`` rounded by the general kernel, in any mode and format."""
    bits = bitcast(np.float64(value), np.uint64)
    lay = rounder.layout
    code = encode_bits(bits, np.uint64, np.int64, lay, rounder.rounding, random_bits(index, key, np.uint64))
    return bitcast(decode_bits(code, np.uint64, np.float64, lay), np.float64)


@njit(cache=True, nogil=True, inline="always")
def _toward_negative(rounder):
    """Whether a general rounder rounds toward -inf (an exact zero sum is -0 there, IEEE 754 6.3)."""
    rnd = rounder.rounding
    return (rnd.up_neg != 0) & (rnd.up_pos == 0) & (rnd.nearest == 0) & (rnd.stochastic == 0)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _add(acc_value, term, negative_zero, flush_below):
    """``RO(acc_value + term)``, each addend below ``flush_below`` counted as a zero of its sign (DAZ)."""
    a = math.copysign(0.0, acc_value) if abs(acc_value) < flush_below else acc_value
    b = math.copysign(0.0, term) if abs(term) < flush_below else term
    return add_to_odd(a, b, negative_zero)


@njit(cache=True, nogil=True, inline="always")
def _sum_rows(x, out, pairwise, round_fn, acc, negative_zero, flush_below, key):
    """``out[r]`` = the sum of row ``x[r]`` (float64, (rows, n)), every partial sum rounded.

    Sequential: ``s = -0``, then ``s = round(s + x[r, t])`` for t = 0, 1, ...
    Pairwise: level by level, ``round(v[2i] + v[2i+1])`` over adjacent pairs,
    an odd last element carried up unchanged, until one value is left; that
    value rounded is the sum (a single element is rounded, no element is
    rounded before it is added).  Partial sum number ``q`` of row ``r`` draws
    the random bits of index ``r * n + q``.
    """
    rows, n = x.shape
    buf = np.empty(n)
    for r in range(rows):
        base = r * n
        if n == 0:
            out[r] = 0.0
        elif not pairwise:
            s = -0.0  # the additive identity: an all -0 row sums to -0
            for t in range(n):
                s = round_fn(_add(s, x[r, t], negative_zero, flush_below), base + t, acc, key)
            out[r] = s
        else:
            for t in range(n):
                buf[t] = x[r, t]
            m = n
            node = 0
            while m > 1:
                half = m // 2
                for i in range(half):
                    pair = _add(buf[2 * i], buf[2 * i + 1], negative_zero, flush_below)
                    buf[i] = round_fn(pair, base + node, acc, key)
                    node += 1
                if m % 2 == 1:
                    buf[half] = buf[m - 1]
                m -= half
            out[r] = round_fn(buf[0], base + node, acc, key)


@njit(cache=True, nogil=True, error_model="numpy")
def sum_nearest(x, out, pairwise, flush_below, acc, key):
    """Rounded sums of the rows of ``x`` (see :func:`_sum_rows`), nearest even."""
    _sum_rows(x, out, pairwise, round_nearest, acc, False, flush_below, key)


@njit(cache=True, nogil=True, error_model="numpy")
def sum_stochastic(x, out, pairwise, flush_below, acc, key):
    """Rounded sums of the rows of ``x``, stochastic rounding's fast path."""
    _sum_rows(x, out, pairwise, round_stochastic, acc, False, flush_below, key)


@njit(cache=True, nogil=True, error_model="numpy")
def sum_general(x, out, pairwise, flush_below, acc, key):
    """Rounded sums of the rows of ``x``, any mode and format."""
    _sum_rows(x, out, pairwise, round_general, acc, _toward_negative(acc), flush_below, key)


# --------------------------------------------------------------------------------------------------
# matmul: the constants of the accumulator


class GridRounding(NamedTuple):
    """Rounding a sum onto the accumulator's grid by integer arithmetic on its bits, in one lane width.

    Where no partial sum can overflow, be inf or NaN, or fall into the
    accumulator's subnormal range (:class:`.schedule.Schedule` says when),
    rounding ``RO(acc + term)`` is: add an amount, clear the ``shift``
    dropped bits.  A carry walks into the exponent by itself; the sign bit is
    never reached.  The ``U`` fields are of the lane's unsigned type.
    """

    shift: object  # U  k: mantissa bits of the lane dropped on the accumulator's grid
    keep_mask: object  # U  clears the dropped bits (the sign kept)
    add_pos: object  # U  added to a positive sum's bits: half an ulp minus one (nearest), 2**k - 1 (up), 0 (down)
    add_neg: object  # U  the same for a negative sum
    lsb_mask: object  # U  1 for nearest even: the last kept bit is added too, so a tie goes to even
    sticky: object  # U  1: the sum is rounded to odd first; 0 for an accumulator as wide as the lane (float32)
    zero_sign: object  # U  the sign bit where an exact zero sum is -0 (toward negative), else 0


class Accumulator(NamedTuple):
    """The constants of the fast paths' matmul (nearest even, directed, stochastic), for one format and mode."""

    wide: FastConstants  # float64 lanes: the element kernels' constants (the checked loops)
    narrow: FastConstants  # float32 lanes: the same; a stand-in where narrow_ok is 0
    wide_grid: GridRounding  # float64 lanes, unchecked loops
    narrow_grid: GridRounding  # float32 lanes, unchecked loops
    general: GeneralRounder  # the general kernel (the directed path's checked loop)
    narrow_ok: int  # 1: float32 lanes round this format exactly (its grid two bits coarser, or float32 itself)
    grid_ok: int  # 1: grid rounding applies (signed, with -0: every format of the fast paths but fnuz)
    integer_only: int  # 1: in float32 lanes the grid rounding is exact down to zero (the format's subnormals
    #                    are float32's: bfloat16, E8M13); then only overflow needs ruling out


_FLT_MAX = float(np.finfo(np.float32).max)


def _narrow_fits(fmt: Format, rule) -> bool:
    """Whether RO in float32 keeps two bits below every spacing of ``fmt`` (or ``fmt`` is float32, to nearest).

    Rounding to odd in a float of ``p + 2`` or more significant bits and then
    into the format gives the exact sum rounded once (Boldo & Melquiond); a
    format of float32's own precision takes float32's own rounded sum, which
    is only right for round-to-nearest-even.  Stochastic rounding stays in
    float64 lanes: its random bits are drawn for float64 lanes.
    """
    if rule.stochastic or fmt.max > _FLT_MAX:
        return False
    if fmt.man_bits <= 21 and fmt.smallest_subnormal >= 2.0**-147:
        return True
    return fmt == BUILTIN_FORMATS["float32"] and rule.nearest and rule.ties == "even"


def _grid(fmt: Format, rule, dtype) -> GridRounding:
    """The :class:`GridRounding` of ``fmt`` in lanes of ``dtype`` (float32 or float64)."""
    uint = np.uint32 if np.dtype(dtype) == np.float32 else np.uint64
    lane_man = np.finfo(dtype).nmant
    shift = max(lane_man - fmt.man_bits, 0)
    up = (1 << shift) - 1
    if rule.nearest:
        add_pos = add_neg = (up >> 1) if rule.ties == "even" else (1 << shift >> 1)
    else:
        add_pos, add_neg = up if rule.up_positive else 0, up if rule.up_negative else 0
    sign = 1 << (8 * np.dtype(dtype).itemsize - 1)
    negative_zero = rule.up_negative and not rule.up_positive and not rule.nearest and not rule.stochastic
    return GridRounding(
        shift=uint(shift),
        keep_mask=uint(~up & (2 * sign - 1)),
        add_pos=uint(add_pos),
        add_neg=uint(add_neg),
        lsb_mask=uint(1 if rule.nearest and rule.ties == "even" and shift else 0),
        sticky=uint(1 if shift >= 2 else 0),
        zero_sign=uint(sign if negative_zero else 0),
    )


def general_rounder(fmt: Format, mode: str, rnd: Rounding) -> GeneralRounder:
    """The general kernel's constants for ``fmt`` and ``rnd``, the :class:`~.layout.Rounding` of ``mode``."""
    narrow = _narrow_fits(fmt, rounding_rule(mode, fmt)) and fmt.man_bits <= 21 and rnd.daz == 0
    return GeneralRounder(layout(fmt), rnd, np.int64(narrow))


@cache
def accumulator(fmt: Format, mode: str, overflow=None) -> Accumulator | None:
    """The :class:`Accumulator` of ``fmt`` rounded in ``mode``, or None where the fast paths do not serve it."""
    wide = fast_constants(fmt, overflow, np.float64)
    if wide is None:
        return None
    rule = rounding_rule(mode, fmt)
    narrow = fast_constants(fmt, overflow, np.float32)
    narrow_ok = narrow is not None and _narrow_fits(fmt, rule)
    if not narrow_ok:  # a stand-in of the same types, never used
        narrow = fast_constants(BUILTIN_FORMATS["bfloat16"], None, np.float32)
    return Accumulator(
        wide=wide,
        narrow=narrow,
        wide_grid=_grid(fmt, rule, np.float64),
        narrow_grid=_grid(fmt, rule, np.float32),
        general=general_rounder(fmt, mode, rounding(fmt, mode, overflow)),
        narrow_ok=np.int64(narrow_ok),
        grid_ok=np.int64(fmt.has_negative_zero),
        integer_only=np.int64(narrow_ok and narrow.min_normal == 0),
    )


# --------------------------------------------------------------------------------------------------
# matmul: one partial sum, as each loop computes it


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _two_sum(x, y):
    """``(s, e)``: ``s = RN(x + y)`` and its exact error ``e = x + y - s`` (Knuth's TwoSum), in x's float type."""
    s = x + y
    virtual_y = s - x
    return s, (x - (s - virtual_y)) + (y - virtual_y)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _odd_bits(s, e, sticky, U, I, F):
    """Bits of ``RO(s + e)`` from TwoSum's ``(s, e)``, or of ``s`` itself where ``sticky`` is 0.

    An inexact ``s`` moves to its odd neighbour on e's side: its last bit is
    set, after one step toward zero if ``e`` points there (an odd ``s`` comes
    back to itself, an even one lands on the odd one below).  A NaN ``e``
    (``s`` inf or NaN) counts as exact.
    """
    bits = bitcast(s, U)
    inexact = (e < F(0)) | (e > F(0))
    toward_zero = I(bitcast(e, I) ^ bitcast(s, I)) < I(0)
    down = sticky if inexact & toward_zero else U(0)
    return U(U(bits - down) | (sticky if inexact else U(0)))


@njit(cache=True, nogil=True, inline="always")
def _grid_even(bits, grid, U):
    """``bits`` rounded to nearest even onto the grid (:class:`GridRounding`)."""
    shift = U(grid.shift & U(width_constants(U)[0]))
    lsb = U(U(bits >> shift) & grid.lsb_mask)
    return U(U(bits + grid.add_pos + lsb) & grid.keep_mask)


@njit(cache=True, nogil=True, inline="always")
def _grid_signed(bits, grid, U, I):
    """``bits`` rounded onto the grid by the amount for its sign (directed modes, nearest away, any mode).

    An exact zero sum (bits +0) is -0 toward negative: the accumulator starts
    at -0 and every zero sum of opposite signs is -0 there, so a +0 never
    enters a sum (IEEE 754 6.3).
    """
    shift = U(grid.shift & U(width_constants(U)[0]))
    add = grid.add_neg if I(bits) < I(0) else grid.add_pos
    lsb = U(U(bits >> shift) & grid.lsb_mask)
    rounded = U(U(bits + add + lsb) & grid.keep_mask)
    return U(rounded | (grid.zero_sign if bits == U(0) else U(0)))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _odd_sum(x, y, sticky, U, I, F):
    """Bits of ``RO(x + y)`` (of ``RN(x + y)`` where ``sticky`` is 0), for sums that are finite."""
    s, e = _two_sum(x, y)
    return _odd_bits(s, e, sticky, U, I, F)


# The steps of the unchecked loops, one per lane width and rounding (the loop passes no types)
@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _narrow_grid_even(x, y, index, counter, schedule, acc, key):
    bits = _odd_sum(x, y, acc.narrow_grid.sticky, np.uint32, np.int32, np.float32)
    return bitcast(_grid_even(bits, acc.narrow_grid, np.uint32), np.float32)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _narrow_sum(x, y, index, counter, schedule, acc, key):
    """float32's own sum: :func:`_narrow_grid_even` of the float32 accumulator, whose grid drops no bit.

    There ``shift`` and ``sticky`` are 0, so the grid rounding returns
    TwoSum's ``s`` unchanged; the loop is the plain float32 loop it equals,
    a third of the instructions.
    """
    return x + y


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _narrow_grid_signed(x, y, index, counter, schedule, acc, key):
    bits = _odd_sum(x, y, acc.narrow_grid.sticky, np.uint32, np.int32, np.float32)
    return bitcast(_grid_signed(bits, acc.narrow_grid, np.uint32, np.int32), np.float32)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _wide_grid_even(x, y, index, counter, schedule, acc, key):
    bits = _odd_sum(x, y, acc.wide_grid.sticky, np.uint64, np.int64, np.float64)
    return bitcast(_grid_even(bits, acc.wide_grid, np.uint64), np.float64)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _wide_grid_signed(x, y, index, counter, schedule, acc, key):
    bits = _odd_sum(x, y, acc.wide_grid.sticky, np.uint64, np.int64, np.float64)
    return bitcast(_grid_signed(bits, acc.wide_grid, np.uint64, np.int64), np.float64)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _wide_grid_stochastic(x, y, index, counter, schedule, acc, key):
    """Stochastic rounding on the grid: add the top ``k`` bits of ``~random``, clear the ``k`` dropped bits.

    :mod:`.stochastic`'s rule where the sum is in the accumulator's normal
    range (there its ``es`` is ``k``), with the same random bits.
    """
    grid = acc.wide_grid
    bits = _odd_sum(x, y, grid.sticky, np.uint64, np.int64, np.float64)
    random = stream_bits(counter, np.uint64(0), key, np.uint64)  # random_bits(index, key, np.uint64)
    add = np.uint64(np.uint64(~random) >> np.uint64(np.uint64(64) - grid.shift))  # k >= 1 for every format here
    return bitcast(np.uint64(np.uint64(bits + add) & grid.keep_mask), np.float64)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _narrow_odd(x, y, flush_below, negative_zero, sticky):
    """Bits of ``RO(x + y)`` in float32 (of ``RN(x + y)`` where ``sticky`` is 0), as :func:`.arith.add_to_odd`.

    Each addend below ``flush_below`` counts as a zero of its sign (DAZ); a
    finite sum beyond float32 becomes ``+-FLT_MAX`` (odd, beyond every format
    rounded from it; where ``sticky`` is 0, float32's own rounding to nearest
    already gave the right infinity); an exact zero sum of opposite signs is
    -0 toward negative (``negative_zero``).
    """
    zero = np.float32(0)
    x = np.float32(math.copysign(zero, x)) if abs(x) < flush_below else x
    y = np.float32(math.copysign(zero, y)) if abs(y) < flush_below else y
    s, e = _two_sum(x, y)
    bits = _odd_bits(s, e, sticky, np.uint32, np.int32, np.float32)
    sign = np.uint32(bits & np.uint32(0x80000000))
    overflowed = (abs(s) == np.float32(np.inf)) & (abs(x) < np.float32(np.inf)) & (abs(y) < np.float32(np.inf))
    bits = np.uint32(sign | np.uint32(0x7F7FFFFF)) if overflowed & (sticky != np.uint32(0)) else bits
    opposite = (bitcast(x, np.int32) ^ bitcast(y, np.int32)) < np.int32(0)
    return np.uint32(0x80000000) if (s == zero) & opposite & negative_zero else bits


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _narrow_nearest(x, y, index, counter, schedule, acc, key):
    bits = _narrow_odd(x, y, np.float32(schedule.flush_below), False, acc.narrow_grid.sticky)
    return bitcast(quantize_nearest(bits, np.uint32, np.int32, np.float32, acc.narrow), np.float32)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _narrow_general(x, y, index, counter, schedule, rounder, key):
    lay = rounder.layout  # rounder.narrow: a deterministic mode, two bits to spare below float32's
    bits = _narrow_odd(x, y, np.float32(schedule.flush_below), _toward_negative(rounder), np.uint32(1))
    code = encode_bits(bits, np.uint32, np.int32, lay, rounder.rounding, np.uint32(0))
    return bitcast(decode_bits(code, np.uint32, np.float32, lay), np.float32)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _wide_nearest(x, y, index, counter, schedule, acc, key):
    return round_nearest(_add(x, y, False, schedule.flush_below), index, acc.wide, key)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _wide_stochastic(x, y, index, counter, schedule, acc, key):
    return round_stochastic(_add(x, y, False, schedule.flush_below), index, acc.wide, key)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _wide_general(x, y, index, counter, schedule, rounder, key):
    return round_general(_add(x, y, _toward_negative(rounder), schedule.flush_below), index, rounder, key)


# --------------------------------------------------------------------------------------------------
# matmul: the loops

#: Tile of the loops: rows of ``a``, columns of ``b`` and products per pass.  A panel of b
#: (K_TILE x J_TILE float32, 256 KiB) stays in a core's L2 while the rows of a tile take it in
#: turn; each row's partial sums (J_TILE lanes) stay in L1.
R_TILE, J_TILE, K_TILE = 16, 256, 256


# Not inlined: once every `chunk` products, it need not be compiled into every loop.
@njit(cache=True, nogil=True, error_model="numpy")
def _promote(part, total, main):
    """``total += part`` rounded to nearest even into float32 (``main``), and the partial sums restarted."""
    for j in range(part.size):
        total[j] = round_nearest(add_to_odd(total[j], np.float64(part[j]), False), 0, main, 0)
        part[j] = -0.0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _update(part, a_it, b_row, first, k_len, step, schedule, constants, key, F):
    """``part[j] = step(part[j], a_it * b_row[j])``: one product added into a row of partial sums (SIMD over j).

    Partial sum j is element ``first + j * k_len`` of the random stream:
    its counter (float64 lanes' Weyl sequence, :func:`.scalar.random_stream`)
    steps by ``k_len`` elements from one j to the next, an addition the loop
    carries in SIMD lanes instead of a 64-bit multiplication per element.
    """
    n, counter, step_one, salt = random_stream(first, 1, key, np.uint64)
    stride = wrapping_mul(step_one, np.uint64(k_len))
    for j in range(part.size):
        part[j] = step(part[j], a_it * F(b_row[j]), first + j * k_len, counter, schedule, constants, key)
        counter = wrapping_add(counter, stride)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _matmul(a, b, out, start, stop, schedule, step, constants, key, F):
    """Rows ``start <= r < stop`` of ``out`` (``r = p * m + i``), every partial sum rounded by ``step``.

    a (batch, m, k) and b (batch, k, n) float32, out (batch, m, n) float64,
    all C-contiguous; ``F`` is the lanes' float type (float32 or float64).
    For each output element: ``part = step(part, a[i, t] * b[t, j])`` over t
    in order, the product exact in ``F``, starting from -0 and restarting
    every ``schedule.chunk`` products; with ``schedule.promote`` each finished
    ``part`` is added into a float32 total (nearest even).  The loops are
    tiled (:data:`R_TILE` rows, :data:`J_TILE` columns, :data:`K_TILE`
    products a pass) and the innermost runs over a row of partial sums in
    SIMD lanes; each element still sees its terms in the order t = 0, 1, ...
    Partial sum (p, i, j, t) draws the random bits of index
    ``((p * m + i) * n + j) * k + t``, which no tiling or thread split changes.
    """
    m, k_len = a.shape[1], a.shape[2]
    n = b.shape[2]
    width = max(min(n, J_TILE), 1)
    part = np.empty((R_TILE, width), F)
    total = np.empty((R_TILE, width))
    for r0 in range(start, stop, R_TILE):
        r1 = min(r0 + R_TILE, stop)
        for j0 in range(0, n, width):
            j1 = min(j0 + width, n)
            part.reshape(-1)[:] = -0.0
            total.reshape(-1)[:] = -0.0
            for t0 in range(0, k_len, K_TILE):
                t1 = min(t0 + K_TILE, k_len)
                for r in range(r0, r1):
                    p = r // m
                    i = r - p * m
                    row = part[r - r0, : j1 - j0]
                    for t in range(t0, t1):
                        if (schedule.promote != 0) and t > 0 and t % schedule.chunk == 0:
                            _promote(row, total[r - r0, : j1 - j0], schedule.promotion)
                        first = (r * n + j0) * k_len + t
                        _update(row, F(a[p, i, t]), b[p, t, j0:j1], first, k_len, step, schedule, constants, key, F)
            for r in range(r0, r1):
                p = r // m
                i = r - p * m
                row = part[r - r0, : j1 - j0]
                if schedule.promote != 0:
                    _promote(row, total[r - r0, : j1 - j0], schedule.promotion)
                    for j in range(j1 - j0):
                        out[p, i, j0 + j] = total[r - r0, j]
                else:
                    for j in range(j1 - j0):
                        out[p, i, j0 + j] = row[j]


# The loops, each a function of its own with its step fixed: compiled (and cached) one by one, which
# LLVM optimises in a fraction of the time one entry point holding all of them took (30 s cold), and
# shared by the entry points that run the same loop (the general kernel's, by directed and general).
@njit(cache=True, nogil=True, error_model="numpy")
def _narrow_grid_even_loop(a, b, out, start, stop, schedule, constants, key):
    _matmul(a, b, out, start, stop, schedule, _narrow_grid_even, constants, key, np.float32)


@njit(cache=True, nogil=True, error_model="numpy")
def _narrow_sum_loop(a, b, out, start, stop, schedule, constants, key):
    _matmul(a, b, out, start, stop, schedule, _narrow_sum, constants, key, np.float32)


@njit(cache=True, nogil=True, error_model="numpy")
def _narrow_grid_signed_loop(a, b, out, start, stop, schedule, constants, key):
    _matmul(a, b, out, start, stop, schedule, _narrow_grid_signed, constants, key, np.float32)


@njit(cache=True, nogil=True, error_model="numpy")
def _narrow_nearest_loop(a, b, out, start, stop, schedule, constants, key):
    _matmul(a, b, out, start, stop, schedule, _narrow_nearest, constants, key, np.float32)


@njit(cache=True, nogil=True, error_model="numpy")
def _narrow_general_loop(a, b, out, start, stop, schedule, constants, key):
    _matmul(a, b, out, start, stop, schedule, _narrow_general, constants, key, np.float32)


@njit(cache=True, nogil=True, error_model="numpy")
def _wide_grid_even_loop(a, b, out, start, stop, schedule, constants, key):
    _matmul(a, b, out, start, stop, schedule, _wide_grid_even, constants, key, np.float64)


@njit(cache=True, nogil=True, error_model="numpy")
def _wide_grid_signed_loop(a, b, out, start, stop, schedule, constants, key):
    _matmul(a, b, out, start, stop, schedule, _wide_grid_signed, constants, key, np.float64)


@njit(cache=True, nogil=True, error_model="numpy")
def _wide_grid_stochastic_loop(a, b, out, start, stop, schedule, constants, key):
    _matmul(a, b, out, start, stop, schedule, _wide_grid_stochastic, constants, key, np.float64)


@njit(cache=True, nogil=True, error_model="numpy")
def _wide_nearest_loop(a, b, out, start, stop, schedule, constants, key):
    _matmul(a, b, out, start, stop, schedule, _wide_nearest, constants, key, np.float64)


@njit(cache=True, nogil=True, error_model="numpy")
def _wide_stochastic_loop(a, b, out, start, stop, schedule, constants, key):
    _matmul(a, b, out, start, stop, schedule, _wide_stochastic, constants, key, np.float64)


@njit(cache=True, nogil=True, error_model="numpy")
def _wide_general_loop(a, b, out, start, stop, schedule, constants, key):
    _matmul(a, b, out, start, stop, schedule, _wide_general, constants, key, np.float64)


@njit(cache=True, nogil=True, error_model="numpy")
def _keeps_subnormals(probe):
    """Whether this thread's FPU adds float32 subnormals exactly (no flush-to-zero or denormals-are-zero).

    Some libraries set those flags for a whole thread; float32 lanes then
    give way to float64 ones, where no sum of products of float32 values is
    ever subnormal.  ``probe`` is a float32 subnormal handed in at run time,
    so that the compiler cannot fold the test away.
    """
    return probe + probe > np.float32(0)


def _lanes(schedule, acc) -> tuple[bool, bool]:
    """``(narrow, grid)``: float32 lanes, and the unchecked grid rounding (:class:`.schedule.Schedule`).

    Called on the thread that runs the loop: the FPU state is per thread.
    """
    narrow = bool(schedule.narrow and acc.narrow_ok and _keeps_subnormals(schedule.probe))
    exact_to_zero = narrow and acc.integer_only and schedule.flush_below == 0.0
    grid = bool(schedule.bounded and acc.grid_ok and (schedule.normal or exact_to_zero))
    return narrow, grid


# The entry points choose a loop in Python, per call and thread: only the loops a call takes get
# compiled (each one a few seconds without the disk cache), and the choice costs a microsecond.
def matmul_nearest(a, b, out, start, stop, schedule, acc, key):
    """Rounded-accumulation matmul (see :func:`_matmul`), accumulator rounded to nearest even."""
    narrow, grid = _lanes(schedule, acc)
    if narrow and grid:
        loop = _narrow_sum_loop if acc.narrow_grid.shift == 0 else _narrow_grid_even_loop
    elif narrow:
        loop = _narrow_nearest_loop
    else:
        loop = _wide_grid_even_loop if grid and schedule.normal else _wide_nearest_loop
    loop(a, b, out, start, stop, schedule, acc, key)


def matmul_directed(a, b, out, start, stop, schedule, acc, key):
    """Rounded-accumulation matmul in a directed mode or nearest away (any deterministic mode)."""
    narrow, grid = _lanes(schedule, acc)
    if narrow and grid:
        _narrow_grid_signed_loop(a, b, out, start, stop, schedule, acc, key)
    elif narrow:
        _narrow_general_loop(a, b, out, start, stop, schedule, acc.general, key)
    elif grid and schedule.normal:
        _wide_grid_signed_loop(a, b, out, start, stop, schedule, acc, key)
    else:
        _wide_general_loop(a, b, out, start, stop, schedule, acc.general, key)


def matmul_stochastic(a, b, out, start, stop, schedule, acc, key):
    """Rounded-accumulation matmul, accumulator rounded stochastically (float64 lanes: their random bits)."""
    grid = schedule.bounded and acc.grid_ok and schedule.normal
    loop = _wide_grid_stochastic_loop if grid else _wide_stochastic_loop
    loop(a, b, out, start, stop, schedule, acc, key)


def matmul_general(a, b, out, start, stop, schedule, rounder, key):
    """Rounded-accumulation matmul, accumulator rounded by the general kernel (every mode and format)."""
    narrow = schedule.narrow and rounder.narrow and _keeps_subnormals(schedule.probe)
    loop = _narrow_general_loop if narrow else _wide_general_loop
    loop(a, b, out, start, stop, schedule, rounder, key)


def loops(entry, constants) -> list:
    """``(loop, constants)``: every compiled loop the entry point ``entry`` may call, and what it passes it.

    The entry points choose among these per call (above); :func:`lowfloat.warmup` compiles them all.
    ``constants`` is the entry point's own (an :class:`Accumulator`, or a :class:`GeneralRounder`).

    >>> import numpy as np, lowfloat as lf
    >>> from lowfloat.kernels.plan import plan
    >>> chosen = plan("matmul", lf.get_format("bf16"), np.dtype(np.float64), "toward_zero")
    >>> [loop.__name__ for loop, _ in loops(chosen.kernel, *chosen.constants)]
    ['_narrow_grid_signed_loop', '_narrow_general_loop', '_wide_grid_signed_loop', '_wide_general_loop']
    """
    if entry is matmul_nearest:
        names = (_narrow_sum_loop, _narrow_grid_even_loop, _narrow_nearest_loop, _wide_grid_even_loop,
                 _wide_nearest_loop)
        return [(loop, constants) for loop in names]
    if entry is matmul_directed:
        return [(_narrow_grid_signed_loop, constants), (_narrow_general_loop, constants.general),
                (_wide_grid_signed_loop, constants), (_wide_general_loop, constants.general)]  # fmt: skip
    if entry is matmul_stochastic:
        return [(_wide_grid_stochastic_loop, constants), (_wide_stochastic_loop, constants)]
    if entry is matmul_general:
        return [(_narrow_general_loop, constants), (_wide_general_loop, constants)]
    raise ValueError(f"{entry!r} is not a matmul entry point")
