"""One training run: every knob in :class:`TrainConfig`, the loop in :func:`train`.

A step, in order:

1. Take a minibatch (multiplied by ``spike_factor`` inside the spike window).
2. Forward pass; each Linear casts its input to the ``activation`` format
   and its weights to the ``weight`` format (times a per-tensor scale under
   FP8 scaling), multiplies exactly and accumulates in the ``accumulator``
   format (float32 by default).
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

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..accumulate import matmul as lowfloat_matmul
from ..codec import quantize
from .data import Dataset, epoch_order, load_digits, load_npz
from .history import History
from .layers import MLP
from .loss import SoftmaxCrossEntropy
from .optim import make_optimizer
from .policy import PRESETS, Policy, get_policy
from .scalers import CurrentScaling, DelayedScaling, DynamicLossScaler, NoLossScaling, StaticLossScaler
from .telemetry import Telemetry

__all__ = ["TrainConfig", "train", "Interrupted", "SCALERS", "TENSOR_SCALINGS"]

#: Loss scalers by name.
SCALERS = ("none", "static", "dynamic")
#: Per-tensor scaling by name.
TENSOR_SCALINGS = ("none", "delayed", "current")
#: Roles whose casts are per-tensor scaled: the matmul inputs, as in Transformer Engine.
_SCALED_ROLES = ("weight", "activation", "activation_grad")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`train`; ``.history`` holds the steps done so far."""

    def __init__(self, history):
        super().__init__("training interrupted")
        self.history = history


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one run.

    Raises ValueError, naming the field, for any value out of range.

    Examples
    --------
    >>> from lowfloat.train import TrainConfig
    >>> TrainConfig(policy="fp16", scaler="dynamic").scaler
    'dynamic'
    >>> TrainConfig(scaler="dinamic")
    Traceback (most recent call last):
    ...
    ValueError: TrainConfig.scaler must be one of none, static, dynamic, got 'dinamic'
    """

    name: str = "run"
    # precision
    policy: str | Policy = "fp32"  # a preset name (fp32, fp16, bf16, fp8, bf16-pure) or a Policy
    stochastic_update: bool = False  # round the weight update into the master format stochastically
    # loss scaling (torch.amp.GradScaler's names)
    scaler: str = "none"  # none | static | dynamic
    init_scale: float = 2.0**16  # the static scale, or the dynamic scaler's first
    growth_factor: float = 2.0
    backoff_factor: float = 0.5
    growth_interval: int = 2000
    # per-tensor scaling of the matmul inputs (Transformer Engine's names)
    tensor_scaling: str = "none"  # none | delayed | current
    margin: int = 0
    amax_history_len: int = 1024
    amax_compute_algo: str = "max"
    # optimizer
    optimizer: str = "sgd"  # sgd | adam
    lr: float = 0.1
    momentum: float = 0.9  # sgd
    betas: tuple = (0.9, 0.999)  # adam
    eps: float = 1e-8  # adam
    # model
    hidden: tuple = (32,)  # hidden layer widths
    activation: str = "relu"  # relu | gelu
    init: str = "he"  # he | glorot
    # schedule and data
    epochs: int = 10
    batch_size: int = 64
    max_steps: int | None = None  # stop earlier than `epochs`
    seed: int = 0  # initial weights, batch order, stochastic rounding
    data: str = "digits"  # "digits" or the path of an .npz with X and y
    test_fraction: float = 0.2
    loss_attenuation: float = 1.0  # multiplies the loss in the backward pass (see the module docstring)
    spike_start: int | None = None  # first step of a burst of inputs multiplied by spike_factor
    spike_steps: int = 0
    spike_factor: float = 1.0
    extra: dict = field(default_factory=dict)  # free-form labels (sweeps), copied into the history

    def __post_init__(self):
        def bad(name, expected):
            raise ValueError(f"TrainConfig.{name} must be {expected}, got {getattr(self, name)!r}")

        if not isinstance(self.name, str):
            bad("name", "a str")
        if not isinstance(self.policy, Policy) and self.policy not in PRESETS:
            bad("policy", f"one of {', '.join(PRESETS)} or a Policy")
        for name, choices in (("scaler", SCALERS), ("tensor_scaling", TENSOR_SCALINGS), ("optimizer", ("sgd", "adam")),
                              ("activation", ("relu", "gelu")), ("init", ("he", "glorot")),
                              ("amax_compute_algo", ("max", "most_recent"))):  # fmt: skip
            if getattr(self, name) not in choices:
                bad(name, f"one of {', '.join(choices)}")
        for name in ("stochastic_update",):
            if not isinstance(getattr(self, name), bool):
                bad(name, "True or False")
        for name in ("init_scale", "growth_factor", "backoff_factor", "lr", "eps", "loss_attenuation", "spike_factor"):
            value = getattr(self, name)
            if not _is_number(value) or not math.isfinite(value) or value <= 0:
                bad(name, "a positive finite number")
        if not 0 < self.test_fraction < 1:
            bad("test_fraction", "a number in (0, 1)")
        if self.growth_factor <= 1:
            bad("growth_factor", "> 1")
        if self.backoff_factor >= 1:
            bad("backoff_factor", "< 1")
        if not _is_number(self.momentum) or not 0 <= self.momentum < 1:
            bad("momentum", "a number in [0, 1)")
        if not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2 or \
                not all(_is_number(b) and 0 <= b < 1 for b in self.betas):  # fmt: skip
            bad("betas", "a pair of numbers in [0, 1)")
        for name in ("growth_interval", "amax_history_len", "epochs", "batch_size"):
            if not _is_int(getattr(self, name)) or getattr(self, name) < 1:
                bad(name, "a positive int")
        for name in ("margin", "seed", "spike_steps"):
            if not _is_int(getattr(self, name)) or getattr(self, name) < 0:
                bad(name, "a non-negative int")
        if self.max_steps is not None and (not _is_int(self.max_steps) or self.max_steps < 1):
            bad("max_steps", "None or a positive int")
        if self.spike_start is not None and (not _is_int(self.spike_start) or self.spike_start < 0):
            bad("spike_start", "None or a non-negative int")
        if not isinstance(self.hidden, (tuple, list)) or not all(_is_int(n) and n > 0 for n in self.hidden):
            bad("hidden", "a tuple of positive ints")
        if not isinstance(self.data, str):
            bad("data", "'digits' or the path of an .npz file")
        if not isinstance(self.extra, dict):
            bad("extra", "a dict")
        if self.tensor_scaling != "none" and self.scaler != "none":
            raise ValueError("TrainConfig.tensor_scaling and TrainConfig.scaler: choose one kind of scaling "
                             f"(got tensor_scaling={self.tensor_scaling!r}, scaler={self.scaler!r})")  # fmt: skip

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def get_policy(self) -> Policy:
        return get_policy(self.policy, stochastic_update=self.stochastic_update or None)

    def as_dict(self) -> dict:
        """Plain values (the policy as its name), for JSON and tables."""
        values = dataclasses.asdict(self)
        values["policy"] = self.get_policy().name if isinstance(self.policy, Policy) else self.policy
        values["hidden"] = list(self.hidden)
        values["betas"] = list(self.betas)
        return values


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
        """``a @ b`` with the policy's accumulator: numpy's float32 matmul, or every partial sum rounded."""
        if self.policy.accumulator.name == "float32":
            return a @ b
        return lowfloat_matmul(a, b, accumulate=self.policy.accumulator)


def _load(config) -> Dataset:
    if config.data == "digits":
        return load_digits(test_fraction=config.test_fraction)
    return load_npz(config.data, test_fraction=config.test_fraction)


def _accuracy(model, cast, features, labels) -> float:
    logits = model.forward(features, cast)
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def _fraction(counts, name, of="elements"):
    return counts[name] / counts[of] if counts[of] else 0.0


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
    data = _load(config) if data is None else data
    policy = config.get_policy()
    model = MLP((data.n_features, *config.hidden, data.n_classes), activation=config.activation, init=config.init,
                seed=config.seed)  # fmt: skip
    optimizer = make_optimizer(config.optimizer, lr=config.lr, momentum=config.momentum, betas=tuple(config.betas),
                               eps=config.eps)  # fmt: skip
    scaler = _make_scaler(config)
    telemetry = Telemetry()
    cast = _Caster(policy, telemetry, _make_tensor_scaling(config))
    loss_fn = SoftmaxCrossEntropy()
    rng = np.random.default_rng([config.seed, 0x5EED])  # stochastic rounding of the weight update
    rounding = "stochastic" if policy.stochastic_update else "nearest_even"
    sr_rng = rng if rounding == "stochastic" else None
    exact_sum = rounding == "nearest_even" and policy.master.name == "float32"
    formats = {role: getattr(policy, role).name for role in ("weight", "activation", "activation_grad",
                                                             "weight_grad", "master", "optimizer_state")}  # fmt: skip
    if policy.master.name != "float32":  # the stored weights live on the master format's grid from the start
        for _, w in model.parameters():
            w[...] = quantize(w, policy.master, overflow=policy.overflow)
    history = History(config.name, config.as_dict() | {"policy_detail": policy.describe()}, formats)
    history.model = model
    history.histograms = telemetry.histograms

    def cast_state(state):
        return cast(state, "optimizer_state", None)

    n = data.X_train.shape[0]
    batches_per_epoch = math.ceil(n / config.batch_size)
    total = config.epochs * batches_per_epoch
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    spike = range(config.spike_start, config.spike_start + config.spike_steps) if config.spike_start is not None \
        else range(0)  # fmt: skip
    step = 0
    try:
        for epoch in range(config.epochs):
            if step >= total:
                break
            order = epoch_order(n, config.seed, epoch)
            losses = []
            for start in range(0, n, config.batch_size):
                if step >= total:
                    break
                # 1) the minibatch, inside the spike window multiplied by spike_factor
                index = order[start:start + config.batch_size]
                x, y = data.X_train[index], data.y_train[index]  # (batch, features) float32, (batch,) int64
                if step in spike:
                    x = x * np.float32(config.spike_factor)
                loss_scale = scaler.scale
                with np.errstate(all="ignore"):  # overflow to inf and NaN are measured, not warned about
                    # 2-4) forward, loss, backward with the scaled loss
                    loss = float(loss_fn.forward(model.forward(x, cast), y))
                    total_scale = np.float32(config.loss_attenuation * loss_scale)
                    model.backward(loss_fn.backward().astype(np.float32) * total_scale, cast)
                    # 5) unscale; look for inf/NaN
                    inv_scale = np.float32(1.0 / np.float64(loss_scale))
                    grads = [g * inv_scale for _, g in model.gradients()]
                    found_inf = not all(np.isfinite(g).all() for g in grads)
                    skipped = found_inf and scaler.skips_nonfinite
                    lost = changed = 0
                    if not skipped:
                        # 6) increments, 7) master weights
                        deltas = optimizer.updates(grads, cast_state)
                        for (_, w), delta in zip(model.parameters(), deltas, strict=True):
                            if exact_sum:  # float32 addition is already the sum rounded once to nearest
                                new = w + delta
                            else:
                                new = w.astype(np.float64) + delta.astype(np.float64)
                            new = telemetry.cast(new, policy.master, role="master", overflow=policy.overflow,
                                                 rounding=rounding, rng=sr_rng)
                            new = new.astype(np.float32)
                            moved = delta != 0
                            changed += int(np.count_nonzero(moved))
                            lost += int(np.count_nonzero(moved & (new == w)))
                            w[...] = new
                # 8) scalers advance; record the step
                scaler.update(found_inf)
                if cast.tensor_scaling is not None and cast.tensor_scaling.delayed:
                    cast.tensor_scaling.update()
                history.lost[0] += lost
                history.lost[1] += changed
                counts = telemetry.end_step()
                row = {"step": step, "epoch": epoch, "loss": loss, "loss_scale": loss_scale, "skipped": int(skipped),
                       "lost_updates": lost / changed if changed else 0.0}  # fmt: skip
                for role, c in counts.items():
                    row[f"{role}.overflow"] = _fraction(c, "overflow")
                    row[f"{role}.underflow"] = _fraction(c, "underflow", of="nonzero")
                    row[f"{role}.subnormal"] = _fraction(c, "subnormal")
                    row[f"{role}.amax"] = c["amax"]
                history.steps.append(row)
                history.totals = telemetry.totals
                losses.append(loss)
                step += 1
                if progress is not None:
                    progress(step, total)
            cast.record = False
            with np.errstate(all="ignore"):
                accuracy = _accuracy(model, cast, data.X_test, data.y_test)
            cast.record = True
            history.epochs.append({"epoch": epoch, "step": step - 1, "train_loss": float(np.mean(losses)),
                                   "test_accuracy": accuracy})  # fmt: skip
    except KeyboardInterrupt:
        history.interrupted = True
        history.seconds = time.perf_counter() - started
        raise Interrupted(history) from None
    history.seconds = time.perf_counter() - started
    return history
