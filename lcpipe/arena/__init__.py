"""The arena: matches between networks (or a network and a UCI engine), Elo, the UCI engine, the gate stage.

Modules: ``stats`` (Elo, intervals, SPRT), ``openings`` (paired openings),
``player`` (the Player interface; the Python search as a player),
``python_search`` (the Python search set up for play), ``uci_player`` (a UCI
engine as a player), ``match`` (playing a match, PGN), ``networks`` (players
named on the command line), ``uci`` (``lcpipe uci``), ``ladder`` (the rating
ladder file), ``stages`` / ``gate`` (the ``eval.gate`` stage), ``cli``.

Light to import: nothing here imports JAX; the stage declaration
(``stages``) imports only ``lcpipe.plugin``.
"""
