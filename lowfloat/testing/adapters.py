"""Other libraries' own casts, as functions :func:`~lowfloat.testing.check_cast` can test.

Each adapter takes a 1-D NumPy array of inputs (float16, float32, float64,
or float32 holding bfloat16 values) and returns the library's codes.  It is
a small picklable object, so it runs on process pools too, and it imports
its library only when built and called: lowfloat does not depend on them.

=============  ================================================================================
``ml_dtypes``  ``x.astype(ml_dtypes.<format>)``: every format ml_dtypes defines (bfloat16, the
               float8, float6 and float4 types, float8_e8m0fnu); bfloat16 inputs are made
               ml_dtypes bfloat16 arrays first (exactly)
``torch``      ``torch.from_numpy(x).to(torch.<format>)``: float32, float16, bfloat16,
               float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz, float8_e8m0fnu;
               bfloat16 inputs become torch.bfloat16 tensors first (exactly)
``numpy``      ``x.astype(numpy.float16)``: float16 only, numpy's one narrow float
=============  ================================================================================

Examples
--------
>>> import numpy as np
>>> from lowfloat.testing.adapters import adapter
>>> cast = adapter("numpy", "fp16", "float32")
>>> cast(np.float32([1.0, 65520.0])).tolist()   # 65520 rounds past float16's max: inf
[15360, 31744]
"""

from __future__ import annotations

import numpy as np

from ..formats import get_format
from .inputs import input_type

__all__ = ["ADAPTERS", "adapter", "MlDtypesCast", "TorchCast", "NumpyCast"]

#: The built-in adapters, by name.
ADAPTERS = ("ml_dtypes", "torch", "numpy")

#: Formats torch can cast into (torch.float4_e2m1fn_x2 packs two codes per byte and has no cast).
TORCH_FORMATS = ("float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
                 "float8_e5m2fnuz", "float8_e8m0fnu")  # fmt: skip

#: Formats ml_dtypes defines.
ML_DTYPES_FORMATS = ("bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
                     "float8_e4m3b11fnuz", "float8_e3m4", "float8_e4m3", "float8_e8m0fnu", "float6_e2m3fn",
                     "float6_e3m2fn", "float4_e2m1fn")  # fmt: skip


def adapter(name: str, fmt, dtype):
    """The cast of library ``name`` from ``dtype`` inputs into ``fmt``, returning codes.

    Raises
    ------
    ValueError
        An unknown adapter, a format the library lacks, or the library is not installed.
    """
    fmt, source = get_format(fmt), input_type(dtype)
    if name == "ml_dtypes":
        return MlDtypesCast(fmt.name, source.name)
    if name == "torch":
        return TorchCast(fmt.name, source.name)
    if name == "numpy":
        return NumpyCast(fmt.name, source.name)
    raise ValueError(f"unknown adapter {name!r}; the built-in ones are {', '.join(ADAPTERS)}")


def _codes(array: np.ndarray) -> np.ndarray:
    """An array's bits as unsigned integers of its width: the codes."""
    return array.view(f"u{array.dtype.itemsize}")


class MlDtypesCast:
    """ml_dtypes' ``astype`` into one of its formats."""

    def __init__(self, fmt_name: str, source_name: str):
        if fmt_name not in ML_DTYPES_FORMATS:
            raise ValueError(f"ml_dtypes has no {fmt_name} type; it defines {', '.join(ML_DTYPES_FORMATS)}")
        _require("ml_dtypes", "ml_dtypes")
        self.fmt_name, self.source_name = fmt_name, source_name
        self.__name__ = "ml_dtypes"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import ml_dtypes

        if self.source_name == "bfloat16":
            x = x.astype(ml_dtypes.bfloat16)  # exact: the values are bfloat16's
        with np.errstate(over="ignore", invalid="ignore"):  # numpy warns when a cast overflows
            return _codes(x.astype(getattr(ml_dtypes, self.fmt_name)))


class TorchCast:
    """torch's ``Tensor.to`` into one of its dtypes."""

    def __init__(self, fmt_name: str, source_name: str):
        if fmt_name not in TORCH_FORMATS:
            raise ValueError(f"torch has no {fmt_name} dtype to cast into; it has {', '.join(TORCH_FORMATS)}")
        torch = _require("torch", "torch")
        if not hasattr(torch, fmt_name):
            raise ValueError(f"this torch ({torch.__version__}) has no torch.{fmt_name}")
        self.fmt_name, self.source_name = fmt_name, source_name
        self.__name__ = "torch"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import torch

        tensor = torch.from_numpy(x)
        if self.source_name == "bfloat16":
            tensor = tensor.to(torch.bfloat16)  # exact: the values are bfloat16's
        result = tensor.to(getattr(torch, self.fmt_name))
        width = {1: torch.uint8, 2: torch.int16, 4: torch.int32}[result.element_size()]
        return _codes(result.view(width).numpy())


class NumpyCast:
    """numpy's ``astype(numpy.float16)``."""

    def __init__(self, fmt_name: str, source_name: str):
        if fmt_name != "float16":
            raise ValueError(f"numpy casts only into float16, its one narrow float, not {fmt_name}; "
                             "use the ml_dtypes or torch adapter")  # fmt: skip
        self.fmt_name, self.source_name = fmt_name, source_name
        self.__name__ = "numpy"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return _codes(x.astype(np.float16))


def _require(module: str, package: str):
    from importlib import import_module

    try:
        return import_module(module)
    except ImportError:
        raise ValueError(f"the {module} adapter needs {package}: pip install {package}") from None
