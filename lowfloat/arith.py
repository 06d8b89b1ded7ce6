"""Element-wise arithmetic in a low-precision format: the exact result, rounded once.

``lowfloat.add(x, y, fmt)`` is what a machine whose arithmetic unit works in
``fmt`` would return for ``x + y``: the exact sum rounded once into ``fmt``,
with any rounding mode and overflow policy of :func:`lowfloat.quantize`.
Operands are any real arrays (broadcast like NumPy's ufuncs); they need not
lie on ``fmt``'s grid.

How it rounds once.  Computing in float64 and rounding the float64 result
into ``fmt`` is correctly rounded for operands *on fmt's grid* (53 >= 2p + 2
for every format here, p <= 24 significand bits), but not for arbitrary
float64 operands, and never for ``fma``: ``1 + 2**-4`` plus ``2**-60`` is
``1 + 2**-4`` in float64, a tie that E4M3 rounds down, while the exact sum
rounds up.  So each operation first rounds its exact result *to odd* in
float64 (error-free transformations, :mod:`lowfloat.kernels.arith`), which
keeps a sticky bit, and then :func:`lowfloat.quantize` rounds that once into
``fmt`` -- exactly what rounding the exact result would give, in every mode.
Stochastic rounding's probability is that of the float64 value, exact to
about 2**-28 of an ulp of ``fmt``.

Formats up to float64's range and precision.  Rounding to odd keeps the
second rounding exact only with two bits to spare: float64's 53 bits serve
formats of up to 51 significand bits, and its subnormal grid (``2**-1074``)
formats whose smallest positive value is at least ``2**-1072``.  Arithmetic
takes every such format -- every built-in one, float64's own exponent range
with up to 50 mantissa bits (``Format(11, 10, 1023)``) -- and refuses the
others with a ValueError saying which bound they cross.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import numpy as np

from .arrays import as_real_array, check_out, exact_float64, result_dtype
from .codec import round_array
from .formats import get_format
from .kernels.arith import ADD, DIV, MUL, SUB, binary_kernel, fma_kernel, sqrt_kernel
from .kernels.widen import ODD_PRECISION
from .options import flags_target, rounding_options, write_flags
from .rounding import FLAG_INVALID

__all__ = ["add", "sub", "mul", "div", "fma", "sqrt"]

# Rounding to odd on float64's subnormal grid, 2**-1074, keeps the next rounding exact into
# formats whose grid is two bits coarser there.
_SMALLEST_EXPONENT = -1072

_SECTIONS = """Parameters
    ----------
    {operands} : array_like of real numbers
        Any real dtype; operands broadcast together.
    fmt : Format or str
        The format the result is rounded into, e.g. ``"bf16"``.
    rounding : str, optional
        Any of :data:`lowfloat.ROUNDING_MODES`; default ``"nearest_even"``.
    overflow : {None, "saturate", "inf", "nan"}, optional
        What an infinite result becomes, as in :func:`lowfloat.quantize`.
    ftz : bool, optional
        Flush subnormal results to zero, as in :func:`lowfloat.quantize`.
    daz : bool, optional
        Operands below ``fmt``'s smallest normal count as zeros of their
        sign (a unit with DAZ working in ``fmt`` sees its own subnormals as zero).
    rng, sr_bits
        Stochastic rounding only, as in :func:`lowfloat.quantize`.
    flags : ndarray of uint8, optional
        Receives each element's IEEE exception flags (broadcast shape): the
        operation's own -- ``FLAG_INVALID`` for a signalling NaN operand,
        ``inf - inf``, ``0 * inf``, ``0 / 0``, ``inf / inf``, the square root of
        a negative number, ``fma(0, inf, z)``; ``FLAG_INFINITE`` for a finite
        nonzero number divided by zero -- and those of rounding the exact
        result into ``fmt`` (see :mod:`lowfloat.rounding`).
    tininess : {"after", "before"}, optional
        When a result counts as tiny for the underflow flag.
    out : ndarray, optional
        Array of the broadcast shape and the result's dtype to write into.

    Returns
    -------
    ndarray or numpy scalar
        Values on ``fmt``'s grid, in the broadcast shape: float32 when every
        operand is float32 or narrower (float16, a Python scalar beside a
        float32 array) and float32 holds ``fmt``'s values, else float64; a
        scalar for scalar operands.

    Raises
    ------
    TypeError
        An operand is complex, boolean, object or string.
    ValueError
        Unknown format, rounding mode or overflow policy; operands that do
        not broadcast; 64-bit integers or long doubles that float64 cannot
        hold exactly; a bad ``out``; a format of more than 51 significand
        bits or whose smallest positive value is below ``2**-1072``.

    Notes
    -----
    Zeros and special values follow IEEE 754: ``-0 + -0 = -0``; an exact zero
    sum of operands of opposite signs (``x - x``) is ``+0``, but ``-0`` with
    ``rounding="toward_negative"`` (section 6.3; ``fma`` too);
    ``x / 0 = +-inf``, ``0 / 0`` and ``sqrt(-1)`` are NaN; then the result is rounded into ``fmt`` by
    :func:`lowfloat.quantize`, whose overflow rules apply (an infinity in a
    format without one becomes NaN or +-max)."""


def _signalling_nans(arrays) -> np.ndarray | None:
    """Where any float operand holds a signalling NaN (quiet bit clear), broadcast; None if none does.

    Widening to float64 quietens them, so they are found in the operands' own type first.
    """
    found = None
    for array in arrays:
        if array.dtype.kind != "f" or array.dtype.itemsize not in (2, 4, 8) or not array.size:
            continue
        info = np.finfo(array.dtype)
        bits = np.ascontiguousarray(array).view(f"u{array.dtype.itemsize}")
        quiet = bits.dtype.type(1 << (info.nmant - 1))
        signalling = np.isnan(array) & ((bits & quiet) == 0)
        found = signalling if found is None else found | signalling
    return found


def _options(fmt, rounding, overflow, ftz, daz, rng, sr_bits, tininess):
    fmt = get_format(fmt)
    _check_format(fmt)
    return rounding_options(fmt, rounding, overflow, ftz, daz, rng, sr_bits, tininess)


def _check_format(fmt):
    """Refuse a format the float64 round-to-odd result cannot be rounded into exactly once."""
    if fmt.precision_bits > ODD_PRECISION:
        raise ValueError(
            f"{fmt.name} has {fmt.precision_bits} significand bits; arithmetic rounds the exact result to odd in "
            f"float64 and then into the format, one exact rounding only for formats of up to {ODD_PRECISION} bits"
        )
    if fmt.smallest_exponent < _SMALLEST_EXPONENT:
        raise ValueError(
            f"{fmt.name} reaches 2**{fmt.smallest_exponent}; arithmetic rounds exactly once only into formats whose "
            f"smallest positive value is at least 2**{_SMALLEST_EXPONENT} (results are rounded to odd on float64's "
            "subnormal grid first, 2**-1074)"
        )


def _elementwise(kernel, operands, fmt, options, flags, out):
    """Validate, broadcast, compute RO(exact) in float64, round once into ``fmt``."""
    fmt = get_format(fmt)
    names = [name for name, _ in operands]
    arrays = [as_real_array(value, name) for name, value in operands]
    wide = [exact_float64(array, name) for name, array in zip(names, arrays, strict=True)]
    try:
        shape = np.broadcast_shapes(*(w.shape for w in wide))
    except ValueError:
        shapes = ", ".join(f"{name} {w.shape}" for name, w in zip(names, wide, strict=True))
        raise ValueError(f"operands do not broadcast together: {shapes}") from None
    # Python numbers keep NumPy's weak typing (NEP 50); everything else counts as the array it was read as
    dtype = result_dtype([value if isinstance(value, (int, float)) else array
                          for (_, value), array in zip(operands, arrays, strict=True)])  # fmt: skip
    dtype = np.promote_types(dtype, fmt.value_dtype)  # float64 where float32 cannot hold fmt's values
    check_out(out, shape, dtype)
    flag_array = flags_target(flags, shape)
    if options.daz:  # a unit working in fmt with DAZ sees fmt's own subnormals as zeros of their sign
        wide = [np.where(np.abs(w) < fmt.smallest_normal, np.copysign(0.0, w), w) for w in wide]
    # writeable C-contiguous copies: one compiled kernel (Numba types read-only views apart)
    flat = [np.require(np.broadcast_to(w, shape), requirements=["C", "W"]).reshape(-1) for w in wide]
    result = np.empty(shape, np.float64)
    op_flags = np.zeros(shape if flag_array is not None else 0, np.uint8)
    with np.errstate(all="ignore"):  # IEEE special values are results here (only NUMBA_DISABLE_JIT=1 warns)
        kernel(*flat, result.reshape(-1), op_flags.reshape(-1), options.rounding == "toward_negative")
    # the float64 result is RO(exact): DAZ was applied to the operands, not to it
    round_array(result, fmt, dataclasses.replace(options, daz=False), flags=flag_array, out=result)
    if flag_array is not None:
        flag_array |= op_flags
        signalling = _signalling_nans(arrays)
        if signalling is not None:
            flag_array[np.broadcast_to(signalling, shape)] |= np.uint8(FLAG_INVALID)
        write_flags(flags, flag_array)
    if out is not None:
        out[...] = result
        return out
    result = result.astype(dtype, copy=False)  # exact: float32 only where it holds fmt's values
    return result[()] if result.ndim == 0 else result


def add(x, y, fmt, *, rounding="nearest_even", overflow=None, ftz=False, daz=False, rng=None, sr_bits=None,
        flags=None, tininess="after", out=None):  # fmt: skip
    """``x + y`` computed exactly and rounded once into ``fmt``.

    {sections}

    Examples
    --------
    >>> import lowfloat as lf
    >>> lf.add(1 + 2**-4, 2**-60, "e4m3")  # exact sum just above a tie: rounds up
    np.float64(1.125)
    >>> lf.quantize((1 + 2**-4) + 2**-60, "e4m3")  # the float64 sum is the tie itself
    np.float64(1.0)
    >>> lf.add([1.0, 448.0], [2**-4, 32.0], "e4m3")  # a tie to even; 480 overflows to NaN
    array([ 1., nan])
    """
    options = _options(fmt, rounding, overflow, ftz, daz, rng, sr_bits, tininess)
    return _elementwise(partial(binary_kernel, ADD), [("x", x), ("y", y)], fmt, options, flags, out)


def sub(x, y, fmt, *, rounding="nearest_even", overflow=None, ftz=False, daz=False, rng=None, sr_bits=None,
        flags=None, tininess="after", out=None):  # fmt: skip
    """``x - y`` computed exactly and rounded once into ``fmt``.

    {sections}

    Examples
    --------
    >>> import lowfloat as lf
    >>> lf.sub(1.0, 2**-30, "bf16", rounding="toward_zero")  # just below 1: truncated
    np.float64(0.99609375)
    >>> lf.sub(1.0, 2**-30, "bf16")
    np.float64(1.0)
    """
    options = _options(fmt, rounding, overflow, ftz, daz, rng, sr_bits, tininess)
    return _elementwise(partial(binary_kernel, SUB), [("x", x), ("y", y)], fmt, options, flags, out)


def mul(x, y, fmt, *, rounding="nearest_even", overflow=None, ftz=False, daz=False, rng=None, sr_bits=None,
        flags=None, tininess="after", out=None):  # fmt: skip
    """``x * y`` computed exactly and rounded once into ``fmt``.

    {sections}

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> lf.mul(np.float32([3.0, 20.0]), np.float32(0.1), "fp16")  # float32 in, float32 out
    array([0.30004883, 2.        ], dtype=float32)
    >>> lf.mul(300.0, 300.0, "fp16"), lf.mul(300.0, 300.0, "fp16", overflow="saturate")
    (np.float64(inf), np.float64(65504.0))
    """
    options = _options(fmt, rounding, overflow, ftz, daz, rng, sr_bits, tininess)
    return _elementwise(partial(binary_kernel, MUL), [("x", x), ("y", y)], fmt, options, flags, out)


def div(x, y, fmt, *, rounding="nearest_even", overflow=None, ftz=False, daz=False, rng=None, sr_bits=None,
        flags=None, tininess="after", out=None):  # fmt: skip
    """``x / y`` computed exactly and rounded once into ``fmt``.

    {sections}

    Examples
    --------
    >>> import lowfloat as lf
    >>> lf.div(1.0, 3.0, "e4m3"), lf.div(1.0, 3.0, "e4m3", rounding="toward_zero")
    (np.float64(0.34375), np.float64(0.3125))
    >>> lf.div([1.0, 0.0], 0.0, "e5m2")
    array([inf, nan])
    """
    options = _options(fmt, rounding, overflow, ftz, daz, rng, sr_bits, tininess)
    return _elementwise(partial(binary_kernel, DIV), [("x", x), ("y", y)], fmt, options, flags, out)


def fma(x, y, z, fmt, *, rounding="nearest_even", overflow=None, ftz=False, daz=False, rng=None, sr_bits=None,
        flags=None, tininess="after", out=None):  # fmt: skip
    """Fused multiply-add: ``x * y + z`` computed exactly and rounded once into ``fmt``.

    {sections}

    Computing ``x * y + z`` in float64 and rounding the result is *not*
    enough, even for float32 operands, whose products float64 holds exactly:
    the sum is rounded to float64 first and may land on a tie of ``fmt``.

    Examples
    --------
    >>> import lowfloat as lf
    >>> x = 1 + 2**-10                       # a float16 number; x * x = 1 + 2**-9 + 2**-20
    >>> lf.fma(x, x, -(1 + 2**-9), "fp16")   # the product's last bit survives
    np.float64(9.5367431640625e-07)
    >>> lf.sub(lf.mul(x, x, "fp16"), 1 + 2**-9, "fp16")  # two roundings lose it
    np.float64(0.0)
    """
    options = _options(fmt, rounding, overflow, ftz, daz, rng, sr_bits, tininess)
    return _elementwise(fma_kernel, [("x", x), ("y", y), ("z", z)], fmt, options, flags, out)


def sqrt(x, fmt, *, rounding="nearest_even", overflow=None, ftz=False, daz=False, rng=None, sr_bits=None,
         flags=None, tininess="after", out=None):  # fmt: skip
    """The square root of ``x`` computed exactly and rounded once into ``fmt``.

    {sections}

    Examples
    --------
    >>> import lowfloat as lf
    >>> lf.sqrt([2.0, -1.0, -0.0], "bf16")
    array([ 1.4140625,        nan, -0.       ])
    >>> lf.sqrt(2.0, "bf16", rounding="toward_positive")
    np.float64(1.421875)
    """
    options = _options(fmt, rounding, overflow, ftz, daz, rng, sr_bits, tininess)
    return _elementwise(sqrt_kernel, [("x", x)], fmt, options, flags, out)


for _op, _operands in ((add, "x, y"), (sub, "x, y"), (mul, "x, y"), (div, "x, y"), (fma, "x, y, z"), (sqrt, "x")):
    _op.__doc__ = _op.__doc__.replace("{sections}", _SECTIONS.replace("{operands}", _operands).strip())
del _op, _operands
