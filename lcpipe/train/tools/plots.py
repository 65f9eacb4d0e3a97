"""PNG figures of the tools, with matplotlib (the `plot` extra), drawn off-screen."""

from __future__ import annotations

import io

from lcpipe.fileio import write_output
from lcpipe.train.tools.errors import ToolError


def figure():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ToolError(f"plots need matplotlib (pip install 'lcpipe[plot]'): {exc}") from None
    return plt.subplots(figsize=(7, 4.5), dpi=100)


def save_png(fig, path: str) -> None:
    """Written atomically: a viewer never sees half a PNG."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_output(path, buf.getvalue())
