"""Accumulation kernels: sums, dot products and matrix products with every partial sum rounded.

A *rounder* is the tuple ``(lay, rnd, fast, use_fast)`` that
:func:`lowfloat.codec._kernel_setup` builds for float64 data: the layout and
rounding tuples of :mod:`.layout`, the nearest-even constants of
:mod:`.nearest`, and which element kernel applies (1 nearest-even fast path,
2 stochastic fast path, 0 the general one).  Rounding a value here calls
exactly the element kernels :func:`lowfloat.quantize` runs.

Every partial sum is ``round(RO(acc + term))``: the exact sum rounded to odd
in float64 (:func:`.arith.add_to_odd`), then once into the format -- the
exact sum rounded once.  Products of float32 values are exact in float64.
"""

import numpy as np

from .arith import add_to_odd
from .bitcast import bitcast
from .jit import njit
from .nearest import quantize_nearest
from .scalar import decode_bits, encode_bits, random_bits
from .stochastic import quantize_stochastic

__all__ = ["round_value", "add_round", "sum_rows", "matmul_kernel"]


# Not inlined into the kernels by Numba (LLVM may still inline it): each of the three element
# kernels it dispatches to then compiles once, not once per call site -- minutes of compile time.
@njit(cache=True, nogil=True)
def round_value(value, index, rounder, key):
    """``value`` (float64) rounded onto the rounder's format; ``index`` seeds stochastic rounding."""
    lay, rnd, fast, use_fast = rounder
    bits = bitcast(np.float64(value), np.uint64)
    if use_fast == 1:
        rounded = quantize_nearest(bits, np.uint64, np.int64, np.float64, fast)
    elif use_fast == 2:
        random = random_bits(index, key, np.uint64)
        rounded = quantize_stochastic(bits, random, np.uint64, np.int64, np.float64, lay, fast)
    else:
        code = encode_bits(bits, np.uint64, np.int64, lay, rnd, index, key)
        rounded = decode_bits(code, np.uint64, np.float64, lay, rnd[0])
    return bitcast(rounded, np.float64)


@njit(cache=True, nogil=True, error_model="numpy")
def add_round(acc, term, index, rounder, key):
    """``acc + term`` computed exactly and rounded once onto the rounder's format."""
    return round_value(add_to_odd(acc, term), index, rounder, key)


@njit(cache=True, nogil=True, error_model="numpy")
def sum_rows(x, out, pairwise, rounder, key):
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
                s = add_round(s, x[r, t], base + t, rounder, key)
            out[r] = s
        else:
            for t in range(n):
                buf[t] = x[r, t]
            m = n
            node = 0
            while m > 1:
                half = m // 2
                for i in range(half):
                    buf[i] = add_round(buf[2 * i], buf[2 * i + 1], base + node, rounder, key)
                    node += 1
                if m % 2 == 1:
                    buf[half] = buf[m - 1]
                m -= half
            out[r] = round_value(buf[0], base + node, rounder, key)


@njit(cache=True, nogil=True, error_model="numpy")
def matmul_kernel(a, b, out, chunk, promote, acc_rounder, main_rounder, out_rounder, key):
    """``out[p] = a[p] @ b[p]`` with rounded accumulation.

    a (batch, m, k), b (batch, k, n), out (batch, m, n): float64, C-contiguous.
    For each output element: ``part = round_acc(part + a[i, t] * b[t, j])``
    over t in order (the product is exact), restarting from -0 every
    ``chunk`` terms; with ``promote`` each finished ``part`` is added into
    ``main`` with ``main_rounder`` (float32); finally the result (``main`` or
    ``part``) is rounded with ``out_rounder``.  The loops run i, t, j so that
    the innermost one updates a row of accumulators in SIMD lanes; each
    element still sees its terms in the order t = 0, 1, ...  Partial sum
    (p, i, j, t) draws the random bits of index ``((p * m + i) * n + j) * k + t``.
    """
    batch, m, k_len = a.shape
    n = b.shape[2]
    part = np.empty(n)
    main = np.empty(n)
    use_fast = acc_rounder[3]
    fast = acc_rounder[2]
    for p in range(batch):
        for i in range(m):
            main[:] = -0.0
            for k0 in range(0, max(k_len, 1), chunk):
                part[:] = -0.0
                for t in range(k0, min(k0 + chunk, k_len)):
                    a_it = a[p, i, t]
                    b_row = b[p, t]
                    if use_fast == 1:  # nearest-even: the branch-free fast path, vectorised over j
                        for j in range(n):
                            bits = bitcast(add_to_odd(part[j], a_it * b_row[j]), np.uint64)
                            part[j] = bitcast(quantize_nearest(bits, np.uint64, np.int64, np.float64, fast), np.float64)
                    elif use_fast == 2:  # stochastic: its fast path, inlined (a call per element costs 5x)
                        base = ((p * m + i) * n) * k_len + t
                        lay = acc_rounder[0]
                        for j in range(n):
                            bits = bitcast(add_to_odd(part[j], a_it * b_row[j]), np.uint64)
                            random = random_bits(base + j * k_len, key, np.uint64)
                            rounded = quantize_stochastic(bits, random, np.uint64, np.int64, np.float64, lay, fast)
                            part[j] = bitcast(rounded, np.float64)
                    else:
                        base = ((p * m + i) * n) * k_len + t
                        for j in range(n):
                            part[j] = add_round(part[j], a_it * b_row[j], base + j * k_len, acc_rounder, key)
                if promote:
                    for j in range(n):
                        main[j] = add_round(main[j], part[j], 0, main_rounder, key)
            for j in range(n):
                out[p, i, j] = round_value(main[j] if promote else part[j], 0, out_rounder, key)
