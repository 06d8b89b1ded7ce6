"""The example's claims on the real digits from one seed, through ``lowfloat demo --torch``; its API on short runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lowfloat.torch.example import RUNS, ExampleConfig, example_table, plot_runs, run_example

NAMES = ["fp32", "fp16-noscale", "fp16-dynamic", "fp8-noscale", "fp8-delayed", "mxfp8", "mxfp4", "int8-ptq"]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example run once through the command line: its JSON runs by name, and what it printed."""
    path = tmp_path_factory.mktemp("example") / "runs.json"
    output = subprocess.run([sys.executable, "-m", "lowfloat", "demo", "--torch", "--json", str(path), "--quiet"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    return {run["name"]: run for run in json.loads(path.read_text())}, output.stdout


@pytest.mark.slow
def test_example_writes_every_run_with_the_required_keys(example):
    runs, _ = example
    assert list(runs) == NAMES == [spec[0] for spec in RUNS]
    for run in runs.values():
        assert {"name", "test_accuracy", "flushed_grad_fraction", "skipped_steps", "recipe"} <= set(run)
        assert 0.0 <= run["test_accuracy"] <= 1.0


@pytest.mark.slow
def test_example_states_the_loss_attenuation_and_prints_each_run(example):
    runs, stdout = example
    assert "multiplied by 2^-16" in stdout and "learning rate raised by 2^16" in stdout
    rows = {line.split()[0]: line for line in stdout.splitlines()[1:len(NAMES) + 1]}
    assert list(rows) == NAMES
    for name, run in runs.items():
        assert f"{100 * run['test_accuracy']:.1f}%" in rows[name]


@pytest.mark.slow
def test_example_fp16_without_scaling_flushes_its_gradients_and_falls_below_fp32_and_gradscaler_recovers(example):
    runs, _ = example
    fp32 = runs["fp32"]["test_accuracy"]
    assert runs["fp16-noscale"]["flushed_grad_fraction"] >= 0.2
    assert runs["fp16-noscale"]["test_accuracy"] <= fp32 - 0.02
    assert abs(runs["fp16-dynamic"]["test_accuracy"] - fp32) <= 0.01
    assert runs["fp16-dynamic"]["min_loss_scale"] == 2.0**16 and runs["fp16-dynamic"]["skipped_steps"] == 0


@pytest.mark.slow
def test_example_fp8_hybrid_needs_scaling_and_with_delayed_scaling_stays_within_two_points(example):
    runs, _ = example
    fp32 = runs["fp32"]["test_accuracy"]
    assert runs["fp8-noscale"]["flushed_grad_fraction"] > 0.99 and runs["fp8-noscale"]["test_accuracy"] < 0.5
    assert runs["fp8-delayed"]["test_accuracy"] >= fp32 - 0.02
    assert runs["fp8-delayed"]["flushed_grad_fraction"] < 0.02


@pytest.mark.slow
def test_example_reports_mx_and_int8_post_training_accuracy_as_measured(example):
    runs, _ = example
    # whatever they are: recorded, not asserted against fp32 -- except that the recipes trained at all
    assert runs["mxfp8"]["test_accuracy"] > 0.5 and runs["mxfp4"]["test_accuracy"] > 0.5
    assert runs["int8-ptq"]["steps"] == 0 and runs["int8-ptq"]["flushed_grad_fraction"] is None
    assert "int8: weight=int8 per channel along axis 0, activation=int8 per tensor" == runs["int8-ptq"]["recipe"]


def test_run_example_runs_the_chosen_runs_in_the_example_order_and_quantizes_the_trained_fp32_model():
    config = ExampleConfig(epochs=1)
    runs = run_example(config, runs=["int8-ptq", "fp8-delayed", "fp32"])
    assert [run.name for run in runs] == ["fp32", "fp8-delayed", "int8-ptq"]
    fp32, fp8, ptq = runs
    assert len(fp32.losses) == len(fp8.losses) == 23 and fp8.telemetry.steps  # ceil(1438 / 64) steps
    assert type(ptq.model[0]).__name__ == "Conv2d" and ptq.model is not fp32.model
    table = example_table(runs).splitlines()
    assert table[0].split()[:4] == ["run", "test", "acc", "vs"] and table[3].startswith("int8-ptq")
    fig = plot_runs(runs)
    assert len(fig.axes) == 4


@pytest.mark.parametrize(("runs", "message"), [
    (["fp64"], "unknown run\\(s\\) fp64"),
    (["int8-ptq"], "include fp32"),
])  # fmt: skip
def test_run_example_refuses_unknown_runs_and_ptq_without_its_fp32_model(runs, message):
    with pytest.raises(ValueError, match=message):
        run_example(runs=runs)


def test_demo_torch_without_pytorch_says_what_to_install():
    code = ("import sys\nsys.modules['torch'] = None\nfrom lowfloat.cli import main\n"
            "sys.exit(main(['demo', '--torch', '--quiet']))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "lowfloat: error: --torch: lowfloat.torch needs PyTorch: pip install torch"
