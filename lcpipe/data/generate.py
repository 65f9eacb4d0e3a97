"""The ``data.generate`` stage: synthetic games into a directory, paths out."""

from __future__ import annotations

import time

from lcpipe.lc0 import synth
from lcpipe.runtime.stage import Stage


class GenerateStage(Stage):
    """Writes batches of synthetic games and emits every file written."""

    def run(self) -> None:
        cfg = self.config
        interval = float(cfg["interval"])
        limit = int(cfg["batches"])
        batch = 0
        total_games = 0
        while not self.ctx.stopping:
            seed = int(cfg["seed"]) + batch
            start = time.monotonic()
            paths = synth.write_games(
                cfg["out_dir"],
                int(cfg["games"]),
                seed=seed,
                input_format=int(cfg["input_format"]),
                version=int(cfg["version"]),
                tar=cfg["per_file"] == "tar",
                max_plies=int(cfg["max_plies"]),
                tar_name=f"games_{seed:06d}.tar",
            )
            total_games += int(cfg["games"])
            batch += 1
            self.ctx.metrics(
                {"games": total_games, "files": len(paths), "seconds_per_batch": time.monotonic() - start},
                step=batch,
            )
            for p in paths:
                if not self.ctx.output("paths").put(p):
                    return
            if interval <= 0 or (limit and batch >= limit):
                return
            if not self.ctx.sleep(interval):
                return
