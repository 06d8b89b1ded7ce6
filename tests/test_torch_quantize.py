"""lowfloat.torch.Cast and Quantize: the forward cast is lowfloat's, bit for bit; the gradient passes straight through.

Oracles: lowfloat.quantize, scaled_quantize, block_quantize and mx_quantize on
NumPy arrays (the forward); the identity's Jacobian and finite differences
of the function the cast feeds (the backward); lowfloat.quantize of the
incoming gradient (the gradient format).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
from conftest import assert_same_values, reals_for
from hypothesis import given
from hypothesis import strategies as st

import lowfloat as lf
from lowfloat.torch import Cast, Quantize
from lowfloat.torch.fakequant import fake_quantize

SIGNED = [name for name, fmt in lf.BUILTIN_FORMATS.items() if fmt.signed]
DETERMINISTIC = list(lf.DETERMINISTIC_MODES)


def overflow_policies(fmt) -> list:
    fmt = lf.get_format(fmt)
    return [None, "saturate"] + (["inf"] if fmt.has_inf else []) + (["nan"] if fmt.has_nan else [])


def quantized(x: torch.Tensor, cast, grad=None, zero_outside=False) -> torch.Tensor:
    return Quantize.apply(x, cast, grad, zero_outside)


def randn(*shape, seed=0, scale=1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * scale


# ---------------------------------------------------------------- forward: lowfloat's rounding, bit for bit


@given(data=st.data(), name=st.sampled_from(SIGNED), rounding=st.sampled_from(DETERMINISTIC))
def test_forward_of_an_unscaled_cast_equals_lowfloat_quantize_bit_for_bit(data, name, rounding):
    overflow = data.draw(st.sampled_from(overflow_policies(name)))
    values = data.draw(st.lists(reals_for(name, width=32), min_size=1, max_size=40))
    x = torch.tensor(values, dtype=torch.float32)
    expected = lf.quantize(x.numpy(), name, rounding=rounding, overflow=overflow)
    with np.errstate(invalid="ignore"):
        assert_same_values(quantized(x, Cast(name, rounding=rounding, overflow=overflow)).numpy(), expected,
                           inputs=x.numpy())  # fmt: skip


def test_forward_of_a_float64_tensor_is_rounded_once_from_float64():
    # 1 + 2**-4 + 2**-30 rounds up to 1.125 in E4M3; through float32 it would tie down to 1.0 (double rounding)
    x = torch.tensor([1 + 2**-4 + 2**-30], dtype=torch.float64)
    y = quantized(x, "e4m3")
    assert y.dtype == torch.float64 and y.tolist() == [1.125]


def test_forward_with_a_per_tensor_scale_multiplies_rounds_and_divides_as_lowfloat_train():
    x = randn(64, seed=1, scale=3.0)
    quant_scale = 448.0 / 7.5
    values, _ = fake_quantize(x, Cast("e4m3", overflow="saturate"), quant_scale=quant_scale)
    scaled = x.numpy() * np.float32(quant_scale)
    expected = lf.quantize(scaled, "e4m3", overflow="saturate") * np.float32(1 / quant_scale)
    assert_same_values(values.numpy(), expected)


@pytest.mark.parametrize("fmt", ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8"])
@pytest.mark.parametrize("axis", [-1, 0])
def test_forward_of_an_mx_cast_equals_mx_quantize_dequantized(fmt, axis):
    x = randn(40, 70, seed=2, scale=5.0)
    expected = lf.mx_quantize(x.numpy(), fmt, axis=axis).dequantize()
    assert_same_values(quantized(x, Cast(fmt, axis=axis)).numpy(), expected)


@pytest.mark.parametrize("scale_rounding", ["ceil", "floor", "nearest"])
def test_forward_of_an_mx_cast_follows_its_scale_rounding(scale_rounding):
    x = randn(4, 64, seed=3, scale=100.0)
    expected = lf.mx_quantize(x.numpy(), "mxfp8_e4m3", scale_rounding=scale_rounding).dequantize()
    assert_same_values(quantized(x, Cast("mxfp8_e4m3", scale_rounding=scale_rounding)).numpy(), expected)


def test_forward_of_an_nvfp4_cast_equals_nvfp4_quantize_dequantized():
    x = randn(8, 48, seed=4, scale=2.0)
    assert_same_values(quantized(x, "nvfp4").numpy(), lf.nvfp4_quantize(x.numpy()).dequantize())


@pytest.mark.parametrize(("cast", "reference"), [
    (Cast("int8", scaling="channel", axis=0), lambda a: lf.scaled_quantize(a, "int8", axis=0).dequantize()),
    (Cast("int8", scaling="tensor"), lambda a: lf.scaled_quantize(a, "int8").dequantize()),
    (Cast("e4m3", scaling="tensor", margin=1), lambda a: lf.scaled_quantize(a, "e4m3", margin=1).dequantize()),
    (Cast("int8", scaling="tensor", scale=0.05), lambda a: lf.scaled_quantize(a, "int8", scale=0.05).dequantize()),
    (Cast("e5m2", scaling="channel", axis=1, power_of_two=True),
     lambda a: lf.scaled_quantize(a, "e5m2", axis=1, power_of_two=True).dequantize()),
    (Cast("e4m3", scaling="block", block_size=(16, 16), scale_fmt="e8m0"),
     lambda a: lf.block_quantize(a, "e4m3", block_size=(16, 16), scale_fmt="e8m0").dequantize()),
    (Cast("int4", scaling="block", block_size=8),
     lambda a: lf.block_quantize(a, "int4", block_size=8).dequantize()),
])  # fmt: skip
def test_forward_of_a_scaled_cast_equals_lowfloat_scaled_and_block_quantize(cast, reference):
    x = randn(24, 40, seed=5, scale=4.0)
    assert_same_values(quantized(x, cast).numpy(), reference(x.numpy()))


def test_forward_of_a_strided_view_reads_its_values_not_its_memory_order():
    base = randn(16, 32, seed=6)
    view = base.T[::2]  # (16, 16), neither contiguous nor dense
    expected = lf.mx_quantize(view.contiguous().numpy(), "mxfp4").dequantize()
    assert_same_values(quantized(view, "mxfp4").numpy(), expected)


def test_forward_of_a_bfloat16_tensor_stays_bfloat16_for_a_format_it_holds():
    x = torch.tensor([0.1, 3.3, 600.0], dtype=torch.bfloat16)
    y = quantized(x, Cast("e4m3", overflow="saturate"))
    assert y.dtype == torch.bfloat16 and y.tolist() == [0.1015625, 3.25, 448.0]


def test_forward_of_a_float32_tensor_allocates_only_its_result():
    # the input is read through a NumPy view of its memory: the only new array is the result (16 MiB)
    x = randn(1 << 22, seed=7)
    quantized(x, "e4m3")  # compile and warm up outside the measurement
    tracemalloc.start()
    try:
        quantized(x, "e4m3")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert x.numel() * 4 <= peak < 1.25 * x.numel() * 4


def test_forward_result_does_not_alias_its_input_even_when_nothing_changes():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = quantized(x, "float32")
    assert y.tolist() == [1.0, 2.0] and y.data_ptr() != x.data_ptr()


# ---------------------------------------------------------------- backward: straight through


@pytest.mark.parametrize("cast", ["e4m3", "fp16", "mxfp4", Cast("int8", scaling="channel", axis=0), "nvfp4", None])
def test_gradient_passes_straight_through_unchanged(cast):
    x = randn(6, 32, seed=8, scale=3.0).requires_grad_()
    upstream = randn(6, 32, seed=9)
    quantized(x, cast).backward(upstream)
    assert torch.equal(x.grad, upstream)


def test_gradient_of_a_function_of_the_cast_is_its_gradient_at_the_rounded_point_by_finite_differences():
    # straight through: d f(Q(x)) / dx = f'(Q(x)); f'(Q(x)) checked by central differences in float64
    x = (randn(12, seed=10, scale=2.0)).double().requires_grad_()
    weights = torch.linspace(-1.0, 2.0, 12, dtype=torch.float64)

    def f(v):
        return (weights * torch.tanh(v) + 0.5 * v**2).sum()

    f(quantized(x, "e4m3")).backward()
    q = quantized(x.detach(), "e4m3")
    step = 1e-6
    unit = torch.eye(12, dtype=torch.float64)
    numeric = torch.stack([(f(q + step * e) - f(q - step * e)) / (2 * step) for e in unit])
    torch.testing.assert_close(x.grad, numeric, rtol=1e-8, atol=1e-8)
    assert not torch.allclose(x.grad, weights / torch.cosh(x.detach()) ** 2 + x.detach())  # not f'(x): Q moved x


def test_gradient_is_rounded_into_the_gradient_format():
    x = randn(200, seed=13).requires_grad_()
    upstream = randn(200, seed=14, scale=1e-3)
    quantized(x, "e4m3", "e5m2").backward(upstream)
    assert_same_values(x.grad.numpy(), lf.quantize(upstream.numpy(), "e5m2"))
    assert not torch.equal(x.grad, upstream)


def test_gradient_format_may_be_a_block_cast():
    x = randn(4, 64, seed=15).requires_grad_()
    upstream = randn(4, 64, seed=16)
    quantized(x, None, "mxfp8_e5m2").backward(upstream)
    assert_same_values(x.grad.numpy(), lf.mx_quantize(upstream.numpy(), "mxfp8_e5m2").dequantize())


def test_zero_outside_zeroes_the_gradient_where_the_cast_saturated():
    x = torch.tensor([0.1, -3.0, 500.0, -1e6, 440.0], requires_grad=True)
    quantized(x, Cast("e4m3", overflow="saturate"), None, True).backward(torch.ones(5))
    assert x.grad.tolist() == [1.0, 1.0, 0.0, 0.0, 1.0]


def test_zero_outside_of_an_mx_cast_with_the_clipping_floor_rule():
    # OCP's rule keeps 500's exponent: X = 1, and 500 clips to 448; the ceil rule (X = 2) clips nothing
    x = torch.tensor([500.0, 1.0, 3.0, 0.5], requires_grad=True)
    quantized(x, Cast("mxfp8_e4m3", scale_rounding="floor"), None, True).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0]
    x.grad = None
    quantized(x, Cast("mxfp8_e4m3"), None, True).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0, 1.0]


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: Cast("fp9"), ValueError, "Cast.fmt: unknown format 'fp9'"),
    (lambda: Cast("int8"), ValueError, "int8 needs scaling="),
    (lambda: Cast("e8m0"), ValueError, "unsigned"),
    (lambda: Cast("mxfp4", scaling="channel"), ValueError, "mxfp4 is a block format"),
    (lambda: Cast("e4m3", scaling="tensor", rounding="toward_zero"), ValueError, "rounds to nearest even"),
    (lambda: Cast("e4m3", overflow="inf"), ValueError, "has no infinity"),
    (lambda: Cast("e4m3", rounding="sideways"), ValueError, "Cast.rounding must be one of"),
    (lambda: Cast("e4m3", scaling="per-row"), ValueError, "Cast.scaling must be one of"),
    (lambda: Cast("e4m3", block_size=32), ValueError, "block_size applies to scaling='block'"),
    (lambda: Cast("e4m3", scaling="block"), ValueError, "needs a block_size"),
    (lambda: Cast("nvfp4", scale_rounding="floor"), ValueError, "scale_rounding applies"),
    (lambda: Cast("e4m3", margin=2), ValueError, "margin and Cast.power_of_two apply"),
    (lambda: Cast("mxfp8_e4m3", scale_fmt="e8m0"), ValueError, "scale_fmt applies"),
    (lambda: Cast("e4m3", axis=1.5), ValueError, "Cast.axis must be an int"),
    (lambda: Cast("int8", scaling="channel", scale=0.1), ValueError, "applies to scaling='tensor'"),
    (lambda: Cast("int8", scaling="tensor", scale=-1.0), ValueError, "positive finite"),
    (lambda: Cast("int8", scaling="tensor", scale=0.1, margin=1), ValueError, "not a fixed Cast.scale"),
])  # fmt: skip
def test_bad_cast_is_refused_naming_the_field(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: quantized(np.float32([1.0]), "e4m3"), TypeError, "x must be a torch.Tensor"),
    (lambda: quantized(torch.tensor([1, 2]), "e4m3"), TypeError, "floating tensor"),
    (lambda: quantized(torch.ones(2, dtype=torch.bfloat16), "fp16"), ValueError, "cannot hold every float16"),
    (lambda: quantized(torch.ones(32, dtype=torch.float16), "mxfp4"), ValueError, "pass a float32 tensor"),
    (lambda: quantized(torch.ones(2), 3), TypeError, "cast must be a lowfloat.torch.Cast"),
    (lambda: quantized(torch.ones(2), "e4m3", 3.5), TypeError, "grad must be a lowfloat.torch.Cast"),
    (lambda: quantized(torch.ones(2), "e4m3", None, 1), TypeError, "zero_outside must be True or False"),
    (lambda: fake_quantize(torch.ones(2), Cast("e4m3"), quant_scale=0.0), ValueError, "positive finite"),
    (lambda: fake_quantize(torch.ones(32), Cast("mxfp4"), quant_scale=2.0), ValueError, "scales itself"),
])  # fmt: skip
def test_bad_input_is_refused_with_a_message_naming_it(call, error, message):
    with pytest.raises(error, match=message):
        call()
