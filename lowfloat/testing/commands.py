"""The ``lowfloat check`` command: compare a cast with lowfloat from a shell.

:func:`register` adds the subcommand to ``lowfloat``'s argparse subparsers
(:mod:`lowfloat.cli` lists it in ``COMMANDS``).  The command prints the
report of :func:`~lowfloat.testing.check_cast` and exits with status 0 when
every input gave lowfloat's answer, 1 when some did not, and 2 on a usage
error (one line on stderr: an unknown format, a target that cannot be
imported, a library that lacks the format, a target that raises).
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["register", "resolve_target"]

_EXAMPLES = """examples:
  lowfloat check torch --format e4m3 --input float64       torch's cast, on the hard cases
  lowfloat check torch --format e4m3 --overflow saturate    torch saturates E4M3: check that
  lowfloat check ml_dtypes --format e4m3 --exhaustive       all 2**32 float32 inputs, one process per core
  lowfloat check numpy --format fp16 --input float64 --cases 1000000
  lowfloat check mycasts:to_e4m3 --format e4m3              your function, imported from mycasts.py

TARGET is module:function -- a function from a 1-D NumPy array of inputs to
codes (or values, with --output values), imported from the current directory
or the installed packages -- or one of the adapters ml_dtypes, torch, numpy,
which run that library's own cast.  bfloat16 inputs reach a function as
float32 arrays holding bfloat16 values.

exit status: 0 every input equal, 1 mismatches, 2 a usage error
"""


def register(subparsers) -> None:
    """Add ``lowfloat check`` to an argparse subparsers object; ``args.run(args)`` returns the exit status."""
    from ..rounding import DETERMINISTIC_MODES, OVERFLOW_POLICIES
    from .compare import OUTPUTS
    from .inputs import INPUT_TYPES

    parser = subparsers.add_parser("check", help="compare a cast (yours, ml_dtypes', torch's) with lowfloat",
                                   description="Run a cast on hard, random or all inputs and report where it "
                                               "differs from lowfloat, by class of mistake.",
                                   epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("target", metavar="TARGET", help="module:function, or ml_dtypes, torch or numpy")
    parser.add_argument("--format", "-f", required=True, help="the format the cast produces, e.g. e4m3, bf16")
    parser.add_argument("--input", default="float32", choices=INPUT_TYPES, help="the cast's input type")
    parser.add_argument("--rounding", default="nearest_even", choices=DETERMINISTIC_MODES, help="rounding mode")
    parser.add_argument("--overflow", default=None, choices=OVERFLOW_POLICIES,
                        help="what the cast does past max (default: the format's own rule)")  # fmt: skip
    parser.add_argument("--ftz", action="store_true", help="the cast flushes subnormal results to zero")
    parser.add_argument("--daz", action="store_true", help="the cast reads subnormal inputs as zero")
    parser.add_argument("--output", default="codes", choices=OUTPUTS, help="what a module:function TARGET returns")
    cases = parser.add_mutually_exclusive_group()
    cases.add_argument("--exhaustive", action="store_true", help="every input (16- and 32-bit input types)")
    cases.add_argument("--cases", type=int, metavar="N", help="N random inputs instead of the hard cases")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes to run on (default: one per core with --exhaustive, else 1)")  # fmt: skip
    parser.add_argument("--examples", type=int, default=3, help="mismatches shown per class")
    parser.set_defaults(run=_run_check)


def _run_check(args) -> int:
    from concurrent.futures import ProcessPoolExecutor

    from ..formats import get_format
    from .check import check_cast
    from .inputs import input_type

    fmt, source = get_format(args.format), input_type(args.input)
    cast = resolve_target(args.target, fmt, source)
    if args.output != "codes" and ":" not in args.target:
        raise ValueError(f"the {args.target} adapter returns codes; --output applies to a module:function TARGET")
    cases = "exhaustive" if args.exhaustive else "hard" if args.cases is None else args.cases
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1) if args.exhaustive else 1
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    executor = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        report = check_cast(cast, fmt, dtype=source, rounding=args.rounding, overflow=args.overflow, ftz=args.ftz,
                            daz=args.daz, output=args.output, cases=cases, seed=args.seed, executor=executor,
                            examples=args.examples, name=args.target)  # fmt: skip
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    print(report.to_text())
    return 0 if report.ok else 1


def resolve_target(target: str, fmt, source):
    """The cast a TARGET names: a built-in adapter, or ``module:function`` imported from the current directory.

    Raises
    ------
    ValueError
        A malformed target, a module that cannot be imported, a missing or
        non-callable attribute, an adapter that cannot cast into ``fmt``.
    """
    from .adapters import ADAPTERS, adapter

    if target in ADAPTERS:
        return adapter(target, fmt, source)
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"TARGET must be module:function or one of {', '.join(ADAPTERS)}, got {target!r}")
    from importlib import import_module

    if os.getcwd() not in sys.path:  # as `python -m` does: the user's own modules first
        sys.path.insert(0, os.getcwd())
    try:
        found = import_module(module_name)
    except Exception as error:  # a missing module, or one that fails while importing
        raise ValueError(f"cannot import {module_name}: {type(error).__name__}: {error}") from None
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ValueError(f"{module_name} has no {attribute}")
        found = getattr(found, part)
    if not callable(found):
        raise ValueError(f"{target} is not a function (it is a {type(found).__name__})")
    return _Reported(found, target)


class _Reported:
    """A user's cast whose exceptions become one-line usage errors naming it (picklable)."""

    def __init__(self, fn, name: str):
        self.fn, self.name = fn, name
        self.__name__ = name

    def __call__(self, x):
        try:
            return self.fn(x)
        except Exception as error:
            raise ValueError(f"{self.name} raised {type(error).__name__}: {error}") from error
