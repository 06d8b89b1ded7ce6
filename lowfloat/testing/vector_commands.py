"""The ``lowfloat vectors`` and ``lowfloat verify`` commands: test vectors as text files.

:func:`register` adds both subcommands to an argparse subparsers object
(:mod:`lowfloat.cli` calls it from its ``COMMANDS``).  Both read the settings of a vector file -- format,
operation, input type (``--input``, the field ``dtype``), rounding,
tininess, overflow, FTZ, DAZ -- from one table, :data:`SPEC_OPTIONS`, whose
entries are the fields of :class:`lowfloat.testing.VectorSpec`.
"""

from __future__ import annotations

import argparse
import sys

from ..rounding import DETERMINISTIC_MODES, OVERFLOW_POLICIES, TININESS
from .inputs import INPUT_TYPES
from .vectors import RANDOM_CASES, VECTOR_OPERATIONS, VectorSpec, verify_vectors, write_vectors

__all__ = ["register", "register_vectors", "register_verify", "SPEC_OPTIONS"]

RAW = argparse.RawDescriptionHelpFormatter

#: The options that set a :class:`VectorSpec` field, one entry per field: (field, option, argparse keywords).
SPEC_OPTIONS = (
    ("fmt", "--format", dict(required=True, metavar="FORMAT", help="the result's format, e.g. fp16, e4m3, e2m1")),
    ("op", "--op", dict(required=True, choices=list(VECTOR_OPERATIONS), help="the operation")),
    ("dtype", "--input", dict(metavar="DTYPE", help=f"encode's input type: {', '.join(INPUT_TYPES)} "
                                                    "(the operations read codes of --format)")),
    ("rounding", "--rounding", dict(default="nearest_even", choices=DETERMINISTIC_MODES,
                                    help="rounding mode (default nearest_even)")),
    ("tininess", "--tininess", dict(default="after", choices=TININESS,
                                    help="underflow: tiny after rounding (x86, default) or before (ARM)")),
    ("overflow", "--overflow", dict(default=None, choices=OVERFLOW_POLICIES,
                                    help="what an infinite result becomes (default: the format's own rule)")),
    ("ftz", "--ftz", dict(action="store_true", help="flush subnormal results to zero")),
    ("daz", "--daz", dict(action="store_true", help="subnormal inputs count as zero")),
)  # fmt: skip

_EXAMPLES_VECTORS = """examples:
  lowfloat vectors --format fp16 --op encode --input float32 --output f32_to_f16.txt
  lowfloat vectors --format e4m3 --op add --rounding toward_zero --level 2 > e4m3_add_rz.txt
  lowfloat vectors --format e2m1 --op mul --level 2            every product of two FP4 codes
  lowfloat vectors --format bf16 --op fma --tininess before --count 100000

One case per line, as Berkeley TestFloat's testfloat_gen writes them: the
operands in hex (the input's bits for encode, codes of --format for the
operations; fma is x*y+z), the expected result code in hex, and the IEEE
exception flags as two hex digits: inexact 01, underflow 02, overflow 04,
infinite 08, invalid 10.
"""

_EXAMPLES_VERIFY = """examples:
  lowfloat verify results.txt --format fp16 --op encode --input float32
  lowfloat verify rz_*.txt --format e4m3 --op add --rounding toward_zero
  my_fp8_adder < e4m3_add.txt | lowfloat verify - --format e4m3 --op add

Each line holds an implementation's answer in the layout 'lowfloat vectors'
writes; lowfloat recomputes it from the operands with the same settings.
Exit status: 0 when every result and every flag is equal, 1 when some
differ, 2 for a malformed file or a bad option.
"""


def register(subparsers) -> None:
    """Add ``lowfloat vectors`` and ``lowfloat verify``."""
    register_vectors(subparsers)
    register_verify(subparsers)


def _add_spec_options(parser) -> None:
    group = parser.add_argument_group("what the vectors test (the same for writing and verifying)")
    for field, option, keywords in SPEC_OPTIONS:
        group.add_argument(option, dest=field, **keywords)


def _spec_from_args(args) -> VectorSpec:
    return VectorSpec(**{field: getattr(args, field) for field, _, _ in SPEC_OPTIONS})


def _fields(spec: VectorSpec) -> dict:
    return {field: getattr(spec, field) for field, _, _ in SPEC_OPTIONS}


def register_vectors(subparsers) -> None:
    """Add ``lowfloat vectors``: write test vectors in TestFloat's text format."""
    parser = subparsers.add_parser("vectors", help="write test vectors (TestFloat's text format)",
                                   epilog=_EXAMPLES_VECTORS, formatter_class=RAW,
                                   description="Write test cases with lowfloat's results and IEEE exception flags, "
                                               "for implementations outside Python.")  # fmt: skip
    _add_spec_options(parser)
    parser.add_argument("--level", type=int, default=1, choices=(1, 2),
                        help="1: hard cases and random ones; 2: exhaustive up to 16 operand bits, "
                             "else more random ones (default 1)")  # fmt: skip
    parser.add_argument("--count", type=int, default=None, metavar="N",
                        help=f"random cases to add (default {RANDOM_CASES[1]} at level 1, {RANDOM_CASES[2]} at "
                             "level 2 unless it is exhaustive)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the random cases (default 0)")
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE (default: standard output)")
    parser.set_defaults(run=_run_vectors)


def _run_vectors(args) -> int:
    spec = _spec_from_args(args)
    if args.count is not None and args.count < 0:
        raise ValueError(f"--count must be 0 or more, got {args.count}")
    options = dict(_fields(spec), level=args.level, count=args.count, seed=args.seed)
    if args.output is None:
        write_vectors(sys.stdout, **options)
        return 0
    written = write_vectors(args.output, **options)
    print(f"{args.output}: {written} cases, {spec.describe()}, level {args.level}")
    return 0


def register_verify(subparsers) -> None:
    """Add ``lowfloat verify``: check an implementation's results written as test vectors."""
    parser = subparsers.add_parser("verify", help="check an implementation's results against lowfloat's",
                                   epilog=_EXAMPLES_VERIFY, formatter_class=RAW,
                                   description="Recompute every line of test-vector files with lowfloat and report "
                                               "the results and flags that differ.")  # fmt: skip
    parser.add_argument("files", nargs="+", metavar="FILE", help="vector files with results; '-' reads stdin")
    _add_spec_options(parser)
    parser.add_argument("--show", type=int, default=5, metavar="N",
                        help="mismatches listed of each kind (default 5)")  # fmt: skip
    parser.set_defaults(run=_run_verify)


def _run_verify(args) -> int:
    spec = _spec_from_args(args)
    sources = [sys.stdin if name == "-" else name for name in args.files]
    try:
        report = verify_vectors(sources, **_fields(spec), show=args.show)
    except FileNotFoundError as error:
        raise ValueError(f"no such file: {error.filename}") from None
    print(report)
    return 0 if report.ok else 1
