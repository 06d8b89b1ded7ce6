"""Sums, dot products and matrix products with a low-precision accumulator.

Hardware that accumulates in a narrow format rounds *every partial sum*, so
the order of the additions is part of the result.  These functions state
their order exactly and round each partial sum once (the exact sum of the
accumulator and the next term, rounded into the format), so their results
are reproducible bit for bit and can be checked against a plain loop.

* :func:`sum` -- ``order="sequential"`` (left to right) or ``"pairwise"``
  (adjacent pairs, level by level).
* :func:`dot` -- the sum of the exact products ``a[..., i] * b[..., i]``.
* :func:`matmul` -- ``a @ b`` with an ``accumulate`` format, optionally
  promoted into float32 every ``promote_every`` products, as DeepSeek-V3
  does to work around the ~14-bit accumulation of Hopper's FP8 tensor cores.

dot and matmul take their operands as given -- round them onto a format
first with :func:`lowfloat.quantize` -- and need values that float32 holds
exactly, so that every product is exact in float64.

Accumulator formats may reach float64's range and precision up to 51
significand bits: each partial sum is rounded to odd in float64 first, which
keeps the one rounding into the accumulator exact only up to 51 bits.
"""

from __future__ import annotations

import numpy as np

from .arrays import as_real_array, check_out, exact_float64, result_dtype
from .codec import quantize
from .formats import get_format
from .kernels import threads
from .kernels.plan import plan
from .kernels.schedule import schedule
from .kernels.widen import ODD_PRECISION
from .options import rounding_options

__all__ = ["sum", "dot", "matmul"]

ORDERS = ("sequential", "pairwise")

#: Smallest matmul (multiply-adds) whose rows are split across threads: below it, handing work to
#: the pool (about 0.2 ms) costs more than it saves (kernels/bench_matmul.py --threshold; see
#: kernels/README.md).
PARALLEL_MIN_PRODUCTS = 1 << 21


def _check_options(fmt, order, rounding, overflow, ftz, daz, rng):
    """Validate the rounding options and order."""
    if not isinstance(order, str) or order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; expected one of {', '.join(ORDERS)}")
    _check_accumulator(fmt)
    return rounding_options(fmt, rounding, overflow, ftz, daz, rng)


def _check_accumulator(fmt):
    """Refuse an accumulator format that a partial sum rounded to odd in float64 cannot be rounded into once."""
    if fmt.precision_bits > ODD_PRECISION:
        raise ValueError(
            f"{fmt.name} has {fmt.precision_bits} significand bits; partial sums are rounded to odd in float64 and "
            f"then into the accumulator, one exact rounding only for formats of up to {ODD_PRECISION} bits"
        )


def _plan(operation, fmt, options):
    """The accumulation kernel for these options; DAZ is applied to the addends by the kernel itself."""
    return plan(operation, fmt, np.float64, options.rounding, options.overflow, options.ftz)


def _flush_below(fmt, options) -> float:
    """DAZ: addends below the accumulator's smallest normal count as zero (0: nothing is flushed)."""
    return float(fmt.smallest_normal) if options.daz else 0.0


