"""Shared helpers of the kernel workbench: data, checks, interleaved timing, tables, verdicts.

Each ``bench_<op>.py`` script imports this module from its own folder (the
folder is not a package and is never installed or collected by pytest).  The
order of work in every script is the same:

1. make the data (:func:`make_data`: standard-normal values scaled across the
   format's whole range, plus a sprinkle of special values);
2. validate the shipped kernels against each other, numpy/ml_dtypes and
   lowfloat.reference (:func:`validate`, :func:`check`), and refuse to time
   if any disagree (:func:`refuse_if_failed`);
3. time every variant in one process, repetitions interleaved
   (:func:`time_interleaved`), and print one table of medians and ratios
   (:func:`print_table`) followed by the acceptance verdicts (:func:`acceptance`).

A script describes its operation as a :class:`Bench` (the public call, the
other libraries' equivalents, the exact oracles) and hands it to
:func:`run_bench`.  Kernels are timed with the arguments the public call
builds: :func:`launch_of` asks :func:`lowfloat.kernels.plan.plan` what the call runs.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

import lowfloat
from lowfloat import reference
from lowfloat.formats import get_format
from lowfloat.kernels import threads
from lowfloat.kernels.layout import bits_type
from lowfloat.kernels.plan import Plan, plan
from lowfloat.kernels.threads import PARALLEL_MIN_SIZE
from lowfloat.options import random_key

try:
    import ml_dtypes
except ImportError:  # the validation needs it; the scripts say so and stop
    ml_dtypes = None

#: The formats every script measures by default (canonical names).
FORMATS = ("float16", "bfloat16", "float8_e4m3fn", "float8_e5m2")

#: Inputs that every data set carries a few of, spread evenly through it.
SPECIALS = (np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0)
SPECIAL_STRIDE = 4099  # one element in this many is special (a prime: no alignment with SIMD or thread splits)


# --------------------------------------------------------------------------------------------------
# command line and machine


def parse_args(doc: str, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """The options every script takes (``--size --repeats --seed --formats``) plus ``extra`` ones."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--size", type=int, default=24, help="log2 of the number of values (default 24: 16 Mi)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repetitions of each variant (default 7)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data (default 0)")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), help="formats to measure (default: %(default)s)")
    parser.add_argument("--no-torch", action="store_true", help="leave torch out even if it is installed")
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    if args.repeats < 1 or not 1 <= args.size <= 30:
        parser.error("--repeats must be >= 1 and --size between 1 and 30")
    if ml_dtypes is None:
        sys.exit("ml_dtypes is not installed; the workbench validates against it (pip install ml_dtypes==0.6.0)")
    return args


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (how busy the machine was)."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def print_header(title: str, args: argparse.Namespace | None = None) -> None:
    """What ran, where and when: enough to compare two runs' tables."""
    import numba

    print(f"# {title}")
    print(
        f"# {date.today().isoformat()}  {cpu_model()}, {os.cpu_count()} logical cores, "
        f"numba {numba.__version__} (NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}), "
        f"numpy {np.__version__}, ml_dtypes {getattr(ml_dtypes, '__version__', '-')}, lowfloat {lowfloat.__version__}"
    )
    print(f"# source: {source_state()}")
    if args is not None:
        print(f"# n = 2**{args.size} = {1 << args.size:,} values, {args.repeats} interleaved repeats, seed {args.seed}")
    print(f"# load average at start: {load_average()}")


