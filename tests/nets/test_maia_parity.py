"""Engine parity on the real lc0 self-play fixtures with the real maia-1900 net.

The games were played by lc0 with maia-1900; every frame stores the net's raw
evaluation (orig_q, orig_d) and the KL of the search's visits from the net's
prior (policy_kld). We import the net into the trainer's flax model and
evaluate every frame of every input format's tar.
"""

from __future__ import annotations

import itertools

import chess
import numpy as np
import pytest

from lcpipe.lc0.chunks import iter_games
from lcpipe.lc0.tensors import frames_to_batch
from lcpipe.nets.import_ import import_net
from lcpipe.nets.inputs import engine_planes, reencode_game
from lcpipe.nets.lc0net import read_net
from lcpipe.nets.policy_prior import policy_kld
from lcpipe.nets.reference import forward_classic

BATCH = 1024
TOL = 1e-3


def _games(fixtures, fmt):
    return list(iter_games(fixtures / "lc0-selfplay" / f"selfplay-fmt{fmt}.tar"))


@pytest.fixture(scope="module")
def maia(lc0_fixtures):
    import jax

    from lcpipe.model import build_model

    imp = import_net(lc0_fixtures / "nets" / "maia-1900.pb.gz")
    model = build_model(imp.model)
    apply = jax.jit(lambda v, x: model.apply(v, x, train=False))

    def evaluate(inputs):
        qs, ds, ps = [], [], []
        for s in range(0, len(inputs), BATCH):
            x = inputs[s : s + BATCH]
            n = len(x)
            if n < BATCH:  # one compiled shape
                x = np.concatenate([x, np.zeros((BATCH - n,) + x.shape[1:], np.float32)])
            out = apply(imp.variables, x)
            wdl = np.asarray(jax.nn.softmax(out["value"]["winner"]["wdl"]))[:n]
            qs.append(wdl[:, 0] - wdl[:, 2])
            ds.append(wdl[:, 1])
            ps.append(np.asarray(out["policy"]["vanilla"])[:n])
        return np.concatenate(qs), np.concatenate(ds), np.concatenate(ps)

    games1 = _games(lc0_fixtures, 1)
    frames1 = np.concatenate([g for _, g in games1])
    inputs1 = frames_to_batch(frames1).inputs
    q, d, p = evaluate(inputs1)
    return {
        "imp": imp,
        "evaluate": evaluate,
        "games1": games1,
        "frames1": frames1,
        "inputs1": inputs1,
        "q": q,
        "d": d,
        "policy": p,
    }


def test_import_derives_maias_configuration(maia):
    m = maia["imp"].model
    assert (m["body"], m["filters"], m["blocks"], m["se_ratio"]) == ("resnet", 64, 6, 8)
    assert (m["activation"], m["policy_type"], m["moves_left"]) == ("relu", "conv", False)
    assert (m["value_channels"], m["value_hidden"]) == (32, 128)
    assert maia["imp"].input_format == 1 and maia["imp"].step == 400000


def test_flax_model_equals_lc0_reference_forward(maia, lc0_fixtures):
    """model.apply on our tensors == lc0's computation on the engine's planes (raw rule50)."""
    net = read_net(lc0_fixtures / "nets" / "maia-1900.pb.gz")
    by_rule50 = np.argsort(maia["frames1"]["rule50_count"])[-96:]  # where plane 109 matters most
    sel = np.r_[0:96, by_rule50]
    assert maia["frames1"]["rule50_count"][sel].max() > 20
    ref = forward_classic(net, engine_planes(maia["inputs1"][sel], 1))
    assert np.abs(ref["q"] - maia["q"][sel]).max() < 2e-5
    assert np.abs(ref["d"] - maia["d"][sel]).max() < 2e-5
    from lcpipe.lc0.policy import CONV_GATHER

    assert np.abs(ref["policy_planes"][:, CONV_GATHER] - maia["policy"][sel]).max() < 2e-4


def _parity(maia, frames):
    dq = np.abs(maia["q"] - frames["orig_q"])
    dd = np.abs(maia["d"] - frames["orig_d"])
    return dq, dd


@pytest.mark.parametrize("fmt", [1, 3, 5])
def test_orig_q_and_d_reproduced(maia, lc0_fixtures, fmt):
    """Every frame, every format. Formats 3/5 are re-encoded for the format-1 net
    (checked identical to the engine's own format-1 planes). About 8% of frames
    carry an evaluation lc0 took from its NN cache for the same position reached
    by another move order (other history planes): see the next test."""
    games = maia["games1"] if fmt == 1 else _games(lc0_fixtures, fmt)
    assert [k for k, _ in games] == [k for k, _ in maia["games1"]]
    if fmt != 1:
        for (_, g), (_, g1) in zip(games, maia["games1"]):
            assert int(g["input_format"][0]) == fmt
            again = reencode_game(g, 1)
            np.testing.assert_array_equal(again["planes"], g1["planes"])
            for f in (
                "castling_us_ooo",
                "castling_us_oo",
                "castling_them_ooo",
                "castling_them_oo",
                "side_to_move_or_enpassant",
                "rule50_count",
            ):
                np.testing.assert_array_equal(again[f], g1[f])
    frames = np.concatenate([g for _, g in games])
    assert len(frames) == 7029
    dq, dd = _parity(maia, frames)
    ok = (dq <= TOL) & (dd <= TOL)
    print(
        f"fmt{fmt}: frames {len(frames)}, within {TOL}: {ok.mean():.4f}, max|dq| {dq.max():.3g}, "
        f"max|dd| {dd.max():.3g}, median|dq| {np.median(dq):.2g}, max|dq| where within: {dq[ok].max():.3g}"
    )
    assert ok.mean() >= 0.92
    assert np.median(dq) < 1e-5 and np.median(dd) < 1e-5


