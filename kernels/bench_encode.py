"""Workbench for encode: validate the shipped kernels, then time them against numpy, ml_dtypes and torch.

Run from the repository root, with the virtualenv that has lowfloat installed:

    python kernels/bench_encode.py [--size 24] [--repeats 7] [--formats float16 bfloat16 ...] [--no-torch]

For each format:

1. data: 2**size float32 values spread over the format's whole range (_bench.make_data);
2. validation, before any timing -- the public call, the serial, parallel and
   general kernels and the float64 path must give the same codes as each
   other and as ml_dtypes (numpy for float16) on every value, and as
   lowfloat.reference on a sample of hard float64 inputs and of the data;
   otherwise the script refuses to time;
3. timing: every variant below, repetitions interleaved in one process;
   one table of medians, then the acceptance ratios.

Variants (rows of the table):

    np.copyto(out, x)               the floor: copy the float32 input (8 bytes a value; encode moves 5 or 6)
    lowfloat.encode(x)              public API, allocates the codes (split across threads from PARALLEL_MIN_SIZE)
    lowfloat.encode(x, out=)        public API into preallocated codes
    kernel, serial -> out           the kernel the public call launches (encode_float32), with the arguments
                                    lowfloat.encode builds, over the whole array on this thread
    threads.run, split -> out       the same launch split across threads.run's pool, whatever the size
    general kernel, serial -> out   the serial kernel with use_fast=False (the every-mode kernel)
    f64 kernel, serial -> out       float64 input (the same values), serial kernel
    f64 lowfloat.encode(out=)       float64 input through the public API into out
    numpy astype + view             x.astype(float16).view(uint16)                 (float16 only)
    ml_dtypes astype + view         x.astype(ml_dtypes.<fmt>).view(uint8/uint16)   (the others)
    torch .to + view, 1 thread      x_t.to(torch.<fmt>).view(torch.uint8/int16)    (if torch imports)
    torch copy_ -> out, N threads   t.copy_(x_t) into a preallocated tensor, torch on threads.thread_count()
                                    threads (N, as lowfloat)
    torch .to + view, N threads     the allocating call on N threads

Targets: serial into out / copyto <= 1.2 and float64 rate / float32 rate >= 0.5; against torch on N threads
(issue 16): lowfloat.encode(x, out=) / torch copy_ <= 1.1 for float16 and bfloat16 and <= 1 (ahead) for the
fp8 formats, lowfloat.encode(x) / torch .to <= 1 for every format; numpy, ml_dtypes and torch on one thread
are printed for information.
"""

from __future__ import annotations

import numpy as np
from _bench import Bench, Reference, other_libraries, parse_args, run_bench, sample_oracles

import lowfloat
from lowfloat.formats import get_format


def call(data, fmt, wide, out):
    """lowfloat.encode of the float32 data, or of the same values in float64 (``wide``)."""
    return lowfloat.encode(data.x64 if wide else data.x, fmt, out=out)


def references(data, fmt, torch) -> list[Reference]:
    """numpy (float16) or ml_dtypes, and torch: cast to their dtype and view the bits as codes."""
    code_dtype, x = get_format(fmt).code_dtype, data.x
    x_t = torch.from_numpy(x) if torch is not None else None
    as_codes = (torch.uint8 if code_dtype == np.uint8 else torch.int16) if torch is not None else None

    def into(dtype):
        target = torch.empty(x.size, dtype=dtype)  # preallocated, as lowfloat's out=
        return lambda: target.copy_(x_t).view(as_codes)

    return other_libraries(
        fmt,
        torch,
        lambda dtype: lambda: x.astype(dtype).view(code_dtype),
        "astype + view",
        lambda dtype: lambda: x_t.to(dtype).view(as_codes),
        ".to + view",
        tensor_result=lambda t: t.numpy().view(code_dtype),
        into=into,
        into_label="copy_ -> out",
        op="encode",
    )


def target(fmt_name: str, label: str) -> float | None:
    """Issue 16's targets for torch on the default thread count: lowfloat's time over torch's at most this."""
    if label.startswith("torch copy_"):
        return TARGET_TORCH_COPY_F16 if fmt_name in ("float16", "bfloat16") else TARGET_TORCH_AHEAD
    if label.startswith("torch") and not label.endswith("1 thread"):
        return TARGET_TORCH_AHEAD  # allocating calls
    return None


TARGET_TORCH_COPY_F16 = 1.1  # float16, bfloat16: lowfloat.encode(x, out=) / torch copy_ on the same threads
TARGET_TORCH_AHEAD = 1.0  # fp8 into out, and every allocating call: lowfloat at least as fast as torch

BENCH = Bench(
    op="encode",
    call=call,
    references=references,
    oracles=lambda data, fmt: sample_oracles("encode", data, fmt),
    target=target,
)


def main() -> None:
    run_bench(BENCH, parse_args(__doc__), "bench_encode: lowfloat.encode vs numpy, ml_dtypes, torch")


if __name__ == "__main__":
    main()
