"""Number formats: the few fields that define one, and everything derived from them.

A :class:`Format` stores only what defines a binary floating-point format --
exponent bits, mantissa bits, exponent bias, the special-value convention and
whether it has a sign bit.  Every other property (largest value, the code of
NaN, how many bits a code takes, ...) is derived here, once, so that the
kernels, the reference and :func:`lowfloat.finfo` can never disagree.

The special-value conventions
-----------------------------
``"ieee"``  IEEE 754 style: the all-ones exponent holds +-inf (mantissa 0) and
            NaNs (mantissa != 0).  float32, float16, bfloat16, float8_e5m2, ...
``"fn"``    "finite": no infinities; only the all-ones exponent *and* all-ones
            mantissa is NaN, so the rest of the top binade holds finite values.
            float8_e4m3fn (OCP OFP8 v1.0).  With ``signed=False`` this is the
            MX scale format float8_e8m0fnu (see below).
``"fnuz"``  "finite, no negative zero": no infinities, no -0; the single NaN is
            the code with only the sign bit set (0x80 for 8 bits).
            float8_e4m3fnuz, float8_e5m2fnuz, float8_e4m3b11fnuz.
``"none"``  no infinities and no NaN at all: float6_e2m3fn, float6_e3m2fn,
            float4_e2m1fn (OCP Microscaling v1.0).

Unsigned formats (``signed=False``) follow the OCP Microscaling v1.0 scale
format E8M0: no sign bit, no mantissa, no zero and no subnormals -- exponent
field 0 is the binade ``2**-bias`` -- and the all-ones code is NaN.

Range and precision
-------------------
Any exponent width up to float64's 11 bits and any mantissa width up to its
52 bits, with a bias that keeps every value -- subnormals included -- a
float64 value (see :class:`Format`).  Formats whose values all fit float32
(:attr:`Format.value_dtype`) are the ones the literature's low-precision
formats come from; the others reach float64's range or precision (the
``Format(exp_bits=11, man_bits=10, bias=1023)`` of precision studies, or
float64 itself, ``Format(11, 52, 1023)``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np

__all__ = [
    "Format",
    "SPECIALS",
    "BUILTIN_FORMATS",
    "ALIASES",
    "get_format",
    "format_names",
]

#: The special-value conventions a :class:`Format` may use.
SPECIALS = ("ieee", "fn", "fnuz", "none")

# Every format's values must be exactly representable in float64 (IEEE 754 binary64),
# so that decoding to float64 is exact and the kernels can work in float64 bit space:
# at most float64's field widths, a largest exponent no larger than float64's, and a
# smallest positive value no smaller than float64's smallest subnormal.
_MAX_EXP_BITS = 11
_MAX_MAN_BITS = 52
_FLOAT64_EMAX = 1023
_FLOAT64_SMALLEST_EXP = -1074  # 2**-1074, float64's smallest subnormal
# float32's limits (IEEE 754 binary32), for value_dtype
_FLOAT32_EMAX = 127
_FLOAT32_MAN_BITS = 23
_FLOAT32_SMALLEST_EXP = -149


@dataclass(frozen=True)
class Format:
    """A binary floating-point format, defined by five fields.

    Parameters
    ----------
    exp_bits : int
        Width of the exponent field, 1 to 11.
    man_bits : int
        Width of the stored mantissa (trailing significand) field, 0 to 52.
        The precision ``p`` (significand bits including the implicit one) is
        ``man_bits + 1``.
    bias : int
        Exponent bias: a normal code with exponent field ``e`` has value
        ``(1 + mantissa / 2**man_bits) * 2**(e - bias)``.  Any integer that
        keeps every value a float64 value (see Notes).
    specials : {"ieee", "fn", "fnuz", "none"}
        Special-value convention (see the module docstring).
    signed : bool
        Whether a sign bit precedes the exponent field.  Unsigned formats are
        the E8M0 scale convention: ``man_bits`` must be 0 and ``specials``
        must be ``"fn"``.

    Raises
    ------
    TypeError
        A field has the wrong type.
    ValueError
        A field is out of range, the combination describes no usable format,
        or some of its values are not float64 values; the message names the
        bound crossed and the bias that would fix it.

    Notes
    -----
    The range rule: every value, subnormals included, must be a float64
    value.  With ``emax`` the exponent of the largest finite value and
    ``smallest = emin - man_bits`` (``emin`` where there are no subnormals)
    the exponent of the smallest positive one, a format is accepted when

    * ``emax <= 1023``: its max is at most float64's max, and
    * ``smallest >= -1074``: its smallest positive value is at least
      float64's smallest subnormal, ``2**-1074``.

    (Then every value between is a float64 value too: ``man_bits <= 52``.)
    For a signed format with subnormals that is ``top - 1023 <= bias <= 1075
    - man_bits``, ``top`` being the exponent field of max (``2**exp_bits - 2``
    for ``"ieee"``, else ``2**exp_bits - 1``).  float64 itself is
    ``Format(11, 52, 1023)``; ``"fn"``, ``"fnuz"`` and ``"none"`` formats
    with 11 exponent bits fit with at most 51 mantissa bits.

    Formats compare, hash and pickle by their five fields; :attr:`name` is
    derived (the canonical name of a built-in format, otherwise a descriptive
    one that :func:`get_format` reads back).  Codes are unsigned integers laid
    out ``sign | exponent | mantissa`` in the low :attr:`bits` bits of
    :attr:`code_dtype`.  Values are exact in :attr:`value_dtype` (float32
    where it holds them all, else float64).

    Examples
    --------
    >>> from lowfloat import Format
    >>> fmt = Format(exp_bits=4, man_bits=3, bias=7, specials="fn")
    >>> fmt.name, fmt.max, fmt.bits
    ('float8_e4m3fn', 448.0, 8)
    >>> Format(exp_bits=3, man_bits=2, bias=3, specials="ieee").name
    'float6_e3m2_b3_ieee'
    >>> wide = Format(exp_bits=11, man_bits=10, bias=1023)  # float64's range, 11-bit significands
    >>> wide.max, wide.smallest_subnormal, wide.code_dtype, wide.value_dtype
    (1.796815355011309e+308, 2.1729236899484e-311, dtype('uint32'), dtype('float64'))
    >>> Format(exp_bits=11, man_bits=10, bias=1000)
    Traceback (most recent call last):
    ...
    ValueError: Format(...) reaches 2**1046, beyond float64's largest exponent 1023; raise bias to at least 1023
    """

    exp_bits: int
    man_bits: int
    bias: int
    specials: str = "ieee"
    signed: bool = True

    def __post_init__(self):
        for field_name in ("exp_bits", "man_bits", "bias"):
            value = getattr(self, field_name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"Format.{field_name} must be an int, got {value!r}")
            object.__setattr__(self, field_name, int(value))
        if not isinstance(self.signed, (bool, np.bool_)):
            raise TypeError(f"Format.signed must be a bool, got {self.signed!r}")
        object.__setattr__(self, "signed", bool(self.signed))
        if not isinstance(self.specials, str):
            raise TypeError(f"Format.specials must be a str, one of {SPECIALS}, got {self.specials!r}")
        if self.specials not in SPECIALS:
            raise ValueError(f"Format.specials must be one of {SPECIALS}, got {self.specials!r}")
        if not 1 <= self.exp_bits <= _MAX_EXP_BITS:
            raise ValueError(f"Format.exp_bits must be 1 to {_MAX_EXP_BITS}, got {self.exp_bits}")
        if not 0 <= self.man_bits <= _MAX_MAN_BITS:
            raise ValueError(f"Format.man_bits must be 0 to {_MAX_MAN_BITS}, got {self.man_bits}")
        if not self.signed and (self.man_bits != 0 or self.specials != "fn"):
            raise ValueError(
                "unsigned formats follow the E8M0 scale convention and need man_bits=0 "
                f"and specials='fn', got man_bits={self.man_bits}, specials={self.specials!r}"
            )
        if self.specials == "ieee" and (self.man_bits == 0 or self.exp_bits < 2):
            raise ValueError(
                "an 'ieee' format needs man_bits >= 1 (to tell NaN from inf) and exp_bits >= 2 "
                f"(to have normal numbers), got exp_bits={self.exp_bits}, man_bits={self.man_bits}"
            )
        if self.max_code_magnitude < 1:
            raise ValueError(f"{self!r} has no finite nonzero value")
        self._check_float64_range()

    def _check_float64_range(self):
        """Refuse a bias that puts a value outside float64, saying which bias would fix it."""
        # emax = top - bias and smallest = emin - sub = low - bias, both linear in the bias
        top = self.max_code_magnitude >> self.man_bits
        low = self.smallest_exponent + self.bias
        min_bias, max_bias = top - _FLOAT64_EMAX, low - _FLOAT64_SMALLEST_EXP
        if min_bias > max_bias:
            raise ValueError(
                f"{self!r}: no bias puts every value inside float64 -- max needs bias >= {min_bias}, the smallest "
                f"value bias <= {max_bias}; use fewer exp_bits or man_bits"
            )
        if self.emax > _FLOAT64_EMAX:
            raise ValueError(
                f"{self!r} reaches 2**{self.emax}, beyond float64's largest exponent {_FLOAT64_EMAX}; "
                f"raise bias to at least {min_bias}"
            )
        if self.smallest_exponent < _FLOAT64_SMALLEST_EXP:
            raise ValueError(
                f"{self!r} has smallest positive value 2**{self.smallest_exponent}, below float64's smallest "
                f"subnormal 2**{_FLOAT64_SMALLEST_EXP}; lower bias to at most {max_bias}"
            )

    # ------------------------------------------------------------------ names
    def __repr__(self):
        extra = "" if self.signed else ", signed=False"
        return (
            f"Format(exp_bits={self.exp_bits}, man_bits={self.man_bits}, bias={self.bias}, "
            f"specials={self.specials!r}{extra})"
        )

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        """Canonical name: ml_dtypes' name for a built-in format, else a descriptive one."""
        builtin = _NAME_OF.get(self)
        if builtin is not None:
            return builtin
        sign = "" if self.signed else "u"
        return f"float{self.bits}_e{self.exp_bits}m{self.man_bits}_b{self.bias}_{self.specials}{sign}"

    # --------------------------------------------------------- code layout
    @property
    def bits(self) -> int:
        """Width of a code: sign + exponent + mantissa bits."""
        return int(self.signed) + self.exp_bits + self.man_bits

    @property
    def code_dtype(self) -> np.dtype:
        """Unsigned integer dtype that holds one code: uint8, uint16, uint32 or (beyond 32 bits) uint64."""
        for dtype in (np.uint8, np.uint16, np.uint32):
            if self.bits <= 8 * np.dtype(dtype).itemsize:
                return np.dtype(dtype)
        return np.dtype(np.uint64)

    @property
    def value_dtype(self) -> np.dtype:
        """The narrower of float32 and float64 that holds every value exactly.

        float32 where ``emax <= 127``, ``man_bits <= 23`` and the smallest
        positive value is at least ``2**-149`` (every built-in format); else
        float64.  :func:`lowfloat.decode` returns this dtype by default, and
        :func:`lowfloat.quantize` of float32 data returns float64 for formats
        whose values float32 cannot hold.
        """
        fits = (self.emax <= _FLOAT32_EMAX and self.man_bits <= _FLOAT32_MAN_BITS
                and self.smallest_exponent >= _FLOAT32_SMALLEST_EXP)  # fmt: skip
        return np.dtype(np.float32 if fits else np.float64)

    @property
    def precision_bits(self) -> int:
        """Significand bits including the implicit leading one (``p``)."""
        return self.man_bits + 1

    @property
    def sign_code(self) -> int:
        """The sign bit as a code (0 for unsigned formats)."""
        return (1 << (self.bits - 1)) if self.signed else 0

    @property
    def exp_field_max(self) -> int:
        """The all-ones exponent field."""
        return (1 << self.exp_bits) - 1

    @property
    def has_inf(self) -> bool:
        return self.specials == "ieee"

    @property
    def has_nan(self) -> bool:
        return self.specials != "none"

    @property
    def has_negative_zero(self) -> bool:
        return self.signed and self.specials != "fnuz"

    @property
    def has_zero(self) -> bool:
        """False only for unsigned (E8M0-style) formats, whose field 0 is a normal binade."""
        return self.signed

    @property
    def has_subnormals(self) -> bool:
        return self.signed and self.man_bits > 0

    @property
    def max_code_magnitude(self) -> int:
        """Code (without sign) of the largest finite value."""
        all_ones = (1 << (self.exp_bits + self.man_bits)) - 1
        if self.specials == "ieee":
            return all_ones - (1 << self.man_bits)  # the top binade is inf and NaN
        if self.specials == "fn":
            return all_ones - 1  # only all-ones is NaN
        return all_ones  # fnuz and none: every magnitude is finite

    @property
    def inf_code_magnitude(self):
        """Code (without sign) of +inf, or None if the format has no infinity."""
        if not self.has_inf:
            return None
        return self.exp_field_max << self.man_bits

    @property
    def nan_code(self):
        """The canonical NaN code (quiet, positive where NaN has a sign), or None."""
        if self.specials == "ieee":
            return self.inf_code_magnitude | (1 << (self.man_bits - 1))
        if self.specials == "fn":
            return (1 << (self.exp_bits + self.man_bits)) - 1
        if self.specials == "fnuz":
            return self.sign_code
        return None

    # ------------------------------------------------------------ exponents
    @property
    def emin(self) -> int:
        """Exponent of the smallest normal value."""
        return (1 if self.has_zero else 0) - self.bias

    @property
    def emax(self) -> int:
        """Exponent of the largest finite value."""
        return (self.max_code_magnitude >> self.man_bits) - self.bias

    # --------------------------------------------------------------- values
    @cached_property
    def max_exact(self) -> Fraction:
        """Largest finite value, exactly."""
        man = self.max_code_magnitude & ((1 << self.man_bits) - 1)
        return Fraction((1 << self.man_bits) + man, 1 << self.man_bits) * Fraction(2) ** self.emax

    @property
    def max(self) -> float:
        """Largest finite value."""
        return float(self.max_exact)

    @property
    def smallest_normal(self) -> float:
        return 2.0**self.emin

    @property
    def smallest_exponent(self) -> int:
        """Exponent of the smallest positive value: ``emin - man_bits``, or ``emin`` without subnormals."""
        return self.emin - (self.man_bits if self.has_subnormals else 0)

    @property
    def smallest_subnormal(self) -> float:
        """Smallest positive value (equal to smallest_normal where there are no subnormals)."""
        return 2.0**self.smallest_exponent

    def __reduce__(self):
        # Pickle by the five defining fields only (cached properties stay out).
        return (Format, (self.exp_bits, self.man_bits, self.bias, self.specials, self.signed))


