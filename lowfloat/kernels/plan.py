"""Which kernel runs a call, and with which constants: the one place that decides.

:func:`plan` takes what a public call asks for -- the operation, the format,
the float type the kernel reads or writes, the rounding options -- and
returns a :class:`Plan`: the named path, the compiled entry point of exactly
that path (a Numba dispatcher, compiled on its first call and cached on
disk), and the entry point's constants as named tuples
(:mod:`lowfloat.kernels.layout`, :mod:`.nearest`, :mod:`.decode`).  The
public wrappers, the tests and the workbench all ask the plan what will run.

The paths
---------
encode and quantize (float32 or float64 data):

``"nearest_even"``  the shorter nearest-even kernel (:mod:`.nearest`), for signed
                    formats whose grid the input's bits or the FPU can round
                    directly, without FTZ or DAZ
``"binary16"``      float32 data into float16 (overflow to inf), nearest even, by
                    the CPU's conversion instruction where it has one (:mod:`.shortcuts`)
``"cut_short"``     float32 data into bfloat16 and tensorfloat32, nearest even:
                    an integer rounding and a shift (:mod:`.shortcuts`)
``"stochastic"``    the stochastic-rounding fast path (:mod:`.stochastic`), same
                    formats, all the lane's random bits, no FTZ or DAZ
``"general"``       every mode, format and option (:func:`.scalar.encode_bits`)
``"flags"``         the general kernel, also writing each element's exception flags

decode (to float32 or float64 bits):

``"shift"``  float32 cut short (bfloat16, tensorfloat32): a shift
``"small"``  signed formats of up to 16 bits whose subnormals are normal floats: arithmetic
``"table"``  the other formats of up to 16 bits: a lookup table of every code's value
``"general"``  wider formats: :func:`.scalar.decode_bits`

sum and matmul (float64 partial sums rounded into an accumulator format):
``"nearest_even"``, ``"stochastic"`` or ``"general"``, chosen as for quantize;
matmul also takes ``"directed"`` (:func:`.matmul.matmul_directed`) for the
directed modes and nearest away on the fast paths' formats without FTZ.

Formats beyond float32's range or precision (:func:`.layout.wide`) are
rounded from float64 data only -- a plan for float32 data refuses them, and
the public functions widen float32 data first (exactly) -- and decoded to
float32 only where every value fits (:attr:`lowfloat.Format.value_dtype`).
Their general kernels are a separate compiled specialization (a
:class:`.layout.WideLayout`); the nearest-even and stochastic fast paths
serve those of them whose grid float64's bits or FPU can round directly, as
for the other formats.

The fast paths are bit-identical to the general kernel (tests/test_kernel_paths.py),
and the general kernel to :mod:`lowfloat.reference`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module

import numpy as np

from ..formats import Format
from ..rounding import rounding_rule
from . import decode, threads
from .layout import bits_type, layout, rounding, wide
from .nearest import fast_constants
from .shortcuts import HARDWARE_BINARY16, is_binary16, is_cut_short

__all__ = ["Plan", "plan", "OPERATIONS", "PATHS"]

#: What a plan can run.
OPERATIONS = ("encode", "quantize", "decode", "sum", "matmul")

#: Every path a plan can take, by operation.
PATHS = {
    "encode": ("nearest_even", "binary16", "cut_short", "stochastic", "general", "flags"),
    "quantize": ("nearest_even", "binary16", "cut_short", "stochastic", "general", "flags"),
    "decode": ("shift", "small", "table", "general"),
    "sum": ("nearest_even", "stochastic", "general"),
    "matmul": ("nearest_even", "directed", "stochastic", "general"),
}

# The entry points by (operation, path): module and names for float32 and float64 data (None: no such
# entry).  Names, not functions, so that a call imports only the kernel module it runs: the matmul
# kernels alone are a tenth of ``import lowfloat`` and most programs never sum or multiply.
_ROUNDING_ENTRIES = {
    ("encode", "nearest_even"): ("encode", "nearest_float32", "nearest_float64"),
    ("encode", "binary16"): ("encode", "binary16_float32", None),
    ("encode", "cut_short"): ("encode", "cut_short_float32", None),
    ("encode", "stochastic"): ("encode", "stochastic_float32", "stochastic_float64"),
    ("encode", "general"): ("encode", "general_float32", "general_float64"),
    ("encode", "flags"): ("encode", "flags_float32", "flags_float64"),
    ("quantize", "nearest_even"): ("quantize", "nearest_float32", "nearest_float64"),
    ("quantize", "binary16"): ("quantize", "binary16_float32", None),
    ("quantize", "cut_short"): ("quantize", "cut_short_float32", None),
    ("quantize", "stochastic"): ("quantize", "stochastic_float32", "stochastic_float64"),
    ("quantize", "general"): ("quantize", "general_float32", "general_float64"),
    ("quantize", "flags"): ("quantize", "flags_float32", "flags_float64"),
    ("sum", "nearest_even"): ("matmul", None, "sum_nearest"),
    ("sum", "stochastic"): ("matmul", None, "sum_stochastic"),
    ("sum", "general"): ("matmul", None, "sum_general"),
    ("matmul", "nearest_even"): ("matmul", None, "matmul_nearest"),
    ("matmul", "directed"): ("matmul", None, "matmul_directed"),
    ("matmul", "stochastic"): ("matmul", None, "matmul_stochastic"),
    ("matmul", "general"): ("matmul", None, "matmul_general"),
}


def _kernel_module(name: str):
    """The kernel module ``lowfloat.kernels.<name>``, imported on first use."""
    return import_module(f"{__package__}.{name}")


def _entry(operation: str, path: str, width: int):
    """The entry point of ``operation`` on ``path`` for float32 (width 0) or float64 (width 1) data."""
    module, *names = _ROUNDING_ENTRIES[operation, path]
    return getattr(_kernel_module(module), names[width])


@dataclass(frozen=True, eq=False)
class Plan:
    """One call's kernel: the path, the entry point and its constants.

    Attributes
    ----------
    operation : str
        One of :data:`OPERATIONS`.
    path : str
        The named path (see the module docstring).
    dtype : numpy.dtype
        float32 or float64: the data the kernel reads (encode, quantize, sum,
        matmul) or writes (decode).
    kernel : numba dispatcher
        The entry point, ``kernel(*arrays, start, stop, *constants)`` for the
        element-wise operations (matmul: a function that calls the one
        compiled loop of its path a call takes, :mod:`.matmul`).
    constants : tuple
        The entry point's arguments after the arrays and the range: named
        tuples (and a decode table).
    random : bool
        Whether the kernel takes stochastic rounding's key after the constants.
    """

    operation: str
    path: str
    dtype: np.dtype
    kernel: object
    constants: tuple
    random: bool = False

    @property
    def lane_bits(self) -> int:
        """Width of the data's lanes: the random bits stochastic rounding draws per element (32 or 64)."""
        return 8 * self.dtype.itemsize

    def run(self, arrays: tuple, size: int, key=0) -> None:
        """Run the element-wise kernel on ``arrays`` (1-D, contiguous), split across threads if large."""
        constants = self.constants + ((np.uint64(key),) if self.random else ())
        threads.run(self.kernel, size, arrays, constants)

    def __repr__(self):
        return f"Plan({self.operation!r}, path={self.path!r}, dtype={self.dtype.name})"


