"""Remote control of a pipeline: `lcpipe daemon`'s JSON-lines protocol and a run's Unix socket."""
