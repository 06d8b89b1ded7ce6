"""A format's grid around many numbers at once: neighbours and ties, exactly, in float64.

:func:`lowfloat.reference.neighbours` answers for one number with Python
fractions; :func:`grid_neighbours` answers for whole arrays with NumPy, and
gives the same values: every step is exact in float64 (see the comments), so
there is nothing to round.  The grid is the reference's: it continues past
``max`` with the top binade's spacing, and below the smallest value of a
format without zero (E8M0) the lower neighbour is 0.

Examples
--------
>>> import numpy as np
>>> from lowfloat.testing.grid import grid_neighbours
>>> lo, hi, tie = grid_neighbours(np.array([0.1, 464.0, -1.0625]), "e4m3")
>>> lo.tolist(), hi.tolist(), tie.tolist()
([0.09375, 448.0, 1.0], [0.1015625, 480.0, 1.125], [False, True, True])
"""

from __future__ import annotations

import numpy as np

from ..formats import get_format

__all__ = ["grid_neighbours", "next_below_max"]


def grid_neighbours(x, fmt) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid values ``lo <= |x| < hi`` around each finite ``|x|``, and whether ``|x|`` is their midpoint.

    Parameters
    ----------
    x : array_like of float
        Finite numbers (float16, float32 or float64; converted exactly to float64).
    fmt : Format or str

    Returns
    -------
    lo, hi : ndarray of float64
        Consecutive grid magnitudes with ``lo <= |x| < hi`` (``lo == |x|`` on the grid).
    tie : ndarray of bool
        ``|x| == (lo + hi) / 2`` exactly.
    """
    fmt = get_format(fmt)
    magnitude = np.abs(np.asarray(x, dtype=np.float64))
    # 1) floor(log2|x|) from frexp (|x| = f * 2**k, f in [0.5, 1)): exact, no logarithm
    _, k = np.frexp(magnitude)
    exponent = np.where(magnitude == 0, fmt.emin, k.astype(np.int64) - 1)
    # 2) the exponent of the last significand bit, clamped at the subnormal spacing
    quantum_exponent = np.maximum(exponent, fmt.emin) - fmt.man_bits
    # 3) |x| in units of that bit: a power-of-two scaling, exact; t < 2**(man_bits + 1)
    t = np.ldexp(magnitude, -quantum_exponent)
    steps = np.floor(t)
    # t - floor(t) is exact (Sterbenz for floor(t) >= 1, and t itself below 1)
    tie = (t - steps) == 0.5
    lo = np.ldexp(steps, quantum_exponent)
    with np.errstate(over="ignore"):  # only past float64's own range, far above every format's max
        hi = np.ldexp(steps + 1, quantum_exponent)
    return lo, hi, tie


def next_below_max(fmt) -> float:
    """The largest finite value below ``max`` (0 for a format whose only positive value is ``max``).

    >>> next_below_max("e4m3"), next_below_max("e8m0")
    (416.0, 8.507059173023462e+37)
    """
    from ..codec import decode

    fmt = get_format(fmt)
    if fmt.max_code_magnitude == 0:
        return 0.0
    return float(decode(fmt.max_code_magnitude - 1, fmt, dtype=np.float64))
