"""Workbench for MX block quantization: validate mx_quantize against gfloat, then time it.

Run from the repository root, with the virtualenv that has lowfloat installed (gfloat 0.5.2 is required):

    python kernels/bench_scaled.py [--size 24] [--repeats 7] [--seed 0] [--formats mxfp8_e4m3 mxfp4 ...]
                                   [--gfloat-blocks 64]

For each MX format:

1. data: 2**size float32 values, standard normals times 2**k with one k per
   32-element block, k uniform in -20..20 (blocks of very different
   magnitudes, as activations have);
2. validation, before any timing -- lowfloat.mx_quantize with
   scale_rounding="floor" (the spec's rule, which gfloat implements; the
   default is "ceil") must equal gfloat's quantize_block with
   compute_scale_amax bit for bit on the first --gfloat-blocks blocks, and
   the Numba block-amax kernel must equal numpy's max(abs) on every block;
   otherwise the script refuses to time;
3. timing, repetitions interleaved in one process, one table of medians.

Rows (per format):

    np.copyto(out, x)                the memory-bound floor: read and write 4 bytes a value
    lowfloat.quantize(x, elem)       rounding the same array onto the element format, no scaling
    lowfloat.mx_quantize(x)          the subject ("floor" rule): amax per block, E8M0 scales, element codes
    mx_quantize(x).dequantize()      quantize and back to float32
    block amax, Numba kernel         the amax pass alone (lowfloat.scaling.blocks.block_amax)
    block amax, numpy max(abs)       what the kernel replaced
    gfloat quantize_block (scaled)   gfloat on --gfloat-blocks blocks, time scaled up to 2**size values

/floor = median / copyto's, /subject = median / mx_quantize's (for gfloat: how many times slower).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _bench import Case, print_footer, print_header, print_table, time_interleaved, verdict

import lowfloat
from lowfloat.scaling.blocks import block_amax, make_tiling
from lowfloat.scaling.mx import MX_FORMATS

try:
    from gfloat import formats as gfloat_formats
    from gfloat.block import compute_scale_amax, quantize_block
except ImportError:  # the validation needs it
    gfloat_formats = None

BLOCK = 32  # OCP MX v1.0's k
RULE = "floor"  # the spec's scale rule: gfloat's, so that the validation and the timing compare like with like
FLOOR = "np.copyto(out, x)"
SUBJECT = "lowfloat.mx_quantize(x)"
GFLOAT = "gfloat quantize_block (scaled)"
GFLOAT_INFO = {
    "mxfp8_e4m3": "format_info_mxfp8_e4m3",
    "mxfp8_e5m2": "format_info_mxfp8_e5m2",
    "mxfp6_e3m2": "format_info_mxfp6_e3m2",
    "mxfp6_e2m3": "format_info_mxfp6_e2m3",
    "mxfp4": "format_info_mxfp4_e2m1",
    "mxint8": "format_info_mxint8",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=24, help="log2 of the number of values (default 24: 16 Mi)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repetitions of each variant (default 7)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data (default 0)")
    parser.add_argument("--formats", nargs="+", default=["mxfp8_e4m3", "mxfp4", "mxint8"], choices=list(MX_FORMATS))
    parser.add_argument("--gfloat-blocks", type=int, default=64, help="blocks gfloat validates and times (default 64)")
    args = parser.parse_args()
    if args.repeats < 1 or not 5 <= args.size <= 30 or args.gfloat_blocks < 1:
        parser.error("--repeats and --gfloat-blocks must be >= 1 and --size between 5 and 30")
    if gfloat_formats is None:
        sys.exit("gfloat is not installed; the workbench validates against it (pip install gfloat==0.5.2)")
    return args


def make_blocks(n: int, seed: int) -> np.ndarray:
    """(n,) float32: standard normals, each 32-element block times its own 2**k, k uniform in -20..20."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n, dtype=np.float32).reshape(-1, BLOCK)
    x *= np.exp2(rng.integers(-20, 21, (x.shape[0], 1))).astype(np.float32)
    return x.reshape(-1)


def quantize_mx(x: np.ndarray, name: str):
    """The subject: lowfloat.mx_quantize with the rule gfloat implements."""
    return lowfloat.mx_quantize(x, name, scale_rounding=RULE)


def gfloat_quantize(info, blocks: np.ndarray) -> np.ndarray:
    """gfloat's MX quantize-dequantize of each row (float64 copies: its float32 log2 misjudges near powers of 2)."""
    return np.stack([quantize_block(info, row.astype(np.float64), compute_scale_amax) for row in blocks])


