"""The hot loops compile to SIMD code: a guard against the next accidental branch.

The element kernels are written branch-free (selects, ``&``/``|`` on booleans,
never ``and``/``or``) so that LLVM turns each element loop into vector code;
a branch it cannot turn into selects (an early exit, a call with side effects,
some ``and`` chains) keeps every result the same and runs about ten times
slower.  No other test would notice,
so this one reads the optimized LLVM IR of each entry point (compiled afresh,
without the disk cache, whose loaded code carries no IR) and requires vector
operations on the lanes of the data's width: 8 x 32 bits for float32 data and
4 x 64 bits for float64 with AVX2, half that with SSE2 alone.
"""

import platform
import re

import numba
import numpy as np
import pytest

import lowfloat as lf
from lowfloat.kernels.layout import bits_type
from lowfloat.kernels.plan import plan


def _has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return " avx2" in cpuinfo.read()
    except OSError:
        return False


pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="SIMD widths of x86-64")
REGISTER_BITS = 256 if _has_avx2() else 128

# quantize's paths on float32 data, encode's nearest-even and general paths (an accidental `and` in encode_bits
# slows the general one), and quantize's nearest-even path on float64: each case compiles its kernel afresh,
# without the disk cache (10-20 s each in a loaded CI run), so loops that share their element code are
# checked once
CASES = [("quantize", path, rounding, np.float32)
         for path, rounding in (("nearest_even", "nearest_even"), ("stochastic", "stochastic"),
                                ("general", "toward_zero"))]  # fmt: skip
CASES += [("encode", "nearest_even", "nearest_even", np.float32), ("encode", "general", "toward_zero", np.float32),
          ("quantize", "nearest_even", "nearest_even", np.float64)]  # fmt: skip


def widest_vector(chosen, out_dtype) -> int:
    """The most lanes of an integer vector of the data's width in the entry point's optimized LLVM IR."""
    fresh = numba.njit(nogil=True)(chosen.kernel.py_func)  # no disk cache: the IR is kept
    uint = bits_type(chosen.dtype)
    key = (np.uint64(1),) if chosen.random else ()
    fresh(np.zeros(4, uint), np.zeros(4, out_dtype), 0, 4, *chosen.constants, *key)
    ir = fresh.inspect_llvm(fresh.signatures[0])
    width = 8 * np.dtype(uint).itemsize
    return max((int(n) for n in re.findall(rf"<(\d+) x i{width}>", ir)), default=0)


@pytest.mark.parametrize("op, path, rounding, dtype", CASES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_element_loop_is_vectorised_over_full_registers(op, path, rounding, dtype):
    chosen = plan(op, lf.FLOAT8_E4M3FN, dtype, rounding)
    assert chosen.path == path
    out_dtype = lf.FLOAT8_E4M3FN.code_dtype if op == "encode" else bits_type(dtype)
    lanes = REGISTER_BITS // (8 * np.dtype(dtype).itemsize)
    assert widest_vector(chosen, out_dtype) >= lanes, f"{op} {path} {dtype.__name__} is not vectorised"