def _shortcut(fast, dtype) -> str | None:
    """The shorter nearest-even loop of float32 data for these constants (:mod:`.shortcuts`), if any."""
    if dtype != np.float32:
        return None
    if HARDWARE_BINARY16 and is_binary16(fast):
        return "binary16"
    return "cut_short" if is_cut_short(fast) else None


def _fast_path(fmt, dtype, mode, overflow, ftz, daz, sr_bits):
    """The fast path these options take (None if none does), and the fast paths' constants for the format
    (None if it has none): a forced path and matmul's directed path use them whatever the mode."""
    fast = fast_constants(fmt, overflow, dtype)
    rule = rounding_rule(mode, fmt)
    if fast is None or ftz or daz:
        return None, fast
    if rule.nearest and rule.ties == "even":
        return "nearest_even", fast
    if rule.stochastic and (sr_bits is None or sr_bits == 64):
        return "stochastic", fast
    return None, fast


@lru_cache(maxsize=1024)
def plan(operation: str, fmt: Format, dtype, rounding_mode: str = "nearest_even", overflow=None, ftz: bool = False,
         daz: bool = False, sr_bits=None, flags: bool = False, tininess: str = "after", path=None) -> Plan:  # fmt: skip
    """The :class:`Plan` of one call (cached).

    Parameters
    ----------
    operation : str
        One of :data:`OPERATIONS`.
    fmt : Format
        The target format (decode: the codes' format; sum, matmul: the accumulator's).
    dtype : numpy dtype
        float32 or float64 (sum and matmul: float64).
    rounding_mode, overflow, ftz, daz, sr_bits, tininess
        As the public functions take them, already validated.
    flags : bool
        Whether the call asks for exception flags (encode, quantize).
    path : str, optional
        Take this path instead of the one the options choose (tests and the
        workbench compare paths): ``"general"`` always applies, a fast path only
        where its constants exist.

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> from lowfloat.kernels.plan import plan
    >>> plan("quantize", lf.get_format("e4m3"), np.float32)
    Plan('quantize', path='nearest_even', dtype=float32)
    >>> plan("encode", lf.get_format("e4m3"), np.float64, "toward_zero")
    Plan('encode', path='general', dtype=float64)
    >>> plan("decode", lf.get_format("bf16"), np.float32).path
    'shift'
    """
    dtype = np.dtype(dtype)
    if operation == "decode":
        return _decode_plan(fmt, dtype, path)
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; expected one of {', '.join(OPERATIONS)}")
    width = 0 if dtype == np.float32 else 1
    if operation in ("sum", "matmul") and width == 0:
        raise ValueError(f"{operation} rounds float64 partial sums, got dtype {dtype}")
    if width == 0 and wide(fmt):
        raise ValueError(
            f"{fmt.name} reaches beyond float32's range or precision: it is rounded from float64 data only "
            "(widen float32 data first; that is exact)"
        )
    chosen, fast = _fast_path(fmt, dtype, rounding_mode, overflow, ftz, daz, sr_bits)
    if chosen == "nearest_even" and operation in ("encode", "quantize"):
        chosen = _shortcut(fast, dtype) or chosen
    if flags and operation in ("encode", "quantize"):
        chosen = "flags"
    deterministic = not rounding_rule(rounding_mode, fmt).stochastic
    if operation == "matmul" and chosen is None and deterministic and not (ftz or daz) and fast is not None:
        chosen = "directed"
    if path is not None:
        if path not in PATHS[operation]:
            raise ValueError(f"unknown path {path!r} for {operation}; expected one of {', '.join(PATHS[operation])}")
        if path in ("nearest_even", "stochastic", "directed") and fast is None:
            raise ValueError(f"the {path} fast path does not serve {fmt.name} from {dtype} data")
        if path in ("binary16", "cut_short") and (fast is None or _shortcut(fast, dtype) != path):
            raise ValueError(f"the {path} path does not serve {fmt.name} from {dtype} data")
        if path == "directed" and not deterministic:
            raise ValueError(f"the directed path serves the deterministic modes, not {rounding_mode!r}")
        chosen = path
    path = chosen
    if path in ("nearest_even", "binary16", "cut_short", "stochastic", "directed"):
        kernel = _entry(operation, path, width)
        mode = rounding_mode if path == "directed" else "stochastic" if path == "stochastic" else "nearest_even"
        constants = (_kernel_module("matmul").accumulator(fmt, mode, overflow),) if operation == "matmul" else (fast,)
        return Plan(operation, path, dtype, kernel, constants, random=path == "stochastic")
    path = path or "general"
    kernel = _entry(operation, path, width)
    rnd = rounding(fmt, rounding_mode, overflow, bool(ftz), bool(daz), sr_bits, tininess)
    if operation in ("sum", "matmul"):
        rounder = _kernel_module("matmul").general_rounder(fmt, rounding_mode, rnd)
        return Plan(operation, path, dtype, kernel, (rounder,), random=True)
    return Plan(operation, path, dtype, kernel, (layout(fmt), rnd), random=True)


