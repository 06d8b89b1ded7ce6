"""Reinterpret a float's bits as an unsigned integer and back, inside kernels.

Numba has no scalar ``view``; this module gives one that compiles to a single
LLVM ``bitcast`` and still runs as plain NumPy when the JIT is disabled
(``NUMBA_DISABLE_JIT=1``, used to measure coverage).
"""

import numpy as np
from numba.core import types
from numba.extending import intrinsic, overload

__all__ = ["bitcast"]


def bitcast(value, target):
    """Reinterpret the bits of a NumPy scalar as ``target`` (a NumPy scalar type of the same width).

    >>> hex(bitcast(np.float32(1.5), np.uint32))
    '0x3fc00000'
    """
    return np.asarray(value).view(target)[()]


@intrinsic
def _bitcast(typingctx, value, target):
    to = target.instance_type
    if not isinstance(value, types.Number) or value.bitwidth != to.bitwidth:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(to))

    return to(value, target), codegen


@overload(bitcast, inline="always")
def _bitcast_overload(value, target):
    def impl(value, target):
        return _bitcast(value, target)

    return impl
