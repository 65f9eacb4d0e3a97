"""Declaration of the selfplay.mcts stage (imports nothing heavy)."""

from __future__ import annotations

from lcpipe.plugin import Port, Problem, StageType, field, hookimpl, settings

MAX_GAMES = 1_000_000_000
MAX_PLIES = 100_000


SETTINGS = {
    "out_dir": field(
        "string",
        "runs/selfplay/games",
        "Directory the game chunks are written to (created if missing).",
        min_length=1,
    ),
    "chunk_prefix": field(
        "string",
        "selfplay",
        "File name prefix of the chunks: PREFIX-<time ns>-<seq>-<game>.gz.",
        min_length=1,
    ),
    "parallel_games": field(
        "integer",
        16,
        "Games played at once; their leaves are evaluated together, so this is also the network batch size.",
        minimum=1,
        maximum=65536,
    ),
    "network_batches": field(
        "integer",
        2,
        "Network calls per playout round: the running games are split into this "
        "many batches so that the search of one runs while the network "
        "evaluates another (1: one batch of all games).",
        minimum=1,
        maximum=1024,
    ),
    "stop_after_games": field(
        "integer",
        0,
        "Finish after this many games (0: play until the pipeline stops).",
        minimum=0,
        maximum=MAX_GAMES,
    ),
    "games_per_network": field(
        "integer",
        0,
        "Start at most this many games with one network, then wait for a newer "
        "one (0: never wait; the newest network is always used).",
        minimum=0,
        maximum=MAX_GAMES,
    ),
    "wait_for_network": field(
        "boolean",
        False,
        "With a connected network input: wait for the first network instead "
        "of playing with the bootstrap evaluator.",
    ),
    "bootstrap": field(
        "string",
        "uniform",
        "Evaluator used until a network arrives: 'uniform' (equal priors, value "
        "0) or 'material' (equal priors, value from the material balance).",
        enum=["uniform", "material"],
    ),
    "visits": field(
        "integer",
        32,
        "Root visits per move (reused subtree visits count, as in lc0).",
        minimum=2,
        maximum=10_000_000,
    ),
    "cpuct": field("number", 1.745, "PUCT exploration constant at zero visits (lc0 --cpuct).", minimum=0),
    "cpuct_base": field(
        "number", 38739.0, "Visit scale of cpuct's log growth (lc0 --cpuct-base).", exclusive_minimum=0
    ),
    "cpuct_factor": field(
        "number", 3.894, "Growth factor: cpuct + factor*log((N+base)/base) (lc0 --cpuct-factor).", minimum=0
    ),
    "fpu_reduction": field(
        "number",
        0.33,
        "First-play urgency below the root: unvisited moves get the parent's q "
        "minus this times sqrt(policy of visited moves).",
        minimum=0,
    ),
    "fpu_reduction_root": field("number", 0.0, "First-play urgency reduction at the root.", minimum=0),
    "noise_alpha": field("number", 0.3, "Dirichlet noise concentration at the root.", exclusive_minimum=0),
    "noise_epsilon": field(
        "number", 0.25, "Weight of the Dirichlet noise in the root priors (0 disables).", minimum=0, maximum=1
    ),
    "policy_temperature": field(
        "number",
        1.0,
        "Softmax temperature of the network policy (lc0 --policy-softmax-temp).",
        exclusive_minimum=0,
    ),
    "temperature": field(
        "number",
        1.0,
        "Move choice: sample moves with probability ~ visits^(1/temperature); 0 plays the most visited move.",
        minimum=0,
    ),
    "temp_decay_plies": field(
        "integer",
        0,
        "If > 0, the temperature falls linearly to temp_endgame over this many plies.",
        minimum=0,
        maximum=MAX_PLIES,
    ),
    "temp_cutoff_ply": field(
        "integer", 30, "From this ply on the temperature is temp_endgame.", minimum=0, maximum=MAX_PLIES
    ),
    "temp_endgame": field(
        "number", 0.0, "Temperature after temp_cutoff_ply (0: most visited move).", minimum=0
    ),
    "tree_reuse": field("boolean", True, "Keep the subtree of the played move for the next search."),
    "max_plies": field(
        "integer",
        200,
        "Games still running after this many plies are adjudicated (frames marked adjudicated + max length).",
        minimum=1,
        maximum=MAX_PLIES,
    ),
    "adjudicate": field(
        "string",
        "material",
        "Result of a game stopped at max_plies: 'material' (3 pawns ahead wins, else draw) or 'draw'.",
        enum=["material", "draw"],
    ),
    "resign_q": field(
        "number",
        0.0,
        "Resign when the root q and the best move's q are both <= -resign_q (0: never resign).",
        minimum=0,
        maximum=1,
    ),
    "resign_earliest_ply": field(
        "integer", 20, "No resignation before this ply.", minimum=0, maximum=MAX_PLIES
    ),
    "resign_playthrough": field(
        "number", 0.2, "Fraction of games that never resign (to measure false resigns).", minimum=0, maximum=1
    ),
    "input_format": field(
        "integer",
        1,
        "lc0 input format of the planes (network input and written frames). A "
        "network trained on another format overrides it, with a warning.",
        enum=[1, 2, 3, 4, 5],
    ),
    "seed": field(
        "integer", 0, "Seed: game k draws its randomness from (seed, k).", minimum=0, maximum=2**63 - 1
    ),
    "engine": field(
        "string",
        "native",
        "Search engine: 'native' (C++ threads, leaves of many games batched for "
        "the network) or 'python' (the slow reference search).",
        enum=["native", "python"],
    ),
    "threads": field(
        "integer",
        0,
        "Native engine: search threads (0: one per CPU core, at most 8).",
        minimum=0,
        maximum=256,
    ),
    "openings": field(
        ["string", "null"],
        None,
        "Native engine: start positions from an .epd file (one FEN per "
        "line) or a .pgn file (each game's start position and moves), in "
        "turn (null: the standard start position).",
        min_length=1,
    ),
    "random_opening_plies": field(
        "integer",
        0,
        "Native engine: play this many uniformly random plies from the "
        "start (or opening) position, retried until material is equal, "
        "for diversity (0: none).",
        minimum=0,
        maximum=40,
    ),
    "syzygy_paths": field(
        "array",
        [],
        "Native engine: directories of Syzygy tables; a game whose position is in "
        "the tables ends there with the tables' result (frames marked adjudicated).",
        items=field("string", min_length=1),
        max_items=64,
    ),
    "syzygy_adjudicate": field("boolean", True, "With syzygy_paths: adjudicate games by the tables."),
    "moves_left_slope": field(
        "number",
        0.0,
        "Native engine: moves-left utility slope (lc0 --moves-left-slope); 0 disables it.",
        minimum=0,
        maximum=1,
    ),
    "moves_left_max_effect": field(
        "number",
        0.0,
        "Native engine: cap of the moves-left utility (lc0 --moves-left-max-effect).",
        minimum=0,
        maximum=1,
    ),
    "moves_left_threshold": field(
        "number",
        0.0,
        "Native engine: |q| below which the moves-left utility is off (lc0 --moves-left-threshold).",
        minimum=0,
        maximum=1,
    ),
    "metrics_every": field(
        "number", 5.0, "Seconds between metric reports.", exclusive_minimum=0, maximum=86_400, unit="s"
    ),
}


def check_network_batches(config: dict):
    if config["network_batches"] > config["parallel_games"]:
        yield Problem(
            ("network_batches",),
            f"network_batches ({config['network_batches']}) is more than "
            f"parallel_games ({config['parallel_games']}): some network calls would get no game",
            "use at most parallel_games network batches",
        )


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="selfplay.mcts",
            factory="lcpipe.selfplay.selfplay_stage:SelfPlayStage",
            description="Plays games against itself with batched PUCT search using the newest network (a uniform "
            "or material evaluator until one arrives) and writes each game as a V6 .gz chunk.",
            inputs=(
                Port(
                    "network",
                    "weights",
                    kind="latest",
                    required=False,
                    doc="newest NetworkSnapshot; each newer one replaces the evaluator's parameters",
                ),
            ),
            outputs=(Port("paths", "paths", doc="each chunk file written (one game)"),),
            schema=settings(SETTINGS),
            checks=(check_network_batches,),
            summary=("selfplay/games", "selfplay/games_per_s", "selfplay/network_step"),
        )
    ]
