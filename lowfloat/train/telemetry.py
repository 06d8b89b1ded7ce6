"""Casts that count what they do to a tensor: overflow, underflow, subnormals, amax.

Every cast of a training step goes through :meth:`Telemetry.cast`, which
rounds with :func:`lowfloat.quantize` and counts, per tensor role:

``overflow``   elements beyond the format's largest finite value, or not
               finite after the cast (to inf, to NaN, or saturated to +-max)
``underflow``  elements that were nonzero before the cast and are zero after
``subnormal``  elements that are subnormal in the format after the cast
``amax``       the largest magnitude before the cast (unscaled)

plus a histogram of ``log2 |x|`` (the exponent of every finite nonzero
element, as cast), so gradient magnitudes can be drawn against the format's
range.  :meth:`Telemetry.end_step` hands a step's counts to the run's
:class:`~lowfloat.train.History`, which keeps the totals.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ..codec import quantize
from ..formats import get_format
from .policy import GRADIENT_ROLES

__all__ = ["Telemetry", "COUNTERS", "HISTOGRAM_EXPONENTS"]

#: Per-role counters of one step (besides ``amax``).
COUNTERS = ("elements", "nonzero", "overflow", "underflow", "subnormal")

#: The histogram's bins: element x falls into bin e when 2**e <= |x| < 2**(e+1); bin -127
#: holds float32's subnormals (below 2**-126).  Infinite and NaN elements are left out.
HISTOGRAM_EXPONENTS = np.arange(-127, 128)


@cache
def _limits(fmt):
    return fmt.max, fmt.smallest_normal


class Telemetry:
    """Counts of the casts of one step, per role.

    Parameters
    ----------
    histogram_roles : iterable of str
        Roles whose magnitudes are histogrammed (default the two gradient roles).

    Examples
    --------
    >>> import numpy as np
    >>> from lowfloat.train.telemetry import Telemetry
    >>> t = Telemetry()
    >>> q = t.cast(np.float32([1e-9, 1e-6, 1.0, 1e5]), "float16", role="activation_grad")
    >>> q.tolist()
    [0.0, 1.0132789611816406e-06, 1.0, inf]
    >>> {k: v for k, v in t.step["activation_grad"].items() if k != "amax"}
    {'elements': 4, 'nonzero': 4, 'overflow': 1, 'underflow': 1, 'subnormal': 1}
    """

    def __init__(self, histogram_roles=GRADIENT_ROLES):
        self.histogram_roles = tuple(histogram_roles)
        self.step: dict[str, dict] = {}
        self.histograms = self._empty_histograms()

    def _empty_histograms(self) -> dict:
        return {role: np.zeros(HISTOGRAM_EXPONENTS.size, np.int64) for role in self.histogram_roles}

    def cast(self, x, fmt, *, role, scale=None, overflow=None, rounding="nearest_even", rng=None, record=True):
        """Round ``x * scale`` into ``fmt`` and return the result divided by ``scale`` (float32).

        Parameters
        ----------
        x : ndarray
            float32 tensor.
        fmt : Format or str
        role : str
            The counters to add to.
        scale : float, optional
            Per-tensor scale (FP8 scaling); None for 1.
        overflow, rounding, rng
            As for :func:`lowfloat.quantize`.
        record : bool
            False: cast without counting (evaluation).
        """
        fmt = get_format(fmt)
        scaled = x if scale is None or scale == 1.0 else x * np.float32(scale)
        if fmt.name == "float32" and rounding == "nearest_even" and scaled.dtype == np.float32:
            q = scaled  # quantize is the identity here: skip the call
        else:
            q = quantize(scaled, fmt, rounding=rounding, overflow=overflow, rng=rng)
        if record:
            self._count(x, scaled, q, fmt, role)
        if scale is not None and scale != 1.0:
            q = q * np.float32(1.0 / np.float64(scale))  # dequantize as Transformer Engine: times float32(1/scale)
        return q

    def _count(self, x, scaled, q, fmt, role):
        fmax, tiny = _limits(fmt)
        n = x.size
        magnitude = np.abs(scaled)
        after = magnitude if q is scaled else np.abs(q)
        # Counting with comparisons that are False for NaN: one pass each.
        nonzero = int(np.count_nonzero(magnitude))  # NaN counts as nonzero
        nonzero_after = int(np.count_nonzero(after))
        counts = self.step.get(role)
        if counts is None:
            counts = self.step[role] = dict.fromkeys(COUNTERS, 0) | {"amax": 0.0}
        counts["elements"] += n
        counts["nonzero"] += nonzero
        # beyond max, inf or NaN before the cast: a value within range cannot round past max
        counts["overflow"] += n - int(np.count_nonzero(magnitude <= fmax))
        # zeros stay zeros, so every other zero after the cast was flushed by it
        counts["underflow"] += nonzero - nonzero_after
        counts["subnormal"] += int(np.count_nonzero(after < tiny)) - (n - nonzero_after)
        if n:
            amax = float(magnitude.max() if scaled is x else np.abs(x).max())
            counts["amax"] = amax if not amax <= counts["amax"] else counts["amax"]
        if role in self.histograms and magnitude.dtype == np.float32:
            # the exponent field of float32 is the histogram bin; field 0 (zeros, subnormals) is bin -127
            fields = np.bincount((magnitude.view(np.uint32) >> np.uint32(23)).ravel(), minlength=256)
            fields[0] -= n - nonzero
            self.histograms[role] += fields[:255]

    def end_step(self) -> tuple[dict, dict]:
        """The step's counters ``{role: {counter: value}}`` and histograms ``{role: counts}``; then both reset."""
        counts, self.step = self.step, {}
        histograms, self.histograms = self.histograms, self._empty_histograms()
        return counts, histograms
