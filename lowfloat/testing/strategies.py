"""Hypothesis strategies for formats, codes and the inputs where casts go wrong.

Hypothesis is a test-time dependency: it is imported when a strategy is
built, never when this module (or :mod:`lowfloat`) is imported.

* :func:`formats` -- built-in formats and random valid generic ones;
* :func:`codes` -- codes of a format, the special ones (zeros, the smallest
  subnormal and normal, ``max``, infinities, NaNs) mixed with uniform ones;
* :func:`values` -- inputs of a float type, drawn from each of the
  :data:`~lowfloat.testing.KINDS` of hard case (ties, their neighbours, the
  overflow threshold, subnormals, zeros, infinities, NaNs) and from uniform
  random bit patterns (``"random"``).  Values are NumPy scalars (or arrays
  with ``shape=``) of the input's own dtype -- float32 holding bfloat16
  values for bfloat16.

Examples
--------
>>> from hypothesis import given
>>> from lowfloat.testing import values
>>> import lowfloat as lf
>>> @given(values("e4m3", "float32", kinds=["midpoint"]))
... def test_ties_go_to_even(x):
...     assert lf.encode(x, "e4m3") % 2 == 0
>>> test_ties_go_to_even()
"""

from __future__ import annotations

import math

import numpy as np

from .. import reference
from ..formats import BUILTIN_FORMATS, SPECIALS, Format, get_format
from .cases import KINDS, hard_case_bits
from .inputs import InputType, input_type

__all__ = ["formats", "codes", "values", "VALUE_KINDS"]

#: The kinds :func:`values` draws from: the hard-case kinds and uniform random bit patterns.
VALUE_KINDS = KINDS + ("random",)

#: Formats up to this many bits draw from every hard case; wider ones also draw fresh grid values.
_ENUMERATED_BITS = 16


def formats(*, builtin: bool = True, generic: bool = True, max_bits: int = 32):
    """A strategy of :class:`~lowfloat.Format`: the built-in ones and random valid generic ones.

    Parameters
    ----------
    builtin, generic : bool
        Which formats to draw from.
    max_bits : int
        Only formats of at most this many bits (e.g. 16 to enumerate their codes).

    Examples
    --------
    >>> from hypothesis import given
    >>> from lowfloat.testing import formats
    >>> @given(formats(max_bits=8))
    ... def test_max_is_finite(fmt):
    ...     assert 0 < fmt.max < float("inf") and fmt.bits <= 8
    >>> test_max_is_finite()
    """
    from hypothesis import strategies as st

    if not (builtin or generic):
        raise ValueError("formats() needs builtin=True or generic=True")
    if isinstance(max_bits, bool) or not isinstance(max_bits, int) or max_bits < 2:
        raise ValueError(f"max_bits must be an int >= 2, got {max_bits!r}")
    parts = []
    if builtin:
        fitting = [fmt for fmt in BUILTIN_FORMATS.values() if fmt.bits <= max_bits]
        if fitting:
            parts.append(st.sampled_from(fitting))
    if generic:
        parts.append(_generic_formats(max_bits))
    return st.one_of(parts)


def _generic_formats(max_bits: int):
    from hypothesis import reject
    from hypothesis import strategies as st

    @st.composite
    def generic(draw):
        signed = draw(st.booleans()) if max_bits >= 2 else True
        if not signed:  # the E8M0 family: no sign, no mantissa, NaN at all ones
            exp_bits = draw(st.integers(1, min(8, max_bits)))
            man_bits, specials = 0, "fn"
        else:
            specials = draw(st.sampled_from(SPECIALS))
            low_exp, low_man = (2, 1) if specials == "ieee" else (1, 0)
            if low_exp + low_man + 1 > max_bits:
                reject()
            exp_bits = draw(st.integers(low_exp, min(8, max_bits - 1 - low_man)))
            man_bits = draw(st.integers(low_man, min(23, max_bits - 1 - exp_bits)))
        try:
            # bias 127 always fits float32's exponent range; the top field bounds the others
            widest = Format(exp_bits, man_bits, 127, specials, signed)
        except ValueError:
            reject()
        top_field = widest.max_code_magnitude >> man_bits
        low_bias = top_field - 127  # emax = top_field - bias <= 127
        if low_bias > 127:  # no bias keeps it inside float32's range (Format would take it: float64's)
            reject()
        usual = min(max((1 << (exp_bits - 1)) - 1, low_bias), 127)  # IEEE's bias where it fits
        bias = draw(st.one_of(st.just(usual), st.integers(low_bias, 127)))
        return Format(exp_bits, man_bits, bias, specials, signed)

    return generic()


def codes(fmt):
    """A strategy of codes of ``fmt`` (Python ints in ``0 .. 2**bits - 1``), special ones often.

    The special codes: +-0, the smallest subnormal, the largest subnormal,
    the smallest normal, 1.0, ``+-max`` and the code below it, +-inf and every
    kind of NaN code; then any code, uniformly.

    Examples
    --------
    >>> from hypothesis import given
    >>> import lowfloat as lf
    >>> from lowfloat.testing import codes
    >>> @given(codes("e4m3"))
    ... def test_decode_encode_round_trip(code):
    ...     value = lf.decode(code, "e4m3")
    ...     assert value != value or lf.encode(value, "e4m3") == code
    >>> test_decode_encode_round_trip()
    """
    from hypothesis import strategies as st

    fmt = get_format(fmt)
    return st.one_of(st.sampled_from(special_codes(fmt)), st.integers(0, (1 << fmt.bits) - 1))


