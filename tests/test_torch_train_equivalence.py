"""The same MLP trained by lowfloat.train (NumPy) and through lowfloat.torch.emulate (PyTorch) under one policy.

Both start from the same weights (lowfloat.train's MLP, copied into
``nn.Linear`` layers), read the same minibatches in the same order, use the
trainer's own softmax cross-entropy (wrapped as an autograd function here,
so that the loss and its gradient are computed by the same code) and SGD
with momentum -- ``torch.optim.SGD`` on the PyTorch side.

The tolerance.  Every cast is bit-exact on both sides, so the runs can
differ only where they do float32 arithmetic that is not a cast, in a
different order: the matmuls' sums (NumPy's BLAS against PyTorch's) and
SGD's update (PyTorch fuses ``p - lr * buf`` into one rounding, the trainer
rounds twice).  Two orders of a float32 sum of K terms differ by at most
``2 * gamma_K`` times the sum of the terms' magnitudes, ``gamma_K = K u /
(1 - K u)`` with ``u = 2**-24``; the largest sum here has K = 64 terms, so
``2 * gamma_64 < 2**-17``.  The mean cross-entropy is 2-Lipschitz in the
largest logit difference, and on this data the logits' sums of magnitudes
stay within a factor of 2 of the loss: while every cast reads the same
values, the per-step losses agree to a relative ``2 * 2 * 2**-17 = 2**-16``,
the tolerance asserted.  (Unscaled, the FP8 products have so few significant
bits that their sums are exact in any order: those losses agree bit for
bit.)  With delayed scaling a scale is ``448 / amax``, and the amax of a
float32 sum inherits its order, so a cast input near a rounding boundary may
round the other way; from there the runs take different, equally valid
paths.  The comparison stops well before the losses part (observed: step
144): 36 steps unscaled, 60 with delayed scaling.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import lowfloat.torch as lft
from lowfloat.train import MLP, SoftmaxCrossEntropy, TrainConfig, load_digits, train
from lowfloat.train.datasets import epoch_order

TOLERANCE = 2.0**-16  # relative, per step (see the module docstring)
ROLES = ("activation", "weight", "activation_grad")


class TrainerLoss(torch.autograd.Function):
    """lowfloat.train's SoftmaxCrossEntropy as an autograd function: the same loss and gradient on both sides."""

    @staticmethod
    def forward(ctx, logits, labels):
        ctx.loss = SoftmaxCrossEntropy()
        return torch.tensor(ctx.loss.forward(logits.detach().numpy(), labels.numpy()))

    @staticmethod
    def backward(ctx, grad):
        return torch.from_numpy(ctx.loss.backward().astype(np.float32)) * grad, None


def torch_run(config: TrainConfig, scaling):
    """The config's run through emulate(): per-step losses and the model's telemetry."""
    data = load_digits()
    reference = MLP((64, *config.hidden, 10), seed=config.seed)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    with torch.no_grad():
        for linear, layer in zip((model[0], model[2]), reference.linears(), strict=True):
            linear.weight.copy_(torch.from_numpy(layer.params["W"]))
            linear.bias.copy_(torch.from_numpy(layer.params["b"]))
    model = lft.emulate(model, config.policy, scaling=scaling)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    attenuation = torch.tensor(config.loss_attenuation, dtype=torch.float32)
    losses = []
    n = data.X_train.shape[0]
    for epoch in range(config.epochs):
        order = epoch_order(n, config.seed, epoch)
        for start in range(0, n, config.batch_size):
            if config.max_steps is not None and len(losses) == config.max_steps:
                break
            index = order[start:start + config.batch_size]
            optimizer.zero_grad()
            logits = model(torch.from_numpy(data.X_train[index]))
            loss = TrainerLoss.apply(logits, torch.from_numpy(data.y_train[index]))
            losses.append(float(loss.detach()))
            (loss * attenuation).backward()
            optimizer.step()
    lft.emulation(model).end_step()
    return np.array(losses), lft.telemetry(model)


def summed(step, role: str, counter: str):
    """A counter of one role of a step, over every layer (the trainer counts per role)."""
    if counter == "amax":
        return max(roles[role]["amax"] for roles in step.counts.values() if role in roles)
    return sum(roles[role][counter] for roles in step.counts.values() if role in roles)


@pytest.mark.parametrize(("scaling", "attenuation", "steps"), [(None, 1.0, 36), ("delayed", 2.0**-16, 60)],
                         ids=["fp8", "fp8-delayed-attenuated"])  # fmt: skip
def test_emulated_torch_mlp_trains_as_lowfloat_train_step_for_step(scaling, attenuation, steps):
    config = TrainConfig(policy="fp8", tensor_scaling=scaling or "none", hidden=(32,), epochs=6, max_steps=steps,
                         batch_size=128, lr=0.01 / attenuation, momentum=0.9, loss_attenuation=attenuation, seed=0)
    history = train(config)
    losses, telemetry = torch_run(config, scaling)
    expected = np.array([row["loss"] for row in history.steps])
    assert losses.size == expected.size == steps
    np.testing.assert_allclose(losses, expected, rtol=TOLERANCE, atol=0)
    # the same cast points flush the same elements and see the same amax, step by step.  Unscaled, the casts read
    # the same values: the counts agree exactly.  With delayed scaling a scale is 448 / amax, and an amax read off a
    # float32 sum (the hidden activations) carries its summation order; an element then flushes differently only if
    # it lies within that relative 2**-16 of the flush threshold: at most one in a thousand.
    slack = 0.0 if scaling is None else 1e-3
    for step, row in zip(telemetry.steps, history.steps, strict=True):
        for role in ROLES:
            flushed, nonzero = summed(step, role, "underflow"), summed(step, role, "nonzero")
            assert row[f"{role}.underflow"] == pytest.approx(flushed / nonzero if nonzero else 0.0, abs=slack), (
                row["step"], role)  # fmt: skip
            assert row[f"{role}.amax"] == pytest.approx(summed(step, role, "amax"), rel=TOLERANCE), (row["step"], role)
    ours = sum(sum(summed(step, role, "underflow") for role in ROLES) for step in telemetry.steps)
    assert sum(history.totals[role]["underflow"] for role in ROLES) == pytest.approx(ours, rel=slack)
