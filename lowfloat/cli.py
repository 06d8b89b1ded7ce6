"""The ``lowfloat`` command: look at formats and round numbers from a shell.

Every user mistake (unknown format, a word that is not a number, a missing
file) prints one line on stderr and exits with status 2; there is never a
traceback.  Colour is used only when writing to a terminal, and never when
the ``NO_COLOR`` environment variable is set.

Subcommands are registered by the functions in :data:`COMMANDS`.  Each one
takes argparse's subparsers object, adds its parser and sets ``run``::

    def register(subparsers):
        parser = subparsers.add_parser("name", help=..., epilog=EXAMPLES, formatter_class=RAW)
        parser.set_defaults(run=run_name)   # run_name(args) prints, returns None or an exit status

``run`` may raise ValueError, TypeError or OSError for a user mistake: the
command prints the message on one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

import numpy as np

from . import reference
from .codec import encode, quantize
from .codetable import field_names, fields_text, table
from .explain import explain
from .finfo import finfo
from .formats import ALIASES, format_names, get_format
from .rounding import DETERMINISTIC_MODES, OVERFLOW_POLICIES, ROUNDING_MODES

__all__ = ["main", "format_table", "COMMANDS"]

#: Help text layout that keeps the examples' line breaks.
RAW = argparse.RawDescriptionHelpFormatter

_EXAMPLES_INFO = """examples:
  lowfloat info                  every built-in format, one row each
  lowfloat info e4m3 bf16        two formats (aliases work)
  lowfloat info e11m10_b1023     any other format by its name (Format.name), here float64's range, 11 bits
  lowfloat info --markdown       the README's format table
"""

_EXAMPLES_QUANTIZE = """examples:
  lowfloat quantize --format e4m3 0.1 448 464 465
  lowfloat quantize --format fp16 --rounding toward_zero 0.1
  lowfloat quantize --format e4m3 --overflow saturate 1e6
  lowfloat quantize --format bf16 weights.npy weights_bf16.npy
  lowfloat quantize --format e11m10_b1023 1e300 1e-310
"""

_EXAMPLES_EXPLAIN = """examples:
  lowfloat explain 0.1 --format e4m3              one number, step by step
  lowfloat explain 464 465 --format e4m3          a tie to even, and an overflow to NaN
  lowfloat explain 0.1 --format fp16 --format bf16 --format e4m3    formats side by side
  lowfloat explain 1/3 -0x1.8p-8 inf --format e5m2 --rounding toward_zero

A number is read exactly: 0.1 means 1/10, not the float64 nearest to it.
"""

_EXAMPLES_TABLE = """examples:
  lowfloat table e2m1              the 16 codes of FP4
  lowfloat table e4m3 --csv        every E4M3 code as CSV
  lowfloat table fp16 --csv > float16.csv