def source_state() -> str:
    """The commit lowfloat was at and whether lowfloat/ had uncommitted edits (tables depend on both)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(lowfloat.__file__)))
    try:
        commit = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", "lowfloat"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {commit}" + (" + uncommitted edits in lowfloat/" if dirty else " (clean lowfloat/)")


def load_before(revision: str):
    """This repository's ``lowfloat`` at ``revision``, imported as the package ``lowfloat_before``.

    Extracted with ``git archive`` into a temporary folder, so that a script
    can time (and first compare) a kernel as it was beside the kernel now.
    """
    root = Path(__file__).resolve().parent.parent
    where = Path(tempfile.mkdtemp(prefix="lowfloat-before-"))
    archive = subprocess.run(["git", "-C", str(root), "archive", revision, "lowfloat"], check=True,
                             capture_output=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    (where / "lowfloat").rename(where / "lowfloat_before")
    sys.path.insert(0, str(where))
    return importlib.import_module("lowfloat_before")


def import_torch(args: argparse.Namespace):
    """torch pinned to one thread, or None (it is optional: rows for it are then left out)."""
    if args.no_torch:
        return None
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


# --------------------------------------------------------------------------------------------------
# data


def ml_dtype(fmt) -> np.dtype:
    """The NumPy dtype that holds ``fmt`` natively: numpy's float16, else the ml_dtypes type of that name."""
    name = get_format(fmt).name
    return np.dtype(np.float16) if name == "float16" else np.dtype(getattr(ml_dtypes, name))


@dataclass
class Data:
    """One format's inputs, shared by validation and timing."""

    x: np.ndarray  # (n,) float32 values; also the source of the np.copyto floor
    x64: np.ndarray  # (n,) float64, the same values
    codes: np.ndarray  # (n,) uint8/uint16: the codes of x, from ml_dtypes (numpy for float16), not from lowfloat


def prepare(fmt, n: int, seed: int) -> Data:
    """The data of one format: :func:`make_data`, widened, and encoded independently of lowfloat."""
    fmt = get_format(fmt)
    x = make_data(fmt, n, seed)
    with np.errstate(invalid="ignore", over="ignore"):
        codes = x.astype(ml_dtype(fmt)).view(fmt.code_dtype)
    return Data(x, x.astype(np.float64), codes)


def make_data(fmt, n: int, seed: int) -> np.ndarray:
    """``n`` float32 values: standard normals times 2**k, k uniform from below the smallest subnormal to above max.

    Every binade the format has -- subnormals, normals, overflow -- gets about
    the same share, and one value in :data:`SPECIAL_STRIDE` is NaN, +-inf or +-0.
    """
    fmt = get_format(fmt)
    rng = np.random.default_rng(seed)
    low = fmt.emin - fmt.man_bits - 2  # values that round to zero
    high = min(int(np.floor(np.log2(fmt.max))) + 2, 127)  # values that overflow, while float32 holds 2**k
    scale = np.exp2(rng.integers(low, high, n, dtype=np.int32).astype(np.float32))  # (n,) float32
    x = rng.standard_normal(n, dtype=np.float32)  # (n,) float32
    with np.errstate(over="ignore"):  # near float32's top (bfloat16) some values overflow to inf: wanted
        x *= scale
    specials = np.resize(np.array(SPECIALS, np.float32), x[::SPECIAL_STRIDE].shape)
    x[::SPECIAL_STRIDE] = specials
    return x


def float64_sample(fmt, count: int, seed: int) -> np.ndarray:
    """Hard float64 inputs for the exact reference: midpoints of the grid, one float64 ulp either side, and randoms.

    The grid comes from ml_dtypes/numpy (not from lowfloat).  A midpoint plus
    or minus one float64 ulp is exactly the input that rounding via float32
    gets wrong (double rounding), so it checks that float64 input is rounded once.
    """
    fmt = get_format(fmt)
    rng = np.random.default_rng(seed + 1)
    codes = np.arange(1 << fmt.bits, dtype=fmt.code_dtype)
    with np.errstate(invalid="ignore"):
        grid = codes.view(ml_dtype(fmt)).astype(np.float64)
    grid = np.unique(grid[np.isfinite(grid) & (grid >= 0)])  # (g,) sorted, 0 first
    pick = rng.choice(grid.size - 1, size=min(count, grid.size - 1), replace=False)
    pick = np.union1d(pick, [0, 1, grid.size - 2])  # around zero, the first subnormal, the top
    mids = (grid[pick] + grid[pick + 1]) / 2  # exact: the formats have far fewer bits than float64
    top = grid[-1] + (grid[-1] - grid[-2]) / 2  # max + ulp(max)/2: the overflow threshold
    mids = np.append(mids, top)
    near = np.concatenate([mids, np.nextafter(mids, np.inf), np.nextafter(mids, -np.inf)])
    randoms = make_data(fmt, count, seed + 2).astype(np.float64)
    randoms *= 1 + rng.uniform(-(2.0**-20), 2.0**-20, count)  # leave float32's grid
    sample = np.concatenate([near, randoms, [1 + 2.0**-4 + 2.0**-30, np.nan, np.inf, -np.inf, 0.0, -0.0]])
    return np.concatenate([sample, -sample[: near.size]])


