"""The canonical comparison: one small MLP on the handwritten digits, nine precision recipes, and two accumulators.

The first nine runs train the same 64-32-10 ReLU MLP from the same seed on
the same minibatches (SGD with momentum 0.9, batch 128, 30 epochs) and
differ only in how their tensors are cast:

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

The last two keep fp8-delayed's casts and add Hopper's FP8 tensor-core
accumulator, a 14-bit significand (:data:`E8M13`), on a layer wide enough
for it to matter: a 64-4096-10 MLP, whose output layer sums K = 4096
products (batch 32, 4 epochs, so that the emulated matmuls stay affordable):

=====================  =====================================================
``fp8-acc14``          every partial sum of every matmul rounded into E8M13
``fp8-acc14-promote``  the same, promoted into float32 every 128 products
                       (DeepSeek-V3)
=====================  =====================================================

Their ``acc err`` -- each step's largest relative error of a matrix product
against the exact product of the same operands, averaged over the run -- is
what the accumulator costs.  From seed 0: about 1e-7 for float32
accumulation (every other run), 7e-4 for the 14-bit accumulator, and 1e-4
with promotion, which is what a 14-bit accumulator errs over the sums of at
most 128 products that promotion does not shorten.  Test accuracy does not
move (96.9% in both runs): with round-to-nearest-even accumulation these
errors are unbiased and far smaller than those of the FP8 casts themselves
(3 mantissa bits).

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

import math

from ..formats import Format
from .config import TrainConfig
from .policy import get_policy
from .trainer import Interrupted, train

__all__ = ["ATTENUATION", "BASE_CONFIG", "WIDE_CONFIG", "E8M13", "demo_configs", "run_demo", "demo_table",
           "DEMO_NOTE"]  # fmt: skip

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

#: The accumulator of Hopper's FP8 tensor cores: about 14 significant bits (DeepSeek-V3 technical report).
E8M13 = Format(exp_bits=8, man_bits=13, bias=127)

#: What the two accumulator runs share: fp8-delayed's casts on a layer that sums 4096 products.
WIDE_CONFIG = BASE_CONFIG.replace(hidden=(4096,), batch_size=32, epochs=4, tensor_scaling="delayed")

#: The note printed under the demo's table.
DEMO_NOTE = (
    "fp32 to fp16-spike: a 64-32-10 ReLU MLP on the handwritten digits (1438 train / 359 test), SGD momentum 0.9, "
    "batch 128,\n30 epochs, one seed.  In every run the loss is multiplied by 2^-16 in the backward pass,\nand the "
    "learning rate raised by 2^16 (identical in float32), so that gradients are as small as a deep network's.\n"
    "flushed = nonzero gradient elements flushed to zero by casts; lost = nonzero weight updates that rounded away.\n"
    "fp16-spike: steps 60-64 multiply the inputs by 2^16.\n"
    "fp8-acc14: fp8-delayed on a 64-4096-10 MLP (its output layer sums K = 4096 products), batch 32, 4 epochs, every "
    "partial\nsum rounded into a 14-bit accumulator (E8M13); fp8-acc14-promote adds each 128 products' sum into "
    "float32.\nacc err = a step's largest relative matmul error against the exact product of the same operands, mean "
    "over the run."
)


def demo_configs(seed: int = 0) -> list[TrainConfig]:
    """The eleven runs of the demo, in order.

    Examples
    --------
    >>> from lowfloat.train.demo import demo_configs
    >>> [c.name for c in demo_configs()][:4]
    ['fp32', 'fp16-noscale', 'fp16-dynamic', 'bf16-noscale']
    """
    base = BASE_CONFIG.replace(seed=seed)
    wide = WIDE_CONFIG.replace(seed=seed)
    acc14 = get_policy("fp8").replace(name="fp8-acc14", accumulator=E8M13)
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
        wide.replace(name="fp8-acc14", policy=acc14),
        wide.replace(name="fp8-acc14-promote", policy=acc14.replace(name="fp8-acc14-promote", promote_every=128)),
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
    ['run', 'test', 'acc', 'vs', 'fp32', 'flushed', 'skipped', 'lost', 'acc', 'err', 'loss', 'scale', 'min..final']
    """
    reference = next((h.test_accuracy for h in histories if h.name == "fp32"), None)
    header = ("run", "test acc", "vs fp32", "flushed", "skipped", "lost", "acc err", "loss scale min..final")
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
            f"{s['accumulator_error']:.1e}" if math.isfinite(s["accumulator_error"]) else "",
            scale,
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