"""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NPY_MAGIC = b"\x93NUMPY"  # the first bytes of every .npy file (numpy.lib.format)


def _specials_text(fmt) -> str:
    if fmt.specials == "ieee":
        return "+-inf, NaN"
    if fmt.specials == "fn":
        return f"NaN = 0x{fmt.nan_code:02X}" + ("" if fmt.signed else ", no zero, unsigned")
    if fmt.specials == "fnuz":
        return f"NaN = 0x{fmt.nan_code:02X}, no -0"
    return "none"


def _overflow_text(fmt) -> str:
    if fmt.has_inf:
        return "+-inf"
    return "NaN" if fmt.has_nan else "+-max"


def format_table(names=None, *, markdown: bool = False) -> str:
    """A table of formats: layout, range, precision and special values.

    Parameters
    ----------
    names : list of str, optional
        Formats to show (default: every built-in format).
    markdown : bool
        A Markdown table instead of aligned text.

    Examples
    --------
    >>> table = format_table(["e4m3", "fp16"])
    >>> [line.split()[0] for line in table.splitlines()]
    ['format', 'float8_e4m3fn', 'float16']
    >>> table.splitlines()[1].split()[-2:]  # specials, and what overflow gives
    ['0x7F', 'NaN']
    """
    formats = [get_format(name) for name in (names or format_names())]
    header = ["format", "aliases", "bits", "e", "m", "bias", "max", "smallest normal", "smallest subnormal", "eps",
              "specials", "overflow"]  # fmt: skip
    rows = []
    for fmt in formats:
        info = finfo(fmt)
        aliases = ", ".join(alias for alias, name in ALIASES.items() if name == fmt.name)
        rows.append([fmt.name, aliases, str(fmt.bits), str(fmt.exp_bits), str(fmt.man_bits), str(fmt.bias),
                     f"{info.max:.10g}", f"{info.smallest_normal:.10g}", f"{info.smallest_subnormal:.10g}",
                     f"{info.eps:g}", _specials_text(fmt), _overflow_text(fmt)])  # fmt: skip
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    return "\n".join(lines)


# ------------------------------------------------------------------ plumbing


class _UserError(Exception):
    """A mistake on the command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # argparse takes "-1e6" or "-0x1p-3" for an option; let every negative number through
        self._negative_number_matcher = re.compile(r"^-(?:\d|\.\d|inf|nan)", re.IGNORECASE)

    def error(self, message):
        raise _UserError(message)


def _use_colour(stream) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set to anything (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def _visible_width(text: str) -> int:
    return len(_ANSI.sub("", text))


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _visible_width(text))


def _add_rounding_options(parser, modes=ROUNDING_MODES):
    parser.add_argument("--rounding", default="nearest_even", choices=modes, help="rounding mode")
    parser.add_argument("--overflow", default=None, choices=OVERFLOW_POLICIES,
                        help="what an infinite result becomes (default: the format's own rule)")  # fmt: skip


# ------------------------------------------------------------------ info