def _float32_values(x, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The user's array and its values as float64, refusing values float32 cannot hold exactly."""
    array = as_real_array(x, name)
    wide = exact_float64(array, name)
    if array.dtype not in (np.float16, np.float32) and wide.size:
        with np.errstate(over="ignore", invalid="ignore"):
            narrow = wide.astype(np.float32).astype(np.float64)
        bad = ~((narrow == wide) | np.isnan(wide))
        if bad.any():
            example = wide[bad].flat[0]
            raise ValueError(
                f"{name} holds values that float32 cannot hold exactly (e.g. {example!r}); products are formed "
                "exactly from float32 values -- round the operands onto a format first with lowfloat.quantize"
            )
    return array, wide


def _reduce_last(wide, fmt, order, options) -> np.ndarray:
    """Rounded sums over the last axis of a float64 array."""
    count = int(np.prod(wide.shape[:-1]))  # explicit: reshape(-1, 0) cannot infer -1
    rows = np.require(wide, requirements=["C", "W"]).reshape(count, wide.shape[-1])
    result = np.empty(rows.shape[0], np.float64)
    chosen = _plan("sum", fmt, options)
    with np.errstate(all="ignore"):  # IEEE special values are results here (only NUMBA_DISABLE_JIT=1 warns)
        chosen.kernel(rows, result, order == "pairwise", _flush_below(fmt, options), *chosen.constants, options.key)
    return result.reshape(wide.shape[:-1])


def _finish(result, dtype, out, fmt):
    """The result in ``dtype`` -- float64 where float32 cannot hold ``fmt``'s values -- or written into ``out``."""
    dtype = np.promote_types(dtype, fmt.value_dtype)
    if out is not None:
        check_out(out, result.shape, dtype)
        out[...] = result
        return out
    result = result.astype(dtype, copy=False)
    return result[()] if result.ndim == 0 else result


def sum(x, fmt, *, axis=None, order="sequential", rounding="nearest_even", overflow=None, ftz=False, daz=False,
        rng=None, out=None):  # fmt: skip
    """Sum with every partial sum rounded into ``fmt``, in a stated order.

    Parameters
    ----------
    x : array_like of real numbers
        Any real dtype; its values need not lie on ``fmt``'s grid.
    fmt : Format or str
        The accumulator's format.
    axis : None or int, optional
        The axis to sum over; None (default) sums the flattened array in C order.
    order : {"sequential", "pairwise"}, optional
        ``"sequential"``: ``s = -0``, then ``s = round(s + x[i])`` for i = 0,
        1, ..., n - 1.  ``"pairwise"``: the values are added in adjacent pairs,
        level by level -- ``round(v[0] + v[1]), round(v[2] + v[3]), ...`` --
        an odd last value carried up unchanged, until one value is left; that
        value, rounded, is the sum.  For 5 values: ``((x0 + x1) + (x2 + x3)) + x4``.
    rounding, overflow, ftz, rng
        How each partial sum is rounded, as in :func:`lowfloat.quantize`.
        Stochastic rounding draws for partial sum ``q`` of the ``r``-th sum
        (C order of the remaining axes) the random bits of index ``r * n + q``.
    daz : bool, optional
        Addends (values and partial sums) below ``fmt``'s smallest normal
        count as zeros of their sign, as in an adder with DAZ set.
    out : ndarray, optional
        Array of the result's shape and dtype to write into.

    Returns
    -------
    ndarray or numpy scalar
        The sums, on ``fmt``'s grid: float32 for float32-or-narrower input
        where float32 holds ``fmt``'s values, else float64.  An empty sum is +0.

    Raises
    ------
    TypeError
        ``x`` is not real, or ``axis`` is not an int.
    ValueError
        Unknown format, order, rounding or overflow policy; ``axis`` out of
        range; a format of more than 51 significand bits.

    Notes
    -----
    Each partial sum is the exact sum of the accumulator and the next value,
    rounded once: it is computed rounded to odd in float64 and then rounded
    into ``fmt`` (see :mod:`lowfloat.arith`).

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> x = np.full(10_000, 1e-4)
    >>> float(lf.sum(x, "fp16"))            # stagnates: 1e-4 is below half an ulp of 0.25
    0.25
    >>> float(lf.sum(x, "fp16", order="pairwise"))   # partial sums of similar size: no stagnation
    1.0
    >>> lf.sum([[1.0, 2**-8], [3.0, 4.0]], "bf16", axis=1)
    array([1., 7.])
    """
    fmt = get_format(fmt)
    options = _check_options(fmt, order, rounding, overflow, ftz, daz, rng)
    array = as_real_array(x)
    wide = exact_float64(array, "x")
    if axis is None:
        wide = wide.reshape(-1)
    else:
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"axis must be None or an int, got {axis!r}")
        if not -wide.ndim <= axis < wide.ndim:
            raise ValueError(f"axis {axis} is out of range for x with {wide.ndim} dimension(s)")
        wide = np.moveaxis(wide, int(axis), -1)
    return _finish(_reduce_last(wide, fmt, order, options), result_dtype([array]), out, fmt)


