"""The rounding options every public function shares, validated in one place.

``rounding=``, ``overflow=``, ``ftz=``, ``daz=``, ``rng=``, ``sr_bits=``,
``flags=`` and ``tininess=`` mean the same in every function that rounds a
value (casts, arithmetic, accumulation); :func:`rounding_options` checks them
all and turns ``rng`` into stochastic rounding's 64-bit key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import check_out
from .rounding import check_overflow, check_rounding, check_tininess

__all__ = ["RoundingOptions", "rounding_options", "random_key", "check_switch", "flags_target", "write_flags"]


@dataclass(frozen=True)
class RoundingOptions:
    """Validated rounding options; ``key`` is stochastic rounding's 64-bit key (0 for the other modes)."""

    rounding: str
    overflow: str | None
    ftz: bool
    daz: bool
    sr_bits: int | None
    tininess: str
    key: np.uint64


def check_switch(name: str, value) -> bool:
    """``value`` as a bool if it is one (Python or NumPy); TypeError naming ``name`` otherwise."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def random_key(rounding: str, rng, sr_bits) -> np.uint64:
    """The 64-bit key of stochastic rounding, from ``rng``; 0 (unused) for the other modes.

    ``rng`` is None (fresh entropy), a non-negative int seed, a
    :class:`numpy.random.Generator` (advanced: two calls differ) or a
    :class:`numpy.random.SeedSequence`.
    """
    if rounding != "stochastic":
        if rng is not None or sr_bits is not None:
            raise ValueError(f"rng= and sr_bits= apply only to rounding='stochastic', not {rounding!r}")
        return np.uint64(0)
    if sr_bits is not None and (isinstance(sr_bits, bool) or not isinstance(sr_bits, (int, np.integer))
                                or not 1 <= sr_bits <= 64):  # fmt: skip
        raise ValueError(f"sr_bits must be None or an int from 1 to 64, got {sr_bits!r}")
    if isinstance(rng, np.random.Generator):
        return np.uint64(rng.bit_generator.random_raw())
    if isinstance(rng, np.random.SeedSequence):
        return rng.generate_state(1, np.uint64)[0]
    if rng is None:
        return np.random.SeedSequence().generate_state(1, np.uint64)[0]
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.SeedSequence(int(rng)).generate_state(1, np.uint64)[0]
    raise TypeError(f"rng must be None, a non-negative int seed or a numpy.random.Generator, got {rng!r}")


def rounding_options(fmt, rounding="nearest_even", overflow=None, ftz=False, daz=False, rng=None, sr_bits=None,
                     tininess="after") -> RoundingOptions:  # fmt: skip
    """Validate the rounding options for rounding into ``fmt``, before any work."""
    check_rounding(rounding)
    check_overflow(fmt, overflow)
    ftz, daz = check_switch("ftz", ftz), check_switch("daz", daz)
    check_tininess(tininess)
    key = random_key(rounding, rng, sr_bits)
    return RoundingOptions(rounding, overflow, ftz, daz, None if sr_bits is None else int(sr_bits), tininess, key)


def flags_target(flags, shape) -> np.ndarray | None:
    """Where a kernel writes exception flags: ``flags`` itself when C-contiguous, else a new array (or None).

    ``flags`` must be a writeable uint8 array of ``shape`` (the result's).
    """
    if flags is None:
        return None
    if isinstance(flags, np.ndarray) and flags.dtype != np.uint8:
        raise ValueError(f"flags has dtype {flags.dtype}, expected uint8 (the bitwise OR of lowfloat.FLAG_*)")
    try:
        check_out(flags, shape, np.uint8)
    except ValueError as error:
        raise ValueError(str(error).replace("out ", "flags ", 1)) from None
    return flags if flags.flags.c_contiguous else np.empty(shape, np.uint8)


def write_flags(flags, target) -> None:
    """Copy flags computed into ``target`` back into the user's ``flags`` array where they differ."""
    if flags is not None and target is not flags:
        flags[...] = target
