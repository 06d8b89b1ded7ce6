"""Workbench for lowfloat.torch.emulate: time per training step of the example's CNN under each recipe.

Run from the repository root, with the virtualenv that has lowfloat and torch installed:

    python kernels/bench_torch.py [--steps 40] [--repeats 5] [--recipes NAME ...] [--example]

1. check: the CNN emulated with the ``fp32`` recipe, and trained on the
   attenuated loss with the raised learning rate, must end with the same
   weights bit for bit as plain PyTorch on the plain loss (the example's two
   premises), else the script stops;
2. time: ``--steps`` training steps (batch 64, one thread) of plain PyTorch
   and of the CNN emulated with every recipe (or ``--recipes``), repetitions
   interleaved in one process; one table of median milliseconds per step
   and the ratio to plain PyTorch -- the cost of the casts (a NumPy round
   trip per tensor), their counters, and the matmul hook;
3. ``--example``: the wall time of the whole example, ``run_example()``
   (its target: well under two minutes on two cores, so that the notebook
   that runs it stays under two minutes too).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.nn import functional as F  # noqa: N812

import lowfloat.torch as lft
from lowfloat.torch.example import ATTENUATION, make_model, run_example
from lowfloat.torch.recipe import recipe_names
from lowfloat.train import load_digits

BATCH = 64


def batches(steps: int):
    """``steps`` minibatches of the digits as (64, 1, 8, 8) images and their labels."""
    data = load_digits()
    images = torch.from_numpy(data.X_train).reshape(-1, 1, 8, 8)
    labels = torch.from_numpy(data.y_train)
    n = images.shape[0] // BATCH
    return [(images[BATCH * (i % n):BATCH * (i % n + 1)], labels[BATCH * (i % n):BATCH * (i % n + 1)])
            for i in range(steps)]  # fmt: skip


def train(recipe, data, *, attenuation=ATTENUATION, scaling=None):
    """The CNN trained on ``data``; ``recipe`` None: plain PyTorch."""
    model = make_model(0)
    if recipe is not None:
        model = lft.emulate(model, recipe, scaling=scaling)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05 / attenuation, momentum=0.9)
    for images, labels in data:
        optimizer.zero_grad()
        (F.cross_entropy(model(images), labels) * attenuation).backward()
        optimizer.step()
    return model


def check_premises(data) -> None:
    plain = train(None, data, attenuation=1.0)
    emulated = train("fp32", data)
    for a, b in zip(plain.parameters(), emulated.parameters(), strict=True):
        if not torch.equal(a, b):
            raise SystemExit("the emulated fp32 run, attenuated, differs from plain PyTorch: refusing to time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--recipes", nargs="+", metavar="NAME", choices=recipe_names(),
                        help="recipes to time (default: all)")  # fmt: skip
    parser.add_argument("--example", action="store_true", help="also time the whole example")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = batches(args.steps)
    check_premises(data)
    runs = {"pytorch": (None, None)} | {name: (name, None) for name in args.recipes or recipe_names()}
    if not args.recipes or "fp8" in args.recipes:
        runs["fp8 delayed"] = ("fp8", "delayed")
    for recipe, scaling in runs.values():  # warm-up: Numba kernels load from the cache
        train(recipe, data[:2], scaling=scaling)
    times = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, (recipe, scaling) in runs.items():
            start = time.perf_counter()
            train(recipe, data, scaling=scaling)
            times[name].append((time.perf_counter() - start) / args.steps * 1e3)
    base = statistics.median(times["pytorch"])
    print(f"{'recipe':12} {'ms/step':>8} {'vs pytorch':>10}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:12} {median:8.2f} {median / base:10.1f}")
    if args.example:
        start = time.perf_counter()
        run_example()
        print(f"whole example: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
