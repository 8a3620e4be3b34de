"""Horizontal bar charts as SVG, drawn on the server with matplotlib (Agg, no display).

    svg = bar_chart("Cases per week", ["2026-11-02", "2026-11-09"], [("cases", [3, 3])])

The page embeds the SVG as a `data:` image (the desk's CSP allows `img-src data:`, and an image
cannot run script or inherit the page's styles). Text stays text (`svg.fonttype: none`), and each
category label and each total is wrapped in a group with a stable id (`label-3`, `value-3`), so a
test, or a screen reader given the table beside it, can check the chart says what the table says.

Only matplotlib's object API is used (Figure + the SVG canvas), never pyplot: no global figure
state, so requests can draw in parallel threads.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

PALETTE = ("#1f5f8b", "#e39b32", "#3c9d6d", "#b3261e", "#7a5ea8", "#5b6675", "#4aa3df", "#c4a000")
MAX_BARS = 25  # more categories than this are cut in the chart; the table keeps every row
_setup = threading.Lock()
_ready = False


def _matplotlib() -> Any:
    # Imported on first use, not when the desk starts: matplotlib costs a second and tens of MB,
    # and only the analytics page needs it.
    global _ready
    import matplotlib

    with _setup:
        if not _ready:
            matplotlib.use("Agg")
            matplotlib.rcParams["svg.fonttype"] = "none"  # <text>, not glyph outlines
            matplotlib.rcParams["svg.hashsalt"] = "makegood"  # the same figures draw the same SVG
            matplotlib.rcParams["font.family"] = "DejaVu Sans"
            _ready = True
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    return Figure, FigureCanvasSVG


def say(value: Any) -> str:
    """A bar's value as its label: whole numbers plain, money and rates with their decimals."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Any]]],
    *,
    stacked: bool = True,
    unit: str = "",
) -> str:
    """An SVG document: one horizontal bar per label, one segment (stacked) or one bar (grouped) per
    series. The value written at the end of each bar is the total of its stacked segments (or each
    grouped bar's own value), exactly as the table beside it shows it."""
    figure_class, canvas_class = _matplotlib()
    labels = list(labels)[:MAX_BARS]
    n = max(len(labels), 1)
    rows = n * (1 if stacked or len(series) == 1 else len(series))
    legend = 0.35 if len(series) > 1 else 0.0
    figure = figure_class(figsize=(6.4, 0.9 + legend + 0.42 * rows), dpi=100)
    canvas_class(figure)
    ax = figure.add_subplot(1, 1, 1)
    ax.set_title(title, loc="left", fontsize=11, color="#1c2430")
    positions = list(range(len(labels)))
    left = [0.0] * len(labels)
    height = 0.7 if stacked or len(series) == 1 else 0.8 / len(series)
    for s, (name, raw) in enumerate(series):
        values = [float(v) for v in list(raw)[: len(labels)]]
        offset = 0.0 if stacked else (s - (len(series) - 1) / 2) * height
        ys = [p + offset for p in positions]
        bars = ax.barh(
            ys, values, height=height, left=left if stacked else None, color=PALETTE[s % len(PALETTE)], label=name
        )
        for i, bar in enumerate(bars):
            bar.set_gid(f"bar-{s}-{i}")
        if stacked:
            left = [a + b for a, b in zip(left, values, strict=True)]
        else:
            for i, (y, v) in enumerate(zip(ys, list(raw)[: len(labels)], strict=True)):
                text = ax.text(float(v), y, f" {say(v)}{unit}", va="center", fontsize=8, color="#1c2430")
                text.set_gid(f"value-{s}-{i}")
    if stacked:
        totals = [sum((Decimal(str(v)) for v in (list(raw)[i] for _n, raw in series)), Decimal(0)) for i in positions]
        for i, total in enumerate(totals):
            shown = total if any(isinstance(list(raw)[i], Decimal) for _n, raw in series) else int(total)
            text = ax.text(left[i], i, f" {say(shown)}{unit}", va="center", fontsize=8, color="#1c2430")
            text.set_gid(f"value-{i}")
    ax.set_yticks(positions)
    ax.set_yticklabels(labels, fontsize=8)
    for i, tick in enumerate(ax.get_yticklabels()):
        tick.set_gid(f"label-{i}")
    ax.invert_yaxis()  # the first row of the table at the top
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(axis="x", labelsize=8)
    widest = max([*left, *(float(v) for _n, raw in series for v in raw)], default=0.0)
    ax.set_xlim(0, widest * 1.18 if widest > 0 else 1)
    if all(isinstance(v, int) for _n, raw in series for v in raw):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no "2.5 cases"
    if len(series) > 1:  # below the axis, where it can never cover a bar or its value
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(0, -0.12), ncol=min(len(series), 4))
    figure.tight_layout()
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
