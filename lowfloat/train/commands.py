"""The ``lowfloat demo`` and ``lowfloat train`` commands.

:func:`register` adds both subcommands to an ``argparse`` subparsers object;
each parsed namespace carries its ``run(args) -> exit status``, as every
``lowfloat`` subcommand does (:mod:`lowfloat.cli` registers them).
:func:`main` is the ``lowfloat`` command line: ``python -m lowfloat.train.commands demo``.

Invalid settings are refused before any training, in one line naming the
field.  Ctrl-C stops cleanly: the runs so far are printed and, with
``--json``, written.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time

__all__ = ["register", "main"]

_ROLES = ("weight", "activation", "activation_grad", "weight_grad", "master", "optimizer_state", "accumulator")

_EXAMPLES_DEMO = """examples:
  lowfloat demo                         the comparison table
  lowfloat demo --json runs.json --plot runs.png
"""

_EXAMPLES_TRAIN = """examples:
  lowfloat train --policy fp16 --scaler dynamic
  lowfloat train --policy fp8 --tensor-scaling delayed --loss-attenuation 2**-16 --lr 655.36
  lowfloat train --policy bf16-pure --stochastic-update --epochs 30 --json run.json
  lowfloat train --data mine.npz --hidden 64,32 --optimizer adam --lr 1e-3
  lowfloat train --policy bf16 --accumulator-format bf16 --max-steps 50