# ---------------------------------------------------------------- built-ins
# Canonical names follow ml_dtypes; bit layouts and biases follow the specs
# cited beside each (IEEE 754-2019, OCP OFP8 v1.0, OCP Microscaling v1.0).
BUILTIN_FORMATS: dict[str, Format] = {
    "float32": Format(8, 23, 127, "ieee"),  # IEEE 754 binary32
    "tensorfloat32": Format(8, 10, 127, "ieee"),  # NVIDIA TF32: float32 range, 10 mantissa bits
    "float16": Format(5, 10, 15, "ieee"),  # IEEE 754 binary16
    "bfloat16": Format(8, 7, 127, "ieee"),  # float32 truncated to 16 bits
    "float8_e4m3fn": Format(4, 3, 7, "fn"),  # OCP OFP8 E4M3, max 448
    "float8_e5m2": Format(5, 2, 15, "ieee"),  # OCP OFP8 E5M2, max 57344
    "float8_e4m3fnuz": Format(4, 3, 8, "fnuz"),  # max 240, NaN = 0x80
    "float8_e5m2fnuz": Format(5, 2, 16, "fnuz"),  # max 57344, NaN = 0x80
    "float8_e4m3b11fnuz": Format(4, 3, 11, "fnuz"),  # bias 11, max 30
    "float8_e3m4": Format(3, 4, 3, "ieee"),  # IEEE-like, max 15.5
    "float8_e4m3": Format(4, 3, 7, "ieee"),  # IEEE-like, max 240
    "float8_e8m0fnu": Format(8, 0, 127, "fn", signed=False),  # OCP MX scale, 2**-127..2**127
    "float6_e2m3fn": Format(2, 3, 1, "none"),  # OCP MX FP6 E2M3, max 7.5
    "float6_e3m2fn": Format(3, 2, 3, "none"),  # OCP MX FP6 E3M2, max 28
    "float4_e2m1fn": Format(2, 1, 1, "none"),  # OCP MX FP4 E2M1, max 6
}
_NAME_OF = {fmt: name for name, fmt in BUILTIN_FORMATS.items()}

