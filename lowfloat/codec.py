"""encode, decode and quantize: the public casts.

Each function validates and normalises its arguments, allocates or checks
``out``, and hands 1-D contiguous arrays to a kernel in
:mod:`lowfloat.kernels`.  Every value is rounded exactly once, from the
input's own precision.
"""

from __future__ import annotations

import numpy as np

from .arrays import as_real_array, check_out, kernel_input, widen_float32
from .formats import get_format
from .interop import source_format
from .kernels.layout import bits_type
from .kernels.plan import plan
from .options import flags_target, rounding_options, write_flags

__all__ = ["encode", "decode", "quantize", "round_array"]

_SPECIAL_VALUE_NOTES = """
    Special values and overflow (see :mod:`lowfloat.rounding`):

    * NaN gives NaN wherever the format has NaN.
    * A value that rounds beyond the largest finite value, and +-inf, become
      +-inf for ``ieee`` formats, NaN for ``fn`` and ``fnuz`` formats and
      +-max for ``none`` formats -- the ONNX Cast table's non-saturating
      column, as ml_dtypes does.  ``overflow="saturate"`` gives +-max instead.
    * ``fnuz`` formats have no -0: negative values that round to zero give +0.
    * E8M0 (unsigned) has no zero and no negatives: 0, negatives and NaN give
      NaN; positive values below 2**-127 give 2**-127; ties round up.
"""


def _prepare_input(x, fmt, daz=False):
    """The user's array and the float32/float64 array the kernel reads."""
    array = as_real_array(x)
    src = kernel_input(array)
    source = source_format(x)  # bfloat16, FP8, ... of ml_dtypes or torch, decoded by as_real_array
    widened = source is not None or (array.dtype.kind == "f" and array.dtype != src.dtype)
    if daz and (widened or (not fmt.signed and src.dtype == np.float32)):
        # DAZ means the *input's* subnormals; once widened they are normal, so flush here
        tiny = source.smallest_normal if source is not None else np.finfo(array.dtype).smallest_normal
        src = np.where(np.abs(src) < tiny, np.copysign(src.dtype.type(0), src), src)
    if not fmt.signed and src.dtype == np.float32:
        # The kernel's bit arithmetic assumes normal inputs below the format's
        # normal range; E8M0 reaches 2**-127, inside float32's subnormals, so
        # widen (exactly) to float64, where every float32 is normal.
        src = widen_float32(src)
    return array, src


def _finish(result, out, array):
    """Copy into a non-contiguous ``out`` if needed; unwrap 0-d results to scalars."""
    if out is not None:
        if result is not out:
            out[...] = result
        return out
    return result[()] if array.ndim == 0 else result


def _target(out, shape, dtype):
    """Where the kernel writes: ``out`` itself when it is C-contiguous, else a new array."""
    if out is not None and out.flags.c_contiguous:
        return out
    return np.empty(shape, dtype)


