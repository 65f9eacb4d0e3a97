"""Small widgets of the dashboard."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

BAR_WIDTH = 24


def fill_style(fill: float) -> str:
    # A full queue means its consumer is the bottleneck: that is what to look at.
    if fill >= 0.9:
        return "red"
    if fill >= 0.5:
        return "yellow"
    return "green"


class QueueBar(Static):
    """One edge: its name, a fill bar and the share of its capacity in use."""

    fill: reactive[float] = reactive(0.0)
    dropped: reactive[float] = reactive(0.0)

    def __init__(self, queue: str, kind: str = "stream", **kwargs):
        super().__init__(**kwargs)
        self.queue = queue
        self.kind = kind

    def render(self) -> Text:
        blocks = round(self.fill * BAR_WIDTH)
        text = Text(f"{self.queue[:28]:<28} ", style="bold")
        text.append("█" * blocks, style=fill_style(self.fill))
        text.append("░" * (BAR_WIDTH - blocks), style="dim")
        text.append(f" {self.fill * 100:3.0f}%")
        if self.kind == "latest":
            text.append(" latest", style="dim")
        if self.dropped:
            text.append(f" dropped {self.dropped:.0f}", style="red")
        return text
