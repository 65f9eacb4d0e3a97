"""The ``sink.*`` stages: metric sinks (``console``, ``jsonl``, ``tensorboard``,
``prometheus``; shared metric-name filter in ``metric_filter``), declared in
``stages``."""