def dot(a, b, fmt, *, order="sequential", rounding="nearest_even", overflow=None, ftz=False, daz=False, rng=None,
        out=None):  # fmt: skip
    """Dot products over the last axis, every partial sum rounded into ``fmt``.

    ``dot(a, b, fmt)`` is ``sum(a * b, fmt, axis=-1, order=order)`` with the
    products ``a[..., i] * b[..., i]`` formed exactly (leading axes broadcast,
    as in :func:`numpy.vecdot`).

    Parameters
    ----------
    a, b : array_like of real numbers
        At least 1-D, the same length along the last axis; values that
        float32 holds exactly (quantize them first).
    fmt : Format or str
        The accumulator's format.
    order, rounding, overflow, ftz, daz, rng, out
        As for :func:`sum`.

    Returns
    -------
    ndarray or numpy scalar
        float32 when both inputs are float32 or narrower and float32 holds
        ``fmt``'s values, else float64; a scalar for 1-D inputs.

    Raises
    ------
    TypeError
        An input is not real.
    ValueError
        Scalars, unequal lengths, leading axes that do not broadcast, values
        float32 cannot hold, unknown format, order, rounding or overflow.

    Examples
    --------
    >>> import lowfloat as lf
    >>> a = [1.0, 2**-8, 2**-8, 2**-8, 2**-8]
    >>> b = [1.0, 1.0, 1.0, 1.0, 1.0]
    >>> float(lf.dot(a, b, "bf16"))  # 1 + 2**-8 is a tie in bfloat16: back to 1, four times
    1.0
    >>> float(lf.dot(a, b, "bf16", order="pairwise"))  # ((1 + a) + (a + a)) + a
    1.015625
    """
    fmt = get_format(fmt)
    options = _check_options(fmt, order, rounding, overflow, ftz, daz, rng)
    array_a, wide_a = _float32_values(a, "a")
    array_b, wide_b = _float32_values(b, "b")
    if wide_a.ndim == 0 or wide_b.ndim == 0:
        raise ValueError(f"dot needs arrays of at least one dimension, got shapes {wide_a.shape} and {wide_b.shape}")
    if wide_a.shape[-1] != wide_b.shape[-1]:
        raise ValueError(f"dot: the last axes differ in length: a {wide_a.shape}, b {wide_b.shape}")
    try:
        products = wide_a * wide_b  # exact: float32 values, float64 products
    except ValueError:
        raise ValueError(f"dot: the leading axes do not broadcast: a {wide_a.shape}, b {wide_b.shape}") from None
    return _finish(_reduce_last(products, fmt, order, options), result_dtype([array_a, array_b]), out, fmt)


