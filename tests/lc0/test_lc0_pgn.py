"""PGN -> frames: one-hot and multi-PV policies, evals, results, bad games."""

from __future__ import annotations

import numpy as np
from lc0_testlib import PGN

from lcpipe.lc0 import decoder, pgn, policy
from lcpipe.lc0.report import ReadReport


def test_pgn_games_to_frames():
    report = ReadReport()
    out = pgn.pgn_string_to_frames(PGN, 1, 7, report)
    assert [len(a) for a in out] == [7, 3]
    assert [(p.game, "illegal" in p.message) for p in report.problems] == [(2, True), (4, False)]
    mate = out[0]
    assert list(mate["result_q"]) == [1, -1, 1, -1, 1, -1, 1] and (mate["result_d"] == 0).all()
    assert list(mate["plies_left"]) == [7, 6, 5, 4, 3, 2, 1]
    assert mate["played_idx"][0] == 322 and mate["probabilities"][0, 322] == 1
    assert (mate["probabilities"][0] >= 0).sum() == 20
    assert 0 < mate["best_q"][0] < 0.2 and -0.2 < mate["best_q"][1] < 0  # evals, side-to-move view
    assert mate["best_q"][2] == 1  # no eval: falls back to the result
    assert np.isnan(mate["orig_q"]).all()
    multi = out[1]
    p0 = multi["probabilities"][0]
    assert p0[policy.MOVE_INDEX["e2e4"]] > p0[policy.MOVE_INDEX["d2d4"]] > 0  # softmax of evals
    np.testing.assert_allclose(p0[p0 >= 0].sum(), 1, atol=1e-6)
    p1 = multi["probabilities"][1]
    np.testing.assert_allclose(p1[policy.MOVE_INDEX["d2d4"]], 0.7)  # d7d5 mirrored
    np.testing.assert_allclose(p1[policy.MOVE_INDEX["g1f3"]], 0.3)  # Nf6 mirrored
    assert multi["best_q"][2] == 1 and multi["best_d"][2] == 0  # mate score
    assert (
        decoder.decode_frame(multi[2]).board.board_fen() == "rnbqkbnr/ppp1pppp/8/3p4/3P4/8/PPP1PPPP/RNBQKBNR"
    )


def test_pgn_file_and_canonical_format(tmp_path):
    path = tmp_path / "g.pgn"
    path.write_text(PGN)
    report = ReadReport()
    out = list(pgn.read_pgn_file(path, 5, 6, report))
    assert len(out) == 2 and report.games == 2 and report.skipped == 2
    assert all((a["input_format"] == 5).all() for a in out)
