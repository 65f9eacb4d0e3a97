"""A plugin that raises KeyboardInterrupt while it is imported."""

raise KeyboardInterrupt("plugin_interrupts at import")
