"""The native Syzygy prober (lcpipe._native.SyzygyTablebases) against python-chess's chess.syzygy.

Every 3-4 piece table `make setup` fetches is probed on random legal positions, its material as named and
colour-swapped (KQvK and KvKQ-as-black), both sides to move; WDL and DTZ must equal python-chess's exactly.
Then: en passant, promotions, positions the tables do not cover, missing / truncated / corrupted files and
concurrent probing.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import chess
import chess.syzygy
import lcpipe._native as native
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import syzygy_positions as sp

PER_SIDE = 100  # positions per table and colour orientation


@pytest.fixture(scope="module")
def tb(syzygy_dir):
    return native.SyzygyTablebases([str(syzygy_dir)])


@pytest.fixture(scope="module")
def oracle(syzygy_dir):
    with chess.syzygy.open_tablebase(str(syzygy_dir)) as t:
        yield t


def compare(tb, oracle, boards):
    """(mismatches, count): native vs python-chess WDL and DTZ on each board."""
    bad = []
    for board in boards:
        fen = board.fen()
        want = (oracle.probe_wdl(board), oracle.probe_dtz(board))
        got = (tb.probe_wdl(fen), tb.probe_dtz(fen))
        if got != want:
            bad.append((fen, want, got))
    return bad


def test_finds_every_table(tb, syzygy_dir):
    names = sp.table_names(syzygy_dir)
    assert len(names) == 35
    assert tb.wdl_tables == 35 and tb.dtz_tables == 35
    assert tb.max_pieces == 4


def test_random_positions_of_every_table_match_python_chess(tb, oracle, syzygy_dir):
    rng = random.Random(20240601)
    mismatches, stats = (
        [],
        {
            "positions": 0,
            "black_to_move": 0,
            "captures": 0,
            "capture_decides": 0,
            "checkmate": 0,
            "stalemate": 0,
        },
    )
    per_table = {}
    for name in sp.table_names(syzygy_dir):
        boards = [sp.random_board(rng, name, swap) for swap in (False, True) for _ in range(PER_SIDE)]
        mismatches += compare(tb, oracle, boards)
        per_table[name] = len(boards)
        for b in boards:
            stats["positions"] += 1
            stats["black_to_move"] += b.turn == chess.BLACK
            stats["checkmate"] += b.is_checkmate()
            stats["stalemate"] += b.is_stalemate()
            if any(b.is_capture(m) for m in b.legal_moves):
                stats["captures"] += 1
                # The stored value is not the answer: the table leaves it to the capture search.
                stats["capture_decides"] += oracle.probe_wdl_table(b) != oracle.probe_wdl(b)
    assert mismatches == [], f"{len(mismatches)} of {stats['positions']} differ, first: {mismatches[:5]}"
    assert len(per_table) == 35 and stats["positions"] == 35 * 2 * PER_SIDE
    assert 0.4 < stats["black_to_move"] / stats["positions"] < 0.6
    assert stats["captures"] > 1000
    assert stats["capture_decides"] > 50, stats
    assert stats["checkmate"] > 0


def test_promotions_match_python_chess(tb, oracle, syzygy_dir):
    rng = random.Random(7)
    boards = [
        sp.random_board(rng, name, swap, promoting=True)
        for name in sp.table_names(syzygy_dir)
        if "P" in name
        for swap in (False, True)
        for _ in range(40)
    ]
    promoting = sum(any(m.promotion for m in b.legal_moves) for b in boards)
    assert promoting > len(boards) // 2
    mismatches = compare(tb, oracle, boards)
    assert mismatches == [], mismatches[:5]


def test_en_passant_matches_python_chess(tb, oracle):
    rng = random.Random(11)
    boards = [b for b in (sp.en_passant_board(rng, "KPvKP") for _ in range(600)) if b is not None]
    assert len(boards) > 500 and all(b.has_legal_en_passant() for b in boards)
    assert {b.turn for b in boards} == {chess.WHITE, chess.BLACK}
    assert all(b.fen().split()[3] != "-" for b in boards)
    mismatches = compare(tb, oracle, boards)
    assert mismatches == [], mismatches[:5]
    # Positions where the capture en passant changes the result, and where it is the only
    # way to win or draw (better with it than without).
    changed = better = 0
    for b in boards:
        plain = b.copy()
        plain.ep_square = None
        with_ep, without = oracle.probe_wdl(b), oracle.probe_wdl(plain)
        assert tb.probe_wdl(plain.fen()) == without
        changed += with_ep != without
        better += with_ep > without
    assert changed > 20 and better > 10, (changed, better)


def test_dtz_one_ply_search_cases(tb, oracle):
    """Positions whose side to move the DTZ file does not hold are answered by a one-ply search."""
    rng = random.Random(3)
    boards = []
    for name in ("KRvKP", "KQvKR", "KBNvK", "KPvKP", "KRvKN", "KQvK"):
        boards += [sp.random_board(rng, name, swap) for swap in (False, True) for _ in range(60)]
    searched = [
        b
        for b in boards
        if oracle.probe_wdl(b) != 0 and oracle.probe_dtz_table(b, oracle.probe_wdl(b))[1] == -1
    ]
    assert len(searched) > 100
    assert compare(tb, oracle, searched) == []


def test_python_chess_documented_example(tb):
    fen = "8/2K5/4B3/3N4/8/8/4k3/8 b - - 0 1"
    assert tb.probe_wdl(fen) == -2
    assert tb.probe_dtz(fen) == -53


def test_positions_not_covered(tb):
    # Castling rights (here black's queenside, rook on a8).
    assert tb.probe_wdl("r3k3/8/8/8/8/8/8/4K3 w q - 0 1") is None
    assert tb.probe_dtz("r3k3/8/8/8/8/8/8/4K3 w q - 0 1") is None
    assert tb.probe_wdl("r3k3/8/8/8/8/8/8/4K3 w - - 0 1") is not None
    # Five pieces: more than the largest table.
    assert tb.probe_wdl("4k3/8/8/8/8/8/8/RQ2K2r w - - 0 1") is None
    assert tb.probe_dtz("4k3/8/8/8/8/8/8/RQ2K2r w - - 0 1") is None
    # Illegal: the side not to move is in check.
    assert tb.probe_wdl("4k3/8/8/8/8/8/8/4K2R w - - 0 1") is not None
    assert tb.probe_wdl("4k3/8/8/8/8/8/8/4R2K w - - 0 1") is None
    # Bare kings need no table.
    assert tb.probe_wdl("4k3/8/8/8/8/8/8/4K3 w - - 0 1") == 0
    assert tb.probe_dtz("4k3/8/8/8/8/8/8/4K3 b - - 0 1") == 0
    with pytest.raises(ValueError):
        tb.probe_wdl("not a fen")
    with pytest.raises(ValueError):
        tb.probe_wdl("4k3/8/8/8/8/8/8/4K3 x - - 0 1")
    with pytest.raises(RuntimeError, match="no-such-dir"):
        native.SyzygyTablebases(["/no-such-dir"])


def _copy(syzygy_dir: Path, dest: Path, names: list[str], exts=(".rtbw", ".rtbz")) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        for ext in exts:
            shutil.copy(syzygy_dir / f"{name}{ext}", dest / f"{name}{ext}")
    return dest


def _link_all(syzygy_dir: Path, dest: Path, but: str = "") -> Path:
    """A directory of symlinks to every table except `but` (the sub-searches need the other tables)."""
    dest.mkdir(parents=True)
    for p in syzygy_dir.iterdir():
        if p.suffix in (".rtbw", ".rtbz") and p.name != but:
            (dest / p.name).symlink_to(p)
    return dest


def test_missing_tables_give_none(tmp_path, oracle, syzygy_dir):
    only = native.SyzygyTablebases([str(_copy(syzygy_dir, tmp_path / "krvkb", ["KRvKB"]))])
    assert only.max_pieces == 4
    rng = random.Random(5)
    seen_capture = seen_plain = 0
    for _ in range(300):
        b = sp.random_board(rng, "KRvKB", rng.random() < 0.5)
        got = only.probe_wdl(b.fen()), only.probe_dtz(b.fen())
        if any(b.is_capture(m) for m in b.legal_moves):
            # Resolving a capture needs KRvK or KBvK (or KvK-level tables): missing.
            assert got == (None, None), b.fen()
            seen_capture += 1
        else:
            assert got[0] == oracle.probe_wdl(b), b.fen()
            seen_plain += 1
    assert seen_capture > 20 and seen_plain > 20
    # Other material: no table at all.
    assert only.probe_wdl("4k3/8/8/8/8/8/8/Q3K3 w - - 0 1") is None
    # WDL files without DTZ files: WDL answers, DTZ does not.
    wdl_only = native.SyzygyTablebases([str(_copy(syzygy_dir, tmp_path / "wdl", ["KQvK"], (".rtbw",)))])
    assert (wdl_only.wdl_tables, wdl_only.dtz_tables) == (1, 0)
    assert wdl_only.probe_wdl("4k3/8/8/8/8/8/8/Q3K3 w - - 0 1") == 2
    assert wdl_only.probe_dtz("4k3/8/8/8/8/8/8/Q3K3 w - - 0 1") is None
    # An empty directory covers nothing, not even bare kings.
    (tmp_path / "empty").mkdir()
    empty = native.SyzygyTablebases([str(tmp_path / "empty")])
    assert empty.max_pieces == 0 and empty.probe_wdl("4k3/8/8/8/8/8/8/4K3 w - - 0 1") is None


def _no_captures(board: chess.Board) -> bool:
    return not any(board.is_capture(m) for m in board.legal_moves)


def _no_pawn_moves(board: chess.Board) -> bool:
    return not any(board.piece_type_at(m.from_square) == chess.PAWN for m in board.legal_moves)


@pytest.mark.parametrize("name", ["KQvK", "KRvKB", "KPvKP", "KBBvK", "KBvK"])
def test_truncated_tables_give_none(tmp_path, syzygy_dir, oracle, name):
    rng = random.Random(name)
    # Positions that must read the file: no capture can decide them first; for DTZ also
    # not drawn (0 needs no file) and no pawn push that zeroes at once.
    boards = [
        b for b in (sp.random_board(rng, name, rng.random() < 0.5) for _ in range(300)) if _no_captures(b)
    ][:40]
    dtz_boards = [b for b in boards if oracle.probe_wdl(b) != 0 and _no_pawn_moves(b)]
    assert len(boards) == 40 and (dtz_boards or name == "KBvK")
    for ext, probe_boards in ((".rtbw", boards), (".rtbz", dtz_boards)):
        data = (syzygy_dir / f"{name}{ext}").read_bytes()
        cuts = sorted({0, 3, 4, 5, 6, 16, 64, len(data) // 3, len(data) // 2, len(data) - 17, len(data) - 1})
        for cut in cuts:
            d = _link_all(syzygy_dir, tmp_path / f"{ext[1:]}{cut}", but=f"{name}{ext}")
            (d / f"{name}{ext}").write_bytes(data[:cut])
            t = native.SyzygyTablebases([str(d)])
            probe = t.probe_wdl if ext == ".rtbw" else t.probe_dtz
            assert {probe(b.fen()) for b in probe_boards} <= {None}, (name, ext, cut)
        # The intact copy answers them.
        t = native.SyzygyTablebases([str(_link_all(syzygy_dir, tmp_path / f"{ext[1:]}-intact"))])
        probe = t.probe_wdl if ext == ".rtbw" else t.probe_dtz
        assert None not in {probe(b.fen()) for b in probe_boards}


def test_bad_magic_gives_none(tmp_path, syzygy_dir):
    d = _copy(syzygy_dir, tmp_path / "magic", ["KQvKR"])
    for ext in (".rtbw", ".rtbz"):
        data = bytearray((d / f"KQvKR{ext}").read_bytes())
        data[0] ^= 0xFF
        (d / f"KQvKR{ext}").write_bytes(bytes(data))
    t = native.SyzygyTablebases([str(d)])
    assert t.probe_wdl("4k3/8/8/8/8/8/r7/Q3K3 w - - 0 1") is None
    # A WDL file named for the wrong material (KRvKQ's bytes under KQvKR's name) is refused too.
    d2 = tmp_path / "renamed"
    d2.mkdir()
    shutil.copy(syzygy_dir / "KQvKN.rtbw", d2 / "KQvKR.rtbw")
    assert native.SyzygyTablebases([str(d2)]).probe_wdl("4k3/8/8/8/8/8/r7/Q3K3 w - - 0 1") is None


FUZZ_SCRIPT = r"""
import random, sys, shutil
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import chess
import syzygy_positions as sp
import lcpipe._native as native
src, work = Path(sys.argv[1]), Path(sys.argv[2])
rng = random.Random(99)
names = ["KQvK", "KRvKP", "KPvKP", "KBNvK", "KNvKN", "KPPvK"]
answered = unreadable = 0
for it in range(120):
    name = names[it % len(names)]
    d = work / f"case{it}"
    d.mkdir()
    for ext in (".rtbw", ".rtbz"):
        data = bytearray((src / f"{name}{ext}").read_bytes())
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(min(len(data), 128)) if rng.random() < 0.5 else rng.randrange(len(data))
            data[at] = rng.randrange(256)
        (d / f"{name}{ext}").write_bytes(bytes(data))
    t = native.SyzygyTablebases([str(d)])
    for _ in range(15):
        b = sp.random_board(rng, name, rng.random() < 0.5)
        w, z = t.probe_wdl(b.fen()), t.probe_dtz(b.fen())
        assert w is None or -2 <= w <= 2, w
        assert z is None or isinstance(z, int), z
        answered += w is not None
        unreadable += w is None
    shutil.rmtree(d)
