"""Rounding modes, overflow policies and exception flags: their names and rules, defined once.

The exact reference (:mod:`lowfloat.reference`), :func:`lowfloat.explain`
and the kernels' constant tuples (:mod:`lowfloat.kernels.layout`) all read
their rounding rules from :data:`RULES` here, so a mode means the same
everywhere.

Rounding modes (IEEE 754-2019 section 4.3 names in brackets)
------------------------------------------------------------
A value ``x`` that is not on the grid lies between two neighbouring grid
values, ``lo < |x| < hi`` (:func:`lowfloat.reference.neighbours`).  Each mode
picks one of them:

``"nearest_even"``     the nearer one; a tie goes to the even code [roundTiesToEven]:
                       the even significand; in formats without mantissa bits
                       the even exponent (as gfloat does)
``"nearest_away"``     the nearer one; a tie goes to ``hi`` [roundTiesToAway]
``"toward_zero"``      ``lo`` [roundTowardZero]
``"toward_positive"``  ``hi`` for positive x, ``lo`` for negative x [roundTowardPositive]
``"toward_negative"``  ``lo`` for positive x, ``hi`` for negative x [roundTowardNegative]
``"stochastic"``       ``hi`` with probability ``(|x| - lo) / (hi - lo)``: unbiased in
                       expectation.  Exactly: with ``W`` random bits ``R``
                       (``k = min(sr_bits, W)`` of them compared), ``hi`` when
                       ``R >> (W - k) < floor((|x| - lo) / (hi - lo) * 2**k)``

For unsigned formats (E8M0) ``"nearest_even"`` rounds ties up, as ml_dtypes
and PyTorch do: with no mantissa bits every significand is 1, so "even" has
no natural meaning there (:func:`rounding_rule` applies this, once).

Overflow (IEEE 754-2019 section 7.4, extended to formats without infinity)
--------------------------------------------------------------------------
Rounding a finite value whose magnitude is beyond the largest finite value
``max`` gives, under IEEE 754, either ``+-max`` (when the mode rounds that
sign toward zero: ``toward_zero``; ``toward_positive`` for negative x;
``toward_negative`` for positive x) or an *infinite result* (every other
case).  An infinite input is an infinite result too.  The ``overflow=``
policy says what an infinite result becomes:

``None``        the format's default, as ml_dtypes and the ONNX Cast table:
                ``ieee`` -> +-inf; ``fn``/``fnuz`` -> NaN; ``none`` -> +-max
``"saturate"``  +-max (OCP's saturating conversion; Transformer Engine, torch)
``"inf"``       +-inf (only for formats with infinities)
``"nan"``       NaN (only for formats with NaN)

A finite result that IEEE 754 gives as ``+-max`` stays ``+-max`` under every
policy.  Stochastic rounding that rounds up past ``max`` gives an infinite
result, as round-to-nearest does.  NaN input gives NaN wherever the format has NaN.

Flush to zero and denormals are zero
------------------------------------
``ftz=True``: a result in the format's subnormal range (after rounding)
becomes a zero of the input's sign (+0 where the format has no -0); a value
that rounds up to the smallest normal is kept.  ``daz=True``: inputs that are
subnormal in their own float type count as zeros of their sign.

Exception flags (IEEE 754-2019 section 7; bit values of Berkeley SoftFloat)
---------------------------------------------------------------------------
Casts and arithmetic can report, per element, the bitwise OR of
:data:`FLAG_INEXACT` (1), :data:`FLAG_UNDERFLOW` (2), :data:`FLAG_OVERFLOW`
(4), :data:`FLAG_INFINITE` (8, division by zero) and :data:`FLAG_INVALID`
(16).  A result is *tiny* when it is nonzero and below the smallest normal
``2**emin`` in magnitude: before rounding (``tininess="before"``, as ARM) the
exact value, after rounding (``tininess="after"``, the default, as x86) the
value rounded to the format's precision with an unbounded exponent range.
IEEE 754 fixes the rules for IEEE-style formats; the other conventions
follow the same principles, one rule per case:

=============================================  ===========================  ============================
input                                          result                       flags
=============================================  ===========================  ============================
exact on the grid                              itself                       none
finite, not on the grid                        rounded                      INEXACT
finite, rounds beyond ``max`` (any mode,       inf, NaN or ``+-max`` (the   OVERFLOW | INEXACT
any policy, any format)                        policy and mode decide)
finite, tiny and not on the grid               rounded (E8M0: 2**-127 at    UNDERFLOW | INEXACT
                                               least)
``ftz=True`` flushes a subnormal result        zero                         UNDERFLOW | INEXACT
``daz=True``, a subnormal input                zero                         none (as x86's DAZ)
quiet NaN, format with NaN                     NaN                          none
signalling NaN                                 NaN                          INVALID
NaN, format without NaN (``none``)             NaN in floats (encode        INVALID
                                               refuses it)
+-inf, format with inf and a policy that       +-inf                        none
keeps it
+-inf that becomes NaN or ``+-max``            NaN or ``+-max``             INVALID
(``fn``, ``fnuz``, ``none``, ``"saturate"``)
0, -0 or a negative value into E8M0 (no zero,  NaN                          INVALID
no sign)
-0 into ``fnuz`` (no -0)                       +0                           none
=============================================  ===========================  ============================

Arithmetic (:func:`lowfloat.add` ...) reports the operation's own flags --
INVALID for a signalling NaN operand, ``inf - inf``, ``0 * inf``, ``0 / 0``,
``inf / inf``, the square root of a negative number and ``fma(0, inf, c)``;
INFINITE for a finite nonzero number divided by zero -- together with the
flags of rounding its exact result into the format by the rules above.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ROUNDING_MODES",
    "DETERMINISTIC_MODES",
    "OVERFLOW_POLICIES",
    "TININESS",
    "RULES",
    "Rule",
    "rounding_rule",
    "check_rounding",
    "check_overflow",
    "check_tininess",
    "FLAG_INEXACT",
    "FLAG_UNDERFLOW",
    "FLAG_OVERFLOW",
    "FLAG_INFINITE",
    "FLAG_INVALID",
    "flag_names",
]

#: Rounding modes.
ROUNDING_MODES = (
    "nearest_even",
    "nearest_away",
    "toward_zero",
    "toward_positive",
    "toward_negative",
    "stochastic",
)

#: The modes that give one answer for one input.
DETERMINISTIC_MODES = ROUNDING_MODES[:5]

#: Overflow policies other than ``None`` (the format's default).
OVERFLOW_POLICIES = ("saturate", "inf", "nan")

#: When a result counts as tiny for the underflow flag: after rounding (x86, the default) or before (ARM).
TININESS = ("after", "before")

# Exception flags, the bit values of Berkeley SoftFloat 3 (softfloat_flag_*), which TestFloat
# prints as two hex digits.
FLAG_INEXACT = 1
FLAG_UNDERFLOW = 2
FLAG_OVERFLOW = 4
FLAG_INFINITE = 8  # division by zero
FLAG_INVALID = 16

_FLAG_NAMES = ((FLAG_INVALID, "invalid"), (FLAG_INFINITE, "infinite"), (FLAG_OVERFLOW, "overflow"),
               (FLAG_UNDERFLOW, "underflow"), (FLAG_INEXACT, "inexact"))  # fmt: skip


def flag_names(flags: int) -> str:
    """The names of the flags set in ``flags``, most serious first, joined by ``|``; ``"none"`` for 0.

    >>> flag_names(5), flag_names(0)
    ('overflow|inexact', 'none')
    """
    names = [name for bit, name in _FLAG_NAMES if int(flags) & bit]
    return "|".join(names) if names else "none"


@dataclass(frozen=True)
class Rule:
    """How one rounding mode chooses between the neighbours ``lo < |x| < hi`` of an off-grid value.

    Attributes
    ----------
    mode : str
        The mode's name, one of :data:`ROUNDING_MODES`.
    nearest : bool
        The nearer neighbour wins (then ``ties`` decides a tie).
    ties : {"even", "away", None}
        A tie goes to the even code, or away from zero (to ``hi``).
    up_positive, up_negative : bool
        Directed modes: whether an off-grid positive (negative) value goes to
        ``hi``, the neighbour of larger magnitude.
    stochastic : bool
        ``hi`` with probability ``(|x| - lo) / (hi - lo)``.
    """

    mode: str
    nearest: bool = False
    ties: str | None = None
    up_positive: bool = False
    up_negative: bool = False
    stochastic: bool = False

    def toward_zero(self, negative: bool) -> bool:
        """Whether this mode takes ``lo`` for every off-grid value of this sign (then overflow gives max)."""
        return not (self.nearest or self.stochastic or (self.up_negative if negative else self.up_positive))

    def rounds_up(self, negative: bool, side: int, lo_is_even: bool, random_up: bool = False) -> bool:
        """Whether an off-grid value goes to ``hi``.

        ``side`` compares the distances: -1 when ``|x|`` is nearer ``lo``, 0
        for a tie, +1 when nearer ``hi``; ``lo_is_even`` says whether ``lo``
        has the even code; ``random_up`` is stochastic rounding's draw.
        """
        if self.nearest:
            if side != 0:
                return side > 0
            return self.ties == "away" or not lo_is_even
        if self.stochastic:
            return random_up
        return self.up_negative if negative else self.up_positive


#: The rule of every mode, by name.
RULES = {
    "nearest_even": Rule("nearest_even", nearest=True, ties="even"),
    "nearest_away": Rule("nearest_away", nearest=True, ties="away"),
    "toward_zero": Rule("toward_zero"),
    "toward_positive": Rule("toward_positive", up_positive=True),
    "toward_negative": Rule("toward_negative", up_negative=True),
    "stochastic": Rule("stochastic", stochastic=True),
}


def check_rounding(rounding) -> str:
    """``rounding`` if it names a mode; ValueError naming the valid ones otherwise."""
    if isinstance(rounding, str) and rounding in ROUNDING_MODES:
        return rounding
    raise ValueError(f"unknown rounding {rounding!r}; expected one of {', '.join(ROUNDING_MODES)}")


def rounding_rule(rounding, fmt=None) -> Rule:
    """The :class:`Rule` a mode applies in ``fmt``.

    Unsigned formats (E8M0) round nearest-even ties up, as ml_dtypes and
    PyTorch do: this is the one place that says so.

    >>> import lowfloat as lf
    >>> rounding_rule("nearest_even").ties, rounding_rule("nearest_even", lf.get_format("e8m0")).ties
    ('even', 'away')
    """
    rule = RULES[check_rounding(rounding)]
    if fmt is not None and not fmt.signed and rule.ties == "even":
        return RULES["nearest_away"]
    return rule


def check_tininess(tininess) -> str:
    """``tininess`` if it is ``"after"`` or ``"before"``; ValueError otherwise."""
    if isinstance(tininess, str) and tininess in TININESS:
        return tininess
    raise ValueError(f"unknown tininess {tininess!r}; expected 'after' (x86, the default) or 'before' (ARM)")


def check_overflow(fmt, overflow) -> str:
    """Resolve an ``overflow=`` policy for ``fmt`` to "saturate", "inf" or "nan".

    Raises ValueError for an unknown policy or one the format cannot follow.
    """
    if overflow is None:
        return "inf" if fmt.has_inf else "nan" if fmt.has_nan else "saturate"
    if not isinstance(overflow, str) or overflow not in OVERFLOW_POLICIES:
        raise ValueError(f"unknown overflow {overflow!r}; expected None or one of {', '.join(OVERFLOW_POLICIES)}")
    if overflow == "inf" and not fmt.has_inf:
        raise ValueError(f"overflow='inf' is impossible: {fmt.name} has no infinity")
    if overflow == "nan" and not fmt.has_nan:
        raise ValueError(f"overflow='nan' is impossible: {fmt.name} has no NaN")
    return overflow
