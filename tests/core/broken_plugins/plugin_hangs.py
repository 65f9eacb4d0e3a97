"""A plugin whose import never finishes (a network call at import time, say)."""

import time

while True:
    time.sleep(3600)