def reference_of(op: str, inputs: np.ndarray, fmt) -> np.ndarray:
    """:mod:`lowfloat.reference`'s ``op`` (quantize, encode or decode) of every input: slow and exact."""
    fmt = get_format(fmt)
    exact = getattr(reference, op)
    if op == "decode":
        return np.array([exact(int(c), fmt) for c in inputs], np.float64)
    dtype = fmt.code_dtype if op == "encode" else np.float64
    return np.array([exact(float(v), fmt) for v in inputs], dtype)


def sample_oracles(op: str, data: Data, fmt) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Exact-reference checks on hard float64 inputs and on a slice of the float32 data (quantize, encode)."""
    fmt = get_format(fmt)
    sample64 = float64_sample(fmt, 1500, seed=len(fmt.name))
    sample32 = data.x[:: max(1, data.x.size // 1500)]
    return [
        (f"float64 sample == lowfloat.reference.{op}", sample64, reference_of(op, sample64, fmt)),
        (f"float32 sample == lowfloat.reference.{op}", sample32, reference_of(op, sample32, fmt)),
    ]


# --------------------------------------------------------------------------------------------------
# kernel launches: what the public calls run, captured so the workbench times exactly that


@dataclass
class Launch:
    """One kernel launch as a public lowfloat call makes it: the call's :class:`~lowfloat.kernels.plan.Plan`,
    the arrays it hands the kernel, and stochastic rounding's key."""

    plan: Plan
    arrays: tuple  # the kernel's input and output arrays (1-D; floats as their bits)
    size: int  # elements
    key: np.uint64 = np.uint64(0)
    request: tuple = ()  # plan()'s arguments after the dtype, to ask for another path

    @property
    def name(self) -> str:
        return f"{self.plan.kernel.__name__} ({self.plan.path} path)"

    def _constants(self) -> tuple:
        return self.plan.constants + ((self.key,) if self.plan.random else ())

    def serial(self) -> Callable[[], object]:
        """One call of the kernel over the whole array on this thread."""
        kernel, arrays, size, constants = self.plan.kernel, self.arrays, self.size, self._constants()
        return lambda: kernel(*arrays, 0, size, *constants)

    def parallel(self) -> Callable[[], object]:
        """:func:`lowfloat.kernels.threads.run` told to split the array across its threads, whatever its size."""
        kernel, arrays, size, constants = self.plan.kernel, self.arrays, self.size, self._constants()
        return lambda: threads.run(kernel, size, arrays, constants, min_size=0)

    def on_path(self, path: str) -> Launch | None:
        """The same launch on another path of the plan (None where that path does not serve the format)."""
        try:
            chosen = plan(self.plan.operation, *self.request[:1], self.plan.dtype, *self.request[1:], path=path)
        except ValueError:
            return None
        return Launch(chosen, self.arrays, self.size, self.key, self.request)


