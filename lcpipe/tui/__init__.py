"""The optional live dashboard (`lcpipe run --tui`); needs the `tui` extra (Textual).

``lcpipe.tui.app.run_dashboard(runtime)`` is the entry point. ``model`` and
``control`` import no Textual, so they can be used and tested without it.
"""
