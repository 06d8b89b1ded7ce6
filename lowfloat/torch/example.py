"""Your own model: a small CNN on the handwritten digits, trained eight ways through :func:`lowfloat.torch.emulate`.

The runs train the same convolutional network from the same seed on the
same minibatches (SGD with momentum) and differ only in the recipe
:func:`~lowfloat.torch.emulate` applies to it:

================  ==========================================================
``fp32``          the reference (the ``fp32`` preset: nothing is cast)
``fp16-noscale``  float16 weights, activations and gradients, float32 master weights
``fp16-dynamic``  the same with ``torch.amp.GradScaler("cpu")``, unchanged
``fp8-noscale``   E4M3 forward, E5M2 gradients (HYBRID), no scaling
``fp8-delayed``   the same with Transformer Engine's delayed per-tensor scaling
``mxfp8``         MXFP8 (E4M3, a power-of-two scale per 32 elements) throughout
``mxfp4``         MXFP4 (E2M1, a power-of-two scale per 32 elements) throughout
``int8-ptq``      no training: the trained ``fp32`` model with INT8 weights (a scale
                  per output channel) and activations (a scale per tensor)
================  ==========================================================

**Loss attenuation.**  As in ``lowfloat demo`` (:mod:`lowfloat.train.demo`),
a small network's gradients are far larger than a deep one's, so every run
multiplies the loss by :data:`ATTENUATION` = 2**-16 before the backward pass
and raises the learning rate by 2**16: identical in float32 (both are powers
of two, and SGD is linear in the gradient), but the gradients now sit where
a deep network's do, around float16's subnormals.  ``GradScaler``'s initial
scale, 2**16, undoes exactly that.

The network is tiny (8x8 images; two 3x3 convolutions of 8 and 16
channels, each followed by ReLU and 2x2 max pooling, and a linear layer:
1,898 parameters) so that the eight runs take well under a minute on one
CPU thread -- one thread, because the model is too small to gain from more,
and one thread's sums are the same on every run.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 -- PyTorch's own spelling

from ..train.datasets import epoch_order, load_digits
from .emulate import emulate, restore, telemetry

__all__ = ["ATTENUATION", "ExampleConfig", "RUNS", "ExampleRun", "make_model", "run_example", "example_table",
           "plot_runs", "EXAMPLE_NOTE"]  # fmt: skip

#: The loss attenuation of every run (see the module docstring).
ATTENUATION = 2.0**-16


@dataclass(frozen=True)
class ExampleConfig:
    """Every knob of the example, in one place."""

    epochs: int = 10  # passes over the 1438 training images
    batch_size: int = 64
    lr: float = 0.05  # for the true loss; the runs use lr / ATTENUATION on the attenuated one
    momentum: float = 0.9
    seed: int = 0  # initial weights and minibatch order
    threads: int = 1  # torch.set_num_threads while the example runs


#: The runs: (name, recipe, per-tensor scaling, loss scaler); int8-ptq is not trained.
RUNS = (
    ("fp32", "fp32", None, None),
    ("fp16-noscale", "fp16", None, None),
    ("fp16-dynamic", "fp16", None, "gradscaler"),
    ("fp8-noscale", "fp8", None, None),
    ("fp8-delayed", "fp8", "delayed", None),
    ("mxfp8", "mxfp8", None, None),
    ("mxfp4", "mxfp4", None, None),
    ("int8-ptq", "int8", None, None),
)

#: The note printed under the table.
EXAMPLE_NOTE = (
    "A CNN (conv 1->8, conv 8->16, linear 64->10; 1,898 parameters) on the handwritten digits (1438 train / 359 "
    "test),\nSGD momentum 0.9, batch 64, 10 epochs, one seed, through lowfloat.torch.emulate.  In every run the loss "
    "is\nmultiplied by 2^-16 before the backward pass and the learning rate raised by 2^16 (identical in float32), "
    "so that\ngradients are as small as a deep network's.  fp16-dynamic uses torch.amp.GradScaler('cpu') unchanged.\n"
    "flushed = nonzero gradient elements flushed to zero by casts; overflow = elements of every cast beyond the "
    "format's range.\nint8-ptq = the trained fp32 model, INT8 weights (per output channel) and activations (per "
    "tensor), not trained."
)


def make_model(seed: int = 0) -> nn.Sequential:
    """The example's CNN, with its initial weights drawn from ``seed``: (n, 1, 8, 8) images to (n, 10) logits."""
    generator = torch.Generator().manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (n, 8, 4, 4)
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (n, 16, 2, 2)
        nn.Flatten(), nn.Linear(64, 10),  # (n, 10)
    )  # fmt: skip
    with torch.no_grad():  # PyTorch's default initialisation, drawn from our own generator
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                bound = 1 / math.sqrt(fan_in)
                module.weight.uniform_(-bound, bound, generator=generator)
                module.bias.uniform_(-bound, bound, generator=generator)
    return model


