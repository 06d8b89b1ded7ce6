"""The trainer: against PyTorch in float32, loss scaling in the loop, telemetry, policies, data, exports."""

from __future__ import annotations

import csv
import io
import json
import math
from fractions import Fraction

import numpy as np
import pytest

import lowfloat as lf
from lowfloat import reference
from lowfloat.train import (
    GELU,
    MLP,
    Dataset,
    History,
    Interrupted,
    Linear,
    Policy,
    ReLU,
    SoftmaxCrossEntropy,
    TrainConfig,
    get_policy,
    load_digits,
    load_npz,
    split,
    train,
)
from lowfloat.train.datasets import epoch_order
from lowfloat.train.telemetry import COUNTERS, HISTOGRAM_EXPONENTS, StepTelemetry, Telemetry, matmul_error


# ------------------------------------------------------------------ against PyTorch
def _torch_run(config, steps):
    """The same MLP, data order and optimizer in PyTorch (float32, CPU); returns the parameters and losses."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    data = load_digits()
    ours = MLP((64, *config.hidden, 10), seed=config.seed)
    layers = []
    for i, linear in enumerate(ours.linears()):
        if i:
            layers.append(torch.nn.ReLU())
        layer = torch.nn.Linear(*linear.W.shape[::-1])
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(linear.W))
            layer.bias.copy_(torch.from_numpy(linear.b))
        layers.append(layer)
    net = torch.nn.Sequential(*layers)
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=config.lr, betas=config.betas, eps=config.eps)
    n = data.X_train.shape[0]
    losses = []
    epoch = 0
    while len(losses) < steps:
        order = epoch_order(n, config.seed, epoch)
        for start in range(0, n, config.batch_size):
            if len(losses) == steps:
                break
            index = order[start:start + config.batch_size]
            x = torch.from_numpy(data.X_train[index])
            y = torch.from_numpy(data.y_train[index])
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        epoch += 1
    params = [p.detach().numpy() for layer in net if isinstance(layer, torch.nn.Linear)
              for p in (layer.weight, layer.bias)]  # fmt: skip
    return params, losses


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(optimizer="sgd", lr=0.1, momentum=0.9, batch_size=64, max_steps=50, epochs=5),
        TrainConfig(optimizer="adam", lr=3e-3, batch_size=64, max_steps=50, epochs=5, hidden=(24, 16)),
    ],
    ids=["sgd-momentum", "adam-two-hidden"],
)
def test_fp32_policy_matches_pytorch_over_50_steps(config):
    torch_params, torch_losses = _torch_run(config, 50)
    history = train(config)
    ours = [p for _, p in history.model.parameters()]
    for mine, theirs in zip(ours, torch_params, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-5)
    np.testing.assert_allclose([row["loss"] for row in history.steps], torch_losses, rtol=1e-5)


def test_loss_attenuation_with_matching_learning_rate_is_identical_in_fp32():
    plain = train(TrainConfig(lr=0.05, max_steps=30))
    attenuated = train(TrainConfig(lr=0.05 * 2**16, loss_attenuation=2.0**-16, max_steps=30))
    for (_, a), (_, b) in zip(plain.model.parameters(), attenuated.model.parameters(), strict=True):
        assert np.array_equal(a, b)


# ------------------------------------------------------------------ loss scaling in the loop
def test_dynamic_scaler_in_training_skips_overflowing_steps_and_follows_gradscalers_rule():
    # steps 3 and 4 multiply the inputs by 2**16: float16 overflows in the forward pass
    config = TrainConfig(policy="fp16", scaler="dynamic", growth_interval=5, spike_start=3, spike_steps=2,
                         spike_factor=2.0**16, max_steps=17)  # fmt: skip
    history = train(config)
    assert [row["skipped"] for row in history.steps] == [0, 0, 0, 1, 1] + [0] * 12
    # backoff at 3 and 4; then five clean steps (5..9) double it, five more (10..14) again
    expected = [2.0**16] * 4 + [2.0**15] + [2.0**14] * 5 + [2.0**15] * 5 + [2.0**16] * 2
    assert [row["loss_scale"] for row in history.steps] == expected
    assert history.steps[3]["activation.overflow"] > 0


def test_skipped_step_leaves_the_weights_unchanged():
    config = TrainConfig(policy="fp16", scaler="dynamic", spike_start=3, spike_steps=1, spike_factor=2.0**16)
    before = train(config.replace(max_steps=3)).model.parameters()
    after = train(config.replace(max_steps=4)).model.parameters()
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(before, after, strict=True))


def test_without_scaling_fp16_flushes_small_gradients_and_dynamic_scaling_keeps_them():
    base = TrainConfig(policy="fp16", lr=0.1 * 2**16, loss_attenuation=2.0**-16, max_steps=20)
    noscale = train(base)
    dynamic = train(base.replace(scaler="dynamic"))
    assert noscale.flushed_grad_fraction > 0.2
    assert dynamic.flushed_grad_fraction < 0.05


def test_fp8_current_scaling_keeps_gradients_that_unscaled_fp8_flushes():
    base = TrainConfig(policy="fp8", lr=0.1 * 2**16, loss_attenuation=2.0**-16, max_steps=15)
    assert train(base).flushed_grad_fraction > 0.9
    assert train(base.replace(tensor_scaling="current")).flushed_grad_fraction < 0.05


# ------------------------------------------------------------------ master weights and lost updates
def test_bf16_pure_loses_every_weight_update_far_below_half_an_ulp():
    history = train(TrainConfig(policy="bf16-pure", lr=1e-7, momentum=0.0, max_steps=5))
    initial = dict((name, lf.quantize(p, "bf16")) for name, p in MLP(seed=0).parameters())
    final = dict(history.model.parameters())
    assert all(np.array_equal(initial[name], final[name]) for name in initial if name.endswith(".W"))
    # the biases start at 0, where any increment is representable: only they moved
    assert all((final[name] != 0).any() for name in initial if name.endswith(".b"))
    assert 0.9 < history.lost_update_fraction < 1.0


def test_stochastic_update_keeps_some_updates_below_half_an_ulp():
    config = TrainConfig(policy="bf16-pure", stochastic_update=True, lr=1e-4, momentum=0.0, max_steps=5)
    history = train(config)
    assert 0.5 < history.lost_update_fraction < 1.0
    for _, w in history.model.parameters():  # still on the bfloat16 grid
        assert np.array_equal(lf.quantize(w, "bf16"), w)


def test_same_seed_gives_the_same_stochastic_run():
    config = TrainConfig(policy="bf16-pure", stochastic_update=True, max_steps=5)
    a, b = train(config), train(config)
    assert [r["loss"] for r in a.steps] == [r["loss"] for r in b.steps]


# ------------------------------------------------------------------ telemetry against a per-element oracle
def _oracle_counts(values, fmt_name, overflow):
    fmt = lf.get_format(fmt_name)
    counts = dict(elements=0, nonzero=0, overflow=0, underflow=0, subnormal=0)
    for v in values.tolist():
        counts["elements"] += 1
        q = reference.quantize(v, fmt_name, overflow=overflow)
        q = float(q) if isinstance(q, Fraction) else q
        if v != 0:
            counts["nonzero"] += 1
        if not math.isfinite(v) or abs(v) > fmt.max or not math.isfinite(q):
            counts["overflow"] += 1
        if v != 0 and q == 0:
            counts["underflow"] += 1
        if q != 0 and math.isfinite(q) and abs(q) < fmt.smallest_normal:
            counts["subnormal"] += 1
    return counts


@pytest.mark.parametrize(("fmt_name", "overflow"), [("float16", None), ("float8_e4m3fn", "saturate"),
                                                    ("float8_e5m2", None), ("bfloat16", None)])  # fmt: skip
def test_cast_counters_match_a_per_element_oracle(fmt_name, overflow):
    rng = np.random.default_rng(11)
    exponents = rng.uniform(-30, 20, 300)
    values = (rng.choice([-1.0, 1.0], 300) * 2.0**exponents).astype(np.float32)
    values[:5] = [0.0, -0.0, np.inf, 1e30, 2.0**-40]
    telemetry = Telemetry()
    cast = telemetry.cast(values, fmt_name, role="activation_grad", overflow=overflow)
    counts = telemetry.step["activation_grad"]
    assert {k: counts[k] for k in ("elements", "nonzero", "overflow", "underflow", "subnormal")} == \
        _oracle_counts(values, fmt_name, overflow)  # fmt: skip
    assert counts["amax"] == np.inf
    expected = np.array([float(reference.quantize(float(v), fmt_name, overflow=overflow)) for v in values], np.float32)
    np.testing.assert_array_equal(cast, expected)


def test_histogram_bins_are_the_exponents_of_the_elements():
    values = np.float32([0.75, 1.0, 1.5, -3.0, 2.0**-130, 0.0, np.inf, np.nan, 1e-3])
    telemetry = Telemetry()
    telemetry.cast(values, "float32", role="weight_grad")
    counts = telemetry.histograms["weight_grad"]
    expected = np.zeros_like(counts)
    for v in [0.75, 1.0, 1.5, -3.0, 1e-3]:
        expected[math.frexp(v)[1] - 1 - HISTOGRAM_EXPONENTS[0]] += 1
    expected[0] += 1  # 2**-130 is a float32 subnormal: the lowest bin
    assert np.array_equal(counts, expected)


def test_scaled_cast_rounds_the_scaled_tensor_and_divides_back():
    telemetry = Telemetry()
    x = np.float32([1e-6, 3e-6, -2e-7])
    out = telemetry.cast(x, "e5m2", role="activation_grad", scale=2.0**20)
    expected = lf.quantize(x * np.float32(2.0**20), "e5m2") * np.float32(2.0**-20)
    np.testing.assert_array_equal(out, expected)
    assert telemetry.step["activation_grad"]["underflow"] == 0


# ------------------------------------------------------------------ the accumulator role
def test_bf16_accumulator_rounds_every_partial_sum_of_the_forward_matmul():
    from lowfloat.train.trainer import _Caster

    rng = np.random.default_rng(5)
    layer = Linear(40, 3, rng=rng)
    x = rng.uniform(0, 1, (2, 40)).astype(np.float32)
    cast = _Caster(Policy(accumulator="bf16"), Telemetry(), None)
    y = layer.forward(x, cast)
    for i in range(2):
        for j in range(3):
            acc = 0.0
            for t in range(40):  # exact product, exact sum, one rounding into bfloat16 per step
                acc = reference.quantize(Fraction(acc) + Fraction(float(x[i, t])) * Fraction(float(layer.W[j, t])),
                                         "bfloat16")  # fmt: skip
            assert y[i, j] == np.float32(acc)
    assert not np.array_equal(y, x @ layer.W.T)  # float32 accumulation differs


def test_promote_every_routes_the_layers_matmuls_through_lowfloat_matmul():
    from lowfloat.train.trainer import _Caster

    rng = np.random.default_rng(6)
    layer = Linear(300, 4, rng=rng)
    x = rng.uniform(0, 1, (3, 300)).astype(np.float32)
    policy = Policy(accumulator="bf16", promote_every=64)
    y = layer.forward(x, _Caster(policy, Telemetry(), None))
    expected = lf.matmul(x, layer.W.T, accumulate="bf16", promote_every=64) + layer.b
    assert np.array_equal(y, expected)
    unpromoted = layer.forward(x, _Caster(policy.replace(promote_every=None), Telemetry(), None))
    assert not np.array_equal(y, unpromoted)


def test_bf16_accumulator_stops_counting_at_256_unless_promoted():
    from lowfloat.train.trainer import _Caster

    ones = np.ones((1, 4096), np.float32)
    for promote_every, total in [(None, 256.0), (128, 4096.0)]:
        telemetry = Telemetry()
        cast = _Caster(Policy(accumulator="bf16", promote_every=promote_every), telemetry, None)
        assert cast.matmul(ones, ones.T).item() == total
        assert telemetry.end_step().accumulator_error == 1 - total / 4096


def test_float32_accumulation_with_promotion_still_goes_through_lowfloat_matmul():
    from lowfloat.train.trainer import _Caster

    rng = np.random.default_rng(8)
    a = lf.quantize(rng.uniform(0, 1, (2, 1000)), "e4m3").astype(np.float32)
    b = lf.quantize(rng.uniform(0, 1, (1000, 3)), "e4m3").astype(np.float32)
    cast = _Caster(Policy(promote_every=100), Telemetry(), None)
    assert np.array_equal(cast.matmul(a, b), lf.matmul(a, b, promote_every=100))


def test_every_step_records_the_accumulators_error_against_the_exact_product():
    wide = train(TrainConfig(policy=Policy(weight="bf16", activation="bf16"), max_steps=3))
    narrow = train(TrainConfig(policy=Policy(weight="bf16", activation="bf16", accumulator="bf16"), max_steps=3))
    assert all(0 <= row["accumulator.error"] < 1e-6 for row in wide.steps)  # float32: rounding of the sums only
    assert all(1e-4 < row["accumulator.error"] < 0.1 for row in narrow.steps)
    mean = np.mean([row["accumulator.error"] for row in narrow.steps])
    assert narrow.summary()["accumulator_error"] == pytest.approx(mean)


def test_matmul_error_leaves_out_non_finite_exact_values_and_counts_nan_results_as_infinite():
    a = np.float32([[1.0, 2.0], [np.inf, 1.0]])
    b = np.float32([[1.0], [1.0]])
    assert matmul_error(a, b, np.float32([[3.0], [np.inf]])) == 0.0  # row 1 is inf exactly: left out
    assert matmul_error(a, b, np.float32([[np.nan], [np.inf]])) == math.inf
    assert matmul_error(np.zeros((1, 2)), b, np.zeros((1, 1))) == 0.0
    assert matmul_error(a[:1], b, np.float32([[3.3]])) == pytest.approx(0.1, rel=1e-6)


def test_mlp_backward_without_the_input_gradient_gives_the_same_parameter_gradients():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(5, 6)).astype(np.float32)
    dlogits = rng.normal(size=(5, 3)).astype(np.float32)
    full, lean = MLP((6, 4, 3), seed=1), MLP((6, 4, 3), seed=1)
    full.forward(x)
    lean.forward(x)
    assert full.backward(dlogits).shape == (5, 6)
    assert lean.backward(dlogits, input_grad=False) is None
    for (_, g), (_, h) in zip(full.gradients(), lean.gradients(), strict=True):
        assert np.array_equal(g, h)


def test_training_with_a_bf16_accumulator_runs_and_differs_from_float32_accumulation():
    config = TrainConfig(policy=Policy(weight="bf16", activation="bf16", accumulator="bf16"), max_steps=5)
    narrow = train(config)
    wide = train(config.replace(policy=Policy(weight="bf16", activation="bf16")))
    assert narrow.steps[-1]["loss"] != wide.steps[-1]["loss"]
    assert abs(narrow.steps[-1]["loss"] - wide.steps[-1]["loss"]) < 0.1


# ------------------------------------------------------------------ history, exports, interruption
def test_history_exports_csv_and_json(tmp_path):
    history = train(TrainConfig(policy="fp16", epochs=1, max_steps=4))
    rows = list(csv.DictReader(io.StringIO(history.to_csv(tmp_path / "run.csv"))))
    assert len(rows) == 4 and {"loss", "loss_scale", "activation_grad.underflow"} <= set(rows[0])
    assert (tmp_path / "run.csv").read_text() == history.to_csv()
    record = json.loads(history.to_json(tmp_path / "run.json"))
    assert record["summary"]["name"] == "run" and record["summary"]["steps"] == 4
    assert record["formats"]["activation_grad"] == "float16"
    assert len(record["histograms"]["activation_grad"]) == HISTOGRAM_EXPONENTS.size
    assert json.loads((tmp_path / "run.json").read_text()) == record


def test_history_json_writes_nan_loss_as_null():
    history = train(TrainConfig(policy="fp16", max_steps=2, spike_start=0, spike_steps=2, spike_factor=2.0**16))
    record = json.loads(history.to_json())
    assert record["steps"][0]["loss"] is None


def test_plot_saves_a_figure(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    history = train(TrainConfig(policy="fp16", scaler="dynamic", epochs=1))
    history.plot(tmp_path / "run.png")
    assert (tmp_path / "run.png").stat().st_size > 10_000


def test_history_records_steps_epochs_and_totals_through_its_methods():
    history = History("h", {}, {})
    step = dict.fromkeys(COUNTERS, 0) | {"elements": 4, "nonzero": 4, "underflow": 1, "amax": 2.0}
    bins = np.zeros(HISTOGRAM_EXPONENTS.size, np.int64)
    bins[127] = 3  # three elements in [1, 2)
    for loss, error in ((3.0, 1e-3), (1.0, 3e-3)):
        telemetry = StepTelemetry({"weight_grad": step}, {"weight_grad": bins}, error)
        history.add_step(epoch=0, loss=loss, loss_scale=1.0, skipped=False, lost=1, changed=4, telemetry=telemetry)
    history.add_epoch(0.5)
    history.finish(1.5)
    assert [row["step"] for row in history.steps] == [0, 1] and history.steps[0]["weight_grad.underflow"] == 0.25
    assert history.epochs == [{"epoch": 0, "step": 1, "train_loss": 2.0, "test_accuracy": 0.5}]
    assert history.totals["weight_grad"]["underflow"] == 2 and history.totals["weight_grad"]["amax"] == 2.0
    assert history.histograms["weight_grad"][127] == 6 and history.histograms["activation_grad"].sum() == 0
    assert history.lost_update_fraction == 0.25 and history.flushed_grad_fraction == 0.25
    assert history.accumulator_error == pytest.approx(2e-3)
    assert (history.seconds, history.interrupted) == (1.5, False)


@pytest.mark.parametrize("cls", [Linear, ReLU, GELU, MLP, SoftmaxCrossEntropy, History, Telemetry])
def test_classes_keep_no_mutable_state_shared_between_instances(cls):
    shared = {name for name, value in vars(cls).items() if isinstance(value, (dict, list, set, np.ndarray))}
    assert shared == set()


def test_every_config_field_declares_its_kind_and_help():
    import dataclasses

    for f in dataclasses.fields(TrainConfig):
        assert f.metadata["setting"].help, f.name


def test_ctrl_c_raises_interrupted_with_the_steps_done():
    def progress(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        train(TrainConfig(epochs=1), progress=progress)
    assert len(info.value.history.steps) == 3 and info.value.history.interrupted


def test_ctrl_c_while_the_data_loads_raises_interrupted_with_an_empty_history(monkeypatch):
    from lowfloat.train import trainer

    def ctrl_c(config):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "_load", ctrl_c)  # Ctrl-C pressed before the first step
    with pytest.raises(Interrupted) as info:
        train(TrainConfig(name="early", policy="fp16"))
    history = info.value.history
    assert history.interrupted and history.steps == [] and history.name == "early"
    assert history.formats["activation"] == "float16"


# ------------------------------------------------------------------ policies and configurations
def test_presets_assign_the_documented_formats():
    assert get_policy("fp32").describe() == "fp32: all float32"
    fp16 = get_policy("fp16")
    assert (fp16.weight.name, fp16.activation_grad.name, fp16.master.name) == ("float16", "float16", "float32")
    fp8 = get_policy("fp8")
    assert (fp8.weight.name, fp8.activation.name, fp8.activation_grad.name) == \
        ("float8_e4m3fn", "float8_e4m3fn", "float8_e5m2")  # fmt: skip
    pure = get_policy("bf16-pure")
    assert (pure.master.name, pure.optimizer_state.name) == ("bfloat16", "bfloat16")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(weight="fp9"), "Policy.weight"),
        (dict(activation_grad=3), "Policy.activation_grad"),
        (dict(accumulator="fp9"), "Policy.accumulator"),
        (dict(weight="e4m3", overflow="inf"), "Policy.overflow"),
        (dict(overflow="wrap"), "Policy.overflow"),
        (dict(stochastic_update="yes"), "Policy.stochastic_update"),
        (dict(promote_every=0), "Policy.promote_every must be None or a positive int"),
        (dict(promote_every=128.0), "Policy.promote_every"),
        (dict(promote_every=True), "Policy.promote_every"),
    ],
)
def test_bad_policy_field_is_named(kwargs, field):
    with pytest.raises(ValueError, match=field):
        Policy(**kwargs)


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="policy: unknown preset 'fp4'"):
        get_policy("fp4")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("policy", "fp4"), ("scaler", "auto"), ("tensor_scaling", "block"), ("optimizer", "lion"), ("lr", 0.0),
        ("lr", math.inf), ("momentum", 1.0), ("betas", (0.9,)), ("eps", -1.0), ("epochs", 0), ("batch_size", 1.5),
        ("max_steps", 0), ("seed", -1), ("init_scale", 0.0), ("growth_factor", 1.0), ("backoff_factor", 2.0),
        ("growth_interval", 0), ("margin", -1), ("amax_history_len", 0), ("amax_compute_algo", "mean"),
        ("hidden", (0,)), ("activation", "tanh"), ("init", "zeros"), ("loss_attenuation", 0.0),
        ("spike_start", -2), ("spike_factor", math.nan), ("test_fraction", 1.0), ("stochastic_update", 1),
        ("data", 3), ("name", None),
    ],
)  # fmt: skip
def test_bad_config_field_is_named(field, value):
    with pytest.raises(ValueError, match=f"TrainConfig.{field} must be"):
        TrainConfig(**{field: value})


def test_loss_scaler_and_tensor_scaling_together_are_refused():
    with pytest.raises(ValueError, match="TrainConfig.tensor_scaling and TrainConfig.scaler"):
        TrainConfig(policy="fp8", tensor_scaling="delayed", scaler="dynamic")


def test_train_refuses_a_non_config():
    with pytest.raises(TypeError, match="TrainConfig"):
        train({"policy": "fp16"})


# ------------------------------------------------------------------ data
def test_digits_split_is_deterministic_and_disjoint():
    a, b = load_digits(), load_digits()
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)
    assert a.X_train.shape == (1438, 64) and a.X_test.shape == (359, 64) and a.n_classes == 10
    rows = {row.tobytes() for row in a.X_train}
    assert sum(row.tobytes() in rows for row in a.X_test) < 10  # only duplicate images can coincide
    assert 0.0 <= a.X_train.min() and a.X_train.max() == 1.0


def test_digits_ship_with_their_licence():
    from pathlib import Path

    import lowfloat.train

    notice = (Path(lowfloat.train.__file__).parent / "data" / "NOTICE.txt").read_text()
    assert "CC BY 4.0" in notice and "BSD 3-Clause" in notice


def test_own_npz_data_trains(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 5)).astype(np.float32)
    labels = (features[:, 0] > 0).astype(np.int64)  # linearly separable
    np.savez(tmp_path / "mine.npz", X=features, y=labels)
    data = load_npz(tmp_path / "mine.npz")
    assert data.n_features == 5 and data.n_classes == 2 and data.name == "mine"
    history = train(TrainConfig(data=str(tmp_path / "mine.npz"), epochs=15, lr=0.1))
    assert history.test_accuracy > 0.9


def test_npz_without_y_is_refused(tmp_path):
    np.savez(tmp_path / "bad.npz", X=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="missing array.*y"):
        load_npz(tmp_path / "bad.npz")


@pytest.mark.parametrize(
    ("features", "labels", "match"),
    [
        (np.zeros((4, 2)), np.zeros(3, int), "X must be"),
        (np.zeros(4), np.zeros(4, int), "X must be"),
        (np.zeros((4, 2)), np.zeros(4), "integer labels"),
        (np.zeros((4, 2)), -np.ones(4, int), "integer labels"),
        (np.full((4, 2), np.nan), np.zeros(4, int), "finite"),
        (np.zeros((1, 2)), np.zeros(1, int), "test_fraction"),
    ],
)
def test_split_refuses_malformed_arrays(features, labels, match):
    with pytest.raises(ValueError, match=match):
        split(features, labels)


# ------------------------------------------------------------------ runs that go wrong end with a report
def test_learning_rate_that_diverges_ends_with_the_step_it_diverged_at():
    history = train(TrainConfig(policy="fp32", lr=1e30, max_steps=30))
    summary = history.summary()
    step = summary["diverged_at_step"]
    assert step is not None and 0 <= step < 30
    assert all(not math.isfinite(row["loss"]) for row in history.steps if row["step"] >= step)
    assert math.isfinite(history.steps[0]["loss"])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_the_data_is_refused_up_front_naming_the_array(bad):
    data = load_digits()
    x = data.X_test.copy()
    x[3, 5] = bad  # one value: it would silently zero or poison every activation it reaches
    with pytest.raises(ValueError, match=r"X_test holds 1 NaN or infinite values in 1 rows"):
        Dataset(data.X_train, data.y_train, x, data.y_test, name="poisoned")
    with pytest.raises(ValueError, match="NaN or infinite"):
        split(np.concatenate([data.X_train, x]), np.concatenate([data.y_train, data.y_test]))


def test_huge_but_finite_inputs_overflow_float16_and_the_dynamic_scaler_skips_those_steps():
    data = load_digits()
    huge = Dataset(data.X_train * np.float32(2.0**16), data.y_train, data.X_test, data.y_test, name="huge")
    summary = train(TrainConfig(policy="fp16", scaler="dynamic", max_steps=12), data=huge).summary()
    assert summary["skipped_steps"] == 12 and summary["min_loss_scale"] == 2.0**16 * 0.5**11


def test_loss_scale_driven_to_its_limits_ends_without_an_exception():
    # an initial scale that overflows every float16 gradient: the scaler backs off step after step
    summary = train(TrainConfig(policy="fp16", scaler="dynamic", init_scale=2.0**120, max_steps=40)).summary()
    assert summary["skipped_steps"] > 0 and summary["final_loss_scale"] < 2.0**120
    assert summary["diverged_at_step"] is None and math.isfinite(summary["final_loss"])


def test_transient_overflow_that_recovers_is_not_divergence():
    history = train(TrainConfig(policy="fp32", max_steps=6))
    history.steps[2]["loss"] = math.inf  # one bad step in the middle
    assert history.diverged_at_step is None
    history.steps[-1]["loss"] = math.nan
    assert history.diverged_at_step == history.steps[-1]["step"]
