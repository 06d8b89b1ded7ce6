"""``emulate(model, policy)``: run any PyTorch model's matmuls on low-precision operands, bit-exactly, on the CPU.

:func:`emulate` replaces every ``nn.Linear`` and ``nn.Conv2d`` by a wrapper
(:mod:`lowfloat.torch.layers`) and hooks the products the model's own code
computes -- attention's (:mod:`lowfloat.torch.attention`) -- so that
weights, activations and gradients are cast as a recipe says
(:mod:`lowfloat.torch.recipe`: the presets of :mod:`lowfloat.train`, MX,
NVFP4, INT8), with per-tensor scaling state kept per layer
(:mod:`lowfloat.torch.state`) and every cast counted
(:mod:`lowfloat.torch.telemetry`).  Training needs nothing else: the
parameters stay float32 master weights, any optimizer updates them, and
``torch.amp.GradScaler("cpu")`` or :class:`lowfloat.torch.LossScaler` scale
the loss as they would for any model.  :func:`restore` puts the original
modules back.
"""

from __future__ import annotations

import torch
from torch import nn

from ..codec import quantize as lowfloat_quantize
from ..formats import get_format
from .attention import MatmulHook
from .layers import WRAPPERS, _Emulated
from .recipe import get_recipe
from .state import Emulation

__all__ = ["emulate", "restore", "emulation", "telemetry", "ATTRIBUTE"]

#: The attribute of an emulated model that holds its :class:`~lowfloat.torch.state.Emulation`.
ATTRIBUTE = "lowfloat_emulation"


def _wrapper_for(module: nn.Module):
    return next((wrapper for kind, wrapper in WRAPPERS.items() if isinstance(module, kind)), None)


def _excluded(name: str, exclude) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in exclude)


def _check_model(model, exclude):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if hasattr(model, ATTRIBUTE) or isinstance(model, _Emulated):
        raise ValueError("model is emulated already; lowfloat.torch.restore(model) first")
    if not all(isinstance(name, str) for name in exclude):
        raise TypeError(f"exclude must be a list of module names, got {exclude!r}")
    for name, module in model.named_modules():
        if _excluded(name, exclude):
            continue
        if isinstance(module, nn.MultiheadAttention):
            raise ValueError(
                f"{name or 'model'} is an nn.MultiheadAttention, which computes its products inside "
                "F.multi_head_attention_forward, where emulate cannot cast them; write the attention with nn.Linear "
                "projections and torch.matmul or F.scaled_dot_product_attention (both are emulated), or exclude it"
            )
        for parameter in module.parameters(recurse=False):
            if isinstance(parameter, nn.parameter.UninitializedParameter):
                raise ValueError(f"{name or 'model'} has uninitialized (lazy) parameters; run one forward pass first")
        if not all(p.device.type == "cpu" and p.dtype == torch.float32 for p in module.parameters(recurse=False)):
            if _wrapper_for(module) is not None:
                raise ValueError(f"{name or 'model'}: emulate needs float32 parameters on the CPU (master weights); "
                                 "call model.float().cpu() first")  # fmt: skip


