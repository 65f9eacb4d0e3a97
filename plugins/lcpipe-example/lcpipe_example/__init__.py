"""Example lcpipe plugin."""
