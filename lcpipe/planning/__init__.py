"""``lcpipe plan SPEC``: what a pipeline will need before it runs (memory, speed)."""
