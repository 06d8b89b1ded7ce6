"""Settings declared once: validation and command-line options generated from a dataclass's fields.

As in nanoGPT's one configuration block, each knob is declared in one place:
a dataclass field made with :func:`setting` carries its default, its
:class:`Kind` (which values it accepts, the words an error uses for them, how
a command line spells one) and its help line.  From those declarations

* :func:`validate` refuses a bad value with ``Class.field must be <kind>, got <value>``;
* :func:`add_options` adds one ``argparse`` option per field, in declaration order;
* :func:`option_values` reads the parsed options back as field values.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Knobs:
...     steps: int = setting(10, POSITIVE_INT, "how many steps", group="run")
...     def __post_init__(self):
...         validate(self)
>>> Knobs(steps=0)
Traceback (most recent call last):
...
ValueError: Knobs.steps must be a positive int, got 0
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Kind",
    "setting",
    "validate",
    "add_options",
    "option_values",
    "one_of",
    "parse_number",
    "parse_widths",
    "TEXT",
    "FLAG",
    "POSITIVE_NUMBER",
    "NUMBER_ABOVE_ONE",
    "OPEN_UNIT_INTERVAL",
    "HALF_OPEN_UNIT_INTERVAL",
    "POSITIVE_INT",
    "NON_NEGATIVE_INT",
    "OPTIONAL_POSITIVE_INT",
    "OPTIONAL_NON_NEGATIVE_INT",
    "WIDTHS",
    "PAIR_IN_HALF_OPEN_UNIT_INTERVAL",
    "MAPPING",
]


def parse_number(text: str) -> float:
    """A float from decimal, hex-float or power notation: ``0.5``, ``0x1p-16``, ``2**-16``, ``2^-16``.

    Examples
    --------
    >>> parse_number("2**-16") == parse_number("0x1p-16") == 2.0**-16
    True
    """
    match = re.fullmatch(r"\s*([0-9.]+)\s*(?:\*\*|\^)\s*([-+]?[0-9]+)\s*", text)
    try:
        if match:
            return float(match.group(1)) ** int(match.group(2))
        return float.fromhex(text) if "0x" in text.lower() else float(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def parse_widths(text: str) -> tuple:
    """Comma-separated layer widths: ``"64,32"`` -> ``(64, 32)``."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths such as 64,32, got {text!r}") from None


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Kind:
    """The values a setting accepts, the words naming them, and how a command line spells one.

    Attributes
    ----------
    expected : str
        Completes "must be ...": ``"a positive int"``.
    accepts : callable
        ``accepts(value) -> bool``.
    parse : callable or None
        Turns one command-line word into a value (raising
        ``argparse.ArgumentTypeError`` for a bad word); None makes the
        option an on/off flag.
    choices : tuple
        The words a command line may give, when they are the values themselves.
    nargs : int, optional
        Words per value (``--betas 0.9 0.999``); the value is their tuple.
    metavar : str, optional
        How ``--help`` names the value.
    spell : callable
        How ``--help`` writes the default.
    """

    expected: str
    accepts: Callable[[object], bool]
    parse: Callable[[str], object] | None = str
    choices: tuple = ()
    nargs: int | None = None
    metavar: str | None = None
    spell: Callable[[object], str] = str


def one_of(choices, *, also: str = "", accepts_also: Callable[[object], bool] | None = None) -> Kind:
    """The kind of a setting that is one of some words (and, with ``accepts_also``, other values).

    Examples
    --------
    >>> kind = one_of(("sgd", "adam"))
    >>> kind.expected, kind.accepts("adam"), kind.accepts("lion")
    ('one of sgd, adam', True, False)
    """
    choices = tuple(choices)

    def accepts(value):
        return (isinstance(value, str) and value in choices) or (accepts_also is not None and accepts_also(value))

    return Kind(f"one of {', '.join(choices)}{also}", accepts, choices=choices)


TEXT = Kind("a str", lambda v: isinstance(v, str))
FLAG = Kind("True or False", lambda v: isinstance(v, bool), parse=None)
POSITIVE_NUMBER = Kind("a positive finite number", lambda v: _is_number(v) and math.isfinite(v) and v > 0,
                       parse=parse_number)  # fmt: skip
NUMBER_ABOVE_ONE = Kind("a finite number > 1", lambda v: _is_number(v) and math.isfinite(v) and v > 1,
                        parse=parse_number)  # fmt: skip
OPEN_UNIT_INTERVAL = Kind("a number in (0, 1)", lambda v: _is_number(v) and 0 < v < 1, parse=parse_number)
HALF_OPEN_UNIT_INTERVAL = Kind("a number in [0, 1)", lambda v: _is_number(v) and 0 <= v < 1, parse=parse_number)
POSITIVE_INT = Kind("a positive int", lambda v: _is_int(v) and v >= 1, parse=int)
NON_NEGATIVE_INT = Kind("a non-negative int", lambda v: _is_int(v) and v >= 0, parse=int)
OPTIONAL_POSITIVE_INT = Kind("None or a positive int", lambda v: v is None or (_is_int(v) and v >= 1), parse=int)
OPTIONAL_NON_NEGATIVE_INT = Kind("None or a non-negative int", lambda v: v is None or (_is_int(v) and v >= 0),
                                 parse=int)  # fmt: skip
