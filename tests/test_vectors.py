"""Test vectors in TestFloat's text format: what the files hold, that they verify, and that verification
catches every kind of wrong line.  The comparison with SoftFloat line by line is in test_softfloat.py."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

import lowfloat as lf
from lowfloat import reference
from lowfloat.cli import main
from lowfloat.rounding import FLAG_INEXACT, FLAG_INVALID, FLAG_OVERFLOW, FLAG_UNDERFLOW
from lowfloat.testing import (
    VECTOR_OPERATIONS,
    VectorFileError,
    VectorSpec,
    make_vectors,
    read_vectors,
    verify_vectors,
    write_vectors,
)

# one format of each convention, and the operations' usual homes
CASES = [
    ("fp16", "encode", "float32"),
    ("fp32", "encode", "float64"),
    ("bf16", "encode", "float16"),
    ("e4m3", "encode", "float64"),
    ("e8m0", "encode", "bfloat16"),
    ("e2m1", "encode", "float32"),
    ("fp16", "add", None),
    ("bf16", "sub", None),
    ("e4m3fnuz", "mul", None),
    ("e5m2", "div", None),
    ("fp32", "fma", None),
    ("e3m2", "sqrt", None),
    ("e8m0", "mul", None),
]


def text_of(fmt, op, **options) -> str:
    out = io.StringIO()
    write_vectors(out, fmt, op, **options)
    return out.getvalue()


def rows_of(text: str) -> list[list[int]]:
    return [[int(field, 16) for field in line.split()] for line in text.splitlines()]


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize(("fmt", "op", "input_type"), CASES, ids=lambda v: str(v))
def test_written_vectors_verify_as_equal(fmt, op, input_type):
    text = text_of(fmt, op, dtype=input_type, rounding="toward_positive", tininess="before", count=500)
    report = verify_vectors(io.StringIO(text), fmt, op, dtype=input_type, rounding="toward_positive",
                            tininess="before")  # fmt: skip
    assert report.ok, str(report)
    assert report.cases == len(text.splitlines()) > 250  # (FP6 has no code for the NaN of a negative root)
    assert "all" in str(report) and "equal lowfloat's" in str(report)


@pytest.mark.parametrize("op", list(VECTOR_OPERATIONS))
def test_every_operation_round_trips_through_a_file_on_disk(op, tmp_path):
    path = tmp_path / f"{op}.txt"
    options = dict(dtype="float16" if op == "encode" else None, rounding="toward_zero", overflow="saturate")
    written = write_vectors(path, "e4m3", op, level=2, count=2000, **options)  # fma: 24 bits, so not exhaustive
    report = verify_vectors([path], "e4m3", op, **options)
    assert report.ok and report.cases == written
    assert report.sources == [str(path)]


@pytest.mark.parametrize(("fmt", "op", "input_type"), [("e4m3", "encode", "float32"), ("bf16", "mul", None)])
def test_ftz_daz_and_saturation_change_the_lines_and_verify_with_the_same_settings(fmt, op, input_type):
    plain = text_of(fmt, op, dtype=input_type, count=300)
    for settings in (dict(ftz=True), dict(daz=True), dict(overflow="saturate")):
        text = text_of(fmt, op, dtype=input_type, count=300, **settings)
        assert text != plain, settings
        assert verify_vectors(io.StringIO(text), fmt, op, dtype=input_type, **settings).ok, settings
        assert not verify_vectors(io.StringIO(text), fmt, op, dtype=input_type).ok, settings


def test_verifying_with_other_settings_than_the_file_finds_mismatches():
    text = text_of("e5m2", "encode", dtype="float32", count=200)
    report = verify_vectors(io.StringIO(text), "e5m2", dtype="float32", rounding="toward_zero")
    assert not report.ok and report.results and "one ulp" in {m.kind for m in report.results}


# ------------------------------------------------------------------ the lines themselves


def test_lines_have_testfloat_layout_upper_case_hex_of_fixed_width():
    assert verify_vectors(io.StringIO("3F800001 3C00 01\n"), "fp16", dtype="float32").ok  # TestFloat's own example
    for fmt, op, input_type, widths in [("fp16", "encode", "float32", [8, 4, 2]), ("e4m3", "fma", None, [2] * 5),
                                        ("e2m1", "add", None, [1, 1, 1, 2]), ("fp32", "encode", "float64", [16, 8, 2]),
                                        ("tf32", "sqrt", None, [5, 5, 2])]:  # fmt: skip
        for line in text_of(fmt, op, dtype=input_type, count=50).splitlines()[::97]:
            fields = line.split(" ")
            assert [len(f) for f in fields] == widths, line
            assert line == line.upper()


@pytest.mark.parametrize(("fmt", "op", "input_type"), CASES, ids=lambda v: str(v))
def test_every_line_equals_the_exact_reference(fmt, op, input_type):
    fmt = lf.get_format(fmt)
    vectors = make_vectors(fmt, op, dtype=input_type, rounding="nearest_away", tininess="before", count=200)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(vectors), min(300, len(vectors)), replace=False):
        operands = [int(a[i]) for a in vectors.operands]
        if op == "encode":
            x = _scalar(operands[0], input_type)
            code, flags = reference.encode_flags(x, fmt, rounding="nearest_away", tininess="before")
        else:
            values = [_operand_scalar(c, fmt) for c in operands]
            value, flags = reference.arithmetic(op, values, fmt, rounding="nearest_away", tininess="before")
            code = reference.encode(value, fmt) if not math.isnan(value) else int(vectors.results[i])
            assert math.isnan(value) == math.isnan(reference.decode(int(vectors.results[i]), fmt))
        assert (int(vectors.results[i]), int(vectors.flags[i])) == (code, flags), operands


def _scalar(bits: int, input_type: str):
    """The input float of some bits, as a NumPy scalar of its own type (bfloat16 as the float32 it widens to)."""
    if input_type == "bfloat16":
        return np.uint32(bits << 16).view(np.float32)
    uint, dtype = {"float16": (np.uint16, np.float16), "float32": (np.uint32, np.float32),
                   "float64": (np.uint64, np.float64)}[input_type]  # fmt: skip
    return uint(bits).view(dtype)


def _operand_scalar(code: int, fmt):
    if fmt.name in ("float16", "bfloat16", "float32"):
        return _scalar(code, fmt.name)
    return reference.decode(code, fmt)


def test_level_two_is_exhaustive_up_to_sixteen_operand_bits():
    every_bf16 = make_vectors("e5m2", "encode", dtype="bfloat16", level=2)
    assert np.array_equal(every_bf16.operands[0], np.arange(1 << 16))
    pairs = make_vectors("e4m3", "add", level=2)
    assert len(pairs) == 1 << 16 and len(set(zip(*(a.tolist() for a in pairs.operands), strict=True))) == 1 << 16
    triples = make_vectors("e2m1", "fma", level=2)
    assert len(triples) == 1 << 12
    beyond = make_vectors("fp16", "add", level=2, count=100)  # 32 operand bits: hard cases and random ones
    assert len(beyond) == len(make_vectors("fp16", "add", count=100))


def test_encode_hard_cases_hold_grid_midpoints_neighbours_and_specials():
    inputs = set(make_vectors("e4m3", "encode", dtype="float32", count=0).operands[0].tolist())
    bits = lambda x: int(np.float32(x).view(np.uint32))  # noqa: E731
    for x in [448.0, 464.0, 1.0625, 2.0**-6, 2.0**-10, 2.0**-9 * 1.5, 0.0, -0.0, np.inf, -np.inf, -464.0]:
        assert bits(x) in inputs, x
    for tie in [464.0, 1.0625, 2.0**-10]:  # midpoints, and one float32 ulp either side
        assert {bits(tie) - 1, bits(tie) + 1} <= inputs, tie
    assert {0x7FC00000, 0x7F800001, 0xFFC00000, 0xFF800001} <= inputs  # quiet and signalling NaNs
    flags = make_vectors("e4m3", "encode", dtype="float32", count=0).flags
    assert {0, FLAG_INEXACT, FLAG_INEXACT | FLAG_UNDERFLOW, FLAG_INEXACT | FLAG_OVERFLOW, FLAG_INVALID} <= set(
        flags.tolist())


def test_operation_hard_cases_hold_ties_cancellations_overflow_and_underflow():
    add = make_vectors("fp16", "add", count=0)
    pairs = set(zip(*(a.tolist() for a in add.operands), strict=True))
    assert (0x3C00, 0x1000) in pairs  # 1 + 2**-11: a tie
    assert (0x3C00, 0xBC00) in pairs and (0x7BFF, 0x7BFF) in pairs  # exact cancellation, overflow
    zero = (add.results & 0x7FFF) == 0
    nonzero_operands = ((add.operands[0] & 0x7FFF) != 0) & ((add.operands[1] & 0x7FFF) != 0)
    assert np.count_nonzero(zero & nonzero_operands) > 50
    mul = make_vectors("fp16", "mul", count=0)
    assert np.count_nonzero(mul.flags == FLAG_UNDERFLOW | FLAG_INEXACT) > 50
    fma = make_vectors("bf16", "fma", count=0)
    assert np.count_nonzero((fma.results & 0x7FFF) == 0) > 50  # z cancels the rounded product


def test_same_seed_gives_the_same_file_and_another_seed_other_random_cases():
    first, again = text_of("e5m2", "div", seed=3, count=300), text_of("e5m2", "div", seed=3, count=300)
    other = text_of("e5m2", "div", seed=4, count=300)
    assert first == again and first != other


def test_results_without_a_code_are_left_out_of_the_files():
    # FP4 has no NaN: 0 / 0 and NaN inputs have no line
    division = make_vectors("e2m1", "div", level=2)
    assert len(division) == 256 - 4  # (+-0) / (+-0)
    assert not any(x & 7 == 0 and y & 7 == 0 for x, y in zip(*division.operands, strict=True))
    casts = make_vectors("e2m1", "encode", dtype="float16", level=2)
    assert len(casts) == (1 << 16) - 2 * 1023  # every float16 but the NaNs of both signs


# ------------------------------------------------------------------ verification finds bad lines


def corrupted(text: str, line: int, field: int, value: str) -> str:
    lines = text.splitlines()
    fields = lines[line - 1].split()
    fields[field] = value
    lines[line - 1] = " ".join(fields)
    return "\n".join(lines) + "\n"


def test_a_wrong_result_is_reported_with_its_file_line_and_kind():
    text = text_of("fp16", "encode", dtype="float32", count=0)
    lines = text.splitlines()
    number = lines.index("3F801000 3C00 01") + 1  # 1 + 2**-11, a tie that goes to the even code
    report = verify_vectors(io.StringIO(corrupted(text, number, 1, "3C01")), "fp16", dtype="float32")
    assert not report.ok and not report.flags
    (mismatch,) = report.results
    assert (mismatch.source, mismatch.line, mismatch.result, mismatch.expected) == ("<stream>", number, 0x3C01, 0x3C00)
    assert mismatch.kind == "one ulp"
    assert f"<stream>:{number}: 3F801000 -> 3C01 (1.0009765625), expected 3C00 (1.0): tie to even" in str(report)


def test_a_wrong_flag_is_reported_apart_from_the_results():
    text = text_of("fp16", "mul", count=0)
    lines = text.splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.endswith(" 03"))  # underflow | inexact
    report = verify_vectors(io.StringIO(corrupted(text, number, 3, "01")), "fp16", "mul")
    assert not report.results and len(report.flags) == 1
    assert report.flags[0].kind == "missing underflow" and report.flags[0].line == number
    assert "flags: " in str(report) and "missing underflow (1 case):" in str(report)


def test_each_kind_of_result_mismatch_is_named():
    text = text_of("e5m2", "add", level=2)
    lines = text.splitlines()
    find = {line.rsplit(" ", 2)[0]: i for i, line in enumerate(lines, 1)}
    wrong = {
        "3C 3C": ("7B", "overflow"),  # 1 + 1 would be 2 (0x40); at max instead
        "00 80": ("80", "sign of zero"),  # 0 + -0 is +0
        "7C 00": ("7B", "NaN/inf"),  # inf + 0
        "01 01": ("01", "subnormal"),  # the smallest subnormal doubled
        "3C 00": ("3D", "one ulp"),
        "3C 3D": ("30", "other"),
    }
    for operands, (result, _) in wrong.items():
        text = corrupted(text, find[operands], 2, result)
    report = verify_vectors(io.StringIO(text), "e5m2", "add")
    assert {m.line: m.kind for m in report.results} == {find[k]: kind for k, (_, kind) in wrong.items()}


def test_any_nan_code_equals_any_other_and_flags_still_count():
    text = text_of("fp16", "add", count=0)
    nan_lines = [i for i, line in enumerate(text.splitlines(), 1) if line.split()[2] == "7E00"]
    assert nan_lines
    for number in nan_lines[:20]:
        text = corrupted(text, number, 2, "FE01")
    assert verify_vectors(io.StringIO(text), "fp16", "add").ok


@pytest.mark.parametrize(("line", "message"), [
    ("3C00 3C00 4000", "expected 4 fields (2 operands (float16), the result (float16), the flags), got 3"),
    ("3C00 3C00 4000 00 00", "expected 4 fields"),
    ("3C00 3G00 4000 00", "operand 2 '3G00' is not a hex number"),
    ("3C00 0x10 4000 00", "operand 2 '0x10' is not a hex number"),
    ("3C00 -1 4000 00", "operand 2 '-1' is not a hex number"),
    ("3C00 3C00 14000 00", "result 14000 is out of range (16 bits)"),
    ("3C00 3C00 4000 20", "flags 20 is out of range (at most 1F: five flag bits)"),
])  # fmt: skip
def test_a_malformed_line_is_refused_naming_the_file_and_line(line, message, tmp_path):
    path = tmp_path / "results.txt"
    path.write_text("3C00 3C00 4000 00\n\n" + line + "\n")
    with pytest.raises(VectorFileError, match=f"^{path}:3: ") as caught:
        verify_vectors(path, "fp16", "add")
    assert message in str(caught.value)


def test_an_empty_file_is_refused_rather_than_passed(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n")
    with pytest.raises(VectorFileError, match="empty.txt: no cases"):
        verify_vectors(path, "fp16", "add")


def test_a_line_whose_result_has_no_code_is_refused():
    with pytest.raises(VectorFileError, match=r"<stream>:1: the correct result is NaN, which float4_e2m1fn cannot"):
        verify_vectors(io.StringIO("0 0 0 10\n"), "e2m1", "div")


def test_read_vectors_gives_arrays_and_line_numbers():
    spec = VectorSpec("e4m3", "sqrt")
    operands, results, flags, numbers = read_vectors(io.StringIO("38 38 00\n\n40 3D 01\n"), spec)
    assert [a.tolist() for a in operands] == [[0x38, 0x40]]
    assert results.tolist() == [0x38, 0x3D] and flags.tolist() == [0, 1] and numbers.tolist() == [1, 3]


def test_loose_layout_reads_as_the_written_one():
    # tabs, runs of spaces, lower case, no leading zeros, CRLF line ends and blank lines, as C harnesses print
    spec = VectorSpec("fp16", "add")
    text = text_of("fp16", "add", count=50)
    loose = "\r\n".join("\t " + "  ".join(f"{int(f, 16):x}" for f in line.split()) for line in text.splitlines())
    exact, relaxed = read_vectors(io.StringIO(text), spec), read_vectors(io.StringIO("\r\n" + loose + "\r\n"), spec)
    for a, b in zip(exact[:3], relaxed[:3], strict=True):
        np.testing.assert_array_equal(np.concatenate(a) if isinstance(a, tuple) else a,
                                      np.concatenate(b) if isinstance(b, tuple) else b)  # fmt: skip
    np.testing.assert_array_equal(relaxed[3], exact[3] + 1)  # the blank first line counts


def test_several_files_are_verified_together_with_their_own_names(tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    write_vectors(good, "e4m3", "mul", count=100)
    bad.write_text(good.read_text().replace(" 00\n", " 01\n", 1))
    report = verify_vectors([good, bad], "e4m3", "mul")
    assert report.cases == 2 * len(good.read_text().splitlines())
    assert [m.source for m in report.flags] == [str(bad)] and report.flags[0].kind == "extra inexact"


# ------------------------------------------------------------------ settings


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(fmt="fp16", op="log"), "unknown operation 'log'"),
    (dict(fmt="fp16", op="encode"), "encode needs the input dtype"),
    (dict(fmt="fp16", op="encode", dtype="int8"), "dtype must be one of float16, bfloat16, float32, float64"),
    (dict(fmt="fp16", op="add", dtype="float32"), "the operands of add are codes of float16"),
    (dict(fmt="fp16", op="add", rounding="stochastic"), "deterministic rounding mode"),
    (dict(fmt="fp16", op="add", tininess="later"), "unknown tininess"),
    (dict(fmt="e4m3", op="add", overflow="inf"), "inf"),
    (dict(fmt="fp7", op="add"), "unknown format 'fp7'"),
])  # fmt: skip
def test_bad_settings_are_refused_with_a_message_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VectorSpec(**kwargs)


def test_an_operation_accepts_its_own_format_as_input_type():
    assert VectorSpec("fp16", "add", dtype="half").dtype is None


def test_encode_takes_numpy_and_ml_dtypes_dtypes_as_its_input_type():
    import ml_dtypes

    assert VectorSpec("e4m3", dtype=np.float32).dtype == "float32"
    assert VectorSpec("e4m3", dtype=np.dtype(ml_dtypes.bfloat16)).dtype == "bfloat16"
    with pytest.raises(ValueError, match="dtype must be one of"):
        VectorSpec("e4m3", dtype=np.int16)


@pytest.mark.parametrize(("kwargs", "message"), [(dict(level=3), "level must be 1 or 2"),
                                                 (dict(count=-1), "count must be a non-negative int")])  # fmt: skip
def test_bad_levels_and_counts_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_vectors("e4m3", "add", **kwargs)


# ------------------------------------------------------------------ the commands


def test_vectors_command_writes_to_stdout_and_verify_reads_stdin(capsys, monkeypatch):
    assert main(["vectors", "--format", "e2m1", "--op", "sqrt", "--level", "2"]) == 0
    text = capsys.readouterr().out
    assert len(text.splitlines()) == 16 - 7  # the negative nonzero codes have NaN roots, which FP4 lacks
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["verify", "-", "--format", "e2m1", "--op", "sqrt"]) == 0
    assert "all 9 results and flags equal lowfloat's" in capsys.readouterr().out


def test_verify_command_exits_zero_one_and_two(tmp_path, capsys):
    path = tmp_path / "f32_to_f16.txt"
    assert main(["vectors", "--format", "fp16", "--op", "encode", "--input", "fp32", "--rounding", "nearest_away",
                 "--tininess", "before", "--count", "100", "--output", str(path)]) == 0  # fmt: skip
    assert capsys.readouterr().out.startswith(f"{path}: ")
    settings = ["--format", "fp16", "--op", "encode", "--input", "float32", "--rounding", "nearest_away"]
    assert main(["verify", str(path), *settings, "--tininess", "before"]) == 0
    assert main(["verify", str(path), *settings]) == 1  # tininess after: some underflow flags differ
    out = capsys.readouterr().out
    assert "differ" in out and "flags: " in out and "extra underflow" in out
    path.write_text(path.read_text() + "3F800000 3C00\n")
    assert main(["verify", str(path), *settings]) == 2
    assert f"{path}:" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing.txt"), *settings]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["vectors", "--format", "fp16", "--op", "add", "--rounding", "stochastic"]) == 2
    assert main(["vectors", "--format", "fp16", "--op", "encode"]) == 2  # no --input
    assert "encode needs the input dtype" in capsys.readouterr().err
