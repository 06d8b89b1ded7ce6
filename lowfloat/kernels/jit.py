"""``njit`` for lowfloat's kernels: Numba's, with its on-disk cache where there is somewhere to keep it.

Every kernel asks for ``cache=True``, so that a new process loads compiled
code instead of compiling it again (a few seconds per kernel).  Numba keeps
the cache next to the source, else in a user cache directory, else in
``NUMBA_CACHE_DIR``; where none of these is writable (a read-only install
run by a user without a writable home, as in some containers), Numba's own
decorator raises at import time.  This one then compiles without the disk
cache instead, silently: results are the same, only each process compiles
anew.
"""

from __future__ import annotations

import numba

__all__ = ["njit"]


def njit(**options):
    """``numba.njit(**options)``, falling back to ``cache=False`` if Numba finds nowhere to cache.

    Used as ``@njit(cache=True, nogil=True)``, keyword options only.
    """

    def decorate(func):
        try:
            return numba.njit(**options)(func)
        except RuntimeError as error:  # "cannot cache function ...: no locator available for file ..."
            if not options.get("cache") or "cannot cache" not in str(error):
                raise
            return numba.njit(**{**options, "cache": False})(func)

    return decorate
