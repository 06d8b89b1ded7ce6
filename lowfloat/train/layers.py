"""Layers of the MLP, each with its forward pass beside its backward pass.

No autograd: ``forward`` saves what ``backward`` needs, and ``backward``
takes the gradient of the loss with respect to the layer's output and
returns the gradient with respect to its input (storing parameter gradients
in ``grads``).

Every tensor a low-precision step would store or read passes through
``cast(x, role, key)``, a callable supplied by the trainer (see
:mod:`lowfloat.train.trainer`); the default, :func:`no_cast`, leaves it
unchanged, so the layers also run in float64 for gradient checks.  Matrix
products use ``cast.matmul`` when the cast has one (the trainer's emulates
the policy's accumulator and measures each product's error), else numpy's.
Shapes are written ``(batch, features)``; weights are ``(out, in)`` as in PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Linear", "ReLU", "GELU", "MLP", "no_cast", "ACTIVATIONS", "INITS"]

#: Initialisations of the weights by name (see :class:`Linear`).
INITS = ("he", "glorot")


def no_cast(x, role, key):
    """The identity cast: full precision of ``x``'s own dtype."""
    return x


def _matmul(cast):
    return getattr(cast, "matmul", np.matmul)


class Linear:
    """``y = x @ W.T + b``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output features.
    init : {"he", "glorot"} (:data:`INITS`)
        He (Kaiming) normal, std ``sqrt(2 / n_in)``, for ReLU/GELU networks;
        Glorot (Xavier) uniform, limit ``sqrt(6 / (n_in + n_out))``.  Biases start at 0.
    rng : numpy.random.Generator
    name : str
        Prefix of the tensor keys (per-tensor scaling keeps state per key).

    Examples
    --------
    >>> import numpy as np
    >>> from lowfloat.train import Linear
    >>> layer = Linear(3, 2, rng=np.random.default_rng(0))
    >>> layer.W.shape, layer.W.dtype, layer.b.tolist()
    ((2, 3), dtype('float32'), [0.0, 0.0])
    >>> y = layer.forward(np.ones((4, 3), np.float32))
    >>> dx = layer.backward(np.ones((4, 2), np.float32))
    >>> dx.shape, layer.grads["W"].shape, layer.grads["b"].tolist()
    ((4, 3), (2, 3), [4.0, 4.0])
    """

    def __init__(self, n_in: int, n_out: int, *, init: str = "he", rng, name: str = "linear"):
        if init == "he":
            weights = rng.normal(0.0, math.sqrt(2.0 / n_in), size=(n_out, n_in))
        elif init == "glorot":
            limit = math.sqrt(6.0 / (n_in + n_out))
            weights = rng.uniform(-limit, limit, size=(n_out, n_in))
        else:
            raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
        self.name = name
        self.params = {"W": weights.astype(np.float32), "b": np.zeros(n_out, np.float32)}
        self.grads: dict = {}

    @property
    def W(self):  # noqa: N802 -- the matrix's conventional name
        return self.params["W"]

    @property
    def b(self):
        return self.params["b"]

    def forward(self, x, cast=no_cast):
        """(batch, n_in) -> (batch, n_out)."""
        # 1) the matmul reads low-precision copies of its operands
        self.x_q = cast(x, "activation", (self.name, "x"))  # (batch, n_in)
        self.W_q = cast(self.params["W"], "weight", (self.name, "W"))  # (n_out, n_in)
        b_q = cast(self.params["b"], "weight", (self.name, "b"))  # (n_out,)
        # 2) exact products, accumulated in float32 (float64 for float64 data) or the policy's accumulator
        return _matmul(cast)(self.x_q, self.W_q.T) + b_q

    def backward(self, dy, cast=no_cast, *, input_grad=True):
        """dL/dy (batch, n_out) -> dL/dx (batch, n_in); fills ``grads`` with dL/dW and dL/db.

        With ``input_grad=False`` dL/dx is not computed (None is returned).
        """
        # 1) the incoming gradient is stored in the gradient format
        dy_q = cast(dy, "activation_grad", (self.name, "dy"))  # (batch, n_out)
        # 2) weight gradient: x.T @ dy, rounded to the weight-gradient format
        self.grads["W"] = cast(_matmul(cast)(dy_q.T, self.x_q), "weight_grad", (self.name, "dW"))  # (n_out, n_in)
        self.grads["b"] = cast(dy_q.sum(axis=0), "weight_grad", (self.name, "db"))  # (n_out,)
        # 3) input gradient; the layer below casts it when it reads it
        return _matmul(cast)(dy_q, self.W_q) if input_grad else None  # (batch, n_in)


