"""Running a kernel over a large array on several threads.

Kernels are serial loops over ``[start, stop)`` that release the GIL
(``nogil=True``).  Above :data:`PARALLEL_MIN_SIZE` elements, :func:`run`
cuts the range into one contiguous piece per thread and runs the same
compiled kernel on each piece from a thread pool.  There is no second,
``parallel=True`` build of each kernel to compile (that doubled the cold
compile time), results cannot depend on the number of threads (each element
is computed by the same code from the same inputs, stochastic rounding
included: its random bits depend on the element's index alone), and
concurrent callers need no special threading layer.

With ``NUMBA_DISABLE_JIT=1`` (how coverage is measured) the kernels run
as Python on NumPy scalars.  Their unsigned arithmetic wraps by design, as
compiled code does, and NumPy wraps the same way but warns: :func:`run`
silences exactly those overflow warnings for the kernel call, so the
results stay identical to the compiled ones.

Read-only input arrays (a JAX array seen by NumPy, ``np.broadcast_to``,
a memory map opened for reading) reach the kernels as writeable views of the
same memory (:func:`unlocked`): Numba types a read-only array apart and
would compile every path a second time for it -- seconds per path -- while
the kernels only ever read their inputs.

The threshold was measured by ``kernels/bench_quantize.py --threshold``
(see ``kernels/README.md``): below it, handing work to threads costs more
than it saves.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

__all__ = ["PARALLEL_MIN_SIZE", "run", "thread_count", "unlocked"]

#: Smallest array split across threads.
PARALLEL_MIN_SIZE = 1 << 21

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def thread_count() -> int:
    """Threads used for large arrays: Numba's setting (``NUMBA_NUM_THREADS``, default all cores)."""
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


def _forget_pool_in_child() -> None:
    # a forked child inherits the pool object but none of its threads: work handed to
    # it would wait for ever, so the child starts its own pool when it first needs one
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=thread_count(), thread_name_prefix="lowfloat")
        return _pool


class _Unlocked:
    """A read-only array's memory, offered to NumPy as writeable (see :func:`unlocked`)."""

    def __init__(self, array: np.ndarray):
        self.array = array  # keeps the memory alive as long as the view
        interface = dict(array.__array_interface__)
        interface["data"] = (interface["data"][0], False)  # (address, read-only flag)
        self.__array_interface__ = interface


def unlocked(array: np.ndarray) -> np.ndarray:
    """``array`` itself if writeable, else a writeable view of its memory, for a kernel that only reads it.

    Numba compiles a separate specialization of a kernel for read-only
    arrays; passing inputs through this keeps one compiled loop per path.
    Never pass an array a kernel writes to.

    >>> import numpy as np
    >>> x = np.arange(3.0)
    >>> x.flags.writeable = False
    >>> view = unlocked(x)
    >>> view.flags.writeable, np.shares_memory(view, x), view.tolist()
    (True, True, [0.0, 1.0, 2.0])
    """
    if array.flags.writeable:
        return array
    return np.asarray(_Unlocked(array))


def _call(kernel, *args) -> None:
    if numba.config.DISABLE_JIT:
        with np.errstate(over="ignore"):  # wrapping integer arithmetic, as compiled (see the module docstring)
            kernel(*args)
    else:
        kernel(*args)


def run(kernel, size: int, arrays: tuple, constants: tuple = (), min_size: int | None = None) -> None:
    """Call ``kernel(*arrays, start, stop, *constants)`` over ``[0, size)``, split across threads if large.

    ``arrays`` are the kernel's input and output arrays; the kernel takes
    the element range right after them, then its constants.  Read-only ones
    (inputs: outputs are writeable) are passed as writeable views
    (:func:`unlocked`), so they take the same compiled loop.  Arrays of
    ``min_size`` elements or more (default :data:`PARALLEL_MIN_SIZE`) are
    split across threads.
    """
    arrays = tuple(unlocked(array) for array in arrays)
    threads = thread_count()
    if size < (PARALLEL_MIN_SIZE if min_size is None else min_size) or threads < 2:
        _call(kernel, *arrays, 0, size, *constants)
        return
    bounds = [size * k // threads for k in range(threads + 1)]
    pool = _get_pool()
    pieces = zip(bounds[:-1], bounds[1:], strict=True)
    futures = [pool.submit(_call, kernel, *arrays, lo, hi, *constants) for lo, hi in pieces]
    for future in futures:
        future.result()