WIDTHS = Kind("a tuple of positive ints",
              lambda v: isinstance(v, (tuple, list)) and all(_is_int(n) and n > 0 for n in v),
              parse=parse_widths, metavar="WIDTHS", spell=lambda v: ",".join(str(n) for n in v))  # fmt: skip
PAIR_IN_HALF_OPEN_UNIT_INTERVAL = Kind(
    "a pair of numbers in [0, 1)",
    lambda v: isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_number(b) and 0 <= b < 1 for b in v),
    parse=parse_number, nargs=2, spell=lambda v: " ".join(str(b) for b in v))  # fmt: skip
MAPPING = Kind("a dict", lambda v: isinstance(v, dict))


@dataclass(frozen=True)
class Setting:
    """What :func:`setting` stores in a field's metadata."""

    kind: Kind
    help: str
    group: str | None  # the section of --help; None: not a command-line option
    flag: str | None  # the option's name when it is not the field's


def setting(default=dataclasses.MISSING, kind: Kind = TEXT, help: str = "", *, group: str | None = None,
            flag: str | None = None, default_factory=dataclasses.MISSING):  # fmt: skip
    """A dataclass field declared with its kind, help line and command-line section.

    Parameters
    ----------
    default
        The default value (or give ``default_factory``).
    kind : Kind
    help : str
        One line for ``--help`` and the documentation.
    group : str, optional
        The section of ``--help`` the option goes in; None: no command-line option.
    flag : str, optional
        The option's name when it is not ``--field-name``; ``{}`` stands for
        the field's name with dashes (``"--{}-format"``).
    """
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={"setting": Setting(kind, help, group, flag)})  # fmt: skip


def _settings(cls):
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("setting")
        if spec is not None:
            yield f, spec


def validate(instance) -> None:
    """Check every declared field of a dataclass instance against its kind.

    Raises
    ------
    ValueError
        ``Class.field must be <kind>, got <value>`` for the first field out of range.
    """
    for f, spec in _settings(type(instance)):
        value = getattr(instance, f.name)
        try:
            ok = spec.kind.accepts(value)
        except TypeError:  # a comparison the value does not support is a refusal too
            ok = False
        if not ok:
            raise ValueError(f"{type(instance).__name__}.{f.name} must be {spec.kind.expected}, got {value!r}")


def add_options(groups: dict, cls, *, prefix: str = "", override: str | None = None) -> None:
    """Add one option per command-line field of ``cls`` to the argparse groups named by each field.

    Parameters
    ----------
    groups : dict
        ``{section: argparse argument group}``; every field's ``group`` must be one of them.
    cls : dataclass type
    prefix : str
        Prepended to each destination (``args.<prefix><field>``), so two classes' fields can share a parser.
    override : str, optional
        The options change a value given elsewhere (``"the preset's"``): they
        have no default, and a field appears in :func:`option_values` only
        when its option was given.
    """
    defaults = None if override is not None else cls()
    for f, spec in _settings(cls):
        if spec.group is None:
            continue
        kind = spec.kind
        flag = (spec.flag or "--{}").format(f.name.replace("_", "-"))
        dest = prefix + f.name
        if override is not None:
            text = f"{spec.help} (overrides {override})"
            options = dict(default=argparse.SUPPRESS)
        else:
            default = getattr(defaults, f.name)
            text = spec.help
            if default is not None and kind.parse is not None:  # a flag's default goes without saying
                text += f" (default {kind.spell(default)})"
            options = dict(default=list(default) if kind.nargs else default)
        text = text.replace("%", "%%")  # argparse formats help text with %
        if kind.parse is None:
            groups[spec.group].add_argument(flag, dest=dest, action="store_true", help=text, **options)
            continue
        if kind.choices:
            options["choices"] = kind.choices  # argparse lists them in --help
        else:
            options["metavar"] = kind.metavar or f.name.upper()
        if kind.nargs:
            options["nargs"] = kind.nargs
        groups[spec.group].add_argument(flag, dest=dest, type=kind.parse, help=text, **options)


def option_values(args, cls, *, prefix: str = "") -> dict:
    """The values of ``cls``'s command-line fields in a parsed namespace (fields whose option is absent left out)."""
    values = {}
    for f, spec in _settings(cls):
        if spec.group is None or not hasattr(args, prefix + f.name):
            continue
        value = getattr(args, prefix + f.name)
        values[f.name] = tuple(value) if spec.kind.nargs else value
    return values