#: Short names.  ``e4m3`` is the OCP format float8_e4m3fn (max 448), as in
#: ml_dtypes and PyTorch -- not the IEEE-like float8_e4m3 (max 240).
ALIASES: dict[str, str] = {
    "fp32": "float32",
    "single": "float32",
    "tf32": "tensorfloat32",
    "fp16": "float16",
    "half": "float16",
    "bf16": "bfloat16",
    "e4m3": "float8_e4m3fn",
    "fp8_e4m3": "float8_e4m3fn",
    "e4m3fn": "float8_e4m3fn",
    "e5m2": "float8_e5m2",
    "fp8_e5m2": "float8_e5m2",
    "e4m3fnuz": "float8_e4m3fnuz",
    "e5m2fnuz": "float8_e5m2fnuz",
    "e4m3b11fnuz": "float8_e4m3b11fnuz",
    "e3m4": "float8_e3m4",
    "e8m0": "float8_e8m0fnu",
    "e2m3": "float6_e2m3fn",
    "fp6_e2m3": "float6_e2m3fn",
    "e3m2": "float6_e3m2fn",
    "fp6_e3m2": "float6_e3m2fn",
    "e2m1": "float4_e2m1fn",
    "fp4": "float4_e2m1fn",
    "fp4_e2m1": "float4_e2m1fn",
}