def launch_of(op: str, source: np.ndarray, fmt, out: np.ndarray, *, rounding="nearest_even", rng=None) -> Launch:
    """The launch of ``lowfloat.<op>(source, fmt, out=out, rounding=..., rng=...)``: the plan says what runs.

    ``source`` and ``out`` are C-contiguous arrays of the public call (float32
    or float64 data, or codes for decode).  The workbench validates that the
    launch writes what the public call returns, bit for bit.
    """
    fmt = get_format(fmt)
    if op == "decode":
        chosen = plan("decode", fmt, out.dtype)
        return Launch(chosen, (source.reshape(-1), out.reshape(-1).view(bits_type(out.dtype))), source.size,
                      request=(fmt,))  # fmt: skip
    key = random_key(rounding, rng, None)
    chosen = plan(op, fmt, source.dtype, rounding)
    uint = bits_type(source.dtype)
    target = out.reshape(-1) if op == "encode" else out.reshape(-1).view(uint)
    return Launch(chosen, (source.reshape(-1).view(uint), target), source.size, key, request=(fmt, rounding))


# --------------------------------------------------------------------------------------------------
# validation


@dataclass
class Checks:
    """The outcome of the validation: one line per check; ``failed`` names the ones that disagreed."""

    failed: list[str] = field(default_factory=list)


def mismatches(got: np.ndarray, want: np.ndarray, *, bits: bool) -> np.ndarray:
    """Indices where ``got`` and ``want`` differ.

    Floats are compared by their bits (so -0 and +0 differ), except that any
    NaN equals any NaN unless ``bits`` is true; codes are compared as integers.
    """
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype.kind == "f" and not bits:
        wide = np.promote_types(got.dtype, want.dtype)
        g, w = got.astype(wide), want.astype(wide)
        same_bits = g.view(f"u{wide.itemsize}") == w.view(f"u{wide.itemsize}")
        return np.flatnonzero(~(same_bits | (np.isnan(g) & np.isnan(w))))
    if got.dtype.kind == "f":
        return np.flatnonzero(got.view(f"u{got.itemsize}") != want.view(f"u{want.itemsize}"))
    return np.flatnonzero(got.astype(np.int64) != want.astype(np.int64))


def check(checks: Checks, label: str, got, want, inputs, *, bits: bool = False, gate: bool = True) -> None:
    """Compare ``got`` with ``want`` and print one line; a disagreement fails the run when ``gate``.

    ``gate=False`` is for references whose semantics differ on purpose
    (torch saturates E4M3): the count is printed for information only.
    """
    bad = mismatches(got, want, bits=bits)
    inputs = np.asarray(inputs)
    status = "ok  " if bad.size == 0 else ("FAIL" if gate else "info")
    print(f"  {status} {label}: {inputs.size - bad.size:,} of {inputs.size:,} agree")
    for i in bad[:5]:
        print(
            f"         input {_show(inputs.flat[i])}: got {_show(np.asarray(got).flat[i])}, "
            f"expected {_show(np.asarray(want).flat[i])}"
        )
    if bad.size and gate:
        checks.failed.append(label)


def _show(value) -> str:
    """A value with its exact bits: ``1.5 (0x3fc00000)``; codes in hex."""
    value = np.asarray(value)
    if value.dtype.kind == "f":
        return f"{float(value)!r} ({float(value).hex()})"
    return hex(int(value))


def refuse_if_failed(checks: Checks) -> None:
    """Stop before timing when a kernel disagrees with a reference: a fast wrong kernel is not worth a number."""
    if checks.failed:
        print(f"\nREFUSING TO TIME: {len(checks.failed)} check(s) failed: {'; '.join(checks.failed)}")
        sys.exit(1)
    print("  all checks passed\n")


# --------------------------------------------------------------------------------------------------
# timing


@dataclass
class Case:
    """One timed variant: a row of the table."""

    group: str  # the format it belongs to (ratios are taken within a group)
    name: str  # the row label
    run: Callable[[], object]  # one call of the work; its result is dropped at once
    reference: bool = False  # another library's row (its ratio to lowfloat is judged), not lowfloat's
    times: list[float] = field(default_factory=list)  # seconds, one per repeat
    against: str | None = None  # a reference row judged as lowfloat's row of this name / this row (see Reference)

    @property
    def median(self) -> float:
        return float(np.median(self.times))


