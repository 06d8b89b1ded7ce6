"""``LossScaler``: a :mod:`lowfloat.train` loss scaler behind ``torch.amp.GradScaler``'s interface.

``torch.amp.GradScaler("cpu")`` works unchanged with an emulated model.
:class:`LossScaler` offers the same four calls -- ``scale(loss)``,
``unscale_(optimizer)``, ``step(optimizer)``, ``update()`` -- around any
scaler of :mod:`lowfloat.train.scalers` (:class:`~lowfloat.train.DynamicLossScaler`,
GradScaler's rule; :class:`~lowfloat.train.StaticLossScaler`;
:class:`~lowfloat.train.NoLossScaling`), so that a training loop can switch
between them, or use the very scaler object the NumPy trainer uses.
"""

from __future__ import annotations

import numpy as np
import torch

from ..train.scalers import DynamicLossScaler, NoLossScaling, StaticLossScaler

__all__ = ["LossScaler"]


class LossScaler:
    """``torch.amp.GradScaler``'s calls around a loss scaler of :mod:`lowfloat.train`.

    Parameters
    ----------
    scaler : DynamicLossScaler, StaticLossScaler or NoLossScaling, optional
        Default: ``DynamicLossScaler()`` (GradScaler's defaults).

    Notes
    -----
    As GradScaler: the loss is multiplied by the float32 scale; gradients
    are multiplied by ``float32(1 / scale)`` and checked for inf and NaN
    once per optimizer and step; a step with a non-finite gradient is
    skipped when the scaler skips such steps; :meth:`update` advances the
    scaler with what the step found.

    Examples
    --------
    >>> import torch
    >>> from lowfloat.torch import LossScaler
    >>> from lowfloat.train import DynamicLossScaler
    >>> w = torch.nn.Parameter(torch.ones(2))
    >>> opt = torch.optim.SGD([w], lr=0.1)
    >>> scaler = LossScaler(DynamicLossScaler(init_scale=1024.0))
    >>> scaler.scale((w * w).sum()).backward()
    >>> w.grad.tolist()                            # scaled
    [2048.0, 2048.0]
    >>> scaler.step(opt); scaler.update()
    >>> w.tolist(), scaler.get_scale()
    ([0.800000011920929, 0.800000011920929], 1024.0)
    """

    def __init__(self, scaler=None):
        scaler = DynamicLossScaler() if scaler is None else scaler
        if not isinstance(scaler, (DynamicLossScaler, StaticLossScaler, NoLossScaling)):
            raise TypeError(f"scaler must be a lowfloat.train DynamicLossScaler, StaticLossScaler or NoLossScaling, "
                            f"got {type(scaler).__name__}")  # fmt: skip
        self.scaler = scaler
        self._unscaled = {}  # id(optimizer) -> found_inf, for this step
        self.skipped_steps = 0

    def get_scale(self) -> float:
        """The loss scale of the step in progress."""
        return self.scaler.scale

    def scale(self, loss):
        """``loss`` times the float32 loss scale."""
        return loss * torch.tensor(self.scaler.scale, dtype=torch.float32)

    def unscale_(self, optimizer) -> None:
        """Multiply the optimizer's gradients by ``float32(1 / scale)`` (once per step) and note inf/NaN."""
        if id(optimizer) in self._unscaled:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update()")
        inverse = torch.tensor(np.float32(1.0 / np.float64(self.scaler.scale)))
        found_inf = False
        with torch.no_grad():
            for group in optimizer.param_groups:
                for parameter in group["params"]:
                    if parameter.grad is not None:
                        parameter.grad.mul_(inverse)
                        found_inf = found_inf or not bool(torch.isfinite(parameter.grad).all())
        self._unscaled[id(optimizer)] = found_inf

    def step(self, optimizer):
        """Unscale if not done yet; take the optimizer's step unless a gradient is inf/NaN and the scaler skips."""
        if id(optimizer) not in self._unscaled:
            self.unscale_(optimizer)
        if self._unscaled[id(optimizer)] and self.scaler.skips_nonfinite:
            return None
        return optimizer.step()

    def update(self) -> None:
        """End of step: the scaler advances with whether any optimizer's gradients held inf/NaN."""
        found_inf = any(self._unscaled.values())
        if found_inf and self.scaler.skips_nonfinite:
            self.skipped_steps += 1
        self.scaler.update(found_inf)
        self._unscaled = {}
