"""Every knob of one training run, declared once: :class:`TrainConfig`.

Each field states its default, the values it accepts and one line of help;
:class:`TrainConfig` validates itself from those declarations, and the
``lowfloat train`` command builds its options from them
(:mod:`lowfloat.train.settings`).  The choice lists come from the modules
that implement the choices.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .layers import ACTIVATIONS, INITS
from .optim import OPTIMIZERS
from .policy import PRESETS, Policy, get_policy
from .scalers import AMAX_COMPUTE_ALGOS, SCALERS, TENSOR_SCALINGS
from .settings import (
    FLAG,
    HALF_OPEN_UNIT_INTERVAL,
    MAPPING,
    NON_NEGATIVE_INT,
    NUMBER_ABOVE_ONE,
    OPEN_UNIT_INTERVAL,
    OPTIONAL_NON_NEGATIVE_INT,
    OPTIONAL_POSITIVE_INT,
    PAIR_IN_HALF_OPEN_UNIT_INTERVAL,
    POSITIVE_INT,
    POSITIVE_NUMBER,
    TEXT,
    WIDTHS,
    Kind,
    one_of,
    setting,
    validate,
)

__all__ = ["TrainConfig"]

_POLICY = one_of(PRESETS, also=" or a Policy", accepts_also=lambda v: isinstance(v, Policy))
_DATA = Kind("'digits' or the path of an .npz file", lambda v: isinstance(v, str), metavar="DATA")


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

    name: str = setting("run", TEXT, "a label for tables and files", group="output")
    # precision
    policy: str | Policy = setting("fp32", _POLICY, "precision preset", group="precision")
    stochastic_update: bool = setting(False, FLAG, "stochastic rounding of weight updates", group="precision")
    # loss scaling (torch.amp.GradScaler's names)
    scaler: str = setting("none", one_of(SCALERS), "loss scaler", group="scaling")
    init_scale: float = setting(2.0**16, POSITIVE_NUMBER, "static or initial loss scale", group="scaling")
    growth_factor: float = setting(2.0, NUMBER_ABOVE_ONE, "dynamic scale's factor after growth-interval clean steps",
                                   group="scaling")  # fmt: skip
    backoff_factor: float = setting(0.5, OPEN_UNIT_INTERVAL, "dynamic scale's factor after a step with inf/NaN",
                                    group="scaling")  # fmt: skip
    growth_interval: int = setting(2000, POSITIVE_INT, "clean steps before the dynamic scale grows", group="scaling")
    # per-tensor scaling of the matmul inputs (Transformer Engine's names)
    tensor_scaling: str = setting("none", one_of(TENSOR_SCALINGS), "per-tensor FP8 scaling", group="scaling")
    margin: int = setting(0, NON_NEGATIVE_INT, "per-tensor scales divided by 2**margin", group="scaling")
    amax_history_len: int = setting(1024, POSITIVE_INT, "steps in delayed scaling's amax history", group="scaling")
    amax_compute_algo: str = setting("max", one_of(AMAX_COMPUTE_ALGOS), "delayed scaling's amax of the history",
                                     group="scaling")  # fmt: skip
    # optimizer
    optimizer: str = setting("sgd", one_of(OPTIMIZERS), "optimizer", group="optimizer")
    lr: float = setting(0.1, POSITIVE_NUMBER, "learning rate", group="optimizer")
    momentum: float = setting(0.9, HALF_OPEN_UNIT_INTERVAL, "SGD momentum", group="optimizer")
    betas: tuple = setting((0.9, 0.999), PAIR_IN_HALF_OPEN_UNIT_INTERVAL, "Adam's betas", group="optimizer")
    eps: float = setting(1e-8, POSITIVE_NUMBER, "Adam's epsilon", group="optimizer")
    # model
    hidden: tuple = setting((32,), WIDTHS, "hidden layer widths, e.g. 64,32", group="model and data")
    activation: str = setting("relu", one_of(ACTIVATIONS), "activation function", group="model and data")
    init: str = setting("he", one_of(INITS), "initial weights", group="model and data")
    # schedule and data
    epochs: int = setting(10, POSITIVE_INT, "passes over the training set", group="model and data")
    batch_size: int = setting(64, POSITIVE_INT, "minibatch size", group="model and data")
    max_steps: int | None = setting(None, OPTIONAL_POSITIVE_INT, "stop after this many steps",
                                    group="model and data")  # fmt: skip
    seed: int = setting(0, NON_NEGATIVE_INT, "seeds initial weights, batch order, stochastic rounding",
                        group="model and data")  # fmt: skip
    data: str = setting("digits", _DATA, "'digits' or an .npz file with X and y", group="model and data")
    test_fraction: float = setting(0.2, OPEN_UNIT_INTERVAL, "share of the samples held out for testing",
                                   group="model and data")  # fmt: skip
    loss_attenuation: float = setting(1.0, POSITIVE_NUMBER, "multiply the loss in the backward pass, e.g. 2**-16",
                                      group="model and data")  # fmt: skip
    spike_start: int | None = setting(None, OPTIONAL_NON_NEGATIVE_INT, "first step of a burst of scaled inputs",
                                      group="model and data")  # fmt: skip
    spike_steps: int = setting(0, NON_NEGATIVE_INT, "length of the burst", group="model and data")
    spike_factor: float = setting(1.0, POSITIVE_NUMBER, "the burst's inputs are multiplied by this",
                                  group="model and data")  # fmt: skip
    extra: dict = setting(kind=MAPPING, help="free-form labels (sweeps), copied into the history", default_factory=dict)

    def __post_init__(self):
        validate(self)
        if self.tensor_scaling != "none" and self.scaler != "none":
            raise ValueError("TrainConfig.tensor_scaling and TrainConfig.scaler: choose one kind of scaling "
                             f"(got tensor_scaling={self.tensor_scaling!r}, scaler={self.scaler!r})")  # fmt: skip

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def get_policy(self) -> Policy:
        """The policy by preset name or as given, with ``stochastic_update`` applied."""
        return get_policy(self.policy, stochastic_update=self.stochastic_update or None)

    def as_dict(self) -> dict:
        """Plain values (the policy as its name), for JSON and tables."""
        values = dataclasses.asdict(self)
        values["policy"] = self.get_policy().name if isinstance(self.policy, Policy) else self.policy
        values["hidden"] = list(self.hidden)
        values["betas"] = list(self.betas)
        return values