def _lc0_move(board, uci):
    mv = chess.Move.from_uci(uci)
    if board.piece_type_at(mv.from_square) == chess.KING and board.color_at(mv.to_square) == board.turn:
        rank = chess.square_rank(mv.from_square)
        mv = chess.Move(mv.from_square, chess.square(6 if chess.square_file(mv.to_square) == 7 else 2, rank))
    return mv


def test_mismatches_are_cache_hits_from_transpositions(maia, lc0_fixtures):
    """Frames whose orig_q differs are reproduced exactly by the same position
    reached through another order of the same moves: lc0's NN cache is keyed
    by the position without history, so the stored eval came from that path."""
    from lcpipe.lc0 import encoder

    moves = {}
    for line in (lc0_fixtures / "lc0-selfplay" / "games.txt").read_text().splitlines():
        t = line.split()
        moves[t[0]] = t[t.index("moves") + 1 :]
    offsets = np.cumsum([0] + [len(g) for _, g in maia["games1"]])
    dq, _ = _parity(maia, maia["frames1"])
    cases = [454, 458, 499, 622]  # found by a search over all mismatching frames (see report)
    rows, owner = [], []
    for flat in cases:
        assert dq[flat] > 2e-3
        gi = int(np.searchsorted(offsets, flat, side="right") - 1)
        key, game = maia["games1"][gi]
        i = flat - offsets[gi]
        board = chess.Board()
        played = []
        for uci in moves[key][:i]:
            mv = _lc0_move(board, uci)
            played.append(mv)
            board.push(mv)
        target = board._transposition_key()
        for k in range(2, 6):
            if k > i:
                break
            base, seq = played[: i - k], played[i - k : i]
            for ours in set(itertools.permutations(seq[0::2])):
                for theirs in set(itertools.permutations(seq[1::2])):
                    alt = [None] * k
                    alt[0::2], alt[1::2] = ours, theirs
                    if alt == seq:
                        continue
                    hist = encoder.GameHistory()
                    for mv in base:
                        hist.push(mv)
                    if not all(hist.board.is_legal(m) and (hist.push(m) or True) for m in alt):
                        continue
                    if hist.board._transposition_key() != target:
                        continue
                    row = game[i : i + 1].copy()
                    encoder.fill_frames(row, [encoder.encode(hist.snapshots, -1, 1)], 1)
                    row["rule50_count"] = game["rule50_count"][i]
                    rows.append(row)
                    owner.append(flat)
    q, _, _ = maia["evaluate"](frames_to_batch(np.concatenate(rows)).inputs)
    owner = np.array(owner)
    for flat in cases:
        gap = np.abs(q[owner == flat] - maia["frames1"]["orig_q"][flat])
        assert gap.size and gap.min() < 1e-4, (flat, gap)


def test_policy_kld_is_kl_of_visits_from_the_nets_prior(maia):
    """policy_kld = KL(visits || softmax of the raw policy at T=1 over legal moves),
    the softmax computed with lc0's fast exp."""
    frames = maia["frames1"]
    dq, _ = _parity(maia, frames)
    clean = dq < 1e-5  # evaluation not from a transposition
    stored = frames["policy_kld"][clean].astype(np.float64)
    probs = frames["probabilities"][clean]
    logits = maia["policy"][clean]
    gap = np.abs(policy_kld(probs, logits) - stored)
    exact = np.abs(policy_kld(probs, logits, engine_exp=False) - stored)
    hot = np.abs(policy_kld(probs, logits, temperature=1.359) - stored)
    print(
        f"policy_kld: fast exp median {np.median(gap):.2g} p99 {np.quantile(gap, 0.99):.2g}; "
        f"exact exp median {np.median(exact):.2g}; T=1.359 median {np.median(hot):.2g}"
    )
    assert np.median(gap) < 1e-5 and np.quantile(gap, 0.99) < 1e-4
    assert np.median(exact) > 5e-5
    assert np.median(hot) > 1e-2


def test_canonical_planes_do_not_fit_a_format1_net(maia, lc0_fixtures):
    """Feeding format-3 planes as they are to the format-1 net is wrong: re-encode."""
    games3 = _games(lc0_fixtures, 3)
    frames3 = np.concatenate([g for _, g in games3])[:BATCH]
    q, _, _ = maia["evaluate"](frames_to_batch(frames3).inputs)
    assert (np.abs(q - frames3["orig_q"]) <= TOL).mean() < 0.2
