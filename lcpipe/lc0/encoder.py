"""Position history -> lc0's 104 history planes and aux bytes.

Follows lc0's encoder for input formats 1, 2, 3, 4, 5, 132, 133: the
current position and up to 7 earlier ones, all seen from the side to move
(board mirrored and colours swapped when black moves); canonical formats
stop the history at a castling change, an earlier en passant or a rule50
reset, pick a flip/mirror/transpose from the current position and apply it
to every plane; the v2 formats (5, 133) keep only earlier positions that
are repetitions.

Usage: ``GameHistory`` records a game as it is played (one ``Snapshot`` per
position), ``encode(history.snapshots, t, fmt)`` encodes position ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import chess
import numpy as np

from lcpipe.lc0 import bits
from lcpipe.lc0.frames import CANONICAL_FORMATS, INPUT_FORMATS
from lcpipe.lc0.policy import FLIP, MIRROR, TRANSPOSE

FILL_MODES = ("no", "fen_only", "always")
_PIECE_TYPES = (chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN, chess.KING)
_STARTPOS = chess.Board()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One position, everything the encoder needs from it.

    ``white_view``: our P N B R Q K then their P N B R Q K with white as
    "us"; ``black_view``: the same with black as "us", ranks mirrored.
    ``castling``: rook files (white a-side, white h-side, black a-side,
    black h-side), -1 where the right is gone. ``ep_file``: file of a pawn
    that just moved two squares and can be taken (lc0 sets it only when an
    enemy pawn stands beside it), else -1.
    """

    white_view: tuple[int, ...]
    black_view: tuple[int, ...]
    black_to_move: bool
    castling: tuple[int, int, int, int]
    ep_file: int
    rule50: int
    repetitions: int
    is_startpos: bool


def _castling_files(board: chess.Board) -> tuple[int, int, int, int]:
    rights = board.clean_castling_rights()
    if not rights:
        return (-1, -1, -1, -1)
    out = []
    for color, rank_bb in ((chess.WHITE, chess.BB_RANK_1), (chess.BLACK, chess.BB_RANK_8)):
        king = board.king(color)
        kfile = chess.square_file(king) if king is not None else 4
        a_side = h_side = -1
        for sq in chess.scan_forward(rights & rank_bb):
            if chess.square_file(sq) < kfile:
                a_side = chess.square_file(sq)
            else:
                h_side = chess.square_file(sq)
        out += [a_side, h_side]
    return tuple(out)  # type: ignore[return-value]


def _ep_file(board: chess.Board) -> int:
    ep = board.ep_square
    if ep is None:
        return -1
    capturers = chess.BB_PAWN_ATTACKS[not board.turn][ep] & board.pawns & board.occupied_co[board.turn]
    return chess.square_file(ep) if capturers else -1


def position_key(board: chess.Board) -> tuple:
    """What makes two positions equal for repetition counting (lc0's rule)."""
    return (
        board.pawns,
        board.knights,
        board.bishops,
        board.rooks,
        board.queens,
        board.kings,
        board.occupied_co[chess.WHITE],
        board.turn,
        board.clean_castling_rights(),
        _ep_file(board),
    )


def snapshot(board: chess.Board, repetitions: int = 0) -> Snapshot:
    white, black = board.occupied_co[chess.WHITE], board.occupied_co[chess.BLACK]
    kinds = (board.pawns, board.knights, board.bishops, board.rooks, board.queens, board.kings)
    w = tuple(k & white for k in kinds)
    b = tuple(k & black for k in kinds)
    mirror = chess.flip_vertical
    return Snapshot(
        white_view=w + b,
        black_view=tuple(mirror(x) for x in b) + tuple(mirror(x) for x in w),
        black_to_move=board.turn == chess.BLACK,
        castling=_castling_files(board),
        ep_file=_ep_file(board),
        rule50=board.halfmove_clock,
        repetitions=repetitions,
        is_startpos=w + b == _STARTPOS_VIEW
        and board.turn == chess.WHITE
        and board.castling_rights == chess.BB_CORNERS
        and board.ep_square is None,
    )


_STARTPOS_VIEW = tuple(
    _STARTPOS.pieces_mask(pt, c) for c in (chess.WHITE, chess.BLACK) for pt in _PIECE_TYPES
)


