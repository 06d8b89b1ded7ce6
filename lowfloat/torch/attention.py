"""Attention's matmuls: a ``torch.matmul`` hook that casts the products a model's own code computes.

``nn.Linear`` and ``nn.Conv2d`` own weights, so they are replaced by
wrapper modules (:mod:`lowfloat.torch.layers`).  Attention's two products,
``Q @ K.T`` and ``P @ V``, belong to no layer: they are calls in a
``forward`` method -- ``torch.matmul``, the ``@`` operator,
``torch.bmm``/``baddbmm`` or ``F.scaled_dot_product_attention``.  So they
are reached with a hook instead: a :class:`~torch.overrides.TorchFunctionMode`
that is active while the emulated model's forward pass runs, sees those
calls, casts both operands (role ``activation``, or ``weight`` for an
``nn.Parameter``) and the gradient of the product (role
``activation_grad``), and computes the product from the cast operands.
``F.linear`` called with a weight of a module that is not a wrapped layer is
cast the same way.  ``F.scaled_dot_product_attention`` is computed as its
definition says -- softmax of the scaled, masked scores, times V -- so that
both of its products are cast; its fused kernels are not used.

Why a hook for these and wrappers for layers: a wrapper keeps a layer's
per-tensor state and parameters where they belong, and its ``state_dict``
is the layer's own; a product of two activations has no module to wrap, and
a hook sees it wherever the model's code computes it.  The hook sees calls
made by Python code of the model, not those made inside another PyTorch
function: ``nn.MultiheadAttention`` computes its products inside
``F.multi_head_attention_forward``, out of the hook's sight, so
:func:`lowfloat.torch.emulate` refuses it rather than leave its products
uncast.

Each product is named after the innermost module whose forward pass called
it and its place among that module's products in the pass:
``"blocks.0.attn.matmul0"``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 -- PyTorch's own spelling
from torch.overrides import TorchFunctionMode

__all__ = ["MatmulHook", "HOOKED"]

_MATMULS = {torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__, torch.bmm, torch.Tensor.bmm}

#: The functions the hook casts.
HOOKED = (*_MATMULS, torch.Tensor.__rmatmul__, torch.baddbmm, torch.Tensor.baddbmm, F.linear,
          F.scaled_dot_product_attention)  # fmt: skip


class MatmulHook(TorchFunctionMode):
    """Casts the operands of the products a model's forward pass computes outside its wrapped layers.

    Parameters
    ----------
    emulation : Emulation
        The model's casts (:class:`lowfloat.torch.state.Emulation`).
    exclude : tuple of str
        Names of modules whose products stay as they are (and everything inside them).
    """

    def __init__(self, emulation, exclude=()):
        super().__init__()
        self.emulation = emulation
        self.exclude = tuple(exclude)
        self.stack = []  # (name, module) of the modules whose forward pass is running, innermost last
        self.calls = {}  # products counted per module name in this forward pass

    # ------------------------------------------------------------ which module is running
    def enter(self, name: str, module: nn.Module) -> None:
        self.stack.append((name, module))

    def leave(self) -> None:
        self.stack.pop()

    def begin(self) -> None:
        """A forward pass of the whole model begins: products are numbered from 0 again."""
        self.calls = {}

    def _key(self) -> str:
        name = self.stack[-1][0] if self.stack else ""
        index = self.calls.get(name, 0)
        self.calls[name] = index + 1
        return f"{name}.matmul{index}" if name else f"matmul{index}"

    def _passes_through(self) -> bool:
        """Whether the innermost running module casts its own products (a wrapper) or is excluded."""
        from .layers import _Emulated

        if not self.stack:
            return False
        name, module = self.stack[-1]
        excluded = any(name == prefix or name.startswith(prefix + ".") for prefix in self.exclude)
        return excluded or isinstance(module, _Emulated)

    # ------------------------------------------------------------ the hook
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func not in HOOKED or self._passes_through():
            return func(*args, **kwargs)
        if func is F.scaled_dot_product_attention:
            return self._attention(*args, **kwargs)
        if func in _MATMULS or func is torch.Tensor.__rmatmul__:
            a, b = args[:2] if func is not torch.Tensor.__rmatmul__ else (args[1], args[0])
            if kwargs or len(args) > 2:
                return func(*args, **kwargs)  # out= and friends: not a product the model reads
            return self._product(torch.matmul, a, b)
        if func is F.linear:
            return self._linear(*args, **kwargs)
        return self._baddbmm(func, *args, **kwargs)

    def _operand(self, key, tensor_name, x, axis):
        """One operand cast: an ``nn.Parameter`` as a weight, anything else as an activation."""
        em, recipe = self.emulation, self.emulation.recipe
        if isinstance(x, nn.Parameter):
            return em.cast(x, key, tensor_name, "weight", recipe.weight.along(axis), grad=recipe.weight_grad,
                           grad_tensor="d" + tensor_name)  # fmt: skip
        return em.cast(x, key, tensor_name, "activation", recipe.activation.along(axis))

    def _output(self, key, y):
        return self.emulation.grad_cast(y, key, "dy", self.emulation.recipe.activation_grad.along(-1))

    def _product(self, product, a, b, key=None):
        """``product(a, b)`` of the cast operands, the blocks of each along its summed axis."""
        key = self._key() if key is None else key
        a_q = self._operand(key, "a", a, -1)
        b_q = self._operand(key, "b", b, -2 if b.dim() > 1 else -1)
        return self._output(key, product(a_q, b_q))

    def _linear(self, x, weight, bias=None):
        key = self._key()
        x_q = self._operand(key, "a", x, -1)
        w_q = self._operand(key, "b", weight, -1)
        return self._output(key, F.linear(x_q, w_q, bias))

    def _baddbmm(self, func, base, b1, b2, *, beta=1, alpha=1, out=None):
        if out is not None:
            return func(base, b1, b2, beta=beta, alpha=alpha, out=out)
        return self._product(lambda p, q: torch.baddbmm(base, p, q, beta=beta, alpha=alpha), b1, b2)

    def _attention(self, query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                   enable_gqa=False):  # fmt: skip
        """``F.scaled_dot_product_attention`` by its definition, both products cast."""
        if enable_gqa:
            raise ValueError("emulated scaled_dot_product_attention: enable_gqa=True is not supported; "
                             "repeat the key and value heads first")  # fmt: skip
        factor = 1 / math.sqrt(query.size(-1)) if scale is None else scale
        scores = self._product(torch.matmul, query, key.transpose(-2, -1)) * factor  # (..., L, S)
        length, source = query.size(-2), key.size(-2)
        if is_causal:
            allowed = torch.ones(length, source, dtype=torch.bool).tril()
            scores = scores.masked_fill(~allowed, float("-inf"))
        if attn_mask is not None:
            if attn_mask.dtype == torch.bool:
                scores = scores.masked_fill(~attn_mask, float("-inf"))
            else:
                scores = scores + attn_mask
        weights = torch.softmax(scores, dim=-1)
        if dropout_p > 0:
            weights = F.dropout(weights, p=dropout_p)
        return self._product(torch.matmul, weights, value)
