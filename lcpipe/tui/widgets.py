"""Small widgets of the dashboard."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

BAR_WIDTH = 24  # at most; a narrow pane (100 columns) gets a shorter bar and name
MIN_BAR = 6
NAME_WIDTH = 28


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
        # name, bar and figures on the one line the widget has: the bar and then the name give way
        suffix = Text(f" {self.fill * 100:3.0f}%")
        if self.kind == "latest":
            suffix.append(" latest", style="dim")
        if self.dropped:
            suffix.append(f" dropped {self.dropped:.0f}", style="red")
        width = self.size.width or NAME_WIDTH + 1 + BAR_WIDTH + len(suffix)
        name_width = max(8, min(NAME_WIDTH, width - 1 - MIN_BAR - len(suffix)))
        bar = max(1, min(BAR_WIDTH, width - name_width - 1 - len(suffix)))
        name = self.queue if len(self.queue) <= name_width else self.queue[: name_width - 1] + "…"
        text = Text(f"{name:<{name_width}} ", style="bold")
        blocks = round(self.fill * bar)
        text.append("█" * blocks, style=fill_style(self.fill))
        text.append("░" * (bar - blocks), style="dim")
        text.append_text(suffix)
        return text
