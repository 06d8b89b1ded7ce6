"""The ``lowfloat`` command: look at formats and round numbers from a shell.

Every user mistake (unknown format, a word that is not a number) prints one
line on stderr and exits with status 2; there is never a traceback.
"""

from __future__ import annotations

import argparse
import re
import sys

import numpy as np

from .codec import encode, quantize
from .finfo import finfo
from .formats import ALIASES, format_names, get_format
from .rounding import OVERFLOW_POLICIES, ROUNDING_MODES

__all__ = ["main", "format_table"]

_EXAMPLES_INFO = """examples:
  lowfloat info                  every built-in format, one row each
  lowfloat info e4m3 bf16        two formats (aliases work)
  lowfloat info --markdown       the README's format table
"""

_EXAMPLES_QUANTIZE = """examples:
  lowfloat quantize --format e4m3 0.1 448 464 465
  lowfloat quantize --format fp16 --rounding toward_zero 0.1
  lowfloat quantize --format e4m3 --overflow saturate 1e6
"""


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


class _UserError(Exception):
    """A mistake on the command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # argparse takes "-1e6" or "-0x1p-3" for an option; let every negative number through
        self._negative_number_matcher = re.compile(r"^-(?:\d|\.\d|inf|nan)", re.IGNORECASE)

    def error(self, message):
        raise _UserError(message)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lowfloat", description="Bit-exact low-precision number formats.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    info = sub.add_parser("info", help="limits of formats (finfo)", epilog=_EXAMPLES_INFO,
                          formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    info.add_argument("formats", nargs="*", metavar="FORMAT", help="format names or aliases (default: all)")
    info.add_argument("--markdown", action="store_true", help="print a Markdown table")
    quant = sub.add_parser("quantize", help="round numbers into a format", epilog=_EXAMPLES_QUANTIZE,
                           formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    quant.add_argument("values", nargs="+", metavar="VALUE", help="real numbers (decimal or hex floats)")
    quant.add_argument("--format", "-f", required=True, help="target format, e.g. e4m3, bf16, fp16")
    quant.add_argument("--rounding", default="nearest_even", choices=ROUNDING_MODES)
    quant.add_argument("--overflow", default=None, choices=OVERFLOW_POLICIES)
    return parser


def _parse_number(text: str) -> float:
    try:
        return float.fromhex(text) if "0x" in text.lower() else float(text)
    except ValueError:
        raise _UserError(f"not a number: {text!r}") from None


def _run_quantize(args) -> str:
    fmt = get_format(args.format)
    values = np.array([_parse_number(text) for text in args.values], dtype=np.float64)
    if not fmt.has_nan and np.isnan(values).any():
        raise _UserError(f"{fmt.name} has no NaN")
    codes = encode(values, fmt, rounding=args.rounding, overflow=args.overflow)
    rounded = quantize(values, fmt, rounding=args.rounding, overflow=args.overflow)
    digits = (fmt.bits + 3) // 4
    rows = [("input", "code", "value")]
    for text, code, value in zip(args.values, codes, rounded, strict=True):
        rows.append((text, f"0x{int(code):0{digits}X}", repr(float(value))))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{fmt.name}, rounding {args.rounding}"]
    lines += ["  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


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
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "info":
            names = args.formats or None
            if args.markdown:
                print(format_table(names, markdown=True))
            elif names:
                print("\n\n".join(str(finfo(name)) for name in names))
            else:
                print(format_table())
        else:
            print(_run_quantize(args))
    except (_UserError, ValueError, TypeError) as error:
        print(f"lowfloat: error: {error}", file=sys.stderr)
        return 2
    return 0