@dataclass
class ExampleRun:
    """One run's outcome."""

    name: str
    recipe: str  # the recipe's one-line description
    test_accuracy: float
    losses: list = field(default_factory=list)  # the true (unattenuated) loss of every step
    loss_scales: list = field(default_factory=list)  # the loss scale every step used
    epoch_accuracy: list = field(default_factory=list)  # test accuracy after each epoch
    skipped_steps: int = 0
    seconds: float = 0.0
    telemetry: object = None  # the CastTelemetry of the run (None for int8-ptq)
    model: object = None  # the trained model, restored to plain PyTorch modules

    def summary(self) -> dict:
        """One row of plain values: what ``--json`` writes."""
        tel = self.telemetry
        return {
            "name": self.name,
            "recipe": self.recipe,
            "test_accuracy": self.test_accuracy,
            "flushed_grad_fraction": None if tel is None else tel.flushed_grad_fraction,
            "overflow_fraction": None if tel is None else tel.overflow_fraction,
            "skipped_steps": self.skipped_steps,
            "final_loss": self.losses[-1] if self.losses else None,
            "min_loss_scale": min(self.loss_scales) if self.loss_scales else None,
            "final_loss_scale": self.loss_scales[-1] if self.loss_scales else None,
            "steps": len(self.losses),
            "seconds": self.seconds,
        }


class _Data:
    """The digits as (n, 1, 8, 8) image tensors."""

    def __init__(self):
        data = load_digits()
        self.x_train = torch.from_numpy(data.X_train).reshape(-1, 1, 8, 8)
        self.y_train = torch.from_numpy(data.y_train)
        self.x_test = torch.from_numpy(data.X_test).reshape(-1, 1, 8, 8)
        self.y_test = torch.from_numpy(data.y_test)


def _accuracy(model, data) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(data.x_test).argmax(dim=1) == data.y_test).double().mean())


def _train(name, policy, scaling, scaler, data, config, report) -> ExampleRun:
    """One trained run; ``report()`` after every step."""
    started = time.perf_counter()
    model = emulate(make_model(config.seed), policy, scaling=scaling)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr / ATTENUATION, momentum=config.momentum)
    grad_scaler = torch.amp.GradScaler("cpu") if scaler == "gradscaler" else None
    run = ExampleRun(name, model.lowfloat_emulation.recipe.describe(), math.nan)
    n = data.x_train.shape[0]
    for epoch in range(config.epochs):
        model.train()
        order = torch.from_numpy(epoch_order(n, config.seed, epoch))
        for start in range(0, n, config.batch_size):
            index = order[start:start + config.batch_size]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data.x_train[index]), data.y_train[index])
            run.losses.append(float(loss.detach()))
            attenuated = loss * ATTENUATION
            if grad_scaler is None:
                run.loss_scales.append(1.0)
                attenuated.backward()
                optimizer.step()
            else:
                scale = grad_scaler.get_scale()
                run.loss_scales.append(scale)
                grad_scaler.scale(attenuated).backward()
                grad_scaler.step(optimizer)
                grad_scaler.update()
                run.skipped_steps += grad_scaler.get_scale() < scale  # GradScaler backs off exactly when it skips
            report()
        run.epoch_accuracy.append(_accuracy(model, data))  # ends the step: its telemetry closes
    run.test_accuracy = run.epoch_accuracy[-1]
    run.telemetry = telemetry(model)
    run.model = restore(model)
    run.seconds = time.perf_counter() - started
    return run


def _post_training(name, policy, trained, data) -> ExampleRun:
    """A trained model quantized without training: a copy emulated with ``policy``, evaluated."""
    started = time.perf_counter()
    model = emulate(copy.deepcopy(trained.model), policy)
    run = ExampleRun(name, model.lowfloat_emulation.recipe.describe(), _accuracy(model, data))
    run.model = restore(model)
    run.seconds = time.perf_counter() - started
    return run


