"""Integer element formats (int8, int4) for scaled and block quantization, and element-format lookup.

An :class:`IntFormat` is a range of integers ``min .. max`` times a fixed
step ``2**exponent``.  Rounding onto it goes through :func:`lowfloat.quantize`
like every other rounding in lowfloat: the integers ``|n| < 2**bits`` form
the grid of a floating-point :class:`~lowfloat.Format` with a one-bit
exponent whose subnormal and normal binades share the step ``2**exponent``
(:attr:`IntFormat.grid`); round-half-to-even onto that grid is
round-half-to-even to an integer, and saturation is a clamp to
``min .. max``.

The built-in integer formats
----------------------------
``int8``   symmetric, -127 .. 127.  -128 is left out so that negation is
           exact and ``scale = amax / 127`` maps +-amax onto +-127, as
           symmetric ("restricted range") INT8 quantization does in PyTorch
           and TensorRT.
``int4``   -8 .. 7, the range of ml_dtypes' ``int4``.
``mxint8`` the MXINT8 element of OCP Microscaling v1.0: an 8-bit two's
           complement integer with an implicit step 2**-6, -2 .. 127/64
           (-128 is allowed, as the spec and gfloat allow it).

Codes of integer formats are the integers themselves, as ``int8``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..codec import decode, encode, quantize
from ..formats import Format, get_format

__all__ = ["IntFormat", "INT_FORMATS", "element_format", "element_max", "round_to_codes", "code_values"]


@dataclass(frozen=True)
class IntFormat:
    """Integers ``min .. max`` times ``2**exponent``, rounded half to even and saturated.

    Parameters
    ----------
    name : str
    bits : int
        Width of a code (two's complement), 2 to 8.
    min, max : int
        The smallest and largest integer a code may hold.
    exponent : int
        A code ``n`` has the value ``n * 2**exponent``.

    Examples
    --------
    >>> from lowfloat.scaling.integer import INT_FORMATS
    >>> int8 = INT_FORMATS["int8"]
    >>> int8.min, int8.max, int8.max_value
    (-127, 127, 127.0)
    >>> INT_FORMATS["mxint8"].max_value
    1.984375
    """

    name: str
    bits: int
    min: int
    max: int
    exponent: int = 0

    def __post_init__(self):
        if not 2 <= self.bits <= 8:
            raise ValueError(f"IntFormat.bits must be 2 to 8, got {self.bits}")
        if not -(1 << (self.bits - 1)) <= self.min < 0 < self.max <= (1 << (self.bits - 1)) - 1:
            raise ValueError(f"IntFormat range {self.min}..{self.max} does not fit {self.bits}-bit two's complement")

    @property
    def code_dtype(self) -> np.dtype:
        return np.dtype(np.int8)

    @property
    def max_value(self) -> float:
        """Largest value, ``max * 2**exponent``."""
        return float(np.ldexp(float(self.max), self.exponent))

    @property
    def emax(self) -> int:
        """Exponent of the largest value's binade, floor(log2(max_value)) (MX's emax_elem)."""
        return (self.max.bit_length() - 1) + self.exponent

    @cached_property
    def grid(self) -> Format:
        """The float format whose values include every ``n * 2**exponent`` with ``|n| < 2**bits``.

        One exponent bit and ``bits - 1`` mantissa bits: the subnormal binade
        holds 0 .. 2**(bits-1) - 1 and the normal one 2**(bits-1) .. 2**bits - 1,
        both with step 2**exponent (bias = 2 - bits - exponent).
        """
        return Format(exp_bits=1, man_bits=self.bits - 1, bias=2 - self.bits - self.exponent, specials="none")

    def __str__(self):
        return self.name


#: The integer element formats by name.
INT_FORMATS: dict[str, IntFormat] = {
    "int8": IntFormat("int8", 8, -127, 127),
    "int4": IntFormat("int4", 4, -8, 7),
    "mxint8": IntFormat("mxint8", 8, -128, 127, exponent=-6),
}


def element_format(fmt, what: str = "fmt", *, allow_unsigned: bool = False):
    """The :class:`~lowfloat.Format` or :class:`IntFormat` an element-format argument names.

    Raises ValueError for an unknown name (listing the integer names too),
    unless ``allow_unsigned`` an unsigned (scale) format, and a format whose
    values float32 cannot hold (scaled elements are float32 arithmetic);
    TypeError for anything else.
    """
    if isinstance(fmt, (Format, IntFormat)):
        return _held_by_float32(fmt, what)
    if isinstance(fmt, str) and fmt.strip().lower() in INT_FORMATS:
        return INT_FORMATS[fmt.strip().lower()]
    if not isinstance(fmt, str):
        raise TypeError(f"{what} must be a lowfloat.Format, an IntFormat or a name, got {type(fmt).__name__}")
    try:
        found = get_format(fmt)
    except ValueError as error:
        raise ValueError(f"{what}: {error}; integer element formats: {', '.join(INT_FORMATS)}") from None
    if not found.signed and not allow_unsigned:
        raise ValueError(f"{what}={fmt!r}: {found.name} is unsigned (a scale format) and cannot hold elements")
    return _held_by_float32(found, what)


def _held_by_float32(fmt, what: str):
    """``fmt``, or ValueError for a float format beyond float32's range or precision."""
    if isinstance(fmt, Format) and fmt.value_dtype != np.float32:
        raise ValueError(f"{what}: {fmt.name} reaches beyond float32's range or precision; scaled and block "
                         "elements are float32 values")  # fmt: skip
    return fmt


def element_max(fmt) -> float:
    """Largest finite value of an element format."""
    return fmt.max_value if isinstance(fmt, IntFormat) else fmt.max


def round_to_codes(y: np.ndarray, fmt, *, ftz: bool = False) -> np.ndarray:
    """Codes of ``y`` rounded half to even onto ``fmt`` and saturated to +-max.

    Float formats: :func:`lowfloat.encode` with ``overflow="saturate"`` (NaN
    gives NaN where the format has it, and is refused where it has not) and
    ``ftz``.  Integer formats: :func:`lowfloat.quantize` onto
    :attr:`IntFormat.grid`, clamped to ``min .. max``; NaN is refused
    (integers have no NaN), and ``ftz`` changes nothing: integers have no
    subnormals (the grid's subnormal binade holds the integers below
    ``2**(bits-1)``, which must not be flushed).
    """
    if not isinstance(fmt, IntFormat):
        return encode(y, fmt, overflow="saturate", ftz=ftz)
    if y.size and np.isnan(y).any():
        raise ValueError(f"NaN has no code in {fmt.name}")
    steps = np.asarray(quantize(y, fmt.grid, overflow="saturate"))  # n * 2**exponent, |n| <= 2**bits - 1; a new array
    if fmt.exponent:
        steps *= steps.dtype.type(2.0**-fmt.exponent)  # exact: a power of two
    np.clip(steps, fmt.min, fmt.max, out=steps)
    return steps.astype(np.int8)


def code_values(codes: np.ndarray, fmt, dtype=np.float32) -> np.ndarray:
    """Exact values of codes of ``fmt`` as ``dtype`` (float32 or float64)."""
    if not isinstance(fmt, IntFormat):
        return decode(codes, fmt, dtype=dtype)
    values = np.asarray(codes).astype(dtype)  # a new array
    if fmt.exponent:
        values *= values.dtype.type(2.0**fmt.exponent)  # exact: a power of two
    return values
