"""MX (OCP Microscaling v1.0) and NVFP4 block formats.

MX: blocks of ``k = 32`` elements share one E8M0 scale ``X = 2**shared_exp``,
the multiplier that dequantizes them (``V ~ element * X``).

1. ``amax`` = largest magnitude in the block;
2. ``shared_exp`` by ``scale_rounding``, the rules of
   :func:`lowfloat.block_quantize` (see :mod:`lowfloat.scaling.blocks`) for E8M0
   scales: ``ceil(log2(amax / elem_max))`` (``"ceil"``, the default: the
   smallest power of two that clips nothing, as Transformer Engine's MXFP8
   recipe), ``floor(log2(amax)) - emax_elem`` (``"floor"``, the rule the
   OCP spec gives) or ``amax / elem_max`` rounded to the nearest power of
   two (``"nearest"``); clamped to -127 .. 127;
3. elements = round-half-to-even of ``V / X``, with values beyond the
   element's range clamped to +-max (the spec's "normal overflow clamped").

``emax_elem`` is the exponent of the element format's largest binade:
E4M3 8, E5M2 15, E3M2 4, E2M3 2, E2M1 2, INT8 0.  "floor" keeps the
largest element's exponent but may clip its significand: a block whose
largest magnitude is 500 in MXFP8-E4M3 gets ``X = 2**(8 - 8) = 1`` and
stores 448 (clipped).  "ceil" takes ``X = 2``, and 500 / 2 = 250 rounds to
256: it is stored as 512 (rounded, not clipped); 480 would be exact.
:func:`mx_quantize` equals ``block_quantize(x, element, block_size=32,
scale_fmt="e8m0")`` with the same rule, bit for bit.

"ceil" is computed exactly here; Transformer Engine first multiplies amax
by a float32 reciprocal of elem_max, which can choose the next power of two
when amax / elem_max lies within one float32 rounding of a power of two.

Special blocks: an all-zero block gets ``X = 2**-127`` (code 0), as gfloat
and microxcaling do; float64 blocks beyond E8M0's range get ``X = 2**127``
(gfloat clips it the same way) and their elements saturate; a block holding
NaN or +-inf gets the NaN scale (code 0xFF) and dequantizes to NaN.  Its
element codes are NaN where the element format has NaN, else 0.

``V / X`` is a multiplication by a power of two, exact in float32 (a result
below float32's subnormals lies far below every element's smallest value),
so every rounding decision is the exact one.

NVFP4 (NVIDIA): blocks of 16 E2M1 elements with an E4M3 block scale and a
float32 tensor scale, quantized exactly as Transformer Engine's reference
quantizer does it, in float32 arithmetic (``fl`` = round to float32):

1. ``amax`` = the tensor's largest magnitude (float32);
2. ``S_enc = fl(448 * 6 / amax)`` (FLT_MAX if that is inf; 1 if amax is 0 or
   not finite) and ``S_dec = fl(1 / S_enc)`` -- the tensor (global) scale,
   about amax / (6 * 448);
3. block scale ``s = E4M3(fl(fl(block_amax / 6) * S_enc))``, rounded to
   nearest-even and saturated at 448 -- about block_amax / 6 / S_dec;
4. elements ``= E2M1(fl(x * min(fl(1 / fl(s * S_dec)), FLT_MAX)))``,
   nearest-even, saturated at +-6;
5. dequantize: ``element * fl(fl(s * amax) * fl(1 / 2688))`` (Transformer
   Engine's dequantize kernel).

A block holding NaN or +-inf gets the E4M3 NaN scale (0x7F) and zero
element codes, and the tensor's amax is taken over the finite values (in
Transformer Engine a NaN survives ``fminf`` as a finite scale instead).
"""

from __future__ import annotations

import numpy as np

from ..codec import decode, encode
from ..formats import get_format
from ..options import check_switch
from .blocks import (
    DEFAULT_SCALE_ROUNDING,
    BlockArray,
    as_float_array,
    block_amax,
    block_scales,
    check_scale_rounding,
    make_tiling,
    multiply_and_round,
)
from .integer import INT_FORMATS

__all__ = ["MX_FORMATS", "mx_quantize", "nvfp4_quantize"]

#: MX format names and their element formats (OCP Microscaling v1.0, table 1).
MX_FORMATS = {
    "mxfp8_e4m3": get_format("float8_e4m3fn"),
    "mxfp8_e5m2": get_format("float8_e5m2"),
    "mxfp6_e3m2": get_format("float6_e3m2fn"),
    "mxfp6_e2m3": get_format("float6_e2m3fn"),
    "mxfp4": get_format("float4_e2m1fn"),
    "mxint8": INT_FORMATS["mxint8"],
}

_E8M0 = get_format("float8_e8m0fnu")
_E4M3 = get_format("float8_e4m3fn")
_FP4 = get_format("float4_e2m1fn")
_FLOAT32_MAX = np.float32(np.finfo(np.float32).max)
_NVFP4_RANGE = np.float32(448.0 * 6.0)  # E4M3 max times E2M1 max
_NVFP4_BLOCK = 16


