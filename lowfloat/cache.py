"""Compile every kernel path into Numba's disk cache ahead of time: ``lowfloat warmup``.

Each kernel path compiles the first time a call takes it (about half a
second to a second each) and is cached on disk for later processes.  A
classroom image, a CI image or a notebook server can pay all of that once:
:func:`warmup` compiles every path the public functions take -- each
operation, path, input width and code width -- in worker processes on all
cores, and a second run, which finds everything cached, only checks Numba's
cache index and takes well under a second.

>>> import lowfloat as lf
>>> report = lf.warmup(processes=1)    # doctest: +SKIP
>>> print(report)                      # doctest: +SKIP
compiled 0 of 57 kernel signatures (57 were cached) in 0.3 s; cache: /home/me/.cache/numba/...
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np

from .progress import Progress

__all__ = ["warmup", "WarmupReport", "jobs"]

# What each job compiles: (operation, format, data dtype, rounding mode, flags).  The formats stand
# for their code widths -- e4m3 uint8, float16 uint16, tensorfloat32 uint32 -- and for each decode path
# (float16, bfloat16 and tensorfloat32 for the shorter loops of float32 data too, lowfloat/kernels/shortcuts.py);
# the two wide formats (beyond float32's range: their own layout type) for uint32 and uint64 codes.
_WIDE_FORMATS = ("e11m10_b1023", "e11m52_b1023")
_CAST_FORMATS = ("float8_e4m3fn", "float16", "bfloat16", "tensorfloat32", *_WIDE_FORMATS)
_DECODE_FORMATS = ("float8_e4m3fn", "float16", "bfloat16", "tensorfloat32", "float8_e8m0fnu",
                   "float32", *_WIDE_FORMATS)  # fmt: skip
_OTHER = ("arith", "blocks", "integers", "accumulate")


@dataclass(frozen=True)
class Job:
    """One kernel signature to compile: a plan's request, or one of the other kernels by name."""

    operation: str
    fmt: str = ""
    dtype: str = "float32"
    rounding: str = "nearest_even"
    flags: bool = False

    def __str__(self):
        if self.operation in _OTHER:
            return self.operation
        return f"{self.operation} {self.fmt} {self.dtype} {self.rounding}{' flags' if self.flags else ''}"


def jobs() -> list[Job]:
    """Every kernel signature the public functions use for the built-in formats' code widths."""
    found = []
    for dtype in ("float32", "float64"):
        for fmt in _CAST_FORMATS:
            if dtype == "float32" and fmt in _WIDE_FORMATS:
                continue  # rounded from float64 data only
            for operation in ("encode", "quantize"):
                for rounding in ("nearest_even", "stochastic", "toward_zero"):
                    found.append(Job(operation, fmt, dtype, rounding))
                found.append(Job(operation, fmt, dtype, flags=True))
        for fmt in _DECODE_FORMATS:
            if not (dtype == "float32" and fmt in _WIDE_FORMATS):  # their values need float64
                found.append(Job("decode", fmt, dtype))
    for rounding in ("nearest_even", "stochastic", "toward_zero"):
        found += [Job("sum", "bfloat16", "float64", rounding), Job("matmul", "bfloat16", "float64", rounding)]
    return found + [Job(name) for name in _OTHER]


def _plan_call(job: Job, checking: bool = False):
    """(kernel, arguments) of a plan job but matmul, on one-element arrays of the types the public call passes.

    ``checking``: only the types matter -- a decode table is not built (that runs a kernel), a
    read-only stand-in of its type is passed.
    """
    from .formats import get_format
    from .kernels import decode
    from .kernels.layout import bits_type
    from .kernels.plan import decode_path, plan

    fmt, dtype = get_format(job.fmt), np.dtype(job.dtype)
    uint = bits_type(dtype)
    if checking and job.operation == "decode" and decode_path(fmt, dtype) == "table":
        table = np.zeros(1 << fmt.bits, uint)
        table.flags.writeable = False
        return decode.lookup, (np.zeros(1, fmt.code_dtype), np.zeros(1, uint), 0, 1, table)
    chosen = plan(job.operation, fmt, dtype, job.rounding, flags=job.flags)
    key = (np.uint64(1),) if chosen.random else ()
    if job.operation == "decode":
        arrays = (np.zeros(1, fmt.code_dtype), np.zeros(1, uint))
    elif job.operation in ("encode", "quantize"):
        target = np.zeros(1, fmt.code_dtype if job.operation == "encode" else uint)
        arrays = (np.zeros(1, uint), target) + ((np.zeros(1, np.uint8),) if job.flags else ())
    elif job.operation == "sum":
        return chosen.kernel, (np.zeros((1, 1)), np.zeros(1), False, 0.0, *chosen.constants, np.uint64(1))
    return chosen.kernel, (*arrays, 0, 1, *chosen.constants, *key)


