"""Openings for matches, played in pairs: each opening once with each colour.

An opening is a start position and the moves played from it, so the
players' searches see the real game history (repetitions, the encoder's
history planes). They come from an EPD file (one position per line), a PGN
file (each game's main line) or a built-in set of short, balanced lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import chess
import chess.pgn


class OpeningsError(ValueError):
    """An openings file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Opening:
    name: str
    fen: str  # start position
    moves: tuple[str, ...] = ()  # UCI moves played from it

    def board(self) -> chess.Board:
        """The position after the opening, its moves on the move stack."""
        board = chess.Board(self.fen)
        for uci in self.moves:
            board.push_uci(uci)
        return board


# Main lines of common openings, a few moves deep and roughly balanced (as SAN).
_BUILTIN_SAN = {
    "Italian": "e4 e5 Nf3 Nc6 Bc4 Bc5",
    "Ruy Lopez": "e4 e5 Nf3 Nc6 Bb5 a6",
    "Scotch": "e4 e5 Nf3 Nc6 d4 exd4",
    "Petrov": "e4 e5 Nf3 Nf6",
    "Sicilian Najdorf": "e4 c5 Nf3 d6 d4 cxd4 Nxd4 Nf6 Nc3 a6",
    "Sicilian Taimanov": "e4 c5 Nf3 e6 d4 cxd4 Nxd4 Nc6",
    "French": "e4 e6 d4 d5 Nc3 Nf6",
    "Caro-Kann": "e4 c6 d4 d5 Nc3 dxe4 Nxe4 Bf5",
    "Scandinavian": "e4 d5 exd5 Qxd5 Nc3 Qa5",
    "Pirc": "e4 d6 d4 Nf6 Nc3 g6",
    "Queen's Gambit Declined": "d4 d5 c4 e6 Nc3 Nf6",
    "Slav": "d4 d5 c4 c6 Nf3 Nf6",
    "Queen's Gambit Accepted": "d4 d5 c4 dxc4 Nf3 Nf6",
    "Nimzo-Indian": "d4 Nf6 c4 e6 Nc3 Bb4",
    "Queen's Indian": "d4 Nf6 c4 e6 Nf3 b6",
    "King's Indian": "d4 Nf6 c4 g6 Nc3 Bg7 e4 d6",
    "Grunfeld": "d4 Nf6 c4 g6 Nc3 d5",
    "London": "d4 d5 Bf4 Nf6 e3 e6",
    "English": "c4 e5 Nc3 Nf6 Nf3 Nc6",
    "Reti": "Nf3 d5 g3 Nf6 Bg2 e6",
}


def _from_san(name: str, san: str) -> Opening:
    board = chess.Board()
    moves = []
    for token in san.split():
        move = board.parse_san(token)
        moves.append(move.uci())
        board.push(move)
    return Opening(name, chess.STARTING_FEN, tuple(moves))


def builtin_openings() -> list[Opening]:
    return [_from_san(name, san) for name, san in _BUILTIN_SAN.items()]


def _playable(opening: Opening, where: str) -> Opening:
    board = opening.board()
    if board.is_game_over(claim_draw=True):
        raise OpeningsError(f"{where}: the game is already over in this position")
    return opening


def read_epd(path: str | Path) -> list[Opening]:
    """One position per line: EPD (4 FEN fields and optional operations such as id) or a full FEN."""
    out = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{lineno}"
        board = chess.Board(None)
        try:
            ops = board.set_epd(line)
        except ValueError as exc:
            try:  # a full FEN (with move counters) is accepted too
                board, ops = chess.Board(line), {}
            except ValueError:
                raise OpeningsError(f"{where}: not an EPD or FEN position: {exc}") from None
        status = board.status()
        if status != chess.STATUS_VALID:
            raise OpeningsError(f"{where}: illegal position ({status!r})")
        name = str(ops.get("id") or f"{Path(path).name}:{lineno}")
        out.append(_playable(Opening(name, board.fen()), where))
    return out


def read_pgn(path: str | Path) -> list[Opening]:
    """Each game's start position (its FEN header or the standard one) and main line."""
    out = []
    with open(path, encoding="utf-8") as handle:
        index = 0
        while True:
            game = chess.pgn.read_game(handle)
            if game is None:
                break
            index += 1
            where = f"{path}: game {index}"
            if game.errors:
                raise OpeningsError(f"{where}: {game.errors[0]}")
            board = game.board()
            moves = tuple(m.uci() for m in game.mainline_moves())
            name = game.headers.get("Opening") or game.headers.get("Event", "?")
            if name in ("", "?"):
                name = f"{Path(path).name}#{index}"
            out.append(_playable(Opening(name, board.fen(), moves), where))
    return out


def load_openings(path: str | Path | None) -> list[Opening]:
    """Openings from an .epd or .pgn file, or the built-in set when ``path`` is None or empty."""
    if not path:
        return builtin_openings()
    path = Path(path)
    if not path.is_file():
        raise OpeningsError(f"{path}: no such openings file")
    suffix = path.suffix.lower()
    if suffix == ".epd":
        openings = read_epd(path)
    elif suffix == ".pgn":
        openings = read_pgn(path)
    else:
        raise OpeningsError(f"{path}: openings must be an .epd or a .pgn file")
    if not openings:
        raise OpeningsError(f"{path}: no openings in the file")
    return openings


@dataclass(frozen=True)
class Pairing:
    """One game of a match: which opening, which pair, and whether A has the white pieces."""

    game: int
    pair: int
    opening: Opening
    a_white: bool


def paired_schedule(openings: list[Opening], games: int) -> list[Pairing]:
    """``games`` games in pairs: pair k plays opening k (cycling), A white in the first game, black in the second.

    Colours swap on the side to move after the opening: with an opening that
    leaves black to move, "white" still means the player of the white pieces.
    """
    if games < 2 or games % 2:
        raise ValueError(f"paired games need an even number of games (at least 2), got {games}")
    if not openings:
        raise ValueError("no openings")
    out = []
    for pair in range(games // 2):
        opening = openings[pair % len(openings)]
        out.append(Pairing(2 * pair, pair, opening, True))
        out.append(Pairing(2 * pair + 1, pair, opening, False))
    return out
