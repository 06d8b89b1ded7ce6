"""``Quantize``: fake quantization as an autograd function, with a straight-through backward.

Forward, the tensor is rounded as a :class:`~lowfloat.torch.Cast` says
(:func:`~lowfloat.torch.fakequant.fake_quantize`, bit for bit
:func:`lowfloat.quantize`, :func:`lowfloat.scaled_quantize` or
:func:`lowfloat.mx_quantize`).  Backward, rounding has no useful derivative
(it is 0 almost everywhere), so the incoming gradient passes straight
through -- the straight-through estimator -- optionally zeroed where the
forward cast clipped, and optionally rounded itself into a second format:
Transformer Engine's HYBRID recipe rounds forward tensors into E4M3 and
their gradients into E5M2.
"""

from __future__ import annotations

import torch

from .fakequant import as_cast

__all__ = ["Quantize"]


def _round(cast, x, outside=False):
    """``(values, mask)`` of a cast: a Cast, or an object with the same ``round`` method."""
    return cast.round(x, outside=outside)


class Quantize(torch.autograd.Function):
    """Round a tensor in the forward pass; pass the gradient straight through (or round it) in the backward.

    Call it as ``Quantize.apply(x, cast, grad=None, zero_outside=False)``
    (autograd functions take positional arguments only).

    Parameters
    ----------
    x : torch.Tensor
        On the CPU: float32 or float64 (float16 and bfloat16 too for an
        unscaled cast into a format they hold).
    cast : Cast, Format, str or None
        The forward rounding (a format name means ``Cast(name)``); None
        leaves the forward values as they are (a cast of the gradient only).
        Any object with the method ``round(x, outside=False) -> (values,
        mask)`` works too: that is how :func:`lowfloat.torch.emulate` counts
        its casts and applies per-tensor scales.
    grad : Cast, Format, str or None
        How the gradient is rounded on its way back (``"e5m2"`` for HYBRID);
        None passes it unchanged.
    zero_outside : bool
        Zero the gradient where the forward cast clipped: where ``x`` (times
        its scale) lay beyond the format's largest finite value or was not
        finite.  By default the gradient passes there too.

    Returns
    -------
    torch.Tensor
        The rounded values, ``x``'s shape and dtype.

    Raises
    ------
    TypeError, ValueError
        A bad tensor or cast (see :class:`~lowfloat.torch.Cast`).

    Notes
    -----
    The forward result is a new tensor over the array lowfloat's quantizer
    wrote; a float32 ``x`` is read through a view of its memory, so nothing
    is copied on the way in either.

    Examples
    --------
    >>> import torch
    >>> from lowfloat.torch import Quantize
    >>> x = torch.tensor([0.1, 3.0, 500.0], requires_grad=True)
    >>> y = Quantize.apply(x, "e4m3", "e5m2")            # HYBRID: E4M3 forward, E5M2 gradient
    >>> y.tolist()
    [0.1015625, 3.0, nan]
    >>> y.backward(torch.tensor([0.3, 1e-6, 1.0]))
    >>> x.grad.tolist()                                   # rounded into E5M2; 1e-6 is below its range
    [0.3125, 0.0, 1.0]
    >>> from lowfloat.torch import Cast
    >>> x.grad = None
    >>> Quantize.apply(x, Cast("e4m3", overflow="saturate"), None, True).sum().backward()
    >>> x.grad.tolist()                                   # no gradient where 500 clipped to 448
    [1.0, 1.0, 0.0]
    """

    @staticmethod
    def forward(ctx, x, cast, grad=None, zero_outside=False):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        cast = as_cast(cast)
        ctx.grad_cast = as_cast(grad, "grad")
        if not isinstance(zero_outside, bool):
            raise TypeError(f"zero_outside must be True or False, got {zero_outside!r}")
        if cast is None:
            ctx.outside = None
            # a copy, not a view: a view of the input would forbid in-place operations on it (ReLU(inplace=True))
            return x.detach().clone()
        values, ctx.outside = _round(cast, x.detach(), outside=zero_outside)
        return values

    @staticmethod
    def backward(ctx, dy):
        if ctx.outside is not None:
            dy = dy.masked_fill(ctx.outside, 0)
        if ctx.grad_cast is not None:
            dy, _ = _round(ctx.grad_cast, dy.detach())
        return dy, None, None, None
