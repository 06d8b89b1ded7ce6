"""The emulated layers: ``nn.Linear`` and ``nn.Conv2d`` whose matmul reads low-precision operands.

Each wrapper holds the original layer's own parameters (the same
``nn.Parameter`` objects, under the same names, so that its ``state_dict``
is the original's) and casts, in a training step (as
:class:`lowfloat.train.Linear` does):

1. its input to the ``activation`` role's cast;
2. its weight -- and bias -- to the ``weight`` role's cast, their gradients
   to the ``weight_grad`` role's on the way back;
3. the gradient with respect to its output to the ``activation_grad`` role's
   cast on the way back, before the two backward products read it.

The forward values of the parameters are the float32 master weights: the
optimizer updates them in float32, as PyTorch's mixed-precision training does.

Block casts (MX, NVFP4, block tiles) run their blocks along the dimension
the matmul sums over: the last axis of a Linear's input, weight and output
gradient; the channel axis of a Conv2d's input and output gradient; the
flattened ``(in_channels, kh, kw)`` of its weight.  (Transformer Engine
quantizes the backward GEMMs' transposed operands a second time along their
own summed dimension; here each tensor is cast once.)  A bias is cast with
the weight's cast when that cast is unscaled, and kept in float32 with block
and channel casts, which real kernels add in high precision.

With an accumulator to emulate (``accumulate=`` or the recipe's
``accumulator``/``promote_every``), the layer's products -- forward and both
backward ones -- go through :func:`lowfloat.matmul`, every partial sum
rounded: exact, and thousands of times slower than PyTorch's.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import calls

__all__ = ["EmulatedLinear", "EmulatedConv2d", "EmulatedMatmul", "WRAPPERS"]


class EmulatedMatmul(torch.autograd.Function):
    """``a @ b`` of 2-D float32 tensors with every partial sum rounded into an accumulator, forward and backward.

    ``EmulatedMatmul.apply(a, b, accumulate, promote_every)``; the backward
    products ``dc @ b.T`` and ``a.T @ dc`` are emulated the same way.
    """

    @staticmethod
    def forward(ctx, a, b, accumulate, promote_every):
        ctx.save_for_backward(a, b)
        ctx.accumulate, ctx.promote_every = accumulate, promote_every
        return _emulated(a, b, accumulate, promote_every)

    @staticmethod
    def backward(ctx, dc):
        a, b = ctx.saved_tensors
        da = _emulated(dc, b.T, ctx.accumulate, ctx.promote_every) if ctx.needs_input_grad[0] else None
        db = _emulated(a.T, dc, ctx.accumulate, ctx.promote_every) if ctx.needs_input_grad[1] else None
        return da, db, None, None


def _emulated(a, b, accumulate, promote_every):
    result = calls.matmul(a.detach().numpy(), b.detach().numpy(), accumulate=accumulate, promote_every=promote_every)
    return torch.from_numpy(np.asarray(result, np.float32))


class _Emulated(nn.Module):
    """What the two wrappers share: the original layer, its name, the model's Emulation."""

    def __init__(self, original: nn.Module, name: str, emulation):
        super().__init__()
        self.weight = original.weight  # the same Parameters: state_dict keys and values are the original's
        self.bias = original.bias
        # plain attributes, not submodules: neither appears in state_dict() or modules()
        self.__dict__["original"] = original
        self.__dict__["emulation"] = emulation
        self.layer_name = name

    def _casts(self, x, activation_axis, weight):
        """1-2) The input and the weight (any shape the layer needs for blocks) cast; the bias cast or not."""
        em, recipe, name = self.emulation, self.emulation.recipe, self.layer_name
        x_q = em.cast(x, name, "x", "activation", recipe.activation.along(activation_axis))
        w_q = em.cast(weight, name, "W", "weight", recipe.weight.along(-1), grad=recipe.weight_grad,
                      grad_tensor="dW")  # fmt: skip
        b_q = self.bias
        if b_q is not None:
            bias_cast = recipe.weight if recipe.weight.scaling is None else None
            b_q = em.cast(b_q, name, "b", "weight", bias_cast, grad=recipe.weight_grad, grad_tensor="db")
        return x_q, w_q, b_q

    def _output(self, y, axis):
        """3) The output, whose gradient is cast on the way back."""
        recipe = self.emulation.recipe
        return self.emulation.grad_cast(y, self.layer_name, "dy", recipe.activation_grad.along(axis))

    def _accumulated(self) -> bool:
        return self.emulation.accumulate is not None

    def extra_repr(self) -> str:
        return f"{self.original.extra_repr()}, {self.emulation.recipe.name}"


