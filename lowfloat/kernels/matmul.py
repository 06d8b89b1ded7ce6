"""Accumulation kernels: sums and matrix products with every partial sum rounded.

Every partial sum is ``round(RO(acc + term))``: the exact sum rounded to odd
in float64 (:func:`.arith.add_to_odd`), then once into the accumulator's
format -- the exact sum rounded once.  Products of float32 values are exact
in float64.  Rounding a value here runs exactly the element kernels
:func:`lowfloat.quantize` runs, one entry point per path (chosen by
:func:`lowfloat.kernels.plan.plan`):

* ``*_nearest``: nearest even, the constants a :class:`.nearest.FastConstants`;
* ``*_stochastic``: the stochastic fast path, the same constants;
* ``*_general``: every other mode and format, the constants a :class:`GeneralRounder`.
"""

import math
from typing import NamedTuple

import numpy as np

from .arith import add_to_odd
from .bitcast import bitcast
from .jit import njit
from .layout import Layout, Rounding
from .nearest import quantize_nearest
from .scalar import decode_bits, encode_bits, random_bits
from .stochastic import quantize_stochastic

__all__ = ["GeneralRounder", "sum_nearest", "sum_stochastic", "sum_general", "matmul_nearest", "matmul_stochastic",
           "matmul_general"]  # fmt: skip


class GeneralRounder(NamedTuple):
    """The general kernel's constants: the format's layout and the rounding."""

    layout: Layout
    rounding: Rounding


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


@njit(cache=True, nogil=True, inline="always")
def _matmul(a, b, out, chunk, promote, main, flush_below, round_fn, acc, negative_zero, key):
    """``out[p] = a[p] @ b[p]`` with rounded accumulation.

    a (batch, m, k), b (batch, k, n), out (batch, m, n): float64, C-contiguous.
    For each output element: ``part = round_acc(part + a[i, t] * b[t, j])``
    over t in order (the product is exact), starting from -0 and restarting
    every ``chunk`` terms; with ``promote`` each finished ``part`` is added
    into ``main``, rounded to nearest even with ``main`` (float32's fast
    constants).  Addends below ``flush_below`` count as zeros (DAZ; 0 for
    none).  The loops run i, t, j so that the innermost one updates a row of
    accumulators in SIMD lanes; each element still sees its terms in the
    order t = 0, 1, ...  Partial sum (p, i, j, t) draws the random bits of
    index ``((p * m + i) * n + j) * k + t``.
    """
    batch, m, k_len = a.shape
    n = b.shape[2]
    part = np.empty(n)
    total = np.empty(n)
    for p in range(batch):
        for i in range(m):
            total[:] = -0.0
            for k0 in range(0, max(k_len, 1), chunk):
                part[:] = -0.0
                for t in range(k0, min(k0 + chunk, k_len)):
                    a_it = a[p, i, t]
                    b_row = b[p, t]
                    base = ((p * m + i) * n) * k_len + t
                    for j in range(n):
                        term = _add(part[j], a_it * b_row[j], negative_zero, flush_below)
                        part[j] = round_fn(term, base + j * k_len, acc, key)
                if promote:
                    for j in range(n):
                        total[j] = round_nearest(add_to_odd(total[j], part[j], False), 0, main, key)
            for j in range(n):
                out[p, i, j] = total[j] if promote else part[j]


@njit(cache=True, nogil=True, error_model="numpy")
def matmul_nearest(a, b, out, chunk, promote, main, flush_below, acc, key):
    """Rounded-accumulation matmul (see :func:`_matmul`), accumulator rounded to nearest even."""
    _matmul(a, b, out, chunk, promote, main, flush_below, round_nearest, acc, False, key)


@njit(cache=True, nogil=True, error_model="numpy")
def matmul_stochastic(a, b, out, chunk, promote, main, flush_below, acc, key):
    """Rounded-accumulation matmul, accumulator rounded stochastically (the fast path)."""
    _matmul(a, b, out, chunk, promote, main, flush_below, round_stochastic, acc, False, key)


@njit(cache=True, nogil=True, error_model="numpy")
def matmul_general(a, b, out, chunk, promote, main, flush_below, acc, key):
    """Rounded-accumulation matmul, accumulator rounded by the general kernel."""
    _matmul(a, b, out, chunk, promote, main, flush_below, round_general, acc, _toward_negative(acc), key)
