"""Declaration of the selfplay.ray stage (imports nothing heavy: no Ray, no JAX).

The stage takes every setting of selfplay.mcts (the same declarations, so a
spec switches between them by changing ``use:``) plus a ``ray`` group.
"""

from __future__ import annotations

from lcpipe.plugin import Port, Problem, StageType, field, group, hookimpl, settings
from lcpipe.selfplay.stages import SETTINGS as MCTS_SETTINGS
from lcpipe.selfplay.stages import check_network_batches

# the fleet runs the native engine only
ENGINE_SETTINGS = {k: v for k, v in MCTS_SETTINGS.items() if k != "engine"}

RAY_SETTINGS = {
    "address": field(
        "string",
        "local",
        "Ray cluster: 'local' (start one on this machine), 'auto' (the cluster this "
        "machine belongs to), 'ray://HOST:PORT' (Ray Client) or a GCS address HOST:PORT.",
        pattern=r"^(local|auto|ray://\S+|\S+:\d+)$",
    ),
    "actors": field(
        "integer",
        0,
        "Self-play actors (0: as many as the cluster's CPUs (and GPUs) hold, followed as nodes come and go).",
        minimum=0,
        maximum=100_000,
    ),
    "cpus_per_actor": field(
        "number", 1.0, "CPUs each actor reserves; also its search threads when threads is 0.", minimum=0.01
    ),
    "gpus_per_actor": field(
        "number",
        0.0,
        "GPUs each actor reserves (> 0: the actor's JAX evaluator runs on its GPU).",
        minimum=0,
    ),
    "games_per_task": field(
        "integer",
        0,
        "Game ids handed to an actor at a time (0: parallel_games, or fewer so that every actor "
        "gets a share of games_per_network). The network in use changes between tasks; an actor "
        "that dies drops the unfinished games of its task.",
        minimum=0,
        maximum=1_000_000,
    ),
    "write_on": field(
        "string",
        "head",
        "Who writes the game chunks: 'head' (games travel back to this process) or 'actors' "
        "(each actor writes into out_dir, which must be storage shared by every node).",
        enum=["head", "actors"],
    ),
    "ledger": field(
        ["string", "null"],
        None,
        "A JSON-lines file with one line per game written (id, node, actor, network step) (null: none).",
        min_length=1,
    ),
    "object_store_mb": field(
        "integer",
        0,
        "address 'local': the object store's size in MiB (0: Ray's default share of memory).",
        minimum=0,
        maximum=1 << 30,
        unit="MiB",
    ),
    "start_timeout": field(
        "number",
        300.0,
        "Seconds an actor may take to start (placement, imports) before it is replaced.",
        exclusive_minimum=0,
        maximum=86_400,
        unit="s",
    ),
}

SETTINGS = {**ENGINE_SETTINGS, "ray": group("Where and how the actors run.", RAY_SETTINGS)}


def check_actor_resources(config: dict):
    ray = config["ray"]
    if ray["cpus_per_actor"] > 1 and ray["cpus_per_actor"] != int(ray["cpus_per_actor"]):
        yield Problem(
            ("ray", "cpus_per_actor"),
            f"cpus_per_actor ({ray['cpus_per_actor']}) above 1 must be a whole number",
            "Ray schedules fractions of a CPU only below 1",
        )


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="selfplay.ray",
            factory="lcpipe_ray.stage:RaySelfPlayStage",
            description="selfplay.mcts on a Ray cluster: native-engine actors play the games with the "
            "newest network (sent once per network through the object store); this process writes "
            "each finished game once as a V6 .gz chunk.",
            inputs=(
                Port(
                    "network",
                    "weights",
                    kind="latest",
                    required=False,
                    doc="newest NetworkSnapshot; put into Ray's object store once, the actors fetch it",
                ),
            ),
            outputs=(Port("paths", "paths", doc="each chunk file written (one game)"),),
            schema=settings(SETTINGS),
            checks=(check_network_batches, check_actor_resources),
            summary=("selfplay/games", "selfplay/games_per_s", "selfplay/actors", "selfplay/network_step"),
        )
    ]
