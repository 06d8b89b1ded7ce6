"""The result of checking a cast: totals, mismatches by class, the first few explained.

:func:`lowfloat.testing.check_cast` returns a :class:`CastReport`;
``str(report)`` is the summary a person reads (and what
:func:`~lowfloat.testing.assert_cast` puts in its AssertionError).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..explain import explain
from ..formats import Format
from .classify import MISMATCH_CLASSES
from .inputs import InputType

__all__ = ["Mismatch", "CastReport"]

_EXPLAINED_PER_CLASS = 1  # how many examples of each class get lowfloat.explain's whole block


@dataclass(frozen=True)
class Mismatch:
    """One input on which the cast and lowfloat differ.

    Attributes
    ----------
    bits : int              the input's bit pattern, in the input type
    x : numpy scalar        the input (float32 holding a bfloat16 value for bfloat16 inputs)
    expected : int or float lowfloat's answer: a code (``output="codes"``) or a value
    actual : int or float   the cast's answer, the same way
    kind : str              its class, a key of :data:`~lowfloat.testing.MISMATCH_CLASSES`
    """

    bits: int
    x: np.generic = field(compare=False)  # the bits say it all, and a NaN would never equal itself
    expected: int | float
    actual: int | float
    kind: str


@dataclass(frozen=True)
class CastReport:
    """What :func:`~lowfloat.testing.check_cast` found.

    Attributes
    ----------
    name : str              the cast's name
    fmt : Format            the target format
    source : InputType      the input type
    rounding, overflow : str  the rounding mode and overflow policy checked
    ftz, daz : bool
    output : str            "codes" or "values"
    cases : str             which inputs were tried
    compared : int          inputs compared
    skipped : int           inputs not compared: NaN into a format without NaN, when comparing codes
    counts : dict           mismatches per class (every class of MISMATCH_CLASSES, zeros included)
    examples : dict         the first mismatches of each class (class -> tuple of :class:`Mismatch`)
    seconds : float         how long the check took

    ``ok`` is True when every compared input gave lowfloat's answer.
    """

    name: str
    fmt: Format
    source: InputType
    rounding: str
    overflow: str
    ftz: bool
    daz: bool
    output: str
    cases: str
    compared: int
    skipped: int
    counts: dict
    examples: dict = field(repr=False)
    seconds: float = field(default=0.0, compare=False)

    @property
    def mismatches(self) -> int:
        """How many inputs gave a different answer."""
        return sum(self.counts.values())

    @property
    def equal(self) -> int:
        return self.compared - self.mismatches

    @property
    def ok(self) -> bool:
        return self.mismatches == 0

    def __repr__(self):
        found = ", ".join(f"{kind} {n}" for kind, n in self.counts.items() if n) or "none"
        return (f"CastReport({self.name}: {self.source.name} -> {self.fmt.name}, {self.compared} compared, "
                f"mismatches: {found})")  # fmt: skip

    def __str__(self):
        return self.to_text()

    def to_text(self, examples: int | None = None) -> str:
        """The summary: totals, then each class with its first examples, the first explained in full.

        ``examples`` limits the examples listed per class (default: all kept).
        """
        options = f"{self.rounding}, overflow={self.overflow}" + ", ftz" * self.ftz + ", daz" * self.daz
        lines = [f"{self.name}: {self.source.name} -> {self.fmt.name} ({options}), comparing {self.output}"]
        lines.append(f"cases       {self.cases}")
        skipped = f", {self.skipped:,} skipped (NaN: {self.fmt.name} has no NaN code)" if self.skipped else ""
        lines.append(f"compared    {self.compared:,}{skipped}")
        lines.append(f"equal       {self.equal:,}")
        share = f" ({100 * self.mismatches / self.compared:.3g}%)" if self.mismatches else ""
        lines.append(f"mismatches  {self.mismatches:,}{share}")
        for kind, description in MISMATCH_CLASSES.items():
            count = self.counts.get(kind, 0)
            if not count:
                continue
            lines += ["", f"{description.split(':')[0]}: {count:,}"]
            lines.append(f"  ({description.split(': ', 1)[1]})")
            shown = self.examples.get(kind, ())[:examples]
            for mismatch in shown:
                lines.append("  " + self._example_line(mismatch))
            if count > len(shown):
                lines.append(f"  ... {count - len(shown):,} more")
            for mismatch in shown[:_EXPLAINED_PER_CLASS]:
                block = self._explanation(mismatch)
                if block:
                    lines += ["  lowfloat, for the first:"] + ["    " + line for line in block.splitlines()]
        return "\n".join(lines)

    # ------------------------------------------------------------------ pieces

    def _answer(self, answer) -> str:
        if self.output == "codes":
            from ..codec import decode

            digits = (self.fmt.bits + 3) // 4
            return f"0x{int(answer):0{digits}X} = {float(decode(int(answer), self.fmt, dtype=np.float64))!r}"
        return repr(float(answer))

    def _example_line(self, mismatch: Mismatch) -> str:
        digits = self.source.bits // 4
        text = f"x = {_input_text(mismatch.x)} (0x{mismatch.bits:0{digits}X}): "
        text += f"expected {self._answer(mismatch.expected)}, got {self._answer(mismatch.actual)}"
        if mismatch.kind == "double_rounding":
            with np.errstate(over="ignore", invalid="ignore"):
                narrowed = np.float32(mismatch.x)
            text += f"; float32(x) = {_input_text(narrowed)}"
        return text

    def _explanation(self, mismatch: Mismatch) -> str | None:
        """lowfloat.explain's block for the input, or None where it has nothing to say (NaN without NaN)."""
        try:
            block = str(explain(mismatch.x, self.fmt, rounding=self.rounding, overflow=self.overflow))
        except ValueError:
            return None
        if self.ftz or self.daz:
            block += "\n(explain rounds without ftz/daz)"
        return block


def _input_text(x) -> str:
    """An input in its own precision's shortest form: ``0.1`` for float32(0.1), not 0.10000000149011612."""
    return str(x) if isinstance(x, np.floating) else repr(x)
