"""Precision policies: which format each tensor role is cast to.

A training step touches seven kinds of tensor.  A :class:`Policy` names the
format of each; the trainer casts every tensor of a role to that format with
:func:`lowfloat.quantize` at the point where real mixed-precision training
would store or read it.

=================== ==================================================================
role                where the cast happens
=================== ==================================================================
``weight``          forward: the weights (and biases) a matmul reads
``activation``      forward: the input of every Linear layer
``activation_grad`` backward: the gradient with respect to a Linear layer's output
``weight_grad``     backward: the gradient with respect to weights and biases
``master``          the stored weights, after the optimizer's update
``optimizer_state`` momentum and Adam moments, after each update
``accumulator``     the matmul accumulator: every partial sum is rounded into it
=================== ==================================================================

``promote_every`` sits beside ``accumulator``: with ``promote_every=N`` the
accumulator restarts every N products and each finished partial sum is added
into float32, as DeepSeek-V3 promotes the partial sums of its FP8 GEMMs out
of the tensor cores' 14-bit accumulator every 128 products.

The presets (:data:`PRESETS`):

``"fp32"``       everything float32.
``"fp16"``       float16 compute and gradients, float32 master weights and state.
``"bf16"``       the same with bfloat16.
``"fp8"``        Transformer Engine's HYBRID recipe: E4M3 (``float8_e4m3fn``) for
                 the forward tensors, E5M2 for activation gradients; weight
                 gradients, master weights and state float32; casts saturate.
``"bf16-pure"``  bfloat16 everywhere, master weights and optimizer state
                 included: the weights are updated in place, with no float32 copy.

Any preset combines with stochastic rounding of the weight update
(``stochastic_update=True``).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

from ..formats import Format, get_format
from ..rounding import OVERFLOW_POLICIES, check_overflow
from .settings import FLAG, OPTIONAL_POSITIVE_INT, TEXT, Kind, setting, validate

__all__ = ["Policy", "ROLES", "GRADIENT_ROLES", "PRESETS", "get_policy"]

#: The tensor roles a policy assigns a format to, in the order of a training step.
ROLES = ("weight", "activation", "activation_grad", "weight_grad", "master", "optimizer_state", "accumulator")

#: The roles that hold gradients (their underflow is what loss scaling prevents).
GRADIENT_ROLES = ("activation_grad", "weight_grad")


def _overflow_word(word: str):
    """``--overflow``: one of the policies, or ``default`` for each format's own (None)."""
    if word == "default":
        return None
    if word not in OVERFLOW_POLICIES:
        raise argparse.ArgumentTypeError(f"expected default or one of {', '.join(OVERFLOW_POLICIES)}, got {word!r}")
    return word


_FORMAT = Kind("a Format or a format name", lambda v: isinstance(v, (Format, str)), metavar="FORMAT")
_OVERFLOW = Kind(f"None or one of {', '.join(OVERFLOW_POLICIES)}",
                 lambda v: v is None or (isinstance(v, str) and v in OVERFLOW_POLICIES), parse=_overflow_word,
                 metavar="{" + ",".join(("default", *OVERFLOW_POLICIES)) + "}")  # fmt: skip


def _role(text: str):
    return setting("float32", _FORMAT, text, group="precision", flag="--{}-format")


