"""Workbench for lowfloat.train: time per training step of each demo recipe, and the whole demo.

Run from the repository root, with the virtualenv that has lowfloat installed:

    python kernels/bench_train.py [--steps 60] [--repeats 5] [--runs NAME ...] [--demo]

1. check: the fp32 recipe with and without loss attenuation must give the
   same weights bit for bit (the demo's premise), else the script stops;
2. time: ``--steps`` steps of every demo recipe (or of ``--runs``),
   repetitions interleaved in one process; one table of median milliseconds
   per step, and the ratio to the fp32 recipe (the cost of the casts, their
   counters and, for fp8-acc14 and fp8-acc14-promote, the emulated matmuls
   of a 4096-wide layer: those two take most of the time);
3. ``--demo``: the wall time of the whole demo (its target: under 60 s on two cores).

For the emulated accumulator alone: ``--runs fp8-delayed fp8-acc14 fp8-acc14-promote``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from lowfloat.train import TrainConfig, train
from lowfloat.train.demo import demo_configs, run_demo


def check_attenuation_is_exact() -> None:
    plain = train(TrainConfig(lr=0.01, max_steps=40, batch_size=128))
    attenuated = train(TrainConfig(lr=0.01 * 2**16, loss_attenuation=2.0**-16, max_steps=40, batch_size=128))
    for (_, a), (_, b) in zip(plain.model.parameters(), attenuated.model.parameters(), strict=True):
        if not np.array_equal(a, b):
            raise SystemExit("attenuated fp32 run differs from the plain one: refusing to time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--runs", nargs="+", metavar="NAME", help="demo recipes to time (default: all)")
    parser.add_argument("--demo", action="store_true", help="also time the whole demo")
    args = parser.parse_args()
    check_attenuation_is_exact()
    configs = [c.replace(max_steps=args.steps) for c in demo_configs()]
    if args.runs:
        unknown = set(args.runs) - {c.name for c in configs}
        if unknown:
            names = ", ".join(c.name for c in configs)
            parser.error(f"unknown runs {', '.join(sorted(unknown))}; the demo's are {names}")
        configs = [c for c in configs if c.name in args.runs or c.name == "fp32"]
    for config in configs:  # warm-up: Numba kernels load from the cache
        train(config.replace(max_steps=2))
    times = {c.name: [] for c in configs}
    for _ in range(args.repeats):
        for config in configs:
            start = time.perf_counter()
            train(config)
            times[config.name].append((time.perf_counter() - start) / args.steps * 1e3)
    base = statistics.median(times["fp32"])
    print(f"{'recipe':14} {'ms/step':>8} {'vs fp32':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:14} {median:8.2f} {median / base:8.2f}")
    if args.demo:
        start = time.perf_counter()
        run_demo()
        print(f"whole demo: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