def emulate(model, policy="fp8", *, scaling=None, accumulate=None, promote_every=None, exclude=(), matmuls=True,
            zero_outside=False, seed=0):  # fmt: skip
    """Make a PyTorch model compute as a low-precision recipe says: every matmul reads cast operands.

    Parameters
    ----------
    model : torch.nn.Module
        float32, on the CPU.  Changed in place: its ``nn.Linear`` and
        ``nn.Conv2d`` modules are replaced by wrappers holding the same
        parameters.
    policy : str, lowfloat.train.Policy or lowfloat.torch.Recipe
        A preset of :mod:`lowfloat.train` (``"fp32"``, ``"fp16"``,
        ``"bf16"``, ``"fp8"`` -- HYBRID --, ``"bf16-pure"``), one of
        :data:`lowfloat.torch.RECIPES` (``"mxfp8"``, ``"mxfp4"``,
        ``"nvfp4"``, ``"int8"``), a Policy or a Recipe.
    scaling : None, "delayed", "current", DelayedScaling or CurrentScaling
        Per-tensor scaling of the unscaled casts of weights, activations and
        activation gradients (:mod:`lowfloat.train.scalers`, Transformer
        Engine's recipes); one state for the model, one history per tensor.
    accumulate : Format or str, optional
        Route every emulated layer's products through :func:`lowfloat.matmul`
        with this accumulator (default: the recipe's ``accumulator`` if it is
        not float32, else PyTorch's float32 products).  Exact and slow:
        thousands of times slower than PyTorch's matmul, for small models.
        Attention's hooked products keep PyTorch's float32 accumulation.
    promote_every : int, optional
        With an emulated accumulator, restart it every N products and add
        the partial sums in float32 (DeepSeek-V3).
    exclude : sequence of str
        Names of modules (and everything inside them) to leave in float32,
        e.g. ``["classifier"]``.
    matmuls : bool
        Also cast the products the model's own code computes (attention:
        ``torch.matmul``, ``@``, ``bmm``, ``F.scaled_dot_product_attention``;
        see :mod:`lowfloat.torch.attention`).
    zero_outside : bool
        Zero the gradient of elements the forward casts clipped (by default
        it passes straight through).
    seed : int
        Seeds the random bits of stochastic rounding.

    Returns
    -------
    torch.nn.Module
        ``model`` itself -- or, if ``model`` is a single ``nn.Linear`` or
        ``nn.Conv2d``, its wrapper.  Its ``state_dict()`` has the original's
        keys and loads into the original architecture.

    Raises
    ------
    TypeError
        ``model`` is not a module.
    ValueError
        An unknown policy or scaling; a model emulated already, with lazy or
        non-float32 parameters, or holding an ``nn.MultiheadAttention``.

    Notes
    -----
    A step ends when the next forward pass begins (see
    :mod:`lowfloat.torch.state`).  Save an emulated model with its
    ``state_dict()``, and copy a model before emulating it, not after: the
    copy of an emulated model would share the original's hooks and state.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> import lowfloat.torch as lft
    >>> torch.manual_seed(0)
    <torch._C.Generator object at ...>
    >>> model = lft.emulate(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)), "fp8", scaling="delayed")
    >>> model[0]
    EmulatedLinear(in_features=4, out_features=3, bias=True, fp8)
    >>> for step in range(3):
    ...     model(torch.ones(5, 4)).sum().backward()
    >>> lft.telemetry(model).series("scale", layer="0")[("0", "x")]    # delayed: 448 / amax from step 1 on
    array([  1., 448.])
    >>> original = lft.restore(model)
    >>> type(original[0]).__name__
    'Linear'
    """
    if isinstance(exclude, str):
        raise TypeError(f"exclude must be a list of module names, got the string {exclude!r}")
    exclude = tuple(exclude)
    _check_model(model, exclude)
    recipe = get_recipe(policy)
    if accumulate is None and recipe.emulates_accumulator:
        accumulate = recipe.accumulator
    if promote_every is None:
        promote_every = recipe.promote_every
    if promote_every is not None and accumulate is None:
        accumulate = "float32"  # promotion alone: a float32 accumulator restarted every N products
    state = Emulation(recipe, scaling, accumulate=None if accumulate is None else get_format(accumulate),
                      promote_every=promote_every, seed=seed, zero_outside=zero_outside)  # fmt: skip
    root = _wrap(model, state, exclude)
    if recipe.master.name != "float32":  # the stored weights live on the master format's grid from the start
        with torch.no_grad():
            for parameter in root.parameters():
                parameter.copy_(torch.from_numpy(lowfloat_quantize(parameter.detach().numpy(), recipe.master)))
    setattr(root, ATTRIBUTE, state)
    state.handles = _hook(root, state, matmuls, exclude)
    return root


def _wrap(model, state, exclude):
    """Replace every Linear and Conv2d (not excluded) by its wrapper; the root itself if it is one."""
    wrapper = _wrapper_for(model)
    if wrapper is not None:
        return model if _excluded("", exclude) else wrapper(model, "", state)
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            wrapper = _wrapper_for(child)
            if wrapper is not None and not _excluded(full, exclude) and not isinstance(child, _Emulated):
                setattr(module, child_name, wrapper(child, full, state))
    return model


def _hook(root, state, matmuls, exclude):
    """The hooks that end steps, track the running module and switch the matmul hook on for each forward pass."""
    hook = MatmulHook(state, exclude) if matmuls else None
    handles = []

    def begin(module, args):
        state.begin_forward(root.training)
        if hook is not None:
            hook.begin()
            hook.__enter__()

    def end(module, args, output):
        if hook is not None:
            hook.__exit__(None, None, None)

    handles.append(root.register_forward_pre_hook(begin))
    if hook is not None:
        for name, module in root.named_modules():
            handles.append(module.register_forward_pre_hook(lambda m, a, name=name: hook.enter(name, m)))
            handles.append(module.register_forward_hook(lambda m, a, o: hook.leave(), always_call=True))
    handles.append(root.register_forward_hook(end, always_call=True))
    return handles


def emulation(model) -> Emulation:
    """The :class:`~lowfloat.torch.state.Emulation` of an emulated model (ValueError if it is not one)."""
    state = getattr(model, ATTRIBUTE, None) if isinstance(model, nn.Module) else None
    if state is None:
        raise ValueError("model is not emulated: call lowfloat.torch.emulate(model, policy) first")
    return state


def telemetry(model):
    """What the casts of an emulated model did: its :class:`~lowfloat.torch.telemetry.CastTelemetry`."""
    return emulation(model).telemetry


def restore(model) -> nn.Module:
    """Undo :func:`emulate`: the original modules back in place, hooks removed; returns the original model.

    The parameters are the same objects throughout, so what was trained
    stays.
    """
    state = emulation(model)
    for handle in state.handles:
        handle.remove()
    delattr(model, ATTRIBUTE)
    if isinstance(model, _Emulated):
        return model.original
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, _Emulated):
                setattr(module, child_name, child.original)
    return model