def time_interleaved(cases: list[Case], repeats: int, inner: int = 1) -> None:
    """Time every case ``repeats`` times, in rotating order, each sample right after an untimed call.

    Interleaving puts every variant under the same drift of clock speed and
    background load, so ratios of medians are fair even when absolute times
    wander.  ``inner`` calls make one sample (for short kernels).

    The untimed call before each sample makes the sample a *repeated* call,
    as in a loop: a call that allocates its result then gets the memory the
    call before it just freed.  Without it, memory freed a second or more
    earlier has often been handed back to this virtual machine's host (the
    balloon device's free page reporting), and faulting in a fresh 64 MB
    result costs 100-200 ms instead of 5 ms (kernels/README.md, "Allocation
    on this machine").  Every row, the other libraries' included, is timed
    the same way.  The references' overflow warnings are silenced (numpy
    float16 warns on 70000).
    """
    gc_was_enabled = gc.isenabled()
    with np.errstate(all="ignore"):
        for case in cases:
            case.run()  # compile, fault in pages, start thread pools
        gc.disable()
        try:
            for r in range(repeats):
                order = cases[r % len(cases) :] + cases[: r % len(cases)]
                if r % 2:
                    order.reverse()
                for case in order:
                    case.run()  # untimed: the sample below is a repeated call (see above)
                    start = time.perf_counter()
                    for _ in range(inner):
                        case.run()
                    case.times.append((time.perf_counter() - start) / inner)
        finally:
            if gc_was_enabled:
                gc.enable()


# --------------------------------------------------------------------------------------------------
# reporting


def print_table(cases: list[Case], n: int, floor: str, subject: str) -> None:
    """One aligned table: per format, every variant's median and min (ms), rate, and two ratios.

    ``/floor`` is the median over the memory-bound floor (the row named
    ``floor`` in the same format); ``/subject`` is the median over the
    public lowfloat call with allocation (row ``subject``) -- for a
    reference row, how many times slower than lowfloat it is.
    """
    by_group: dict[str, dict[str, Case]] = {}
    for case in cases:
        by_group.setdefault(case.group, {})[case.name] = case
    width = max(len(c.name) for c in cases)
    head = (
        f"{'format':<14} {'variant':<{width}} {'median ms':>10} {'min ms':>8} {'Gval/s':>7} "
        f"{'/floor':>7} {'/subject':>9}"
    )
    print(head)
    print("-" * len(head))
    for group, rows in by_group.items():
        base_floor, base_subject = rows[floor].median, rows[subject].median
        for case in rows.values():
            print(
                f"{group:<14} {case.name:<{width}} {case.median * 1e3:>10.2f} {min(case.times) * 1e3:>8.2f} "
                f"{n / case.median / 1e9:>7.2f} {case.median / base_floor:>7.2f} {case.median / base_subject:>9.2f}"
            )
        print()


def verdict(label: str, value: float, target: float | None, *, at_least: bool, digits: int = 2) -> bool:
    """Print ``label: value (target) PASS/FAIL``; with no target the line is informational."""
    if target is None:
        print(f"  {label:<76} {value:8.{digits}f}   (no target)       info")
        return True
    ok = value >= target if at_least else value <= target
    sign = ">=" if at_least else "<="
    print(f"  {label:<76} {value:8.{digits}f}   (target {sign} {target:<5g})  {'PASS' if ok else 'FAIL'}")
    return ok


def print_footer() -> None:
    """The load at the end: a table measured under heavy load says so."""
    print(f"# load average at end: {load_average()}")


# --------------------------------------------------------------------------------------------------
# the workbench of one operation: what differs between quantize, encode and decode is a Bench