def decode_path(fmt: Format, dtype) -> str:
    """The path :func:`plan` takes to decode ``fmt``'s codes to ``dtype`` (without building its constants)."""
    dtype = np.dtype(dtype)
    if dtype == np.float32 and fmt.specials == "ieee" and (fmt.exp_bits, fmt.bias) == (8, 127):
        return "shift"
    if decode.small_constants(fmt, dtype) is not None:
        return "small"
    return "table" if fmt.bits <= 16 else "general"


def _decode_plan(fmt: Format, dtype: np.dtype, path=None) -> Plan:
    single = dtype == np.float32
    if single and fmt.value_dtype != np.float32:
        raise ValueError(f"float32 cannot hold every value of {fmt.name}; decode it to float64")
    general = Plan("decode", "general", dtype, decode.decode_float32 if single else decode.decode_float64,
                   (layout(fmt),))  # fmt: skip
    if path not in (None, *PATHS["decode"]):
        raise ValueError(f"unknown path {path!r} for decode; expected one of {', '.join(PATHS['decode'])}")
    natural = decode_path(fmt, dtype)
    serves = {"general": True, "shift": natural == "shift", "small": decode.small_constants(fmt, dtype) is not None,
              "table": fmt.bits <= 16}  # fmt: skip
    path = path or natural
    if not serves[path]:
        raise ValueError(f"the {path} decode path does not serve {fmt.name} to {dtype}")
    if path == "general":
        return general
    if path == "shift":
        return Plan("decode", "shift", dtype, decode.shift_float32, (np.int64(23 - fmt.man_bits),))
    if path == "small":
        return Plan("decode", "small", dtype, decode.small_float32 if single else decode.small_float64,
                    (decode.small_constants(fmt, dtype),))  # fmt: skip
    # the bits of every code's value, built by the general kernel once
    codes = np.arange(1 << fmt.bits, dtype=fmt.code_dtype)
    table = np.empty(codes.size, bits_type(dtype))
    general.run((codes, table), codes.size)
    table.flags.writeable = False
    return Plan("decode", "table", dtype, decode.lookup, (table,))