class GameHistory:
    """A game being played: the python-chess board and a snapshot per position."""

    def __init__(self, board: chess.Board | None = None):
        self.board = (board or chess.Board()).copy(stack=False)
        self._seen: dict[tuple, int] = {}
        self.snapshots: list[Snapshot] = []
        self._record()

    def _record(self) -> None:
        key = position_key(self.board)
        reps = self._seen.get(key, 0)
        self._seen[key] = reps + 1
        self.snapshots.append(snapshot(self.board, reps))

    def push(self, move: chess.Move) -> None:
        self.board.push(move)
        self._record()

    @classmethod
    def from_board(cls, board: chess.Board) -> GameHistory:
        """Replay ``board``'s move stack from its root position."""
        game = cls(board.root())
        for move in board.move_stack:
            game.push(move)
        return game


@dataclass
class Encoded:
    """One encoded position: the record fields lc0 fills from the encoder.

    ``masks``: the 104 history planes as bitboards (after the transform);
    ``planes``: the same as stored in a record (uint64, bits reversed).
    """

    masks: list[int]
    castling: tuple[int, int, int, int]  # us_ooo, us_oo, them_ooo, them_oo bytes
    side_to_move_or_enpassant: int
    rule50_count: int
    invariance_info: int
    transform: int
    black_to_move: bool

    @property
    def planes(self) -> np.ndarray:
        return bits.to_stored(self.masks)


def _castling_masks(cur: Snapshot, fmt: int) -> tuple[int, int, int]:
    """Bitboards of aux planes 104/105 (and extra 'castling' bits of 106/107)."""
    us_a, us_h, them_a, them_h = _us_them_castling(cur)
    if fmt == 1:
        return (
            bits.FULL if us_a >= 0 else 0,
            bits.FULL if us_h >= 0 else 0,
            (bits.FULL if them_a >= 0 else 0) | (bits.FULL if them_h >= 0 else 0),
        )
    m104 = (1 << us_a if us_a >= 0 else 0) | (1 << (56 + them_a) if them_a >= 0 else 0)
    m105 = (1 << us_h if us_h >= 0 else 0) | (1 << (56 + them_h) if them_h >= 0 else 0)
    return m104, m105, 0


def _us_them_castling(cur: Snapshot) -> tuple[int, int, int, int]:
    wa, wh, ba, bh = cur.castling
    return (ba, bh, wa, wh) if cur.black_to_move else (wa, wh, ba, bh)


def _compare_transposing(value: int, transform: int) -> int:
    if transform & FLIP:
        value = bits.flip(value)
    if transform & MIRROR:
        value = bits.mirror(value)
    alt = bits.transpose(value)
    return (value > alt) - (value < alt)


def choose_transform(masks: list[int], castling_any: bool) -> int:
    """lc0's canonical transform for the current position's planes 0-11."""
    if castling_any:
        return 0
    our_king = masks[5]
    transform = 0
    if our_king & 0x0F0F0F0F0F0F0F0F:
        transform |= FLIP
        our_king = bits.flip(our_king)
    if masks[0] | masks[6]:
        return transform
    if our_king & 0xFFFFFFFF00000000:
        transform |= MIRROR
        our_king = bits.mirror(our_king)
    if our_king & 0xE0C08000:
        return transform | TRANSPOSE
    if our_king & 0x10204080:
        ours = masks[0] | masks[1] | masks[2] | masks[3] | masks[4] | masks[5]
        theirs = masks[6] | masks[7] | masks[8] | masks[9] | masks[10] | masks[11]
        for value in (
            ours | theirs,
            ours,
            masks[5] | masks[11],
            masks[4] | masks[10],
            masks[3] | masks[9],
            masks[1] | masks[7],
            masks[2] | masks[8],
        ):
            outcome = _compare_transposing(value, transform)
            if outcome < 0:
                return transform
            if outcome > 0:
                return transform | TRANSPOSE
    return transform


def _undo_double_push(view: tuple[int, ...], pos: Snapshot, black_view: bool) -> tuple[int, ...]:
    """Put the pawn that just moved two squares back (for filled-in history)."""
    f = pos.ep_file
    # in white's coordinates: the mover's opponent pushed the pawn
    if pos.black_to_move:  # white pushed f2-f4
        src, dst, white_pawn = 8 + f, 24 + f, True
    else:  # black pushed f7-f5
        src, dst, white_pawn = 48 + f, 32 + f, False
    if black_view:
        src, dst = src ^ 56, dst ^ 56
    ours = white_pawn != black_view
    idx = 0 if ours else 6
    out = list(view)
    out[idx] = (out[idx] & ~(1 << dst)) | (1 << src)
    return tuple(out)