#: Targets that hold for every operation: the serial kernel streams at memory speed, and float64 data
#: (twice the bytes) goes at least half as fast as float32.
TARGET_SERIAL_OVER_COPY = 1.2  # serial kernel into out / np.copyto of the float32 input: at most
TARGET_F64_RATE = 0.5  # float64 values/s / float32 values/s, serial kernels into out: at least
FLOOR = "np.copyto(out, x)"
FLOOR64 = "np.copyto(out64, x64)"  # FLOOR on the float64 values: the bound of the float64 rate
SERIAL = "kernel, serial -> out"  # the kernel over the whole array on one thread
PARALLEL = "threads.run, split -> out"  # the same kernel split across threads.run's pool
GENERAL = "general kernel, serial -> out"  # SERIAL on the plan's general path: the every-mode kernel
SERIAL64 = "f64 kernel, serial -> out"  # SERIAL on float64 data (or float64 values, for decode)


@dataclass
class Reference:
    """Another library doing the same work: timed beside lowfloat, and compared with it first.

    A row with ``against`` set is judged the other way round: lowfloat's row
    of that name divided by this one, at most the bench's target (torch on
    the default thread count, which lowfloat must match or beat).
    """

    label: str  # the row label
    run: Callable[[], object]  # the timed call
    as_array: Callable[[object], np.ndarray] = np.asarray  # its result, comparable with lowfloat's
    gate: bool = True  # False: a disagreement is reported, not fatal (torch saturates E4M3 on purpose)
    against: str | None = None  # the lowfloat row it is judged against (None: ratio to the allocating call)


def other_libraries(
    fmt, torch, host, host_label: str, tensor, tensor_label: str, tensor_result=None, into=None, into_label="",
    op: str = "",
) -> list[Reference]:  # fmt: skip
    """The same work done by numpy (float16) or ml_dtypes (the others), and by torch when it imports.

    ``host(dtype)`` returns the timed call given numpy's float16 or the ml_dtypes
    type; ``tensor(dtype)`` the torch call given the torch dtype, and
    ``tensor_result`` turns its tensor into an array comparable with lowfloat's.
    torch is compared for information only: torch >= 2.12 saturates E4M3
    overflow where lowfloat and ml_dtypes give NaN, and writes NaN codes
    differently.

    With ``into(dtype)`` -- torch's ``copy_`` into preallocated tensors,
    returning the tensor that holds the result -- two more rows run torch on
    :func:`lowfloat.kernels.threads.thread_count` threads, as lowfloat does:
    that ``copy_``, judged against ``lowfloat.<op>(x, out=)``, and the
    allocating ``tensor`` call, judged against ``lowfloat.<op>(x)``.
    """
    fmt = get_format(fmt)
    library = "numpy" if fmt.name == "float16" else "ml_dtypes"
    refs = [Reference(f"{library} {host_label}", host(ml_dtype(fmt)))]
    if torch is not None and hasattr(torch, fmt.name):
        as_array = tensor_result or (lambda t: t.numpy())
        run = tensor(getattr(torch, fmt.name))
        refs.append(Reference(f"torch {tensor_label}, 1 thread", run, as_array=as_array, gate=False))
        if into is not None:
            count = threads.thread_count()
            arg = "c" if op == "decode" else "x"
            refs.append(Reference(f"torch {into_label}, {count} threads", on_threads(torch, count, into(getattr(
                torch, fmt.name))), as_array=as_array, gate=False, against=f"lowfloat.{op}({arg}, out=)"))  # fmt: skip
            refs.append(Reference(f"torch {tensor_label}, {count} threads", on_threads(torch, count, run),
                                  as_array=as_array, gate=False, against=f"lowfloat.{op}({arg})"))  # fmt: skip
    return refs


def on_threads(torch, count: int, run: Callable[[], object]) -> Callable[[], object]:
    """``run`` with torch on ``count`` threads (the other torch rows keep one; switching costs under a microsecond)."""

    def call():
        torch.set_num_threads(count)
        try:
            return run()
        finally:
            torch.set_num_threads(1)

    return call


