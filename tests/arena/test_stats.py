"""Arena statistics: Elo and intervals from known counts, against the formulas and published figures; SPRT."""

from __future__ import annotations

import math

import pytest

from lcpipe.arena.stats import Sprt, Tally, elo_from_score, elo_pentanomial, elo_trinomial, score_from_elo


def _elo(s):
    return -400 * math.log10(1 / s - 1)


def test_elo_of_a_score_is_the_logistic_curve():
    assert elo_from_score(0.5) == 0.0
    assert elo_from_score(0.75) == pytest.approx(190.8485, abs=1e-3)  # the well-known "75% = +191"
    assert elo_from_score(0.25) == pytest.approx(-190.8485, abs=1e-3)
    assert elo_from_score(1.0) == math.inf and elo_from_score(0.0) == -math.inf
    assert math.copysign(1.0, elo_from_score(0.5)) == 1.0  # printed as 0.0, not -0.0
    for elo in (-300.0, -20.0, 0.0, 35.0, 400.0):
        assert elo_from_score(score_from_elo(elo)) == pytest.approx(elo)


def test_trinomial_interval_from_the_formula():
    w, d, l = 30, 50, 20
    n = w + d + l
    s = (w + d / 2) / n
    var = (w * (1 - s) ** 2 + d * (0.5 - s) ** 2 + l * s**2) / n
    half = 1.959964 * math.sqrt(var / n)
    est = elo_trinomial(w, d, l)
    assert est.score == pytest.approx(0.55) and est.samples == 100 and est.model == "trinomial"
    assert est.elo == pytest.approx(_elo(0.55))
    assert est.low == pytest.approx(_elo(s - half), abs=1e-4)
    assert est.high == pytest.approx(_elo(s + half), abs=1e-4)


def test_trinomial_matches_a_published_cutechess_result():
    # cutechess-cli: "Score of ... : 3225 - 3068 - 3707 [0.508] 10000" (wins - losses - draws)
    # "Elo difference: 5.5 +/- 5.4"; "SPRT: llr 1.94, lbound -2.94, ubound 2.94" (elo0=0 elo1=5)
    est = elo_trinomial(3225, 3707, 3068)
    assert round(est.elo, 1) == 5.5 and round(est.margin, 1) == 5.4
    sprt = Sprt(0, 5)
    assert round(sprt.lower, 2) == -2.94 and round(sprt.upper, 2) == 2.94
    assert sprt.llr_trinomial(3225, 3707, 3068) == pytest.approx(1.94, abs=0.01)


def test_pentanomial_interval_from_the_formula():
    pairs = [3, 10, 40, 25, 7]
    xs = [0, 0.25, 0.5, 0.75, 1]
    n = sum(pairs)
    s = sum(c * x for c, x in zip(pairs, xs)) / n
    var = sum(c * (x - s) ** 2 for c, x in zip(pairs, xs)) / n
    half = 1.959964 * math.sqrt(var / n)
    est = elo_pentanomial(pairs)
    assert est.samples == n and est.model == "pentanomial"
    assert est.score == pytest.approx(s) and est.elo == pytest.approx(_elo(s))
    assert est.low == pytest.approx(_elo(s - half), abs=1e-4)
    assert est.high == pytest.approx(_elo(s + half), abs=1e-4)


def test_pentanomial_matches_a_published_fishtest_style_result():
    # A published test's raw statistics: pentanomial [13, 37, 50, 25, 3] (256 games), score 0.4375,
    # Elo -43.6578; GSPRT with logistic bounds [0, 2.716]: LLR (alt2) -0.55961.
    pairs = [13, 37, 50, 25, 3]
    est = elo_pentanomial(pairs)
    assert est.score == pytest.approx(0.4375) and est.elo == pytest.approx(-43.6578, abs=1e-3)
    # that page reports [-75.52, -15.40] from another interval method; the normal interval is close to it
    assert est.low == pytest.approx(-75.52, abs=3) and est.high == pytest.approx(-15.40, abs=3)
    assert Sprt(0, 2.716).llr_pentanomial(pairs) == pytest.approx(-0.55961, abs=1e-3)


def test_pairs_cancel_opening_bias():
    # Each pair: A wins with white and loses with black (an opening that decides the game): 1 point per pair.
    t = Tally()
    for _ in range(10):
        t.add_game(1.0)
        t.add_game(0.0)
        t.add_pair(1.0, 0.0)
    est = t.elo()
    assert est.model == "pentanomial" and est.elo == 0.0 and est.low == est.high == 0.0
    assert elo_trinomial(10, 0, 10).margin > 100  # the same games taken one by one: very uncertain


