"""Working with lc0 training data: the ``data.*`` stages (synthetic games,
``generate``; the pure-Python reference loader, ``batches``; declared in
``stages``) and the ``lcpipe data ...`` commands (``cli``; ``rescore_command``
and ``rescore_files`` run the native ``loader.rescore`` segment over files,
``filter_command`` copies matching games). The file formats are in
``lcpipe.lc0``; the fast loader is ``lcpipe.loader``."""
