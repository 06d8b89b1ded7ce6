"""Many runs at once, on any ``concurrent.futures.Executor``.

:func:`sweep` submits one :func:`~lowfloat.train.train` per configuration
and gathers one summary row per run.  The default executor is a local
process pool; a dask.distributed cluster works unchanged through
``Client.get_executor()``::

    from dask.distributed import Client
    rows = sweep(configs, executor=Client("scheduler:8786").get_executor())
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import Executor, ProcessPoolExecutor

from .config import TrainConfig
from .trainer import train

__all__ = ["sweep", "grid", "run_summary", "sweep_table"]


def run_summary(config: TrainConfig) -> dict:
    """Train ``config`` and return its summary row plus its ``extra`` labels (what a worker sends back)."""
    return config.extra | train(config).summary()


def grid(base: TrainConfig | None = None, **axes) -> list[TrainConfig]:
    """Every combination of the given fields' values, as configurations named after them.

    Examples
    --------
    >>> from lowfloat.train.sweep import grid
    >>> [c.name for c in grid(policy=["fp16", "bf16"], seed=[0, 1])]
    ['policy=fp16,seed=0', 'policy=fp16,seed=1', 'policy=bf16,seed=0', 'policy=bf16,seed=1']
    """
    base = TrainConfig() if base is None else base
    names = list(axes)
    configs = []
    for values in itertools.product(*(axes[name] for name in names)):
        changes = dict(zip(names, values, strict=True))
        label = ",".join(f"{k}={v}" for k, v in changes.items())
        configs.append(base.replace(name=label, extra=base.extra | changes, **changes))
    return configs


def sweep(configs, executor: Executor | None = None) -> list[dict]:
    """Run every configuration and return one summary row per run, in the order given.

    Parameters
    ----------
    configs : iterable of TrainConfig
    executor : concurrent.futures.Executor, optional
        Where the runs happen.  None: a local ``ProcessPoolExecutor`` (one
        worker per core), shut down afterwards.  An executor you pass is
        left running -- e.g. ``dask.distributed.Client.get_executor()``.

    Returns
    -------
    list of dict
        :meth:`History.summary` of each run, plus the configuration's
        ``extra`` labels (:func:`grid` puts the swept fields there).

    Raises
    ------
    TypeError
        A configuration is not a TrainConfig, or ``executor`` is not an Executor.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from lowfloat.train import TrainConfig, sweep
    >>> from lowfloat.train.sweep import grid
    >>> with ThreadPoolExecutor(2) as pool:
    ...     rows = sweep(grid(TrainConfig(max_steps=5), policy=["fp16", "bf16"]), executor=pool)
    >>> [(row["policy"], row["steps"]) for row in rows]
    [('fp16', 5), ('bf16', 5)]
    """
    configs = list(configs)
    for i, config in enumerate(configs):
        if not isinstance(config, TrainConfig):
            raise TypeError(f"configs[{i}] must be a TrainConfig, got {type(config).__name__}")
    if executor is not None and not (isinstance(executor, Executor) or hasattr(executor, "submit")):
        raise TypeError(f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}")
    own = executor is None
    if own:
        executor = ProcessPoolExecutor(max_workers=min(len(configs), os.cpu_count() or 1) or 1)
    try:
        futures = [executor.submit(run_summary, config) for config in configs]
        return [future.result() for future in futures]
    finally:
        if own:
            executor.shutdown(cancel_futures=True)


def sweep_table(rows, columns=("name", "test_accuracy", "flushed_grad_fraction", "skipped_steps",
                               "lost_update_fraction")) -> str:  # fmt: skip
    """Rows of :func:`sweep` as an aligned text table.

    Examples
    --------
    >>> from lowfloat.train.sweep import sweep_table
    >>> print(sweep_table([{"name": "a", "test_accuracy": 0.5}], columns=("name", "test_accuracy")))
    name  test_accuracy
    a            0.5000
    """

    def text(value):
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    cells = [list(columns)] + [[text(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = []
    for r in cells:
        lines.append("  ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]))
    return "\n".join(lines)
