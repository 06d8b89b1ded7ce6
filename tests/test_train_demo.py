"""The demo's claims on the real digits from one seed, and the ``demo`` / ``train`` commands."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lowfloat.cli import main
from lowfloat.train.commands import register


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    """The demo run once through the command line; its JSON list and printed output."""
    path = tmp_path_factory.mktemp("demo") / "runs.json"
    output = subprocess.run([sys.executable, "-m", "lowfloat", "demo", "--json", str(path), "--quiet"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    runs = json.loads(path.read_text())
    return {run["name"]: run for run in runs}, output.stdout


@pytest.mark.slow
def test_demo_writes_every_run_with_the_required_keys(demo_runs):
    runs, _ = demo_runs
    assert list(runs) == ["fp32", "fp16-noscale", "fp16-dynamic", "bf16-noscale", "fp8-noscale", "fp8-delayed",
                          "bf16-pure", "bf16-pure-sr", "fp16-spike", "fp8-acc14", "fp8-acc14-promote"]  # fmt: skip
    for run in runs.values():
        assert {"name", "test_accuracy", "flushed_grad_fraction", "skipped_steps", "accumulator_error"} <= set(run)


@pytest.mark.slow
def test_demo_states_the_loss_attenuation(demo_runs):
    _, stdout = demo_runs
    assert "multiplied by 2^-16" in stdout and "learning rate raised by 2^16" in stdout


@pytest.mark.slow
def test_demo_fp16_without_scaling_flushes_gradients_and_loses_accuracy(demo_runs):
    runs, _ = demo_runs
    fp32 = runs["fp32"]["test_accuracy"]
    assert runs["fp16-noscale"]["flushed_grad_fraction"] >= 0.20
    assert runs["fp16-noscale"]["test_accuracy"] <= fp32 - 0.02
    assert abs(runs["fp16-dynamic"]["test_accuracy"] - fp32) <= 0.01


@pytest.mark.slow
def test_demo_bf16_range_needs_no_scaling(demo_runs):
    runs, _ = demo_runs
    assert runs["bf16-noscale"]["flushed_grad_fraction"] < 0.01
    assert abs(runs["bf16-noscale"]["test_accuracy"] - runs["fp32"]["test_accuracy"]) <= 0.01


@pytest.mark.slow
def test_demo_fp8_collapses_without_scaling_and_recovers_with_delayed_scaling(demo_runs):
    runs, _ = demo_runs
    fp32 = runs["fp32"]["test_accuracy"]
    assert runs["fp8-noscale"]["test_accuracy"] <= fp32 - 0.20
    assert runs["fp8-delayed"]["test_accuracy"] >= fp32 - 0.03


@pytest.mark.slow
def test_demo_pure_bf16_loses_updates_and_stochastic_rounding_or_master_weights_recover(demo_runs):
    runs, _ = demo_runs
    fp32 = runs["fp32"]["test_accuracy"]
    pure = runs["bf16-pure"]
    assert pure["lost_update_fraction"] > 0.5
    assert pure["test_accuracy"] < fp32
    assert runs["bf16-pure-sr"]["test_accuracy"] >= fp32 - 0.01 > pure["test_accuracy"]
    assert runs["bf16-noscale"]["test_accuracy"] >= fp32 - 0.01  # float32 master weights


@pytest.mark.slow
def test_demo_spike_skips_steps_and_the_scale_drops_then_grows_back(demo_runs):
    runs, _ = demo_runs
    spike = runs["fp16-spike"]
    assert spike["skipped_steps"] > 0
    assert spike["min_loss_scale"] < 2.0**16 <= spike["final_loss_scale"]
    assert runs["fp16-dynamic"]["skipped_steps"] == 0


@pytest.mark.slow
def test_demo_14_bit_accumulator_errs_at_k_4096_and_promotion_recovers_most_of_it(demo_runs):
    runs, stdout = demo_runs
    acc14, promoted = runs["fp8-acc14"], runs["fp8-acc14-promote"]
    assert acc14["config"]["hidden"] == [4096] and "promote every 128" in promoted["config"]["policy_detail"]
    float32 = max(run["accumulator_error"] for name, run in runs.items() if not name.startswith("fp8-acc14"))
    assert float32 < 1e-6  # numpy's float32 matmul: the rounding of float32 sums
    assert acc14["accumulator_error"] > 1e-4 > 100 * float32  # a 14-bit accumulator over K = 4096 products
    assert promoted["accumulator_error"] < 0.25 * acc14["accumulator_error"]  # promotion removes most of that error
    # the error stays far below what the FP8 casts themselves cost: neither run loses accuracy at this scale
    assert abs(acc14["test_accuracy"] - promoted["test_accuracy"]) <= 0.01
    assert min(acc14["test_accuracy"], promoted["test_accuracy"]) >= runs["fp8-delayed"]["test_accuracy"] - 0.01
    assert "acc err" in stdout.splitlines()[0]


def interrupted(argv, after: float, timeout: float):
    """Run the lowfloat command line in a child, send it Ctrl-C ``after`` seconds into its work.

    Returns the exit status, stdout and stderr.
    """
    script = ("import sys, lowfloat.train.commands; from lowfloat.cli import main; print('ready', flush=True); "
              f"sys.exit(main({argv!r}))")  # fmt: skip
    pipe = subprocess.PIPE
    process = subprocess.Popen([sys.executable, "-c", script], stdout=pipe, stderr=pipe, text=True)
    assert process.stdout.readline() == "ready\n"  # imports done
    time.sleep(after)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


@pytest.mark.slow
def test_ctrl_c_during_demo_keeps_the_runs_so_far(tmp_path):
    path = tmp_path / "partial.json"
    # 2 s is inside the runs: the demo takes several seconds on any machine
    status, stdout, stderr = interrupted(["demo", "--json", str(path), "--quiet"], after=2, timeout=120)
    assert status == 130, stderr
    runs = json.loads(path.read_text())
    assert runs and runs[-1]["interrupted"] and not any(run["interrupted"] for run in runs[:-1])
    assert "interrupted" in stdout and "Traceback" not in stderr


def test_ctrl_c_during_train_writes_the_history_so_far(tmp_path):
    path = tmp_path / "partial.json"
    argv = ["train", "--epochs", "100000", "--json", str(path), "--quiet"]
    status, stdout, stderr = interrupted(argv, after=1.5, timeout=60)
    assert status == 130, stderr
    record = json.loads(path.read_text())
    assert record["summary"]["interrupted"] and record["summary"]["steps"] == len(record["steps"]) > 0
    assert "interrupted" in stdout and "Traceback" not in stderr


# ------------------------------------------------------------------ lowfloat train
def test_train_command_runs_one_configuration_and_writes_its_history(tmp_path, capsys):
    status = main(["train", "--policy", "fp16", "--scaler", "dynamic", "--growth-interval", "3", "--max-steps", "6",
                   "--loss-attenuation", "2**-16", "--lr", "0x1p12", "--json", str(tmp_path / "h.json"),
                   "--csv", str(tmp_path / "h.csv"), "--quiet"])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0 and "test accuracy" in out and "float16" in out
    record = json.loads((tmp_path / "h.json").read_text())
    assert record["config"]["loss_attenuation"] == 2.0**-16 and record["config"]["lr"] == 4096.0
    assert [row["loss_scale"] for row in record["steps"]] == [65536.0] * 3 + [131072.0] * 3
    assert len(list(csv.DictReader(io.StringIO((tmp_path / "h.csv").read_text())))) == 6


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--scaler", "dinamic"], "invalid choice: 'dinamic'"),
        (["train", "--growth-interval", "0"], "TrainConfig.growth_interval"),
        (["train", "--lr", "fast"], "not a number: 'fast'"),
        (["train", "--hidden", "32,x"], "comma-separated widths"),
        (["train", "--policy", "fp8", "--scaler", "dynamic", "--tensor-scaling", "delayed"], "choose one kind"),
        (["train", "--data", "/nonexistent/mine.npz"], "No such file"),
        (["train", "--master-format", "fp9"], "Policy.master: unknown format 'fp9'"),
        (["demo", "--seed", "x"], "invalid int value"),
        ([], "required"),
    ],
)
def test_bad_command_line_prints_one_line_and_exits_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("lowfloat: error:") and err.count("\n") == 1


def test_train_command_overrides_the_format_of_one_role(capsys):
    assert main(["train", "--policy", "fp8", "--weight-format", "e3m4", "--accumulator-format", "bf16",
                 "--overflow", "default", "--max-steps", "2", "--quiet"]) == 0  # fmt: skip
    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line == ("run: fp8*: weight=float8_e3m4, activation=float8_e4m3fn, activation_grad=float8_e5m2, "
                          "accumulator=bfloat16")  # fmt: skip


def test_register_adds_both_subcommands_to_another_parser():
    parser = argparse.ArgumentParser(prog="lowfloat")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", "--policy", "bf16-pure", "--stochastic-update"])
    assert args.policy == "bf16-pure" and args.stochastic_update and callable(args.run)
    args = parser.parse_args(["demo", "--json", "out.json"])
    assert args.json == "out.json" and callable(args.run)


def test_progress_is_silent_off_a_terminal():
    # stderr is a pipe here: no progress bar, no stray output
    result = subprocess.run([sys.executable, "-m", "lowfloat", "train", "--max-steps", "3"],
                            capture_output=True, text=True, env=os.environ | {"PYTHONWARNINGS": "error"})  # fmt: skip
    assert result.returncode == 0 and result.stderr == ""
