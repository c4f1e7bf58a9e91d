"""PNG charts of framings' daily posts: the expected level, the spike limit, spikes marked.

Matplotlib's object API with the Agg canvas (no pyplot, no display, no global state), so
charts can be drawn in a worker thread while the bot runs.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from bot.trend_status import TrendDay

_WIDTH, _ROW_HEIGHT, _DPI = 8.0, 2.4, 100


def render_trends(series: Mapping[str, Sequence[TrendDay]], title: str) -> bytes:
    """One panel per framing (in the given order); an empty mapping draws an empty chart."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = max(len(series), 1)
    figure = Figure(figsize=(_WIDTH, _ROW_HEIGHT * rows + 0.6), dpi=_DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, 1, squeeze=False)[:, 0]
    figure.suptitle(title)
    for ax, (slug, days) in zip(axes, series.items(), strict=False):
        _panel(ax, slug, days)
    if not series:
        axes[0].text(0.5, 0.5, "no matched posts", ha="center", va="center")
        axes[0].set_axis_off()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _panel(ax: object, slug: str, days: Sequence[TrendDay]) -> None:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.dates import DateFormatter

    assert isinstance(ax, Axes)
    x = np.array([d.day for d in days], dtype="datetime64[D]")
    ax.bar(x, [d.posts for d in days], color="#8fa8c8", label="posts")
    ax.plot(x, [d.expected for d in days], color="#2b4c7e", label="expected")
    ax.step(
        x,
        [d.limit for d in days],
        where="mid",
        color="#c0392b",
        linestyle="--",
        linewidth=0.8,
        label="spike limit",
    )
    spikes = [d for d in days if d.spike]
    if spikes:
        ax.scatter(
            np.array([d.day for d in spikes], dtype="datetime64[D]"),
            [d.posts for d in spikes],
            color="#c0392b",
            zorder=3,
            label="spike",
        )
    ax.set_title(slug, fontsize=10, loc="left")
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_formatter(DateFormatter("%d.%m"))  # type: ignore[no-untyped-call]
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=7, loc="upper left")
