"""Workbench: how long a new user waits -- the first call of each kind in a fresh process.

Run from the repository root:

    python kernels/bench_startup.py [--repeats 3] [--repo PATH] [--no-runtime-venv]

Each row runs in a fresh Python process; "cold" rows get an empty Numba cache
directory of their own (NUMBA_CACHE_DIR), as a first run after installing,
"warm" rows one that a previous process filled.  The time is the wall time of
the whole process (interpreter start, imports, compilation or cache loading,
the call), median of ``--repeats`` rounds (each round runs every row once, so
that a burst of load spreads over the rows); lowfloat's modules are compiled
to bytecode first, as ``pip install`` does.  ``--repo`` measures another checkout
(its ``lowfloat`` is put first on PYTHONPATH), to print a before/after table.

Each row is measured twice: with this interpreter (the development
environment, every extra installed) and in a virtual environment holding only
the runtime dependencies, numpy and numba (created once under the system's
temporary directory; ``--no-runtime-venv`` skips that column): what a fresh
``pip install lowfloat`` has.  The two differ by more than the extras'
imports: Numba's first compilation or cache load imports ``scipy.linalg``
when SciPy is installed (about 0.2 s here).  The verdict reads the
runtime-only column where it was measured.

Two rows measure Numba's own floor, no lowfloat in them: a process that
imports numpy and numba and calls a one-line ``@njit(cache=True)`` function
(compiled on an empty cache, loaded from a filled one).  lowfloat's rows read
against them: what lowfloat adds to a first call is the difference.

Targets (issue "one typed boundary ..."): first quantize of float32 data <= 2 s,
first encode <= 2 s, first float64 quantize <= 2.5 s, the first
``lowfloat quantize --format e4m3 0.1 448 464 465`` <= 3 s, ``lowfloat
explain/info/table`` <= 1.5 s cold or warm, warm import + first quantize in the
runtime-only environment <= 1 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

QUANTIZE32 = "import numpy as np, lowfloat as lf; lf.quantize(np.float32([0.1, 448, 464, 465]), 'e4m3')"
ENCODE32 = "import numpy as np, lowfloat as lf; lf.encode(np.float32([0.1, 448, 464, 465]), 'e4m3')"
QUANTIZE64 = "import numpy as np, lowfloat as lf; lf.quantize(np.float64([0.1, 448, 464, 465]), 'e4m3')"

# Numba's floor: the least any process that calls a cached Numba function pays (a file, so that
# cache=True has somewhere to write); written under the temporary directory by main()
FLOOR = """import numpy as np
from numba import njit

@njit(cache=True)
def total(x):
    return x.sum()

