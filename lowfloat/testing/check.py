"""check_cast and assert_cast: compare someone's cast with lowfloat on hard, random or all inputs.

The cast under test is any function from a 1-D NumPy array of inputs to an
array of codes (or values) of one format.  :func:`check_cast` feeds it
batches of inputs, computes lowfloat's answer for the same batch
(:func:`lowfloat.encode`, or :func:`lowfloat.quantize` for values: fast and
bit-exact), compares the two bit for bit and classifies each mismatch
(:mod:`lowfloat.testing.classify`).  Batches are independent jobs, so they
run on any :class:`concurrent.futures.Executor` -- a process pool, or a dask
cluster's ``Client.get_executor()`` -- and a job carries only a description
of its inputs (a range of bit patterns, a seed), never the inputs themselves.

How one batch goes (:func:`run_batch`):

1. make the inputs (hard cases, a range of bit patterns, random ones);
2. lowfloat's answers, with the options given;
3. the cast's answers (it may work in place: the inputs are made again for step 5);
4. compare (:func:`lowfloat.testing.compare.mismatches`);
5. classify the mismatches only, and keep the first few of each class.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

from ..codec import encode, quantize
from ..formats import Format, get_format
from ..options import check_switch
from ..progress import Progress
from ..rounding import check_overflow, check_rounding
from .cases import bit_range, hard_case_bits, random_cases
from .classify import MISMATCH_CLASSES, classify
from .compare import OUTPUTS, as_results, mismatches, result_values
from .inputs import InputType, input_type
from .report import CastReport, Mismatch

__all__ = ["check_cast", "assert_cast", "run_batch", "Batch", "BatchResult"]

#: Inputs per batch unless told otherwise: 4 Mi (16 MiB of float32).
BATCH_SIZE = 1 << 22

_CLASS_NAMES = tuple(MISMATCH_CLASSES)


@dataclass(frozen=True)
class Batch:
    """One job: the cast, the options, and a description of its inputs (small enough to send anywhere).

    ``inputs`` is one of ``("hard", start, stop)`` (a slice of the hard
    cases), ``("bits", start, stop, step)`` (bit patterns),
    ``("random", seed, index, size)`` or ``("given", array)``.
    """

    fn: Callable
    fmt: Format
    source: InputType
    rounding: str
    overflow: str | None
    ftz: bool
    daz: bool
    output: str
    inputs: tuple
    examples: int

    def make_inputs(self) -> np.ndarray:
        """The batch's inputs, of the input type's storage dtype."""
        kind, *args = self.inputs
        if kind == "hard":
            start, stop = args
            return self.source.from_bits(hard_case_bits(self.fmt, self.source)[start:stop].copy())
        if kind == "bits":
            return bit_range(self.source, *args)
        if kind == "random":
            seed, index, size = args
            return random_cases(self.fmt, self.source, size, seed=(seed, index))
        return args[0].copy()  # the cast may work in place: never on the caller's array


@dataclass
class BatchResult:
    """What one batch found: counts per class and the first mismatches of each class."""

    compared: int
    skipped: int
    counts: np.ndarray  # (len(MISMATCH_CLASSES),) int64
    examples: list = field(default_factory=list)  # (class index, bits, expected, actual), class by class


def run_batch(batch: Batch) -> BatchResult:
    """Check one batch (the function each worker runs)."""
    # 1) the inputs
    x = batch.make_inputs()
    fmt, output = batch.fmt, batch.output
    options = dict(rounding=batch.rounding, overflow=batch.overflow, ftz=batch.ftz, daz=batch.daz)
    kept = x
    keep = None
    if output == "codes" and not fmt.has_nan:
        nan = np.isnan(x)
        if nan.any():  # a NaN has no code in this format: lowfloat refuses it, so there is nothing to compare
            keep = ~nan
            kept = x[keep]
    # 2) lowfloat's answers
    if output == "codes":
        expected = encode(kept, fmt, **options)
    else:
        expected = np.asarray(quantize(kept, fmt, **options), dtype=np.float64)
    # 3) the cast's answers; the inputs overflow and hold signalling NaNs on purpose, so NumPy's
    # warnings about that are noise here
    size, skipped = int(x.size), int(x.size - kept.size)
    with np.errstate(over="ignore", invalid="ignore"):
        answers = batch.fn(x)
    actual = as_results(answers, fmt, output, size)
    if keep is not None:
        actual = actual[keep]
    # 4) compare
    bad = mismatches(expected, actual, fmt, output)
    counts = np.zeros(len(_CLASS_NAMES), np.int64)
    result = BatchResult(size - skipped, skipped, counts)
    if not bad.size:
        return result
    # 5) classify the mismatches, keep the first few of each class; the inputs are made again, as
    # the cast may have worked in place on its array (copying it up front would cost every batch)
    kept = batch.make_inputs()
    if keep is not None:
        kept = kept[keep]
    x_bad, expected_bad, actual_bad = kept[bad], expected[bad], actual[bad]
    kinds = classify(x_bad, result_values(expected_bad, fmt, output), result_values(actual_bad, fmt, output), fmt,
                     batch.source, **options)  # fmt: skip
    counts += np.bincount(kinds, minlength=len(_CLASS_NAMES))
    bits = batch.source.to_bits(x_bad)
    python = int if output == "codes" else float
    for kind in range(len(_CLASS_NAMES)):
        for i in np.flatnonzero(kinds == kind)[: batch.examples]:
            result.examples.append((kind, int(bits[i]), python(expected_bad[i]), python(actual_bad[i])))
    return result


def check_cast(fn, fmt, *, dtype, rounding="nearest_even", overflow=None, ftz=False, daz=False, output="codes",
               cases="hard", executor: Executor | None = None, batch_size: int = BATCH_SIZE, seed: int = 0,
               examples: int = 3, progress: bool = True, name: str | None = None) -> CastReport:  # fmt: skip
    """Compare a cast with lowfloat, bit for bit, and report the mismatches by class.

    Parameters
    ----------
    fn : callable
        The cast under test: takes a 1-D NumPy array of inputs (of ``dtype``;
        for bfloat16 a float32 array holding bfloat16 values, see
        :mod:`lowfloat.testing.inputs`) and returns an array of the same
        length: codes (any integer dtype, or an ml_dtypes array) for
        ``output="codes"``, floats for ``output="values"``.  It may work in
        place on the array it gets (never the caller's), and runs with
        NumPy's overflow and invalid-value warnings off (the hard cases
        overflow and hold signalling NaNs on purpose).
    fmt : Format or str
        The format ``fn`` casts into.
    dtype : str or numpy dtype
        The input type: float16, bfloat16, float32 or float64.
    rounding : str
        The rounding mode ``fn`` is meant to implement (a deterministic one).
    overflow : {None, "saturate", "inf", "nan"}
        What ``fn`` is meant to do past ``max`` (None: the format's default,
        e.g. NaN for E4M3; torch saturates, so check it with "saturate").
    ftz, daz : bool
        Whether ``fn`` flushes subnormal results / reads subnormal inputs as zero.
    output : {"codes", "values"}
        What ``fn`` returns.  Codes are compared as codes (any NaN code equals
        any other), values by value and sign (NaN equals NaN).  Comparing codes
        for a format without NaN skips NaN inputs (they have no code) and
        counts them as skipped.
    cases : "hard", "exhaustive", int, range or array_like
        ``"hard"``: :func:`~lowfloat.testing.hard_cases` (level 1).
        ``"exhaustive"``: every bit pattern of a 16- or 32-bit input type
        (2**32 for float32: use an ``executor``).  An int ``N``: ``N``
        random inputs (:func:`~lowfloat.testing.random_cases`, seeded by
        ``seed``).  A ``range``: the inputs with those bit patterns (a slice
        of the exhaustive run).  An array: exactly those inputs (they must be
        values of ``dtype``), e.g. from the :func:`~lowfloat.testing.values`
        strategy.
    executor : concurrent.futures.Executor, optional
        Where the batches run.  None: here, one after the other.  With a
        process pool (or a dask cluster), ``fn`` must be picklable -- a
        function defined at module level.  The executor is left running.
    batch_size : int
        Inputs per batch.
    seed : int
        Seed of the random cases.
    examples : int
        How many mismatches of each class the report keeps.
    progress : bool
        Show a progress bar on stderr (tqdm if installed) -- only when stderr
        is a terminal, never in a pipe or a log.
    name : str, optional
        The cast's name in the report (default: ``fn.__name__``).

    Returns
    -------
    CastReport
        ``.ok``, totals, ``.counts`` by class, ``.examples``; ``str()`` is the summary.

    Raises
    ------
    ValueError
        Unknown format, input type, mode, policy or ``output``; stochastic
        rounding; ``cases`` that are not inputs of ``dtype``; ``fn``
        returning the wrong shape or kind of result.
    TypeError
        ``fn`` is not callable, ``executor`` is not an Executor, or ``fn``
        cannot be sent to the executor's workers.

    Examples
    --------
    >>> import numpy as np, lowfloat as lf
    >>> from lowfloat.testing import check_cast
    >>> def round_through_float32(x):          # float64 -> float32 -> E4M3: rounds twice
    ...     return lf.encode(x.astype(np.float32), "e4m3")
    >>> report = check_cast(round_through_float32, "e4m3", dtype="float64")
    >>> report.ok, report.mismatches, report.counts["double_rounding"]
    (False, 254, 254)
    >>> print(report.to_text(examples=1).split("lowfloat, for the first:")[0])
    round_through_float32: float64 -> float8_e4m3fn (nearest_even, overflow=nan), comparing codes
    cases       hard cases (level 1): 1,088 inputs
    compared    1,088
    equal       834
    mismatches  254 (23.3%)
    <BLANKLINE>
    double rounding near a tie: 254
      (the answer for float32(x), not for x)
      x = 0.0009765625000000002 (0x3F50000000000001): expected 0x01 = 0.001953125, got 0x00 = 0.0;
          float32(x) = 0.0009765625
      ... 253 more
    <BLANKLINE>
    >>> check_cast(lambda x: lf.encode(x, "e4m3"), "e4m3", dtype="float64", cases=10_000).ok
    True
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable that casts an array, got {type(fn).__name__}")
    fmt, source = get_format(fmt), input_type(dtype)
    check_rounding(rounding)
    if rounding == "stochastic":
        raise ValueError("check_cast compares casts that give one answer per input; stochastic rounding does not "
                         "(check its statistics instead)")  # fmt: skip
    policy = check_overflow(fmt, overflow)
    ftz, daz = check_switch("ftz", ftz), check_switch("daz", daz)
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    batch_size = _positive_int("batch_size", batch_size)
    examples = _positive_int("examples", examples, minimum=0)
    if executor is not None and not (isinstance(executor, Executor) or hasattr(executor, "submit")):
        raise TypeError(f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}")
    specs, description, total = _plan(cases, fmt, source, batch_size, seed)

    def batch(inputs):
        return Batch(fn, fmt, source, rounding, overflow, ftz, daz, output, inputs, examples)

    started = time.perf_counter()
    with Progress(total, enabled=progress and len(specs) > 1) as bar:
        results = _run([batch(spec) for spec in specs], executor, bar)
    counts = np.zeros(len(_CLASS_NAMES), np.int64)
    kept = {kind: [] for kind in _CLASS_NAMES}
    for result in results:  # in batch order, so the examples are the first ones whatever ran where
        counts += result.counts
        for kind, bits, expected, actual in result.examples:
            name_of_kind = _CLASS_NAMES[kind]
            if len(kept[name_of_kind]) < examples:
                x = source.from_bits(np.array([bits], source.uint))[0]
                kept[name_of_kind].append(Mismatch(bits, x, expected, actual, name_of_kind))
    return CastReport(
        name=name or getattr(fn, "__name__", None) or repr(fn), fmt=fmt, source=source, rounding=rounding,
        overflow=policy, ftz=ftz, daz=daz, output=output, cases=description,
        compared=sum(r.compared for r in results), skipped=sum(r.skipped for r in results),
        counts={kind: int(n) for kind, n in zip(_CLASS_NAMES, counts, strict=True)},
        examples={kind: tuple(found) for kind, found in kept.items()}, seconds=time.perf_counter() - started,
    )  # fmt: skip


