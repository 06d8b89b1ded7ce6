"""What the casts of an emulated model did, step by step, per layer and role.

The counting is :mod:`lowfloat.train`'s own (:class:`lowfloat.train.telemetry.Telemetry`,
one per layer), so a cast of an emulated PyTorch model and the same cast in
the NumPy trainer give the same numbers:

``elements``   elements cast
``nonzero``    elements that were nonzero before the cast
``overflow``   elements beyond the format's largest value (after scaling), or not finite:
               saturated, or overflowed to inf or NaN
``underflow``  nonzero elements the cast flushed to zero
``subnormal``  elements subnormal in the format after the cast
``amax``       the largest magnitude before the cast (unscaled)

and, for each tensor under per-tensor scaling, the quantizing multiplier the
cast used (Transformer Engine's ``scale``) -- the scale history.  A step ends
when the next one begins (see :func:`lowfloat.torch.emulate`);
:attr:`CastTelemetry.steps` holds the finished ones, :meth:`CastTelemetry.last`
the most recent, finished or not.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..train.policy import GRADIENT_ROLES
from ..train.telemetry import COUNTERS, HISTOGRAM_EXPONENTS, Telemetry

__all__ = ["CastTelemetry", "StepCasts", "SHARES"]

#: The shares :meth:`CastTelemetry.series` and :meth:`CastTelemetry.table` report, and what each is a share of.
SHARES = {"overflow": "elements", "underflow": "nonzero", "subnormal": "elements"}


class StepCasts(NamedTuple):
    """The casts of one step."""

    counts: dict  # {layer: {role: {counter: value}}}, the counters of COUNTERS and "amax"
    scales: dict  # {(layer, tensor): quantizing multiplier used}, tensors under per-tensor scaling


def _share(counts: dict, counter: str) -> float:
    whole = counts[SHARES[counter]]
    return counts[counter] / whole if whole else 0.0


class CastTelemetry:
    """The counters of every cast of an emulated model, per step, layer and role.

    Read it after a step: ``lowfloat.torch.telemetry(model)``.

    Attributes
    ----------
    steps : list of StepCasts
        The finished steps.
    histograms : dict
        Per gradient role, over the run and every layer: counts of the
        exponents of the elements as cast, in the bins
        :data:`lowfloat.train.telemetry.HISTOGRAM_EXPONENTS`.

    Examples
    --------
    >>> import torch
    >>> from lowfloat.torch.telemetry import CastTelemetry
    >>> from lowfloat.torch.fakequant import Cast, fake_quantize
    >>> t = CastTelemetry()
    >>> _ = fake_quantize(torch.tensor([1e-9, 0.5, 1e5]), Cast("fp16"), counter=t.counter("fc1"), role="activation")
    >>> t.end_step()
    >>> print(t.table())
    layer  role        elements  flushed  overflow   amax  scale
    fc1    activation         3    33.3%     33.3%  1e+05
    """

    def __init__(self):
        self.steps: list[StepCasts] = []
        self.histograms = {role: np.zeros(HISTOGRAM_EXPONENTS.size, np.int64) for role in GRADIENT_ROLES}
        self._layers: dict[str, Telemetry] = {}
        self._scales: dict = {}

    # ------------------------------------------------------------ recording
    def counter(self, layer: str) -> Telemetry:
        """The trainer's counter of ``layer`` for the step in progress (created on first use)."""
        counter = self._layers.get(layer)
        if counter is None:
            counter = self._layers[layer] = Telemetry()
        return counter

    def note_scale(self, layer: str, tensor: str, quant_scale: float) -> None:
        """Record the quantizing multiplier a per-tensor-scaled cast of ``(layer, tensor)`` used this step."""
        self._scales[(layer, tensor)] = float(quant_scale)

    @property
    def pending(self) -> bool:
        """Whether anything was counted since the last :meth:`end_step`."""
        return bool(self._scales) or any(counter.step for counter in self._layers.values())

    def _current(self) -> StepCasts:
        counts = {layer: {role: dict(c) for role, c in counter.step.items()} for layer, counter in self._layers.items()}
        return StepCasts({layer: c for layer, c in counts.items() if c}, dict(self._scales))

    def end_step(self) -> None:
        """Close the step in progress: append it to :attr:`steps` and start a new one."""
        record = self._current()
        for counter in self._layers.values():
            for role, counts in counter.end_step().histograms.items():
                self.histograms[role] += counts
        self._scales = {}
        self.steps.append(record)

    # ------------------------------------------------------------ reading
    def last(self) -> StepCasts | None:
        """The most recent step: the one in progress if anything was counted in it, else the last finished one."""
        if self.pending:
            return self._current()
        return self.steps[-1] if self.steps else None

    def layers(self) -> list:
        """Every layer counted so far, in the order first seen."""
        seen = dict.fromkeys(layer for step in self.steps for layer in step.counts)
        seen.update(dict.fromkeys(self._layers))
        return list(seen)

    def series(self, counter: str, *, role=None, layer=None, by_layer: bool = True) -> dict:
        """One value per finished step for each ``(layer, role)``, or each ``(layer, tensor)`` for ``"scale"``.

        Parameters
        ----------
        counter : {"underflow", "overflow", "subnormal", "amax", "scale"}
            The shares of :data:`SHARES` (flushed share of the nonzero
            elements; overflowed and subnormal shares of all), the amax, or
            the quantizing multiplier of per-tensor scaling.
        role, layer : str, optional
            Only this role (tensor, for ``"scale"``) or layer.
        by_layer : bool
            False: one series per role, the counts of every layer added
            together (amax: the largest); keys ``("", role)``.

        Returns
        -------
        dict
            ``{(layer, role): ndarray of float64}``, NaN where a step did not cast it.
        """
        if counter not in (*SHARES, "amax", "scale"):
            raise ValueError(f"counter must be one of {', '.join((*SHARES, 'amax', 'scale'))}, got {counter!r}")
        if counter == "scale":
            keys = dict.fromkeys(key for step in self.steps for key in step.scales)
            keys = [k for k in keys if (layer is None or k[0] == layer) and (role is None or k[1] == role)]
            return {key: np.array([step.scales.get(key, math.nan) for step in self.steps]) for key in keys}
        per_step = [self._step_counts(step, layer, by_layer) for step in self.steps]
        keys = [k for k in dict.fromkeys(k for counts in per_step for k in counts) if role is None or k[1] == role]
        result = {}
        for key in keys:
            values = np.full(len(self.steps), math.nan)
            for i, counts in enumerate(per_step):
                if key in counts:
                    values[i] = counts[key]["amax"] if counter == "amax" else _share(counts[key], counter)
            result[key] = values
        return result

    @staticmethod
    def _step_counts(step: StepCasts, layer, by_layer: bool) -> dict:
        """``{(layer, role): counts}`` of a step, or ``{("", role): counts summed over layers}``."""
        result: dict = {}
        for lay, roles in step.counts.items():
            if layer is not None and lay != layer:
                continue
            for role, counts in roles.items():
                if by_layer:
                    result[(lay, role)] = counts
                    continue
                total = result.setdefault(("", role), dict.fromkeys(COUNTERS, 0) | {"amax": 0.0})
                for name in COUNTERS:
                    total[name] += counts[name]
                if math.isfinite(counts["amax"]):
                    total["amax"] = max(total["amax"], counts["amax"])
        return result

    def totals(self, *, layer=None) -> dict:
        """Per role, the counters summed over every finished step and layer (or one ``layer``); amax the largest."""
        totals: dict = {}
        for step in self.steps:
            for (_, role), counts in self._step_counts(step, layer, by_layer=False).items():
                total = totals.setdefault(role, dict.fromkeys(COUNTERS, 0) | {"amax": 0.0})
                for name in COUNTERS:
                    total[name] += counts[name]
                total["amax"] = max(total["amax"], counts["amax"])
        return totals

    @property
    def flushed_grad_fraction(self) -> float:
        """Over the finished steps: gradient elements flushed to zero, as a share of the nonzero ones.

        The same measure as :attr:`lowfloat.train.History.flushed_grad_fraction`.
        """
        totals = self.totals()
        flushed = sum(totals.get(role, {}).get("underflow", 0) for role in GRADIENT_ROLES)
        nonzero = sum(totals.get(role, {}).get("nonzero", 0) for role in GRADIENT_ROLES)
        return flushed / nonzero if nonzero else 0.0

    @property
    def overflow_fraction(self) -> float:
        """Over the finished steps: elements of every role that overflowed or saturated, as a share of all."""
        totals = self.totals()
        elements = sum(t["elements"] for t in totals.values())
        return sum(t["overflow"] for t in totals.values()) / elements if elements else 0.0

    def table(self, step: int = -1) -> str:
        """A step's casts, one row per layer and role: elements, flushed and overflowed shares, amax, scale.

        ``step`` indexes the finished steps; the scale column shows the
        quantizing multiplier of a per-tensor-scaled cast (the first tensor
        of the role, e.g. the weight rather than the bias).
        """
        if not self.steps:
            return "no finished step"
        record = self.steps[step]
        roles_of = {"weight": ("W", "b"), "activation": ("x",), "activation_grad": ("dy",)}
        rows = [("layer", "role", "elements", "flushed", "overflow", "amax", "scale")]
        for layer, roles in record.counts.items():
            for role, c in roles.items():
                scale = next((record.scales[(layer, t)] for t in roles_of.get(role, ()) if (layer, t) in record.scales),
                             None)  # fmt: skip
                rows.append((layer, role, str(c["elements"]), f"{100 * _share(c, 'underflow'):.1f}%",
                             f"{100 * _share(c, 'overflow'):.1f}%", f"{c['amax']:.4g}",
                             "" if scale is None else f"{scale:.4g}"))  # fmt: skip
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = []
        for row in rows:  # names left-aligned, numbers right-aligned
            pairs = enumerate(zip(row, widths, strict=True))
            cells = [cell.ljust(width) if i < 2 else cell.rjust(width) for i, (cell, width) in pairs]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)
