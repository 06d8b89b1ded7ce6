"""lowfloat for PyTorch CPU tensors: casts of tensors, and fake quantization of whole models.

Import it explicitly (``import lowfloat.torch``); it needs PyTorch.

* Tensor casts (:mod:`lowfloat.torch.casts`): :func:`quantize`, :func:`encode`,
  :func:`decode` take and return tensors, keep a tensor's dtype where that
  dtype holds every value of the format, and write into the tensor's own memory.
* Fake quantization: :class:`Cast` says how a tensor is rounded (a format, and
  per-tensor, per-channel or block scaling); :class:`Quantize` is the autograd
  function that rounds it and passes the gradient straight through.
* Whole models: :func:`emulate` makes a model's matmuls read operands cast as
  a recipe says (:data:`RECIPES`, the presets of :mod:`lowfloat.train`),
  :func:`telemetry` tells what the casts did, :func:`restore` undoes it;
  :class:`LossScaler` puts :mod:`lowfloat.train`'s loss scalers behind
  ``torch.amp.GradScaler``'s calls, :func:`round_updates` keeps master weights
  in a narrow format.  :mod:`lowfloat.torch.example` trains a small CNN eight
  ways (``lowfloat demo --torch``).
"""

try:
    import torch  # noqa: F401 -- first, so that its absence is reported in one sentence
except ImportError as error:
    raise ImportError("lowfloat.torch needs PyTorch: pip install torch") from error

from .autograd import Quantize  # noqa: E402
from .casts import decode, encode, holds, quantize  # noqa: E402
from .emulate import emulate, emulation, restore, telemetry  # noqa: E402
from .fakequant import Cast  # noqa: E402
from .lossscale import LossScaler  # noqa: E402
from .master import round_updates  # noqa: E402
from .recipe import RECIPES, Recipe, get_recipe  # noqa: E402

__all__ = ["quantize", "encode", "decode", "holds", "Cast", "Quantize", "emulate", "restore", "emulation",
           "telemetry", "Recipe", "RECIPES", "get_recipe", "LossScaler", "round_updates"]