class ReLU:
    """``max(x, 0)``; the gradient passes where x > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from lowfloat.train import ReLU
    >>> r = ReLU()
    >>> r.forward(np.float32([-1.0, 0.0, 2.0])).tolist(), r.backward(np.float32([5.0, 5.0, 5.0])).tolist()
    ([0.0, 0.0, 2.0], [0.0, 0.0, 5.0])
    """

    def forward(self, x, cast=no_cast):
        self.mask = x > 0
        return np.where(self.mask, x, x.dtype.type(0))

    def backward(self, dy, cast=no_cast):
        return np.where(self.mask, dy, dy.dtype.type(0))


class GELU:
    """GELU, tanh approximation (PyTorch's ``approximate="tanh"``).

    ``gelu(x) = x/2 * (1 + tanh(u))`` with ``u = sqrt(2/pi) * (x + 0.044715 x**3)``.

    Examples
    --------
    >>> import numpy as np
    >>> from lowfloat.train import GELU
    >>> g = GELU()
    >>> np.round(g.forward(np.float64([-1.0, 0.0, 1.0])), 6).tolist()
    [-0.158808, 0.0, 0.841192]
    """

    _C = math.sqrt(2.0 / math.pi)
    _A = 0.044715

    def forward(self, x, cast=no_cast):
        self.x = x
        self.t = np.tanh(x.dtype.type(self._C) * (x + x.dtype.type(self._A) * x**3))
        return x.dtype.type(0.5) * x * (1 + self.t)

    def backward(self, dy, cast=no_cast):
        x, t = self.x, self.t
        one = x.dtype.type(1)
        du_dx = x.dtype.type(self._C) * (one + x.dtype.type(3 * self._A) * x**2)
        # d/dx [x/2 (1 + t)] = (1 + t)/2 + x/2 (1 - t**2) du/dx
        return dy * (x.dtype.type(0.5) * (one + t) + x.dtype.type(0.5) * x * (one - t * t) * du_dx)


#: Activation layers by name.
ACTIVATIONS = {"relu": ReLU, "gelu": GELU}


class MLP:
    """A multilayer perceptron: Linear, activation, ..., Linear (logits).

    Parameters
    ----------
    sizes : sequence of int
        Features of each layer, input first, classes last: ``(64, 32, 10)``.
    activation : {"relu", "gelu"} (:data:`ACTIVATIONS`)
    init : {"he", "glorot"} (:data:`INITS`)
    seed : int
        Seeds the initial weights.

    Examples
    --------
    >>> import numpy as np
    >>> from lowfloat.train import MLP
    >>> model = MLP((64, 32, 10), seed=0)
    >>> model.forward(np.zeros((5, 64), np.float32)).shape
    (5, 10)
    >>> [name for name, _ in model.parameters()]
    ['linear0.W', 'linear0.b', 'linear1.W', 'linear1.b']
    """

    def __init__(self, sizes=(64, 32, 10), *, activation: str = "relu", init: str = "he", seed: int = 0):
        sizes = tuple(sizes)
        if len(sizes) < 2 or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in sizes):
            raise ValueError(f"sizes must be at least two positive ints, got {sizes!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        rng = np.random.default_rng(seed)
        self.sizes = sizes
        self.layers: list = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            if i:
                self.layers.append(ACTIVATIONS[activation]())
            self.layers.append(Linear(int(n_in), int(n_out), init=init, rng=rng, name=f"linear{i}"))

    def linears(self):
        return [layer for layer in self.layers if isinstance(layer, Linear)]

    def parameters(self):
        """``[(name, array)]`` of every parameter, in order; the arrays are the live ones."""
        return [(f"{layer.name}.{key}", value) for layer in self.linears() for key, value in layer.params.items()]

    def gradients(self):
        """``[(name, array)]`` of the last backward pass, in the order of :meth:`parameters`."""
        return [(f"{layer.name}.{key}", layer.grads[key]) for layer in self.linears() for key in layer.params]

    def forward(self, x, cast=no_cast):
        """(batch, sizes[0]) -> logits (batch, sizes[-1])."""
        for layer in self.layers:
            x = layer.forward(x, cast)
        return x

    def backward(self, dlogits, cast=no_cast, *, input_grad=True):
        """Backpropagate dL/dlogits; parameter gradients land in each layer's ``grads``.

        Returns dL/dx, the gradient with respect to the input -- or None with
        ``input_grad=False``: training never needs it, and for a wide first
        layer it is the costliest product of the backward pass.
        """
        grad = dlogits
        for layer in reversed(self.layers[1:]):
            grad = layer.backward(grad, cast)
        return self.layers[0].backward(grad, cast, input_grad=input_grad)

    def astype(self, dtype):
        """Convert every parameter to ``dtype`` in place (float64 for gradient checks); returns self."""
        for layer in self.linears():
            for key in layer.params:
                layer.params[key] = layer.params[key].astype(dtype)
        return self
