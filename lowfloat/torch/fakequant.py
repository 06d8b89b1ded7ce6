"""Fake quantization of a tensor: :class:`Cast` says how, :func:`fake_quantize` does it.

A *cast* rounds a tensor through a low-precision format and returns the
values it now holds, as float32 (float64 for float64 input) -- the
"fake-quantized" tensor that a matmul of emulated low precision reads.  How
the values are brought onto the format's range is the cast's ``scaling``:

=============  ==========================================================================
``None``       round the values themselves (:func:`lowfloat.quantize`); with a
               per-tensor ``quant_scale`` (delayed scaling), round ``x * quant_scale``
               and multiply back by ``float32(1 / quant_scale)``, exactly as
               :mod:`lowfloat.train` does
``"tensor"``   Transformer Engine's current scaling, one scale for the tensor
               (:func:`lowfloat.scaled_quantize`), or a fixed ``scale``
``"channel"``  the same, one scale per index along ``axis``: per-channel INT8 weights
``"block"``    one scale per block of ``block_size`` elements along ``axis``
               (:func:`lowfloat.block_quantize`); the MX formats (``"mxfp8_e4m3"``,
               ``"mxfp4"``, ...) and ``"nvfp4"`` are block casts by name
               (:func:`lowfloat.mx_quantize`)
=============  ==========================================================================

Every rounding is lowfloat's own, bit for bit: a float32 tensor is read
through a NumPy view of its memory (no copy) and the result is a tensor
over the array the quantizer returned (no copy either).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from ..formats import Format, get_format
from ..interop import tensor_values
from ..rounding import ROUNDING_MODES, check_overflow
from ..scaling.blocks import SCALE_ROUNDINGS
from ..scaling.integer import INT_FORMATS, IntFormat, element_format, element_max
from ..scaling.mx import MX_FORMATS
from ..train.telemetry import Telemetry
from . import calls
from .casts import holds

__all__ = ["Cast", "SCALINGS", "fake_quantize", "as_cast"]

#: How a cast brings a tensor onto its format's range (see the module docstring).
SCALINGS = (None, "tensor", "channel", "block")

# casts nobody counts go through a Telemetry that is never asked to record: the same arithmetic
_UNCOUNTED = Telemetry(histogram_roles=())


@dataclass(frozen=True)
class Cast:
    """How one tensor is rounded: its format, and how it is scaled onto it.

    Parameters
    ----------
    fmt : Format or str
        A lowfloat format (``"e4m3"``, ``"bf16"``, a :class:`~lowfloat.Format`),
        an integer format (``"int8"``, ``"int4"``; these need a scaling), an MX
        format (``"mxfp8_e4m3"``, ``"mxfp8_e5m2"``, ``"mxfp6_e3m2"``,
        ``"mxfp6_e2m3"``, ``"mxfp4"``, ``"mxint8"``) or ``"nvfp4"``.
    rounding : str
        Any mode of :func:`lowfloat.quantize`; casts with a scaling round to
        nearest even (as the quantizers they call).
    overflow : {None, "saturate", "inf", "nan"}
        Overflow policy of an unscaled cast (None: the format's own); scaled
        casts saturate.
    scaling : {None, "tensor", "channel", "block"}
        See the module docstring; MX and NVFP4 formats imply ``"block"``.
    axis : int
        ``"channel"``: the axis whose every index has its own scale (0 for the
        output channels of a weight).  ``"block"``: the axis the blocks run along.
    block_size : int or tuple of int, optional
        ``"block"`` with a lowfloat or integer format: elements per block (or
        a tile over the last ``len(block_size)`` axes).  MX formats default to
        32, NVFP4 to 16.
    scale_fmt : {"float32", "float8_e8m0fnu", "float8_e4m3fn"}
        ``"block"`` with a lowfloat or integer format: what the block scales are stored as.
    scale_rounding : {"ceil", "floor", "nearest"}
        ``"block"`` and MX: the rule that picks a block's scale (see
        :func:`lowfloat.block_quantize`).
    margin : int
        ``"tensor"`` and ``"channel"``: headroom, the quantizing multiplier is
        divided by ``2**margin``.
    power_of_two : bool
        ``"tensor"`` and ``"channel"``: round the quantizing multiplier down
        to a power of two.
    scale : float, optional
        ``"tensor"``: a fixed dequantizing multiplier (``x ~ element *
        scale``) instead of one computed from the tensor -- a scale
        calibrated beforehand, as static post-training quantization uses.

    Raises
    ------
    ValueError
        An unknown format, rounding, scaling or overflow policy, an option that
        does not apply to the scaling, an integer format without a scaling;
        the message names the field.

    Examples
    --------
    >>> from lowfloat.torch import Cast
    >>> Cast("e4m3", overflow="saturate").describe()
    'float8_e4m3fn, saturate'
    >>> Cast("mxfp4").describe(), Cast("int8", scaling="channel", axis=0).describe()
    ('mxfp4 blocks of 32', 'int8 per channel along axis 0')
    >>> Cast("int8")
    Traceback (most recent call last):
    ...
    ValueError: Cast.scaling: integers have no exponent; int8 needs scaling='tensor', 'channel' or 'block'
    """

    fmt: Format | str
    rounding: str = "nearest_even"
    overflow: str | None = None
    scaling: str | None = None
    axis: int = -1
    block_size: int | tuple | None = None
    scale_fmt: str = "float32"
    scale_rounding: str = "ceil"
    margin: int = 0
    power_of_two: bool = False
    scale: float | None = None

    def __post_init__(self):
        fmt = self.fmt
        if isinstance(fmt, str) and fmt.strip().lower() in calls.MX_NAMES:
            fmt = fmt.strip().lower()
            if self.scaling not in (None, "block"):
                raise ValueError(f"Cast.scaling: {fmt} is a block format; got scaling={self.scaling!r}")
            object.__setattr__(self, "scaling", "block")
        elif isinstance(fmt, str) and fmt.strip().lower() in INT_FORMATS:
            fmt = element_format(fmt)
        elif not isinstance(fmt, IntFormat):
            try:
                fmt = get_format(fmt)
            except (ValueError, TypeError) as error:
                raise ValueError(f"Cast.fmt: {error}; or one of {', '.join(calls.MX_NAMES)}, "
                                 f"{', '.join(INT_FORMATS)}") from None  # fmt: skip
        object.__setattr__(self, "fmt", fmt)
        if self.scaling not in SCALINGS:
            raise ValueError(f"Cast.scaling must be one of {', '.join(map(repr, SCALINGS))}, got {self.scaling!r}")
        if isinstance(fmt, IntFormat) and self.scaling is None:
            raise ValueError(f"Cast.scaling: integers have no exponent; {fmt.name} needs scaling='tensor', "
                             "'channel' or 'block'")  # fmt: skip
        if isinstance(fmt, Format) and not fmt.signed:
            raise ValueError(f"Cast.fmt: {fmt.name} is unsigned (a scale format) and cannot hold a tensor's values")
        if self.rounding not in ROUNDING_MODES:
            raise ValueError(f"Cast.rounding must be one of {', '.join(ROUNDING_MODES)}, got {self.rounding!r}")
        if self.scaling is None:
            try:
                check_overflow(fmt, self.overflow)
            except ValueError as error:
                raise ValueError(f"Cast.overflow: {error}") from None
        else:
            if self.rounding != "nearest_even":
                raise ValueError(f"Cast.rounding: a cast with scaling={self.scaling!r} rounds to nearest even; "
                                 f"got {self.rounding!r}")  # fmt: skip
            if self.overflow not in (None, "saturate"):
                raise ValueError(f"Cast.overflow: a cast with scaling={self.scaling!r} saturates; "
                                 f"got {self.overflow!r}")  # fmt: skip
        self._check_options()

    def _check_options(self):
        if isinstance(self.axis, bool) or not isinstance(self.axis, (int, np.integer)):
            raise ValueError(f"Cast.axis must be an int, got {self.axis!r}")
        block = self.scaling == "block"
        mx = self.fmt in calls.MX_NAMES
        if self.block_size is not None and not block:
            raise ValueError(f"Cast.block_size applies to scaling='block', not {self.scaling!r}")
        if block and not mx and self.block_size is None:
            raise ValueError(f"Cast.block_size: a block cast of {self.name} needs a block_size (MX formats have 32)")
        if self.scale_fmt != "float32" and (not block or mx):
            raise ValueError("Cast.scale_fmt applies to block casts of a lowfloat or integer format; "
                             f"{self.name} with scaling={self.scaling!r} fixes its own")  # fmt: skip
        if self.scale_rounding not in SCALE_ROUNDINGS:
            raise ValueError(f"Cast.scale_rounding must be one of {', '.join(SCALE_ROUNDINGS)}, "
                             f"got {self.scale_rounding!r}")  # fmt: skip
        if self.scale_rounding != "ceil" and (not block or self.fmt == calls.NVFP4):
            raise ValueError(f"Cast.scale_rounding applies to block and MX casts, not to {self.describe()}")
        if (self.margin != 0 or self.power_of_two) and self.scaling not in ("tensor", "channel"):
            raise ValueError("Cast.margin and Cast.power_of_two apply to scaling='tensor' or 'channel'")
        if self.scale is not None:
            if self.scaling != "tensor":
                raise ValueError(f"Cast.scale (a fixed per-tensor scale) applies to scaling='tensor', "
                                 f"not {self.scaling!r}")  # fmt: skip
            if isinstance(self.scale, bool) or not isinstance(self.scale, (int, float, np.integer, np.floating)) \
                    or not (np.isfinite(self.scale) and self.scale > 0):  # fmt: skip
                raise ValueError(f"Cast.scale must be a positive finite number, got {self.scale!r}")
            if self.margin != 0 or self.power_of_two:
                raise ValueError("Cast.margin and Cast.power_of_two shape a computed scale, not a fixed Cast.scale")

    # ---------------------------------------------------------------- what it is
    @property
    def name(self) -> str:
        """The format's name (an MX or NVFP4 format's own)."""
        return self.fmt if isinstance(self.fmt, str) else self.fmt.name

    @property
    def element_format(self):
        """The format the elements are rounded into (a Format or an IntFormat)."""
        if self.fmt == calls.NVFP4:
            return get_format("float4_e2m1fn")
        return MX_FORMATS[self.fmt] if isinstance(self.fmt, str) else self.fmt

    @property
    def max(self) -> float:
        """The element format's largest finite value: what a scaled cast maps each amax onto."""
        return element_max(self.element_format)

    @property
    def is_identity(self) -> bool:
        """Whether the cast leaves a float32 tensor as it is: float32, to nearest, unscaled."""
        return self.scaling is None and self.fmt.name == "float32" and self.rounding == "nearest_even"

    def replace(self, **changes) -> Cast:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def along(self, axis: int) -> Cast:
        """The same cast with its blocks along ``axis`` (a block cast), else itself."""
        return self.replace(axis=axis) if self.scaling == "block" and axis != self.axis else self

    def describe(self) -> str:
        """One line for tables."""
        if self.scaling is None:
            extra = [self.rounding] if self.rounding != "nearest_even" else []
            extra += [self.overflow] if self.overflow else []
            return ", ".join([self.name, *extra])
        if self.scaling == "tensor":
            return f"{self.name} per tensor" + ("" if self.scale is None else f", scale {self.scale:g}")
        if self.scaling == "channel":
            return f"{self.name} per channel along axis {self.axis}"
        size = self.block_size if self.block_size is not None else (16 if self.fmt == calls.NVFP4 else 32)
        return f"{self.name} blocks of {size}" + (f" along axis {self.axis}" if self.axis != -1 else "")

    # ---------------------------------------------------------------- doing it
    def round(self, x, *, outside: bool = False):
        """``(values, outside mask or None)``: :func:`fake_quantize` of ``x``, uncounted."""
        return fake_quantize(x, self, outside=outside)


