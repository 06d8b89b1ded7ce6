"""Wrapping unsigned arithmetic in the operands' own width, inside kernels.

Numba types ``uint32 * uint32`` and ``uint32 >> uint32`` as 64-bit
operations and truncates afterwards.  The result is the same, but LLVM then
vectorises the counter hash of stochastic rounding over 64-bit lanes,
emulating each 32-bit multiply with three 64-bit ones: about 2.5 times
slower than 32-bit lanes (``kernels/bench_quantize.py --stochastic``).  These
functions compile to a single LLVM ``add``, ``mul``, ``shl`` or ``lshr`` in
the operands' width.  With the JIT disabled (``NUMBA_DISABLE_JIT=1``, used for
coverage) they run as Python integer arithmetic reduced modulo ``2**width``,
so NumPy's overflow warnings never fire.
"""

import numpy as np
from numba.core import types
from numba.extending import intrinsic, overload

__all__ = ["wrapping_add", "wrapping_mul", "xor_shift_right", "shift_left", "shift_right"]


def wrapping_add(a, b):
    """``a + b`` modulo ``2**width`` for two unsigned NumPy scalars of one type.

    >>> int(wrapping_add(np.uint32(0xFFFFFFFF), np.uint32(2)))
    1
    """
    kind = type(a)
    return kind((int(a) + int(b)) & int(np.iinfo(kind).max))


def wrapping_mul(a, b):
    """``a * b`` modulo ``2**width`` for two unsigned NumPy scalars of one type.

    >>> int(wrapping_mul(np.uint32(0x80000001), np.uint32(3)))
    2147483651
    """
    kind = type(a)
    return kind((int(a) * int(b)) & int(np.iinfo(kind).max))


def xor_shift_right(a, shift):
    """``a ^ (a >> shift)`` in ``a``'s own unsigned type (``shift`` below the width).

    >>> hex(xor_shift_right(np.uint32(0xF0000000), np.uint32(16)))
    '0xf000f000'
    """
    kind = type(a)
    return kind(int(a) ^ (int(a) >> int(shift)))


def shift_left(a, shift):
    """``a << (shift % width)`` in ``a``'s own unsigned type, the high bits dropped.

    The shift amount is reduced modulo the width, as x86 vector shifts and
    LLVM's defined behaviour need: callers select a separate result where a
    shift of the full width or more is meant.

    >>> hex(shift_left(np.uint32(0x80000001), np.uint32(4)))
    '0x10'
    """
    kind = type(a)
    bits = 8 * np.dtype(kind).itemsize
    return kind((int(a) << (int(shift) % bits)) & int(np.iinfo(kind).max))


def shift_right(a, shift):
    """``a >> (shift % width)`` in ``a``'s own unsigned type (see :func:`shift_left`).

    >>> int(shift_right(np.uint32(0x80000000), np.uint32(31)))
    1
    """
    kind = type(a)
    bits = 8 * np.dtype(kind).itemsize
    return kind(int(a) >> (int(shift) % bits))


def _same_unsigned(a, b):
    return isinstance(a, types.Integer) and not a.signed and a == b


def _masked(builder, a, shift):
    """``shift & (width - 1)`` as an LLVM value of ``a``'s type."""
    return builder.and_(shift, shift.type(a.type.width - 1))


def _compile_as(python_fn, emit):
    """Make ``python_fn(a, b)`` of two unsigned operands of one type compile to ``emit(builder, a, b)``.

    One intrinsic (the LLVM instructions ``emit`` builds, in the operands'
    width) and one overload per function; the Python body stays what runs
    with the JIT disabled.
    """

    @intrinsic
    def native(typingctx, a, b):
        if not _same_unsigned(a, b):
            return None

        def codegen(context, builder, signature, args):
            return emit(builder, *args)

        return a(a, b), codegen

    @overload(python_fn, inline="always")
    def _overload(a, b):
        def impl(a, b):
            return native(a, b)

        return impl


_compile_as(wrapping_add, lambda builder, a, b: builder.add(a, b))
_compile_as(wrapping_mul, lambda builder, a, b: builder.mul(a, b))
_compile_as(xor_shift_right, lambda builder, a, shift: builder.xor(a, builder.lshr(a, shift)))
_compile_as(shift_left, lambda builder, a, shift: builder.shl(a, _masked(builder, a, shift)))
_compile_as(shift_right, lambda builder, a, shift: builder.lshr(a, _masked(builder, a, shift)))
