"""The state an emulated model's layers share: its recipe, per-tensor scales, telemetry, and where a step ends.

Every cast of an emulated layer goes through :meth:`Emulation.cast` (a
forward tensor, and on the way back its gradient) or
:meth:`Emulation.grad_cast` (a gradient only), which hand
:class:`~lowfloat.torch.Quantize` a :class:`TensorCast`: the recipe's
:class:`~lowfloat.torch.Cast` of the role, the tensor's per-tensor scale,
and the counter of its layer.

Per-tensor scaling follows :mod:`lowfloat.train` and Transformer Engine:
the roles ``weight``, ``activation`` and ``activation_grad`` are scaled
when their cast is an unscaled cast into a format other than float32; with
:class:`lowfloat.train.DelayedScaling` each tensor ``(layer, "x")``,
``(layer, "W")``, ``(layer, "b")``, ``(layer, "dy")`` records its amax every
training step and is cast with the scale computed from its history at the
end of the previous step; with :class:`lowfloat.train.CurrentScaling` the
scale comes from the tensor itself.

Steps.  A forward pass *records* (counts its casts, feeds the amax
histories) when the model is in training mode and autograd is on; its
backward pass records with it.  The step ends when the next forward pass
begins -- training or evaluation -- or when :meth:`Emulation.end_step` is
called: the delayed scales are then recomputed from the histories and
the step's telemetry is closed, as :mod:`lowfloat.train` does at the end of
its step.  So a step is one training forward (and its backward); gradient
accumulation over several forward passes would advance the scales once per
pass.
"""

from __future__ import annotations

import numpy as np
import torch

from ..interop import tensor_values
from ..train.scalers import CurrentScaling, DelayedScaling
from .autograd import Quantize
from .fakequant import Cast, fake_quantize
from .recipe import Recipe
from .telemetry import CastTelemetry

__all__ = ["Emulation", "TensorCast", "SCALED_ROLES", "make_scaling"]

#: Roles whose casts are per-tensor scaled: the matmul inputs, as in Transformer Engine and lowfloat.train.
SCALED_ROLES = ("weight", "activation", "activation_grad")


def make_scaling(scaling):
    """None, a :class:`lowfloat.train.DelayedScaling` or :class:`~lowfloat.train.CurrentScaling`, from a name or one."""
    if scaling is None or isinstance(scaling, (DelayedScaling, CurrentScaling)):
        return scaling
    if scaling == "delayed":
        return DelayedScaling()
    if scaling == "current":
        return CurrentScaling()
    raise ValueError(f"scaling must be None, 'delayed', 'current', a lowfloat.train.DelayedScaling or "
                     f"CurrentScaling, got {scaling!r}")  # fmt: skip


def _amax(array: np.ndarray) -> float:
    return float(np.max(np.abs(array))) if array.size else 0.0


class TensorCast:
    """One tensor's cast in one pass: the Cast, the per-tensor scale, the counter (what Quantize calls)."""

    def __init__(self, emulation: Emulation, layer: str, tensor: str, role: str, cast: Cast, record: bool):
        self.emulation = emulation
        self.layer, self.tensor, self.role, self.cast = layer, tensor, role, cast
        self.record = record  # fixed when the forward pass builds it: its backward records with it

    def round(self, x, *, outside=False):
        """``(values, mask)`` of ``x`` cast as the recipe says, scaled and counted."""
        em = self.emulation
        quant_scale = None
        if em.scaling is not None and self.role in SCALED_ROLES and self.cast.scaling is None:
            amax = _amax(tensor_values(x))
            key = (self.layer, self.tensor)
            if em.scaling.delayed:
                quant_scale = em.scaling.scale(key)
                if self.record:
                    em.scaling.record(key, amax, self.cast.max)
            else:
                quant_scale = em.scaling.scale_for(amax, self.cast.max)
            if self.record:
                em.telemetry.note_scale(self.layer, self.tensor, quant_scale)
        counter = em.telemetry.counter(self.layer) if self.record else None
        rng = em.rng if self.cast.rounding == "stochastic" else None
        return fake_quantize(x, self.cast, quant_scale=quant_scale, rng=rng, counter=counter, role=self.role,
                             outside=outside)  # fmt: skip


class Emulation:
    """What :func:`lowfloat.torch.emulate` attaches to a model (as ``model.lowfloat_emulation``).

    Attributes
    ----------
    recipe : Recipe
    scaling : None, DelayedScaling or CurrentScaling
        The per-tensor scaling state, shared by every layer (keys ``(layer, tensor)``).
    telemetry : CastTelemetry
    accumulate : Format or None
        The accumulator of every matmul routed through :func:`lowfloat.matmul` (None: PyTorch's).
    promote_every : int or None
    rng : numpy.random.Generator
        The random bits of stochastic rounding.
    """

    def __init__(self, recipe: Recipe, scaling, *, accumulate=None, promote_every=None, seed=0, zero_outside=False):
        self.recipe = recipe
        self.scaling = make_scaling(scaling)
        self.telemetry = CastTelemetry()
        self.accumulate = accumulate
        self.promote_every = promote_every
        self.rng = np.random.default_rng(seed)
        self.zero_outside = zero_outside
        self.recording = False
        self._unfinished = False  # a recording pass ran since the last end_step

    # ------------------------------------------------------------ steps
    def begin_forward(self, training: bool) -> None:
        """A forward pass of the model begins: close the previous step if one recorded, then set recording."""
        self.end_step()
        self.recording = training and torch.is_grad_enabled()
        self._unfinished = self._unfinished or self.recording

    def end_step(self) -> None:
        """End the step: the delayed scales advance (Transformer Engine's update) and the telemetry closes it.

        Nothing happens if no training pass ran since the step last ended: a
        step is never ended twice.
        """
        if not self._unfinished:
            return
        if self.scaling is not None and self.scaling.delayed:
            self.scaling.update()
        self.telemetry.end_step()
        self._unfinished = False

    # ------------------------------------------------------------ casts
    def tensor_cast(self, layer: str, tensor: str, role: str, cast: Cast):
        """The TensorCast of one tensor in this pass; None if ``cast`` leaves float32 as it is."""
        if cast is None or cast.is_identity:
            return None
        return TensorCast(self, layer, tensor, role, cast, self.recording)

    def cast(self, x, layer: str, tensor: str, role: str, cast: Cast, *, grad=None, grad_tensor=None):
        """``x`` cast for the forward pass; its gradient cast by ``grad`` (role weight_grad) on the way back."""
        forward = self.tensor_cast(layer, tensor, role, cast)
        backward = self.tensor_cast(layer, grad_tensor, "weight_grad", grad) if grad is not None else None
        if forward is None and backward is None:
            return x
        return Quantize.apply(x, forward, backward, self.zero_outside and forward is not None)

    def grad_cast(self, y, layer: str, tensor: str, cast: Cast):
        """``y`` unchanged; its gradient cast as the ``activation_grad`` role on the way back."""
        backward = self.tensor_cast(layer, tensor, "activation_grad", cast)
        return y if backward is None else Quantize.apply(y, None, backward)
