"""lowfloat: bit-exact emulation of low-precision number formats on the CPU.

Encode real numbers to codes, decode codes to values, and round values onto
a format's grid -- fp16, bf16, fp8 (E4M3, E5M2), fp6, fp4, E8M0 and any
format you define -- rounding exactly once, in Numba kernels.

>>> import lowfloat as lf
>>> lf.quantize([0.1, 1000.0], "e4m3", overflow="saturate").tolist()
[0.1015625, 448.0]
"""

from .accumulate import dot, matmul, sum
from .arith import add, div, fma, mul, sqrt, sub
from .blocks import BlockArray, block_quantize
from .codec import decode, encode, quantize
from .codetable import table
from .explain import Explanation, explain
from .finfo import finfo
from .formats import ALIASES, BUILTIN_FORMATS, Format, format_names, get_format
from .integer import INT_FORMATS, IntFormat
from .mx import MX_FORMATS, mx_quantize, nvfp4_quantize
from .packing import pack, unpack
from .rounding import DETERMINISTIC_MODES, OVERFLOW_POLICIES, ROUNDING_MODES
from .scaled import ScaledArray, scaled_quantize

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
    "ROUNDING_MODES",
    "DETERMINISTIC_MODES",
    "OVERFLOW_POLICIES",
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
]
