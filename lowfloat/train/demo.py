"""The canonical comparison: one small MLP on the handwritten digits, nine precision recipes.

Every run trains the same 64-32-10 ReLU MLP from the same seed on the same
minibatches (SGD with momentum 0.9, batch 128, 30 epochs) and differs only
in how its tensors are cast:

================  ==========================================================
``fp32``          the reference
``fp16-noscale``  float16 compute, float32 master weights, no loss scaling
``fp16-dynamic``  the same with ``torch.amp.GradScaler``'s dynamic loss scale
``bf16-noscale``  bfloat16 compute, float32 master weights, no loss scaling
``fp8-noscale``   E4M3 forward, E5M2 gradients (HYBRID), no scaling
``fp8-delayed``   the same with Transformer Engine's delayed per-tensor scaling
``bf16-pure``     bfloat16 everywhere, weights updated in place (no float32 copy)
``bf16-pure-sr``  the same, with stochastic rounding of the weight update
``fp16-spike``    fp16-dynamic (growth interval 30) with a burst of huge inputs
================  ==========================================================

**Loss attenuation.**  A small MLP's gradients are far larger than those of
the deep networks in which float16 underflow bites.  So every run multiplies
the loss by :data:`ATTENUATION` = 2**-16 in the backward pass and raises the
learning rate by 2**16 -- in float32 this changes nothing (both are powers of
two), but the gradients now sit where a deep network's do, around
float16's subnormal range.

**The spike.**  Steps 60-64 of ``fp16-spike`` multiply the inputs by 2**16,
which overflows float16 in the forward pass: the gradients are inf/NaN, each
of those steps is skipped and halves the loss scale, and the scale then
doubles back every 30 clean steps.
"""

from __future__ import annotations

from .config import TrainConfig
from .trainer import Interrupted, train

__all__ = ["ATTENUATION", "BASE_CONFIG", "demo_configs", "run_demo", "demo_table", "DEMO_NOTE"]

#: The loss attenuation of every demo run (see the module docstring).
ATTENUATION = 2.0**-16

#: What every demo run shares.
BASE_CONFIG = TrainConfig(
    hidden=(32,),
    epochs=30,
    batch_size=128,
    optimizer="sgd",
    lr=0.01 / ATTENUATION,  # 0.01 for the true loss
    momentum=0.9,
    loss_attenuation=ATTENUATION,
    seed=0,
)

#: The note printed under the demo's table.
DEMO_NOTE = (
    "All runs: 64-32-10 ReLU MLP on the handwritten digits (1438 train / 359 test), SGD momentum 0.9, "
    "batch 128, 30 epochs, one seed.\n"
    "The loss is multiplied by 2^-16 in the backward pass and the learning rate raised by 2^16 (identical in "
    "float32),\nso that gradients are as small as a deep network's.  flushed = nonzero gradient elements "
    "flushed to zero by casts;\nlost = nonzero weight updates that rounded away.  fp16-spike: steps 60-64 "
    "multiply the inputs by 2^16."
)


def demo_configs(seed: int = 0) -> list[TrainConfig]:
    """The nine runs of the demo, in order.

    Examples
    --------
    >>> from lowfloat.train.demo import demo_configs
    >>> [c.name for c in demo_configs()][:4]
    ['fp32', 'fp16-noscale', 'fp16-dynamic', 'bf16-noscale']
    """
    base = BASE_CONFIG.replace(seed=seed)
    return [
        base.replace(name="fp32", policy="fp32"),
        base.replace(name="fp16-noscale", policy="fp16"),
        base.replace(name="fp16-dynamic", policy="fp16", scaler="dynamic"),
        base.replace(name="bf16-noscale", policy="bf16"),
        base.replace(name="fp8-noscale", policy="fp8"),
        base.replace(name="fp8-delayed", policy="fp8", tensor_scaling="delayed"),
        base.replace(name="bf16-pure", policy="bf16-pure"),
        base.replace(name="bf16-pure-sr", policy="bf16-pure", stochastic_update=True),
        base.replace(name="fp16-spike", policy="fp16", scaler="dynamic", growth_interval=30, spike_start=60,
                     spike_steps=5, spike_factor=2.0**16),  # fmt: skip
    ]


def run_demo(*, seed: int = 0, progress=None, configs=None) -> list:
    """Run the demo; returns one :class:`~lowfloat.train.History` per run.

    Parameters
    ----------
    seed : int
    progress : callable, optional
        ``progress(steps_done, steps_total, run_name)`` after every step of every run.
    configs : list of TrainConfig, optional
        Runs to do instead of :func:`demo_configs`.

    Raises
    ------
    Interrupted
        On Ctrl-C; its ``history`` is the list of histories so far, the
        interrupted run last (marked ``interrupted``).
    """
    configs = demo_configs(seed) if configs is None else configs
    histories = []
    done = 0
    total = None
    for config in configs:

        def report(step, steps, name=config.name, offset=done):
            nonlocal total
            if total is None:
                total = steps * len(configs)
            if progress is not None:
                progress(offset + step, total, name)

        try:
            history = train(config, progress=report)
        except Interrupted as stop:
            histories.append(stop.history)
            raise Interrupted(histories) from None
        except KeyboardInterrupt:  # between two runs
            raise Interrupted(histories) from None
        histories.append(history)
        done += len(history.steps)
    return histories


def demo_table(histories) -> str:
    """The demo's table: one row per run, accuracy relative to the ``fp32`` run.

    Examples
    --------
    >>> from lowfloat.train import TrainConfig, train
    >>> from lowfloat.train.demo import demo_table
    >>> h = train(TrainConfig(name="fp32", epochs=1, max_steps=3))
    >>> demo_table([h]).splitlines()[0].split()
    ['run', 'test', 'acc', 'vs', 'fp32', 'flushed', 'skipped', 'lost', 'loss', 'scale', 'min..final']
    """
    reference = next((h.test_accuracy for h in histories if h.name == "fp32"), None)
    header = ("run", "test acc", "vs fp32", "flushed", "skipped", "lost", "loss scale min..final")
    rows = [header]
    for h in histories:
        s = h.summary()
        delta = "" if reference is None or h.name == "fp32" else f"{100 * (s['test_accuracy'] - reference):+.1f}"
        scale = f"{s['min_loss_scale']:.3g}..{s['final_loss_scale']:.3g}" if s["steps"] else ""
        rows.append((
            h.name + (" (interrupted)" if h.interrupted else ""),
            f"{100 * s['test_accuracy']:.1f}%",
            delta,
            f"{100 * s['flushed_grad_fraction']:.1f}%",
            str(s["skipped_steps"]),
            f"{100 * s['lost_update_fraction']:.1f}%",
            scale,
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
