"""finfo: a format's limits under numpy.finfo's names."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from . import reference
from .formats import Format, get_format

__all__ = ["finfo", "float_dtype"]

#: Formats whose values NumPy holds in a float dtype of its own, by canonical name.
_NUMPY_FLOATS = {"float16": np.float16, "float32": np.float32}

#: IEEE 754 binary64 as a lowfloat format: a generic one (no built-in name), NumPy's float64.
_FLOAT64 = Format(11, 52, 1023)


def float_dtype(fmt) -> np.dtype | None:
    """The float dtype that holds a format's values: NumPy's, else ml_dtypes', else None.

    float16 and float32 are NumPy's, and so is ``Format(11, 52, 1023)``,
    float64 itself; bfloat16, the fp8, fp6 and fp4 formats and E8M0 are
    ml_dtypes' dtypes of the same name, found by their canonical names --
    ml_dtypes is imported only for those, and only if it is installed (else
    None).  Other formats (tensorfloat32, formats you define) have none.

    Examples
    --------
    >>> float_dtype("fp16"), float_dtype("tf32"), float_dtype("e11m52_b1023")
    (dtype('float16'), None, dtype('float64'))
    """
    fmt = get_format(fmt)
    if fmt == _FLOAT64:
        return np.dtype(np.float64)
    name = fmt.name
    if name in _NUMPY_FLOATS:
        return np.dtype(_NUMPY_FLOATS[name])
    try:
        import ml_dtypes
    except ImportError:
        return None
    found = getattr(ml_dtypes, name, None)  # generic formats' descriptive names are none of its dtypes
    return None if found is None else np.dtype(found)


class finfo:  # noqa: N801 -- named after numpy.finfo, which it mirrors
    """Machine limits of a format, with numpy.finfo's attribute names.

    Instances are cached: ``finfo("e4m3") is finfo("float8_e4m3fn")``.
    Values equal ``ml_dtypes.finfo`` (``numpy.finfo`` for float16/float32)
    for every format those know.

    Attributes
    ----------
    bits : int              bits in a code (sign + exponent + mantissa)
    dtype : numpy.dtype or None     the float dtype of the format's values, as numpy and
                            ml_dtypes mean it: numpy's float16/float32, ml_dtypes'
                            bfloat16, float8_*, float6_*, float4_* (if installed), else None
    code_dtype : numpy.dtype        unsigned integer dtype that holds a code
    eps : float             1 to the next larger value: 2**machep
    epsneg : float          1 to the next smaller value: 2**negep
    iexp, nexp : int        exponent bits
    nmant : int             mantissa bits (precision - 1)
    machep : int            exponent of eps
    negep : int             exponent of epsneg
    minexp : int            exponent of the smallest normal value, 1 - bias
    maxexp : int            smallest power of two that overflows, emax + 1
    max : float             largest finite value
    min : float             -max (for unsigned formats, the smallest value)
    smallest_normal, tiny : float   2**minexp
    smallest_subnormal : float      smallest positive value
    precision : int         decimal digits: int(-log10(eps)), at least 1 from 8 bits
    resolution : float      10**-precision, rounded into the format
    format : Format         the format described

    Examples
    --------
    >>> import lowfloat as lf
    >>> fi = lf.finfo("e4m3")
    >>> fi.max, fi.eps, fi.smallest_subnormal, fi.code_dtype
    (448.0, 0.125, 0.001953125, dtype('uint8'))
    >>> fi.dtype, lf.finfo("fp16").dtype, lf.finfo("tf32").dtype
    (dtype(float8_e4m3fn), dtype('float16'), None)
    >>> print(lf.finfo("bf16"))  # doctest: +NORMALIZE_WHITESPACE
    Machine parameters for bfloat16
    ---------------------------------------------------------------
    precision =   2   resolution = 0.0100098
    machep =     -7   eps =        0.0078125
    negep =      -8   epsneg =     0.00390625
    minexp =   -126   tiny =       1.17549e-38
    maxexp =    128   max =        3.38953e+38
    nexp =        8   min =        -max
    smallest_normal = 1.17549e-38   smallest_subnormal = 9.18355e-41
    dtype = bfloat16   code_dtype = uint16
    ---------------------------------------------------------------
    """

    _cache: dict[Format, finfo] = {}

    def __new__(cls, fmt):
        fmt = get_format(fmt)
        cached = cls._cache.get(fmt)
        if cached is None:
            cached = super().__new__(cls)
            cached._init(fmt)
            cls._cache[fmt] = cached
        return cached

    def _init(self, fmt: Format):
        self.format = fmt
        self.bits = fmt.bits
        self.code_dtype = fmt.code_dtype
        self.nexp = self.iexp = fmt.exp_bits
        self.nmant = fmt.man_bits
        self.minexp = fmt.emin
        self.maxexp = fmt.emax + 1
        # Spacing above 1 is that of 1's binade; below 1, that of the binade
        # under it -- unless 1 is already the smallest normal, where the
        # subnormal spacing continues (float4_e2m1fn: epsneg = eps = 0.5).
        self.machep = max(fmt.emin, 0) - fmt.man_bits
        self.negep = max(fmt.emin, -1) - fmt.man_bits if fmt.has_subnormals or fmt.emin < 0 else self.machep
        self.eps = 2.0**self.machep
        self.epsneg = 2.0**self.negep
        self.max = fmt.max
        self.min = -fmt.max if fmt.signed else fmt.smallest_normal
        self.smallest_normal = self.tiny = fmt.smallest_normal
        self.smallest_subnormal = fmt.smallest_subnormal
        # numpy: precision = int(-log10(eps)); ml_dtypes reports at least 1 for
        # its 8-bit formats (0 for the 4- and 6-bit ones) -- follow it.
        self.precision = max(int(-math.log10(self.eps)), 1 if fmt.bits >= 8 else 0)
        self.resolution = reference.quantize(Fraction(1, 10**self.precision), fmt)

    @property
    def dtype(self) -> np.dtype | None:
        """The float dtype of the format's values (numpy's or ml_dtypes'), or None: see :func:`float_dtype`."""
        return float_dtype(self.format)  # looked up on use: ml_dtypes is imported only when asked

    def __reduce__(self):
        return (finfo, (self.format,))

    def __repr__(self):
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
            f"format={self.format.name}, dtype={self.dtype}, code_dtype={self.code_dtype})"
        )

    def __str__(self):
        min_text = "-max" if self.format.signed else f"{self.min:.6g}"
        rows = [
            f"Machine parameters for {self.format.name}",
            "-" * 63,
            f"precision = {self.precision:>3}   resolution = {self.resolution:.6g}",
            f"machep = {self.machep:>6}   eps =        {self.eps:.6g}",
            f"negep = {self.negep:>7}   epsneg =     {self.epsneg:.6g}",
            f"minexp = {self.minexp:>6}   tiny =       {self.tiny:.6g}",
            f"maxexp = {self.maxexp:>6}   max =        {self.max:.6g}",
            f"nexp = {self.nexp:>8}   min =        {min_text}",
            f"smallest_normal = {self.smallest_normal:.6g}   smallest_subnormal = {self.smallest_subnormal:.6g}",
            f"dtype = {self.dtype}   code_dtype = {self.code_dtype}",
            "-" * 63,
        ]
        return "\n".join(rows)
