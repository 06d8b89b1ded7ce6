"""Per-tensor and per-axis scaling, as FP8 training and INT8 quantization do it.

:func:`scaled_quantize` multiplies a tensor by a factor chosen so that its
largest magnitude lands on the element format's largest value, rounds the
product into the format, and keeps the scale for the way back.

Two multipliers, one name each, as everywhere in lowfloat:

* ``scale`` dequantizes: ``x ~ element * scale`` -- what MX and NVFP4 store
  per block (:attr:`lowfloat.BlockArray.scale`) and what Transformer Engine
  calls ``scale_inv``;
* ``quant_scale`` quantizes: ``element = round(x * quant_scale)`` -- what
  Transformer Engine calls ``scale``.

The conventions are Transformer Engine's (current scaling), in float32:

1. ``amax`` = the largest magnitude, over the whole tensor (``axis=None``) or
   separately for each index along ``axis`` (per channel);
2. ``quant_scale = fl(fmt.max / amax) / 2**margin``; ``amax`` of 0 or not
   finite keeps ``quant_scale = 1``, an infinite one becomes float32's max,
   and ``power_of_two=True`` rounds it down to a power of two (Transformer
   Engine's ``force_pow_2_scales``);
3. codes = saturating round-half-to-even of ``fl(x * quant_scale)`` (the
   product in float32 for float32 input, exactly as the FP8 cast kernels; in
   float64 for float64 input);
4. ``scale = fl(1 / quant_scale)``, the float32 reciprocal, and
   :meth:`ScaledArray.dequantize` returns ``fl(value * scale)`` -- the same
   two float32 roundings Transformer Engine's dequantize performs.

For the classic INT8 recipe ``x ~ s * round(x / s)`` with ``s = amax / 127``,
pass ``"int8"``: ``scale`` is then ``s`` and ``quant_scale`` is ``127 / amax``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..arrays import check_out
from ..formats import Format
from ..options import check_switch
from ..renamed import renamed_attribute_error
from .blocks import as_float_array, normalize_axis
from .integer import IntFormat, code_values, element_format, element_max, round_to_codes
from .packing import packed_nbytes

__all__ = ["ScaledArray", "scaled_quantize"]

_FLOAT32_MAX = np.float32(np.finfo(np.float32).max)
_EXPONENT_MASK = np.uint32(0xFF800000)  # sign and exponent of a float32: keeps the power of two below it


@dataclass(frozen=True, eq=False)
class ScaledArray:
    """Codes and the float32 scale(s) that map them back to values.

    Attributes
    ----------
    codes : ndarray
        Element codes, the input's shape (``fmt.code_dtype``; int8 for integer formats).
    scale : ndarray of float32
        The dequantizing multiplier(s), ``x ~ element * scale`` (Transformer
        Engine's ``scale_inv``): shape ``()`` per tensor, else the input's
        shape with every axis but ``axis`` reduced to 1.
    quant_scale : ndarray of float32
        The quantizing multiplier(s), ``element = round(x * quant_scale)``
        (Transformer Engine's ``scale``); ``scale`` is its float32
        reciprocal, or it is the reciprocal of a ``scale`` you gave.
    fmt : Format or IntFormat
    axis : tuple of int or None
        The axes that have their own scales (None: one scale for the tensor).

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> q = lf.scaled_quantize(np.float32([0.5, -2.0, 3.5]), "e4m3")
    >>> q.scale, q.quant_scale, q.codes
    (array(0.0078125, dtype=float32), array(128., dtype=float32), array([104, 248, 126], dtype=uint8))
    >>> q.dequantize(), q.nbytes
    (array([ 0.5, -2. ,  3.5], dtype=float32), 7)
    """

    codes: np.ndarray
    scale: np.ndarray
    quant_scale: np.ndarray
    fmt: Format | IntFormat
    axis: tuple | None

    #: Attributes that were renamed, and their new names.
    _RENAMED = {"scale_inv": "scale"}

    def __getattr__(self, name):
        raise renamed_attribute_error(type(self).__name__, name, self._RENAMED)

    @property
    def shape(self) -> tuple:
        return self.codes.shape

    @property
    def nbytes(self) -> int:
        """Bytes of the packed codes (FP4/INT4 two per byte, FP6 four per three) plus the float32 scales."""
        return packed_nbytes(self.codes.size, self.fmt.bits) + 4 * self.scale.size

    def dequantize(self, *, out=None) -> np.ndarray:
        """``fl(value * scale)`` in float32: Transformer Engine's dequantization (into ``out`` if given)."""
        check_out(out, self.codes.shape, np.float32, self.codes)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.multiply(code_values(self.codes, self.fmt, np.float32), self.scale, out=out)

    def packed_codes(self, *, out=None) -> np.ndarray:
        """The codes packed into bytes (see :func:`lowfloat.pack`), into ``out`` if given."""
        from .packing import pack

        return pack(self.codes, self.fmt, out=out)


def _check_margin(margin):
    if isinstance(margin, (bool, np.bool_)) or not isinstance(margin, (int, np.integer, float, np.floating)):
        raise TypeError(f"margin must be a number, got {margin!r}")
    if not np.isfinite(margin):
        raise ValueError(f"margin must be finite, got {margin!r}")


def quant_scale_from_amax(amax: np.ndarray, fmt_max: float, margin=0, power_of_two: bool = False) -> np.ndarray:
    """Transformer Engine's quantizing multiplier (its ``scale``) from amax, in float32 (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from lowfloat.scaling.scaled import quant_scale_from_amax
    >>> quant_scale_from_amax(np.float32([1.0, 3.0, 0.0, np.inf]), 448.0)
    array([448.     , 149.33333,   1.     ,   1.     ], dtype=float32)
    >>> quant_scale_from_amax(np.float32([3.0]), 448.0, power_of_two=True)   # 149.33 down to 128
    array([128.], dtype=float32)
    """
    amax = np.asarray(amax, dtype=np.float32)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        scale = (np.float32(fmt_max) / amax) / np.float32(2.0**margin)
    scale = np.where(np.isinf(scale), _FLOAT32_MAX, scale)
    scale = np.where((amax == 0) | ~np.isfinite(amax), np.float32(1), scale).astype(np.float32)
    if power_of_two:
        scale = (scale.view(np.uint32) & _EXPONENT_MASK).view(np.float32)
    return scale


def scaled_quantize(x, fmt, *, axis=None, margin=0, scale=None, quant_scale=None, power_of_two=False, ftz=False,
                    daz=False) -> ScaledArray:  # fmt: skip
    """Scale a tensor onto a format's range and round it: per tensor or per axis.

    Parameters
    ----------
    x : array_like of real numbers
    fmt : Format, IntFormat or str
        Element format: any signed lowfloat format (``"e4m3"``, ``"e5m2"``,
        ``"fp4"``...) or an integer one (``"int8"``, ``"int4"``).
    axis : None, int or tuple of int, optional
        None: one scale for the whole tensor.  Otherwise the axis (axes)
        whose every index gets its own scale, computed from the amax over
        all the other axes -- ``axis=0`` for the output channels of a weight
        of shape (out, in).
    margin : number, optional
        Divide the quantizing multiplier by ``2**margin`` (headroom), as
        Transformer Engine's ``margin``.
    scale : array_like, optional
        Use this dequantizing multiplier (``x ~ element * scale``) instead
        of computing one: a positive, finite number, or an array
        broadcastable to the scale's shape, stored as float32; the values
        are multiplied by ``quant_scale = fl(1 / scale)`` before rounding.
    quant_scale : array_like, optional
        Use this quantizing multiplier (Transformer Engine's ``scale``)
        instead: the values are multiplied by it before rounding, and
        ``scale = fl(1 / quant_scale)``.  At most one of ``scale`` and
        ``quant_scale``.
    power_of_two : bool, optional
        Round the computed ``quant_scale`` down to a power of two, so that
        scaling is exact (not applied to an explicit ``scale`` or
        ``quant_scale``).
    ftz : bool, optional
        Flush to zero: elements that would be subnormal in ``fmt`` become
        zeros of their sign, as :func:`lowfloat.encode` does (integer
        formats have no subnormals).
    daz : bool, optional
        Denormals are zero: subnormals of ``x``'s own float type count as
        zeros of their sign, in the amax too.

    Returns
    -------
    ScaledArray

    Raises
    ------
    TypeError
        ``x`` is not real numbers; ``axis``, ``margin``, ``power_of_two``,
        ``ftz`` or ``daz`` of the wrong type.
    ValueError
        Unknown format, axis out of range, both ``scale`` and
        ``quant_scale``, a ``scale`` or ``quant_scale`` that is not finite,
        zero, negative, of a shape that does not broadcast, or (``scale``)
        so small that its float32 reciprocal overflows.

    Notes
    -----
    See the module docstring for the exact recipe.  Overflow saturates:
    values beyond ``fmt.max`` after scaling (possible with ``margin < 0`` or
    an explicit scale), and +-inf, become +-max; NaN stays NaN in formats
    that have it and is refused by those that have not.

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> w = np.float32([[0.02, -0.5, 0.1], [3.0, 1.0, -0.04]])
    >>> q = lf.scaled_quantize(w, "int8", axis=0)           # INT8, one scale per row
    >>> q.codes
    array([[   5, -127,   25],
           [ 127,   42,   -2]], dtype=int8)
    >>> q.scale.ravel() * 127                                # amax of each row
    array([0.5, 3. ], dtype=float32)
    >>> lf.scaled_quantize(w, "e4m3", margin=1).quant_scale  # 448 / 3 / 2
    array(74.666664, dtype=float32)
    >>> lf.scaled_quantize(w, "int8", scale=0.25).codes[0]   # x ~ 0.25 * code
    array([ 0, -2,  0], dtype=int8)
    """
    element = element_format(fmt)
    src = as_float_array(x, daz=daz)
    axes = None if axis is None else tuple(sorted(normalize_axis(axis, src.ndim)))
    if not isinstance(power_of_two, (bool, np.bool_)):
        raise TypeError(f"power_of_two must be True or False, got {power_of_two!r}")
    ftz = check_switch("ftz", ftz)
    _check_margin(margin)
    if scale is not None and quant_scale is not None:
        raise ValueError("give scale (dequantizing) or quant_scale (quantizing), not both: each is 1 / the other")
    reduce = tuple(a for a in range(src.ndim) if axes is None or a not in axes)
    scale_shape = tuple(1 if a in reduce else n for a, n in enumerate(src.shape))
    if axes is None:
        scale_shape = ()
    if scale is not None:
        scales = _explicit_scale(scale, scale_shape, "scale")
        with np.errstate(over="ignore"):
            quant = (np.float32(1) / scales).astype(np.float32)
        if np.isinf(quant).any():
            raise ValueError(f"scale {scale!r} is too small: its float32 reciprocal overflows")
    else:
        if quant_scale is not None:
            quant = _explicit_scale(quant_scale, scale_shape, "quant_scale")
        elif src.size:
            amax = np.max(np.abs(src), axis=reduce, keepdims=axes is not None)
            with np.errstate(over="ignore"):  # float64 amax beyond float32 becomes inf: quant_scale 1
                amax32 = np.asarray(amax).astype(np.float32)
            quant = quant_scale_from_amax(amax32, element_max(element), margin, bool(power_of_two))
        else:
            quant = quant_scale_from_amax(np.zeros(scale_shape, np.float32), element_max(element))
        with np.errstate(divide="ignore"):
            scales = (np.float32(1) / np.asarray(quant, np.float32)).astype(np.float32)
    quant = np.asarray(quant, np.float32).reshape(scale_shape)
    scales = np.asarray(scales, np.float32).reshape(scale_shape)
    with np.errstate(over="ignore", invalid="ignore"):
        y = src * quant.astype(src.dtype)
    codes = np.asarray(round_to_codes(y, element, ftz=ftz))  # 0-d stays 0-d
    return ScaledArray(codes=codes, scale=scales, quant_scale=quant, fmt=element, axis=axes)


def _explicit_scale(scale, shape, name: str) -> np.ndarray:
    """A user's ``scale=`` or ``quant_scale=`` as float32 of ``shape``, or an error naming what is wrong with it."""
    values = np.asarray(scale)
    if values.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be real numbers, got dtype {values.dtype}")
    values = values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite, got {scale!r}")
    if np.any(values <= 0):
        raise ValueError(f"{name} must be positive and nonzero, got {scale!r}")
    try:
        values = np.broadcast_to(values, shape)
    except ValueError:
        raise ValueError(f"{name} of shape {values.shape} does not broadcast to the scale shape {shape}") from None
    with np.errstate(over="ignore"):
        single = values.astype(np.float32)
    if not np.all(np.isfinite(single)) or np.any(single == 0):
        raise ValueError(f"{name} {scale!r} is outside float32's range")
    return single
