"""Declaration of the eval.gate stage (imports nothing heavy)."""

from __future__ import annotations

from lcpipe.plugin import Port, StageType, field, hookimpl, settings

GATE_SETTINGS = {
    "games": field(
        "integer",
        20,
        "Games each new network plays against the current best (even: openings are "
        "played in pairs, each once with each colour).",
        minimum=2,
        maximum=100_000,
        multiple_of=2,
    ),
    "visits": field(
        "integer",
        32,
        "Visits per move for both networks (no noise, the most visited move).",
        minimum=1,
        maximum=10_000_000,
    ),
    "parallel_games": field(
        "integer",
        10,
        "Games played at once (each network searches all its games in one batch).",
        minimum=1,
        maximum=65536,
    ),
    "max_plies": field(
        "integer",
        200,
        "Plies after the opening before a game is adjudicated (0: never).",
        minimum=0,
        maximum=100_000,
    ),
    "adjudicate": field(
        "string",
        "material",
        "Result at max_plies: 'material' (3 pawns ahead wins, else draw) or 'draw'.",
        enum=["material", "draw"],
    ),
    "openings": field(
        "string", "", "An .epd or .pgn file of openings ('': a built-in set of balanced short lines)."
    ),
    "promote": field(
        "string",
        "passed",
        "Which networks go out on the promoted ports: only those that pass the "
        "gate (KataGo's gatekeeper), or all of them (the gate then only rates).",
        enum=["passed", "all"],
    ),
    "pass_score": field(
        "number",
        0.5,
        "A network passes when its score against the best (wins + draws/2 over games) is at least this.",
        minimum=0,
        maximum=1,
    ),
    "pass_elo_low": field(
        ["number", "null"],
        None,
        "Also require the 95% interval's lower end of the Elo "
        "difference to be at least this (null: no such requirement).",
    ),
    "engine": field(
        "string",
        "native",
        "Search of both networks: 'native' (the C++ engine; the leaves of all games "
        "in one batch per network) or 'python' (the slow reference search).",
        enum=["native", "python"],
    ),
    "ladder": field(
        "string",
        "ladder.jsonl",
        "Rating ladder file (JSON lines, rewritten atomically); an existing "
        "one is continued: its last promoted network is the best again.",
        min_length=1,
    ),
}


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="eval.gate",
            factory="lcpipe.eval.gate:GateStage",
            description="Plays every new network against the current best network (paired openings, fixed "
            "visits); reports the Elo difference with its 95% interval as metrics, keeps a rating "
            "ladder, and promotes networks that pass.",
            inputs=(
                Port(
                    "network",
                    "network",
                    kind="latest",
                    doc="ExportedNetwork (.pb.gz) to gate; one arriving during a match replaces any "
                    "other still waiting",
                ),
            ),
            outputs=(
                Port(
                    "network",
                    "network",
                    kind="latest",
                    required=False,
                    doc="the promoted network file (the first network is promoted unplayed)",
                ),
                Port(
                    "weights",
                    "weights",
                    kind="latest",
                    required=False,
                    doc="the promoted network as a NetworkSnapshot, for selfplay.mcts",
                ),
            ),
            schema=settings(GATE_SETTINGS),
            summary=("gate/elo", "gate/games", "gate/best_step"),
        )
    ]
