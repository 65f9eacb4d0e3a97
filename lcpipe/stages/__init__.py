"""Built-in general-purpose stages (metric sinks, ...)."""
