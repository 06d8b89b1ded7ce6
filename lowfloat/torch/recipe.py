"""Recipes: the :class:`~lowfloat.torch.Cast` of each tensor role of a layer, as a ``lowfloat.train.Policy`` says.

A :class:`lowfloat.train.Policy` names one *format* per role; block and
integer recipes need more (a scaling, an axis, a block size), so
:func:`lowfloat.torch.emulate` works from a :class:`Recipe`, one Cast per
role.  :func:`get_recipe` turns every preset of :mod:`lowfloat.train`
(``fp32``, ``fp16``, ``bf16``, ``fp8``, ``bf16-pure``) and any Policy into
one -- the same formats, the Policy's overflow on every cast -- and adds the
recipes a Policy cannot express (:data:`RECIPES`):

=========  ===========================================================================
``mxfp8``  MXFP8 (E4M3 elements, an E8M0 scale per 32) for weights, activations and
           activation gradients: Transformer Engine's ``MXFP8BlockScaling``, whose
           default is E4M3 in both passes
``mxfp4``  MXFP4 (E2M1 elements, an E8M0 scale per 32) for weights, activations and
           activation gradients
``nvfp4``  NVFP4 (E2M1 elements, an E4M3 scale per 16 and a float32 tensor scale) for
           weights, activations and activation gradients, as Transformer Engine's
           ``NVFP4BlockScaling`` (without its stochastic rounding of gradients and its
           random Hadamard transforms)
``int8``   symmetric INT8: weights with one scale per output channel, activations
           with one scale per tensor, computed from the tensor at hand (dynamic
           post-training quantization); gradients float32
=========  ===========================================================================

In the block recipes the blocks run along the dimension a matmul sums over;
the layers choose that axis (see :mod:`lowfloat.torch.layers`).  Weight
gradients, master weights and optimizer state are float32 in all four.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..formats import Format, get_format
from ..train.policy import PRESETS, Policy, get_policy
from .fakequant import Cast, as_cast

__all__ = ["Recipe", "RECIPES", "CAST_ROLES", "get_recipe", "recipe_names"]

#: The roles whose tensors a layer casts, in the order of a step.
CAST_ROLES = ("weight", "activation", "activation_grad", "weight_grad")

_FLOAT32 = get_format("float32")


@dataclass(frozen=True)
class Recipe:
    """The cast of each tensor role of a layer, and the formats of the rest of a step.

    Parameters
    ----------
    weight, activation, activation_grad, weight_grad : Cast, Format or str
        How each role's tensors are rounded (see :mod:`lowfloat.train.policy`
        for the roles); float32 by default.
    master, optimizer_state : Format or str
        The stored weights and the optimizer's state (float32: PyTorch's own;
        anything else is rounded after each optimizer step by
        :func:`lowfloat.torch.round_updates`).
    accumulator : Format or str
        float32 (default): PyTorch's matmul of the rounded operands.  Any
        other format: :func:`lowfloat.matmul`, every partial sum rounded (slow).
    promote_every : int, optional
        Restart the accumulator every N products, adding partial sums in float32.
    stochastic_update : bool
        Round weight updates into ``master`` stochastically.
    name : str

    Examples
    --------
    >>> from lowfloat.torch.recipe import get_recipe
    >>> r = get_recipe("fp8")
    >>> r.weight.describe(), r.activation_grad.describe()
    ('float8_e4m3fn, saturate', 'float8_e5m2, saturate')
    >>> print(get_recipe("int8").describe())
    int8: weight=int8 per channel along axis 0, activation=int8 per tensor
    """

    weight: Cast | Format | str = "float32"
    activation: Cast | Format | str = "float32"
    activation_grad: Cast | Format | str = "float32"
    weight_grad: Cast | Format | str = "float32"
    master: Format | str = "float32"
    optimizer_state: Format | str = "float32"
    accumulator: Format | str = "float32"
    promote_every: int | None = None
    stochastic_update: bool = False
    name: str = "custom"

    def __post_init__(self):
        for role in CAST_ROLES:
            try:
                object.__setattr__(self, role, as_cast(getattr(self, role), f"Recipe.{role}"))
            except ValueError as error:
                raise ValueError(f"Recipe.{role}: {error}") from None
        for role in ("master", "optimizer_state", "accumulator"):
            try:
                object.__setattr__(self, role, get_format(getattr(self, role)))
            except (ValueError, TypeError) as error:
                raise ValueError(f"Recipe.{role}: {error}") from None
        every = self.promote_every
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise ValueError(f"Recipe.promote_every must be None or a positive int, got {every!r}")
        if not isinstance(self.stochastic_update, bool):
            raise ValueError(f"Recipe.stochastic_update must be True or False, got {self.stochastic_update!r}")

    @classmethod
    def from_policy(cls, policy: Policy) -> Recipe:
        """The casts of a :class:`lowfloat.train.Policy`: its formats, its overflow policy on every cast."""
        casts = {role: Cast(getattr(policy, role), overflow=policy.overflow) for role in CAST_ROLES}
        return cls(**casts, master=policy.master, optimizer_state=policy.optimizer_state,
                   accumulator=policy.accumulator, promote_every=policy.promote_every,
                   stochastic_update=policy.stochastic_update, name=policy.name)  # fmt: skip

    def replace(self, **changes) -> Recipe:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def emulates_accumulator(self) -> bool:
        """Whether matmuls go through :func:`lowfloat.matmul` (a narrow accumulator or promotion)."""
        return self.accumulator.name != "float32" or self.promote_every is not None

    def describe(self) -> str:
        """One line: every role that is not float32."""
        parts = [f"{role}={getattr(self, role).describe()}" for role in CAST_ROLES
                 if not getattr(self, role).is_identity]  # fmt: skip
        parts += [f"{role}={getattr(self, role).name}" for role in ("master", "optimizer_state", "accumulator")
                  if getattr(self, role).name != "float32"]  # fmt: skip
        if self.promote_every is not None:
            parts.append(f"promote every {self.promote_every}")
        if self.stochastic_update:
            parts.append("stochastic update")
        return f"{self.name}: " + (", ".join(parts) if parts else "all float32")


#: The recipes a Policy cannot express (see the module docstring).
RECIPES = {
    "mxfp8": Recipe(weight="mxfp8_e4m3", activation="mxfp8_e4m3", activation_grad="mxfp8_e4m3", name="mxfp8"),
    "mxfp4": Recipe(weight="mxfp4", activation="mxfp4", activation_grad="mxfp4", name="mxfp4"),
    "nvfp4": Recipe(weight="nvfp4", activation="nvfp4", activation_grad="nvfp4", name="nvfp4"),
    "int8": Recipe(weight=Cast("int8", scaling="channel", axis=0), activation=Cast("int8", scaling="tensor"),
                   name="int8"),  # fmt: skip
}


def recipe_names() -> tuple:
    """Every name :func:`get_recipe` knows: the presets of :mod:`lowfloat.train`, then :data:`RECIPES`."""
    return (*PRESETS, *RECIPES)


def get_recipe(policy) -> Recipe:
    """A Recipe from a name, a :class:`lowfloat.train.Policy` or a Recipe.

    Raises
    ------
    ValueError
        An unknown name (the message lists the known ones).
    TypeError
        Anything else.
    """
    if isinstance(policy, Recipe):
        return policy
    if isinstance(policy, Policy):
        return Recipe.from_policy(policy)
    if isinstance(policy, str):
        if policy in RECIPES:
            return RECIPES[policy]
        if policy in PRESETS:
            return Recipe.from_policy(get_policy(policy))
        raise ValueError(f"policy: unknown recipe {policy!r}; expected one of {', '.join(recipe_names())}, "
                         "a lowfloat.train.Policy or a lowfloat.torch.Recipe")  # fmt: skip
    raise TypeError(f"policy must be a name, a lowfloat.train.Policy or a lowfloat.torch.Recipe, "
                    f"got {type(policy).__name__}")  # fmt: skip
