"""encode, decode and quantize: the public casts.

Each function validates and normalises its arguments, allocates or checks
``out``, and hands 1-D contiguous arrays to a kernel in
:mod:`lowfloat.kernels`.  Every value is rounded exactly once, from the
input's own precision.

Formats beyond float32's range or precision (up to float64's) are rounded
from float64: float32 data is widened first, which is exact, and quantize
returns float64 where float32 cannot hold the format's values
(:attr:`lowfloat.Format.value_dtype`).
"""

from __future__ import annotations

import numpy as np

from .arrays import as_real_array, check_out, kernel_input, widen_float32
from .formats import get_format
from .interop import source_format
from .kernels.layout import bits_type, wide
from .kernels.plan import plan
from .kernels.widen import ODD_PRECISION
from .options import flags_target, rounding_options, write_flags

__all__ = ["encode", "decode", "quantize", "round_array"]

_SPECIAL_VALUE_NOTES = """
    Special values and overflow (see :mod:`lowfloat.rounding`):

    * NaN gives NaN wherever the format has NaN -- the format's canonical
      quiet NaN, with the input's sign where the format's NaN codes have one;
      payloads are not kept, not even by ``Format(11, 52, 1023)``, which
      otherwise gives float64 data back bit for bit.
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
    # inputs float64 cannot hold (64-bit integers, Python ints, long doubles) reach the kernels
    # rounded to odd in float64, which keeps the one rounding exact up to ODD_PRECISION bits
    if fmt.precision_bits > ODD_PRECISION:
        _refuse_double_rounding(array, src, fmt)
    source = source_format(x)  # bfloat16, FP8, ... of ml_dtypes or torch, decoded by as_real_array
    # The kernels' float32 bit arithmetic assumes inputs below the format's normal range
    # are normal floats, and float32 bits cannot hold wide formats' values: E8M0 reaches
    # 2**-127, inside float32's subnormals, and wide formats float64's range or
    # precision.  Those read float32 data widened (exactly) to float64.
    to_float64 = src.dtype == np.float32 and (not fmt.signed or wide(fmt))
    widened = source is not None or (array.dtype.kind == "f" and array.dtype != src.dtype)
    if daz and (widened or to_float64):
        # DAZ means the *input's* subnormals; once widened they are normal, so flush here
        tiny = source.smallest_normal if source is not None else np.finfo(array.dtype).smallest_normal
        src = np.where(np.abs(src) < tiny, np.copysign(src.dtype.type(0), src), src)
    if to_float64:
        src = widen_float32(src)
    return array, src


def _refuse_double_rounding(array, src, fmt):
    """For formats of more than 51 significand bits, refuse inputs that float64 does not hold exactly."""
    dtype = array.dtype
    if dtype.kind == "O":
        exact = all(isinstance(v, float) or _int_is_float64(v) for v in array.flat)
    elif (dtype.kind in "iu" and dtype.itemsize == 8) or (dtype.kind == "f" and dtype.itemsize > 8):
        with np.errstate(invalid="ignore"):  # rounded to odd, 64-bit integers stay inside their type
            back = src.astype(dtype)
        exact = bool(((back == array) | (array != array)).all())
    else:
        return  # float16, float32, float64 and integers of up to 32 bits are float64 values
    if not exact:
        raise ValueError(
            f"x holds {dtype if dtype.kind != 'O' else 'Python integer'} values that float64 cannot hold exactly; "
            f"{fmt.name} has {fmt.precision_bits} significand bits, more than the {ODD_PRECISION} that lowfloat "
            "can round such inputs into exactly once -- convert them to float64 first"
        )


def _int_is_float64(value: int) -> bool:
    try:
        return float(value) == value  # an exact comparison of an int with a float
    except OverflowError:
        return False


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
        uint32 up to 32, else uint64), same shape as ``x``; a scalar for
        scalar input.

    Raises
    ------
    TypeError
        ``x`` is complex, boolean, object, string or datetime.
    ValueError
        Unknown format or rounding mode, impossible overflow policy, NaN
        into a format without NaN, a bad ``out``; for formats of more than
        51 significand bits, integers or long doubles that float64 cannot
        hold exactly (they could not be rounded into it once).

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
        # float32 data stays float32 where float32 holds every value of the format
        out_dtype = np.dtype(np.float32) if single and fmt.value_dtype == np.float32 else np.dtype(np.float64)
        check_out(out, array.shape, out_dtype, src)
        same = src.dtype == out_dtype
        result = _target(out, array.shape, src.dtype) if same else np.empty(src.shape, src.dtype)
        dst = result.reshape(-1).view(uint)
    arrays = (src.reshape(-1).view(uint), dst) + (() if flag_array is None else (flag_array.reshape(-1),))
    chosen.run(arrays, src.size, options.key)
    write_flags(flags, flag_array)
    if kind != "encode" and result.dtype != out_dtype:
        with np.errstate(invalid="ignore"):  # exact: float32 -> float64, or back to float32 (value_dtype)
            result = result.astype(out_dtype)
    return _finish(result, out, array)


def decode(codes, fmt, *, dtype=None, out=None):
    """Return the exact values of codes.

    Parameters
    ----------
    codes : array_like of integers
        Codes in ``0 .. 2**fmt.bits - 1``, any integer dtype and shape.
    fmt : Format or str
    dtype : {None, numpy.float32, numpy.float64}, optional
        Type of the values.  None (default) is ``fmt.value_dtype``: float32
        for every format whose values float32 holds (all built-in ones),
        float64 for formats beyond float32's range or precision, which
        refuse float32.
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
        format's range; an unsupported ``dtype``, or float32 for a format
        whose values float32 cannot hold; a bad ``out``.

    Examples
    --------
    >>> import lowfloat as lf
    >>> lf.decode([0x1D, 0x7E, 0x7F, 0xFE], "e4m3").tolist()
    [0.1015625, 448.0, nan, -448.0]
    >>> lf.decode(0x7C, "e5m2")
    np.float32(inf)
    >>> lf.decode(0x7FEF, "e11m4_b1023")   # the max of a 16-bit format with float64's range: float64
    np.float64(1.7415152243978685e+308)
    """
    fmt = get_format(fmt)
    if dtype is None:
        dtype = fmt.value_dtype
    if dtype not in (np.float32, np.float64, np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r} (None: fmt.value_dtype)")
    dtype = np.dtype(dtype)
    if dtype.itemsize < fmt.value_dtype.itemsize:
        raise ValueError(
            f"float32 cannot hold every value of {fmt.name} (max {fmt.max!r}, smallest {fmt.smallest_subnormal!r}, "
            f"{fmt.precision_bits} significand bits); decode it to dtype=numpy.float64 (the default for it)"
        )
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
        float32 for float32 input, float64 for float64 and every other
        dtype -- and float64 for float32 input too where float32 cannot hold
        the format's values (``fmt.value_dtype`` is float64: formats beyond
        float32's range or precision), as no float32 result could be exact.

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
    >>> lf.quantize(np.float32([3.4028235e38, 1e-45]), "e11m10_b1023")  # float32 in, float64 out: 2**128
    array([3.40282367e+38, 1.40129846e-45])
    """
    fmt = get_format(fmt)
    options = rounding_options(fmt, rounding, overflow, ftz, daz, rng, sr_bits, tininess)
    return round_array(x, fmt, options, kind="quantize", flags=flags, out=out)


encode.__doc__ = encode.__doc__.replace("{notes}", _SPECIAL_VALUE_NOTES.strip() + "\n")
quantize.__doc__ = quantize.__doc__.replace("{notes}", _SPECIAL_VALUE_NOTES.strip() + "\n")
