"""The arena: matches between networks (or a network and a UCI engine), Elo, the UCI engine.

Modules: ``stats`` (Elo, intervals, SPRT), ``openings`` (paired openings),
``player`` (the Player interface; the Python search as a player),
``python_search`` (the Python search set up for play), ``uci_player`` (a UCI
engine as a player), ``match`` (playing a match, PGN), ``networks`` (players
named on the command line), ``uci`` (``lcpipe uci``), ``ladder`` (the rating
ladder file), ``cli``. The ``eval.gate`` stage built on them is in
``lcpipe.eval``.

Light to import: nothing here imports JAX at module level.
"""