def special_codes(fmt) -> list[int]:
    """The codes :func:`codes` draws often, sorted.

    >>> [hex(c) for c in special_codes("fp4")]
    ['0x0', '0x1', '0x2', '0x6', '0x7', '0x8', '0x9', '0xa', '0xe', '0xf']
    """
    fmt = get_format(fmt)
    top = fmt.max_code_magnitude
    magnitudes = {0, 1, top, max(top - 1, 0)}
    if fmt.man_bits:
        magnitudes |= {1 << fmt.man_bits, (1 << fmt.man_bits) - 1}
    if 0 < fmt.bias < fmt.exp_field_max:  # the code of 1.0, a normal number
        magnitudes.add(fmt.bias << fmt.man_bits)
    if fmt.has_inf:
        magnitudes.add(fmt.inf_code_magnitude)
    all_ones = (1 << (fmt.exp_bits + fmt.man_bits)) - 1
    if fmt.specials == "ieee":
        magnitudes |= {fmt.nan_code, fmt.inf_code_magnitude | 1, all_ones}
    elif fmt.specials == "fn":
        magnitudes.add(all_ones)
    found = set()
    for magnitude in magnitudes:
        if magnitude <= all_ones:
            found.add(magnitude)
            if fmt.signed:
                found.add(magnitude | fmt.sign_code)
    return sorted(found)


def values(fmt, dtype="float32", *, kinds=None, shape=None):
    """A strategy of inputs of ``dtype`` concentrated where casting into ``fmt`` goes wrong.

    Parameters
    ----------
    fmt : Format or str
        The format the inputs will be cast into.
    dtype : str or numpy dtype
        The input type: float16, bfloat16, float32 or float64.
    kinds : sequence of str, optional
        Draw only these of :data:`VALUE_KINDS` (default: all of them, mixed
        evenly): the hard-case kinds of :data:`~lowfloat.testing.KINDS` and
        ``"random"``, uniform random bit patterns.
    shape : int or tuple of int, optional
        Draw arrays of this shape instead of scalars.

    Returns
    -------
    hypothesis strategy
        NumPy scalars of the input's dtype (``numpy.float16``,
        ``numpy.float32`` or ``numpy.float64``; for bfloat16 a
        ``numpy.float32`` holding a bfloat16 value), or arrays of that dtype.

    Raises
    ------
    ValueError
        An unknown kind, or kinds of which ``dtype`` has no input for ``fmt``
        (float16 has no midpoints of bfloat16, for instance).

    Notes
    -----
    The hard-case kinds draw from :func:`~lowfloat.testing.hard_cases`;
    for formats of more than 16 bits read from a wider input type, the grid
    values, midpoints and their neighbours are also drawn fresh from all
    codes, not only from the hard cases' sample.

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> from hypothesis import given
    >>> from lowfloat.testing import values
    >>> @given(values("bf16", "float64", kinds=["near_midpoint"], shape=8))
    ... def test_neighbours_of_ties_are_not_on_the_grid(x):
    ...     assert x.dtype == np.float64 and x.shape == (8,)
    ...     assert (lf.quantize(x, "bf16") != x).all()
    >>> test_neighbours_of_ties_are_not_on_the_grid()
    """
    from hypothesis import strategies as st

    fmt, source = get_format(fmt), input_type(dtype)
    kinds = VALUE_KINDS if kinds is None else _check_kinds(kinds)
    parts = [part for part in (_kind_strategy(fmt, source, kind) for kind in kinds) if part is not None]
    if not parts:
        raise ValueError(f"{source.name} has no inputs of the kinds {', '.join(kinds)} for {fmt.name}")
    bits = st.one_of(parts)
    if shape is None:
        return bits.map(lambda b: source.from_bits(np.array([b], source.uint))[0])
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0 for n in shape):
        raise ValueError(f"shape must be a non-negative int or a tuple of them, got {shape!r}")
    size = math.prod(shape)
    return st.lists(bits, min_size=size, max_size=size).map(
        lambda found: source.from_bits(np.array(found, dtype=source.uint)).reshape(shape)
    )


def _check_kinds(kinds) -> tuple:
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    for kind in kinds:
        if kind not in VALUE_KINDS:
            raise ValueError(f"unknown kind {kind!r}; kinds are {', '.join(VALUE_KINDS)}")
    return kinds


def _kind_strategy(fmt: Format, source: InputType, kind: str):
    """Bit patterns (ints) of one kind, or None when the input type has none."""
    from hypothesis import strategies as st

    if kind == "random":
        return st.integers(0, (1 << source.bits) - 1)
    pool = hard_case_bits(fmt, source, kinds=[kind])
    parts = []
    if pool.size:
        parts.append(st.integers(0, pool.size - 1).map(lambda i: int(pool[i])))
    fresh = kind in ("grid", "midpoint", "near_midpoint") and fmt.bits > _ENUMERATED_BITS
    if fresh and source.man_bits > fmt.man_bits:  # every grid value and midpoint is then an input
        parts.append(_fresh(fmt, source, kind))
    return st.one_of(parts) if parts else None


def _fresh(fmt: Format, source: InputType, kind: str):
    """Grid values, midpoints or their input neighbours from any code (for formats too wide to list)."""
    from hypothesis import strategies as st

    first = 1 if fmt.has_zero else 0
    top = fmt.max_code_magnitude if kind == "grid" else fmt.max_code_magnitude - 1

    @st.composite
    def fresh(draw):
        code = draw(st.integers(first, top))
        value = reference.decode(code, fmt)
        if kind != "grid":
            value = (value + reference.decode(code + 1, fmt)) / 2  # exact in float64
        bits = int(source.to_bits(np.array([value], dtype=source.storage))[0])
        if kind == "near_midpoint":
            bits += draw(st.sampled_from((-1, 1)))
        return bits | (source.sign_bit if draw(st.booleans()) else 0)

    return fresh()
