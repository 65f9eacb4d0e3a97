"""A plugin that calls sys.exit() while it is imported."""

import sys

sys.exit("plugin_exits refuses to load")
