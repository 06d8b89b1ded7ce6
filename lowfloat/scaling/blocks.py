"""Block scaling: one scale per block (1 x 128 tiles, 128 x 128 tiles, MX's 32-element blocks).

:func:`block_quantize` gives each block of ``block_size`` consecutive elements
along ``axis`` (or each tile of a 2-D ``block_size`` over two axes) its own
scale, the way DeepSeek-V3 quantizes activations (1 x 128) and weights
(128 x 128).  The result is a :class:`BlockArray`, which MX
(:func:`lowfloat.mx_quantize`) and NVFP4 (:func:`lowfloat.nvfp4_quantize`)
return too.

A block's *scale* ``s`` is the multiplier that dequantizes it,
``x ~ element * s``, as MX and NVFP4 store it (and as
:attr:`lowfloat.ScaledArray.scale` is too).

The recipe, block by block
--------------------------
1. ``amax`` = the largest magnitude in the block (NaN if the block holds a
   NaN or an infinity).
2. ``s`` = a value of ``scale_fmt`` chosen from ``amax`` by ``scale_rounding``
   (``elem_max`` is the element format's largest value, ``emax_elem`` the
   exponent of its top binade: E4M3 448 and 8, E2M1 6 and 2, INT8 127 and 6):

   ``"ceil"`` (the default)
       the smallest ``s`` with ``amax / s <= elem_max``: ``amax / elem_max``
       rounded up into ``scale_fmt``.  No element clips.  With E8M0 scales,
       ``2**ceil(log2(amax / elem_max))``, Transformer Engine's MXFP8 recipe.
   ``"floor"``
       the largest ``s`` with ``amax / s >= 2**emax_elem``:
       ``amax / 2**emax_elem`` rounded down into ``scale_fmt``.  The largest
       element keeps the exponent of the element format's top binade and
       may clip to ``elem_max``.  With E8M0 scales,
       ``2**(floor(log2(amax)) - emax_elem)``, the OCP MX v1.0 rule.
   ``"nearest"``
       ``amax / elem_max`` rounded to nearest-even into ``scale_fmt`` (E8M0
       rounds ties up).  May clip.

   A scale beyond the scale format saturates to its largest value, one
   below its smallest positive value becomes that value.  A block with NaN
   or +-inf gets ``s = NaN`` and dequantizes to NaN.  An all-zero block gets
   ``s = 1`` (Transformer Engine's convention) -- with E8M0 scales
   ``2**-127`` (code 0), which the OCP rule gives for ``amax = 0`` and
   gfloat and microxcaling store; its elements are zeros either way.
3. elements ``= round_half_even(x / s)``, saturated to +-elem_max (the
   quotient is computed in float64: for float32 input it is exact enough
   that this is the correct rounding of the exact quotient).

Every rule is computed exactly: ``amax / 2**emax_elem`` is exact in float64,
and ``amax / elem_max`` is never within half a float64 ulp of a scale (or of
a midpoint between two) without being equal to it.  With E8M0 scales the
exponent is read from ``amax`` directly (:func:`e8m0_exponents`), and
``block_quantize(x, fmt, block_size=32, scale_fmt="e8m0", scale_rounding=R)``
equals :func:`lowfloat.mx_quantize` of the MX format with ``fmt`` elements
for every rule ``R``.

A block with a ragged tail (the axis length not a multiple of the block) is
a shorter block with its own amax: the data is padded with zeros, which
change no amax, and the padding is dropped again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..arrays import as_real_array, check_out, kernel_input
from ..codec import encode, quantize
from ..formats import Format, get_format
from ..kernels.amax import block_amax_kernel
from ..options import check_switch
from ..renamed import renamed_attribute_error, renamed_keywords
from .integer import IntFormat, code_values, element_format, element_max, round_to_codes
from .packing import packed_nbytes

__all__ = ["BlockArray", "block_quantize", "SCALE_FORMATS", "SCALE_ROUNDINGS", "DEFAULT_SCALE_ROUNDING"]

#: Formats a block scale may be stored in.
SCALE_FORMATS = ("float32", "float8_e8m0fnu", "float8_e4m3fn")
#: The rules that choose a block's scale from its amax (see the module docstring), and
#: the rounding into the scale format each applies to its ideal scale.
SCALE_ROUNDINGS = {"ceil": "toward_positive", "floor": "toward_zero", "nearest": "nearest_even"}
#: The rule :func:`block_quantize` and :func:`lowfloat.mx_quantize` use unless told otherwise.
DEFAULT_SCALE_ROUNDING = "ceil"

_E8M0 = get_format("float8_e8m0fnu")
_E8M0_NAN = np.uint8(0xFF)  # OCP MX v1.0: the one NaN code of E8M0
_E8M0_EXP_MIN, _E8M0_EXP_MAX = -127, 127  # E8M0's range, 2**-127 .. 2**127


# --------------------------------------------------------------------------------------------------
# tiling: moving the block axes last, padding and splitting them into (nblocks, block)


@dataclass(frozen=True)
class Tiling:
    """How an array of ``shape`` splits into blocks of ``block`` along ``axes``.

    The blocked view has shape ``rest + (nb0, b0, nb1, b1, ...)``: the other
    axes first, then each block axis split into (number of blocks, block).
    """

    shape: tuple
    axes: tuple
    block: tuple

    @property
    def rest(self) -> int:
        return len(self.shape) - len(self.axes)

    @property
    def counts(self) -> tuple:
        """Blocks along each block axis (the last one may be ragged)."""
        return tuple(-(-self.shape[a] // b) for a, b in zip(self.axes, self.block, strict=True))

    @property
    def block_positions(self) -> tuple:
        """Positions of the within-block axes in the blocked view."""
        return tuple(self.rest + 2 * i + 1 for i in range(len(self.axes)))

    @property
    def scale_shape(self) -> tuple:
        """Shape of the scales: ``shape`` with each block axis's length replaced by its block count."""
        shape = list(self.shape)
        for a, n in zip(self.axes, self.counts, strict=True):
            shape[a] = n
        return tuple(shape)

    def _last(self):
        return tuple(range(self.rest, len(self.shape)))

    def to_blocks(self, a: np.ndarray) -> np.ndarray:
        """``a`` (of ``shape``) as the blocked view, zero-padded to whole blocks."""
        moved = np.moveaxis(a, self.axes, self._last())
        lengths = moved.shape[self.rest :]
        padded_lengths = tuple(n * b for n, b in zip(self.counts, self.block, strict=True))
        if padded_lengths != lengths:
            pad = [(0, 0)] * self.rest + [(0, p - n) for p, n in zip(padded_lengths, lengths, strict=True)]
            moved = np.pad(moved, pad)
        split = moved.shape[: self.rest]
        for n, b in zip(self.counts, self.block, strict=True):
            split += (n, b)
        return moved.reshape(split)

    def from_blocks(self, blocked: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_blocks`: drop the padding, put the axes back."""
        lengths = tuple(n * b for n, b in zip(self.counts, self.block, strict=True))
        moved = blocked.reshape(blocked.shape[: self.rest] + lengths)
        moved = moved[(Ellipsis,) + tuple(slice(0, self.shape[a]) for a in self.axes)]
        return np.moveaxis(moved, self._last(), self.axes)

    def scales_to_blocks(self, scales: np.ndarray) -> np.ndarray:
        """Scales (of :attr:`scale_shape`) broadcastable against the blocked view."""
        moved = np.moveaxis(scales, self.axes, self._last())
        return np.expand_dims(moved, self.block_positions)

    def scales_from_blocks(self, blocked_scales: np.ndarray) -> np.ndarray:
        """Per-block values with size-1 within-block axes back to :attr:`scale_shape`."""
        squeezed = np.squeeze(blocked_scales, axis=self.block_positions)
        return np.moveaxis(squeezed, self._last(), self.axes)


def make_tiling(shape, block_size, axis) -> Tiling:
    """Validate ``block_size`` and ``axis`` against ``shape`` and return the tiling."""
    sizes = block_size if isinstance(block_size, (tuple, list)) else (block_size,)
    if not sizes or any(isinstance(b, (bool, np.bool_)) or not isinstance(b, (int, np.integer)) for b in sizes):
        raise TypeError(f"block_size must be a positive int or a tuple of them, got {block_size!r}")
    if any(b <= 0 for b in sizes):
        raise ValueError(f"block_size must be positive, got {block_size!r}")
    ndim = len(shape)
    if isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    elif len(sizes) > 1 and axis == -1:
        axes = tuple(range(-len(sizes), 0))  # the default for tiles: the last len(block_size) axes
    else:
        axes = (axis,)
    if len(axes) != len(sizes):
        raise ValueError(f"block_size {block_size!r} needs {len(sizes)} axes, got axis={axis!r}")
    return Tiling(tuple(shape), normalize_axis(axes, ndim), tuple(int(b) for b in sizes))


def normalize_axis(axis, ndim: int) -> tuple:
    """An int or a sequence of ints as non-negative axes of an ``ndim``-dimensional array, in the given order.

    Raises TypeError for non-integers, ValueError for an axis out of range or a repeated one.
    """
    given = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    normal = []
    for a in given:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for an array of {ndim} dimension(s)")
        normal.append(int(a) % ndim)
    if len(set(normal)) != len(normal):
        raise ValueError(f"axis {axis!r} repeats an axis")
    return tuple(normal)


# --------------------------------------------------------------------------------------------------
# the result


@dataclass(frozen=True, eq=False)
class BlockArray:
    """Codes of block-scaled values, their per-block scales, and how to put them back together.

    Attributes
    ----------
    codes : ndarray
        Element codes, the input's shape (``fmt.code_dtype``; int8 integers for integer formats).
    scale : ndarray of float32
        Each block's scale, the multiplier that dequantizes it:
        ``x ~ element * scale``.  The input's shape with each block axis's
        length replaced by its number of blocks.
    scale_codes : ndarray of uint8 or None
        The scales' codes in ``scale_fmt`` (None for float32 scales).
    fmt : Format or IntFormat
        Element format.
    scale_fmt : Format or str
        ``"float32"``, or the Format of the scales (E8M0, E4M3).
    block_size : tuple of int
    axis : tuple of int
        The axes the blocks run along (non-negative).
    tensor_amax : numpy.float32 or None
        NVFP4 only: the tensor's amax, from which its second-level scale is derived.

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> b = lf.block_quantize(np.float32([1, 2, 3, 4, 100, 200]), "e4m3", block_size=4)
    >>> b.scale, b.codes.shape, b.nbytes   # 6 one-byte codes + two float32 scales
    (array([0.00892857, 0.4464286 ], dtype=float32), (6,), 14)
    >>> b.dequantize().tolist()   # 3 is not on block 0's grid: E4M3 steps of 4/448 * 32
    [1.0, 2.0, 2.857142925262451, 4.0, 100.00000762939453, 200.00001525878906]
    """

    codes: np.ndarray
    scale: np.ndarray
    scale_codes: np.ndarray | None
    fmt: Format | IntFormat
    scale_fmt: Format | str
    block_size: tuple
    axis: tuple
    tensor_amax: np.float32 | None = None

    #: Attributes that were renamed, and their new names.
    _RENAMED = {"scales": "scale", "axes": "axis"}

    def __getattr__(self, name):
        raise renamed_attribute_error(type(self).__name__, name, self._RENAMED)

    @classmethod
    def from_blocked(cls, tiling: Tiling, codes, scale, scale_codes, fmt, scale_fmt, tensor_amax=None) -> BlockArray:
        """Assemble a result from blocked codes and per-block scales (size-1 within-block axes)."""
        return cls(
            codes=np.ascontiguousarray(tiling.from_blocks(codes)),
            scale=np.ascontiguousarray(tiling.scales_from_blocks(scale.astype(np.float32))),
            scale_codes=None if scale_codes is None else np.ascontiguousarray(tiling.scales_from_blocks(scale_codes)),
            fmt=fmt,
            scale_fmt=scale_fmt,
            block_size=tiling.block,
            axis=tiling.axes,
            tensor_amax=tensor_amax,
        )

    @property
    def shape(self) -> tuple:
        return self.codes.shape

    @property
    def tiling(self) -> Tiling:
        return Tiling(self.codes.shape, self.axis, self.block_size)

    @property
    def nbytes(self) -> int:
        """Bytes of the packed codes (FP4/INT4 two per byte, FP6 four per three) plus the scales."""
        scale_bytes = self.scale.size * (4 if self.scale_codes is None else 1)
        return packed_nbytes(self.codes.size, self.fmt.bits) + scale_bytes + (4 if self.tensor_amax is not None else 0)

    def block_multipliers(self) -> np.ndarray:
        """What each block's values are multiplied by, float32 (the scales, or NVFP4's two-level product)."""
        if self.tensor_amax is None:
            return self.scale
        # Transformer Engine's NVFP4 dequantize: scale * amax * float32(1 / (6 * 448)), in float32
        with np.errstate(over="ignore", invalid="ignore"):
            return (self.scale * self.tensor_amax) * np.float32(1 / 2688)

    def dequantize(self, dtype=np.float32, *, out=None) -> np.ndarray:
        """The values ``element * block multiplier``, multiplied in ``dtype`` (float32 or float64).

        For MX every product is exact (a power-of-two scale); for float32,
        E4M3 and NVFP4 scales the float32 product is rounded once, as the
        hardware's float32 dequantization is.  ``out``, if given, is an
        array of the codes' shape and ``dtype`` that receives the values.
        """
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}")
        check_out(out, self.codes.shape, dtype, self.codes)
        tiling = self.tiling
        values = tiling.to_blocks(code_values(self.codes, self.fmt, dtype))  # a new array or a view of one
        multipliers = tiling.scales_to_blocks(self.block_multipliers().astype(dtype))
        with np.errstate(over="ignore", invalid="ignore"):
            np.multiply(values, multipliers, out=values)
        if out is None:
            return np.ascontiguousarray(tiling.from_blocks(values))
        out[...] = tiling.from_blocks(values)
        return out

    def packed_codes(self, *, out=None) -> np.ndarray:
        """The codes packed into bytes (see :func:`lowfloat.pack`), into ``out`` if given."""
        from .packing import pack

        return pack(self.codes, self.fmt, out=out)


# --------------------------------------------------------------------------------------------------
# the shared core


def as_float_array(x, min_ndim: int = 0, *, daz: bool = False) -> np.ndarray:
    """``x`` as float32 (float32/float16 input) or float64 (everything else), exactly or rounded to odd.

    ``daz=True`` reads the subnormals of ``x``'s own float type as zeros of
    their sign, as :func:`lowfloat.encode` does with ``daz=True`` -- here
    before anything else, so that they count as zeros in the amax too.
    """
    array = as_real_array(x)
    if array.ndim < min_ndim:
        raise ValueError(f"x must have at least {min_ndim} dimension(s), got shape {array.shape}")
    src = kernel_input(array)
    if check_switch("daz", daz) and array.dtype.kind == "f":
        with np.errstate(invalid="ignore"):  # NaN compares false: it stays
            subnormal = np.abs(src) < np.finfo(array.dtype).smallest_normal
        if subnormal.any():
            src = np.where(subnormal, np.copysign(src.dtype.type(0), src), src)  # a copy: x is never written
    return src


def block_amax(blocked: np.ndarray, tiling: Tiling) -> np.ndarray:
    """Largest magnitude of each block, keepdims; NaN for blocks that hold NaN or +-inf.

    Blocks along one axis of a C-contiguous view go to a Numba kernel (one
    pass, no temporary: about 6x numpy's abs-then-max); tiles use numpy.
    """
    if len(tiling.axes) == 1 and blocked.flags.c_contiguous and blocked.size:
        rows = blocked.reshape(-1, tiling.block[0])  # (nblocks, block), a view
        amax = np.empty(rows.shape[0], blocked.dtype)
        with np.errstate(invalid="ignore"):  # inf - inf, when run as Python (NUMBA_DISABLE_JIT=1)
            block_amax_kernel(rows, amax)
        return amax.reshape(blocked.shape[:-1] + (1,))
    amax = np.max(np.abs(blocked), axis=tiling.block_positions, keepdims=True)  # NaN propagates
    amax[np.isinf(amax)] = np.nan
    return amax


def round_elements(y: np.ndarray, fmt, bad_blocks: np.ndarray, ftz: bool = False) -> np.ndarray:
    """Element codes of scaled values; blocks with a NaN scale get NaN codes (or 0 where fmt has no NaN).

    ``bad_blocks`` has size-1 within-block axes (it broadcasts against ``y``).
    """
    if bad_blocks.any():
        has_nan = not isinstance(fmt, IntFormat) and fmt.has_nan
        y = np.where(bad_blocks, np.nan if has_nan else 0.0, y).astype(y.dtype, copy=False)
    return round_to_codes(y, fmt, ftz=ftz)


#: Values scaled and rounded per pass of :func:`multiply_and_round`: 256 KiB of float32 stays in cache.
CHUNK_VALUES = 1 << 16


def multiply_and_round(rows: np.ndarray, factors: np.ndarray, fmt, bad: np.ndarray, ftz: bool = False) -> np.ndarray:
    """Element codes of ``rows * factors``, a few thousand rows at a time.

    ``rows`` is (nblocks, block), ``factors`` and ``bad`` are (nblocks, 1).
    The products are computed in the rows' own type.  Working in cache-sized
    passes, instead of one full-size temporary of scaled values, made
    :func:`lowfloat.mx_quantize` of 2**24 float32 values about 1.5x faster
    here (best of 15: 47 ms against 75 ms; passes of 2**16 to 2**20 values
    were within noise of each other).
    """
    codes = np.empty(rows.shape, fmt.code_dtype)
    step = max(1, CHUNK_VALUES // max(1, rows.shape[1]))
    buffer = np.empty((min(step, rows.shape[0]), rows.shape[1]), rows.dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, rows.shape[0], step):
            stop = min(start + step, rows.shape[0])
            scaled = np.multiply(rows[start:stop], factors[start:stop], out=buffer[: stop - start])
            codes[start:stop] = round_elements(scaled, fmt, bad[start:stop], ftz)
    return codes


def check_scale_rounding(scale_rounding) -> str:
    """``scale_rounding`` if it names a rule of :data:`SCALE_ROUNDINGS`, else ValueError listing them."""
    if not isinstance(scale_rounding, str) or scale_rounding not in SCALE_ROUNDINGS:
        names = ", ".join(map(repr, SCALE_ROUNDINGS))
        raise ValueError(f"scale_rounding must be one of {names}, got {scale_rounding!r}")
    return scale_rounding


def e8m0_exponents(amax: np.ndarray, fmt, scale_rounding: str) -> np.ndarray:
    """The E8M0 exponent ``k`` of each block's scale ``2**k`` (int32); -127 for zero blocks and NaN amax.

    The rules of the module docstring, read off ``amax`` exactly (frexp gives
    its binary exponent; ``elem_max * 2**k`` and ``0.75 * elem_max * 2**k``
    are exact in float64), clamped to E8M0's range -127 .. 127:

    * "floor": ``k = floor(log2(amax)) - emax_elem``;
    * "ceil": the smallest ``k`` with ``amax <= elem_max * 2**k`` -- that is
      the floor exponent or one more;
    * "nearest": the ceil exponent, or one less when ``amax / elem_max`` lies
      below the midpoint ``1.5 * 2**(k-1)`` (the midpoint itself rounds up).
    """
    finite = np.isfinite(amax) & (amax > 0)
    safe = np.where(finite, amax, 1.0).astype(np.float64)
    _, exponent = np.frexp(safe)  # safe = m * 2**exponent, 0.5 <= m < 1
    shared = exponent.astype(np.int32) - 1 - np.int32(fmt.emax)
    if scale_rounding != "floor":
        elem_max = np.float64(element_max(fmt))
        shared = shared + (safe > np.ldexp(elem_max, shared))  # the ceil exponent
        if scale_rounding == "nearest":
            shared = shared - (safe < np.ldexp(0.75 * elem_max, shared))
    shared = np.clip(shared, _E8M0_EXP_MIN, _E8M0_EXP_MAX)
    return np.where(finite, shared, _E8M0_EXP_MIN).astype(np.int32)


def block_scales(amax: np.ndarray, fmt, scale_fmt, scale_rounding: str):
    """Each block's scale (float64, NaN where ``amax`` is NaN) and its codes in ``scale_fmt`` (None for float32).

    The rules of the module docstring.  E8M0 scales come from
    :func:`e8m0_exponents`; the others from rounding the ideal scale
    (``amax / 2**emax_elem`` for "floor", else ``amax / elem_max``) once into
    ``scale_fmt`` with :func:`lowfloat.quantize`.
    """
    bad = np.isnan(amax)
    if scale_fmt == _E8M0:
        exponents = e8m0_exponents(amax, fmt, scale_rounding)
        scale_codes = np.where(bad, _E8M0_NAN, (exponents + 127).astype(np.uint8))
        scales = np.where(bad, np.nan, np.ldexp(1.0, exponents))
        return scales, scale_codes
    divisor = 2.0**fmt.emax if scale_rounding == "floor" else element_max(fmt)  # exact powers and quotients
    ideal = np.where(amax > 0, amax, 1.0) / divisor
    scales = quantize(ideal, scale_fmt, rounding=SCALE_ROUNDINGS[scale_rounding], overflow="saturate")
    scales = np.where((scales == 0) & ~bad, get_format(scale_fmt).smallest_subnormal, scales)
    scales = np.where(amax == 0, 1.0, scales)
    scales[bad] = np.nan
    return scales, None if scale_fmt == "float32" else encode(scales, scale_fmt)


def _scale_format(scale_fmt):
    if scale_fmt == "float32" or scale_fmt is np.float32:
        return "float32"
    if isinstance(scale_fmt, (str, Format)):
        try:
            found = get_format(scale_fmt)
        except ValueError:  # unknown name: the message below lists the valid ones
            found = None
        if found is not None and found.name == "float32":
            return "float32"
        if found is not None and found.name in SCALE_FORMATS:
            return found
    raise ValueError(f"scale_fmt must be one of {', '.join(SCALE_FORMATS)}, got {scale_fmt!r}")


@renamed_keywords(elem_fmt="fmt")
def block_quantize(x, fmt, *, block_size, axis=-1, scale_fmt="float32", scale_rounding=DEFAULT_SCALE_ROUNDING,
                   ftz=False, daz=False) -> BlockArray:  # fmt: skip
    """Quantize with one scale per block: ``x ~ element * scale``.

    Parameters
    ----------
    x : array_like of real numbers
        At least as many dimensions as ``block_size`` has entries.
    fmt : Format, IntFormat or str
        Element format: any signed lowfloat format (``"e4m3"``, ``"fp4"``...)
        or an integer one (``"int8"``, ``"int4"``).
    block_size : int or tuple of int
        Elements per block along ``axis`` (``128`` for DeepSeek-V3's 1 x 128
        activation tiles), or a tile over several axes (``(128, 128)`` for its
        weight blocks).
    axis : int or tuple of int, optional
        The axis the blocks run along; for a tuple ``block_size`` a tuple of
        as many axes, and the default -1 means the last ``len(block_size)`` axes.
    scale_fmt : {"float32", "float8_e8m0fnu", "float8_e4m3fn"}, optional
        What the scales are stored as (aliases such as ``"e8m0"`` work).
    scale_rounding : {"ceil", "floor", "nearest"}, optional
        The rule that chooses each block's scale from its amax (see the
        module docstring), the same rules as :func:`lowfloat.mx_quantize`'s.
        "ceil" (the default, for both) is the smallest scale with
        ``amax / scale <= elem_max``, so no element clips; "floor" is the
        OCP MX rule, ``amax / 2**emax_elem`` rounded down, which may clip the
        largest; "nearest" rounds ``amax / elem_max`` to nearest.
    ftz : bool, optional
        Flush to zero: elements that would be subnormal in ``fmt`` become
        zeros of their sign, as :func:`lowfloat.encode` does (the scales are
        not flushed; integer formats have no subnormals).
    daz : bool, optional
        Denormals are zero: subnormals of ``x``'s own float type count as
        zeros of their sign, in the amax too.

    Returns
    -------
    BlockArray

    Raises
    ------
    TypeError
        ``x`` is not real numbers; ``block_size`` or ``axis`` are not ints;
        ``ftz``/``daz`` not booleans; an old keyword (``elem_fmt``).
    ValueError
        ``block_size <= 0``, an axis out of range, the wrong number of axes,
        an unknown element or scale format or scale rounding.

    Notes
    -----
    See the module docstring for the recipe, the ragged tail and the
    handling of zero and non-finite blocks.  The DeepSeek-V3 recipe is
    ``block_quantize(a, "e4m3", block_size=128)`` for activations and
    ``block_quantize(w, "e4m3", block_size=(128, 128))`` for weights
    (power-of-two scales: ``scale_fmt="e8m0"``).  With ``scale_fmt="e8m0"``
    and ``block_size=32`` this is :func:`lowfloat.mx_quantize`, bit for bit.

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> x = np.float32([[1.0, -3.0, 0.5, 6.0], [1e-3, 2e-3, 0.0, 0.0]])
    >>> b = lf.block_quantize(x, "int8", block_size=4)       # one scale per row
    >>> b.codes
    array([[ 21, -63,  11, 127],
           [ 63, 127,   0,   0]], dtype=int8)
    >>> b.scale.ravel() * 127      # each row's amax, a hair above: "ceil" rounds the scale up
    array([6.0000005e+00, 2.0000003e-03], dtype=float32)
    >>> lf.block_quantize(x, "e4m3", block_size=(2, 2), scale_fmt="e8m0").scale
    array([[0.0078125, 0.015625 ]], dtype=float32)
    >>> x = np.float32([400.0, 1.0, 0.5, 0.25])    # "floor", the MX rule: X = 2**(8 - 8), 400 ties to 384
    >>> lf.block_quantize(x, "e4m3", block_size=4, scale_fmt="e8m0", scale_rounding="floor").dequantize().tolist()
    [384.0, 1.0, 0.5, 0.25]
    """
    fmt = element_format(fmt)
    scale_format = _scale_format(scale_fmt)
    check_scale_rounding(scale_rounding)
    ftz = check_switch("ftz", ftz)
    src = as_float_array(x, min_ndim=len(block_size) if isinstance(block_size, (tuple, list)) else 1, daz=daz)
    tiling = make_tiling(src.shape, block_size, axis)
    blocked = tiling.to_blocks(src)
    amax = block_amax(blocked, tiling).astype(np.float64)  # exact (float32 or float64 data)
    bad = np.isnan(amax)
    # 2) the scale, chosen from amax by the rule and rounded once into the scale format
    scales, scale_codes = block_scales(amax, fmt, scale_format, scale_rounding)
    # 3) elements: the quotient in float64, rounded once into the element format
    with np.errstate(invalid="ignore"):
        y = blocked.astype(np.float64) / scales
    codes = round_elements(y, fmt, bad, ftz)
    return BlockArray.from_blocked(tiling, codes, scales, scale_codes, fmt, scale_format)
