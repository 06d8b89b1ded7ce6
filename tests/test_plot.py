"""Plots: each returns a matplotlib Figure with the expected artists, drawn by the Agg renderer."""

from __future__ import annotations

import io
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import EventCollection
from matplotlib.figure import Figure

import lowfloat as lf
from lowfloat import plot

matplotlib.use("Agg")


def render(fig) -> bytes:
    """Draw the figure to PNG bytes (every artist must draw without error)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    return buffer.getvalue()


def test_number_line_has_ticks_and_ranges_per_format():
    fig = plot.number_line(["e2m1", "e4m3", "e8m0", "fp32"])
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    events = [c for c in ax.collections if isinstance(c, EventCollection)]
    assert len(events) == 3  # float32 is too wide for ticks
    # one tick per positive finite value
    tables = [lf.table(name)["value"] for name in ("e2m1", "e4m3", "e8m0")]
    expected = [np.count_nonzero(np.isfinite(values) & (values > 0)) for values in tables]
    assert [len(e.get_positions()) for e in events] == expected == [7, 126, 255]
    assert len(ax.patches) == 2 + 2 + 1 + 2  # E8M0 has no subnormal range
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == ["float4_e2m1fn", "float8_e4m3fn", "float8_e8m0fnu", "float32"]
    assert ax.get_xscale() == "log"
    assert render(fig).startswith(b"\x89PNG")


def test_number_line_accepts_one_format():
    fig = plot.number_line(lf.FLOAT8_E5M2)
    assert len(fig.axes[0].collections) == 1


def test_rounding_error_stays_below_the_unit_roundoff_in_the_normal_range():
    fig = plot.rounding_error(["e4m3", "fp16"], points_per_binade=16)
    ax = fig.axes[0]
    assert len(ax.lines) == 4 and ax.get_legend() is not None
    for line, fmt in zip(ax.lines[::2], (lf.FLOAT8_E4M3FN, lf.FLOAT16), strict=True):
        x, error = line.get_xdata(), line.get_ydata()
        normal = x >= fmt.smallest_normal
        assert error[normal].max() <= 2.0**-fmt.man_bits / 2
    render(fig)


def test_rounding_error_bound_is_eps_for_directed_rounding():
    fig = plot.rounding_error("e5m2", rounding="toward_zero", points_per_binade=8)
    assert fig.axes[0].lines[1].get_ydata().tolist() == [0.25, 0.25]


def test_histogram_counts_what_rounds_to_zero_and_what_is_above_max():
    x = np.concatenate([np.full(30, 2.0**-30), np.full(50, 1.0), np.full(20, 1e6), [0.0, np.nan]])
    fig = plot.histogram(x, "fp16", bins=40)
    ax = fig.axes[0]
    assert len(ax.patches) == 40 + 3
    assert sum(p.get_height() for p in ax.patches[:40]) == 100  # zeros and NaN are not drawn
    assert ax.get_title() == "float16: 29.4% round to zero, 0.0% subnormal, 19.6% above max"
    render(fig)


def test_histogram_scale_moves_values_into_range():
    x = np.full(10, 2.0**-26)
    assert "100.0% round to zero" in plot.histogram(x, "fp16").axes[0].get_title()
    scaled = plot.histogram(x, "fp16", scale=2**12).axes[0]
    assert "0.0% round to zero, 0.0% subnormal" in scaled.get_title() and "* 4096" in scaled.get_xlabel()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: plot.number_line([]), ValueError, "formats is empty"),
        (lambda: plot.number_line(["fp7"]), ValueError, "unknown format 'fp7'"),
        (lambda: plot.rounding_error("e4m3", points_per_binade=1), ValueError, "points_per_binade"),
        (lambda: plot.rounding_error("e4m3", rounding="stochastic"), ValueError, "deterministic"),
        (lambda: plot.rounding_error("e4m3", rounding="up"), ValueError, "unknown rounding 'up'"),
        (lambda: plot.histogram([0.0, np.nan], "fp16"), ValueError, "no finite nonzero"),
        (lambda: plot.histogram([1.0], "fp16", bins=0), ValueError, "bins must be a positive int"),
        (lambda: plot.histogram([1.0], "fp16", scale=-1), ValueError, "scale must be a positive"),
        (lambda: plot.histogram(["a"], "fp16"), TypeError, "expected real numbers"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_missing_matplotlib_gives_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # what Python does for a module that is absent
    with pytest.raises(ImportError, match=r"need matplotlib.*pip install 'lowfloat\[plot\]'"):
        plot.number_line("e4m3")


def test_importing_lowfloat_does_not_import_matplotlib():
    code = "import sys, lowfloat, lowfloat.plot; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