def _register_info(subparsers):
    parser = subparsers.add_parser("info", help="limits of formats (finfo)", epilog=_EXAMPLES_INFO, formatter_class=RAW)
    parser.add_argument("formats", nargs="*", metavar="FORMAT", help="format names or aliases (default: all)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.set_defaults(run=_run_info)


def _run_info(args):
    names = args.formats or None
    if args.markdown:
        print(format_table(names, markdown=True))
    elif names:
        print("\n\n".join(str(finfo(name)) for name in names))
    else:
        print(format_table())


# ------------------------------------------------------------------ quantize


def _register_quantize(subparsers):
    parser = subparsers.add_parser("quantize", help="round numbers, or a .npy file, into a format",
                                   epilog=_EXAMPLES_QUANTIZE, formatter_class=RAW)  # fmt: skip
    parser.add_argument("values", nargs="+", metavar="VALUE",
                        help="real numbers (decimal or hex floats), or IN.npy OUT.npy")  # fmt: skip
    parser.add_argument("--format", "-f", required=True, help="target format, e.g. e4m3, bf16, fp16, e11m10_b1023")
    _add_rounding_options(parser)
    parser.set_defaults(run=_run_quantize)


def _parse_number(text: str) -> float:
    try:
        return float.fromhex(text) if "0x" in text.lower() else float(text)
    except ValueError:
        raise _UserError(f"not a number: {text!r}") from None


def _run_quantize(args):
    fmt = get_format(args.format)
    if any(text.lower().endswith(".npy") for text in args.values):
        return _quantize_file(args, fmt)
    values = np.array([_parse_number(text) for text in args.values], dtype=np.float64)
    if not fmt.has_nan and np.isnan(values).any():
        raise _UserError(f"{fmt.name} has no NaN")
    codes = encode(values, fmt, rounding=args.rounding, overflow=args.overflow)
    # each code's value from the spec, exactly: rounding a second time (quantize) would compile a second
    # kernel for a handful of numbers, doubling the wait of a first command
    rounded = [reference.decode(code, fmt) for code in codes]
    digits = (fmt.bits + 3) // 4
    rows = [("input", "code", "value")]
    for text, code, value in zip(args.values, codes, rounded, strict=True):
        rows.append((text, f"0x{int(code):0{digits}X}", repr(float(value))))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{fmt.name}, rounding {args.rounding}"]
    lines += ["  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    print("\n".join(lines))


def _quantize_file(args, fmt):
    """``lowfloat quantize --format F IN.npy OUT.npy``: round an array file (float32 stays float32)."""
    if len(args.values) != 2 or not all(text.lower().endswith(".npy") for text in args.values):
        raise _UserError(f"a file needs exactly IN.npy OUT.npy, got {' '.join(args.values)}")
    source, target = args.values
    try:
        with open(source, "rb") as file:
            if file.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
                raise _UserError(f"{source} is not a .npy file")
            file.seek(0)
            array = np.load(file, allow_pickle=False)
    except FileNotFoundError:
        raise _UserError(f"no such file: {source}") from None
    except (OSError, ValueError, EOFError) as error:
        raise _UserError(f"cannot read {source}: {getattr(error, 'strerror', None) or error}") from None
    try:
        rounded = quantize(array, fmt, rounding=args.rounding, overflow=args.overflow)
    except TypeError as error:  # not real numbers
        raise _UserError(f"{source}: {error}") from None
    try:
        np.save(target, rounded, allow_pickle=False)
    except OSError as error:
        raise _UserError(f"cannot write {target}: {error.strerror or error}") from None
    print(f"{target}: {array.size} values {array.dtype} -> {rounded.dtype}, rounded into {fmt.name} ({args.rounding})")


# ------------------------------------------------------------------ explain


def _register_explain(subparsers):
    parser = subparsers.add_parser("explain", help="how numbers round into formats, step by step",
                                   epilog=_EXAMPLES_EXPLAIN, formatter_class=RAW)  # fmt: skip
    parser.add_argument("values", nargs="+", metavar="VALUE",
                        help="real numbers: decimals (read exactly), fractions (1/3), hex floats, inf")  # fmt: skip
    parser.add_argument("--format", "-f", action="append", required=True, dest="formats", metavar="FORMAT",
                        help="target format; repeat to compare formats side by side")  # fmt: skip
    _add_rounding_options(parser, DETERMINISTIC_MODES)
    parser.set_defaults(run=_run_explain)


def _run_explain(args):
    colour = _use_colour(sys.stdout)
    blocks = []
    for text in args.values:
        rows = [explain(text, fmt, rounding=args.rounding, overflow=args.overflow).rows(colour=colour)
                for fmt in args.formats]  # fmt: skip
        blocks.append(_side_by_side(rows))
    print("\n\n".join(blocks))


def _side_by_side(explanations: list[list[tuple[str, str]]]) -> str:
    """Explanations as columns under one column of labels (rows a block lacks stay empty)."""
    labels = []
    for rows in explanations:
        labels += [label for label, _ in rows if label not in labels]
    columns = [dict(rows) for rows in explanations]
    label_width = max(len(label) for label in labels) + 2
    widths = [max(_visible_width(text) for text in column.values()) for column in columns]
    lines = []
    for label in labels:
        cells = [_pad(column.get(label, ""), width) for column, width in zip(columns, widths, strict=True)]
        lines.append((label.ljust(label_width) + "    ".join(cells)).rstrip())
    return "\n".join(lines)


# ------------------------------------------------------------------ table


def _register_table(subparsers):
    parser = subparsers.add_parser("table", help="every code of a format of at most 16 bits",
                                   epilog=_EXAMPLES_TABLE, formatter_class=RAW)  # fmt: skip
    parser.add_argument("format", metavar="FORMAT", help="a format of at most 16 bits, e.g. e4m3, fp4, bf16")
    parser.add_argument("--csv", action="store_true", help="comma-separated values with a header line")
    parser.set_defaults(run=_run_table)


def _run_table(args):
    fmt = get_format(args.format)
    rows = table(fmt)
    digits = (fmt.bits + 3) // 4
    if args.csv:
        lines = ["code,sign,exponent,mantissa,bits,value,kind"]
        lines += [f"0x{int(r['code']):0{digits}X},{r['sign']},{r['exponent']},{r['mantissa']},{r['bits']},"
                  f"{float(r['value'])!r},{r['kind']}" for r in rows]  # fmt: skip
        print("\n".join(lines))
        return
    colour = _use_colour(sys.stdout)
    cells = [["code", field_names(fmt), "value", "class"]]
    for r in rows:
        fields = fields_text(int(r["sign"]), int(r["exponent"]), int(r["mantissa"]), fmt, colour=colour)
        cells.append([f"0x{int(r['code']):0{digits}X}", fields, repr(float(r["value"])), str(r["kind"])])
    widths = [max(_visible_width(row[i]) for row in cells) for i in range(4)]
    lines = [f"{fmt.name}: {len(rows)} codes"]
    for code, fields, value, kind in cells:
        lines.append("  ".join([_pad(code, widths[0]), _pad(fields, widths[1]), value.rjust(widths[2]), kind]))
    print("\n".join(lines))


# ------------------------------------------------------------------ main


def _register_training(subparsers) -> None:
    """``lowfloat demo`` and ``lowfloat train``, from :mod:`lowfloat.train.commands`."""
    from .train.commands import register

    register(subparsers)


def _register_check(subparsers) -> None:
    """``lowfloat check``, from :mod:`lowfloat.testing.commands`."""
    from .testing.commands import register

    register(subparsers)


def _register_vectors(subparsers) -> None:
    """``lowfloat vectors`` and ``lowfloat verify``, from :mod:`lowfloat.testing.vector_commands`."""
    from .testing.vector_commands import register

    register(subparsers)


def _register_warmup(subparsers) -> None:
    """``lowfloat warmup``, from :mod:`lowfloat.cache`."""
    from .cache import register

    register(subparsers)


#: The subcommands, in the order ``lowfloat --help`` lists them.
COMMANDS = [_register_explain, _register_table, _register_info, _register_quantize, _register_training,
            _register_check, _register_vectors, _register_warmup]  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The ``lowfloat`` argument parser, with every subcommand in :data:`COMMANDS`."""
    parser = _Parser(prog="lowfloat", description="Bit-exact low-precision number formats.",
                     epilog="Run 'lowfloat COMMAND --help' for examples.")  # fmt: skip
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 success, 2 user error).

    Examples
    --------
    >>> main(["quantize", "--format", "e4m3", "0.1", "464", "465"])
    float8_e4m3fn, rounding nearest_even
    input  code      value
      0.1  0x1D  0.1015625
      464  0x7E      448.0
      465  0x7F        nan
    0
    >>> main(["explain", "464", "--format", "e4m3"])
                464 in float8_e4m3fn (nearest_even, overflow=nan)
    input       464 = 0x1.dp+8
    code        0x7E
    fields      0 | 1111 | 110  (sign | exponent | mantissa)
    exponent    15 biased, 8 unbiased (bias 7)
    class       normal
    value       448 = 14 * 2^5 = 0x1.cp+8
    neighbours  448 < x < 480 (480 past max)
    ulp         32 = 2^5
    error       16 absolute, 0.0344828 relative, 0.5 ulp
    decision    tie to even
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        status = args.run(args)
    except SystemExit as done:  # --help
        return done.code or 0
    except BrokenPipeError:  # the reader stopped early (`lowfloat table fp16 | head`): not an error to report
        # keep Python from complaining again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (_UserError, ValueError, TypeError, OSError) as error:
        print(f"lowfloat: error: {error}", file=sys.stderr)
        return 2
    return status or 0
