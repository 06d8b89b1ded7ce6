"""``round_updates``: master weights and optimizer state kept in a low-precision format (``bf16-pure``).

Most recipes keep float32 master weights: PyTorch's optimizer updates the
float32 parameters and nothing needs doing.  A recipe whose ``master`` or
``optimizer_state`` format is narrower (``bf16-pure``: bfloat16 weights
updated in place, no float32 copy) needs every update rounded into it;
:func:`round_updates` hooks the optimizer so that after each step the
parameters are rounded into ``master`` (to nearest, or stochastically with
``stochastic_update``) and every state tensor of a parameter's shape
(momentum, Adam's moments) into ``optimizer_state``.

PyTorch has already rounded the update into float32, so the result is the
float32 sum rounded again; :mod:`lowfloat.train` rounds the exact sum once.
The two differ only where the float32 sum lies within half a float32 unit of
a midpoint of the master format.
"""

from __future__ import annotations

import torch

from .casts import quantize
from .emulate import emulation

__all__ = ["round_updates"]


def round_updates(optimizer, model):
    """After each optimizer step, round the parameters into ``master`` and the state into ``optimizer_state``.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    model : torch.nn.Module
        An emulated model (:func:`lowfloat.torch.emulate`).

    Returns
    -------
    torch.utils.hooks.RemovableHandle
        ``.remove()`` stops the rounding.

    Examples
    --------
    >>> import torch
    >>> import lowfloat.torch as lft
    >>> model = lft.emulate(torch.nn.Linear(2, 1, bias=False), "bf16-pure")
    >>> with torch.no_grad():
    ...     _ = model.weight.fill_(1.0)
    >>> opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    >>> handle = lft.round_updates(opt, model)
    >>> model(torch.ones(1, 2)).sum().backward(); opt.step()
    >>> model.weight.tolist()                  # 1 - 1e-3 is 0.999 in float32, 1.0 in bfloat16: the update is lost
    [[1.0, 1.0]]
    """
    state = emulation(model)
    recipe = state.recipe
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    rounding = "stochastic" if recipe.stochastic_update else "nearest_even"
    options = {"rng": state.rng} if recipe.stochastic_update else {}

    def after_step(opt, args, kwargs):
        with torch.no_grad():
            for group in opt.param_groups:
                for parameter in group["params"]:
                    if recipe.master.name != "float32" or recipe.stochastic_update:
                        quantize(parameter.data, recipe.master, out=parameter.data, rounding=rounding, **options)
                    if recipe.optimizer_state.name == "float32":
                        continue
                    for value in opt.state.get(parameter, {}).values():
                        # moments, not counters: Adam's step count must not be rounded
                        if torch.is_tensor(value) and value.is_floating_point() and value.shape == parameter.shape:
                            quantize(value, recipe.optimizer_state, out=value)

    return optimizer.register_step_post_hook(after_step)