def format_names(*, aliases: bool = False) -> list[str]:
    """Names :func:`get_format` accepts: the canonical ones, plus the aliases if asked."""
    names = list(BUILTIN_FORMATS)
    return names + list(ALIASES) if aliases else names


def get_format(fmt) -> Format:
    """Return the :class:`Format` for a Format or a name.

    Parameters
    ----------
    fmt : Format or str
        A format, a canonical name (``"float8_e4m3fn"``), an alias
        (``"e4m3"``, ``"bf16"``) or the descriptive name of any other format,
        as :attr:`Format.name` spells it: ``"float22_e11m10_b1023_ieee"``
        (the leading ``floatN_`` may be left out, ``_ieee`` too, and a
        trailing ``u`` after ``fn`` makes it unsigned); names are
        case-insensitive.

    Returns
    -------
    Format

    Raises
    ------
    ValueError
        Unknown name (the message lists the closest known names), or a
        descriptive name whose fields make no valid :class:`Format`.
    TypeError
        Neither a Format nor a str.

    Examples
    --------
    >>> from lowfloat import get_format
    >>> get_format("e4m3").name
    'float8_e4m3fn'
    >>> get_format("bf16").max
    3.3895313892515355e+38
    >>> get_format("e11m10_b1023")
    Format(exp_bits=11, man_bits=10, bias=1023, specials='ieee')
    >>> get_format("fp7")
    Traceback (most recent call last):
    ...
    ValueError: unknown format 'fp7'; closest known names: ...
    """
    if isinstance(fmt, Format):
        return fmt
    if isinstance(fmt, str):
        key = fmt.strip().lower()
        key = ALIASES.get(key, key)
        found = BUILTIN_FORMATS.get(key)
        if found is not None:
            return found
        described = _DESCRIPTIVE_NAME.fullmatch(key)
        if described is not None:
            return _from_descriptive_name(fmt, *described.groups())
        close = difflib.get_close_matches(key, format_names(aliases=True), n=3, cutoff=0.5)
        hint = f"; closest known names: {', '.join(close)}" if close else ""
        raise ValueError(f"unknown format {fmt!r}{hint} (lowfloat.format_names(aliases=True) lists all)")
    raise TypeError(f"a format must be a lowfloat.Format or a name, got {type(fmt).__name__}")


# Format.name of a format that is not built in: float{bits}_e{exp_bits}m{man_bits}_b{bias}_{specials}{u}
_DESCRIPTIVE_NAME = re.compile(r"(?:float(\d+)_)?e(\d+)m(\d+)_b(-?\d+)(?:_(ieee|fnuz|fn|none)(u?))?")


def _from_descriptive_name(name: str, bits, exp_bits, man_bits, bias, specials, unsigned) -> Format:
    """The Format a descriptive name (see :func:`get_format`) spells, or ValueError naming what is wrong."""
    fmt = Format(int(exp_bits), int(man_bits), int(bias), specials or "ieee", signed=not unsigned)
    if bits is not None and int(bits) != fmt.bits:
        raise ValueError(f"format name {name!r} says {bits} bits, but its fields make {fmt.bits} ({fmt.name})")
    return fmt