def validate(x: np.ndarray, name: str, gfloat_blocks: int) -> list[str]:
    """Disagreements with gfloat and between the amax paths (empty: all agree)."""
    failed = []
    info = getattr(gfloat_formats, GFLOAT_INFO[name])
    head = x[: gfloat_blocks * BLOCK].reshape(-1, BLOCK)
    ours = quantize_mx(head, name).dequantize(np.float64)
    theirs = gfloat_quantize(info, head)
    same = np.array_equal(ours.view(np.uint64), theirs.view(np.uint64))
    print(f"  {name}: mx_quantize == gfloat quantize_block on {head.size:,} values: {'ok' if same else 'MISMATCH'}")
    if not same:
        failed.append(f"{name} vs gfloat")
    return failed


def validate_amax(x: np.ndarray) -> list[str]:
    tiling = make_tiling(x.shape, BLOCK, -1)
    blocked = tiling.to_blocks(x)
    kernel = block_amax(blocked, tiling)
    with np.errstate(invalid="ignore"):
        numpy = np.max(np.abs(blocked), axis=-1, keepdims=True)
    same = np.array_equal(kernel, numpy)
    print(f"  block amax: Numba kernel == numpy max(abs) on {x.size:,} values: {'ok' if same else 'MISMATCH'}")
    return [] if same else ["block amax"]


def cases_of(x: np.ndarray, name: str, gfloat_blocks: int) -> list[Case]:
    element = MX_FORMATS[name]
    elem_name = element.name
    floor_out = np.empty_like(x)
    tiling = make_tiling(x.shape, BLOCK, -1)
    blocked = tiling.to_blocks(x)
    head = x[: gfloat_blocks * BLOCK].reshape(-1, BLOCK)
    info = getattr(gfloat_formats, GFLOAT_INFO[name])
    cases = [
        Case(name, FLOOR, lambda: np.copyto(floor_out, x)),
        Case(name, SUBJECT, lambda: quantize_mx(x, name)),
        Case(name, "mx_quantize(x).dequantize()", lambda: quantize_mx(x, name).dequantize()),
        Case(name, "block amax, Numba kernel", lambda: block_amax(blocked, tiling)),
        Case(name, "block amax, numpy max(abs)", lambda: np.max(np.abs(blocked), axis=-1, keepdims=True)),
        Case(name, GFLOAT, lambda: gfloat_quantize(info, head), reference=True),
    ]
    if not isinstance(element, lowfloat.IntFormat):  # mxint8's element is not a lowfloat Format
        cases.insert(1, Case(name, f"lowfloat.quantize(x, {elem_name})", lambda: lowfloat.quantize(x, elem_name)))
    return cases


def main() -> None:
    args = parse_args()
    n = 1 << args.size
    print_header("bench_scaled: lowfloat.mx_quantize vs lowfloat.quantize and gfloat", args)
    print(f"# gfloat on {args.gfloat_blocks} blocks ({args.gfloat_blocks * BLOCK:,} values), time scaled to n\n")
    x = make_blocks(n, args.seed)
    print("Validation (before any timing):")
    failed = validate_amax(x)
    for name in args.formats:
        failed += validate(x, name, args.gfloat_blocks)
    if failed:
        sys.exit(f"\nREFUSING TO TIME: {len(failed)} check(s) failed: {'; '.join(failed)}")
    print()
    cases = []
    for name in args.formats:
        group = cases_of(x, name, args.gfloat_blocks)
        time_interleaved(group, args.repeats)
        scale_up = n / (args.gfloat_blocks * BLOCK)
        for case in group:
            if case.name == GFLOAT:
                case.times = [t * scale_up for t in case.times]
        cases += group
    print(f"Medians of {args.repeats} interleaved repeats, n = {n:,}; /floor = median / np.copyto's, "
          f"/subject = median / lowfloat.mx_quantize's")  # fmt: skip
    print_table(cases, n, FLOOR, SUBJECT)
    print("Ratios (for information):")
    rows: dict[str, dict[str, Case]] = {}
    for case in cases:
        rows.setdefault(case.group, {})[case.name] = case
    for name, row in rows.items():
        t = {label: case.median for label, case in row.items()}
        quantize_label = next((label for label in t if label.startswith("lowfloat.quantize")), None)
        if quantize_label is not None:
            verdict(f"{name}: mx_quantize / quantize of the same array", t[SUBJECT] / t[quantize_label], None,
                    at_least=False)  # fmt: skip
        verdict(f"{name}: gfloat (scaled up) / mx_quantize", t[GFLOAT] / t[SUBJECT], None, at_least=True, digits=0)
        verdict(f"{name}: numpy amax / Numba amax", t["block amax, numpy max(abs)"] / t["block amax, Numba kernel"],
                None, at_least=True)  # fmt: skip
    print_footer()


if __name__ == "__main__":
    main()