def _matmul_calls(job: Job) -> list:
    """(loop, arguments) of every compiled loop a matmul of this job's accumulator and mode may run."""
    from .formats import get_format
    from .kernels.matmul import loops
    from .kernels.plan import plan
    from .kernels.schedule import schedule

    fmt = get_format(job.fmt)
    chosen = plan("matmul", fmt, np.float64, job.rounding)
    a, b = np.zeros((1, 1, 1), np.float32), np.zeros((1, 1, 1), np.float32)
    plan_of_sums = schedule(a[0], b[0], fmt, 1, False, 0.0)
    return [(loop, (a, b, np.zeros((1, 1, 1)), 0, 1, plan_of_sums, constants, np.uint64(1)))
            for loop, constants in loops(chosen.kernel, *chosen.constants)]  # fmt: skip


def _other_calls(name: str) -> list:
    """(kernel, arguments) of the kernels outside the plan: arithmetic, block amax, integer widening."""
    from .kernels import amax, arith, widen

    one, none = np.zeros(1), np.zeros(0, np.uint8)
    if name == "arith":
        return [(arith.binary_kernel, (arith.ADD, one, one, one, none, False)),
                (arith.fma_kernel, (one, one, one, one, none, False)), (arith.sqrt_kernel, (one, one, none, False))]
    if name == "blocks":
        return [(amax.block_amax_kernel, (np.zeros((1, 1), dtype), np.zeros(1, dtype)))
                for dtype in (np.float32, np.float64)]  # fmt: skip
    if name == "integers":
        return [(widen.widen_to_odd, (np.zeros(1, dtype), one)) for dtype in (np.int64, np.uint64)]
    return []  # "accumulate": sum and matmul are plan jobs; nothing else to compile


def _calls(job: Job, checking: bool = False) -> list:
    if job.operation in _OTHER:
        return _other_calls(job.operation)
    return _matmul_calls(job) if job.operation == "matmul" else [_plan_call(job, checking)]


