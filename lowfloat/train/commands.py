"""The ``lowfloat demo`` and ``lowfloat train`` commands.

:func:`register` adds both subcommands to an ``argparse`` subparsers object;
each parsed namespace carries its ``run(args) -> exit status``, as every
``lowfloat`` subcommand does (:mod:`lowfloat.cli` registers them: run them as
``lowfloat demo`` or ``python -m lowfloat demo``).  The options of ``lowfloat
train`` are generated from the fields of :class:`~lowfloat.train.TrainConfig`
and, as overrides of a preset, :class:`~lowfloat.train.Policy`.

Invalid settings are refused before any training, in one line naming the
field.  Ctrl-C stops cleanly: the runs so far are printed and, with
``--json``, written.
"""

from __future__ import annotations

import argparse
import json
import math
import time

from ..progress import Progress
from . import settings

__all__ = ["register"]

#: The sections of ``lowfloat train --help``, in order; each setting names its own.
_GROUPS = ("precision", "scaling", "optimizer", "model and data", "output")

_EXAMPLES_DEMO = """examples:
  lowfloat demo                         the comparison table
  lowfloat demo --json runs.json --plot runs.png
  lowfloat demo --torch                 a small CNN in PyTorch, through lowfloat.torch.emulate
"""

_EXAMPLES_TRAIN = """examples:
  lowfloat train --policy fp16 --scaler dynamic
  lowfloat train --policy fp8 --tensor-scaling delayed --loss-attenuation 2**-16 --lr 655.36
  lowfloat train --policy bf16-pure --stochastic-update --epochs 30 --json run.json
  lowfloat train --data mine.npz --hidden 64,32 --optimizer adam --lr 1e-3
  lowfloat train --policy bf16 --accumulator-format bf16 --max-steps 50
"""


class _Progress:
    """The ``progress(done, total, name)`` callbacks of ``train()`` and ``run_demo()``, drawn by ``Progress``."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None

    def __call__(self, done, total, name=""):
        if self.bar is None:
            self.bar = Progress(total, enabled=self.enabled, unit="steps")
        self.bar.advance_to(done, name)

    def close(self):
        if self.bar is not None:
            self.bar.close()


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


def _run_torch_demo(args) -> int:
    try:
        from ..torch import example
    except ImportError as error:
        raise ValueError(f"--torch: {error}") from None
    progress = _Progress(not args.quiet)
    started = time.perf_counter()
    try:
        runs = example.run_example(example.ExampleConfig(seed=args.seed), progress=progress)
    except KeyboardInterrupt:
        progress.close()
        print(f"interrupted after {time.perf_counter() - started:.1f} s")
        return 130
    progress.close()
    print(example.example_table(runs))
    print()
    print(example.EXAMPLE_NOTE)
    print(f"({time.perf_counter() - started:.1f} s)")
    if args.json:
        rows = [{k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in run.summary().items()}
                for run in runs]  # fmt: skip
        _write_json(args.json, rows)
    if args.plot:
        try:
            example.plot_runs(runs, path=args.plot)
        except ImportError:
            raise ValueError("--plot needs matplotlib: pip install 'lowfloat[train]'") from None
    return 0


def _run_demo(args) -> int:
    if args.torch:
        return _run_torch_demo(args)
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
    from .config import TrainConfig
    from .policy import Policy, get_policy

    fields = settings.option_values(args, TrainConfig)
    overrides = settings.option_values(args, Policy, prefix="policy_")
    if overrides:  # a preset with some roles changed
        fields["policy"] = get_policy(args.policy).replace(name=f"{args.policy}*", **overrides)
    return TrainConfig(**fields)


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
    from .config import TrainConfig
    from .policy import Policy

    raw = argparse.RawDescriptionHelpFormatter
    demo = subparsers.add_parser("demo", help="compare mixed-precision recipes on a small MLP",
                                 epilog=_EXAMPLES_DEMO, formatter_class=raw,
                                 description="Train a small MLP nine ways, and a wide one with two FP8 "
                                             "accumulators; print a table.")  # fmt: skip
    demo.add_argument("--json", metavar="PATH", help="write the runs' summaries as a JSON list")
    demo.add_argument("--plot", metavar="PATH", help="save comparison plots (needs matplotlib)")
    demo.add_argument("--seed", type=int, default=0, help="seed of every run (default 0)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.add_argument("--torch", action="store_true",
                      help="instead: a small CNN trained eight ways through lowfloat.torch.emulate (needs torch)")
    demo.set_defaults(run=_run_demo)

    train = subparsers.add_parser("train", help="train one configuration", epilog=_EXAMPLES_TRAIN,
                                  formatter_class=raw,
                                  description="Train an MLP under one precision policy; every knob is an option.")
    groups = {title: train.add_argument_group(title) for title in _GROUPS}
    settings.add_options(groups, TrainConfig)
    settings.add_options(groups, Policy, prefix="policy_", override="the preset's")
    output = groups["output"]
    output.add_argument("--json", metavar="PATH", help="write the full history as JSON")
    output.add_argument("--csv", metavar="PATH", help="write the per-step table as CSV")
    output.add_argument("--plot", metavar="PATH", help="save plots (needs matplotlib)")
    output.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_run_train)
