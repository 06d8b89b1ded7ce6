"""Mixed-precision training of a small MLP in NumPy, with every cast emulated by lowfloat.

Import it explicitly: ``import lowfloat.train``.  A :class:`Policy` says
which format each tensor role is cast to; loss scalers and per-tensor scaling
follow PyTorch's and Transformer Engine's rules; every step records what the
casts did (overflow, underflow, subnormals, amax, lost updates) in a
:class:`History`.

>>> from lowfloat.train import TrainConfig, train
>>> history = train(TrainConfig(policy="fp16", scaler="dynamic", epochs=1))
>>> history.summary()["skipped_steps"]
0
"""

from .config import TrainConfig
from .datasets import Dataset, load_digits, load_npz, split
from .history import History, plot_runs
from .layers import GELU, MLP, Linear, ReLU
from .loss import SoftmaxCrossEntropy
from .optim import SGD, Adam
from .policy import PRESETS, ROLES, Policy, get_policy
from .scalers import CurrentScaling, DelayedScaling, DynamicLossScaler, NoLossScaling, StaticLossScaler
from .sweep import sweep
from .trainer import Interrupted, train

__all__ = [
    "Policy",
    "get_policy",
    "PRESETS",
    "ROLES",
    "TrainConfig",
    "train",
    "sweep",
    "History",
    "plot_runs",
    "Interrupted",
    "MLP",
    "Linear",
    "ReLU",
    "GELU",
    "SoftmaxCrossEntropy",
    "SGD",
    "Adam",
    "DynamicLossScaler",
    "StaticLossScaler",
    "NoLossScaling",
    "DelayedScaling",
    "CurrentScaling",
    "Dataset",
    "load_digits",
    "load_npz",
    "split",
]
