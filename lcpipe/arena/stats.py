"""Match statistics: Elo difference with a 95% interval, and the SPRT.

Scores are from player A's side: a win 1, a draw 1/2, a loss 0. Games
played in pairs (one opening, each colour once) are counted by their pair
score 0, 1/2, 1, 3/2 or 2 -- the pentanomial counts. Pairs share an
opening, so their two games are correlated; taking the variance over pairs
rather than games accounts for that (it is usually smaller: a lopsided
opening costs each side once). Unpaired games use the trinomial W/D/L
variance.

The interval is the normal approximation on the mean score mapped through
the logistic Elo curve, as cutechess and fishtest report it (unbounded for
a single game or pair). The SPRT is
the generalized SPRT with the normal approximation of the log-likelihood
ratio, LLR = N (s1 - s0) (2 s - s0 - s1) / (2 var), on the same per-game or
per-pair scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95% quantile of the standard normal
PAIR_SCORES = (0.0, 0.25, 0.5, 0.75, 1.0)  # per-game score of a pair worth 0, 1/2, 1, 3/2, 2 points


def elo_from_score(score: float) -> float:
    """Logistic Elo difference that gives this expected score (+-inf at 1 and 0)."""
    if score <= 0.0:
        return -math.inf
    if score >= 1.0:
        return math.inf
    return -400.0 * math.log10(1.0 / score - 1.0) + 0.0  # + 0.0: an even score is 0, not -0


def score_from_elo(elo: float) -> float:
    """Expected score of a player this many Elo stronger."""
    return 1.0 / (1.0 + 10.0 ** (-elo / 400.0))


@dataclass(frozen=True)
class EloEstimate:
    """Elo difference, its 95% interval, the mean score and the sample size."""

    elo: float
    low: float
    high: float
    score: float
    samples: int  # games (trinomial) or pairs (pentanomial)
    model: str  # "trinomial" or "pentanomial"

    @property
    def margin(self) -> float:
        """Half the interval's width (the "+-" figure; inf when the score is 0 or 1)."""
        return (self.high - self.low) / 2.0

    def format(self) -> str:
        return f"{self.elo:+.1f} +- {self.margin:.1f} (95%: {self.low:+.1f} .. {self.high:+.1f})"


def _check_counts(counts) -> list[int]:
    counts = [int(c) for c in counts]
    if any(c < 0 for c in counts):
        raise ValueError(f"counts must not be negative: {counts}")
    if sum(counts) == 0:
        raise ValueError("no games to rate")
    return counts


def _mean_var(counts: list[int], values: tuple[float, ...]) -> tuple[float, float, int]:
    """Mean and population variance of a sample given by value counts."""
    n = sum(counts)
    mean = sum(c * v for c, v in zip(counts, values)) / n
    var = sum(c * (v - mean) ** 2 for c, v in zip(counts, values)) / n
    return mean, var, n


def _estimate(counts: list[int], values: tuple[float, ...], model: str) -> EloEstimate:
    mean, var, n = _mean_var(counts, values)
    if n < 2:  # one sample says nothing about the spread: the interval is unbounded
        return EloEstimate(elo_from_score(mean), -math.inf, math.inf, mean, n, model)
    half = Z95 * math.sqrt(var / n)
    return EloEstimate(
        elo_from_score(mean), elo_from_score(mean - half), elo_from_score(mean + half), mean, n, model
    )


def elo_trinomial(wins: int, draws: int, losses: int) -> EloEstimate:
    """Elo of independent games from A's wins, draws and losses."""
    w, d, l = _check_counts((wins, draws, losses))
    return _estimate([l, d, w], (0.0, 0.5, 1.0), "trinomial")


def elo_pentanomial(pairs) -> EloEstimate:
    """Elo of paired games from the counts of pairs worth 0, 1/2, 1, 3/2 and 2 points to A."""
    if len(pairs) != 5:
        raise ValueError(
            f"pentanomial counts need 5 entries (pairs worth 0, 1/2, 1, 3/2, 2), got {len(pairs)}"
        )
    return _estimate(_check_counts(pairs), PAIR_SCORES, "pentanomial")


