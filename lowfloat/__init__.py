"""lowfloat: bit-exact emulation of low-precision number formats on the CPU.

Encode real numbers to codes, decode codes to values, and round values onto
a format's grid -- fp16, bf16, fp8 (E4M3, E5M2), fp6, fp4, E8M0 and any
format you define -- rounding exactly once, in Numba kernels.

>>> import lowfloat as lf
>>> lf.quantize([0.1, 1000.0], "e4m3", overflow="saturate").tolist()
[0.1015625, 448.0]
"""

from .codec import decode, encode, quantize
from .explain import Explanation, explain  # eager: importing the submodule would rebind the name to it
from .finfo import finfo
from .formats import ALIASES, BUILTIN_FORMATS, Format, format_names, get_format
from .interop import as_ml_dtypes
from .rounding import (
    DETERMINISTIC_MODES,
    FLAG_INEXACT,
    FLAG_INFINITE,
    FLAG_INVALID,
    FLAG_OVERFLOW,
    FLAG_UNDERFLOW,
    OVERFLOW_POLICIES,
    ROUNDING_MODES,
    flag_names,
)

# The rest of the public API is imported on first use (PEP 562), so that
# ``import lowfloat`` pays only for the codec: each of these modules pulls in
# its own Numba kernels.  Names and modules, in one table:
_LAZY = {
    "add": "arith", "sub": "arith", "mul": "arith", "div": "arith", "fma": "arith", "sqrt": "arith",
    "sum": "accumulate", "dot": "accumulate", "matmul": "accumulate",
    "ScaledArray": "scaling.scaled", "scaled_quantize": "scaling.scaled",
    "BlockArray": "scaling.blocks", "block_quantize": "scaling.blocks",
    "MX_FORMATS": "scaling.mx", "mx_quantize": "scaling.mx", "nvfp4_quantize": "scaling.mx",
    "IntFormat": "scaling.integer", "INT_FORMATS": "scaling.integer",
    "pack": "scaling.packing", "unpack": "scaling.packing",
    "table": "codetable",
    "warmup": "cache",
}  # fmt: skip


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'lowfloat' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

FLOAT32 = BUILTIN_FORMATS["float32"]
TENSORFLOAT32 = BUILTIN_FORMATS["tensorfloat32"]
FLOAT16 = BUILTIN_FORMATS["float16"]
BFLOAT16 = BUILTIN_FORMATS["bfloat16"]
FLOAT8_E4M3FN = BUILTIN_FORMATS["float8_e4m3fn"]
FLOAT8_E5M2 = BUILTIN_FORMATS["float8_e5m2"]
FLOAT8_E4M3FNUZ = BUILTIN_FORMATS["float8_e4m3fnuz"]
FLOAT8_E5M2FNUZ = BUILTIN_FORMATS["float8_e5m2fnuz"]
FLOAT8_E4M3B11FNUZ = BUILTIN_FORMATS["float8_e4m3b11fnuz"]
FLOAT8_E3M4 = BUILTIN_FORMATS["float8_e3m4"]
FLOAT8_E4M3 = BUILTIN_FORMATS["float8_e4m3"]
FLOAT8_E8M0FNU = BUILTIN_FORMATS["float8_e8m0fnu"]
FLOAT6_E2M3FN = BUILTIN_FORMATS["float6_e2m3fn"]
FLOAT6_E3M2FN = BUILTIN_FORMATS["float6_e3m2fn"]
FLOAT4_E2M1FN = BUILTIN_FORMATS["float4_e2m1fn"]

__all__ = [
    "Format",
    "get_format",
    "format_names",
    "finfo",
    "encode",
    "decode",
    "quantize",
    "as_ml_dtypes",
    "ROUNDING_MODES",
    "DETERMINISTIC_MODES",
    "OVERFLOW_POLICIES",
    "FLAG_INEXACT",
    "FLAG_UNDERFLOW",
    "FLAG_OVERFLOW",
    "FLAG_INFINITE",
    "FLAG_INVALID",
    "flag_names",
    "ALIASES",
    "BUILTIN_FORMATS",
    "FLOAT32",
    "TENSORFLOAT32",
    "FLOAT16",
    "BFLOAT16",
    "FLOAT8_E4M3FN",
    "FLOAT8_E5M2",
    "FLOAT8_E4M3FNUZ",
    "FLOAT8_E5M2FNUZ",
    "FLOAT8_E4M3B11FNUZ",
    "FLOAT8_E3M4",
    "FLOAT8_E4M3",
    "FLOAT8_E8M0FNU",
    "FLOAT6_E2M3FN",
    "FLOAT6_E3M2FN",
    "FLOAT4_E2M1FN",
    "ScaledArray",
    "scaled_quantize",
    "BlockArray",
    "block_quantize",
    "MX_FORMATS",
    "mx_quantize",
    "nvfp4_quantize",
    "IntFormat",
    "INT_FORMATS",
    "pack",
    "unpack",
    "explain",
    "Explanation",
    "table",
    "add",
    "sub",
    "mul",
    "div",
    "fma",
    "sqrt",
    "sum",
    "dot",
    "matmul",
    "warmup",
]