@dataclass
class Bench:
    """What one workbench script supplies; :func:`run_bench` does the rest."""

    op: str  # the public function: "quantize", "encode" or "decode"
    call: Callable  # call(data, fmt, wide, out): the public call; wide = float64 input (values for decode)
    references: Callable  # references(data, fmt, torch) -> list[Reference]
    oracles: Callable  # oracles(data, fmt) -> [(label, inputs, expected)]: checks of getattr(lowfloat, op)
    target: Callable = lambda fmt_name, label: None  # acceptance target of reference / lowfloat, if any
    extra_kernels: Callable = lambda data, fmt, out: []  # [(label, call)]: more kernel variants writing into out

    @property
    def arg(self) -> str:
        return "c" if self.op == "decode" else "x"

    @property
    def subject(self) -> str:
        return f"lowfloat.{self.op}({self.arg})"

    def inputs(self, data: Data) -> np.ndarray:
        return data.codes if self.op == "decode" else data.x


def _kernel_variants(bench: Bench, data: Data, fmt, out: np.ndarray) -> tuple[Launch, list[tuple[str, Callable]]]:
    """The public call's launch, and (label, call) of every kernel variant writing into ``out``.

    The variants: serial, parallel, the general path (where the call takes another), the bench's extras.
    """
    launch = launch_of(bench.op, bench.inputs(data), fmt, out)
    variants = [(SERIAL, launch.serial()), (PARALLEL, launch.parallel())]
    general = launch.on_path("general") if bench.op != "decode" and launch.plan.path != "general" else None
    if general is not None:
        variants.append((GENERAL, general.serial()))
    return launch, variants + bench.extra_kernels(data, fmt, out)


def validate(bench: Bench, data: Data, fmt, checks: Checks, torch) -> None:
    """Every lowfloat path of one format against each other, the other libraries and the exact reference."""
    fmt = get_format(fmt)
    inputs = bench.inputs(data)
    api = bench.call(data, fmt, False, None)
    out = np.full_like(api, 85)  # unless the call writes every element, the check fails
    bench.call(data, fmt, False, out)
    launch, variants = _kernel_variants(bench, data, fmt, out)
    print(f"{fmt.name} (lowfloat.{bench.op} launches {launch.name}):")
    check(checks, f"lowfloat.{bench.op}({bench.arg}, out=) == {bench.subject} (bits)", out, api, inputs, bits=True)
    for label, run in variants:
        out.fill(out.dtype.type(85))  # unless the kernel writes every element, the check fails
        run()
        check(checks, f"{label} == {bench.subject} (bits)", out, api, inputs, bits=True)
    wide = bench.call(data, fmt, True, None)
    check(checks, f"float64 path == {bench.subject}", wide, api, inputs)
    for ref in bench.references(data, fmt, torch):
        with np.errstate(all="ignore"):
            theirs = ref.as_array(ref.run())
        check(checks, f"{bench.subject} == {ref.label}", api, theirs, inputs, gate=ref.gate)
    for label, sample, expected in bench.oracles(data, fmt):
        check(checks, label, getattr(lowfloat, bench.op)(sample, fmt), expected, sample)


def bench_cases(bench: Bench, data: Data, fmt, torch) -> list[Case]:
    """The timed rows of one format (see the scripts' docstrings for each)."""
    fmt = get_format(fmt)
    group = fmt.name
    floor_out, floor_out64 = np.empty_like(data.x), np.empty_like(data.x64)  # (n,) float32, float64
    out = np.empty_like(bench.call(data, fmt, False, None))  # preallocated; faulted in by the warm-up
    out64 = np.empty_like(bench.call(data, fmt, True, None))
    serial64 = launch_of(bench.op, data.codes if bench.op == "decode" else data.x64, fmt, out64).serial()
    cases = [
        Case(group, FLOOR, lambda: np.copyto(floor_out, data.x)),
        Case(group, bench.subject, lambda: bench.call(data, fmt, False, None)),
        Case(group, f"lowfloat.{bench.op}({bench.arg}, out=)", lambda: bench.call(data, fmt, False, out)),
    ]
    cases += [Case(group, label, run) for label, run in _kernel_variants(bench, data, fmt, out)[1]]
    cases += [
        Case(group, FLOOR64, lambda: np.copyto(floor_out64, data.x64)),
        Case(group, SERIAL64, serial64),
        Case(group, f"f64 lowfloat.{bench.op}(out=)", lambda: bench.call(data, fmt, True, out64)),
    ]
    cases += [Case(group, ref.label, ref.run, reference=True, against=ref.against)
              for ref in bench.references(data, fmt, torch)]  # fmt: skip
    return cases