def run_example(config: ExampleConfig = ExampleConfig(), *, progress=None, runs=None) -> list:
    """Train the example's runs and return one :class:`ExampleRun` per run, in the order of :data:`RUNS`.

    Parameters
    ----------
    config : ExampleConfig
    progress : callable, optional
        ``progress(steps_done, steps_total, run_name)`` after every training step.
    runs : sequence of str, optional
        Names of :data:`RUNS` to do (default all); ``int8-ptq`` needs ``fp32``.
    """
    names = [spec[0] for spec in RUNS]
    runs = names if runs is None else list(runs)
    unknown = [name for name in runs if name not in names]
    if unknown:
        raise ValueError(f"unknown run(s) {', '.join(unknown)}; expected some of {', '.join(names)}")
    if "int8-ptq" in runs and "fp32" not in runs:
        raise ValueError("int8-ptq quantizes the trained fp32 model: include fp32")
    data = _Data()
    steps = config.epochs * math.ceil(data.x_train.shape[0] / config.batch_size)
    trained_runs = [spec for spec in RUNS if spec[0] in runs and spec[0] != "int8-ptq"]
    done, total = 0, steps * len(trained_runs)
    results = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        for name, policy, scaling, scaler in trained_runs:

            def report(name=name):
                nonlocal done
                done += 1
                if progress is not None:
                    progress(done, total, name)

            results[name] = _train(name, policy, scaling, scaler, data, config, report)
        if "int8-ptq" in runs:
            results["int8-ptq"] = _post_training("int8-ptq", "int8", results["fp32"], data)
    finally:
        torch.set_num_threads(threads)
    return [results[name] for name in names if name in results]


def example_table(runs) -> str:
    """The table ``lowfloat demo --torch`` prints: one row per run, accuracy relative to ``fp32``.

    Examples
    --------
    >>> from lowfloat.torch.example import ExampleRun, example_table
    >>> print(example_table([ExampleRun("fp32", "fp32: all float32", 0.95), ExampleRun("x", "x: ...", 0.9)]))
    run   test acc  vs fp32  flushed  overflow  skipped  loss scale
    fp32     95.0%                                    0
    x        90.0%     -5.0                           0
    """
    reference = next((run.test_accuracy for run in runs if run.name == "fp32"), None)
    rows = [("run", "test acc", "vs fp32", "flushed", "overflow", "skipped", "loss scale")]
    for run in runs:
        s = run.summary()
        delta = "" if reference is None or run.name == "fp32" else f"{100 * (run.test_accuracy - reference):+.1f}"
        rows.append((
            run.name,
            f"{100 * run.test_accuracy:.1f}%",
            delta,
            "" if s["flushed_grad_fraction"] is None else f"{100 * s['flushed_grad_fraction']:.1f}%",
            "" if s["overflow_fraction"] is None else f"{100 * s['overflow_fraction']:.2f}%",
            str(run.skipped_steps),
            "" if s["min_loss_scale"] is None else f"{s['min_loss_scale']:.3g}..{s['final_loss_scale']:.3g}",
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def plot_runs(runs, *, path=None):
    """Four panels comparing the runs: training loss, test accuracy, flushed activation gradients, loss scale.

    Needs matplotlib.  Returns the figure; saves it to ``path`` if given.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7.5), layout="constrained")
    loss_ax, acc_ax, flush_ax, scale_ax = fig.subplots(2, 2).ravel()
    trained = [run for run in runs if run.losses]
    for run in trained:
        (line,) = loss_ax.plot(run.losses, lw=0.7, label=run.name)
        steps_per_epoch = len(run.losses) // max(1, len(run.epoch_accuracy))
        epochs_end = [steps_per_epoch * (i + 1) - 1 for i in range(len(run.epoch_accuracy))]
        acc_ax.plot(epochs_end, run.epoch_accuracy, "o-", ms=3, color=line.get_color(), label=run.name)
        shares = run.telemetry.series("underflow", role="activation_grad", by_layer=False)
        if shares:
            flush_ax.plot(next(iter(shares.values())), lw=0.8, color=line.get_color(), label=run.name)
        scale_ax.plot(run.loss_scales, color=line.get_color(), label=run.name)
    for run in runs:
        if not run.losses:  # post-training quantization: one accuracy, after the last epoch
            acc_ax.axhline(run.test_accuracy, ls=":", color="k", lw=1, label=run.name)
    loss_ax.set(xlabel="step", ylabel="training loss", yscale="log", title="training loss")
    acc_ax.set(xlabel="step", ylabel="test accuracy", ylim=(0, 1), title="test accuracy after each epoch")
    flush_ax.set(xlabel="step", ylabel="share flushed to zero", ylim=(-0.02, 1.02),
                 title="activation gradients flushed by their casts (all layers)")  # fmt: skip
    scale_ax.set(xlabel="step", ylabel="loss scale", yscale="log", title="loss scale")
    for ax in (loss_ax, acc_ax):
        ax.legend(fontsize=7)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
