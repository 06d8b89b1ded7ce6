"""When kernels run in parallel, and how chunks are cut.

Every array kernel comes as a serial loop and a ``prange`` loop over chunks of
:data:`CHUNK` elements.  The serial one runs below :data:`PARALLEL_MIN_SIZE`
elements: under that, starting threads costs more than it saves (measured by
``kernels/bench_quantize.py``; see ``kernels/README.md``).
"""

import threading

import numba

__all__ = ["CHUNK", "PARALLEL_MIN_SIZE", "run"]

#: Elements per parallel work item: 64 KiB of float32, comfortably in L2.
CHUNK = 1 << 14

#: Smallest array handed to the parallel kernels.
PARALLEL_MIN_SIZE = 1 << 20

# Numba's default "workqueue" threading layer aborts the process when two
# Python threads launch parallel kernels at once; serialise launches there.
_launch_lock = threading.Lock()


def run(serial, parallel, size, *args):
    """Call ``serial(*args)``, or ``parallel(*args)`` for large arrays when threads exist."""
    if size < PARALLEL_MIN_SIZE or numba.config.NUMBA_NUM_THREADS < 2:
        return serial(*args)
    with _launch_lock:
        return parallel(*args)
