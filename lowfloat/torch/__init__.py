"""lowfloat for PyTorch CPU tensors: encode, decode and quantize that take and return tensors.

Import it explicitly (``import lowfloat.torch``); it needs PyTorch.  The
casts keep a tensor's dtype where that dtype holds every value of the format
(see :mod:`lowfloat.torch.casts`) and write into the tensor's own memory.
"""

from .casts import decode, encode, holds, quantize

__all__ = ["quantize", "encode", "decode", "holds"]