@dataclass(frozen=True)
class Policy:
    """The format of each tensor role in a training step.

    Parameters
    ----------
    weight, activation, activation_grad, weight_grad, master, optimizer_state : Format or str
        Format of each role (see the module docstring); default float32.
    accumulator : Format or str
        Matmul accumulator.  float32 (default): numpy's float32 matmul of the
        rounded operands.  Any other format: :func:`lowfloat.matmul`, which
        forms each product exactly and rounds every partial sum into the
        accumulator (much slower).  Bias gradients are summed in float32.
    promote_every : int, optional
        With ``promote_every=N`` every matmul goes through
        :func:`lowfloat.matmul` with that ``promote_every``: the accumulator
        restarts every N products and its partial sums are added in float32.
        None (default): all K products in ``accumulator``.
    overflow : {None, "saturate", "inf", "nan"}
        Overflow policy of every cast (None: each format's default).
    stochastic_update : bool
        Round the updated weights into ``master`` stochastically instead of
        to nearest.
    name : str
        A label for tables.

    Raises
    ------
    ValueError
        Unknown format, or an overflow policy a role's format cannot follow;
        the message names the field.

    Examples
    --------
    >>> from lowfloat.train import Policy, get_policy
    >>> p = get_policy("fp8")
    >>> p.activation.name, p.activation_grad.name, p.overflow
    ('float8_e4m3fn', 'float8_e5m2', 'saturate')
    >>> Policy(weight="bf16", master="bf16").weight.name
    'bfloat16'
    >>> Policy(activation="fp9")
    Traceback (most recent call last):
    ...
    ValueError: Policy.activation: unknown format 'fp9'...
    >>> from lowfloat import Format
    >>> e8m13 = Format(exp_bits=8, man_bits=13, bias=127)  # Hopper's FP8 accumulator: 14 significant bits
    >>> q = p.replace(accumulator=e8m13, promote_every=128)
    >>> q.accumulator.man_bits, q.promote_every
    (13, 128)
    >>> Policy(promote_every=0)
    Traceback (most recent call last):
    ...
    ValueError: Policy.promote_every must be None or a positive int, got 0
    """

    weight: Format | str = _role("format of the weights (and biases) a matmul reads")
    activation: Format | str = _role("format of the input of every Linear layer")
    activation_grad: Format | str = _role("format of the gradient with respect to a Linear layer's output")
    weight_grad: Format | str = _role("format of the gradients with respect to weights and biases")
    master: Format | str = _role("format of the stored weights, after the optimizer's update")
    optimizer_state: Format | str = _role("format of momentum and Adam moments")
    accumulator: Format | str = _role("format every partial sum of a matmul is rounded into")
    promote_every: int | None = setting(None, OPTIONAL_POSITIVE_INT,
                                        "restart the accumulator every N products, adding the partial sums in float32",
                                        group="precision")  # fmt: skip
    overflow: str | None = setting(None, _OVERFLOW, "overflow policy of every cast; 'default': each format's own",
                                   group="precision")  # fmt: skip
    stochastic_update: bool = setting(False, FLAG, "round the weight update into the master format stochastically")
    name: str = setting("custom", TEXT, "a label for tables")

    def __post_init__(self):
        for role in ROLES:
            value = getattr(self, role)
            try:
                fmt = get_format(value)
            except (ValueError, TypeError) as error:
                raise ValueError(f"Policy.{role}: {error}") from None
            object.__setattr__(self, role, fmt)
        validate(self)
        if self.overflow is not None:
            for role in ROLES:
                try:
                    check_overflow(getattr(self, role), self.overflow)
                except ValueError as error:
                    raise ValueError(f"Policy.overflow: {error}") from None

    def replace(self, **changes) -> Policy:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """One line: the format of each role that is not float32."""
        parts = [f"{role}={getattr(self, role).name}" for role in ROLES if getattr(self, role).name != "float32"]
        if self.promote_every is not None:
            parts.append(f"promote every {self.promote_every}")
        if self.overflow:
            parts.append(f"overflow={self.overflow}")
        if self.stochastic_update:
            parts.append("stochastic update")
        return f"{self.name}: " + (", ".join(parts) if parts else "all float32")


def _low(fmt: str, name: str) -> dict:
    return dict(weight=fmt, activation=fmt, activation_grad=fmt, weight_grad=fmt, name=name)


#: The preset policies by name.
PRESETS = {
    "fp32": Policy(name="fp32"),
    "fp16": Policy(**_low("float16", "fp16")),
    "bf16": Policy(**_low("bfloat16", "bf16")),
    "fp8": Policy(weight="float8_e4m3fn", activation="float8_e4m3fn", activation_grad="float8_e5m2",
                  overflow="saturate", name="fp8"),  # fmt: skip
    "bf16-pure": Policy(**_low("bfloat16", "bf16-pure"), master="bfloat16", optimizer_state="bfloat16"),
}


def get_policy(policy, *, stochastic_update: bool | None = None) -> Policy:
    """A preset by name, or a Policy as it is; optionally with stochastic weight updates.

    Parameters
    ----------
    policy : str or Policy
        One of :data:`PRESETS` (``"fp32"``, ``"fp16"``, ``"bf16"``, ``"fp8"``,
        ``"bf16-pure"``) or a :class:`Policy`.
    stochastic_update : bool, optional
        Override the policy's ``stochastic_update``.

    Raises
    ------
    ValueError
        Unknown preset name.

    Examples
    --------
    >>> from lowfloat.train import get_policy
    >>> p = get_policy("bf16-pure", stochastic_update=True)
    >>> p.master.name, p.stochastic_update
    ('bfloat16', True)
    """
    if isinstance(policy, Policy):
        result = policy
    elif isinstance(policy, str) and policy in PRESETS:
        result = PRESETS[policy]
    else:
        raise ValueError(f"policy: unknown preset {policy!r}; expected one of {', '.join(PRESETS)} or a Policy")
    if stochastic_update is not None and stochastic_update != result.stochastic_update:
        result = result.replace(stochastic_update=bool(stochastic_update))
    return result
