"""Pictures of formats: where their values lie, how large the rounding error is, what a tensor loses, what casts did.

matplotlib is an optional dependency (``pip install "lowfloat[plot]"``),
imported only when a plot is drawn; ``import lowfloat`` never imports it.
Each function returns a :class:`matplotlib.figure.Figure` built without
pyplot, so nothing accumulates in pyplot's global list of figures; in a
notebook the figure shows when it is the cell's result, and
``fig.savefig("name.png")`` writes it to a file.
"""

from __future__ import annotations

import numpy as np

from .arrays import as_real_array
from .codec import quantize
from .codetable import table
from .formats import get_format

__all__ = ["number_line", "rounding_error", "histogram", "telemetry"]

_FIGURE_WIDTH = 8.0  # inches
_SUBNORMAL_COLOUR = "tab:orange"
_NORMAL_COLOUR = "tab:blue"
_LOSS_COLOUR = "tab:red"


def _figure(height: float):
    """A new Figure, or ImportError saying how to install matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "lowfloat's plots need matplotlib, which is not installed: pip install 'lowfloat[plot]'"
        ) from None
    return Figure(figsize=(_FIGURE_WIDTH, height), layout="constrained")


def _formats(formats) -> list:
    """One format or a list of them, as a list of Formats."""
    if isinstance(formats, (str, bytes)) or not hasattr(formats, "__iter__"):
        formats = [formats]
    formats = [get_format(fmt) for fmt in formats]
    if not formats:
        raise ValueError("formats is empty; give at least one format")
    return formats


def number_line(formats):
    """The positive values of one or several formats on a logarithmic number line.

    Each format gets a row: a tick at every positive finite value (for
    formats of at most 16 bits; wider ones show their ranges only), a bar
    over the normal range and a lighter bar over the subnormal range.

    Parameters
    ----------
    formats : Format, str or list of them

    Returns
    -------
    matplotlib.figure.Figure
        One axes; per format one tick collection (at most 16 bits) and one
        bar per range (normal, and subnormal where the format has them).

    Raises
    ------
    ImportError
        matplotlib is not installed.
    ValueError
        An unknown format, or an empty list.

    Examples
    --------
    >>> from lowfloat import plot
    >>> fig = plot.number_line(["e4m3", "e5m2", "fp16"])
    >>> ax = fig.axes[0]
    >>> len(ax.collections), len(ax.patches), ax.get_xscale()
    (3, 6, 'log')
    """
    formats = _formats(formats)
    fig = _figure(1.0 + 0.6 * len(formats))
    ax = fig.add_subplot()
    for row, fmt in enumerate(formats):
        if fmt.has_subnormals:
            ax.barh(row, fmt.smallest_normal - fmt.smallest_subnormal, left=fmt.smallest_subnormal, height=0.7,
                    color=_SUBNORMAL_COLOUR, alpha=0.25, label="subnormal range" if row == 0 else None)  # fmt: skip
        ax.barh(row, fmt.max - fmt.smallest_normal, left=fmt.smallest_normal, height=0.7, color=_NORMAL_COLOUR,
                alpha=0.15, label="normal range" if row == 0 else None)  # fmt: skip
        if fmt.bits <= 16:
            values = table(fmt)["value"]
            positive = values[np.isfinite(values) & (values > 0)]
            ax.eventplot(positive, lineoffsets=row, linelengths=0.6, linewidths=0.5, colors="black")
    ax.set_xscale("log", base=2)
    ax.set_xlim(min(fmt.smallest_subnormal for fmt in formats) / 2, max(fmt.max for fmt in formats) * 2)
    ax.set_yticks(range(len(formats)), [fmt.name for fmt in formats])
    ax.set_ylim(-0.6, len(formats) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel("positive values (log scale)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    ax.set_title("Representable values")
    return fig


def rounding_error(formats, *, rounding: str = "nearest_even", points_per_binade: int = 64):
    """The relative rounding error ``|q(x) - x| / x`` across each format's range.

    ``x`` runs through ``points_per_binade`` geometrically spaced values per
    power of two, from the smallest subnormal to the largest value; each is
    rounded by :func:`lowfloat.quantize`.  In the normal range the error
    stays below the unit roundoff (``eps/2`` for round-to-nearest, ``eps``
    for the directed modes, drawn dashed); in the subnormal range it grows
    toward 1.

    Parameters
    ----------
    formats : Format, str or list of them
    rounding : str, optional
        A deterministic rounding mode.
    points_per_binade : int, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes; per format a solid line (the error) and a dashed one (the bound).

    Raises
    ------
    ImportError
        matplotlib is not installed.
    ValueError
        An unknown format or mode, or ``points_per_binade`` below 2.

    Examples
    --------
    >>> from lowfloat import plot
    >>> fig = plot.rounding_error(["e4m3", "bf16"])
    >>> len(fig.axes[0].lines)
    4
    """
    formats = _formats(formats)
    if isinstance(points_per_binade, bool) or not isinstance(points_per_binade, int) or points_per_binade < 2:
        raise ValueError(f"points_per_binade must be an int of at least 2, got {points_per_binade!r}")
    if rounding == "stochastic":
        raise ValueError("rounding_error() draws a deterministic mode; stochastic rounding has no single error")
    fig = _figure(4.0)
    ax = fig.add_subplot()
    for fmt in formats:
        low, high = np.log2(fmt.smallest_subnormal), np.log2(fmt.max)
        x = np.exp2(np.linspace(low, high, int((high - low) * points_per_binade) + 2))  # (n,) float64
        error = np.abs(quantize(x, fmt, rounding=rounding, overflow="saturate") - x) / x
        (line,) = ax.plot(x, np.maximum(error, 2.0**-60), linewidth=0.8, label=fmt.name)
        eps = 2.0**-fmt.man_bits
        bound = eps / 2 if rounding.startswith("nearest") else eps
        ax.plot([fmt.smallest_normal, fmt.max], [bound, bound], linestyle="--", color=line.get_color(), linewidth=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_ylim(bottom=2.0 ** (-3 - max(fmt.man_bits for fmt in formats)), top=2.0)
    ax.set_xlabel("x (log scale)")
    ax.set_ylabel("relative error |q(x) - x| / x")
    ax.set_title(f"Relative rounding error ({rounding}; dashed: unit roundoff)")
    ax.legend(fontsize="small")
    return fig


def histogram(x, fmt, *, scale: float = 1.0, bins: int = 80):
    """A histogram of ``|x| * scale`` against a format's range: what flushes to zero, what overflows.

    The picture behind loss scaling: gradients too small for float16 flush
    to zero; multiplying them by ``scale`` before the cast moves them into
    the representable range.  The title gives the shares of all values that
    round to zero and to subnormals (by :func:`lowfloat.quantize`, exactly)
    and that lie above the largest value.

    Parameters
    ----------
    x : array_like of real numbers
        Any shape; zeros, infinities and NaN are counted but not drawn.
    fmt : Format or str
    scale : float, optional
        Multiply by this first (a loss scale), e.g. ``2**10``.
    bins : int, optional
        Number of logarithmically spaced bins.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: ``bins`` bars, and shaded spans for the values that flush
        to zero, that are subnormal, and that overflow.

    Raises
    ------
    ImportError
        matplotlib is not installed.
    ValueError
        An unknown format, no finite nonzero values, a bad ``scale`` or ``bins``.
    TypeError
        ``x`` is not real numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from lowfloat import plot
    >>> grads = np.random.default_rng(0).lognormal(mean=-20, sigma=2, size=10_000)
    >>> fig = plot.histogram(grads, "fp16", scale=2**10, bins=50)
    >>> len(fig.axes[0].patches)   # 50 bars and 3 shaded spans
    53
    """
    fmt = get_format(fmt)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    values = np.abs(as_real_array(x).astype(np.float64).ravel()) * scale  # (n,) float64
    shown = values[np.isfinite(values) & (values > 0)]
    if shown.size == 0:
        raise ValueError("x has no finite nonzero values to draw")
    rounded = np.abs(quantize(shown, fmt, overflow="saturate"))
    flushed = np.count_nonzero(rounded == 0)
    subnormal = np.count_nonzero((rounded > 0) & (rounded < fmt.smallest_normal))
    above = np.count_nonzero(shown > fmt.max)
    fig = _figure(4.0)
    ax = fig.add_subplot()
    low, high = np.log2(shown.min()) - 1, np.log2(shown.max()) + 1  # a margin: exp2(log2(v)) may fall below v
    edges = np.exp2(np.linspace(min(low, np.log2(fmt.smallest_subnormal) - 2), max(high, np.log2(fmt.max) + 2),
                                bins + 1))  # fmt: skip
    ax.hist(shown, bins=edges, color="tab:gray")
    ax.axvspan(edges[0], fmt.smallest_subnormal / 2, color=_LOSS_COLOUR, alpha=0.15, label="rounds to zero")
    ax.axvspan(fmt.smallest_subnormal / 2, fmt.smallest_normal, color=_SUBNORMAL_COLOUR, alpha=0.15,
               label="subnormal: fewer significant bits")  # fmt: skip
    ax.axvspan(fmt.max, edges[-1], color=_LOSS_COLOUR, alpha=0.3, label="above max: overflows or saturates")
    ax.set_xscale("log", base=2)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("|x|" + (f" * {scale:g}" if scale != 1 else "") + " (log scale)")
    ax.set_ylabel("count")
    n = values.size
    ax.set_title(f"{fmt.name}: {flushed / n:.1%} round to zero, {subnormal / n:.1%} subnormal, "
                 f"{above / n:.1%} above max", fontsize="medium")  # fmt: skip
    ax.legend(fontsize="small")
    return fig


#: What :func:`telemetry` can draw, and the label of its axis.
_TELEMETRY_LABELS = {
    "underflow": "share of nonzero elements flushed to zero",
    "overflow": "share of elements beyond the format's range",
    "subnormal": "share of elements subnormal after the cast",
    "amax": "amax (largest magnitude before the cast)",
    "scale": "quantizing multiplier (per-tensor scale)",
}


def telemetry(casts, counter: str = "underflow", *, role=None, layer=None):
    """One counter of the casts of an emulated model, step by step, one line per layer and role (or tensor).

    Parameters
    ----------
    casts : lowfloat.torch.telemetry.CastTelemetry
        What ``lowfloat.torch.telemetry(model)`` returns (anything with its
        ``series`` method).
    counter : {"underflow", "overflow", "subnormal", "amax", "scale"}
        The flushed, overflowed or subnormal share, the amax, or the
        quantizing multiplier of per-tensor scaling (one line per tensor).
        amax and scale are drawn on a logarithmic axis.
    role, layer : str, optional
        Only this role (for ``"scale"``: this tensor, ``"x"``, ``"W"``,
        ``"dy"``...) or this layer.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, one line per ``(layer, role)`` with data.

    Raises
    ------
    ImportError
        matplotlib is not installed.
    ValueError
        An unknown counter, or nothing recorded for the selection.

    Examples
    --------
    >>> import torch
    >>> import lowfloat.torch as lft
    >>> from lowfloat import plot
    >>> model = lft.emulate(torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2)), "fp16")
    >>> for step in range(3):
    ...     model(torch.randn(8, 4)).sum().mul(1e-8).backward()
    >>> fig = plot.telemetry(lft.telemetry(model), "underflow", role="activation_grad")
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['0 activation_grad', '1 activation_grad']
    """
    if counter not in _TELEMETRY_LABELS:
        raise ValueError(f"counter must be one of {', '.join(_TELEMETRY_LABELS)}, got {counter!r}")
    series = casts.series(counter, role=role, layer=layer)
    if not series:
        raise ValueError(f"no {counter} recorded for role={role!r}, layer={layer!r}: train a step first")
    fig = _figure(3.6)
    ax = fig.add_subplot()
    for (name, part), values in series.items():
        ax.plot(np.arange(values.size), values, lw=0.9, label=f"{name} {part}")
    if counter in ("amax", "scale"):
        ax.set_yscale("log", base=2)
    ax.set_xlabel("step")
    ax.set_ylabel(_TELEMETRY_LABELS[counter])
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(f"{counter} per step" + (f", {role}" if role else "") + (f", layer {layer}" if layer else ""))
    return fig