def _is_cached(kernel, args) -> bool:
    """Whether Numba's disk cache holds ``kernel`` compiled for these arguments' types (its index, not loaded)."""
    import numba

    cache = getattr(kernel, "_cache", None)
    try:
        signature = tuple(numba.typeof(a) for a in args)
        key = cache._index_key(signature, kernel.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # noqa: BLE001 -- Numba's cache internals moved or no cache: compile to be sure
        return False


def _compile(group: list[Job]) -> int:
    """Compile some jobs' kernels, one after the other (in a worker process); returns how many."""
    with np.errstate(all="ignore"):
        for job in group:
            for kernel, args in _calls(job):
                kernel(*args)
    return len(group)


def _groups(todo: list[Job]) -> list[list[Job]]:
    """The jobs in groups that share no entry point, each to compile in one process.

    Numba's cache index of a function is rewritten whole on every save: two processes
    adding signatures of one function at once would lose one of them.
    """
    from .formats import get_format
    from .kernels import decode
    from .kernels.plan import decode_path

    def entry_points(job: Job) -> set:
        kernels = {kernel for kernel, _ in _calls(job, checking=True)}
        if job.operation == "decode" and decode_path(get_format(job.fmt), job.dtype) == "table":
            kernels |= {decode.decode_float32, decode.decode_float64}  # the table is built by the general decode
        return kernels

    groups: list[tuple[set, list[Job]]] = []
    for job in todo:
        kernels, members = entry_points(job), [job]
        for group in [g for g in groups if g[0] & kernels]:
            groups.remove(group)
            kernels |= group[0]
            members = group[1] + members
        groups.append((kernels, members))
    return [members for _, members in groups]


@dataclass(frozen=True)
class WarmupReport:
    """What :func:`warmup` did: how many signatures it compiled, how many were cached, the time, the cache."""

    compiled: int
    cached: int
    seconds: float
    cache_dir: str

    def __str__(self):
        total = self.compiled + self.cached
        return (f"compiled {self.compiled} of {total} kernel signatures ({self.cached} were cached) in "
                f"{self.seconds:.1f} s; cache: {self.cache_dir}")  # fmt: skip


def cache_dir() -> str:
    """Where Numba keeps lowfloat's compiled kernels (``NUMBA_CACHE_DIR``, else beside the sources or per user)."""
    from .kernels import encode

    cache = getattr(encode.nearest_float32, "_cache", None)
    return getattr(cache, "cache_path", "(no disk cache: kernels compile in every process)")


def warmup(*, processes: int | None = None, progress: bool | None = None, operations=None) -> WarmupReport:
    """Compile every kernel path into Numba's disk cache, on all cores.

    Parameters
    ----------
    processes : int, optional
        Worker processes (default: every core).  1 compiles in this process.
    progress : bool, optional
        Show a progress bar on stderr; default: only when stderr is a terminal.
    operations : sequence of str, optional
        Only these: ``"encode"``, ``"quantize"``, ``"decode"``, ``"sum"``,
        ``"matmul"``, ``"arith"``, ``"blocks"``, ``"integers"`` (default: all).

    Returns
    -------
    WarmupReport
        Counts, time and cache directory; ``str()`` of it is one line.

    Notes
    -----
    Only signatures missing from the cache are compiled: a second run checks
    Numba's cache index and returns quickly.  The cache is keyed by source
    files, so after upgrading lowfloat run it again.
    """
    start = time.perf_counter()
    selected = jobs()
    if operations is not None:
        known = {job.operation for job in selected}
        unknown = set(operations) - known
        if isinstance(operations, str) or unknown:
            raise ValueError(f"operations must be a list of {', '.join(sorted(known))}; got {operations!r}")
        selected = [job for job in selected if job.operation in operations]
    todo = [job for job in selected if not all(_is_cached(kernel, args) for kernel, args in _calls(job, checking=True))]
    total = len(selected)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    workers = max(1, min(processes or os.cpu_count() or 1, len(todo) or 1))
    groups = _groups(todo)
    workers = min(workers, max(len(groups), 1))
    with Progress(len(todo), enabled=show, label="compiling", unit="kernel signatures") as bar:
        if workers == 1:
            for group in groups:
                bar.update(_compile(group))
        elif groups:
            # fresh interpreters: a forked child would inherit this process's LLVM and thread state
            with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                for future in as_completed([pool.submit(_compile, group) for group in groups]):
                    bar.update(future.result())
    return WarmupReport(len(todo), total - len(todo), time.perf_counter() - start, cache_dir())


def register(subparsers) -> None:
    """The ``lowfloat warmup`` subcommand."""
    import argparse

    parser = subparsers.add_parser(
        "warmup",
        help="compile every kernel into the disk cache, on all cores",
        description="Compile every kernel path into Numba's disk cache, so that later processes start at once "
        "(classrooms, CI images). A second run finds everything cached and takes under a second.",
        epilog="examples:\n  lowfloat warmup\n  lowfloat warmup --processes 1\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--processes", type=int, default=None, help="worker processes (default: every core)")
    parser.add_argument("--only", nargs="+", metavar="OPERATION", help="only these operations (e.g. decode quantize)")
    parser.set_defaults(run=_run)


def _run(args) -> None:
    if args.processes is not None and args.processes < 1:
        raise ValueError(f"--processes must be at least 1, got {args.processes}")
    print(warmup(processes=args.processes, operations=args.only))
