"""Workbench for decode: validate the shipped kernels, then time them against numpy, ml_dtypes and torch.

Run from the repository root, with the virtualenv that has lowfloat installed:

    python kernels/bench_decode.py [--size 24] [--repeats 7] [--formats float16 bfloat16 ...] [--no-torch]

For each format:

1. data: the codes that ml_dtypes (numpy for float16) gives 2**size float32
   values spread over the format's whole range (_bench.make_data);
2. validation, before any timing -- the public call, the lookup kernels, the
   arithmetic kernel and the float64 path must give the same values as each
   other and as ml_dtypes on every code of the data, and as ml_dtypes and
   lowfloat.reference on every code of the format; otherwise the script
   refuses to time;
3. timing: every variant below, repetitions interleaved in one process;
   one table of medians, then the acceptance ratios.

bfloat16 and tensorfloat32 decode to float32 by a shift (``shift_float32``);
the other signed formats of up to 16 bits by a short arithmetic kernel
(``small_float32``, ``small_float64``); the rest of the formats of up to 16
bits (E8M0, formats whose subnormals lie below the float's normal range)
through a table of every code's value (``lookup``).  The table lookup and
the general per-code kernel (``decode_float32``, which builds the table) are
timed beside them.

Variants (rows of the table):

    np.copyto(out, x)                         the floor: copy a float32 array (8 bytes a value; decode moves 5 or 6)
    lowfloat.decode(c)                        public API, allocates the values (split across threads from
                                              PARALLEL_MIN_SIZE)
    lowfloat.decode(c, out=)                  public API into a preallocated out
    kernel, serial -> out                     the kernel the public call launches, with the
                                              arguments lowfloat.decode builds, over the whole array on this thread
    threads.run, split -> out                 the same launch split across threads.run's pool, whatever the size
    arithmetic decode_float32, serial -> out  the general per-code arithmetic (what builds the table), serial
    table lookup, serial -> out               the lookup in the table of every code's value (formats of <= 16 bits)
    f64 kernel, serial -> out                 float64 values (dtype=np.float64), serial kernel
    f64 lowfloat.decode(out=)                 float64 values through the public API into out
    numpy view + astype                       c.view(float16).astype(float32)             (float16 only)
    ml_dtypes view + astype                   c.view(ml_dtypes.<fmt>).astype(float32)     (the others)
    torch view + .to, 1 thread                c_t.view(torch.<fmt>).to(torch.float32)     (if torch imports)

Targets: serial into out / copyto <= 1.2 and float64 rate / float32 rate >= 0.5;
the other libraries' ratios are printed for information (the issue sets them for quantize).
"""

from __future__ import annotations

import numpy as np
from _bench import Bench, Reference, ml_dtype, other_libraries, parse_args, reference_of, run_bench

import lowfloat
from lowfloat.formats import get_format
from lowfloat.kernels.plan import plan


def call(data, fmt, wide, out):
    """lowfloat.decode of the codes, to float32 or (``wide``) float64."""
    return lowfloat.decode(data.codes, fmt, dtype=np.float64 if wide else np.float32, out=out)


def references(data, fmt, torch) -> list[Reference]:
    """numpy (float16) or ml_dtypes, and torch: view the codes as their dtype and cast to float32."""
    codes = data.codes
    codes_t = torch.from_numpy(codes.view(np.uint8 if codes.itemsize == 1 else np.int16)) if torch else None
    return other_libraries(
        fmt,
        torch,
        lambda dtype: lambda: codes.view(dtype).astype(np.float32),
        "view + astype",
        lambda dtype: lambda: codes_t.view(dtype).to(torch.float32),
        "view + .to",
    )


def oracles(data, fmt) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Every code of the format, against ml_dtypes (numpy for float16) and against the exact reference."""
    fmt = get_format(fmt)
    every = np.arange(1 << fmt.bits, dtype=fmt.code_dtype)
    with np.errstate(invalid="ignore"):
        external = every.view(ml_dtype(fmt)).astype(np.float32)
    source = "numpy" if fmt.name == "float16" else "ml_dtypes"
    return [
        (f"every code == {source} view + astype", every, external),
        ("every code == lowfloat.reference.decode", every, reference_of("decode", every, fmt)),
    ]


def arithmetic_kernel(data, fmt, out) -> list[tuple]:
    """The general (per-code arithmetic) decode and the table lookup over the whole array, as the plan builds them.

    A path is left out where it does not serve the format (the table: over 16 bits).
    """
    codes, bits = data.codes, out.view(np.uint32)
    variants = []
    for label, path in ((ARITHMETIC, "general"), (LOOKUP, "table")):
        try:
            chosen = plan("decode", get_format(fmt), np.float32, path=path)
        except ValueError:
            continue
        variants.append((label, lambda chosen=chosen: chosen.kernel(codes, bits, 0, codes.size, *chosen.constants)))
    return variants


ARITHMETIC = "arithmetic decode_float32, serial -> out"
LOOKUP = "table lookup, serial -> out"

BENCH = Bench(
    op="decode",
    call=call,
    references=references,
    oracles=oracles,
    extra_kernels=arithmetic_kernel,
)


def main() -> None:
    run_bench(BENCH, parse_args(__doc__), "bench_decode: lowfloat.decode vs numpy, ml_dtypes, torch")


if __name__ == "__main__":
    main()