def encode(x, fmt, *, rounding="nearest_even", overflow=None, ftz=False, daz=False, rng=None, sr_bits=None,
           flags=None, tininess="after", out=None):  # fmt: skip
    """Round real numbers once into a format and return their codes.

    Parameters
    ----------
    x : array_like of real numbers
        Any shape, strides or byte order; Python scalars and lists too.
        float32 and float64 are read as they are; other real dtypes are
        converted exactly (64-bit integers by rounding to odd, which keeps
        the single rounding into ``fmt`` exact).
    fmt : Format or str
        Target format, e.g. ``"float8_e4m3fn"`` or its alias ``"e4m3"``.
    rounding : str, optional
        ``"nearest_even"`` (default), ``"nearest_away"``, ``"toward_zero"``,
        ``"toward_positive"``, ``"toward_negative"`` or ``"stochastic"``.
    overflow : {None, "saturate", "inf", "nan"}, optional
        What an infinite result becomes; None is the format's default.
    ftz : bool, optional
        Flush to zero: results that would be subnormal in ``fmt`` become a
        zero of the input's sign (+0 where the format has no -0), as GPUs'
        and CPUs' FTZ flags do.  Rounding happens first: a value that rounds
        up to the smallest normal is kept.
    daz : bool, optional
        Denormals are zero: subnormal inputs -- of ``x``'s own float type --
        count as zeros of their sign.
    rng : None, int, numpy.random.Generator or numpy.random.SeedSequence
        Stochastic rounding only.  An int seed repeats its result; a
        Generator is advanced, so two calls differ; None draws fresh entropy.
        Element ``i`` (in C order) draws its random bits from (key, i) alone,
        so the result is the same for any number of threads.
    sr_bits : int, optional
        Stochastic rounding only: compare this many random bits with the top
        discarded bits, as hardware with a k-bit random number does (the
        up-probability is then truncated to k bits).  None: exact.
    flags : ndarray of uint8, optional
        Receives each element's IEEE exception flags, the bitwise OR of
        :data:`lowfloat.FLAG_INEXACT` (1), ``FLAG_UNDERFLOW`` (2),
        ``FLAG_OVERFLOW`` (4) and ``FLAG_INVALID`` (16), by the rules of
        :mod:`lowfloat.rounding` (SoftFloat's for IEEE formats).  Same shape
        as ``x``.  Calls without it run a kernel that computes no flags.
    tininess : {"after", "before"}, optional
        When a result counts as tiny for the underflow flag: after rounding
        (x86, the default) or before (ARM).
    out : ndarray, optional
        Array of shape ``x.shape`` and dtype ``fmt.code_dtype`` to write into.

    Returns
    -------
    ndarray or numpy scalar
        Codes, ``fmt.code_dtype`` (uint8 up to 8 bits, uint16 up to 16,
        else uint32), same shape as ``x``; a scalar for scalar input.

    Raises
    ------
    TypeError
        ``x`` is complex, boolean, object, string or datetime.
    ValueError
        Unknown format or rounding mode, impossible overflow policy, NaN
        into a format without NaN, or a bad ``out``.

    Notes
    -----
    {notes}
    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> lf.encode([0.1, 448.0, 464.0, 465.0], "e4m3")  # 464 is a tie: to even (448)
    array([ 29, 126, 126, 127], dtype=uint8)
    >>> lf.encode(1e6, "e4m3", overflow="saturate")
    np.uint8(126)
    >>> hex(lf.encode(np.float64(1 + 2**-4 + 2**-30), "e4m3"))  # one rounding: 1.125
    '0x39'
    >>> flags = np.empty(3, np.uint8)
    >>> lf.encode([1.0, 0.1, 1e6], "fp16", flags=flags), flags   # exact, INEXACT, OVERFLOW | INEXACT
    (array([15360, 11878, 31744], dtype=uint16), array([0, 1, 5], dtype=uint8))
    """
    fmt = get_format(fmt)
    options = rounding_options(fmt, rounding, overflow, ftz, daz, rng, sr_bits, tininess)
    return round_array(x, fmt, options, kind="encode", flags=flags, out=out)


def round_array(x, fmt, options, *, kind="quantize", flags=None, out=None):
    """encode (``kind="encode"``) or quantize ``x`` with validated :class:`~lowfloat.options.RoundingOptions`.

    The one kernel launch behind :func:`encode` and :func:`quantize`, and
    behind the modules that round their own intermediate results
    (:mod:`lowfloat.arith`), which validate the options once themselves.
    """
    array, src = _prepare_input(x, fmt, options.daz)
    uint = bits_type(src.dtype)
    # the kernel's DAZ flushes subnormals of the type it reads; inputs of a wider type
    # (long double) were flushed by _prepare_input and must not lose more
    kernel_daz = options.daz and array.dtype.itemsize <= src.dtype.itemsize
    flag_array = flags_target(flags, array.shape)
    chosen = plan(kind, fmt, src.dtype, options.rounding, options.overflow, options.ftz, kernel_daz, options.sr_bits,
                  flag_array is not None, options.tininess)  # fmt: skip
    if kind == "encode":
        if not fmt.has_nan and src.size and np.isnan(src).any():
            raise ValueError(
                f"x contains NaN, which {fmt.name} cannot encode (it has no NaN); quantize() keeps NaN as NaN in floats"
            )
        check_out(out, array.shape, fmt.code_dtype, src)
        result = _target(out, array.shape, fmt.code_dtype)
        dst = result.reshape(-1)
    else:
        single = array.dtype.kind == "f" and array.dtype.itemsize == 4  # float32 of either byte order
        out_dtype = np.dtype(np.float32) if single else np.dtype(np.float64)
        check_out(out, array.shape, out_dtype, src)
        same = src.dtype == out_dtype
        result = _target(out, array.shape, src.dtype) if same else np.empty(src.shape, src.dtype)
        dst = result.reshape(-1).view(uint)
    arrays = (src.reshape(-1).view(uint), dst) + (() if flag_array is None else (flag_array.reshape(-1),))
    chosen.run(arrays, src.size, options.key)
    write_flags(flags, flag_array)
    if kind != "encode" and result.dtype != out_dtype:
        with np.errstate(invalid="ignore"):  # exact: float32 -> float64, or back from E8M0's float64
            result = result.astype(out_dtype)
    return _finish(result, out, array)


