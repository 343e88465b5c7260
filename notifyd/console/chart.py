"""Thirty days of attempts per channel as an inline SVG drawn on the server (no script, no
library, nothing fetched): one small bar chart per channel."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

WIDTH, HEIGHT, BAR = 300, 60, 10


def svg(days: dict[str, dict[str, int]], today: date) -> list[dict[str, str]]:
    """One chart per channel: {"channel", "svg", "total"}; the SVG has a <title> for readers."""
    span = [(today - timedelta(days=29 - i)).isoformat() for i in range(30)]
    charts = []
    for channel in sorted(days):
        counts = [days[channel].get(d, 0) for d in span]
        top = max(counts) or 1
        bars = "".join(
            f'<rect x="{i * BAR}" y="{HEIGHT - c * HEIGHT // top}" width="{BAR - 2}" '
            f'height="{c * HEIGHT // top}"><title>{d}: {c}</title></rect>'
            for i, (d, c) in enumerate(zip(span, counts, strict=True))
        )
        label = escape(f"{channel}: {sum(counts)} attempts in 30 days")
        charts.append({
            "channel": channel, "total": str(sum(counts)),
            "svg": f'<svg role="img" aria-label="{label}" viewBox="0 0 {WIDTH} {HEIGHT}" '
                   f'class="chart"><title>{label}</title>{bars}</svg>',
        })  # fmt: skip
    return charts