class EmulatedLinear(_Emulated):
    """An ``nn.Linear`` whose input, weight and output gradient are cast (see the module docstring)."""

    def __init__(self, original: nn.Linear, name: str, emulation):
        super().__init__(original, name, emulation)
        self.in_features, self.out_features = original.in_features, original.out_features

    def forward(self, x):
        x_q, w_q, b_q = self._casts(x, -1, self.weight)  # (..., in), (out, in), (out,)
        if not self._accumulated():
            y = nn.functional.linear(x_q, w_q, b_q)
        else:
            em = self.emulation
            rows = x_q.reshape(-1, self.in_features)  # (n, in)
            y = EmulatedMatmul.apply(rows, w_q.T, em.accumulate, em.promote_every)  # (n, out)
            y = (y if b_q is None else y + b_q).reshape(*x_q.shape[:-1], self.out_features)
        return self._output(y, -1)


class EmulatedConv2d(_Emulated):
    """An ``nn.Conv2d`` whose input, weight and output gradient are cast (see the module docstring)."""

    def __init__(self, original: nn.Conv2d, name: str, emulation):
        super().__init__(original, name, emulation)
        if emulation.accumulate is not None:
            if original.groups != 1:
                raise ValueError(f"{name}: an emulated accumulator needs groups=1, got groups={original.groups}")
            if isinstance(original.padding, str):
                raise ValueError(f"{name}: an emulated accumulator needs numeric padding, got {original.padding!r}")

    def forward(self, x):
        weight = self.weight  # (out, in, kh, kw)
        flat = weight.reshape(weight.shape[0], -1)  # (out, in * kh * kw): the summed dimension last, for blocks
        x_q, w_q, b_q = self._casts(x, -3, flat)  # channels: axis 1 of (n, c, h, w), 0 of an unbatched (c, h, w)
        w_q = w_q.reshape(weight.shape)
        conv = self.original
        if not self._accumulated():
            y = conv._conv_forward(x_q, w_q, b_q)
        else:
            y = self._accumulated_conv(x_q, w_q, b_q)
        return self._output(y, -3)

    def _accumulated_conv(self, x_q, w_q, b_q):
        """The convolution as one matmul of the weight and the unfolded input, every partial sum rounded."""
        conv, em = self.original, self.emulation
        if x_q.dim() == 3:  # an unbatched (c, h, w) image: a batch of one
            return self._accumulated_conv(x_q.unsqueeze(0), w_q, b_q).squeeze(0)
        padding = conv.padding
        if conv.padding_mode != "zeros":
            x_q = nn.functional.pad(x_q, conv._reversed_padding_repeated_twice, mode=conv.padding_mode)
            padding = 0
        n, _, h, w = x_q.shape
        cols = nn.functional.unfold(x_q, conv.kernel_size, conv.dilation, padding, conv.stride)  # (n, k, l)
        k, length = cols.shape[1], cols.shape[2]
        products = EmulatedMatmul.apply(w_q.reshape(w_q.shape[0], k), cols.transpose(0, 1).reshape(k, n * length),
                                        em.accumulate, em.promote_every)  # (out, n * l)  # fmt: skip
        y = products.reshape(-1, n, length).transpose(0, 1)  # (n, out, l)
        out_h = (h + 2 * _pair(padding)[0] - conv.dilation[0] * (conv.kernel_size[0] - 1) - 1) // conv.stride[0] + 1
        y = y.reshape(n, -1, out_h, length // out_h)
        return y if b_q is None else y + b_q.reshape(1, -1, 1, 1)


def _pair(value):
    return value if isinstance(value, tuple) else (value, value)


#: The layer types emulate() replaces, and their wrappers.
WRAPPERS = {nn.Linear: EmulatedLinear, nn.Conv2d: EmulatedConv2d}