def decode(codes, fmt, *, dtype=np.float32, out=None):
    """Return the exact values of codes.

    Parameters
    ----------
    codes : array_like of integers
        Codes in ``0 .. 2**fmt.bits - 1``, any integer dtype and shape.
    fmt : Format or str
    dtype : {numpy.float32, numpy.float64}, optional
        Type of the values; both hold every format's values exactly.
    out : ndarray, optional
        Array of shape ``codes.shape`` and dtype ``dtype`` to write into.

    Returns
    -------
    ndarray or numpy scalar

    Raises
    ------
    TypeError
        ``codes`` is complex, object, string or datetime.
    ValueError
        Codes that are not integers (floats, booleans) or are outside the
        format's range; an unsupported ``dtype``; a bad ``out``.

    Examples
    --------
    >>> import lowfloat as lf
    >>> lf.decode([0x1D, 0x7E, 0x7F, 0xFE], "e4m3").tolist()
    [0.1015625, 448.0, nan, -448.0]
    >>> lf.decode(0x7C, "e5m2")
    np.float32(inf)
    """
    fmt = get_format(fmt)
    if dtype is None or dtype not in (np.float32, np.float64, np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}")
    dtype = np.dtype(dtype)
    array = _as_codes(codes, fmt)
    src = np.ascontiguousarray(array, dtype=fmt.code_dtype)
    check_out(out, array.shape, dtype, src)
    result = _target(out, array.shape, dtype)
    plan("decode", fmt, dtype).run((src.reshape(-1), result.reshape(-1).view(bits_type(dtype))), src.size)
    return _finish(result, out, array)


def _as_codes(codes, fmt) -> np.ndarray:
    """``codes`` as an integer array, all within the format's range."""
    array = codes if isinstance(codes, np.ndarray) else np.asarray(codes)
    kind = array.dtype.kind
    if kind == "f" and array.size == 0:
        return array.astype(fmt.code_dtype)  # np.asarray([]) is float64: no codes, nothing to refuse
    if kind in "fb":
        raise ValueError(f"codes must be integers, got dtype {array.dtype}; use encode() for values")
    if kind != "i" and kind != "u":
        raise TypeError(f"codes has dtype {array.dtype}; expected integers")
    limit = 1 << fmt.bits
    fits = kind == "u" and array.dtype.itemsize * 8 <= fmt.bits
    if not fits and array.size:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= limit:
            bad = low if low < 0 else high
            raise ValueError(f"code {bad} is outside 0..{limit - 1}, the codes of {fmt.name}")
    return array


def quantize(x, fmt, *, rounding="nearest_even", overflow=None, ftz=False, daz=False, rng=None, sr_bits=None,
             flags=None, tininess="after", out=None):  # fmt: skip
    """Round real numbers once onto a format's grid, keeping a float dtype.

    ``quantize(x, fmt)`` equals ``decode(encode(x, fmt), fmt)`` in ``x``'s
    precision, in one pass and without storing codes -- except that NaN
    stays NaN even for formats without NaN (floats can hold it).

    Parameters
    ----------
    x : array_like of real numbers
        As for :func:`encode`.
    fmt : Format or str
    rounding, overflow, ftz, daz, rng, sr_bits, flags, tininess
        As for :func:`encode`.
    out : ndarray, optional
        Array of the result's shape and dtype; may be ``x`` itself (in place).

    Returns
    -------
    ndarray or numpy scalar
        float32 for float32 input, float64 for float64 and every other dtype.

    Raises
    ------
    TypeError, ValueError
        As for :func:`encode` (NaN is allowed).

    Notes
    -----
    {notes}
    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> lf.quantize(np.float32([0.1, 1/3, 70000.0, -1e-9]), "fp16")
    array([ 0.09997559,  0.33325195,         inf, -0.        ], dtype=float32)
    >>> lf.quantize([3.0, 500.0], "e4m3")
    array([ 3., nan])
    >>> lf.quantize(1 + 2**-4 + 2**-30, "e4m3")  # ml_dtypes and torch give 1.0
    np.float64(1.125)
    """
    fmt = get_format(fmt)
    options = rounding_options(fmt, rounding, overflow, ftz, daz, rng, sr_bits, tininess)
    return round_array(x, fmt, options, kind="quantize", flags=flags, out=out)


encode.__doc__ = encode.__doc__.replace("{notes}", _SPECIAL_VALUE_NOTES.strip() + "\n")
quantize.__doc__ = quantize.__doc__.replace("{notes}", _SPECIAL_VALUE_NOTES.strip() + "\n")
