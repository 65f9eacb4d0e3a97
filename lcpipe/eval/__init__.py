"""The ``eval.*`` stages: ``eval.gate`` (``gate``) plays each new network against
the best one and promotes it, declared in ``stages``. Matches, players and Elo
statistics are in ``lcpipe.arena``."""
