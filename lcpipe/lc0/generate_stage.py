"""The ``data.generate`` stage: synthetic games into a directory, paths out."""

from __future__ import annotations

import time

from lcpipe.lc0 import synth
from lcpipe.runtime.stage import Stage


class GenerateStage(Stage):
    """Writes batches of synthetic games and emits every file written."""

    def run(self) -> None:
        cfg = self.config
        interval = float(cfg.get("interval", 0))
        limit = int(cfg.get("batches", 0))
        batch = 0
        total_games = 0
        while not self.ctx.stopping:
            seed = int(cfg.get("seed", 0)) + batch
            start = time.monotonic()
            paths = synth.write_games(
                cfg.get("out_dir", "runs/games"), int(cfg.get("games", 50)), seed=seed,
                input_format=int(cfg.get("input_format", 1)), version=int(cfg.get("version", 6)),
                tar=cfg.get("per_file", "chunk") == "tar", max_plies=int(cfg.get("max_plies", 100)),
                tar_name=f"games_{seed:06d}.tar",
            )
            total_games += int(cfg.get("games", 50))
            batch += 1
            self.ctx.metrics({"games": total_games, "files": len(paths),
                              "seconds_per_batch": time.monotonic() - start}, step=batch)
            for p in paths:
                if not self.ctx.output("paths").put(p):
                    return
            if interval <= 0 or (limit and batch >= limit):
                return
            if not self.ctx.sleep(interval):
                return