def as_cast(cast, what: str = "cast"):
    """A :class:`Cast` from a Cast, a Format or a format name; None stays None; an object with ``round`` as it is."""
    if cast is None or isinstance(cast, Cast):
        return cast
    if isinstance(cast, (str, Format)):
        return Cast(cast)
    if callable(getattr(cast, "round", None)):
        return cast
    raise TypeError(f"{what} must be a lowfloat.torch.Cast, a format or None, got {type(cast).__name__}")


def _readable(x, cast):
    """The tensor's values as a NumPy array (a view of float32/float64/float16 memory), or TypeError/ValueError."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"x must be a floating tensor, got {x.dtype}")
    if x.dtype not in (torch.float32, torch.float64):
        if cast.scaling is not None:
            raise ValueError(f"a {cast.describe()} cast returns float32 values; pass a float32 tensor, not {x.dtype}")
        if not holds(x.dtype, cast.fmt):
            raise ValueError(f"a {x.dtype} tensor cannot hold every {cast.name} value; pass a float32 tensor")
    return tensor_values(x)


def fake_quantize(x, cast: Cast, *, quant_scale=None, rng=None, counter=None, role="activation", outside=False):
    """Round a tensor as ``cast`` says and return its new values.

    Parameters
    ----------
    x : torch.Tensor
        A CPU tensor; float32 or float64 (float16 and bfloat16 too for an
        unscaled cast into a format their dtype holds).  Read without a copy.
    cast : Cast
    quant_scale : float, optional
        Unscaled casts only: round ``x * quant_scale`` and multiply the result
        by ``float32(1 / quant_scale)`` (per-tensor delayed scaling).
    rng : optional
        The generator of stochastic rounding (as for :func:`lowfloat.quantize`).
    counter : lowfloat.train.telemetry.Telemetry, optional
        Counts what the cast did under ``role`` (overflow, underflow,
        subnormals, amax), as the trainer counts its casts.
    role : str
    outside : bool
        Also return where the cast clipped: the elements whose scaled
        magnitude was beyond the format's largest value (or not finite).

    Returns
    -------
    values : torch.Tensor
        The rounded values, ``x``'s shape, dtype and no autograd history.
    outside : torch.Tensor of bool or None

    Examples
    --------
    >>> import torch
    >>> from lowfloat.torch import Cast
    >>> from lowfloat.torch.fakequant import fake_quantize
    >>> values, clipped = fake_quantize(torch.tensor([0.1, 500.0]), Cast("e4m3", overflow="saturate"), outside=True)
    >>> values.tolist(), clipped.tolist()
    ([0.1015625, 448.0], [False, True])
    >>> fake_quantize(torch.tensor([0.1, 500.0]), Cast("e4m3"), quant_scale=0.5)[0].tolist()  # 250 -> 256
    [0.1015625, 512.0]
    """
    array = _readable(x, cast)
    if cast.scaling is None:
        if quant_scale is not None and not (np.isfinite(quant_scale) and quant_scale > 0):
            raise ValueError(f"quant_scale must be a positive finite number, got {quant_scale!r}")
        teller = _UNCOUNTED if counter is None else counter
        with np.errstate(over="ignore", invalid="ignore"):
            values = teller.cast(array, cast.fmt, role=role, scale=quant_scale, overflow=cast.overflow,
                                 rounding=cast.rounding, rng=rng, record=counter is not None)  # fmt: skip
            scaled = array if quant_scale is None else array * np.float32(quant_scale)  # what cast() rounded
    else:
        if quant_scale is not None:
            raise ValueError(f"quant_scale applies to unscaled casts; a {cast.describe()} cast scales itself")
        rounded = _scaled(array, cast)
        if counter is not None:
            counter.count(array, rounded.elements, rounded.fmt, role=role, scaled=rounded.scaled)
        values, scaled = rounded.values, rounded.scaled
    if np.may_share_memory(values, array):
        values = values.copy()  # a float32 identity cast: the result must not alias the input
    result = torch.from_numpy(np.asarray(values))
    if result.dtype != x.dtype:
        result = result.to(x.dtype)  # exact: the dtype holds every value the cast can give (checked above)
    mask = None
    if outside:
        with np.errstate(invalid="ignore"):
            mask = torch.from_numpy(np.asarray(~(np.abs(scaled) <= cast.max)))
    return result, mask


def _scaled(array: np.ndarray, cast: Cast):
    """A scaled cast through :mod:`lowfloat.torch.calls`."""
    if cast.scaling == "block":
        return calls.block_cast(array, cast.fmt, axis=cast.axis, block_size=cast.block_size, scale_fmt=cast.scale_fmt,
                                scale_rounding=cast.scale_rounding)  # fmt: skip
    axis = None if cast.scaling == "tensor" else cast.axis
    return calls.scaled_cast(array, cast.fmt, axis=axis, margin=cast.margin, power_of_two=cast.power_of_two,
                             scale=cast.scale)  # fmt: skip
