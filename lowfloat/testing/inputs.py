"""The input types a cast under test reads: float16, bfloat16, float32 and float64.

A test case is a bit pattern of the input type; :class:`InputType` turns bit
patterns into the NumPy array a cast receives and back.  NumPy has no
bfloat16, so bfloat16 inputs travel as **float32 arrays holding bfloat16
values** (a bfloat16 is the top half of a float32, so the widening is exact
and keeps NaN payloads and signalling NaNs): every function of
:mod:`lowfloat.testing` hands a cast from bfloat16 such an array, and a cast
that wants ml_dtypes' or torch's bfloat16 converts it first, exactly.

Examples
--------
>>> from lowfloat.testing.inputs import input_type
>>> t = input_type("bf16")
>>> t.name, t.bits, t.storage
('bfloat16', 16, dtype('float32'))
>>> t.from_bits([0x3F80, 0xFF80, 0x7F81]).tolist()   # 1, -inf, a signalling NaN
[1.0, -inf, nan]
>>> hex(int(t.to_bits(t.from_bits([0x7F81]))[0]))    # the payload survives
'0x7f81'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ..formats import ALIASES, Format, get_format

__all__ = ["InputType", "input_type", "INPUT_TYPES"]

#: The input types, by canonical name.
INPUT_TYPES = ("float16", "bfloat16", "float32", "float64")

_FLOAT64_NAMES = ("float64", "fp64", "double")


@dataclass(frozen=True)
class InputType:
    """A binary floating-point input type: its layout and the NumPy dtype that carries it.

    Attributes
    ----------
    name : str          ``"float16"``, ``"bfloat16"``, ``"float32"`` or ``"float64"``
    exp_bits : int      exponent field width
    man_bits : int      mantissa (trailing significand) field width
    storage : dtype     the NumPy dtype of the arrays: float16, float32 (also for bfloat16), float64
    """

    name: str
    exp_bits: int
    man_bits: int
    storage: np.dtype

    @property
    def bits(self) -> int:
        """Width of a bit pattern: 1 + exp_bits + man_bits."""
        return 1 + self.exp_bits + self.man_bits

    @property
    def uint(self) -> np.dtype:
        """The unsigned integer dtype of one bit pattern."""
        return np.dtype(f"uint{self.bits}")

    @property
    def sign_bit(self) -> int:
        return 1 << (self.bits - 1)

    @property
    def exp_field_max(self) -> int:
        return (1 << self.exp_bits) - 1

    @property
    def bias(self) -> int:
        return (1 << (self.exp_bits - 1)) - 1

    @property
    def inf_bits(self) -> int:
        return self.exp_field_max << self.man_bits

    @property
    def quiet_bit(self) -> int:
        """The top mantissa bit: set in quiet NaNs, clear in signalling ones (IEEE 754-2019 6.2.1)."""
        return 1 << (self.man_bits - 1)

    @property
    def max_bits(self) -> int:
        """Bit pattern of the largest finite value."""
        return self.inf_bits - 1

    @property
    def smallest_normal(self) -> float:
        return 2.0 ** (1 - self.bias)

    @property
    def smallest_subnormal(self) -> float:
        return 2.0 ** (1 - self.bias - self.man_bits)

    @property
    def fmt(self) -> Format | None:
        """The lowfloat format with this layout (None for float64, which is wider than any format)."""
        return None if self.name == "float64" else get_format(self.name)

    def _shift(self) -> int:
        # bfloat16's 16 bits are the top half of the float32 that carries them
        return 8 * self.storage.itemsize - self.bits

    def from_bits(self, bits) -> np.ndarray:
        """The array of :attr:`storage` dtype whose elements have these bit patterns.

        >>> input_type("float16").from_bits([0x3C00, 0x8000]).tolist()
        [1.0, -0.0]
        """
        bits = np.asarray(bits)
        if bits.dtype.kind not in "ui":
            raise TypeError(f"bit patterns must be integers, got dtype {bits.dtype}")
        wide = np.dtype(f"uint{8 * self.storage.itemsize}")
        carried = bits.astype(wide, copy=False)
        if self._shift():
            carried = carried << wide.type(self._shift())
        return carried.view(self.storage)

    def to_bits(self, x) -> np.ndarray:
        """The bit patterns of an array of :attr:`storage` dtype (the inverse of :meth:`from_bits`).

        >>> input_type("float32").to_bits(np.float32([1.0, -2.0])).tolist()
        [1065353216, 3221225472]
        """
        x = np.ascontiguousarray(x, dtype=self.storage)
        wide = np.dtype(f"uint{8 * self.storage.itemsize}")
        return (x.view(wide) >> wide.type(self._shift())).astype(self.uint)

    def holds(self, x) -> np.ndarray:
        """Whether each number of ``x`` (any real dtype) is exactly a value of this type (NaN counts).

        >>> input_type("bfloat16").holds(np.float32([1.0, 1.0 + 2**-10, np.nan])).tolist()
        [True, False, True]
        """
        from ..codec import quantize

        x = np.asarray(x)
        with np.errstate(invalid="ignore", over="ignore"):
            x64 = x.astype(np.float64)
            same = x64 == x
            if self.fmt is not None:
                same &= np.asarray(quantize(x64, self.fmt)) == x64
        return same | np.isnan(x64)


_LAYOUTS = {
    "float16": (5, 10, np.float16),
    "bfloat16": (8, 7, np.float32),
    "float32": (8, 23, np.float32),
    "float64": (11, 52, np.float64),
}


@cache
def _input_type(name: str) -> InputType:
    exp_bits, man_bits, storage = _LAYOUTS[name]
    return InputType(name, exp_bits, man_bits, np.dtype(storage))


def input_type(dtype) -> InputType:
    """The input type named by ``dtype``: a name, an alias, or a NumPy (or ml_dtypes) dtype.

    Parameters
    ----------
    dtype : str, numpy dtype or InputType
        ``"float16"`` (``"fp16"``, ``"half"``, ``numpy.float16``),
        ``"bfloat16"`` (``"bf16"``, ``ml_dtypes.bfloat16``), ``"float32"``
        (``"fp32"``, ``"single"``, ``numpy.float32``) or ``"float64"``
        (``"fp64"``, ``"double"``, ``numpy.float64``, ``float``).

    Raises
    ------
    ValueError
        Any other type.

    Examples
    --------
    >>> import numpy as np
    >>> input_type(np.float16).name, input_type("fp64").name
    ('float16', 'float64')
    """
    if isinstance(dtype, InputType):
        return dtype
    if isinstance(dtype, str):
        name = dtype.strip().lower()
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            raise ValueError(f"dtype must be one of {', '.join(INPUT_TYPES)}, got {dtype!r}") from None
    name = "float64" if name in _FLOAT64_NAMES else ALIASES.get(name, name)
    if name not in _LAYOUTS:
        raise ValueError(f"dtype must be one of {', '.join(INPUT_TYPES)} (the inputs a cast reads), got {dtype!r}")
    return _input_type(name)