def acceptance(bench: Bench, cases: list[Case]) -> bool:
    """The ratios of the medians with their targets (PASS/FAIL), or for information where there is none."""
    rows: dict[str, dict[str, Case]] = {}
    for case in cases:
        rows.setdefault(case.group, {})[case.name] = case
    print("Acceptance (ratios of the medians above):")
    ok = True
    for name, row in rows.items():
        t = {label: case.median for label, case in row.items()}
        ok &= verdict(
            f"{name}: serial into out / copyto", t[SERIAL] / t[FLOOR], TARGET_SERIAL_OVER_COPY, at_least=False
        )
        for label, case in row.items():
            if case.reference and case.against is not None:
                ratio = t[case.against] / t[label]
                ok &= verdict(f"{name}: {case.against} / {label}", ratio, bench.target(name, label), at_least=False)
            elif case.reference:
                target = bench.target(name, label)
                ok &= verdict(f"{name}: {label} / {bench.subject}", t[label] / t[bench.subject], target, at_least=True)
        ok &= verdict(
            f"{name}: float64 rate / float32 rate (serial, out)",
            t[SERIAL] / t[SERIAL64],
            TARGET_F64_RATE,
            at_least=True,
        )
        # a copy moves twice the bytes for float64 too: where a kernel streams at memory speed
        # on both widths (quantize), its float64 rate cannot beat this one
        verdict(f"{name}: float64 rate / float32 rate of np.copyto itself", t[FLOOR] / t[FLOOR64], None, at_least=True)
        for label in t:
            if label.endswith("-> out") and label not in (SERIAL, PARALLEL, SERIAL64):
                verdict(f"{name}: {label.removesuffix(' -> out')} / serial", t[label] / t[SERIAL], None, at_least=True)
        verdict(
            f"{name}: parallel / serial, into out (< 1: parallel wins)",
            t[PARALLEL] / t[SERIAL],
            None,
            at_least=True,
        )
    return ok


def run_bench(bench: Bench, args: argparse.Namespace, title: str) -> None:
    """Validate every format, refuse on any disagreement, then time, tabulate and judge."""
    torch = import_torch(args)
    print_header(title, args)
    used = f"{torch.__version__} (1 thread; {threads.thread_count()} for the rows that say so)" if torch else "not used"
    print(f"# torch {used}; PARALLEL_MIN_SIZE = {PARALLEL_MIN_SIZE:,}\n")
    n = 1 << args.size
    data, checks = {}, Checks()
    print("Validation (before any timing):")
    for name in args.formats:
        data[name] = prepare(name, n, args.seed)
        validate(bench, data[name], name, checks, torch)
    refuse_if_failed(checks)
    cases = []
    for name in args.formats:
        group = bench_cases(bench, data[name], name, torch)
        time_interleaved(group, args.repeats)
        cases += group
    print(
        f"Medians of {args.repeats} interleaved repeats, n = {n:,}; /floor = median / np.copyto's, "
        f"/subject = median / {bench.subject}'s"
    )
    print_table(cases, n, FLOOR, bench.subject)
    passed = acceptance(bench, cases)
    print(f"\nOverall: {'PASS' if passed else 'FAIL'}")
    print_footer()