"""


def _number(text: str) -> float:
    """A float from decimal, hex-float or power notation: ``0.5``, ``0x1p-16``, ``2**-16``, ``2^-16``."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*(?:\*\*|\^)\s*([-+]?[0-9]+)\s*", text)
    try:
        if match:
            return float(match.group(1)) ** int(match.group(2))
        return float.fromhex(text) if "0x" in text.lower() else float(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _sizes(text: str) -> tuple:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths such as 64,32, got {text!r}") from None
    return sizes


class _Progress:
    """tqdm when installed, else a one-line counter on stderr; silent unless stderr is a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = None
        self.last = -1

    def __call__(self, done, total, name=""):
        if not self.enabled:
            return
        if self.bar is None:
            try:
                from tqdm import tqdm
            except ImportError:
                self.bar = False
            else:
                self.bar = tqdm(total=total, file=sys.stderr, unit="step", leave=False)
        if self.bar:
            self.bar.set_description(name, refresh=False)
            self.bar.update(done - self.bar.n)
            return
        percent = 100 * done // total
        if percent != self.last:
            self.last = percent
            print(f"\r{name:>14} {percent:3d}% ({done}/{total} steps)", end="", file=sys.stderr, flush=True)

    def close(self):
        if self.bar:
            self.bar.close()
        elif self.enabled and self.last >= 0:
            print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)


def _write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=1, allow_nan=False)
        f.write("\n")


def _json_row(history) -> dict:
    row = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in history.summary().items()}
    return row | {"config": history.config}


def _plot(histories, path):
    try:
        from .history import plot_runs

        plot_runs(histories, path=path)
    except ImportError:
        raise ValueError("--plot needs matplotlib: pip install 'lowfloat[train]'") from None


def _run_demo(args) -> int:
    from .demo import DEMO_NOTE, demo_table, run_demo
    from .trainer import Interrupted

    progress = _Progress(not args.quiet)
    started = time.perf_counter()
    status = 0
    try:
        histories = run_demo(seed=args.seed, progress=progress)
    except Interrupted as stop:
        histories = stop.history
        status = 130
    finally:
        progress.close()
    print(demo_table(histories))
    print()
    print(DEMO_NOTE)
    print(f"({time.perf_counter() - started:.1f} s{', interrupted' if status else ''})")
    if args.json:
        _write_json(args.json, [_json_row(h) for h in histories])
    if args.plot and histories:
        _plot(histories, args.plot)
    return status


def _config_from_args(args):
    from .trainer import TrainConfig

    fields = {name: getattr(args, name) for name in (
        "name", "policy", "stochastic_update", "scaler", "init_scale", "growth_factor", "backoff_factor",
        "growth_interval", "tensor_scaling", "margin", "amax_history_len", "amax_compute_algo", "optimizer", "lr",
        "momentum", "eps", "activation", "init", "epochs", "batch_size", "max_steps", "seed", "data",
        "test_fraction", "loss_attenuation", "spike_start", "spike_steps", "spike_factor")}  # fmt: skip
    overrides = {role: getattr(args, f"{role}_format") for role in _ROLES if getattr(args, f"{role}_format")}
    if args.overflow is not None:
        overrides["overflow"] = None if args.overflow == "default" else args.overflow
    if overrides:  # a preset with some roles changed
        from .policy import get_policy

        fields["policy"] = get_policy(args.policy).replace(name=f"{args.policy}*", **overrides)
    return TrainConfig(**fields, betas=tuple(args.betas), hidden=tuple(args.hidden))


def _run_train(args) -> int:
    from .trainer import Interrupted, train

    config = _config_from_args(args)  # refuses a bad setting before any work
    progress = _Progress(not args.quiet)
    status = 0
    try:
        history = train(config, progress=lambda done, total: progress(done, total, config.name))
    except Interrupted as stop:
        history = stop.history
        status = 130
    finally:
        progress.close()
    s = history.summary()
    print(f"{s['name']}: {history.config['policy_detail']}")
    print(f"test accuracy {100 * s['test_accuracy']:.2f}%  flushed gradients {100 * s['flushed_grad_fraction']:.2f}%  "
          f"skipped steps {s['skipped_steps']}  lost updates {100 * s['lost_update_fraction']:.2f}%  "
          f"loss scale {s['min_loss_scale']:.4g}..{s['final_loss_scale']:.4g}  "
          f"({s['steps']} steps, {s['seconds']:.1f} s{', interrupted' if status else ''})")  # fmt: skip
    if s["diverged_at_step"] is not None:
        print(f"diverged: the loss was NaN or infinite from step {s['diverged_at_step']} to the end")
    if args.json:
        history.to_json(args.json)
    if args.csv:
        history.to_csv(args.csv)
    if args.plot:
        _plot([history], args.plot)
    return status


def register(subparsers) -> None:
    """Add the ``demo`` and ``train`` subcommands to an argparse subparsers object.

    Each subcommand sets ``run``: ``args.run(args)`` returns the exit status.
    """
    from .policy import PRESETS
    from .trainer import SCALERS, TENSOR_SCALINGS, TrainConfig

    d = TrainConfig()
    raw = argparse.RawDescriptionHelpFormatter
    demo = subparsers.add_parser("demo", help="compare mixed-precision recipes on a small MLP",
                                 epilog=_EXAMPLES_DEMO, formatter_class=raw,
                                 description="Train one small MLP nine ways and print a table.")  # fmt: skip
    demo.add_argument("--json", metavar="PATH", help="write the runs' summaries as a JSON list")
    demo.add_argument("--plot", metavar="PATH", help="save comparison plots (needs matplotlib)")
    demo.add_argument("--seed", type=int, default=0, help="seed of every run (default 0)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(run=_run_demo)

    train = subparsers.add_parser("train", help="train one configuration", epilog=_EXAMPLES_TRAIN,
                                  formatter_class=raw,
                                  description="Train an MLP under one precision policy; every knob is an option.")
    precision = train.add_argument_group("precision")
    precision.add_argument("--policy", default=d.policy, choices=list(PRESETS), help="preset (default %(default)s)")
    precision.add_argument("--stochastic-update", action="store_true", help="stochastic rounding of weight updates")
    for role in _ROLES:
        precision.add_argument(f"--{role.replace('_', '-')}-format", metavar="FORMAT",
                               help=f"override the preset's {role} format")  # fmt: skip
    precision.add_argument("--overflow", choices=("default", "saturate", "inf", "nan"),
                           help="override the preset's overflow policy of every cast")  # fmt: skip
    scaling = train.add_argument_group("scaling")
    scaling.add_argument("--scaler", default=d.scaler, choices=SCALERS, help="loss scaler (default %(default)s)")
    scaling.add_argument("--init-scale", type=_number, default=d.init_scale, help="static or initial loss scale")
    scaling.add_argument("--growth-factor", type=_number, default=d.growth_factor)
    scaling.add_argument("--backoff-factor", type=_number, default=d.backoff_factor)
    scaling.add_argument("--growth-interval", type=int, default=d.growth_interval)
    scaling.add_argument("--tensor-scaling", default=d.tensor_scaling, choices=TENSOR_SCALINGS,
                         help="per-tensor FP8 scaling (default %(default)s)")  # fmt: skip
    scaling.add_argument("--margin", type=int, default=d.margin)
    scaling.add_argument("--amax-history-len", type=int, default=d.amax_history_len)
    scaling.add_argument("--amax-compute-algo", default=d.amax_compute_algo, choices=("max", "most_recent"))
    optim = train.add_argument_group("optimizer")
    optim.add_argument("--optimizer", default=d.optimizer, choices=("sgd", "adam"))
    optim.add_argument("--lr", type=_number, default=d.lr)
    optim.add_argument("--momentum", type=_number, default=d.momentum)
    optim.add_argument("--betas", type=_number, nargs=2, default=list(d.betas), metavar=("BETA1", "BETA2"))
    optim.add_argument("--eps", type=_number, default=d.eps)
    model = train.add_argument_group("model and data")
    model.add_argument("--hidden", type=_sizes, default=d.hidden, help="hidden widths, e.g. 64,32 (default 32)")
    model.add_argument("--activation", default=d.activation, choices=("relu", "gelu"))
    model.add_argument("--init", default=d.init, choices=("he", "glorot"))
    model.add_argument("--epochs", type=int, default=d.epochs)
    model.add_argument("--batch-size", type=int, default=d.batch_size)
    model.add_argument("--max-steps", type=int, default=None)
    model.add_argument("--seed", type=int, default=d.seed)
    model.add_argument("--data", default=d.data, help="'digits' or an .npz file with X and y")
    model.add_argument("--test-fraction", type=_number, default=d.test_fraction)
    model.add_argument("--loss-attenuation", type=_number, default=d.loss_attenuation,
                       help="multiply the loss in the backward pass, e.g. 2**-16")  # fmt: skip
    model.add_argument("--spike-start", type=int, default=None, help="first step of a burst of scaled inputs")
    model.add_argument("--spike-steps", type=int, default=d.spike_steps)
    model.add_argument("--spike-factor", type=_number, default=d.spike_factor)
    output = train.add_argument_group("output")
    output.add_argument("--name", default=d.name)
    output.add_argument("--json", metavar="PATH", help="write the full history as JSON")
    output.add_argument("--csv", metavar="PATH", help="write the per-step table as CSV")
    output.add_argument("--plot", metavar="PATH", help="save plots (needs matplotlib)")
    output.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_run_train)


def main(argv=None) -> int:
    """Run ``lowfloat demo`` or ``lowfloat train`` from an argument list (as :func:`lowfloat.cli.main` does).

    Returns the exit status: 0, 2 for a user error, 130 after Ctrl-C.

    Examples
    --------
    >>> main(["train", "--policy", "fp16", "--scaler", "dinamic"])
    2
    >>> main(["train", "--epochs", "1", "--max-steps", "2", "--quiet"])  # doctest: +ELLIPSIS
    run: fp32: all float32
    test accuracy ...
    0
    """
    from ..cli import main as lowfloat_main

    return lowfloat_main(argv)


if __name__ == "__main__":
    sys.exit(main())
