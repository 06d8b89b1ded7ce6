"""Loss scalers against torch.amp.GradScaler; delayed scaling against Transformer Engine's kernel."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lowfloat.train import CurrentScaling, DelayedScaling, DynamicLossScaler, NoLossScaling, StaticLossScaler
from lowfloat.train.scalers import delayed_scale

F = False

# (constructor arguments, overflow flag per step, scale used per step, scale after the last step).
# Recorded from torch 2.13.0's torch.amp.GradScaler("cpu", ...) driven step by step: the scaled
# gradient is set to inf or NaN on the flagged steps, then scaler.step(opt); scaler.update().
GRADSCALER_TRACES = [
    pytest.param(
        dict(init_scale=2.0**16, growth_interval=3),
        [F] * 6 + ["inf", F, F, "nan", "inf", F, F, F, F],
        [65536.0, 65536.0, 65536.0, 131072.0, 131072.0, 131072.0, 262144.0, 131072.0, 131072.0, 131072.0,
         65536.0, 32768.0, 32768.0, 32768.0, 65536.0],
        65536.0,
        id="reference-trace",
    ),  # fmt: skip
    pytest.param(
        dict(init_scale=2.0**126, growth_interval=1),
        [F] * 4,
        [8.507059173023462e37, 1.7014118346046923e38, 1.7014118346046923e38, 1.7014118346046923e38],
        1.7014118346046923e38,
        id="growth-refused-at-inf",
    ),
    pytest.param(
        dict(init_scale=1.0),
        ["inf"] * 6,
        [1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125],
        0.015625,
        id="backoff-every-step",
    ),
    pytest.param(
        dict(init_scale=10.0, growth_factor=3.0, backoff_factor=0.25, growth_interval=2),
        [F, F, "nan", F, F, F, F, "inf", F],
        [10.0, 10.0, 30.0, 7.5, 7.5, 22.5, 22.5, 67.5, 16.875],
        16.875,
        id="other-factors",
    ),
]


def _run(scaler, flags):
    used = []
    for flag in flags:
        used.append(scaler.scale)
        scaler.update(bool(flag))
    return used


@pytest.mark.parametrize(("kwargs", "flags", "expected", "final"), GRADSCALER_TRACES)
def test_dynamic_scaler_scale_sequence_equals_recorded_gradscaler(kwargs, flags, expected, final):
    scaler = DynamicLossScaler(**kwargs)
    assert _run(scaler, flags) == expected
    assert scaler.scale == final


def test_dynamic_scaler_backs_off_through_float32_subnormals_to_zero_as_gradscaler():
    # recorded from torch: init 1, an overflow every step; scale used at steps 126, 127, 148..151
    scaler = DynamicLossScaler(init_scale=1.0)
    used = _run(scaler, ["inf"] * 152)
    expected = [1.1754943508222875e-38, 5.877471754111438e-39, 2.802596928649634e-45, 1.401298464324817e-45, 0.0, 0.0]
    assert [used[i] for i in (126, 127, 148, 149, 150, 151)] == expected


def _torch_scales(flags, **kwargs):
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([p], lr=0.0)
    scaler = torch.amp.GradScaler("cpu", **kwargs)
    used = []
    for flag in flags:
        used.append(scaler.get_scale())
        opt.zero_grad()
        scaler.scale(p.sum()).backward()
        if flag:
            p.grad[0] = math.inf if flag == "inf" else math.nan
        scaler.step(opt)
        scaler.update()
    return used, scaler.get_scale()


@pytest.mark.parametrize(("kwargs", "flags", "expected", "final"), GRADSCALER_TRACES)
def test_recorded_traces_still_match_live_gradscaler(kwargs, flags, expected, final):
    assert _torch_scales(flags, **kwargs) == (expected, final)


def test_dynamic_scaler_matches_live_gradscaler_on_random_overflow_patterns():
    rng = np.random.default_rng(7)
    for trial in range(4):
        flags = list(rng.random(60) < [0.05, 0.2, 0.5, 0.9][trial])
        kwargs = dict(init_scale=float(2 ** rng.integers(0, 20)), growth_interval=int(rng.integers(1, 6)))
        torch_used, torch_final = _torch_scales(flags, **kwargs)
        scaler = DynamicLossScaler(**kwargs)
        assert _run(scaler, flags) == torch_used
        assert scaler.scale == torch_final


def test_dynamic_scaler_defaults_are_gradscalers():
    s = DynamicLossScaler()
    assert (s.scale, float(s.growth_factor), float(s.backoff_factor), s.growth_interval) == (65536.0, 2.0, 0.5, 2000)


def test_static_scaler_never_changes_and_skips_nonfinite_steps():
    s = StaticLossScaler(2.0**10)
    assert _run(s, [F, "inf", F]) == [1024.0] * 3
    assert s.skips_nonfinite


def test_no_loss_scaling_is_one_and_never_skips():
    s = NoLossScaling()
    assert _run(s, ["inf", F]) == [1.0, 1.0]
    assert not s.skips_nonfinite


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(init_scale=0.0), "init_scale"),
        (dict(init_scale=math.inf), "init_scale"),
        (dict(init_scale=1e39), "init_scale"),
        (dict(init_scale="big"), "init_scale"),
        (dict(growth_factor=1.0), "growth_factor"),
        (dict(backoff_factor=1.0), "backoff_factor"),
        (dict(backoff_factor=-0.5), "backoff_factor"),
        (dict(growth_interval=0), "growth_interval"),
        (dict(growth_interval=2.5), "growth_interval"),
        (dict(growth_interval=True), "growth_interval"),
    ],
)
def test_dynamic_scaler_bad_argument_is_named(kwargs, field):
    with pytest.raises(ValueError, match=f"DynamicLossScaler.{field}"):
        DynamicLossScaler(**kwargs)


@pytest.mark.parametrize("scale", [0, -1.0, math.nan, None])
def test_static_scaler_bad_scale_is_named(scale):
    with pytest.raises(ValueError, match="StaticLossScaler.scale"):
        StaticLossScaler(scale)


# ------------------------------------------------------------------ delayed scaling
def _te_amax_and_scale_update(history, scale, fp8_max, margin, algo):
    """Transformer Engine's ``amax_and_scale_update_impl::kernel`` (common/recipe/delayed_scaling.cu),
    one thread, float32 throughout: returns the rolled history and the new scale."""
    f32 = np.float32
    length = len(history)
    scaled_max = f32(fp8_max) * f32(2.0) ** f32(-margin)
    last_amax = history[0]
    updated = [f32(0)] * length
    amax = f32(0)
    for i in range(length):
        a = history[i + 1] if i < length - 1 else last_amax
        amax = np.fmax(amax, a)  # fmaxf
        updated[i] = a if i > 0 else f32(0)
    if algo == "most_recent":
        amax = last_amax
    if np.isfinite(amax) and amax > 0:
        with np.errstate(over="ignore"):
            new_scale = f32(scaled_max / amax)
    else:
        new_scale = scale
    if np.isinf(new_scale):
        new_scale = f32(np.finfo(np.float32).max)
    return updated, f32(new_scale)


def _te_trace(amaxes, fp8_max, length, margin=0, algo="max"):
    history = [np.float32(0)] * length
    scale = np.float32(1)
    used = []
    for amax in amaxes:
        used.append(float(scale))
        history[0] = np.float32(amax)
        history, scale = _te_amax_and_scale_update(history, scale, fp8_max, margin, algo)
    return used


def _recipe_trace(recipe, amaxes, fp8_max):
    used = []
    for amax in amaxes:
        used.append(recipe.scale("t"))
        recipe.record("t", amax, fp8_max)
        recipe.update()
    return used


def test_delayed_scaling_reproduces_the_reference_trace():
    recipe = DelayedScaling(amax_history_len=4)
    used = _recipe_trace(recipe, [1, 2, 4, 0.5, 0.5, 0.5, 0.5, 0.5], 448.0)
    assert used == [1, 448, 224, 112, 112, 112, 112, 896]


# Recorded amax histories: a warm-up, a spike, zeros, inf and NaN amaxes, values whose quotient overflows.
AMAX_RECORDS = {
    "warmup-and-decay": [0.3, 0.7, 1.9, 1.2, 0.8, 0.05, 0.04, 0.04, 0.03, 0.9, 0.9, 0.2],
    "spike": [1e-3, 1.1e-3, 250.0, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3],
    "zeros-keep-scale": [0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    "inf-and-nan-keep-scale": [2.0, math.inf, 5.0, math.nan, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25],
    "tiny-amax-overflows-scale": [1e-39, 1e-45, 2.0**-130, 1.0, 1e-40],
    "gradient-magnitudes": [3.1e-7, 2.2e-7, 9.0e-8, 1.3e-7, 6.0e-8, 6.1e-8, 5.9e-8, 4.4e-8],
}


@pytest.mark.parametrize("record", list(AMAX_RECORDS))
@pytest.mark.parametrize(("fp8_max", "length", "margin", "algo"),
                         [(448.0, 4, 0, "max"), (57344.0, 3, 1, "max"), (448.0, 1024, 0, "max"),
                          (448.0, 5, 2, "most_recent"), (57344.0, 1, 0, "max")])  # fmt: skip
def test_delayed_scaling_equals_transformer_engine_kernel_on_recorded_histories(record, fp8_max, length, margin, algo):
    amaxes = AMAX_RECORDS[record]
    recipe = DelayedScaling(margin=margin, amax_history_len=length, amax_compute_algo=algo)
    assert _recipe_trace(recipe, amaxes, fp8_max) == _te_trace(amaxes, fp8_max, length, margin, algo)


def test_delayed_scale_of_overflowing_quotient_is_float32_max():
    assert delayed_scale([1e-45], 1.0, 448.0) == np.finfo(np.float32).max


def test_delayed_scaling_keeps_separate_state_per_tensor():
    recipe = DelayedScaling(amax_history_len=2)
    recipe.record("a", 2.0, 448.0)
    recipe.record("b", 4.0, 57344.0)
    recipe.update()
    assert (recipe.scale("a"), recipe.scale("b"), recipe.scale("new")) == (224.0, 14336.0, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(margin=-1), "margin"),
        (dict(margin=0.5), "margin"),
        (dict(amax_history_len=0), "amax_history_len"),
        (dict(amax_compute_algo="mean"), "amax_compute_algo"),
    ],
)
def test_delayed_scaling_bad_argument_is_named(kwargs, field):
    with pytest.raises(ValueError, match=f"DelayedScaling.{field}"):
        DelayedScaling(**kwargs)


@pytest.mark.parametrize(
    ("amax", "fp8_max", "margin", "power_of_two", "expected"),
    [
        (3.5, 448.0, 0, False, 128.0),
        (3.0, 448.0, 0, False, float(np.float32(448.0) / np.float32(3.0))),
        (3.0, 448.0, 0, True, 128.0),
        (3.0, 448.0, 1, True, 64.0),
        (1e-3, 57344.0, 0, True, 2.0**25),
        (0.0, 448.0, 0, False, 1.0),
        (math.inf, 448.0, 0, False, 1.0),
        (math.nan, 448.0, 0, False, 1.0),
    ],
)
def test_current_scaling_scale_from_the_tensors_amax(amax, fp8_max, margin, power_of_two, expected):
    assert CurrentScaling(margin=margin, power_of_two=power_of_two).scale_for(amax, fp8_max) == expected


def test_current_scaling_bad_arguments_are_named():
    with pytest.raises(ValueError, match="CurrentScaling.margin"):
        CurrentScaling(margin=-2)
    with pytest.raises(ValueError, match="CurrentScaling.power_of_two"):
        CurrentScaling(power_of_two="yes")
