"""Flush-to-zero and denormals-are-zero on this thread, as some libraries set them (x86-64 only).

The kernels must give the same bits when a library has set the SSE control
register's FTZ and DAZ flags for the thread that runs them.  These helpers set
and restore the register (MXCSR) through LLVM's ``ldmxcsr``/``stmxcsr``
intrinsics; the flags are per thread, so a kernel must run on the calling
thread to see them.
"""

from __future__ import annotations

import contextlib
import platform

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

FTZ = 1 << 15  # MXCSR bit 15: results that would be subnormal are zero
DAZ = 1 << 6  # MXCSR bit 6: subnormal operands count as zero

X86_64 = platform.machine().lower() in ("x86_64", "amd64")


def _mxcsr_call(builder, name, slot):
    void_ptr = ir.IntType(8).as_pointer()
    function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [void_ptr]), name)
    builder.call(function, [builder.bitcast(slot, void_ptr)])


@intrinsic
def _load_mxcsr(typingctx, value):
    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        builder.store(args[0], slot)
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()

    return types.none(types.uint32), codegen


@intrinsic
def _store_mxcsr(typingctx):
    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
        return builder.load(slot)

    return types.uint32(), codegen


@njit
def get_mxcsr():
    """The calling thread's MXCSR."""
    return _store_mxcsr()


@njit
def set_mxcsr(value):
    """Set the calling thread's MXCSR."""
    _load_mxcsr(value)


@contextlib.contextmanager
def flushing_subnormals():
    """FTZ and DAZ on for the calling thread inside the block; the register restored after."""
    saved = get_mxcsr()
    set_mxcsr(saved | FTZ | DAZ)
    try:
        yield
    finally:
        set_mxcsr(saved)
