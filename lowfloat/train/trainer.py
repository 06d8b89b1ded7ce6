"""One training run: :func:`train` runs the steps a :class:`TrainConfig` describes.

A step, in order:

1. Take a minibatch (multiplied by ``spike_factor`` inside the spike window).
2. Forward pass; each Linear casts its input to the ``activation`` format
   and its weights to the ``weight`` format (times a per-tensor scale under
   FP8 scaling), multiplies exactly and accumulates in the ``accumulator``
   format (float32 by default; with ``promote_every``, partial sums of that
   many products are added in float32).
3. Loss (float32) and its gradient with respect to the logits, multiplied
   by ``loss_attenuation * loss_scale``.
4. Backward pass; gradients are cast to ``activation_grad`` where a layer
   reads them and to ``weight_grad`` where they are produced.
5. Unscale the weight gradients (times float32(1/loss_scale)); if any is
   inf or NaN and the scaler skips such steps, skip 6-7.
6. The optimizer turns gradients into increments; its state is cast to
   ``optimizer_state``.
7. Master weights += increments, rounded into ``master`` (to nearest, or
   stochastically); increments that round away are counted as lost.
8. The loss scaler and the per-tensor scales advance; the step's telemetry
   is appended to the history.

``loss_attenuation`` multiplies the loss in the backward pass only (the
reported loss is the true one).  It emulates the small gradients of deep
networks with a small one; with SGD, raising ``lr`` by the inverse factor
gives exactly the float32 run (both are powers of two).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..accumulate import matmul as lowfloat_matmul
from ..codec import quantize
from .config import TrainConfig
from .datasets import Dataset, epoch_order, load_digits, load_npz
from .history import History
from .layers import MLP
from .loss import SoftmaxCrossEntropy
from .optim import make_optimizer
from .policy import ROLES
from .scalers import CurrentScaling, DelayedScaling, DynamicLossScaler, NoLossScaling, StaticLossScaler
from .telemetry import Telemetry

__all__ = ["train", "Interrupted"]

#: Roles whose casts are per-tensor scaled: the matmul inputs, as in Transformer Engine.
_SCALED_ROLES = ("weight", "activation", "activation_grad")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`train`; ``.history`` holds the steps done so far."""

    def __init__(self, history):
        super().__init__("training interrupted")
        self.history = history


def _make_scaler(config):
    if config.scaler == "dynamic":
        return DynamicLossScaler(config.init_scale, config.growth_factor, config.backoff_factor, config.growth_interval)
    if config.scaler == "static":
        return StaticLossScaler(config.init_scale)
    return NoLossScaling()


def _make_tensor_scaling(config):
    if config.tensor_scaling == "delayed":
        return DelayedScaling(config.margin, config.amax_history_len, config.amax_compute_algo)
    if config.tensor_scaling == "current":
        return CurrentScaling(config.margin)
    return None


def _amax(x) -> float:
    return float(np.max(np.abs(x))) if x.size else 0.0


class _Caster:
    """The ``cast(x, role, key)`` the layers call: policy format, per-tensor scale, telemetry."""

    def __init__(self, policy, telemetry, tensor_scaling):
        self.policy = policy
        self.telemetry = telemetry
        self.tensor_scaling = tensor_scaling
        self.record = True  # False while evaluating: no counters, no amax history

    def __call__(self, x, role, key):
        fmt = getattr(self.policy, role)
        scale = None
        if self.tensor_scaling is not None and role in _SCALED_ROLES and fmt.name != "float32":
            if self.tensor_scaling.delayed:
                scale = self.tensor_scaling.scale(key)
                if self.record:
                    self.tensor_scaling.record(key, _amax(x), fmt.max)
            else:
                scale = self.tensor_scaling.scale_for(_amax(x), fmt.max)
        return self.telemetry.cast(x, fmt, role=role, scale=scale, overflow=self.policy.overflow, record=self.record)

    def matmul(self, a, b):
        """``a @ b`` with the policy's accumulator: numpy's float32 matmul, or every partial sum rounded.

        Its error against the exact product is recorded (while training, not evaluating).
        """
        policy = self.policy
        if policy.accumulator.name == "float32" and policy.promote_every is None:
            result = a @ b
        else:
            result = lowfloat_matmul(a, b, accumulate=policy.accumulator, promote_every=policy.promote_every)
        if self.record:
            self.telemetry.matmul(a, b, result)
        return result


