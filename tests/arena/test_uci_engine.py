"""`lcpipe uci NET` driven by a scripted UCI session in a subprocess (stop during go infinite included)."""

from __future__ import annotations

import queue
import subprocess
import threading
import time

import chess
import pytest

from lcpipe.arena.uci import parse_go

TIMEOUT = 120.0  # seconds to wait for an expected line (the CI machine is loaded)


class Session:
    """A running engine: send commands, wait for lines matching a condition."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def send(self, line: str):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def until(self, cond) -> list[str]:
        """Lines read up to and including the first one that satisfies ``cond``."""
        seen = []
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no matching line within {TIMEOUT}s; got {seen}") from None
            seen.append(line)
            if cond(line):
                return seen


def _info(line: str) -> dict:
    toks = line.split()
    out = {}
    for key in ("depth", "nodes", "nps", "time"):
        if key in toks:
            out[key] = int(toks[toks.index(key) + 1])
    if "cp" in toks:
        out["cp"] = int(toks[toks.index("cp") + 1])
    if "wdl" in toks:
        k = toks.index("wdl")
        out["wdl"] = [int(x) for x in toks[k + 1 : k + 4]]
    if "pv" in toks:
        out["pv"] = toks[toks.index("pv") + 1 :]
    return out


@pytest.fixture(scope="module")
def engine(nets, lcpipe_command):
    s = Session([lcpipe_command, "uci", str(nets["material"])])  # the native search
    yield s
    if s.proc.poll() is None:
        s.send("quit")
        s.proc.wait(timeout=TIMEOUT)


def test_handshake_and_options(engine):
    engine.send("uci")
    lines = engine.until(lambda line: line == "uciok")
    assert lines[0] == "id name lcpipe material"
    assert "option name MultiPV type spin default 1 min 1 max 1" in lines
    assert any(line.startswith("option name UCI_ShowWDL type check") for line in lines)
    engine.send("setoption name UCI_ShowWDL value true")
    engine.send("setoption name NoSuchOption value 3")
    engine.send("isready")
    lines = engine.until(lambda line: line == "readyok")
    assert "info string unknown option NoSuchOption" in lines


def test_go_nodes_reports_info_and_takes_a_free_queen(engine):
    engine.send("ucinewgame")
    # black's queen on d4 hangs to the e3 pawn; the material-counting network takes it. Its policy is
    # uniform: the search visits every one of the 30 moves a few times before it reaches e3d4 (edges in
    # policy-index order), so 60 nodes are too few (either engine plays d1h5 there) and 200 enough.
    engine.send("position fen rnb1kbnr/pppp1ppp/8/8/3q4/4P3/PPPP1PPP/RNBQKBNR w KQkq - 0 3")
    engine.send("go nodes 200")
    lines = engine.until(lambda line: line.startswith("bestmove"))
    assert lines[-1] == "bestmove e3d4"
    infos = [_info(line) for line in lines if line.startswith("info depth")]
    last = infos[-1]
    assert 200 <= last["nodes"] <= 201 and last["pv"][0] == "e3d4"
    assert last["cp"] > 0 and sum(last["wdl"]) == 1000 and last["wdl"][0] > last["wdl"][2]
    assert last["depth"] >= 1 and last["nps"] > 0


def test_position_with_moves_and_illegal_input(engine):
    engine.send("position startpos moves e2e4 e7e5 g1f3")
    engine.send("go nodes 8")
    best = engine.until(lambda line: line.startswith("bestmove"))[-1].split()[1]
    board = chess.Board()
    for m in ("e2e4", "e7e5", "g1f3"):
        board.push_uci(m)
    assert chess.Move.from_uci(best) in board.legal_moves  # black to move
    engine.send("position startpos moves e2e5")
    engine.send("isready")
    lines = engine.until(lambda line: line == "readyok")
    assert any("illegal move e2e5" in line for line in lines)


def test_stop_during_go_infinite(engine):
    engine.send("position startpos")
    engine.send("go infinite")
    # wait until the search is visibly running, then stop it
    engine.until(lambda line: line.startswith("info depth") and _info(line)["nodes"] > 1)
    engine.send("isready")  # answered while the search runs
    lines = engine.until(lambda line: line == "readyok")
    assert not any(line.startswith("bestmove") for line in lines)  # infinite: no bestmove before stop
    engine.send("stop")
    lines = engine.until(lambda line: line.startswith("bestmove"))
    move = chess.Move.from_uci(lines[-1].split()[1])
    assert move in chess.Board().legal_moves


def test_movetime_and_clock(engine):
    engine.send("position startpos")
    t0 = time.monotonic()
    engine.send("go movetime 300")
    engine.until(lambda line: line.startswith("bestmove"))
    assert time.monotonic() - t0 >= 0.25
    engine.send("go wtime 2000 btime 2000")
    engine.until(lambda line: line.startswith("bestmove"))


def test_quit_ends_the_process(engine):
    engine.send("go infinite")
    engine.send("quit")
    assert engine.proc.wait(timeout=TIMEOUT) == 0


def test_the_python_reference_search_still_serves(nets, lcpipe_command):
    s = Session([lcpipe_command, "uci", str(nets["material"]), "--engine", "python"])
    try:
        s.send("position startpos moves e2e4")
        s.send("go nodes 8")
        lines = s.until(lambda line: line.startswith("bestmove"))
        assert _info(lines[-2])["nodes"] == 8
        after_e4 = chess.Board()
        after_e4.push_uci("e2e4")
        assert chess.Move.from_uci(lines[-1].split()[1]) in after_e4.legal_moves
        s.send("quit")
        assert s.proc.wait(timeout=TIMEOUT) == 0
    finally:
        if s.proc.poll() is None:
            s.proc.kill()


def test_go_limits():
    assert parse_go(["nodes", "100"], True).nodes == 100
    assert parse_go(["infinite"], True).infinite and parse_go([], True).infinite
    assert parse_go(["movetime", "1000"], True).seconds == pytest.approx(0.95)
    lim = parse_go(["wtime", "60000", "btime", "1000", "winc", "0", "binc", "0"], False)
    assert 0 < lim.seconds <= 0.5  # black's clock, never more than half of it
    with pytest.raises(ValueError, match="nodes needs a number"):
        parse_go(["nodes", "x"], True)


@pytest.mark.parametrize("search", ["native", "python"])
def test_a_failing_search_still_answers_bestmove(search):
    import io

    from lcpipe.arena.uci import UciEngine
    from lcpipe.selfplay.evaluator import Evaluator

    class Broken(Evaluator):
        input_format = 1

        def evaluate_planes(self, planes):
            raise RuntimeError("device lost")

    out = io.StringIO()
    engine = UciEngine(Broken(), out=out, engine=search)
    engine.handle("position startpos")
    engine.handle("go nodes 10")
    engine.handle("stop")  # joins the search thread
    lines = out.getvalue().splitlines()
    assert "info string error: search failed: RuntimeError: device lost" in lines
    assert (
        lines[-1].startswith("bestmove ")
        and chess.Move.from_uci(lines[-1].split()[1]) in chess.Board().legal_moves
    )
