"""Every call :mod:`lowfloat.torch` makes to lowfloat's scaled, block and MX quantizers and to ``lowfloat.matmul``.

Those are NumPy functions whose keyword arguments are lowfloat's public
vocabulary (``fmt``, ``axis``, ``scale``, ``block_size``...); they are called
here and nowhere else in this package, so that a change of their signatures
is a change of this module only.

:func:`scaled_cast` rounds a float32 or float64 array with per-tensor or
per-channel scaling (:func:`lowfloat.scaled_quantize`), :func:`block_cast`
with block scaling (:func:`lowfloat.block_quantize`,
:func:`lowfloat.mx_quantize`, NVFP4 included).  Both return
a :class:`Rounded`: the dequantized values, and -- for counting what the
cast did -- what was rounded (the input times its scale) and the element
values it was rounded to.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..accumulate import matmul as lowfloat_matmul
from ..scaling.blocks import block_quantize
from ..scaling.integer import code_values
from ..scaling.mx import MX_FORMATS, mx_quantize
from ..scaling.scaled import scaled_quantize

__all__ = ["Rounded", "scaled_cast", "block_cast", "matmul", "MX_NAMES", "NVFP4"]

#: The block formats named by one word: OCP MX (:data:`lowfloat.MX_FORMATS`) and NVFP4.
NVFP4 = "nvfp4"
MX_NAMES = (*MX_FORMATS, NVFP4)


class Rounded(NamedTuple):
    """A scaled cast's result, and what it rounded."""

    values: np.ndarray  # the dequantized values, float32, the input's shape
    scaled: np.ndarray  # what was rounded: the input times its scale, the input's shape
    elements: np.ndarray  # the values it was rounded to, in the element format's units
    fmt: object  # the element format (a Format or an IntFormat)


def scaled_cast(x: np.ndarray, fmt, *, axis=None, margin=0, power_of_two=False, scale=None) -> Rounded:
    """Transformer Engine's current scaling, per tensor (``axis=None``) or per index along ``axis``; or a fixed
    dequantizing ``scale``."""
    q = scaled_quantize(x, fmt, axis=axis, margin=margin, power_of_two=power_of_two, scale=scale)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = x * q.quant_scale.astype(x.dtype)  # the product scaled_quantize rounds
    return Rounded(q.dequantize(), scaled, code_values(q.codes, q.fmt, x.dtype), q.fmt)


def block_cast(x: np.ndarray, fmt, *, axis, block_size=None, scale_fmt="float32", scale_rounding="ceil") -> Rounded:
    """One scale per block along ``axis``: an MX or NVFP4 format by name, or ``fmt`` in blocks of ``block_size``."""
    if fmt in MX_NAMES:  # NVFP4 included: mx_quantize knows it
        q = mx_quantize(x, fmt, axis=axis, block_size=block_size, scale_rounding=scale_rounding)
    else:
        q = block_quantize(x, fmt, block_size=block_size, axis=axis, scale_fmt=scale_fmt,
                           scale_rounding=scale_rounding)  # fmt: skip
    multipliers = _per_element(q.block_multipliers().astype(np.float64), q.block_size, q.axis, x.shape)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        # each element over its block's multiplier: exact for MX's powers of two, within one rounding otherwise
        scaled = (x / multipliers).astype(x.dtype)
    return Rounded(q.dequantize(), scaled, code_values(q.codes, q.fmt, x.dtype), q.fmt)


def _per_element(per_block: np.ndarray, block_size: tuple, axes: tuple, shape: tuple) -> np.ndarray:
    """Per-block values repeated over their blocks, cut to ``shape`` (the last block may be ragged)."""
    for size, axis in zip(block_size, axes, strict=True):
        per_block = np.repeat(per_block, size, axis=axis)
    return per_block[tuple(slice(0, n) for n in shape)]


def matmul(a: np.ndarray, b: np.ndarray, *, accumulate, promote_every=None) -> np.ndarray:
    """``a @ b`` with every partial sum rounded into ``accumulate`` (:func:`lowfloat.matmul`), float32."""
    return lowfloat_matmul(a, b, accumulate=accumulate, promote_every=promote_every)
