"""64-bit integers to float64 with round-to-odd, so that rounding again is exact.

Converting an int64 to float64 rounds to 53 bits; rounding that to a format
of p bits can then go wrong (double rounding).  Rounding to odd instead --
truncate, and set the last bit if anything was dropped -- keeps the
information that the value was not a tie, and a second rounding to any
p <= 51 bits then equals rounding the integer directly (Boldo & Melquiond,
"Emulation of FMA and correctly rounded sums: proved algorithms using
rounding to odd", IEEE TC 2008).
"""

import numpy as np

from .jit import njit

#: Rounding a value rounded to odd in float64 once more is exact into formats of up to this
#: many significand bits: 53 - 2 (round to odd needs two bits beyond the target's).
ODD_PRECISION = 51


@njit(cache=True, nogil=True)
def widen_to_odd(src, out):
    """``out[i] = src[i]`` rounded to odd in float64; ``src`` is int64 or uint64."""
    two53 = np.uint64(1) << np.uint64(53)
    for i in range(src.size):
        v = src[i]
        negative = v < 0
        # |v| as uint64 (-(-2**63) does not fit int64 but does fit uint64), as ~v + 1, which
        # never wraps: NumPy scalars would warn where compiled code wraps (NUMBA_DISABLE_JIT)
        a = np.uint64(np.uint64(~np.uint64(v)) + np.uint64(1)) if negative else np.uint64(v)
        # 1) drop low bits until 53 remain
        shift = np.uint64(0)
        while (a >> shift) >= two53:
            shift += np.uint64(1)
        kept = a >> shift
        # 2) round to odd: a nonzero remainder sets the last kept bit
        if a & ((np.uint64(1) << shift) - np.uint64(1)) != np.uint64(0):
            kept |= np.uint64(1)
        value = np.float64(kept) * np.float64(np.uint64(1) << shift)
        out[i] = -value if negative else value
