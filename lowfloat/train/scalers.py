"""Loss scaling and per-tensor scaling, in PyTorch's and Transformer Engine's vocabulary.

Loss scalers multiply the loss (hence every gradient) by ``scale`` before the
backward pass, so that small gradients survive a narrow format, and divide
the weight gradients by it afterwards:

* :class:`DynamicLossScaler` -- ``torch.amp.GradScaler``'s rule exactly.
* :class:`StaticLossScaler` -- a fixed scale; steps with inf/NaN gradients are skipped.
* :class:`NoLossScaling` -- scale 1, nothing skipped (plain training).

Per-tensor scaling (FP8) multiplies each tensor by its own scale before the
cast and divides afterwards, so that its largest magnitude lands near the
format's largest value:

* :class:`DelayedScaling` -- Transformer Engine's recipe: the scale comes
  from a history of earlier amaxes and is used from the next step on.
* :class:`CurrentScaling` -- the scale comes from the tensor being cast.

Scales are float32 numbers, as in both libraries (their scale lives in a
float32 tensor), and every update is computed in float32.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DynamicLossScaler",
    "StaticLossScaler",
    "NoLossScaling",
    "DelayedScaling",
    "CurrentScaling",
    "delayed_scale",
    "SCALERS",
    "TENSOR_SCALINGS",
    "AMAX_COMPUTE_ALGOS",
]

#: Loss scalers by name: none (:class:`NoLossScaling`), static, dynamic.
SCALERS = ("none", "static", "dynamic")
#: Per-tensor scaling by name: none, delayed (:class:`DelayedScaling`), current (:class:`CurrentScaling`).
TENSOR_SCALINGS = ("none", "delayed", "current")
#: How :class:`DelayedScaling` turns an amax history into one amax.
AMAX_COMPUTE_ALGOS = ("max", "most_recent")

_FLOAT32_MAX = np.float32(np.finfo(np.float32).max)


def _positive(name, value, *, cls):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value > 0:
        raise ValueError(f"{cls}.{name} must be a positive number, got {value!r}")
    if not float(value) <= float(_FLOAT32_MAX):
        raise ValueError(f"{cls}.{name} must be finite in float32, got {value!r}")
    return np.float32(value)


class NoLossScaling:
    """No loss scaling: scale 1, and no step is ever skipped.

    Non-finite gradients reach the weights, as in plain training.

    Examples
    --------
    >>> from lowfloat.train import NoLossScaling
    >>> s = NoLossScaling()
    >>> s.scale, s.update(True), s.scale
    (1.0, None, 1.0)
    """

    skips_nonfinite = False

    @property
    def scale(self) -> float:
        """The current loss scale (always 1)."""
        return 1.0

    def update(self, found_inf: bool) -> None:
        """Nothing changes."""


class StaticLossScaler:
    """A constant loss scale; a step whose gradients hold inf or NaN is skipped.

    Parameters
    ----------
    scale : float
        The loss scale, positive and finite in float32.

    Raises
    ------
    ValueError
        ``scale`` is not a positive finite number.

    Examples
    --------
    >>> from lowfloat.train import StaticLossScaler
    >>> s = StaticLossScaler(1024)
    >>> s.update(True); s.scale
    1024.0
    """

    skips_nonfinite = True

    def __init__(self, scale: float):
        self._scale = _positive("scale", scale, cls="StaticLossScaler")

    @property
    def scale(self) -> float:
        """The loss scale."""
        return float(self._scale)

    def update(self, found_inf: bool) -> None:
        """The scale never changes."""

    def __repr__(self):
        return f"StaticLossScaler(scale={self.scale!r})"


class DynamicLossScaler:
    """``torch.amp.GradScaler``'s dynamic loss scale.

    Parameters
    ----------
    init_scale : float
        Starting scale (default 2**16).
    growth_factor : float
        Multiplier after ``growth_interval`` consecutive clean steps (> 1).
    backoff_factor : float
        Multiplier after a step with inf/NaN gradients (between 0 and 1).
    growth_interval : int
        Clean steps before the scale grows.

    Raises
    ------
    ValueError
        A parameter out of range (the message names it).

    Notes
    -----
    The rule of GradScaler's ``_amp_update_scale_`` (PyTorch, aten
    ``AmpKernels``), in float32:

    1. If the step found inf/NaN in the scaled gradients, the step is skipped,
       ``scale *= backoff_factor`` and the growth tracker resets to 0.
    2. Otherwise the tracker counts the step; when it reaches
       ``growth_interval`` the scale is multiplied by ``growth_factor`` --
       unless the product would be infinite, then it is kept -- and the
       tracker resets.

    There is no minimum scale.

    Examples
    --------
    >>> from lowfloat.train import DynamicLossScaler
    >>> s = DynamicLossScaler(init_scale=8.0, growth_interval=2)
    >>> scales = []
    >>> for found_inf in [False, False, False, True, False, False]:
    ...     scales.append(s.scale)
    ...     s.update(found_inf)
    >>> scales
    [8.0, 8.0, 16.0, 16.0, 8.0, 8.0]
    >>> s.scale
    16.0
    """

    skips_nonfinite = True

    def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
        cls = "DynamicLossScaler"
        self._scale = _positive("init_scale", init_scale, cls=cls)
        self.growth_factor = _positive("growth_factor", growth_factor, cls=cls)
        if not self.growth_factor > 1:
            raise ValueError(f"{cls}.growth_factor must be > 1, got {growth_factor!r}")
        self.backoff_factor = _positive("backoff_factor", backoff_factor, cls=cls)
        if not self.backoff_factor < 1:
            raise ValueError(f"{cls}.backoff_factor must be < 1, got {backoff_factor!r}")
        if isinstance(growth_interval, bool) or not isinstance(growth_interval, (int, np.integer)) \
                or growth_interval < 1:  # fmt: skip
            raise ValueError(f"{cls}.growth_interval must be a positive int, got {growth_interval!r}")
        self.growth_interval = int(growth_interval)
        self.growth_tracker = 0

    @property
    def scale(self) -> float:
        """The scale to use for the next step."""
        return float(self._scale)

    def update(self, found_inf: bool) -> None:
        """Advance by one step that did (True) or did not (False) find inf/NaN gradients."""
        if found_inf:
            self._scale = np.float32(self._scale * self.backoff_factor)
            self.growth_tracker = 0
            return
        self.growth_tracker += 1
        if self.growth_tracker == self.growth_interval:
            with np.errstate(over="ignore"):
                grown = np.float32(self._scale * self.growth_factor)
            if np.isfinite(grown):
                self._scale = grown
            self.growth_tracker = 0

    def __repr__(self):
        return (f"DynamicLossScaler(init_scale={self.scale!r}, growth_factor={float(self.growth_factor)!r}, "
                f"backoff_factor={float(self.backoff_factor)!r}, growth_interval={self.growth_interval})")  # fmt: skip


def delayed_scale(amax_history, scale, fmt_max, *, margin=0, amax_compute_algo="max"):
    """Transformer Engine's delayed-scaling formula for one tensor.

    Parameters
    ----------
    amax_history : array_like
        The amax history, most recent first (``amax_history[0]`` is the
        current step's amax).
    scale : float
        The scale in use, kept when the amax is 0 or not finite.
    fmt_max : float
        Largest finite value of the FP8 format (448 for E4M3, 57344 for E5M2).
    margin : int
        Extra headroom: the scale is divided by ``2**margin``.
    amax_compute_algo : {"max", "most_recent"}
        The amax of the whole history or of the current step.

    Returns
    -------
    numpy.float32
        ``fmt_max * 2**-margin / amax``; the old scale if amax is 0 or not
        finite; float32's largest value if the quotient is infinite.

    Notes
    -----
    Transformer Engine's ``amax_and_scale_update`` kernel
    (``transformer_engine/common/recipe/delayed_scaling.cu``), in float32.
    Its "max" is a chain of ``fmaxf`` starting from 0, so NaN entries are
    skipped.  (The kernel TE's PyTorch module uses for many tensors at once
    also skips rolling a history whose newest amax is 0; that variant is not
    reproduced.)

    Examples
    --------
    >>> from lowfloat.train.scalers import delayed_scale
    >>> float(delayed_scale([4.0, 0.5, 2.0], 1.0, 448.0))
    112.0
    >>> float(delayed_scale([0.0, 0.0], 7.0, 448.0))  # no information yet: keep the old scale
    7.0
    """
    history = np.asarray(amax_history, dtype=np.float32)
    # fmax, as CUDA's fmaxf: a NaN in the history is passed over, an inf is not
    amax = history[0] if amax_compute_algo == "most_recent" else np.fmax.reduce(history, initial=np.float32(0))
    scaled_max = np.float32(fmt_max) * np.float32(2.0**-margin)
    if np.isfinite(amax) and amax > 0:
        with np.errstate(over="ignore"):
            sf = np.float32(scaled_max / amax)
    else:
        sf = np.float32(scale)
    # an amax so small that the scale overflows float32: the largest float32 instead
    return _FLOAT32_MAX if np.isinf(sf) else sf


def _check_margin(margin, cls):
    if isinstance(margin, bool) or not isinstance(margin, (int, np.integer)) or margin < 0:
        raise ValueError(f"{cls}.margin must be a non-negative int, got {margin!r}")
    return int(margin)


class DelayedScaling:
    """Transformer Engine's delayed per-tensor scaling recipe.

    Each tensor (a key such as ``("layer0", "weight")``) keeps an amax
    history of ``amax_history_len`` steps and a float32 scale.  Casting
    multiplies by the scale; after the step :meth:`update` recomputes every
    scale from its history and rolls the history.  The new scale is first
    used in the following step.

    Parameters
    ----------
    margin : int
        Headroom: scales are divided by ``2**margin``.
    amax_history_len : int
        Number of steps the history keeps.
    amax_compute_algo : {"max", "most_recent"}
        How the history becomes one amax.

    Raises
    ------
    ValueError
        A parameter out of range (the message names it).

    Notes
    -----
    As ``transformer_engine.common.recipe.DelayedScaling`` with its
    default scale-update function: the scale starts at 1 and the history at
    zeros; at the end of each step ``scale = fmt_max / amax / 2**margin``
    (:func:`delayed_scale`), then the history rolls by one so that slot 0
    receives the next step's amax.

    Examples
    --------
    The trace of an E4M3 tensor with history length 4:

    >>> from lowfloat.train import DelayedScaling
    >>> recipe = DelayedScaling(amax_history_len=4)
    >>> used = []
    >>> for amax in [1, 2, 4, 0.5, 0.5, 0.5, 0.5, 0.5]:
    ...     used.append(recipe.scale("x"))
    ...     recipe.record("x", amax, 448.0)
    ...     recipe.update()
    >>> used
    [1.0, 448.0, 224.0, 112.0, 112.0, 112.0, 112.0, 896.0]
    """

    delayed = True

    def __init__(self, margin=0, amax_history_len=1024, amax_compute_algo="max"):
        cls = "DelayedScaling"
        self.margin = _check_margin(margin, cls)
        if isinstance(amax_history_len, bool) or not isinstance(amax_history_len, (int, np.integer)) \
                or amax_history_len < 1:  # fmt: skip
            raise ValueError(f"{cls}.amax_history_len must be a positive int, got {amax_history_len!r}")
        self.amax_history_len = int(amax_history_len)
        if amax_compute_algo not in AMAX_COMPUTE_ALGOS:
            raise ValueError(f"{cls}.amax_compute_algo must be one of {', '.join(AMAX_COMPUTE_ALGOS)}, "
                             f"got {amax_compute_algo!r}")  # fmt: skip
        self.amax_compute_algo = amax_compute_algo
        self._history: dict = {}
        self._scales: dict = {}
        self._fmt_max: dict = {}

    def scale(self, key) -> float:
        """The scale this step's cast of tensor ``key`` uses (1 for a new tensor)."""
        return float(self._scales.get(key, np.float32(1.0)))

    def record(self, key, amax, fmt_max) -> None:
        """Store this step's amax of tensor ``key``, cast to a format whose largest value is ``fmt_max``."""
        if key not in self._history:
            self._history[key] = np.zeros(self.amax_history_len, np.float32)
            self._scales[key] = np.float32(1.0)
        self._history[key][0] = amax
        self._fmt_max[key] = fmt_max

    def update(self) -> None:
        """End of step: new scales from the histories, then roll every history."""
        for key, history in self._history.items():
            self._scales[key] = delayed_scale(history, self._scales[key], self._fmt_max[key], margin=self.margin,
                                              amax_compute_algo=self.amax_compute_algo)  # fmt: skip
            history[:] = np.roll(history, -1)
            history[0] = 0.0

    def __repr__(self):
        return (f"DelayedScaling(margin={self.margin}, amax_history_len={self.amax_history_len}, "
                f"amax_compute_algo={self.amax_compute_algo!r})")  # fmt: skip


class CurrentScaling:
    """Current (just-in-time) per-tensor scaling: the scale comes from the tensor itself.

    Parameters
    ----------
    margin : int
        Headroom: scales are divided by ``2**margin``.
    power_of_two : bool
        Round each scale down to a power of two (then scaling is exact).

    Examples
    --------
    >>> from lowfloat.train import CurrentScaling
    >>> CurrentScaling().scale_for(3.5, 448.0)
    128.0
    >>> CurrentScaling(power_of_two=True).scale_for(3.0, 448.0)  # 149.33 rounded down
    128.0
    >>> CurrentScaling().scale_for(0.0, 448.0)
    1.0
    """

    delayed = False

    def __init__(self, margin=0, power_of_two=False):
        self.margin = _check_margin(margin, "CurrentScaling")
        if not isinstance(power_of_two, bool):
            raise ValueError(f"CurrentScaling.power_of_two must be True or False, got {power_of_two!r}")
        self.power_of_two = power_of_two

    def scale_for(self, amax, fmt_max) -> float:
        """``fmt_max / amax / 2**margin``; 1 when amax is 0, inf or NaN."""
        # Transformer Engine's formula on a one-step history whose previous scale is 1
        sf = delayed_scale([amax], 1.0, fmt_max, margin=self.margin, amax_compute_algo="most_recent")
        if self.power_of_two:
            sf = np.float32(2.0 ** np.floor(np.log2(np.float64(sf))))
        return float(sf)

    def __repr__(self):
        return f"CurrentScaling(margin={self.margin}, power_of_two={self.power_of_two})"