print("ok", answered, unreadable)
"""


def test_corrupted_tables_never_crash(tmp_path, syzygy_dir):
    """Bytes changed in headers and data: answers are None or in range, the process survives
    (run in a child process so a crash fails this test instead of the worker)."""
    proc = subprocess.run(
        [sys.executable, "-c", FUZZ_SCRIPT, str(syzygy_dir), str(tmp_path), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    status, answered, unreadable = proc.stdout.split()
    assert status == "ok" and int(unreadable) > 0 and int(answered) > 0


def test_concurrent_probes_agree(oracle, syzygy_dir):
    rng = random.Random(2)
    boards = [
        sp.random_board(rng, name, swap)
        for name in sp.table_names(syzygy_dir)
        for swap in (False, True)
        for _ in range(12)
    ]
    boards += [b for b in (sp.en_passant_board(rng, "KPvKP") for _ in range(60)) if b]
    rng.shuffle(boards)
    fens = [b.fen() for b in boards]
    want_wdl = [oracle.probe_wdl(b) for b in boards]
    want_dtz = [oracle.probe_dtz(b) for b in boards]
    for _ in range(3):
        # A fresh instance each round: the threads race to map the tables on first use.
        t = native.SyzygyTablebases([str(syzygy_dir)])
        assert t.probe_many(fens, "dtz", threads=8) == want_dtz
        assert t.probe_many(fens, "wdl", threads=8) == want_wdl
        assert t.probe_many(fens, "wdl", threads=1) == want_wdl
    with pytest.raises(ValueError):
        t.probe_many(fens, "dtm", threads=2)