total(np.float32([0.1, 448, 464, 465]))
"""
FLOOR_ROW = "numba floor: one-line @njit(cache=True), first call"

ROWS = [
    (FLOOR_ROW, "cold", ["FLOOR"], None),
    ("first lf.quantize(float32, 'e4m3')", "cold", ["-c", QUANTIZE32], 2.0),
    ("first lf.encode(float32, 'e4m3')", "cold", ["-c", ENCODE32], 2.0),
    ("first lf.quantize(float64, 'e4m3')", "cold", ["-c", QUANTIZE64], 2.5),
    ("lowfloat quantize --format e4m3 0.1 448 464 465", "cold",
     ["-m", "lowfloat", "quantize", "--format", "e4m3", "0.1", "448", "464", "465"], 3.0),
    ("lowfloat explain 0.1 --format e4m3", "cold", ["-m", "lowfloat", "explain", "0.1", "--format", "e4m3"], 1.5),
    ("lowfloat info", "cold", ["-m", "lowfloat", "info"], 1.5),
    ("lowfloat table e2m1", "cold", ["-m", "lowfloat", "table", "e2m1"], 1.5),
    ("lowfloat explain 0.1 --format e4m3", "warm", ["-m", "lowfloat", "explain", "0.1", "--format", "e4m3"], 1.5),
    ("lowfloat quantize --format e4m3 0.1 448 464 465", "warm",
     ["-m", "lowfloat", "quantize", "--format", "e4m3", "0.1", "448", "464", "465"], None),
    (FLOOR_ROW, "warm", ["FLOOR"], None),
    ("import lowfloat + first lf.quantize(float32)", "warm", ["-c", QUANTIZE32], 1.0),
]  # fmt: skip


def timed(python: str, argv: list[str], env: dict, cwd: Path) -> float:
    # run in the measured checkout: ``-c`` and ``-m`` put the working directory first on sys.path, ahead
    # of PYTHONPATH, so from another checkout its own lowfloat would be measured instead
    start = time.perf_counter()
    done = subprocess.run([python, *argv], env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench_startup: {' '.join(argv)} failed:\n{done.stderr}")
    return elapsed


def measure(python: str, repo: Path, argv: list[str], state: str) -> float:
    """Wall time of ``python argv`` in a fresh process with a cache directory of its own."""
    cache = tempfile.mkdtemp(prefix="lowfloat-bench-cache-")
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(repo)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode as an installed package has it (see main)
    try:
        if state == "warm":
            timed(python, argv, env, repo)  # fills the cache
        return timed(python, argv, env, repo)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def runtime_venv() -> str:
    """The python of a virtual environment holding numpy and numba only (created once)."""
    where = Path(tempfile.gettempdir()) / "lowfloat-runtime-only-venv"
    python = where / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "numpy", "numba"], check=True)
    return str(python)


def report(args, runtime: str | None, floor_dir: Path) -> None:
    """Measure every row in interleaved rounds and print the table (see the module docstring)."""
    pythons = [sys.executable] if runtime is None else [sys.executable, runtime]
    # repeats interleaved: round r measures every row once, so a burst of load on this shared machine
    # spreads over the rows instead of landing on one row's every repeat
    times = {(row, python): [] for row in range(len(ROWS)) for python in pythons}
    for _ in range(args.repeats):
        for row, (_, state, argv, _) in enumerate(ROWS):
            argv = [str(floor_dir / "floor.py")] if argv == ["FLOOR"] else argv
            for python in pythons:
                times[row, python].append(measure(python, args.repo, argv, state))
    floors = {}
    for row, (label, state, argv, target) in enumerate(ROWS):
        full = statistics.median(times[row, sys.executable])
        only = None if runtime is None else statistics.median(times[row, runtime])
        judged = full if only is None else only
        verdict = "" if target is None else ("ok" if judged <= target else "OVER")
        target_text = "" if target is None else f"{target:.1f}"
        only_text = "" if only is None else f"{only:.2f}"
        print(f"{label:<52} {state:<6} {full:>10.2f} {only_text:>14} {target_text:>9}  {verdict}")
        if label == FLOOR_ROW:
            floors[state] = judged
        elif argv == ["-c", QUANTIZE32]:  # in the column the verdict reads
            above = f"{judged - floors[state]:.2f}"
            print(f"{'  ... above the numba floor (' + state + ')':<52} {'':<6} "
                  f"{above if only is None else '':>10} {'' if only is None else above:>14}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--no-runtime-venv", action="store_true", help="skip the runtime-only environment column")
    args = parser.parse_args()
    print(f"# bench_startup: {args.repo}, median of {args.repeats} rounds of fresh processes; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    runtime = None if args.no_runtime_venv else runtime_venv()
    # pip compiles an installed package's modules to bytecode; a checkout has them only once something
    # imported it with bytecode writing on (PYTHONDONTWRITEBYTECODE=1 would leave lowfloat's ~40 modules
    # compiled from source in every process, ~0.06 s no user pays)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(args.repo / "lowfloat")], check=True)
    floor_dir = Path(tempfile.mkdtemp(prefix="lowfloat-bench-floor-"))
    (floor_dir / "floor.py").write_text(FLOOR)
    head = f"{'what':<52} {'cache':<6} {'full env s':>10} {'runtime-only s':>14} {'target s':>9}  verdict"
    print(head)
    print("-" * len(head))
    try:
        report(args, runtime, floor_dir)
    finally:
        shutil.rmtree(floor_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
