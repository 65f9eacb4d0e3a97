// Chess rules for the tablebase prober: attack tables built once, sliding
// attacks by scanning rays to the first blocker, legal moves by making each
// pseudo-legal move and testing the mover's king. Endgames have few pieces, so
// this simple scheme is fast enough and easy to check.
#include "loader/chessboard.h"

#include <cctype>
#include <sstream>

namespace lcpipe::tb {

namespace {

// Ray directions as (file step, rank step); the first four go towards higher
// square numbers, so their first blocker is the lowest set bit.
constexpr int kDirs[8][2] = {{0, 1}, {1, 0}, {1, 1}, {-1, 1}, {0, -1}, {-1, 0}, {-1, -1}, {1, -1}};

struct AttackTables {
  uint64_t knight[64];
  uint64_t king[64];
  uint64_t pawn[2][64];  // squares a pawn of that colour attacks
  uint64_t ray[8][64];
};

uint64_t step_set(int sq, const int (*steps)[2], int n) {
  uint64_t b = 0;
  for (int i = 0; i < n; ++i) {
    int f = sq % 8 + steps[i][0], r = sq / 8 + steps[i][1];
    if (f >= 0 && f < 8 && r >= 0 && r < 8) b |= bit(r * 8 + f);
  }
  return b;
}

AttackTables build_tables() {
  static constexpr int knight_steps[8][2] = {{1, 2}, {2, 1}, {2, -1}, {1, -2}, {-1, -2}, {-2, -1}, {-2, 1}, {-1, 2}};
  static constexpr int white_pawn[2][2] = {{-1, 1}, {1, 1}};
  static constexpr int black_pawn[2][2] = {{-1, -1}, {1, -1}};
  AttackTables t{};
  for (int sq = 0; sq < 64; ++sq) {
    t.knight[sq] = step_set(sq, knight_steps, 8);
    t.king[sq] = step_set(sq, kDirs, 8);
    t.pawn[kWhite][sq] = step_set(sq, white_pawn, 2);
    t.pawn[kBlack][sq] = step_set(sq, black_pawn, 2);
    for (int d = 0; d < 8; ++d) {
      uint64_t b = 0;
      int f = sq % 8 + kDirs[d][0], r = sq / 8 + kDirs[d][1];
      for (; f >= 0 && f < 8 && r >= 0 && r < 8; f += kDirs[d][0], r += kDirs[d][1]) b |= bit(r * 8 + f);
      t.ray[d][sq] = b;
    }
  }
  return t;
}

const AttackTables& tables() {
  static const AttackTables t = build_tables();
  return t;
}

uint64_t ray_attacks(const AttackTables& t, int d, int sq, uint64_t occ) {
  uint64_t r = t.ray[d][sq];
  uint64_t blockers = r & occ;
  if (blockers) r &= ~t.ray[d][d < 4 ? lsb(blockers) : msb(blockers)];
  return r;
}

uint64_t bishop_attacks(const AttackTables& t, int sq, uint64_t occ) {
  return ray_attacks(t, 2, sq, occ) | ray_attacks(t, 3, sq, occ) | ray_attacks(t, 6, sq, occ) |
         ray_attacks(t, 7, sq, occ);
}

uint64_t rook_attacks(const AttackTables& t, int sq, uint64_t occ) {
  return ray_attacks(t, 0, sq, occ) | ray_attacks(t, 1, sq, occ) | ray_attacks(t, 4, sq, occ) |
         ray_attacks(t, 5, sq, occ);
}

uint64_t piece_attacks(const AttackTables& t, Color c, int type, int sq, uint64_t occ) {
  switch (type) {
    case kPawn: return t.pawn[c][sq];
    case kKnight: return t.knight[sq];
    case kBishop: return bishop_attacks(t, sq, occ);
    case kRook: return rook_attacks(t, sq, occ);
    case kQueen: return bishop_attacks(t, sq, occ) | rook_attacks(t, sq, occ);
    default: return t.king[sq];
  }
}

void add(MoveList* out, int from, int to, int promotion, bool capture, bool ep, bool pawn) {
  Move& m = out->moves[out->size++];
  m.from = int8_t(from);
  m.to = int8_t(to);
  m.promotion = int8_t(promotion);
  m.capture = capture;
  m.en_passant = ep;
  m.pawn = pawn;
}

void pawn_moves(const Position& p, int from, uint64_t occ, bool captures_only, MoveList* out) {
  const AttackTables& t = tables();
  const Color us = p.to_move;
  const int fwd = us == kWhite ? 8 : -8;
  const int last_rank = us == kWhite ? 7 : 0;
  const int start_rank = us == kWhite ? 1 : 6;
  auto emit = [&](int to, bool capture) {
    if (to / 8 == last_rank) {
      for (int pr : {kQueen, kRook, kBishop, kKnight}) add(out, from, to, pr, capture, false, true);
    } else {
      add(out, from, to, -1, capture, false, true);
    }
  };
  int one = from + fwd;
  if (!captures_only && !(occ & bit(one))) {
    emit(one, false);
    if (from / 8 == start_rank && !(occ & bit(one + fwd))) add(out, from, one + fwd, -1, false, false, true);
  }
  uint64_t caps = t.pawn[us][from] & p.by_color[1 - us];
  while (caps) {
    int to = lsb(caps);
    caps &= caps - 1;
    emit(to, true);
  }
  if (p.ep_square >= 0 && (t.pawn[us][from] & bit(p.ep_square))) add(out, from, p.ep_square, -1, true, true, true);
}

}  // namespace

int Position::piece_count() const { return popcount(by_color[kWhite] | by_color[kBlack]); }

uint64_t occupied(const Position& p) { return p.by_color[kWhite] | p.by_color[kBlack]; }

uint64_t pieces(const Position& p, Color c, PieceType t) { return p.by_color[c] & p.by_type[t]; }

int piece_type_on(const Position& p, int sq) {
  for (int t = kPawn; t <= kKing; ++t)
    if (p.by_type[t] & bit(sq)) return t;
  return -1;
}

bool square_attacked(const Position& p, int sq, Color by) {
  const AttackTables& t = tables();
  const uint64_t occ = occupied(p);
  const uint64_t them = p.by_color[by];
  const uint64_t diag = them & (p.by_type[kBishop] | p.by_type[kQueen]);
  const uint64_t line = them & (p.by_type[kRook] | p.by_type[kQueen]);
  // A pawn of `by` attacks sq when a pawn of the other colour on sq would attack it.
  return (t.pawn[1 - by][sq] & them & p.by_type[kPawn]) || (t.knight[sq] & them & p.by_type[kKnight]) ||
         (t.king[sq] & them & p.by_type[kKing]) || (diag && (bishop_attacks(t, sq, occ) & diag)) ||
         (line && (rook_attacks(t, sq, occ) & line));
}

bool in_check(const Position& p, Color side) {
  uint64_t king = pieces(p, side, kKing);
  return king && square_attacked(p, lsb(king), Color(1 - side));
}

Position make_move(const Position& p, const Move& m) {
  Position n = p;
  const Color us = p.to_move, them = Color(1 - us);
  const int type = piece_type_on(p, m.from);
  const uint64_t from_to = bit(m.from) | bit(m.to);
  if (m.capture) {
    int victim_sq = m.en_passant ? m.to + (us == kWhite ? -8 : 8) : m.to;
    int victim = piece_type_on(p, victim_sq);
    n.by_color[them] &= ~bit(victim_sq);
    if (victim >= 0) n.by_type[victim] &= ~bit(victim_sq);
  }
  n.by_color[us] ^= from_to;
  n.by_type[type] ^= bit(m.from);
  n.by_type[m.promotion >= 0 ? m.promotion : type] |= bit(m.to);
  n.ep_square = (m.pawn && (m.to - m.from == 16 || m.from - m.to == 16)) ? (m.from + m.to) / 2 : -1;
  n.rule50 = m.zeroing() ? 0 : p.rule50 + 1;
  n.to_move = them;
  return n;
}

void legal_moves(const Position& p, MoveList* out, bool captures_only) {
  const AttackTables& t = tables();
  out->size = 0;
  const Color us = p.to_move;
  const uint64_t occ = occupied(p);
  const uint64_t own = p.by_color[us], theirs = p.by_color[1 - us];
  MoveList pseudo;
  for (uint64_t b = own; b;) {
    int from = lsb(b);
    b &= b - 1;
    int type = piece_type_on(p, from);
    if (type == kPawn) {
      pawn_moves(p, from, occ, captures_only, &pseudo);
      continue;
    }
    uint64_t targets = piece_attacks(t, us, type, from, occ) & (captures_only ? theirs : ~own);
    while (targets) {
      int to = lsb(targets);
      targets &= targets - 1;
      add(&pseudo, from, to, -1, (theirs & bit(to)) != 0, false, false);
    }
  }
  for (const Move& m : pseudo)
    if (!in_check(make_move(p, m), us)) out->moves[out->size++] = m;
}

bool is_checkmate(const Position& p) {
  if (!in_check(p, p.to_move)) return false;
  MoveList moves;
  legal_moves(p, &moves);
  return moves.size == 0;
}

bool is_valid(const Position& p) {
  const uint64_t occ = occupied(p);
  if (p.by_color[kWhite] & p.by_color[kBlack]) return false;
  uint64_t typed = 0;
  for (int t = kPawn; t <= kKing; ++t) {
    if (typed & p.by_type[t]) return false;
    typed |= p.by_type[t];
  }
  if (typed != occ) return false;
  if (popcount(pieces(p, kWhite, kKing)) != 1 || popcount(pieces(p, kBlack, kKing)) != 1) return false;
  if (p.by_type[kPawn] & 0xFF000000000000FFull) return false;
  if (p.to_move != kWhite && p.to_move != kBlack) return false;
  if (in_check(p, Color(1 - p.to_move))) return false;
  if (p.ep_square != -1) {
    // White to move: the square is on rank 6, a black pawn stands on rank 5
    // below it and the pawn's start square on rank 7 is empty (mirrored for black).
    if (p.ep_square < 0 || p.ep_square > 63) return false;
    const bool white = p.to_move == kWhite;
    if (p.ep_square / 8 != (white ? 5 : 2)) return false;
    const int pawn_sq = p.ep_square + (white ? -8 : 8), start_sq = p.ep_square + (white ? 8 : -8);
    if ((occ & bit(p.ep_square)) || (occ & bit(start_sq))) return false;
    if (!(pieces(p, Color(1 - p.to_move), kPawn) & bit(pawn_sq))) return false;
  }
  return true;
}

bool parse_fen(const std::string& fen, Position* out, std::string* error) {
  std::istringstream in(fen);
  std::string board, side, castling = "-", ep = "-";
  in >> board >> side;
  if (board.empty() || side.empty()) {
    *error = "FEN needs at least a board and a side to move";
    return false;
  }
  in >> castling >> ep;
  Position p;
  int rank = 7, file = 0;
  for (char ch : board) {
    if (ch == '/') {
      if (file != 8 || rank == 0) {
        *error = "FEN board: bad rank layout";
        return false;
      }
      --rank;
      file = 0;
    } else if (ch >= '1' && ch <= '8') {
      file += ch - '0';
      if (file > 8) {
        *error = "FEN board: rank longer than 8 squares";
        return false;
      }
    } else {
      static const std::string kLetters = "pnbrqk";
      size_t type = kLetters.find(char(std::tolower(static_cast<unsigned char>(ch))));
      if (type == std::string::npos || file > 7) {
        *error = std::string("FEN board: unexpected '") + ch + "'";
        return false;
      }
      int sq = rank * 8 + file++;
      p.by_color[std::isupper(static_cast<unsigned char>(ch)) ? kWhite : kBlack] |= bit(sq);
      p.by_type[type] |= bit(sq);
    }
  }
  if (rank != 0 || file != 8) {
    *error = "FEN board: not 8 ranks of 8 squares";
    return false;
  }
  if (side != "w" && side != "b") {
    *error = "FEN side to move must be 'w' or 'b'";
    return false;
  }
  p.to_move = side == "w" ? kWhite : kBlack;
  if (castling != "-") {
    if (castling.find_first_not_of("KQkq") != std::string::npos) {
      *error = "FEN castling field: unexpected characters";
      return false;
    }
    p.castling = true;
  }
  if (ep != "-") {
    if (ep.size() != 2 || ep[0] < 'a' || ep[0] > 'h' || (ep[1] != '3' && ep[1] != '6')) {
      *error = "FEN en-passant field: expected '-' or a square on rank 3 or 6";
      return false;
    }
    p.ep_square = (ep[1] - '1') * 8 + (ep[0] - 'a');
  }
  int halfmove = 0;
  if (in >> halfmove) p.rule50 = halfmove;
  *out = p;
  return true;
}

}  // namespace lcpipe::tb
