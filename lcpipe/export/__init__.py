"""The ``export.*`` stages: ``export.lc0`` (``lc0``) writes each trained network
as an lc0 .pb.gz, declared in ``stages``. The network file format is in
``lcpipe.nets``."""