def _check_axis_ndim(src):
    if src.ndim == 0:
        raise ValueError("x must have at least one dimension to be split into blocks, got a scalar")


def mx_quantize(x, fmt, *, axis=-1, block_size=None, scale_rounding=DEFAULT_SCALE_ROUNDING, ftz=False,
                daz=False) -> BlockArray:  # fmt: skip
    """Quantize to an MX format (OCP Microscaling v1.0) or to NVFP4.

    Parameters
    ----------
    x : array_like of real numbers
        At least one dimension.
    fmt : {"mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8", "nvfp4"}
    axis : int, optional
        The axis the blocks run along.
    block_size : int, optional
        Elements per block: 32 (the spec's k) by default, 16 for ``"nvfp4"``.
    scale_rounding : {"ceil", "floor", "nearest"}, optional
        The rule that chooses each block's scale, the same rules as
        :func:`lowfloat.block_quantize`'s.  "ceil" (the default, for both)
        is ``2**ceil(log2(amax / elem_max))``, as Transformer Engine
        computes MXFP8 scales (never clips); "floor" is the spec's
        ``2**(floor(log2(amax)) - emax_elem)`` (may clip the largest
        elements, as gfloat and microxcaling do); "nearest" rounds
        ``amax / elem_max`` to the nearest power of two.  NVFP4 takes only
        the default (it ignores it: its scale is E4M3, see
        :func:`nvfp4_quantize`).
    ftz : bool, optional
        Flush to zero: elements that would be subnormal in the element
        format become zeros of their sign (the scales are not flushed).
    daz : bool, optional
        Denormals are zero: subnormals of ``x``'s own float type count as
        zeros of their sign, in the amax too.

    Returns
    -------
    BlockArray
        ``scale`` holds the powers of two ``X`` (float32), the multipliers
        that dequantize each block, ``scale_codes`` their E8M0 codes.

    Raises
    ------
    TypeError
        ``x`` is not real numbers, ``block_size`` or ``axis`` not ints,
        ``ftz``/``daz`` not booleans.
    ValueError
        An unknown format or scale rounding, ``block_size <= 0``, an axis
        out of range, a scalar ``x``.

    Notes
    -----
    See the module docstring for the rules, special blocks and exactness.

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> x = np.float32([480.0, 1.0, -3.0, 0.1])
    >>> lf.mx_quantize(x, "mxfp8_e4m3", block_size=4).dequantize().tolist()   # X = 2
    [480.0, 1.0, -3.0, 0.1015625]
    >>> lf.mx_quantize(x, "mxfp8_e4m3", block_size=4, scale_rounding="floor").dequantize().tolist()  # X = 1
    [448.0, 1.0, -3.0, 0.1015625]
    >>> lf.mx_quantize(x, "mxfp4", block_size=4, scale_rounding="floor").scale_codes  # 2**(8 - 2) ... 133
    array([133], dtype=uint8)
    """
    if not isinstance(fmt, str) or fmt.strip().lower() not in (*MX_FORMATS, "nvfp4"):
        raise ValueError(f"unknown MX format {fmt!r}; expected one of {', '.join((*MX_FORMATS, 'nvfp4'))}")
    name = fmt.strip().lower()
    if name == "nvfp4":
        if scale_rounding != DEFAULT_SCALE_ROUNDING:
            raise ValueError(f"nvfp4 has E4M3 block scales rounded to nearest; scale_rounding={scale_rounding!r} "
                             "does not apply")  # fmt: skip
        block_size = _NVFP4_BLOCK if block_size is None else block_size
        return nvfp4_quantize(x, axis=axis, block_size=block_size, ftz=ftz, daz=daz)
    check_scale_rounding(scale_rounding)
    ftz = check_switch("ftz", ftz)
    element = MX_FORMATS[name]
    src = as_float_array(x, daz=daz)
    _check_axis_ndim(src)
    if isinstance(block_size, (tuple, list)):
        raise TypeError(f"MX blocks run along one axis; block_size must be an int, got {block_size!r}")
    tiling = make_tiling(src.shape, 32 if block_size is None else block_size, axis)
    blocked = tiling.to_blocks(src)  # (..., nblocks, block)
    amax = block_amax(blocked, tiling)
    bad = np.isnan(amax)
    scales, scale_codes = block_scales(amax, element, _E8M0, scale_rounding)
    # V / X as V * 2**-shared_exp: exact in the data's own type
    shared = scale_codes.astype(np.int32) - 127  # bad blocks' 0xFF gives 128: their elements are replaced
    inverse = np.ldexp(src.dtype.type(1), -shared).astype(src.dtype)
    rows = blocked.reshape(-1, tiling.block[0])  # (nblocks, block)
    codes = multiply_and_round(rows, inverse.reshape(-1, 1), element, bad.reshape(-1, 1), ftz)
    return BlockArray.from_blocked(tiling, codes.reshape(blocked.shape), scales, scale_codes, element, _E8M0)