def matmul(a, b, *, accumulate="float32", promote_every=None, rounding="nearest_even", overflow=None, ftz=False,
           daz=False, out_format=None, rng=None, out=None):  # fmt: skip
    """Matrix product with every partial sum rounded into an accumulator format.

    For each output element, the products ``a[..., i, t] * b[..., t, j]``
    are formed exactly and added in the order t = 0, 1, ..., K - 1 into an
    accumulator that starts at -0 and is rounded into ``accumulate`` after
    every addition.  With ``promote_every=N`` the accumulator is restarted
    every N products and each finished partial sum is added into a float32
    accumulator (rounded to nearest even) -- DeepSeek-V3's promotion of FP8
    GEMM partial sums out of the tensor cores' limited-precision accumulator.
    The result is rounded to nearest even into ``out_format``.

    Parameters
    ----------
    a, b : array_like of real numbers
        Shapes as for :func:`numpy.matmul`: any leading (batch) axes
        broadcast; a 1-D ``a`` is a row, a 1-D ``b`` a column, and that axis
        is removed from the result.  Values must be exactly representable in
        float32; they are used as given (quantize them first).
    accumulate : Format or str, optional
        The accumulator's format (default ``"float32"``), e.g. ``"bf16"`` or
        ``Format(exp_bits=8, man_bits=13, bias=127)`` for a 14-bit significand.
    promote_every : None or int, optional
        Products per partial sum before promotion into float32; None (default)
        accumulates all K products in ``accumulate``.
    rounding : str, optional
        How the accumulator is rounded (every mode of :func:`lowfloat.quantize`).
        Partial sum (p, i, j, t) of batch element p draws the random bits of
        index ``((p * M + i) * N + j) * K + t``.
    overflow : {None, "saturate", "inf", "nan"}, optional
        What an infinite partial sum becomes in ``accumulate``.
    ftz, daz : bool, optional
        Flush subnormal partial sums to zero; count addends below the
        accumulator's smallest normal as zero (as for :func:`sum`).
    out_format : Format or str, optional
        The format of the result (default float32).
    rng : None, int, numpy.random.Generator or numpy.random.SeedSequence
        Stochastic rounding only, as in :func:`lowfloat.quantize`.
    out : ndarray, optional
        Array of the result's shape and dtype to write into.

    Returns
    -------
    ndarray or numpy scalar
        Shape as :func:`numpy.matmul`'s; float32 when both inputs are float32
        or narrower and float32 holds ``out_format``'s values, else float64.

    Raises
    ------
    TypeError
        An input is not real, or ``promote_every`` is not an int.
    ValueError
        Scalars, mismatched inner dimensions, batch axes that do not
        broadcast, ``promote_every <= 0``, values float32 cannot hold, unknown
        formats, rounding or overflow; an ``accumulate`` format of more than
        51 significand bits.

    Notes
    -----
    With ``accumulate="float32"`` this is a float32 loop over t with a fused
    multiply-add, ``acc = fl32(acc + a * b)`` with the product exact; for
    operands whose products float32 holds exactly (bfloat16, FP8, ...) that is
    the plain float32 loop ``acc = np.float32(acc + a * b)``.

    The order of the additions is the only one stated above, whatever runs
    them: the partial sums of a row of outputs are rounded side by side in
    SIMD lanes (float32 lanes where every product is exact in float32), and
    products of ``PARALLEL_MIN_PRODUCTS`` multiply-adds or more are split
    across threads by rows of the result -- the same bits on any number of
    threads, stochastic rounding included.

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> a = np.ones((1, 4096), np.float32)
    >>> b = np.ones((4096, 1), np.float32)
    >>> lf.matmul(a, b, accumulate="bf16")      # bf16 cannot count past 256
    array([[256.]], dtype=float32)
    >>> lf.matmul(a, b, accumulate="bf16", promote_every=128)
    array([[4096.]], dtype=float32)
    """
    acc_fmt = get_format(accumulate)
    out_fmt = get_format("float32" if out_format is None else out_format)
    if promote_every is not None:
        if isinstance(promote_every, (bool, np.bool_)) or not isinstance(promote_every, (int, np.integer)):
            raise TypeError(f"promote_every must be None or a positive int, got {promote_every!r}")
        if promote_every <= 0:
            raise ValueError(f"promote_every must be a positive int, got {promote_every}")
    _check_accumulator(acc_fmt)
    options = rounding_options(acc_fmt, rounding, overflow, ftz, daz, rng)
    array_a, wide_a = _float32_values(a, "a")
    array_b, wide_b = _float32_values(b, "b")
    if wide_a.ndim == 0 or wide_b.ndim == 0:
        raise ValueError(f"matmul needs arrays of at least one dimension, got shapes {wide_a.shape} and {wide_b.shape}")
    a2 = wide_a[None, :] if wide_a.ndim == 1 else wide_a  # (..., m, k)
    b2 = wide_b[:, None] if wide_b.ndim == 1 else wide_b  # (..., k, n)
    m, k = a2.shape[-2:]
    n = b2.shape[-1]
    if b2.shape[-2] != k:
        raise ValueError(
            f"matmul: a has {k} columns but b has {b2.shape[-2]} rows (shapes {wide_a.shape} and {wide_b.shape})"
        )
    try:
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch axes do not broadcast (shapes {wide_a.shape} and {wide_b.shape})") from None
    count = int(np.prod(batch))
    # writeable C-contiguous float32 copies (exact: checked above): one compiled kernel, half the memory of float64
    a3 = np.require(np.broadcast_to(a2, batch + (m, k)), np.float32, ["C", "W"]).reshape(count, m, k)  # float32
    b3 = np.require(np.broadcast_to(b2, batch + (k, n)), np.float32, ["C", "W"]).reshape(count, k, n)  # float32
    result = np.empty((count, m, n), np.float64)
    chunk = max(k, 1) if promote_every is None else int(promote_every)
    with np.errstate(all="ignore"):  # IEEE special values are results here (only NUMBA_DISABLE_JIT=1 warns)
        chosen = _plan("matmul", acc_fmt, options)
        accumulation = schedule(a3, b3, acc_fmt, chunk, promote_every is not None, _flush_below(acc_fmt, options))
        # rows of the result split across threads when there is enough work; each row is computed alone
        min_rows = max(2, -(-PARALLEL_MIN_PRODUCTS // max(k * n, 1)))
        threads.run(chosen.kernel, count * m, (a3, b3, result), (accumulation, *chosen.constants, options.key),
                    min_size=min_rows)  # fmt: skip
    quantize(result, out_fmt, out=result)  # the result, rounded to nearest even into out_format
    result = result.reshape(batch + (m, n))
    if wide_a.ndim == 1:
        result = result[..., 0, :]
    if wide_b.ndim == 1:
        result = result[..., 0]
    return _finish(result, result_dtype([array_a, array_b]), out, out_fmt)