def test_tally_counts_and_falls_back_to_trinomial_for_an_unfinished_pair():
    t = Tally()
    for a, b in ((1, 1), (1, 0.5), (0.5, 0.5), (0, 0.5), (0, 0)):
        t.add_game(a)
        t.add_game(b)
        t.add_pair(a, b)
    assert t.pairs == (1, 1, 1, 1, 1) and (t.wins, t.draws, t.losses) == (3, 4, 3)
    assert t.elo().model == "pentanomial"
    t.add_game(1.0)
    assert t.elo().model == "trinomial" and t.games == 11
    with pytest.raises(ValueError):
        t.add_game(0.3)


def test_one_sample_has_an_unbounded_interval():
    for est in (elo_trinomial(0, 1, 0), elo_pentanomial([0, 0, 1, 0, 0])):
        assert est.elo == 0.0 and est.low == -math.inf and est.high == math.inf and est.samples == 1


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="no games"):
        elo_trinomial(0, 0, 0)
    with pytest.raises(ValueError, match="negative"):
        elo_trinomial(1, -1, 0)
    with pytest.raises(ValueError, match="5 entries"):
        elo_pentanomial([1, 2, 3])
    with pytest.raises(ValueError, match="elo0 < elo1"):
        Sprt(5, 0)
    with pytest.raises(ValueError, match="alpha"):
        Sprt(0, 5, alpha=0.7)
    with pytest.raises(ValueError, match="elo0,elo1"):
        Sprt.parse("5")
    assert Sprt.parse("-10, 10") == Sprt(-10.0, 10.0)


def _run(sprt: Sprt, pairs_seq):
    """Feed pairs one by one; the decision and the number of pairs it took."""
    t = Tally()
    for k, (a, b) in enumerate(pairs_seq, 1):
        t.add_game(a)
        t.add_game(b)
        t.add_pair(a, b)
        decision = sprt.decide(t.llr(sprt))
        if decision:
            return decision, k
    return None, len(pairs_seq)


def test_sprt_accepts_h1_for_a_clearly_stronger_player():
    # repeating (win, win), (win, draw), (draw, draw): score 0.75 per pair on average, far above elo1
    seq = [(1, 1), (1, 0.5), (0.5, 0.5)] * 40
    decision, k = _run(Sprt(0, 50), seq)
    assert decision == "H1" and k < len(seq)


def test_sprt_accepts_h0_for_a_clearly_weaker_player():
    seq = [(0, 0), (0, 0.5), (0.5, 0.5)] * 40
    decision, k = _run(Sprt(0, 50), seq)
    assert decision == "H0" and k < len(seq)


def test_sprt_waits_on_an_even_match_and_decides_later_with_more_evidence():
    even = [(1, 1), (0, 0), (0.5, 1), (0.5, 0)] * 5
    assert _run(Sprt(-50, 50), even)[0] is None  # 20 pairs averaging 50%: no decision
    t = Tally()
    for a, b in even:
        t.add_pair(a, b)
        t.add_game(a)
        t.add_game(b)
    assert t.llr(Sprt(-50, 50)) == pytest.approx(0.0, abs=1e-12)
    # the same constant sample accepts H0 for [elo0, elo1] above 0 once there is enough of it
    decision, _ = _run(Sprt(20, 80), even * 10)
    assert decision == "H0"


def test_sprt_llr_matches_its_formula():
    sprt = Sprt(-5, 15, alpha=0.05, beta=0.1)
    pairs = [2, 8, 30, 15, 5]
    xs = [0, 0.25, 0.5, 0.75, 1]
    n = sum(pairs)
    s = sum(c * x for c, x in zip(pairs, xs)) / n
    var = sum(c * (x - s) ** 2 for c, x in zip(pairs, xs)) / n
    s0, s1 = 1 / (1 + 10 ** (5 / 400)), 1 / (1 + 10 ** (-15 / 400))
    assert sprt.llr_pentanomial(pairs) == pytest.approx(n * (s1 - s0) * (2 * s - s0 - s1) / (2 * var))
    assert sprt.lower == pytest.approx(math.log(0.1 / 0.95)) and sprt.upper == pytest.approx(
        math.log(0.9 / 0.05)
    )
