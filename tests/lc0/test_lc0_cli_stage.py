"""`lcpipe data` commands and the data.generate stage."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

import jsonschema
from lc0_testlib import PGN

from lcpipe.data import stages
from lcpipe.data.generate import GenerateStage
from lcpipe.lc0 import chunks, cli
from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.stage import OutputPort, StageContext


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lcpipe")
    sub = parser.add_subparsers(dest="command")
    cli.register(sub)
    args = parser.parse_args(argv)
    return args.handler(args)


def test_generate_stats_dump(tmp_path, capsys):
    assert (
        run(
            [
                "data",
                "generate",
                "--games",
                "3",
                "--out",
                str(tmp_path),
                "--seed",
                "2",
                "--format",
                "3",
                "--version",
                "7",
                "--tar",
            ]
        )
        == 0
    )
    tar = next(tmp_path.glob("*.tar"))
    assert run(["data", "stats", str(tar)]) == 0
    out = capsys.readouterr().out
    assert "games: 3" in out and "7: " in out and "3: " in out
    assert run(["data", "dump", str(tar), "--limit", "2"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if not ln.startswith("#")]
    assert len(lines) == 2
    assert lines[0].startswith("   0 rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1 | played ")


def test_dump_real_data_uses_standard_uci(selfplay_dir, capsys):
    assert run(["data", "dump", str(selfplay_dir / "selfplay-fmt3.tar"), "--limit", "3", "--top", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "| played e2e4 |" in out[1] and "| played e7e5 |" in out[2]


def test_pgn2chunks_and_errors(tmp_path, capsys):
    pgn = tmp_path / "games.pgn"
    pgn.write_text(PGN)
    assert run(["data", "pgn2chunks", str(pgn), "--out", str(tmp_path / "o"), "--tar"]) == 0
    captured = capsys.readouterr()
    assert "game 2" in captured.err and "2 games" in captured.out
    assert len(chunks.read_frames(tmp_path / "o" / "games.tar")) == 10
    assert run(["data", "stats", str(tmp_path / "missing.gz")]) == 2
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"\x1f\x8b\x08broken")
    assert run(["data", "stats", str(bad)]) == 1
    assert "bad.gz" in capsys.readouterr().err


def test_stage_declaration_schema():
    st = next(s for s in stages.lcpipe_stage_types() if s.name == "data.generate")
    assert st.name == "data.generate" and st.outputs[0].type == "paths"
    for name, prop in st.schema["properties"].items():
        assert "default" in prop and "description" in prop, name
    defaults = {k: v["default"] for k, v in st.schema["properties"].items()}
    jsonschema.validate(defaults, st.schema)


def test_generate_stage_emits_paths(tmp_path):
    st = next(s for s in stages.lcpipe_stage_types() if s.name == "data.generate")
    config = {k: v["default"] for k, v in st.schema["properties"].items()}
    config.update(out_dir=str(tmp_path), games=2, interval=0.01, batches=2, per_file="tar")
    emitted: list[Path] = []
    stop = threading.Event()
    out = OutputPort("paths", [], stop, on_put=lambda name, item: emitted.append(item))
    ctx = StageContext("games", "data.generate", config, {}, {"paths": out}, EventBus(), stop, tmp_path)
    GenerateStage(ctx).run()
    assert [p.name for p in emitted] == ["games_000000.tar", "games_000001.tar"]
    assert all(len(list(chunks.iter_games(p))) == 2 for p in emitted)


def test_stage_module_imports_nothing_heavy():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(stages))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported <= {"__future__", "lcpipe.plugin", "lcpipe.lc0.limits"}  # limits: constants only