def assert_cast(fn, fmt, **options) -> CastReport:
    """:func:`check_cast`, raising AssertionError with the report when anything differs.

    For pytest: ``assert_cast(my_cast, "e4m3", dtype="float32")`` passes
    silently or fails with the report as its message.  Returns the report.

    Examples
    --------
    >>> import lowfloat as lf
    >>> from lowfloat.testing import assert_cast
    >>> assert_cast(lambda x: lf.encode(x, "fp16"), "fp16", dtype="float32").compared
    254024
    >>> assert_cast(lambda x: lf.encode(x, "fp16", rounding="toward_zero"), "fp16", dtype="float32")
    Traceback (most recent call last):
    ...
    AssertionError: <lambda>: float32 -> float16 (nearest_even, overflow=inf), comparing codes
    ...
    """
    report = check_cast(fn, fmt, **options)
    if not report.ok:
        raise AssertionError(str(report))
    return report


# ------------------------------------------------------------------ planning and running


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _plan(cases, fmt: Format, source: InputType, batch_size: int, seed) -> tuple[list, str, int]:
    """The batches' input descriptions, a description of the whole, and the number of inputs."""
    if isinstance(cases, str):
        if cases == "hard":
            n = hard_case_bits(fmt, source).size
            return _slices(("hard",), 0, n, batch_size), f"hard cases (level 1): {n:,} inputs", n
        if cases == "exhaustive":
            if source.bits > 32:
                raise ValueError(f"cases='exhaustive' needs an input of at most 32 bits; {source.name} has "
                                 f"2**{source.bits} inputs (use cases=N for N random ones)")  # fmt: skip
            n = 1 << source.bits
            specs = [("bits", a, min(n, a + batch_size), 1) for a in range(0, n, batch_size)]
            return specs, f"every {source.name} input: {n:,}", n
        raise ValueError(f"cases must be 'hard', 'exhaustive', a number, a range of bit patterns or an array of "
                         f"inputs, got {cases!r}")  # fmt: skip
    if isinstance(cases, range):
        if cases.step < 1 or (len(cases) and not 0 <= cases.start <= cases[-1] < 1 << source.bits):
            raise ValueError(f"cases={cases!r}: bit patterns of {source.name} are 0 .. 2**{source.bits} - 1, "
                             "in increasing order")  # fmt: skip
        per = batch_size * cases.step
        specs = [("bits", a, min(cases.stop, a + per), cases.step) for a in range(cases.start, cases.stop, per)]
        step = f" step {cases.step}" if cases.step != 1 else ""
        return specs, f"bit patterns {cases.start:#x} .. {cases.stop - 1:#x}{step}: {len(cases):,} inputs", len(cases)
    if isinstance(cases, (int, np.integer)) and not isinstance(cases, bool):
        n = _positive_int("cases", cases, minimum=0)
        specs = [("random", seed, i, min(batch_size, n - a)) for i, a in enumerate(range(0, n, batch_size))]
        return specs, f"random (seed {seed}): {n:,} inputs", n
    given = _given_inputs(cases, source)
    specs = [("given", given[a : a + batch_size]) for a in range(0, given.size, batch_size)]
    return specs, f"given: {given.size:,} inputs", given.size


