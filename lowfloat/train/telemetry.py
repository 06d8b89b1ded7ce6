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
range; and the relative error of every matrix product against the exact
product of the same (cast) operands -- what the accumulator cost
(:meth:`Telemetry.matmul`).
:meth:`Telemetry.end_step` hands a step's record to the run's
:class:`~lowfloat.train.History`, which keeps the totals.
"""

from __future__ import annotations

import math
from functools import cache
from typing import NamedTuple

import numpy as np

from ..codec import quantize
from ..formats import get_format
from ..scaling.integer import IntFormat
from .policy import GRADIENT_ROLES

__all__ = ["Telemetry", "StepTelemetry", "COUNTERS", "HISTOGRAM_EXPONENTS", "matmul_error"]

#: Per-role counters of one step (besides ``amax``).
COUNTERS = ("elements", "nonzero", "overflow", "underflow", "subnormal")

#: The histogram's bins: element x falls into bin e when 2**e <= |x| < 2**(e+1); bin -127
#: holds float32's subnormals (below 2**-126).  Infinite and NaN elements are left out.
HISTOGRAM_EXPONENTS = np.arange(-127, 128)


@cache
def _limits(fmt):
    """Largest finite value and smallest normal magnitude; an integer format's step is its smallest normal."""
    if isinstance(fmt, IntFormat):  # integers have no subnormals: every nonzero value is at least one step
        return fmt.max_value, 2.0**fmt.exponent
    return fmt.max, fmt.smallest_normal


def matmul_error(a, b, result) -> float:
    """Relative error of ``result`` against the exact ``a @ b``: ``||result - exact|| / ||exact||`` (Frobenius).

    The exact product is computed in float64, which holds every product of
    two float32 values exactly; its additions err by about 2**-53 relative
    to the sum of magnitudes, far below any accumulator studied here.
    Elements whose exact value is not finite (inf or NaN operands) are left
    out; a NaN result where the exact value is finite counts as an infinite
    error.  0 when every exact element is 0 and the result agrees.

    Examples
    --------
    >>> import numpy as np
    >>> from lowfloat.train.telemetry import matmul_error
    >>> ones = np.ones((1, 4096), np.float32)
    >>> matmul_error(ones, ones.T, np.float32([[256.0]]))  # a bfloat16 accumulator stops at 256
    0.9375
    """
    with np.errstate(invalid="ignore"):  # inf - inf where the exact value is infinite: left out below
        exact = np.asarray(a, np.float64) @ np.asarray(b, np.float64)
        difference = np.asarray(result, np.float64) - exact
    if not np.isfinite(exact).all():
        finite = np.isfinite(exact)
        exact, difference = exact[finite], difference[finite]
    # float64 holds the squares of float32-range values: no overflow before the root
    error = math.sqrt(float(np.vdot(difference, difference)))
    size = math.sqrt(float(np.vdot(exact, exact)))
    if math.isnan(error):
        return math.inf
    if size == 0:
        return 0.0 if error == 0 else math.inf
    return error / size


class StepTelemetry(NamedTuple):
    """What the casts and matrix products of one step did (:meth:`Telemetry.end_step`)."""

    counts: dict  # {role: {counter: value}}, the counters of COUNTERS and "amax"
    histograms: dict  # {role: counts per bin of HISTOGRAM_EXPONENTS}
    accumulator_error: float  # the largest matmul_error of the step's matrix products; NaN: none recorded


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
        self.accumulator_error = math.nan

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

    def count(self, x, q, fmt, *, role, scaled=None) -> None:
        """Count a cast made elsewhere (block or integer scaling) as :meth:`cast` counts its own.

        Parameters
        ----------
        x : ndarray
            The tensor before the cast (its amax is recorded).
        q : ndarray
            The rounded elements, in the element format's own units.
        fmt : Format or IntFormat
            The element format.
        role : str
        scaled : ndarray, optional
            What was rounded: ``x`` times its scale (per block or channel);
            None when ``x`` itself was.

        Examples
        --------
        >>> import numpy as np
        >>> from lowfloat.scaling.integer import INT_FORMATS
        >>> from lowfloat.train.telemetry import Telemetry
        >>> t = Telemetry()
        >>> x = np.float32([0.001, 0.5, 2.0])
        >>> t.count(x, np.float32([0, 32, 127]), INT_FORMATS["int8"], role="weight", scaled=x * np.float32(63.5))
        >>> {k: v for k, v in t.step["weight"].items() if k != "amax"}
        {'elements': 3, 'nonzero': 3, 'overflow': 0, 'underflow': 1, 'subnormal': 0}
        """
        self._count(x, x if scaled is None else scaled, q, fmt, role)

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

    def matmul(self, a, b, result) -> None:
        """Count the relative error of ``result``, a matrix product of ``a`` and ``b`` (:func:`matmul_error`)."""
        error = matmul_error(a, b, result)
        worst = self.accumulator_error
        self.accumulator_error = error if not error <= worst else worst  # NaN before the step's first product

    def end_step(self) -> StepTelemetry:
        """The step's counters, histograms and worst accumulator error; then all reset."""
        record = StepTelemetry(self.step, self.histograms, self.accumulator_error)
        self.step, self.histograms, self.accumulator_error = {}, self._empty_histograms(), math.nan
        return record
