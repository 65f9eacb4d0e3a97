"""Built-in self-play: batched PUCT search with the newest network, games written as lc0 chunks.

Modules: ``mcts`` (the search), ``evaluator`` (network / stand-in evaluators),
``game`` (move choice, game end, many games at once), ``writer`` (games ->
V6 frames -> .gz chunks), ``stages`` / ``stage`` (the ``selfplay.mcts`` stage).
"""
