"""Backward passes against central finite differences, in float64, for every layer and the loss."""

from __future__ import annotations

import numpy as np
import pytest

from lowfloat.train import GELU, MLP, Linear, ReLU, SoftmaxCrossEntropy

EPS = 1e-6


def _numeric_grad(f, x):
    """Central differences of the scalar function f at every element of x (modified in place, restored)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        keep = x[i]
        x[i] = keep + EPS
        up = f()
        x[i] = keep - EPS
        down = f()
        x[i] = keep
        grad[i] = (up - down) / (2 * EPS)
    return grad


def _away_from_zero(rng, shape):
    """Random values with |x| >= 0.1: ReLU's kink stays out of every difference's reach."""
    return rng.uniform(0.1, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


def test_linear_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    layer = Linear(5, 3, rng=rng)
    layer.params["W"] = layer.params["W"].astype(np.float64)
    layer.params["b"] = rng.normal(size=3)
    x = rng.normal(size=(4, 5))
    weights = rng.normal(size=(4, 3))  # the objective is sum(weights * y)

    def objective():
        return float(np.sum(weights * layer.forward(x)))

    layer.forward(x)
    dx = layer.backward(weights)
    np.testing.assert_allclose(dx, _numeric_grad(objective, x), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(layer.grads["W"], _numeric_grad(objective, layer.params["W"]), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(layer.grads["b"], _numeric_grad(objective, layer.params["b"]), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("activation", [ReLU, GELU])
def test_activation_backward_matches_finite_differences(activation):
    rng = np.random.default_rng(1)
    layer = activation()
    x = _away_from_zero(rng, (3, 6))
    weights = rng.normal(size=(3, 6))

    def objective():
        return float(np.sum(weights * layer.forward(x)))

    layer.forward(x)
    dx = layer.backward(weights)
    np.testing.assert_allclose(dx, _numeric_grad(objective, x), rtol=1e-7, atol=1e-8)


def test_gelu_matches_the_tanh_formula_of_torch():
    torch = pytest.importorskip("torch")
    x = np.linspace(-6, 6, 101)
    expected = torch.nn.functional.gelu(torch.from_numpy(x), approximate="tanh").numpy()
    np.testing.assert_allclose(GELU().forward(x), expected, rtol=1e-12, atol=1e-15)


def test_softmax_cross_entropy_backward_matches_finite_differences():
    rng = np.random.default_rng(2)
    logits = rng.normal(scale=3.0, size=(5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    loss = SoftmaxCrossEntropy()

    def objective():
        return float(loss.forward(logits, labels))

    loss.forward(logits, labels)
    np.testing.assert_allclose(loss.backward(), _numeric_grad(objective, logits), rtol=1e-6, atol=1e-9)


def test_softmax_cross_entropy_value_is_mean_negative_log_likelihood():
    logits = np.array([[1000.0, 0.0], [0.0, np.log(3.0)]])  # a huge logit must not overflow
    value = SoftmaxCrossEntropy().forward(logits, np.array([1, 1]))
    assert value == pytest.approx((1000.0 + np.log(4.0 / 3.0)) / 2, rel=1e-12)


@pytest.mark.parametrize(("activation", "init"), [("relu", "he"), ("gelu", "glorot")])
def test_mlp_backward_through_loss_matches_finite_differences(activation, init):
    rng = np.random.default_rng(3)
    model = MLP((6, 5, 4, 3), activation=activation, init=init, seed=4).astype(np.float64)
    x = rng.normal(size=(7, 6))
    labels = rng.integers(0, 3, 7)
    loss = SoftmaxCrossEntropy()

    def objective():
        return float(loss.forward(model.forward(x), labels))

    objective()
    model.backward(loss.backward())
    analytic = {name: g.copy() for name, g in model.gradients()}
    for name, param in model.parameters():
        np.testing.assert_allclose(analytic[name], _numeric_grad(objective, param), rtol=1e-5, atol=1e-8,
                                   err_msg=name)  # fmt: skip


def test_he_and_glorot_initial_weights_have_their_spread():
    rng = np.random.default_rng(0)
    he = Linear(400, 300, init="he", rng=rng).W
    glorot = Linear(400, 300, init="glorot", rng=rng).W
    assert he.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    limit = np.sqrt(6 / 700)
    assert glorot.max() <= limit and glorot.min() >= -limit
    assert glorot.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)


def test_same_seed_gives_same_initial_weights():
    a = [p for _, p in MLP(seed=5).parameters()]
    b = [p for _, p in MLP(seed=5).parameters()]
    c = [p for _, p in MLP(seed=6).parameters()]
    assert all((x == y).all() for x, y in zip(a, b, strict=True))
    assert not (a[0] == c[0]).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(sizes=(64,)), "sizes"),
        (dict(sizes=(64, 0, 10)), "sizes"),
        (dict(sizes=(64, 2.5, 10)), "sizes"),
        (dict(activation="tanh"), "activation"),
        (dict(init="zeros"), "init"),
    ],
)
def test_mlp_bad_argument_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(**kwargs)