# -- SPRT -------------------------------------------------------------------------
@dataclass(frozen=True)
class Sprt:
    """Sequential test of H0: elo = elo0 against H1: elo = elo1 (logistic Elo)."""

    elo0: float
    elo1: float
    alpha: float = 0.05
    beta: float = 0.05

    def __post_init__(self):
        if not self.elo1 > self.elo0:
            raise ValueError(f"SPRT needs elo0 < elo1, got {self.elo0}, {self.elo1}")
        for name in ("alpha", "beta"):
            if not 0.0 < getattr(self, name) < 0.5:
                raise ValueError(f"SPRT {name} must lie in (0, 0.5), got {getattr(self, name)}")

    @property
    def lower(self) -> float:
        """LLR at or below which H0 is accepted."""
        return math.log(self.beta / (1.0 - self.alpha))

    @property
    def upper(self) -> float:
        """LLR at or above which H1 is accepted."""
        return math.log((1.0 - self.beta) / self.alpha)

    def llr(self, counts, values: tuple[float, ...]) -> float:
        """Log-likelihood ratio of the sample (0 while it has no spread yet)."""
        counts = [int(c) for c in counts]
        if sum(counts) == 0:
            return 0.0
        mean, var, n = _mean_var(counts, values)
        if var <= 0.0:
            return 0.0  # every sample equal: the normal approximation says nothing yet
        s0, s1 = score_from_elo(self.elo0), score_from_elo(self.elo1)
        return n * (s1 - s0) * (2.0 * mean - s0 - s1) / (2.0 * var)

    def llr_trinomial(self, wins: int, draws: int, losses: int) -> float:
        return self.llr([losses, draws, wins], (0.0, 0.5, 1.0))

    def llr_pentanomial(self, pairs) -> float:
        return self.llr(pairs, PAIR_SCORES)

    def decide(self, llr: float) -> str | None:
        """ "H1" (elo1 accepted), "H0" (elo0 accepted) or None (keep playing)."""
        if llr >= self.upper:
            return "H1"
        if llr <= self.lower:
            return "H0"
        return None

    @classmethod
    def parse(cls, text: str, alpha: float = 0.05, beta: float = 0.05) -> Sprt:
        """From "elo0,elo1" (command line)."""
        parts = [p.strip() for p in text.split(",")]
        try:
            elo0, elo1 = (float(p) for p in parts)
        except ValueError:
            raise ValueError(f"SPRT bounds must be 'elo0,elo1' (two numbers), got {text!r}") from None
        return cls(elo0, elo1, alpha, beta)


# -- tallies ---------------------------------------------------------------------
@dataclass
class Tally:
    """Results of a match so far, from A's side: W/D/L and, for complete pairs, pentanomial counts."""

    wins: int = 0
    draws: int = 0
    losses: int = 0
    pairs: tuple = (0, 0, 0, 0, 0)

    def add_game(self, score: float) -> None:
        if score == 1.0:
            self.wins += 1
        elif score == 0.5:
            self.draws += 1
        elif score == 0.0:
            self.losses += 1
        else:
            raise ValueError(f"a game scores 0, 0.5 or 1, not {score}")

    def add_pair(self, first: float, second: float) -> None:
        k = int(round((first + second) * 2))
        pairs = list(self.pairs)
        pairs[k] += 1
        self.pairs = tuple(pairs)

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    def elo(self) -> EloEstimate:
        """Pentanomial estimate when every game belongs to a complete pair, else trinomial."""
        if sum(self.pairs) and 2 * sum(self.pairs) == self.games:
            return elo_pentanomial(self.pairs)
        return elo_trinomial(self.wins, self.draws, self.losses)

    def llr(self, sprt: Sprt) -> float:
        if sum(self.pairs):
            return sprt.llr_pentanomial(self.pairs)
        return sprt.llr_trinomial(self.wins, self.draws, self.losses)
