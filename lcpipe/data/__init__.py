"""The ``data.*`` stages: synthetic games (``generate``) and the pure-Python
reference loader (``batches``), declared in ``stages``. The lc0 file formats
they read and write are in ``lcpipe.lc0``; the fast loader is ``loader.*``."""
