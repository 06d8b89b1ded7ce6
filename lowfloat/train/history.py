"""The record of a training run: per-step telemetry, per-epoch accuracy, a summary; CSV, JSON, plots."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np

from ..formats import get_format
from .policy import GRADIENT_ROLES
from .telemetry import COUNTERS, HISTOGRAM_EXPONENTS

__all__ = ["History"]


def _clean(value):
    """JSON has no inf or NaN: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fraction(counts, name, of="elements"):
    return counts[name] / counts[of] if counts[of] else 0.0


class History:
    """What a run did, step by step.

    Attributes
    ----------
    name : str
    config : dict
        The run's configuration (plain values).
    steps : list of dict
        One row per step: ``step``, ``epoch``, ``loss``, ``loss_scale``,
        ``skipped`` (0/1), ``lost_updates`` (share of nonzero weight
        increments that rounded away), ``accumulator.error`` (the largest
        relative error of one of the step's matrix products against the
        exact product of its operands), and per tensor role
        ``<role>.overflow``, ``<role>.subnormal`` (shares of its elements),
        ``<role>.underflow`` (share of its nonzero elements) and ``<role>.amax``.
    epochs : list of dict
        One row per epoch: ``epoch``, ``step``, ``train_loss``, ``test_accuracy``.
    totals : dict
        Per role, the run's counters (see :mod:`lowfloat.train.telemetry`).
    histograms : dict
        Per gradient role, counts of ``log2 |x|`` over the run in the bins
        :data:`lowfloat.train.telemetry.HISTOGRAM_EXPONENTS` (values as cast,
        loss scale included).
    formats : dict
        Per role, the format's name.
    interrupted : bool
        The run was stopped before its last step.
    seconds : float
        Wall time of the run.
    model : MLP or None
        The trained model.

    The trainer adds to a history only through :meth:`add_step`,
    :meth:`add_epoch` and :meth:`finish`.
    """

    def __init__(self, name, config, formats, *, model=None):
        self.name = name
        self.config = config
        self.formats = formats
        self.model = model
        self.steps: list[dict] = []
        self.epochs: list[dict] = []
        self.totals: dict = {}
        self.histograms = {role: np.zeros(HISTOGRAM_EXPONENTS.size, np.int64) for role in GRADIENT_ROLES}
        self.updates_lost = 0  # nonzero weight increments that rounded away
        self.updates_made = 0  # nonzero weight increments
        self.seconds = 0.0
        self.interrupted = False

    # ------------------------------------------------------------ recording
    def add_step(self, *, epoch, loss, loss_scale, skipped, lost, changed, telemetry) -> None:
        """Record the next step.

        Parameters
        ----------
        epoch : int
        loss : float
            The step's (unscaled) loss.
        loss_scale : float
            The loss scale the step used.
        skipped : bool
            The optimizer step was skipped (inf/NaN gradients).
        lost, changed : int
            Nonzero weight increments that rounded away, and all nonzero ones.
        telemetry : StepTelemetry
            The step's cast counters, gradient histograms and accumulator
            error (:meth:`lowfloat.train.telemetry.Telemetry.end_step`).
        """
        counts = telemetry.counts
        row = {"step": len(self.steps), "epoch": epoch, "loss": loss, "loss_scale": loss_scale,
               "skipped": int(skipped), "lost_updates": lost / changed if changed else 0.0,
               "accumulator.error": telemetry.accumulator_error}  # fmt: skip
        for role, c in counts.items():
            row[f"{role}.overflow"] = _fraction(c, "overflow")
            row[f"{role}.underflow"] = _fraction(c, "underflow", of="nonzero")
            row[f"{role}.subnormal"] = _fraction(c, "subnormal")
            row[f"{role}.amax"] = c["amax"]
        self.steps.append(row)
        self.updates_lost += lost
        self.updates_made += changed
        for role, c in counts.items():
            total = self.totals.setdefault(role, dict.fromkeys(COUNTERS, 0) | {"amax": 0.0})
            for name in COUNTERS:
                total[name] += c[name]
            total["amax"] = max(total["amax"], c["amax"]) if np.isfinite(c["amax"]) else total["amax"]
        for role, counts_of_role in telemetry.histograms.items():
            self.histograms[role] += counts_of_role

    def add_epoch(self, test_accuracy: float) -> None:
        """Record the end of the next epoch: its mean training loss and the test accuracy after it."""
        epoch = len(self.epochs)
        losses = [row["loss"] for row in self.steps if row["epoch"] == epoch]
        self.epochs.append({"epoch": epoch, "step": len(self.steps) - 1, "train_loss": float(np.mean(losses)),
                            "test_accuracy": test_accuracy})  # fmt: skip

    def finish(self, seconds: float, *, interrupted: bool = False) -> None:
        """Record the run's wall time, and whether it was stopped early."""
        self.seconds = seconds
        self.interrupted = interrupted

    # ------------------------------------------------------------ summary
    @property
    def test_accuracy(self) -> float:
        """Test accuracy after the last epoch (0 to 1); NaN before any epoch ended."""
        return self.epochs[-1]["test_accuracy"] if self.epochs else math.nan

    @property
    def skipped_steps(self) -> int:
        return int(sum(row["skipped"] for row in self.steps))

    @property
    def flushed_grad_fraction(self) -> float:
        """Over the run: gradient elements (activation and weight gradients) that casts flushed to zero,
        as a share of the nonzero ones."""
        flushed = sum(self.totals.get(role, {}).get("underflow", 0) for role in GRADIENT_ROLES)
        nonzero = sum(self.totals.get(role, {}).get("nonzero", 0) for role in GRADIENT_ROLES)
        return flushed / nonzero if nonzero else 0.0

    @property
    def lost_update_fraction(self) -> float:
        """Over the run: nonzero weight increments that rounded away in the master weights."""
        return self.updates_lost / self.updates_made if self.updates_made else 0.0

    @property
    def accumulator_error(self) -> float:
        """Over the run: the mean of each step's largest relative matmul error (NaN before any step)."""
        errors = [row["accumulator.error"] for row in self.steps if not math.isnan(row["accumulator.error"])]
        return float(np.mean(errors)) if errors else math.nan

    @property
    def diverged_at_step(self):
        """The step from which the loss stayed NaN or infinite to the end of the run; None if it did not.

        Steps skipped by a loss scaler (a transient overflow) do not count as
        divergence as long as a later step has a finite loss again.
        """
        step = None
        for row in reversed(self.steps):
            if math.isfinite(row["loss"]):
                break
            step = row["step"]
        return step

    def summary(self) -> dict:
        """One row: the run's name and outcome."""
        scales = [row["loss_scale"] for row in self.steps]
        return {
            "name": self.name,
            "policy": self.config.get("policy"),
            "scaler": self.config.get("scaler"),
            "tensor_scaling": self.config.get("tensor_scaling"),
            "test_accuracy": self.test_accuracy,
            "flushed_grad_fraction": self.flushed_grad_fraction,
            "skipped_steps": self.skipped_steps,
            "lost_update_fraction": self.lost_update_fraction,
            "accumulator_error": self.accumulator_error,
            "final_loss": self.steps[-1]["loss"] if self.steps else math.nan,
            "min_loss_scale": min(scales) if scales else math.nan,
            "final_loss_scale": scales[-1] if scales else math.nan,
            "steps": len(self.steps),
            "seconds": self.seconds,
            "interrupted": self.interrupted,
            "diverged_at_step": self.diverged_at_step,
        }

    # ------------------------------------------------------------ export
    def to_dict(self) -> dict:
        """Everything, as JSON-ready plain values (inf and NaN become None)."""
        return {
            "summary": {k: _clean(v) for k, v in self.summary().items()},
            "config": self.config,
            "formats": self.formats,
            "epochs": [{k: _clean(v) for k, v in row.items()} for row in self.epochs],
            "steps": [{k: _clean(v) for k, v in row.items()} for row in self.steps],
            "totals": self.totals,
            "histogram_exponents": [int(HISTOGRAM_EXPONENTS[0]), int(HISTOGRAM_EXPONENTS[-1])],
            "histograms": {role: counts.tolist() for role, counts in self.histograms.items()},
        }

    def to_json(self, path=None) -> str:
        """The :meth:`to_dict` record as JSON text; written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            with open(path, "w") as f:
                f.write(text)
        return text

    def to_csv(self, path=None) -> str:
        """The per-step table as CSV text (epoch rows' test accuracy on the epoch's last step)."""
        accuracy = {row["step"]: row["test_accuracy"] for row in self.epochs}
        rows = [dict(row, test_accuracy=accuracy.get(row["step"], "")) for row in self.steps]
        columns = list(rows[0]) if rows else ["step"]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        if path is not None:
            with open(path, "w", newline="") as f:
                f.write(buffer.getvalue())
        return buffer.getvalue()

    # ------------------------------------------------------------ plots
    def plot(self, path=None, *, axes=None):
        """Loss and accuracy, loss scale, underflow, and the gradient histogram against the format's range.

        Needs matplotlib (the ``train`` extra).  Returns the figure; saves it to ``path`` if given.
        """
        import matplotlib.pyplot as plt

        if axes is None:
            fig, axes = plt.subplots(2, 2, figsize=(10, 7), layout="constrained")
            axes = axes.ravel()
        else:
            fig = axes[0].figure
        plot_runs([self], axes=axes)
        if path is not None:
            fig.savefig(path, dpi=110)
        return fig

    def __repr__(self):
        s = self.summary()
        return (f"History({self.name!r}: {s['steps']} steps, test accuracy {s['test_accuracy']:.4f}, "
                f"flushed {s['flushed_grad_fraction']:.2%}, skipped {s['skipped_steps']})")  # fmt: skip


def plot_runs(histories, *, axes=None, path=None):
    """Four panels comparing runs: loss and test accuracy, loss scale, gradient underflow, gradient histogram.

    The histogram panel shows the activation gradients of every run as they
    reached the cast, with the first run's format range marked (smallest
    subnormal, smallest normal, largest value).  Needs matplotlib.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), layout="constrained")
        axes = axes.ravel()
    else:
        fig = axes[0].figure
    loss_ax, scale_ax, under_ax, hist_ax = axes
    acc_ax = loss_ax.twinx()
    for h in histories:
        steps = [row["step"] for row in h.steps]
        (line,) = loss_ax.plot(steps, [row["loss"] for row in h.steps], lw=0.8, label=h.name)
        acc_ax.plot([row["step"] for row in h.epochs], [row["test_accuracy"] for row in h.epochs], "o--",
                    color=line.get_color(), ms=3)  # fmt: skip
        scale_ax.plot(steps, [row["loss_scale"] for row in h.steps], color=line.get_color(), label=h.name)
        under_ax.plot(steps, [row.get("activation_grad.underflow", 0.0) for row in h.steps],
                      color=line.get_color(), lw=0.8, label=h.name)  # fmt: skip
        counts = h.histograms.get("activation_grad")
        if counts is not None and counts.sum():
            hist_ax.stairs(counts / counts.sum(), np.append(HISTOGRAM_EXPONENTS, HISTOGRAM_EXPONENTS[-1] + 1),
                           color=line.get_color(), label=h.name)  # fmt: skip
    loss_ax.set(xlabel="step", ylabel="loss (solid)", yscale="log", title="training loss; test accuracy (dashed)")
    acc_ax.set(ylabel="test accuracy", ylim=(0, 1))
    loss_ax.legend(fontsize=7)
    scale_ax.set(xlabel="step", ylabel="loss scale", yscale="log", title="loss scale")
    under_ax.set(xlabel="step", ylabel="share flushed to zero", title="activation-gradient underflow", ylim=(-0.02, 1))
    low, high = -50, 20
    names = [h.formats["activation_grad"] for h in histories]
    if names:
        # mark the range of the first low-precision format among the runs
        fmt = get_format(next((name for name in names if name != "float32"), names[0]))
        for value, label in ((fmt.smallest_subnormal, "smallest subnormal"), (fmt.smallest_normal, "smallest normal"),
                             (fmt.max, "max")):  # fmt: skip
            if low < math.log2(value) < high:
                hist_ax.axvline(math.log2(value), color="k", ls=":", lw=1)
                hist_ax.text(math.log2(value), 1.0, f" {label}", rotation=90, va="top", fontsize=7,
                             transform=hist_ax.get_xaxis_transform())  # fmt: skip
        hist_ax.set(title=f"activation gradients as cast, against {fmt.name}")
    hist_ax.set(xlabel="log2 |gradient|", ylabel="share of elements", xlim=(low, high))
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
