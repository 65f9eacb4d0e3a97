"""The optional live dashboard (`lcpipe run --tui`, `lcpipe attach`); needs the `tui` extra (Textual).

``lcpipe.tui.app.run_dashboard_daemon`` runs a pipeline in a ``lcpipe daemon``
subprocess and shows it; ``Dashboard(RemoteRun.attach(socket))`` watches a run
already going, ``Dashboard(runtime)`` one in this process. ``model``,
``control`` and ``link`` import no Textual, so they can be used and tested
without it.
"""
