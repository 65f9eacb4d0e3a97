"""A match between two players: paired openings, many games at once, optional SPRT stop.

Every round, each running game makes one move: the games where A is to move
go to A in one call, the others to B in one call, so a network player
searches all its games together. A game ends by the rules (mate,
stalemate, insufficient material, threefold repetition, the 50-move rule)
or, past ``max_plies`` plies after the opening, by adjudication. With an
SPRT, no new pair of games starts once it decides; the games already
running, and the second game of a started pair, finish and count.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import chess
import chess.pgn

from lcpipe.arena.openings import Opening, Pairing, paired_schedule
from lcpipe.arena.player import MoveRequest, Player
from lcpipe.arena.stats import Sprt, Tally
from lcpipe.fileio import atomic_write

_MATERIAL = {chess.PAWN: 1, chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9}
ADJUDICATIONS = ("draw", "material")


@dataclass
class MatchSettings:
    games: int = 20  # even: openings are played in pairs
    parallel: int = 8  # games running at once
    max_plies: int = 300  # plies after the opening before adjudication (0: never adjudicate)
    adjudicate: str = "material"  # at max_plies: "material" (3 pawns ahead wins, else draw) or "draw"
    sprt: Sprt | None = None

    def __post_init__(self):
        if self.parallel < 1:
            raise ValueError(f"parallel games must be at least 1, got {self.parallel}")
        if self.max_plies < 0:
            raise ValueError(f"max_plies must not be negative, got {self.max_plies}")
        if self.adjudicate not in ADJUDICATIONS:
            raise ValueError(f"adjudicate must be one of {ADJUDICATIONS}, got {self.adjudicate!r}")


@dataclass
class GameRecord:
    pairing: Pairing
    board: chess.Board  # final position, the whole game (opening included) on its move stack
    result: str  # "1-0", "0-1", "1/2-1/2"
    termination: (
        str  # checkmate, stalemate, insufficient_material, repetition, fifty_moves, adjudication, ...
    )
    a_score: float  # 1, 0.5, 0 for player A


@dataclass
class MatchResult:
    tally: Tally
    games: list[GameRecord] = field(default_factory=list)
    llr: float | None = None
    decision: str | None = None  # SPRT: "H1", "H0" or None
    aborted: bool = False  # should_stop ended the match; running games were dropped


def material_balance(board: chess.Board) -> int:
    """White's material minus black's, in pawns."""
    return sum(
        v * (len(board.pieces(pt, chess.WHITE)) - len(board.pieces(pt, chess.BLACK)))
        for pt, v in _MATERIAL.items()
    )


def game_end(board: chess.Board, plies: int, settings: MatchSettings) -> tuple[str, str] | None:
    """(result, termination) if the game is over, else None."""
    outcome = board.outcome(claim_draw=False)
    if outcome is not None:
        return outcome.result(), outcome.termination.name.lower()
    if board.halfmove_clock >= 100:
        return "1/2-1/2", "fifty_moves"
    if board.is_repetition(3):
        return "1/2-1/2", "repetition"
    if settings.max_plies and plies >= settings.max_plies:
        diff = material_balance(board) if settings.adjudicate == "material" else 0
        return ("1-0" if diff >= 3 else "0-1" if diff <= -3 else "1/2-1/2"), "adjudication"
    return None


class _Running:
    def __init__(self, pairing: Pairing):
        self.pairing = pairing
        self.board = pairing.opening.board()
        self.plies = 0

    @property
    def a_to_move(self) -> bool:
        return (self.board.turn == chess.WHITE) == self.pairing.a_white


def _a_score(result: str, a_white: bool) -> float:
    white = {"1-0": 1.0, "0-1": 0.0, "1/2-1/2": 0.5}[result]
    return white if a_white else 1.0 - white


def play_match(
    a: Player,
    b: Player,
    openings: list[Opening],
    settings: MatchSettings,
    on_game: Callable[[GameRecord, MatchResult], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> MatchResult:
    """Play the match; ``on_game`` is called after every finished game.

    ``should_stop`` is asked once per round; when it says so, the match ends
    at once with the games finished so far (``aborted``).
    """
    queue = deque(paired_schedule(openings, settings.games))
    running: list[_Running] = []
    result = MatchResult(Tally())
    first_of_pair: dict[int, float] = {}
    started: set[int] = set()
    while queue or running:
        if should_stop is not None and should_stop():
            result.aborted = True
            break
        while queue and len(running) < settings.parallel:
            running.append(_Running(queue.popleft()))
            started.add(running[-1].pairing.pair)
        for player, mine in ((a, True), (b, False)):
            group = [g for g in running if g.a_to_move == mine]
            if not group:
                continue
            moves = player.choose_moves([MoveRequest(g.pairing.game, g.board) for g in group])
            if len(moves) != len(group):
                raise RuntimeError(
                    f"player {player.name!r} returned {len(moves)} moves for {len(group)} games"
                )
            for g, move in zip(group, moves):
                if move not in g.board.legal_moves:
                    raise RuntimeError(f"player {player.name!r} chose illegal move {move} in {g.board.fen()}")
                g.board.push(move)
                g.plies += 1
                end = game_end(g.board, g.plies, settings)
                if end is not None:  # over before the other player's turn in this round
                    running.remove(g)
                    if _finish(result, g, end, first_of_pair, settings, on_game):
                        # the SPRT decided: start no new pair; running games and started pairs finish and count
                        queue = deque(p for p in queue if p.pair in started)
    if settings.sprt is not None:
        result.llr = result.tally.llr(settings.sprt)
    return result


def _finish(
    result: MatchResult,
    g: _Running,
    end: tuple[str, str],
    first_of_pair: dict[int, float],
    settings: MatchSettings,
    on_game,
) -> bool:
    """Count a finished game; True when this game made the SPRT decide."""
    record = GameRecord(g.pairing, g.board, end[0], end[1], _a_score(end[0], g.pairing.a_white))
    _count(result, record, first_of_pair)
    decided = False
    if settings.sprt is not None and result.decision is None:
        result.llr = result.tally.llr(settings.sprt)
        result.decision = settings.sprt.decide(result.llr)
        decided = result.decision is not None
    if on_game is not None:
        on_game(record, result)
    return decided


def _count(result: MatchResult, record: GameRecord, first_of_pair: dict[int, float]) -> None:
    result.games.append(record)
    result.tally.add_game(record.a_score)
    pair = record.pairing.pair
    if pair in first_of_pair:
        result.tally.add_pair(first_of_pair.pop(pair), record.a_score)
    else:
        first_of_pair[pair] = record.a_score


def to_pgn(record: GameRecord, a_name: str, b_name: str, event: str = "lcpipe match") -> str:
    game = chess.pgn.Game.from_board(record.board)
    white, black = (a_name, b_name) if record.pairing.a_white else (b_name, a_name)
    game.headers["Event"] = event
    game.headers["Site"] = "lcpipe"
    game.headers["Round"] = str(record.pairing.game + 1)
    game.headers["White"] = white
    game.headers["Black"] = black
    game.headers["Result"] = record.result
    game.headers["Opening"] = record.pairing.opening.name
    game.headers["Termination"] = record.termination
    out = io.StringIO()
    game.accept(chess.pgn.FileExporter(out))
    return out.getvalue()


def write_pgn(path, records: list[GameRecord], a_name: str, b_name: str) -> None:
    """All games, in game order, written atomically."""
    text = "".join(to_pgn(r, a_name, b_name) for r in sorted(records, key=lambda r: r.pairing.game))
    atomic_write(path, text.encode("utf-8"), fsync=False)
