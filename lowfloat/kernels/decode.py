"""Array kernels: codes to float bits.  Entry points as in :mod:`.encode`."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np

from ..formats import Format
from .bitcast import bitcast
from .jit import njit
from .layout import layout, width_constants
from .scalar import decode_bits


@njit(cache=True, nogil=True)
def decode_float32(codes, out, start, stop, lay):
    """``out[i] = bits of the float32 value of codes[i]`` for ``start <= i < stop``."""
    c, o = codes[start:stop], out[start:stop]
    for j in range(c.size):
        o[j] = decode_bits(c[j], np.uint32, np.float32, lay)


@njit(cache=True, nogil=True)
def decode_float64(codes, out, start, stop, lay):
    """``out[i] = bits of the float64 value of codes[i]`` for ``start <= i < stop``."""
    c, o = codes[start:stop], out[start:stop]
    for j in range(c.size):
        o[j] = decode_bits(c[j], np.uint64, np.float64, lay)


@njit(cache=True, nogil=True)
def lookup(codes, out, start, stop, table):
    """``out[i] = table[codes[i]]``: decoding through a table of every code's value.

    For the formats of up to 16 bits that :func:`small_float32` does not
    serve (E8M0, formats whose subnormals lie below the float's normal
    range): a lookup is cheaper than the general arithmetic of
    ``decode_bits``, which builds the table.
    """
    c, o = codes[start:stop], out[start:stop]
    for j in range(c.size):
        o[j] = table[c[j]]


_SIGN32 = np.uint32(0x80000000)
_MAGNITUDE32 = np.uint32(0x7FFFFFFF)
_INF32 = np.uint32(0x7F800000)
_QUIET_NAN32 = np.uint32(0x7FC00000)


@njit(cache=True, nogil=True)
def shift_float32(codes, out, start, stop, shift):
    """Decode a float32 cut short -- bfloat16, tensorfloat32 -- to float32 bits: a shift.

    Formats with float32's exponent field and bias and IEEE specials are
    float32 with ``shift`` low mantissa bits removed, subnormals included;
    shifting back is exact.  NaNs become the canonical quiet NaN with their
    sign, as in :func:`decode_bits`.  For bfloat16 this beats the lookup
    table, whose 256 KiB miss L2 on random codes.
    """
    c, o = codes[start:stop], out[start:stop]
    amount = np.uint32(np.uint32(shift) & np.uint32(31))
    for j in range(c.size):
        bits = np.uint32(np.uint32(c[j]) << amount)
        nan = np.uint32(bits & _MAGNITUDE32) > _INF32
        o[j] = np.uint32(np.uint32(bits & _SIGN32) | _QUIET_NAN32) if nan else bits


class SmallConstants(NamedTuple):
    """Constants of :func:`small_float32` / :func:`small_float64` (``U`` fields of the output's unsigned type)."""

    sign_code: object  # U  the code's sign bit
    mag_mask: object  # U  the magnitude's bits
    sign_shift: object  # U  moves the code's sign bit to the float's
    man_shift: object  # U  widens the mantissa field
    rebias: object  # U  re-biases the exponent field
    first_normal: object  # U  the first normal magnitude
    inf_mag: object  # U  the magnitude of inf (above every code where there is none)
    nan_above: object  # U  magnitudes above it are NaN
    fnuz_nan: object  # U  fnuz's NaN code (above every code otherwise)
    out_inf: object  # U  the output's +inf
    out_nan: object  # U  the output's canonical quiet NaN
    scale: object  # F  2**sub_exp: a subnormal code c has value c * scale


@cache
def small_constants(fmt: Format, dtype) -> SmallConstants | None:
    """Constants of :func:`small_float32` / :func:`small_float64` for ``fmt``, or None if they do not apply.

    They apply to signed formats of up to 16 bits whose smallest subnormal is
    a normal ``dtype`` value: float16, every fp8, fp6 and fp4 format, and
    bfloat16 to float64.
    """
    float_type = np.dtype(dtype).type
    info = np.finfo(float_type)
    if not fmt.signed or fmt.bits > 16 or fmt.emin - fmt.man_bits < info.minexp:
        return None
    uint = np.uint32 if float_type is np.float32 else np.uint64
    lay = layout(fmt)
    m, bias, max_mag, inf_mag, sign_code = (int(v) for v in (lay.man_bits, lay.bias, lay.max_mag, lay.inf_mag,
                                                             lay.sign_code))  # fmt: skip
    out_inf = ((1 << info.nexp) - 1) << info.nmant
    never = (1 << (8 * np.dtype(uint).itemsize)) - 1  # above every code: a comparison that never holds
    return SmallConstants(
        sign_code=uint(sign_code),
        mag_mask=uint(sign_code - 1),
        sign_shift=uint(8 * np.dtype(uint).itemsize - fmt.bits),
        man_shift=uint(info.nmant - m),
        rebias=uint((info.maxexp - 1 - bias) << info.nmant),
        first_normal=uint(1 << m),
        inf_mag=uint(inf_mag if fmt.has_inf else never),
        nan_above=uint(inf_mag if fmt.has_inf else max_mag),
        fnuz_nan=uint(sign_code if fmt.specials == "fnuz" else never),
        out_inf=uint(out_inf),
        out_nan=uint(out_inf | (1 << (info.nmant - 1))),
        scale=float_type(2.0 ** (fmt.emin - fmt.man_bits)),
    )


@njit(cache=True, nogil=True, inline="always")
def _small(code, U, I, F, k):
    """Bits of the value of a code of a small signed format (see :func:`small_constants`)."""
    lane = U(width_constants(U)[0])
    c = U(code)
    sign = U(U(c & k.sign_code) << U(k.sign_shift & lane))
    mag = U(c & k.mag_mask)
    # normal codes: widen the mantissa and re-bias the exponent, one shift and one addition;
    # subnormal codes: mag * 2**sub_exp, an exact product that is a normal float
    normal = U(U(mag << U(k.man_shift & lane)) + k.rebias)
    subnormal = bitcast(F(I(mag)) * k.scale, U)
    value = subnormal if I(mag) < I(k.first_normal) else normal
    value = k.out_inf if mag == k.inf_mag else value
    value = k.out_nan if (I(mag) > I(k.nan_above)) | (c == k.fnuz_nan) else value
    return U(sign | value)


@njit(cache=True, nogil=True)
def small_float32(codes, out, start, stop, k):
    """Decode a small format's codes to float32 bits by arithmetic (see :func:`small_constants`).

    About 30 SIMD instructions per 8 codes: memory speed, where a 256 KiB
    table (float16) misses L2 on random codes.  Gives :func:`decode_bits`'s
    bits exactly, NaN included.
    """
    c, o = codes[start:stop], out[start:stop]
    for j in range(c.size):
        o[j] = _small(c[j], np.uint32, np.int32, np.float32, k)


@njit(cache=True, nogil=True)
def small_float64(codes, out, start, stop, k):
    """:func:`small_float32` to float64 bits."""
    c, o = codes[start:stop], out[start:stop]
    for j in range(c.size):
        o[j] = _small(c[j], np.uint64, np.int64, np.float64, k)