def _load(config) -> Dataset:
    if config.data == "digits":
        return load_digits(test_fraction=config.test_fraction)
    return load_npz(config.data, test_fraction=config.test_fraction)


def _accuracy(model, cast, features, labels) -> float:
    logits = model.forward(features, cast)
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def train(config: TrainConfig, *, data: Dataset | None = None, progress=None) -> History:
    """Train an MLP under ``config`` and return its :class:`History`.

    Parameters
    ----------
    config : TrainConfig
    data : Dataset, optional
        Overrides ``config.data``.
    progress : callable, optional
        Called as ``progress(steps_done, steps_total)`` after every step.

    Returns
    -------
    History
        Its ``model`` attribute holds the trained :class:`MLP`.

    Raises
    ------
    Interrupted
        On Ctrl-C; its ``history`` holds the steps done so far.

    Examples
    --------
    >>> from lowfloat.train import TrainConfig, train
    >>> h = train(TrainConfig(policy="bf16", epochs=2))
    >>> h.test_accuracy > 0.8, h.skipped_steps
    (True, 0)
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    started = time.perf_counter()
    run = None
    try:  # from the start: a Ctrl-C while the data loads is an interrupted run too
        run = _Run(config, _load(config) if data is None else data)
        for epoch in range(config.epochs):
            if run.steps_done >= run.total_steps:
                break
            for x, y in run.minibatches(epoch):
                run.step(epoch, x, y)
                if progress is not None:
                    progress(run.steps_done, run.total_steps)
            run.evaluate()
        run.history.finish(time.perf_counter() - started)
    except KeyboardInterrupt:
        history = _new_history(config) if run is None else run.history
        history.finish(time.perf_counter() - started, interrupted=True)
        raise Interrupted(history) from None
    return run.history


def _new_history(config, model=None) -> History:
    """An empty history of a run of ``config``: its settings and the format of each cast role."""
    policy = config.get_policy()
    formats = {role: getattr(policy, role).name for role in ROLES if role != "accumulator"}
    return History(config.name, config.as_dict() | {"policy_detail": policy.describe()}, formats, model=model)


class _Run:
    """One run's model, optimizer, scalers, casts and history, and the parts of its step."""

    def __init__(self, config: TrainConfig, data: Dataset):
        self.config = config
        self.data = data
        self.policy = policy = config.get_policy()
        self.model = MLP((data.n_features, *config.hidden, data.n_classes), activation=config.activation,
                         init=config.init, seed=config.seed)  # fmt: skip
        self.optimizer = make_optimizer(config.optimizer, lr=config.lr, momentum=config.momentum,
                                        betas=tuple(config.betas), eps=config.eps)  # fmt: skip
        self.scaler = _make_scaler(config)
        self.telemetry = Telemetry()
        self.cast = _Caster(policy, self.telemetry, _make_tensor_scaling(config))
        self.loss_fn = SoftmaxCrossEntropy()
        self.rounding = "stochastic" if policy.stochastic_update else "nearest_even"
        # stochastic rounding of the weight update draws from a generator of its own
        self.update_rng = np.random.default_rng([config.seed, 0x5EED]) if policy.stochastic_update else None
        # float32 addition is already the sum rounded once to nearest into a float32 master
        self.exact_sum = self.rounding == "nearest_even" and policy.master.name == "float32"
        if policy.master.name != "float32":  # the stored weights live on the master format's grid from the start
            for _, w in self.model.parameters():
                w[...] = quantize(w, policy.master, overflow=policy.overflow)
        self.history = _new_history(config, self.model)
        steps = config.epochs * math.ceil(data.X_train.shape[0] / config.batch_size)
        self.total_steps = steps if config.max_steps is None else min(steps, config.max_steps)
        first = config.spike_start
        self.spike = range(0) if first is None else range(first, first + config.spike_steps)

    @property
    def steps_done(self) -> int:
        return len(self.history.steps)

    def minibatches(self, epoch):
        """1) The minibatches of one epoch, until the run's last step; inside the spike window times spike_factor."""
        n = self.data.X_train.shape[0]
        order = epoch_order(n, self.config.seed, epoch)
        for start in range(0, n, self.config.batch_size):
            if self.steps_done >= self.total_steps:
                return
            index = order[start:start + self.config.batch_size]
            x = self.data.X_train[index]  # (batch, features) float32
            if self.steps_done in self.spike:
                x = x * np.float32(self.config.spike_factor)
            yield x, self.data.y_train[index]  # (batch,) int64

    def step(self, epoch, x, y) -> None:
        """One training step on the minibatch ``(x, y)``, recorded in the history."""
        loss_scale = self.scaler.scale
        with np.errstate(all="ignore"):  # overflow to inf and NaN are measured, not warned about
            loss = self.forward(x, y)
            self.backward(loss_scale)
            grads, found_inf = self.unscale(loss_scale)
            skipped = found_inf and self.scaler.skips_nonfinite
            lost, changed = (0, 0) if skipped else self.optimizer_step(grads)
        self.advance_scales(found_inf)
        self.history.add_step(epoch=epoch, loss=loss, loss_scale=loss_scale, skipped=skipped, lost=lost,
                              changed=changed, telemetry=self.telemetry.end_step())  # fmt: skip

    def forward(self, x, y) -> float:
        """2-3) Forward pass through the casts; the loss (float32)."""
        return float(self.loss_fn.forward(self.model.forward(x, self.cast), y))

    def backward(self, loss_scale) -> None:
        """3-4) The loss gradient times ``loss_attenuation * loss_scale``, backpropagated through the casts."""
        total_scale = np.float32(self.config.loss_attenuation * loss_scale)
        # the gradient with respect to the data is not needed: the first layer skips that product
        self.model.backward(self.loss_fn.backward().astype(np.float32) * total_scale, self.cast, input_grad=False)

    def unscale(self, loss_scale):
        """5) The weight gradients times float32(1/loss_scale), and whether any is inf or NaN."""
        inv_scale = np.float32(1.0 / np.float64(loss_scale))
        grads = [g * inv_scale for _, g in self.model.gradients()]
        return grads, not all(np.isfinite(g).all() for g in grads)

    def optimizer_step(self, grads):
        """6-7) Increments from the optimizer, added to the master weights and rounded into their format.

        Returns the counts of nonzero increments that rounded away and of all nonzero increments.
        """
        deltas = self.optimizer.updates(grads, self.cast_state)
        lost = changed = 0
        for (_, w), delta in zip(self.model.parameters(), deltas, strict=True):
            new = w + delta if self.exact_sum else w.astype(np.float64) + delta.astype(np.float64)
            new = self.telemetry.cast(new, self.policy.master, role="master", overflow=self.policy.overflow,
                                      rounding=self.rounding, rng=self.update_rng).astype(np.float32)  # fmt: skip
            moved = delta != 0
            changed += int(np.count_nonzero(moved))
            lost += int(np.count_nonzero(moved & (new == w)))
            w[...] = new
        return lost, changed

    def cast_state(self, state):
        """The optimizer's state, cast to the ``optimizer_state`` format."""
        return self.cast(state, "optimizer_state", None)

    def advance_scales(self, found_inf) -> None:
        """8) The loss scaler and the delayed per-tensor scales move on to the next step."""
        self.scaler.update(found_inf)
        if self.cast.tensor_scaling is not None and self.cast.tensor_scaling.delayed:
            self.cast.tensor_scaling.update()

    def evaluate(self) -> None:
        """End of an epoch: the test accuracy, through the casts but uncounted, recorded in the history."""
        self.cast.record = False
        with np.errstate(all="ignore"):
            accuracy = _accuracy(self.model, self.cast, self.data.X_test, self.data.y_test)
        self.cast.record = True
        self.history.add_epoch(accuracy)