def _slices(head: tuple, start: int, stop: int, size: int) -> list:
    return [head + (a, min(stop, a + size)) for a in range(start, stop, size)]


def _given_inputs(cases, source: InputType) -> np.ndarray:
    """An array of inputs, flattened, as the input type's storage dtype; refuses values it does not hold."""
    array = np.asarray(cases)
    if array.dtype.kind == "V" and hasattr(array.dtype.type, "__float__"):  # ml_dtypes, e.g. bfloat16: exact
        array = array.astype(np.float32)
    if array.dtype.kind not in "fiu" or array.dtype.kind == "b":
        raise ValueError(f"cases must be inputs (real numbers), got dtype {array.dtype}")
    array = array.reshape(-1)
    if array.dtype == source.storage:
        held = np.ones(array.size, bool) if source.name != "bfloat16" else source.holds(array)
    else:
        held = source.holds(array)
    if not held.all():
        bad = array[np.flatnonzero(~held)[0]]
        raise ValueError(f"cases holds {bad!r}, which is not a {source.name} value; give inputs of the input type")
    if array.dtype == source.storage:
        return array
    with np.errstate(invalid="ignore"):
        return array.astype(source.storage)


def _run(batches: list, executor, bar: Progress) -> list:
    """Run the batches here or on the executor; results in batch order."""
    if executor is None:
        results = []
        for batch in batches:
            results.append(run_batch(batch))
            bar.update(_size(batch, results[-1]))
        return results
    futures = [executor.submit(run_batch, batch) for batch in batches]
    results = []
    try:
        for batch, future in zip(batches, futures, strict=True):
            try:
                results.append(future.result())
            except Exception as error:  # a cast that cannot travel to a process: say how to fix it
                if "pickle" in str(error).lower():
                    raise TypeError(f"the cast cannot be sent to the executor's workers ({error}); define it at "
                                    "module level, or use a ThreadPoolExecutor") from error  # fmt: skip
                raise
            bar.update(_size(batch, results[-1]))
    finally:
        for future in futures:
            future.cancel()
    return results


def _size(batch: Batch, result: BatchResult) -> int:
    return result.compared + result.skipped
