"""The casts' shorter loops (lowfloat/kernels/shortcuts.py), and every nearest-even cast under FTZ and DAZ.

tests/test_kernel_paths.py proves the loops equal to the general kernel on
every class of input; here: they are the loops that run (float16 by the
CPU's conversion, vectorised), and the fast paths give the same bits when a
library has set the flush-to-zero and denormals-are-zero flags for the thread.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from fpu_flags import X86_64, flushing_subnormals
from numba import njit

import lowfloat as lf
from lowfloat.kernels import encode, quantize, shortcuts
from lowfloat.kernels.layout import bits_type
from lowfloat.kernels.nearest import fast_constants
from lowfloat.kernels.plan import plan


def inputs(dtype) -> np.ndarray:
    """Random values over every binade of float32 (subnormals included), zeros, infinities and NaNs with payloads."""
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 1 << 32, 1 << 16, dtype=np.uint64).astype(np.uint32)  # every class, NaN payloads too
    tiny = rng.integers(0, 1 << 24, 1 << 14, dtype=np.uint32)  # float32 subnormals and the first normals
    x = np.concatenate([bits, tiny, tiny | np.uint32(0x80000000)]).view(np.float32)
    with np.errstate(invalid="ignore"):
        return x if dtype == np.float32 else x.astype(np.float64)


def run_serial(chosen, x, out_dtype) -> np.ndarray:
    """The plan's kernel over all of ``x`` on this thread (where the FPU flags are set)."""
    out = np.empty(x.size, out_dtype)
    chosen.kernel(x.view(bits_type(x.dtype)), out, 0, x.size, *chosen.constants)
    return out


@pytest.mark.skipif(not X86_64, reason="the FTZ and DAZ flags of x86-64's MXCSR")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["encode", "quantize"])
@pytest.mark.parametrize("name", ["float16", "bfloat16", "tensorfloat32", "float8_e4m3fn", "float8_e5m2"])
def test_nearest_even_casts_give_the_same_bits_where_a_library_set_flush_to_zero(name, op, dtype):
    fmt = lf.get_format(name)
    chosen = plan(op, fmt, dtype)
    assert chosen.path in ("nearest_even", "binary16", "cut_short")
    x = inputs(dtype)
    out_dtype = fmt.code_dtype if op == "encode" else bits_type(dtype)
    general = plan(op, fmt, dtype, path="general")
    general_out = np.empty(x.size, out_dtype)
    general.kernel(x.view(bits_type(dtype)), general_out, 0, x.size, *general.constants, np.uint64(0))
    for path in {chosen.path, "nearest_even"}:  # the shortcut taken, and the plain loop it replaces
        on_path = plan(op, fmt, dtype, path=path)
        want = run_serial(on_path, x, out_dtype)
        with flushing_subnormals():
            got = run_serial(on_path, x, out_dtype)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(want, general_out)


def test_float16_and_bfloat16_constants_are_recognised_and_others_are_not():
    float16_path = "binary16" if shortcuts.HARDWARE_BINARY16 else "nearest_even"
    assert plan("quantize", lf.FLOAT16, np.float32).path == float16_path
    assert plan("encode", lf.BFLOAT16, np.float32).path == "cut_short"
    assert plan("encode", lf.BFLOAT16, np.float64).path == "nearest_even"  # float32 data only
    with pytest.raises(ValueError, match="the cut_short path does not serve float16"):
        plan("encode", lf.FLOAT16, np.float32, path="cut_short")

    def constants(name, overflow=None):
        return fast_constants(lf.get_format(name), overflow, np.float32)

    assert shortcuts.is_binary16(constants("float16"))
    assert not shortcuts.is_binary16(constants("float16", "saturate"))  # overflow gives max, not inf
    assert not shortcuts.is_binary16(constants("float8_e5m2"))
    assert shortcuts.is_cut_short(constants("bfloat16")) and shortcuts.is_cut_short(constants("tensorfloat32"))
    assert not shortcuts.is_cut_short(constants("float16")) and not shortcuts.is_cut_short(constants("e4m3"))


@pytest.mark.skipif(not shortcuts.HARDWARE_BINARY16, reason="no float16 conversion instruction on this target")
@pytest.mark.parametrize("module", [encode, quantize], ids=["encode", "quantize"])
def test_float16_casts_compile_to_the_vectorised_hardware_conversion(module):
    # a change that made LLVM call a library routine or stop vectorising would keep the bits and lose the speed
    fresh = njit(nogil=True)(module.binary16_float32.py_func)  # no disk cache: the IR is kept
    fmt = lf.get_format("float16")
    out = np.zeros(8, fmt.code_dtype if module is encode else np.uint32)
    fresh(np.zeros(8, np.uint32), out, 0, 8, fast_constants(fmt, None, np.float32))
    ir = fresh.inspect_llvm(fresh.signatures[0])
    assert re.search(r"fptrunc <\d+ x float> .* to <\d+ x half>", ir), "the float16 conversion is not vectorised"
