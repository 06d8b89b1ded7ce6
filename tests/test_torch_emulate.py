"""lowfloat.torch.emulate: wrapped layers and attention's products read operands cast by lowfloat, bit for bit.

The oracle of every layer is PyTorch's own operation applied to operands
rounded in NumPy by lowfloat.quantize / mx_quantize / scaled_quantize (and
lowfloat.matmul for an emulated accumulator): the emulated layer must give
the same bits forward and backward.  Then: state_dict round trips, restore,
per-tensor scaling state against lowfloat.train.DelayedScaling, telemetry,
GradScaler unchanged, LossScaler, narrow master weights, refusals.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

import lowfloat as lf
import lowfloat.torch as lft
from lowfloat import plot
from lowfloat.torch import LossScaler, Recipe
from lowfloat.torch.emulate import ATTRIBUTE
from lowfloat.torch.layers import EmulatedConv2d, EmulatedLinear
from lowfloat.train import CurrentScaling, DelayedScaling, DynamicLossScaler, get_policy


def randn(*shape, seed=0, scale=1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * scale


def seeded(module: nn.Module, seed: int = 0) -> nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    return module


def lowfloat_rounded(tensor, how) -> torch.Tensor:
    """The tensor rounded in NumPy by ``how(array)``, as a leaf float32 tensor that requires grad."""
    return torch.from_numpy(np.asarray(how(tensor.detach().numpy()), np.float32)).requires_grad_()


def fmt_cast(fmt, overflow=None):
    return lambda a: lf.quantize(a, fmt, overflow=overflow)


def mx_cast(fmt, axis):
    return lambda a: lf.mx_quantize(a, fmt, axis=axis).dequantize()


def assert_bits_equal(actual, expected):
    assert actual.shape == expected.shape
    assert np.array_equal(actual.detach().numpy().view(np.uint32), expected.detach().numpy().view(np.uint32))


# ---------------------------------------------------------------- every cast point, bit for bit


@pytest.mark.parametrize("policy", ["fp8", "fp16", "bf16", "bf16-pure"])
def test_emulated_linear_forward_and_backward_equal_torch_on_lowfloat_rounded_operands(policy):
    p = get_policy(policy)
    linear = seeded(nn.Linear(24, 16))
    x = randn(8, 24, seed=1, scale=2.0).requires_grad_()
    upstream = randn(8, 16, seed=2, scale=1e-3)
    # the oracle: F.linear on operands rounded by lowfloat.quantize, its output gradient rounded too
    x_q = lowfloat_rounded(x, fmt_cast(p.activation, p.overflow))
    w_q = lowfloat_rounded(linear.weight, fmt_cast(p.weight, p.overflow))
    b_q = lowfloat_rounded(linear.bias, fmt_cast(p.weight, p.overflow))
    expected = F.linear(x_q, w_q, b_q)
    expected.backward(torch.from_numpy(lf.quantize(upstream.numpy(), p.activation_grad, overflow=p.overflow)))

    model = lft.emulate(linear, policy)
    assert isinstance(model, EmulatedLinear) and model.weight is linear.weight
    y = model(x)
    y.backward(upstream)
    assert_bits_equal(y, expected)
    assert_bits_equal(x.grad, x_q.grad)  # straight through the activation cast
    assert_bits_equal(linear.weight.grad, torch.from_numpy(lf.quantize(w_q.grad.numpy(), p.weight_grad)))
    assert_bits_equal(linear.bias.grad, torch.from_numpy(lf.quantize(b_q.grad.numpy(), p.weight_grad)))


def test_emulated_conv2d_with_mx_blocks_along_the_summed_axes_equals_torch_on_mx_rounded_operands():
    conv = seeded(nn.Conv2d(40, 8, 3, padding=1))
    x = randn(2, 40, 5, 5, seed=3).requires_grad_()
    upstream = randn(2, 8, 5, 5, seed=4)
    # blocks: the input and output gradient along channels (axis 1), the weight along in_channels * kh * kw
    x_q = lowfloat_rounded(x, mx_cast("mxfp8_e4m3", 1))
    flat = conv.weight.detach().reshape(8, -1).numpy()
    w_q = torch.from_numpy(lf.mx_quantize(flat, "mxfp8_e4m3", axis=-1).dequantize().reshape(conv.weight.shape))
    w_q.requires_grad_()
    bias = conv.bias.detach().clone().requires_grad_()  # block recipes keep the bias in float32
    expected = conv._conv_forward(x_q, w_q, bias)
    expected.backward(torch.from_numpy(lf.mx_quantize(upstream.numpy(), "mxfp8_e4m3", axis=1).dequantize()))

    model = lft.emulate(nn.Sequential(conv), "mxfp8")
    assert isinstance(model[0], EmulatedConv2d)
    y = model(x)
    y.backward(upstream)
    assert_bits_equal(y, expected)
    assert_bits_equal(x.grad, x_q.grad)
    assert_bits_equal(conv.weight.grad, w_q.grad)
    assert_bits_equal(conv.bias.grad, bias.grad)


def test_unbatched_conv2d_input_has_its_blocks_along_its_channels():
    conv = seeded(nn.Conv2d(40, 2, 1))
    x = randn(40, 3, 3, seed=41)
    x_q = lowfloat_rounded(x, mx_cast("mxfp4", 0))
    w_q = torch.from_numpy(lf.mx_quantize(conv.weight.detach().reshape(2, -1).numpy(), "mxfp4").dequantize())
    expected = conv._conv_forward(x_q, w_q.reshape(conv.weight.shape), conv.bias)
    assert_bits_equal(lft.emulate(nn.Sequential(conv), "mxfp4")(x), expected)


def test_int8_recipe_casts_weights_per_output_channel_and_activations_per_tensor():
    model = nn.Sequential(seeded(nn.Linear(32, 8)))
    x = randn(5, 32, seed=5)
    w_q = lowfloat_rounded(model[0].weight, lambda a: lf.scaled_quantize(a, "int8", axis=0).dequantize())
    x_q = lowfloat_rounded(x, lambda a: lf.scaled_quantize(a, "int8").dequantize())
    expected = F.linear(x_q, w_q, model[0].bias)
    assert_bits_equal(lft.emulate(model, "int8")(x), expected)


@pytest.mark.parametrize("recipe", ["mxfp4", "nvfp4"])
def test_four_bit_recipes_cast_every_operand_in_blocks_along_the_last_axis(recipe):
    linear = seeded(nn.Linear(64, 4))
    x = randn(3, 64, seed=6)
    if recipe == "nvfp4":
        def how(a):
            return lf.nvfp4_quantize(a).dequantize()
    else:
        how = mx_cast("mxfp4", -1)
    expected = F.linear(lowfloat_rounded(x, how), lowfloat_rounded(linear.weight, how), linear.bias)
    assert_bits_equal(lft.emulate(linear, recipe)(x), expected)


def test_in_place_operations_after_an_emulated_layer_are_allowed():
    model = lft.emulate(seeded(nn.Sequential(nn.Linear(4, 4), nn.ReLU(inplace=True), nn.Linear(4, 1))), "fp8")
    model(randn(2, 4, seed=42)).sum().backward()
    assert model[0].weight.grad is not None


def test_custom_recipe_and_exclude_leave_the_excluded_layer_untouched():
    model = seeded(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)))
    x = randn(3, 4, seed=40)
    recipe = Recipe(weight="e4m3", activation=lft.Cast("e5m2", rounding="toward_zero"), name="mine")
    w_q = lowfloat_rounded(model[0].weight, fmt_cast("e4m3"))
    b_q = lowfloat_rounded(model[0].bias, fmt_cast("e4m3"))
    hidden = torch.relu(F.linear(lowfloat_rounded(x, lambda a: lf.quantize(a, "e5m2", rounding="toward_zero")),
                                 w_q, b_q))  # fmt: skip
    expected = model[2](hidden)  # float32: neither wrapped nor seen by the matmul hook
    emulated = lft.emulate(model, recipe, exclude=["2"])
    assert isinstance(emulated[0], EmulatedLinear) and type(emulated[2]) is nn.Linear
    assert "mine" in repr(emulated[0])
    y = emulated(x)
    assert_bits_equal(y, expected)
    y.sum().backward()
    assert list(lft.telemetry(emulated).last().counts) == ["0"]


# ---------------------------------------------------------------- attention's products


class Attention(nn.Module):
    """Single-head self-attention written two ways: explicit matmuls, or F.scaled_dot_product_attention."""

    def __init__(self, dim, fused, causal=False):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.fused, self.causal = fused, causal

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        if self.fused:
            return F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
        return torch.matmul(torch.softmax(scores, dim=-1), v)


@pytest.mark.parametrize("fused", [False, True])
def test_attention_products_are_cast_and_named_after_their_module(fused):
    model = nn.Sequential(seeded(Attention(8, fused)))
    x = randn(2, 5, 8, seed=7)
    lft.emulate(model, "fp8")
    model(x).sum().backward()
    counts = lft.telemetry(model).last().counts
    assert set(counts) == {"0.qkv", "0.matmul0", "0.matmul1"}
    assert set(counts["0.matmul0"]) == {"activation", "activation_grad"}
    assert counts["0.matmul1"]["activation"]["elements"] == 2 * 5 * 5 + 2 * 5 * 8  # P (2, 5, 5) and V (2, 5, 8)


def test_attention_products_equal_torch_on_lowfloat_rounded_operands():
    model = nn.Sequential(seeded(Attention(8, fused=False)))
    x = randn(2, 5, 8, seed=8)
    e4m3 = fmt_cast("e4m3", "saturate")
    with torch.no_grad():
        qkv = F.linear(lowfloat_rounded(x, e4m3), lowfloat_rounded(model[0].qkv.weight, e4m3))
        q, k, v = qkv.chunk(3, dim=-1)
        scores = lowfloat_rounded(q, e4m3) @ lowfloat_rounded(k.transpose(-2, -1), e4m3) / math.sqrt(8)
        expected = torch.matmul(lowfloat_rounded(torch.softmax(scores, dim=-1), e4m3), lowfloat_rounded(v, e4m3))
    assert_bits_equal(lft.emulate(model, "fp8")(x), expected)


@pytest.mark.parametrize("causal", [False, True])
def test_emulated_scaled_dot_product_attention_in_float32_matches_pytorch(causal):
    model = nn.Sequential(seeded(Attention(8, fused=True, causal=causal)))
    x = randn(3, 6, 8, seed=9)
    expected = model(x)
    torch.testing.assert_close(lft.emulate(model, "fp32")(x), expected, rtol=1e-6, atol=1e-6)


def test_scaled_dot_product_attention_masks_match_pytorch():
    q, k, v = randn(2, 4, 8, seed=10), randn(2, 6, 8, seed=11), randn(2, 6, 8, seed=12)
    boolean = randn(4, 6, seed=13) > -0.5
    additive = randn(4, 6, seed=14)

    class Masked(nn.Module):
        def forward(self, mask):
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3)

    model = lft.emulate(Masked(), "fp32")
    for mask in (boolean, additive):
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3)
        torch.testing.assert_close(model(mask), expected, rtol=1e-6, atol=1e-6)


def test_multihead_attention_is_refused_with_what_to_do_instead():
    with pytest.raises(ValueError, match="nn.MultiheadAttention.*nn.Linear projections and torch.matmul"):
        lft.emulate(nn.TransformerEncoderLayer(8, 2), "fp8")
    layer = nn.Sequential(nn.MultiheadAttention(8, 2), nn.Linear(8, 8))
    assert isinstance(lft.emulate(layer, "fp8", exclude=["0"])[1], EmulatedLinear)


def test_the_matmul_hook_is_off_outside_the_forward_pass_even_after_an_error():
    class Failing(nn.Module):
        def forward(self, x):
            x @ x.T
            raise RuntimeError("boom")

    model = lft.emulate(Failing(), "fp8")
    with pytest.raises(RuntimeError, match="boom"):
        model(torch.ones(2, 2))
    assert not torch.overrides._is_torch_function_mode_enabled()
    lft.emulate(nn.Linear(2, 2), "fp8")(torch.ones(1, 2))
    assert not torch.overrides._is_torch_function_mode_enabled()


# ---------------------------------------------------------------- an emulated accumulator


def test_accumulate_routes_the_linear_products_through_lowfloat_matmul_forward_and_backward():
    linear = seeded(nn.Linear(300, 3))
    x = randn(4, 300, seed=15).requires_grad_()
    upstream = randn(4, 3, seed=16)
    x_q = lowfloat_rounded(x, fmt_cast("bf16"))
    w_q = lowfloat_rounded(linear.weight, fmt_cast("bf16"))
    b_q = lf.quantize(linear.bias.detach().numpy(), "bf16")
    dy = lf.quantize(upstream.numpy(), "bf16")
    model = lft.emulate(linear, "bf16", accumulate="bf16")
    y = model(x)
    y.backward(upstream)
    expected = lf.matmul(x_q.detach().numpy(), w_q.detach().numpy().T, accumulate="bf16") + b_q
    assert_bits_equal(y, torch.from_numpy(expected))
    assert_bits_equal(x.grad, torch.from_numpy(lf.matmul(dy, w_q.detach().numpy(), accumulate="bf16")))
    weight_grad = lf.quantize(lf.matmul(x_q.detach().numpy().T, dy, accumulate="bf16").T, "bf16")
    assert_bits_equal(linear.weight.grad, torch.from_numpy(weight_grad))
    float32 = F.linear(x_q, w_q, torch.from_numpy(b_q))
    assert not torch.equal(y, float32)  # a bfloat16 accumulator over 300 products errs


def test_accumulate_of_a_convolution_equals_its_unfolded_matmul_and_float32_accumulation_equals_pytorch():
    conv = seeded(nn.Conv2d(3, 4, 3, stride=2, padding=1))
    x = randn(2, 3, 7, 7, seed=17)
    x_q = lowfloat_rounded(x, fmt_cast("bf16")).detach()
    w_q = torch.from_numpy(lf.quantize(conv.weight.detach().numpy(), "bf16"))
    b_q = torch.from_numpy(lf.quantize(conv.bias.detach().numpy(), "bf16"))
    reference = F.conv2d(x_q, w_q, b_q, stride=2, padding=1)
    torch.testing.assert_close(lft.emulate(nn.Sequential(conv), "bf16", promote_every=8)(x), reference,
                               rtol=2e-6, atol=1e-6)  # fmt: skip
    cols = F.unfold(x_q, 3, padding=1, stride=2)  # (2, 27, 16)
    products = lf.matmul(w_q.reshape(4, -1).numpy(), cols.permute(1, 0, 2).reshape(27, -1).numpy(), accumulate="e5m2")
    expected = torch.from_numpy(products).reshape(4, 2, 4, 4).transpose(0, 1) + b_q.reshape(1, -1, 1, 1)
    conv2 = seeded(nn.Conv2d(3, 4, 3, stride=2, padding=1))
    emulated = lft.emulate(nn.Sequential(conv2), "bf16", accumulate="e5m2")
    assert_bits_equal(emulated(x), expected)
    assert_bits_equal(emulated(x[1]), expected[1])  # an unbatched image


# ---------------------------------------------------------------- state_dict and restore


def test_state_dict_of_an_emulated_model_loads_into_the_original_architecture_and_back():
    def make():
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3, bias=False))

    torch.manual_seed(0)
    trained = lft.emulate(make(), "fp8", scaling="delayed")
    trained(torch.ones(1, 1, 6, 6)).sum().backward()
    state = trained.state_dict()
    assert list(state) == ["0.weight", "0.bias", "3.weight"]
    fresh = make()
    fresh.load_state_dict(state)  # strict: the same keys, nothing missing, nothing extra
    for name, value in fresh.state_dict().items():
        assert torch.equal(value, state[name])
    other = lft.emulate(make(), "mxfp8")
    other.load_state_dict(fresh.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(other.state_dict().values(), state.values(), strict=True))


def test_restore_gives_back_the_original_modules_with_what_was_trained():
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Sequential(nn.Conv2d(1, 1, 1)))
    originals = [model[0], model[2][0]]
    before = model[0].weight.detach().clone()
    emulated = lft.emulate(model, "bf16")
    optimizer = torch.optim.SGD(emulated.parameters(), lr=1.0)
    emulated[0](torch.ones(1, 3)).sum().backward()
    optimizer.step()
    restored = lft.restore(emulated)
    assert restored is model and restored[0] is originals[0] and restored[2][0] is originals[1]
    assert not torch.equal(restored[0].weight, before)
    assert not hasattr(restored, ATTRIBUTE)
    assert not restored._forward_pre_hooks and not restored[0]._forward_hooks
    assert type(lft.restore(lft.emulate(nn.Linear(2, 2), "fp8"))) is nn.Linear


# ---------------------------------------------------------------- per-tensor scaling state


def test_delayed_scaling_state_advances_as_lowfloat_train_delayed_scaling_on_the_same_amaxes():
    model = lft.emulate(seeded(nn.Linear(4, 2)), "fp8", scaling=DelayedScaling(amax_history_len=4))
    amaxes = [1, 2, 4, 0.5, 0.5, 0.5, 0.5, 0.5, 3.0]
    twin = DelayedScaling(amax_history_len=4)
    expected = []
    for amax in amaxes:
        expected.append(twin.scale("x"))
        twin.record("x", amax, 448.0)
        twin.update()
        model(torch.full((3, 4), float(amax))).sum().backward()
    lft.emulation(model).end_step()
    used = lft.telemetry(model).series("scale", role="x")[("", "x")]
    assert used.tolist() == expected
    assert used.tolist()[:8] == [1.0, 448.0, 224.0, 112.0, 112.0, 112.0, 112.0, 896.0]  # Transformer Engine's trace


def test_delayed_scales_of_weights_and_gradients_follow_their_own_amax_histories():
    model = lft.emulate(seeded(nn.Linear(4, 2)), "fp8", scaling="delayed")
    weight_amax = float(model.weight.detach().abs().max())
    for _ in range(3):
        model(torch.ones(3, 4)).mul(1e-3).sum().backward()
    scales = lft.telemetry(model).series("scale")
    assert scales[("", "W")].tolist() == [1.0, np.float32(448.0) / np.float32(weight_amax)]
    assert scales[("", "dy")].tolist() == [1.0, np.float32(57344.0) / np.float32(1e-3)]  # E5M2's max / amax


def test_current_scaling_uses_each_tensors_own_amax():
    model = lft.emulate(seeded(nn.Linear(4, 2)), "fp8", scaling=CurrentScaling())
    for amax in (2.0, 5.0):
        model(torch.full((1, 4), amax)).sum().backward()
    lft.emulation(model).end_step()
    used = lft.telemetry(model).series("scale", role="x")[("", "x")]
    assert used.tolist() == [CurrentScaling().scale_for(2.0, 448.0), CurrentScaling().scale_for(5.0, 448.0)]


def test_evaluation_uses_the_scales_but_records_nothing():
    model = lft.emulate(seeded(nn.Linear(4, 2)), "fp8", scaling="delayed")
    model(torch.ones(2, 4)).sum().backward()
    model.eval()
    with torch.no_grad():
        model(torch.full((2, 4), 100.0))  # ends the training step; does not record its amax 100
    model.train()
    model(torch.ones(2, 4)).sum().backward()
    model.eval()
    model(torch.ones(2, 4))
    lft.emulation(model).end_step()  # ended already by the evaluation: nothing happens
    telemetry = lft.telemetry(model)
    assert len(telemetry.steps) == 2
    assert telemetry.series("scale", role="x")[("", "x")].tolist() == [1.0, 448.0]


# ---------------------------------------------------------------- telemetry


def test_telemetry_counts_what_each_cast_flushed_and_saturated_per_layer_and_role():
    model = lft.emulate(nn.Sequential(nn.Linear(3, 2, bias=False)), "fp16")
    x = torch.tensor([[1e-9, 1.0, 1e5], [2e-8, -3.0, 0.0]])
    model(x).sum().mul(1e-9).backward()
    counts = lft.telemetry(model).last().counts["0"]
    assert {k: counts["activation"][k] for k in ("elements", "nonzero", "overflow", "underflow")} == {
        "elements": 6, "nonzero": 5, "overflow": 1, "underflow": 2}  # fmt: skip
    assert counts["activation"]["amax"] == 1e5
    assert counts["activation_grad"]["underflow"] == 4  # dL/dy = 1e-9 each: below float16's smallest subnormal


def test_telemetry_table_series_and_totals_describe_the_finished_steps():
    model = lft.emulate(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)), "fp8")
    for _ in range(3):
        model(randn(8, 4, seed=18)).sum().mul(1e-6).backward()
    telemetry = lft.telemetry(model)
    assert telemetry.last() is not None and len(telemetry.steps) == 2
    lft.emulation(model).end_step()
    table = telemetry.table().splitlines()
    assert table[0].split() == ["layer", "role", "elements", "flushed", "overflow", "amax", "scale"]
    assert [row.split()[:2] for row in table[1:]] == [[layer, role] for layer in ("0", "2")
                                                      for role in ("activation", "weight", "activation_grad")]
    shares = telemetry.series("underflow", role="activation_grad")
    assert set(shares) == {("0", "activation_grad"), ("2", "activation_grad")}
    assert shares[("2", "activation_grad")].size == 3
    assert telemetry.flushed_grad_fraction == 1.0  # 1e-6 is below E5M2's range (2**-16), unscaled
    assert telemetry.totals()["activation_grad"]["elements"] == 3 * (8 * 4 + 8 * 2)
    assert telemetry.layers() == ["0", "2"]


def test_plot_telemetry_draws_one_line_per_layer_and_role():
    model = lft.emulate(nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2)), "fp8", scaling="delayed")
    for _ in range(4):
        model(randn(8, 4, seed=19)).sum().backward()
    fig = plot.telemetry(lft.telemetry(model), "scale", role="x")
    assert [line.get_label() for line in fig.axes[0].lines] == ["0 x", "1 x"]
    with pytest.raises(ValueError, match="counter must be one of"):
        plot.telemetry(lft.telemetry(model), "flushed")


# ---------------------------------------------------------------- loss scaling and master weights


def _fp16_steps(make_scaler, spike_at=3, steps=6):
    """Train an emulated fp16 model a few steps (one of them overflowing); the losses, scales and weights."""
    model = lft.emulate(seeded(nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))), "fp16")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = make_scaler()
    scales = []
    for step in range(steps):
        x = randn(5, 6, seed=20 + step) * (1e4 if step == spike_at else 1.0)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), torch.arange(5) % 3)
        scales.append(scaler.get_scale())
        scaler.scale(loss * 2.0**-10).backward()
        scaler.step(optimizer)
        scaler.update()
    return scales, [p.detach().clone() for p in model.parameters()]


def test_torch_grad_scaler_works_unchanged_and_lowfloat_dynamic_loss_scaler_gives_the_same_steps():
    torch_scales, torch_weights = _fp16_steps(lambda: torch.amp.GradScaler("cpu", growth_interval=2))
    ours_scales, ours_weights = _fp16_steps(lambda: LossScaler(DynamicLossScaler(growth_interval=2)))
    assert torch_scales == ours_scales == [65536.0, 65536.0, 131072.0, 131072.0, 65536.0, 65536.0]  # step 3 skipped
    for a, b in zip(torch_weights, ours_weights, strict=True):
        assert torch.equal(a, b)


def test_loss_scaler_refuses_a_second_unscale_and_a_foreign_scaler():
    scaler = LossScaler()
    optimizer = torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=1.0)
    scaler.unscale_(optimizer)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(optimizer)
    with pytest.raises(TypeError, match="DynamicLossScaler"):
        LossScaler(torch.amp.GradScaler("cpu"))


def test_round_updates_keeps_bf16_pure_weights_and_moments_on_the_bfloat16_grid():
    model = lft.emulate(seeded(nn.Linear(8, 4)), "bf16-pure")
    bf16 = lf.get_format("bf16")
    for parameter in model.parameters():  # the master weights start on the grid
        assert np.array_equal(parameter.detach().numpy(), lf.quantize(parameter.detach().numpy(), bf16))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    handle = lft.round_updates(optimizer, model)
    for step in range(3):
        model(randn(4, 8, seed=30 + step)).sum().backward()
        optimizer.step()
    for parameter in model.parameters():
        assert np.array_equal(parameter.detach().numpy(), lf.quantize(parameter.detach().numpy(), bf16))
        state = optimizer.state[parameter]
        assert np.array_equal(state["exp_avg"].numpy(), lf.quantize(state["exp_avg"].numpy(), bf16))
        assert float(state["step"]) == 3.0  # a counter, not a moment: never rounded
    handle.remove()


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: lft.emulate("model", "fp8"), TypeError, "model must be a torch.nn.Module"),
    (lambda: lft.emulate(nn.Linear(2, 2), "fp9"), ValueError, "unknown recipe 'fp9'; expected one of fp32, fp16"),
    (lambda: lft.emulate(nn.Linear(2, 2), 8), TypeError, "policy must be a name"),
    (lambda: lft.emulate(nn.Linear(2, 2), "fp8", scaling="late"), ValueError, "scaling must be None, 'delayed'"),
    (lambda: lft.emulate(nn.Linear(2, 2).double(), "fp8"), ValueError, "float32 parameters"),
    (lambda: lft.emulate(nn.LazyLinear(2), "fp8"), ValueError, "uninitialized"),
    (lambda: lft.emulate(lft.emulate(nn.Sequential(nn.Linear(2, 2)), "fp8"), "fp8"), ValueError, "emulated already"),
    (lambda: lft.emulate(nn.Linear(2, 2), "fp8", exclude="0"), TypeError, "exclude must be a list"),
    (lambda: lft.telemetry(nn.Linear(2, 2)), ValueError, "model is not emulated"),
    (lambda: lft.emulate(nn.Conv2d(2, 2, 1, groups=2), "fp8", accumulate="bf16"), ValueError, "groups=1"),
    (lambda: Recipe(weight="fp9"), ValueError, "Recipe.weight"),
    (lambda: Recipe(promote_every=0), ValueError, "Recipe.promote_every"),
    (lambda: lft.round_updates("sgd", lft.emulate(nn.Linear(2, 2), "bf16-pure")), TypeError, "torch.optim.Optimizer"),
])  # fmt: skip
def test_bad_calls_are_refused_with_a_message_naming_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_recipes_from_lowfloat_train_presets_cast_each_role_into_the_policys_format():
    for name in ("fp32", "fp16", "bf16", "fp8", "bf16-pure"):
        policy, recipe = get_policy(name), lft.get_recipe(name)
        for role in ("weight", "activation", "activation_grad", "weight_grad"):
            assert getattr(recipe, role).fmt == getattr(policy, role)
            assert getattr(recipe, role).overflow == policy.overflow
        assert (recipe.master, recipe.optimizer_state) == (policy.master, policy.optimizer_state)
    assert lft.get_recipe("fp8").activation_grad.name == "float8_e5m2"  # HYBRID