def encode(snaps: list[Snapshot], t: int = -1, input_format: int = 1, fill: str = "fen_only") -> Encoded:
    """Encode position ``t`` of a game (default: the last one).

    ``fill`` says what goes into history slots before the first recorded
    position: "no" leaves them empty, "fen_only" repeats the first position
    unless it is the standard start position (lc0's training setting),
    "always" repeats it.
    """
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"unknown input format {input_format}")
    if t < 0:
        t += len(snaps)
    cur = snaps[t]
    black = cur.black_to_move
    canonical = input_format in CANONICAL_FORMATS
    v2 = input_format in (5, 133)
    masks = [0] * 104
    hist = t
    i = 0
    while i < 8:
        pos = snaps[max(hist, 0)]
        if canonical and pos.castling != cur.castling:
            break
        if canonical and hist != t and pos.ep_file >= 0:
            break
        if hist < 0 and (fill == "no" or (fill == "fen_only" and pos.is_startpos)):
            break
        if v2 and pos.repetitions == 0 and i > 0:
            if pos.rule50 == 0 or hist < 0:  # hist < 0: nothing older can repeat
                break
            hist -= 1
            continue
        view = pos.black_view if black else pos.white_view
        if hist < 0 and pos.ep_file >= 0:
            view = _undo_double_push(view, pos, black)
        base = 13 * i
        masks[base : base + 12] = view
        if pos.repetitions >= 1:
            masks[base + 12] = bits.FULL
        if canonical and pos.rule50 == 0:
            break
        hist -= 1
        i += 1

    us_a, us_h, them_a, them_h = _us_them_castling(cur)
    if input_format == 1:
        castling = tuple(int(x >= 0) for x in (us_a, us_h, them_a, them_h))
    else:
        castling = tuple((1 << x) if x >= 0 else 0 for x in (us_a, us_h, them_a, them_h))
    transform = 0
    if canonical:
        m104, m105, m_extra = _castling_masks(cur, input_format)
        transform = choose_transform(masks, bool(m104 | m105 | m_extra))
        if transform:
            masks = [bits.apply_transform(m, transform) for m in masks]
        ep = (1 << cur.ep_file) if cur.ep_file >= 0 else 0
        if ep and transform & FLIP:
            ep = bits.flip(ep)  # byte-wise, so the low byte stays the low byte
        stm_or_ep = ep
        invariance = transform | (128 if black else 0)
    else:
        stm_or_ep = 1 if black else 0
        invariance = 0
    return Encoded(masks, castling, stm_or_ep, min(cur.rule50, 255), invariance, transform, black)  # type: ignore[arg-type]


def encode_board(board: chess.Board, input_format: int = 1, fill: str = "fen_only") -> Encoded:
    """Encode the current position of ``board`` using its move stack as history."""
    return encode(GameHistory.from_board(board).snapshots, -1, input_format, fill)


def encode_game(snaps: list[Snapshot], input_format: int = 1, fill: str = "fen_only") -> list[Encoded]:
    """Every position of a game, encoded."""
    return [encode(snaps, t, input_format, fill) for t in range(len(snaps))]


def fill_frames(frames: np.ndarray, encoded: list[Encoded], input_format: int) -> None:
    """Write planes and aux bytes of ``encoded`` positions into ``frames`` rows."""
    frames["input_format"] = input_format
    frames["planes"] = bits.to_stored([e.masks for e in encoded])
    cast = np.array([e.castling for e in encoded], dtype=np.uint8).reshape(-1, 4)
    frames["castling_us_ooo"] = cast[:, 0]
    frames["castling_us_oo"] = cast[:, 1]
    frames["castling_them_ooo"] = cast[:, 2]
    frames["castling_them_oo"] = cast[:, 3]
    frames["side_to_move_or_enpassant"] = [e.side_to_move_or_enpassant for e in encoded]
    frames["rule50_count"] = [e.rule50_count for e in encoded]
    frames["invariance_info"] = (frames["invariance_info"] & 0x78) | np.array(
        [e.invariance_info for e in encoded], dtype=np.uint8
    )