def nvfp4_global_scales(amax: np.float32) -> tuple[np.float32, np.float32]:
    """``(S_enc, S_dec)``: NVFP4's float32 tensor encode scale and its reciprocal, from the tensor's amax."""
    if not np.isfinite(amax) or amax == 0:
        return np.float32(1), np.float32(1)
    with np.errstate(divide="ignore", over="ignore"):
        encode_scale = np.minimum(_NVFP4_RANGE / amax, _FLOAT32_MAX)
    if encode_scale == 0:
        return np.float32(1), np.float32(1)
    return encode_scale, np.float32(1) / encode_scale


def nvfp4_quantize(x, *, axis=-1, block_size=16, ftz=False, daz=False) -> BlockArray:
    """Quantize to NVFP4: E2M1 elements, an E4M3 scale per 16 elements, a float32 tensor scale.

    Parameters
    ----------
    x : array_like of real numbers
        At least one dimension.
    axis : int, optional
        The axis the blocks run along.
    block_size : int, optional
        Elements per block; NVFP4 uses 16.
    ftz, daz : bool, optional
        As for :func:`mx_quantize`: flush subnormal E2M1 elements (0.5) to
        zero; read subnormals of ``x``'s own float type as zeros.

    Returns
    -------
    BlockArray
        ``scale`` holds the E4M3 block scales' values, ``scale_codes`` their
        codes, ``tensor_amax`` the tensor's amax (float32);
        :meth:`BlockArray.dequantize` multiplies each element by
        ``fl(fl(scale * amax) * fl(1 / 2688))`` -- the block's scale times
        the tensor's second-level scale (:meth:`BlockArray.block_multipliers`).

    Raises
    ------
    TypeError, ValueError
        As for :func:`mx_quantize`.

    Notes
    -----
    The recipe is Transformer Engine's NVFP4 reference quantizer, step by
    step in float32 (see the module docstring).  The tensor's amax is taken
    over the finite values; a block holding NaN or +-inf gets the E4M3 NaN
    scale (0x7F) and zero element codes, and dequantizes to NaN.  float64
    input is multiplied by the element scale in float64.

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> x = np.float32([6.0, 3.0, 1.0, 0.25] + [0.0] * 12 + [0.1] * 16)
    >>> q = lf.nvfp4_quantize(x)
    >>> q.tensor_amax, q.scale                  # one E4M3 scale per 16 elements
    (np.float32(6.0), array([448.  ,   7.5], dtype=float32))
    >>> q.dequantize()[[0, 1, 2, 3, 16]]
    array([6.        , 3.        , 1.        , 0.        , 0.10044643], dtype=float32)
    >>> q.nbytes                                 # 16 bytes of codes + 2 scales + the float32 amax
    22
    """
    ftz = check_switch("ftz", ftz)
    src = as_float_array(x, daz=daz)
    _check_axis_ndim(src)
    if isinstance(block_size, (tuple, list)):
        raise TypeError(f"NVFP4 blocks run along one axis; block_size must be an int, got {block_size!r}")
    tiling = make_tiling(src.shape, block_size, axis)
    blocked = tiling.to_blocks(src)  # (..., nblocks, block)
    amax_blocks = block_amax(blocked, tiling)
    bad = np.isnan(amax_blocks)
    # 1) 2) the tensor's amax and its float32 encode/decode scales
    finite = amax_blocks[~bad]
    tensor_amax = np.float32(finite.max()) if finite.size else np.float32(0)
    encode_scale, decode_scale = nvfp4_global_scales(tensor_amax)
    # 3) block scales: fl(fl(block_amax / 6) * S_enc), to E4M3 (nearest-even, saturating)
    with np.errstate(over="ignore", invalid="ignore"):
        wanted = np.minimum((amax_blocks.astype(np.float32) / np.float32(6)) * encode_scale, _FLOAT32_MAX)
    scale_codes = encode(np.where(bad, np.float32(0), wanted), _E4M3, overflow="saturate")
    scale_codes = np.where(bad, np.uint8(_E4M3.nan_code), scale_codes).astype(np.uint8)
    scales = decode(scale_codes, _E4M3)  # float32
    # 4) elements: x * min(fl(1 / fl(s * S_dec)), FLT_MAX), to E2M1 (nearest-even, saturating)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        element_scale = np.minimum(np.float32(1) / (scales * decode_scale), _FLOAT32_MAX)
    rows = blocked.reshape(-1, tiling.block[0])  # (nblocks, block)
    factors = element_scale.astype(src.dtype).reshape(-1, 1)
    codes = multiply_and_round(rows, factors, _FP4, bad.reshape(-1, 1), ftz).reshape(blocked.shape)
    return BlockArray.from_blocked(tiling, codes, scales, scale_codes, _FP4, _E4M3, tensor_amax)
