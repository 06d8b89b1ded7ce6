"""Optimizers: SGD with momentum and Adam, as PyTorch writes them.

An optimizer does not touch the weights: :meth:`updates` turns gradients
into the increments ``delta`` (float32) that the trainer adds to the master
weights, rounding the sum into the master format and counting the updates
that round away.  The optimizer's state passes through ``cast_state`` after
every update, so it lives in the policy's ``optimizer_state`` format.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SGD", "Adam", "make_optimizer", "OPTIMIZERS"]

#: The optimizers by name (:func:`make_optimizer`).
OPTIMIZERS = ("sgd", "adam")


def _keep(x):
    return x


def _check(name, value, low, high, cls, *, closed_high=False):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and low <= value and (value <= high if closed_high else value < high)
    if not ok:
        bracket = "]" if closed_high else ")"
        raise ValueError(f"{cls}.{name} must be a number in [{low}, {high}{bracket}, got {value!r}")
    return float(value)


class SGD:
    """Stochastic gradient descent with momentum (``torch.optim.SGD``, no dampening, no Nesterov).

    ``buf = momentum * buf + grad`` (``buf = grad`` on the first step), then
    ``delta = -lr * buf``.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float
        In [0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from lowfloat.train import SGD
    >>> opt = SGD(lr=0.5, momentum=0.9)
    >>> [d.tolist() for d in opt.updates([np.float32([2.0])])]
    [[-1.0]]
    >>> [d.tolist() for d in opt.updates([np.float32([2.0])])]  # buf = 0.9 * 2 + 2
    [[-1.899999976158142]]
    """

    def __init__(self, lr=0.1, momentum=0.0):
        self.lr = np.float32(_check("lr", lr, 0, math.inf, "SGD"))
        if self.lr == 0:
            raise ValueError(f"SGD.lr must be > 0, got {lr!r}")
        self.momentum = np.float32(_check("momentum", momentum, 0, 1, "SGD"))
        self.buffers = None

    def updates(self, grads, cast_state=_keep):
        """Increments for the parameters whose gradients are ``grads`` (list of float32 arrays)."""
        if self.momentum == 0:
            return [-self.lr * g for g in grads]
        if self.buffers is None:
            self.buffers = [cast_state(g.astype(np.float32, copy=True)) for g in grads]
        else:
            self.buffers = [cast_state(self.momentum * buf + g) for buf, g in zip(self.buffers, grads, strict=True)]
        return [-self.lr * buf for buf in self.buffers]


class Adam:
    """Adam (``torch.optim.Adam``, no weight decay, no AMSGrad).

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g**2``; step ``t``;
    ``delta = -lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)``.

    Parameters
    ----------
    lr : float
    betas : (float, float)
        Each in [0, 1).
    eps : float

    Examples
    --------
    >>> import numpy as np
    >>> from lowfloat.train import Adam
    >>> [np.round(d, 6).tolist() for d in Adam(lr=0.01).updates([np.float32([3.0, -0.5])])]  # first: -lr * sign
    [[-0.01, 0.01]]
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.lr = _check("lr", lr, 0, math.inf, "Adam")
        if self.lr == 0:
            raise ValueError(f"Adam.lr must be > 0, got {lr!r}")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam.betas must be a pair of numbers, got {betas!r}")
        self.beta1 = _check("betas[0]", betas[0], 0, 1, "Adam")
        self.beta2 = _check("betas[1]", betas[1], 0, 1, "Adam")
        self.eps = np.float32(_check("eps", eps, 0, math.inf, "Adam"))
        self.t = 0
        self.m = self.v = None

    def updates(self, grads, cast_state=_keep):
        """Increments for the parameters whose gradients are ``grads`` (list of float32 arrays)."""
        if self.m is None:
            self.m = [np.zeros_like(g, dtype=np.float32) for g in grads]
            self.v = [np.zeros_like(g, dtype=np.float32) for g in grads]
        self.t += 1
        b2 = np.float32(self.beta2)
        # Python floats, as torch computes them
        step_size = self.lr / (1 - self.beta1**self.t)
        bias_correction2_sqrt = math.sqrt(1 - self.beta2**self.t)
        deltas = []
        for i, g in enumerate(grads):
            # torch: exp_avg.lerp_(grad, 1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            self.m[i] = cast_state(self.m[i] + np.float32(1 - self.beta1) * (g - self.m[i]))
            self.v[i] = cast_state(b2 * self.v[i] + np.float32(1 - self.beta2) * g * g)
            denom = np.sqrt(self.v[i]) / np.float32(bias_correction2_sqrt) + self.eps
            deltas.append(np.float32(-step_size) * self.m[i] / denom)
        return deltas


def make_optimizer(name, *, lr, momentum=0.9, betas=(0.9, 0.999), eps=1e-8):
    """One of :data:`OPTIMIZERS` with its hyperparameters; ValueError for another name."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
    if name == "sgd":
        return SGD(lr=lr, momentum=momentum)
    return Adam(lr=lr, betas=betas, eps=eps)
