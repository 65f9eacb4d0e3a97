// Chess rules. Attack tables are built once; sliding attacks scan each ray to
// its first blocker. Legal moves come from check and pin masks (a pinned piece
// moves along its pin line, in check only blocks or captures count, the king
// never steps onto an attacked square); en passant, the one move that can
// uncover a check along the rank, is made and tested instead.
#include "chess/board.h"

#include <cctype>
#include <sstream>
#include <stdexcept>

namespace lcpipe::chess {

const char* const kStartFen = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";

namespace {

// Ray directions as (file step, rank step); the first four go towards higher
// square numbers, so their first blocker is the lowest set bit.
constexpr int kDirs[8][2] = {{0, 1}, {1, 0}, {1, 1}, {-1, 1}, {0, -1}, {-1, 0}, {-1, -1}, {1, -1}};

struct Tables {
  uint64_t knight[64];
  uint64_t king[64];
  uint64_t pawn[2][64];  // squares a pawn of that colour attacks
  uint64_t ray[8][64];
  uint64_t between[64][64];  // squares strictly between two aligned squares
  uint64_t line[64][64];     // the whole line through two aligned squares
  uint64_t zobrist_piece[2][6][64];
  uint64_t zobrist_castling[64];
  uint64_t zobrist_ep[8];
  uint64_t zobrist_black;
};

uint64_t step_set(int sq, const int (*steps)[2], int n) {
  uint64_t b = 0;
  for (int i = 0; i < n; ++i) {
    int f = sq % 8 + steps[i][0], r = sq / 8 + steps[i][1];
    if (f >= 0 && f < 8 && r >= 0 && r < 8) b |= bit(r * 8 + f);
  }
  return b;
}

uint64_t splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Tables* build_tables() {
  static constexpr int knight_steps[8][2] = {{1, 2}, {2, 1}, {2, -1}, {1, -2}, {-1, -2}, {-2, -1}, {-2, 1}, {-1, 2}};
  static constexpr int white_pawn[2][2] = {{-1, 1}, {1, 1}};
  static constexpr int black_pawn[2][2] = {{-1, -1}, {1, -1}};
  Tables* t = new Tables{};
  for (int sq = 0; sq < 64; ++sq) {
    t->knight[sq] = step_set(sq, knight_steps, 8);
    t->king[sq] = step_set(sq, kDirs, 8);
    t->pawn[kWhite][sq] = step_set(sq, white_pawn, 2);
    t->pawn[kBlack][sq] = step_set(sq, black_pawn, 2);
    for (int d = 0; d < 8; ++d) {
      uint64_t b = 0;
      int f = sq % 8 + kDirs[d][0], r = sq / 8 + kDirs[d][1];
      for (; f >= 0 && f < 8 && r >= 0 && r < 8; f += kDirs[d][0], r += kDirs[d][1]) b |= bit(r * 8 + f);
      t->ray[d][sq] = b;
    }
  }
  for (int a = 0; a < 64; ++a) {
    for (int d = 0; d < 8; ++d) {
      for (uint64_t r = t->ray[d][a]; r; r &= r - 1) {
        const int b = lsb(r);
        t->between[a][b] = t->ray[d][a] & ~t->ray[d][b] & ~bit(b);
        t->line[a][b] = t->ray[d][a] | t->ray[(d + 4) % 8][a] | bit(a);
      }
    }
  }
  uint64_t state = 0x6C63706970656C63ull;  // fixed: keys are the same in every run
  for (auto& colour : t->zobrist_piece)
    for (auto& type : colour)
      for (uint64_t& k : type) k = splitmix64(&state);
  for (uint64_t& k : t->zobrist_castling) k = splitmix64(&state);
  for (uint64_t& k : t->zobrist_ep) k = splitmix64(&state);
  t->zobrist_black = splitmix64(&state);
  return t;
}

const Tables& tables() {
  static const Tables* t = build_tables();
  return *t;
}

uint64_t ray_attacks(const Tables& t, int d, int sq, uint64_t occ) {
  uint64_t r = t.ray[d][sq];
  uint64_t blockers = r & occ;
  if (blockers) r &= ~t.ray[d][d < 4 ? lsb(blockers) : msb(blockers)];
  return r;
}

uint64_t bishop_attacks(const Tables& t, int sq, uint64_t occ) {
  return ray_attacks(t, 2, sq, occ) | ray_attacks(t, 3, sq, occ) | ray_attacks(t, 6, sq, occ) |
         ray_attacks(t, 7, sq, occ);
}

uint64_t rook_attacks(const Tables& t, int sq, uint64_t occ) {
  return ray_attacks(t, 0, sq, occ) | ray_attacks(t, 1, sq, occ) | ray_attacks(t, 4, sq, occ) |
         ray_attacks(t, 5, sq, occ);
}

uint64_t piece_attacks(const Tables& t, Color c, int type, int sq, uint64_t occ) {
  switch (type) {
    case kPawn: return t.pawn[c][sq];
    case kKnight: return t.knight[sq];
    case kBishop: return bishop_attacks(t, sq, occ);
    case kRook: return rook_attacks(t, sq, occ);
    case kQueen: return bishop_attacks(t, sq, occ) | rook_attacks(t, sq, occ);
    default: return t.king[sq];
  }
}

// Pieces of colour `by` attacking `sq` with the board occupied as `occ`.
uint64_t attackers(const Tables& t, const Position& p, int sq, Color by, uint64_t occ) {
  const uint64_t them = p.by_color[by] & occ;
  const uint64_t diag = them & (p.by_type[kBishop] | p.by_type[kQueen]);
  const uint64_t line = them & (p.by_type[kRook] | p.by_type[kQueen]);
  // A pawn of `by` attacks sq when a pawn of the other colour on sq would attack it.
  uint64_t a = (t.pawn[1 - by][sq] & them & p.by_type[kPawn]) | (t.knight[sq] & them & p.by_type[kKnight]) |
               (t.king[sq] & them & p.by_type[kKing]);
  if (diag) a |= bishop_attacks(t, sq, occ) & diag;
  if (line) a |= rook_attacks(t, sq, occ) & line;
  return a;
}

void add(MoveList* out, int from, int to, int promotion, bool capture, bool pawn) {
  Move& m = out->moves[out->size++];
  m.from = int8_t(from);
  m.to = int8_t(to);
  m.promotion = int8_t(promotion);
  m.capture = capture;
  m.en_passant = false;
  m.pawn = pawn;
  m.castle = false;
}

void add_pawn_move(MoveList* out, int from, int to, bool capture) {
  if (to >= 56 || to < 8) {
    for (int pr : {kQueen, kRook, kBishop, kKnight}) add(out, from, to, pr, capture, true);
  } else {
    add(out, from, to, -1, capture, true);
  }
}

// Castling of the side to move with the rook on `rook` (not in check).
void add_castling(const Tables& t, const Position& p, int king, int rook, MoveList* out) {
  const Color us = p.to_move;
  const int base = us == kWhite ? 0 : 56;
  const bool h_side = rook > king;
  const int king_to = base + (h_side ? 6 : 2), rook_to = base + (h_side ? 5 : 3);
  const uint64_t occ = occupied(p) ^ bit(king) ^ bit(rook);
  const uint64_t path = t.between[king][king_to] | bit(king_to) | t.between[rook][rook_to] | bit(rook_to);
  if (path & occ) return;
  // Without the castling rook on the board: in Chess960 it may shield the
  // king's destination from a rook or queen behind it.
  const uint64_t king_path = t.between[king][king_to] | bit(king_to);
  for (uint64_t b = king_path; b; b &= b - 1)
    if (attackers(t, p, lsb(b), Color(1 - us), occ)) return;
  Move& m = out->moves[out->size++];
  m = Move{};
  m.from = int8_t(king);
  m.to = int8_t(rook);
  m.castle = true;
}

}  // namespace

int Position::piece_count() const { return popcount(by_color[kWhite] | by_color[kBlack]); }

uint64_t occupied(const Position& p) { return p.by_color[kWhite] | p.by_color[kBlack]; }

uint64_t pieces(const Position& p, Color c, PieceType t) { return p.by_color[c] & p.by_type[t]; }

int piece_type_on(const Position& p, int sq) {
  const uint64_t b = bit(sq);
  for (int t = kPawn; t <= kKing; ++t)
    if (p.by_type[t] & b) return t;
  return -1;
}

bool square_attacked(const Position& p, int sq, Color by) { return attackers(tables(), p, sq, by, occupied(p)) != 0; }

bool in_check(const Position& p, Color side) {
  uint64_t king = pieces(p, side, kKing);
  return king && square_attacked(p, lsb(king), Color(1 - side));
}

int ep_capture_file(const Position& p) {
  if (p.ep_square < 0) return -1;
  const uint64_t capturers = tables().pawn[1 - p.to_move][p.ep_square] & pieces(p, p.to_move, kPawn);
  return capturers ? p.ep_square % 8 : -1;
}

uint64_t compute_hash(const Position& p) {
  const Tables& t = tables();
  uint64_t h = p.to_move == kBlack ? t.zobrist_black : 0;
  for (int c = 0; c < 2; ++c)
    for (int type = 0; type < 6; ++type)
      for (uint64_t b = p.by_color[c] & p.by_type[type]; b; b &= b - 1) h ^= t.zobrist_piece[c][type][lsb(b)];
  for (uint64_t b = p.castling_rooks; b; b &= b - 1) h ^= t.zobrist_castling[lsb(b)];
  const int ep = ep_capture_file(p);
  if (ep >= 0) h ^= t.zobrist_ep[ep];
  return h;
}

bool same_position(const Position& a, const Position& b) {
  for (int c = 0; c < 2; ++c)
    if (a.by_color[c] != b.by_color[c]) return false;
  for (int t = 0; t < 6; ++t)
    if (a.by_type[t] != b.by_type[t]) return false;
  return a.to_move == b.to_move && a.castling_rooks == b.castling_rooks && ep_capture_file(a) == ep_capture_file(b);
}

Position make_move(const Position& p, const Move& m) {
  // The Zobrist key is updated with each change (callers keep p.hash valid:
  // parse_fen, make_move and compute_hash set it).
  const Tables& t = tables();
  Position n = p;
  const Color us = p.to_move, them = Color(1 - us);
  const uint64_t back_rank = us == kWhite ? kRank1 : kRank8;
  uint64_t h = p.hash ^ t.zobrist_black;
  const int old_ep = ep_capture_file(p);
  if (old_ep >= 0) h ^= t.zobrist_ep[old_ep];
  auto move_piece = [&](Color c, int type, int from, int to) {
    n.by_color[c] ^= bit(from) | bit(to);
    n.by_type[type] ^= bit(from) | bit(to);
    h ^= t.zobrist_piece[c][type][from] ^ t.zobrist_piece[c][type][to];
  };
  n.ep_square = -1;
  if (m.castle) {
    const int base = us == kWhite ? 0 : 56;
    const bool h_side = m.to > m.from;
    const int king_to = base + (h_side ? 6 : 2), rook_to = base + (h_side ? 5 : 3);
    // lift both first: in Chess960 the king may land where the rook stood, or the other way round
    n.by_color[us] &= ~(bit(m.from) | bit(m.to));
    n.by_type[kKing] &= ~bit(m.from);
    n.by_type[kRook] &= ~bit(m.to);
    n.by_color[us] |= bit(king_to) | bit(rook_to);
    n.by_type[kKing] |= bit(king_to);
    n.by_type[kRook] |= bit(rook_to);
    h ^= t.zobrist_piece[us][kKing][m.from] ^ t.zobrist_piece[us][kKing][king_to] ^ t.zobrist_piece[us][kRook][m.to] ^
         t.zobrist_piece[us][kRook][rook_to];
    n.castling_rooks &= ~back_rank;
    n.rule50 = p.rule50 + 1;
  } else {
    const int type = piece_type_on(p, m.from);
    const int victim_sq = m.en_passant ? m.to + (us == kWhite ? -8 : 8) : m.to;
    const bool capture = (p.by_color[them] & bit(victim_sq)) != 0;
    if (capture) {
      const int victim = piece_type_on(p, victim_sq);
      n.by_color[them] ^= bit(victim_sq);
      n.by_type[victim] ^= bit(victim_sq);
      h ^= t.zobrist_piece[them][victim][victim_sq];
    }
    move_piece(us, type, m.from, m.to);
    if (m.promotion >= 0) {
      n.by_type[type] ^= bit(m.to);
      n.by_type[m.promotion] |= bit(m.to);
      h ^= t.zobrist_piece[us][type][m.to] ^ t.zobrist_piece[us][m.promotion][m.to];
    }
    if (type == kPawn && (m.to - m.from == 16 || m.from - m.to == 16)) n.ep_square = (m.from + m.to) / 2;
    if (type == kKing) n.castling_rooks &= ~back_rank;
    n.castling_rooks &= ~(bit(m.from) | bit(m.to));
    n.rule50 = (capture || type == kPawn) ? 0 : p.rule50 + 1;
  }
  for (uint64_t lost = p.castling_rooks & ~n.castling_rooks; lost; lost &= lost - 1) h ^= t.zobrist_castling[lsb(lost)];
  n.to_move = them;
  n.ply = p.ply + 1;
  const int new_ep = ep_capture_file(n);
  if (new_ep >= 0) h ^= t.zobrist_ep[new_ep];
  n.hash = h;
  return n;
}

void legal_moves(const Position& p, MoveList* out, bool captures_only) {
  const Tables& t = tables();
  out->size = 0;
  const Color us = p.to_move, them = Color(1 - us);
  const uint64_t occ = occupied(p);
  const uint64_t own = p.by_color[us], theirs = p.by_color[them];
  const uint64_t king_bb = own & p.by_type[kKing];
  const int king = king_bb ? lsb(king_bb) : -1;

  uint64_t checkers = 0, pinned = 0;
  if (king >= 0) {
    checkers = attackers(t, p, king, them, occ);
    // Enemy sliders that would attack the king through exactly one own piece pin it.
    const uint64_t snipers = (rook_attacks(t, king, 0) & theirs & (p.by_type[kRook] | p.by_type[kQueen])) |
                             (bishop_attacks(t, king, 0) & theirs & (p.by_type[kBishop] | p.by_type[kQueen]));
    for (uint64_t s = snipers; s; s &= s - 1) {
      const uint64_t blockers = t.between[king][lsb(s)] & occ;
      if (blockers && !(blockers & (blockers - 1)) && (blockers & own)) pinned |= blockers;
    }
  }
  uint64_t target = captures_only ? theirs : ~own;
  if (checkers) target &= t.between[king][lsb(checkers)] | checkers;
  const bool double_check = checkers & (checkers - 1);

  if (!double_check) {
    const uint64_t pawns = own & p.by_type[kPawn];
    for (uint64_t b = own & ~p.by_type[kKing] & ~pawns; b; b &= b - 1) {
      const int from = lsb(b);
      uint64_t targets = piece_attacks(t, us, piece_type_on(p, from), from, occ) & target;
      if (pinned & bit(from)) targets &= t.line[king][from];
      for (; targets; targets &= targets - 1) {
        const int to = lsb(targets);
        add(out, from, to, -1, (theirs & bit(to)) != 0, false);
      }
    }
    const int fwd = us == kWhite ? 8 : -8;
    const uint64_t start_rank = us == kWhite ? 0xFF00ull : 0x00FF000000000000ull;
    for (uint64_t b = pawns; b; b &= b - 1) {
      const int from = lsb(b);
      const uint64_t pin_line = (pinned & bit(from)) ? t.line[king][from] : ~uint64_t(0);
      const int one = from + fwd;
      if (!captures_only && !(occ & bit(one))) {
        if (target & pin_line & bit(one)) add_pawn_move(out, from, one, false);
        const int two = one + fwd;
        if ((start_rank & bit(from)) && !(occ & bit(two)) && (target & pin_line & bit(two)))
          add(out, from, two, -1, false, true);
      }
      for (uint64_t caps = t.pawn[us][from] & theirs & target & pin_line; caps; caps &= caps - 1)
        add_pawn_move(out, from, lsb(caps), true);
      if (p.ep_square >= 0 && (t.pawn[us][from] & bit(p.ep_square)) && !(occ & bit(p.ep_square)) &&
          (theirs & p.by_type[kPawn] & bit(p.ep_square - fwd))) {
        Move m;
        m.from = int8_t(from);
        m.to = int8_t(p.ep_square);
        m.capture = m.en_passant = m.pawn = true;
        if (!in_check(make_move(p, m), us)) out->moves[out->size++] = m;
      }
    }
  }
  if (king < 0) return;
  for (uint64_t b = t.king[king] & (captures_only ? theirs : ~own); b; b &= b - 1) {
    const int to = lsb(b);
    if (!attackers(t, p, to, them, occ ^ king_bb)) add(out, king, to, -1, (theirs & bit(to)) != 0, false);
  }
  if (!captures_only && !checkers) {
    const uint64_t back_rank = us == kWhite ? kRank1 : kRank8;
    if (king_bb & back_rank)
      for (uint64_t r = p.castling_rooks & back_rank & own & p.by_type[kRook]; r; r &= r - 1)
        add_castling(t, p, king, lsb(r), out);
  }
}

bool is_checkmate(const Position& p) {
  if (!in_check(p, p.to_move)) return false;
  MoveList moves;
  legal_moves(p, &moves);
  return moves.size == 0;
}

bool is_stalemate(const Position& p) {
  if (in_check(p, p.to_move)) return false;
  MoveList moves;
  legal_moves(p, &moves);
  return moves.size == 0;
}

bool insufficient_material(const Position& p) {
  if (p.by_type[kPawn] | p.by_type[kRook] | p.by_type[kQueen]) return false;
  if (p.piece_count() < 4) return true;
  if (p.by_type[kKnight]) return false;
  constexpr uint64_t kLight = 0x55AA55AA55AA55AAull, kDark = 0xAA55AA55AA55AA55ull;
  return !((p.by_type[kBishop] & kLight) && (p.by_type[kBishop] & kDark));
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
  if (p.by_type[kPawn] & (kRank1 | kRank8)) return false;
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

namespace {

// The rook square one castling letter of the FEN names, or -1.
int castling_rook(const Position& p, char ch) {
  const Color c = std::isupper(static_cast<unsigned char>(ch)) ? kWhite : kBlack;
  const char lower = char(std::tolower(static_cast<unsigned char>(ch)));
  const uint64_t back_rank = c == kWhite ? kRank1 : kRank8;
  const uint64_t king = pieces(p, c, kKing) & back_rank;
  const uint64_t rooks = pieces(p, c, kRook) & back_rank;
  if (!king) return -1;
  const int k = lsb(king);
  if (lower == 'k' || lower == 'q') {
    // X-FEN: the outermost rook on that side of the king
    const uint64_t side = lower == 'k' ? rooks & ~((bit(k) << 1) - 1) : rooks & (bit(k) - 1);
    if (!side) return -1;
    return lower == 'k' ? msb(side) : lsb(side);
  }
  const int sq = (c == kWhite ? 0 : 56) + (lower - 'a');
  return (rooks & bit(sq)) ? sq : -1;
}

bool standard_castling(const Position& p) {
  for (uint64_t r = p.castling_rooks; r; r &= r - 1) {
    const int sq = lsb(r);
    const int king_sq = sq < 8 ? 4 : 60;
    if (sq % 8 != 0 && sq % 8 != 7) return false;
    if (!(p.by_type[kKing] & bit(king_sq))) return false;
  }
  return true;
}

}  // namespace

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
  if (popcount(pieces(p, kWhite, kKing)) > 1 || popcount(pieces(p, kBlack, kKing)) > 1) {
    *error = "FEN board: more than one king of a colour";
    return false;
  }
  if (side != "w" && side != "b") {
    *error = "FEN side to move must be 'w' or 'b'";
    return false;
  }
  p.to_move = side == "w" ? kWhite : kBlack;
  if (castling != "-") {
    for (char ch : castling) {
      const char lower = char(std::tolower(static_cast<unsigned char>(ch)));
      if (!(lower == 'k' || lower == 'q' || (lower >= 'a' && lower <= 'h'))) {
        *error = std::string("FEN castling field: unexpected '") + ch + "'";
        return false;
      }
      const int sq = castling_rook(p, ch);
      if (sq >= 0) p.castling_rooks |= bit(sq);
    }
  }
  if (ep != "-") {
    if (ep.size() != 2 || ep[0] < 'a' || ep[0] > 'h' || (ep[1] != '3' && ep[1] != '6')) {
      *error = "FEN en-passant field: expected '-' or a square on rank 3 or 6";
      return false;
    }
    p.ep_square = (ep[1] - '1') * 8 + (ep[0] - 'a');
  }
  std::string halfmove, fullmove;
  in >> halfmove >> fullmove;
  try {
    if (!halfmove.empty()) p.rule50 = std::stoi(halfmove);
    const int moves = fullmove.empty() ? 1 : std::stoi(fullmove);
    p.ply = 2 * (moves > 0 ? moves - 1 : 0) + (p.to_move == kBlack ? 1 : 0);
  } catch (const std::exception&) {
    *error = "FEN move counters must be numbers";
    return false;
  }
  if (p.rule50 < 0) {
    *error = "FEN halfmove clock must not be negative";
    return false;
  }
  p.chess960 = !standard_castling(p);
  p.hash = compute_hash(p);
  *out = p;
  return true;
}

Position position_from_fen(const std::string& fen) {
  Position p;
  std::string error;
  if (!parse_fen(fen, &p, &error)) throw std::invalid_argument("bad FEN '" + fen + "': " + error);
  return p;
}

std::string to_fen(const Position& p) {
  static const char kLetters[] = "pnbrqk";
  std::string s;
  for (int rank = 7; rank >= 0; --rank) {
    int empty = 0;
    for (int file = 0; file < 8; ++file) {
      const int sq = rank * 8 + file;
      const int type = piece_type_on(p, sq);
      if (type < 0) {
        ++empty;
        continue;
      }
      if (empty) s += char('0' + empty);
      empty = 0;
      const char ch = kLetters[type];
      s += (p.by_color[kWhite] & bit(sq)) ? char(std::toupper(ch)) : ch;
    }
    if (empty) s += char('0' + empty);
    if (rank) s += '/';
  }
  s += p.to_move == kWhite ? " w " : " b ";
  std::string castling;
  for (Color c : {kWhite, kBlack}) {
    const uint64_t back_rank = c == kWhite ? kRank1 : kRank8;
    const uint64_t rights = p.castling_rooks & back_rank;
    const uint64_t king = pieces(p, c, kKing) & back_rank;
    if (!rights || !king) continue;
    const int k = lsb(king);
    const uint64_t rooks = pieces(p, c, kRook) & back_rank;
    auto letter = [&](int sq, char xfen) {
      const uint64_t side = sq > k ? rooks & ~((bit(k) << 1) - 1) : rooks & (bit(k) - 1);
      const bool outermost = side && (sq > k ? msb(side) : lsb(side)) == sq;
      char ch = outermost ? xfen : char('a' + sq % 8);
      castling += c == kWhite ? char(std::toupper(ch)) : ch;
    };
    // h-side first, as in KQkq
    const uint64_t h_side = rights & ~((bit(k) << 1) - 1), a_side = rights & (bit(k) - 1);
    if (h_side) letter(msb(h_side), 'k');
    if (a_side) letter(lsb(a_side), 'q');
  }
  s += castling.empty() ? "-" : castling;
  const int ep = ep_capture_file(p);
  s += ' ';
  s += ep >= 0 ? std::string{char('a' + ep), p.to_move == kWhite ? '6' : '3'} : std::string("-");
  s += ' ' + std::to_string(p.rule50) + ' ' + std::to_string(p.fullmove());
  return s;
}

std::string move_to_uci(const Position& p, const Move& m) {
  int to = m.to;
  if (m.castle && !p.chess960) to = (m.from & 56) + (m.to > m.from ? 6 : 2);
  std::string s{char('a' + m.from % 8), char('1' + m.from / 8), char('a' + to % 8), char('1' + to / 8)};
  if (m.promotion > 0) s += "pnbrqk"[m.promotion];
  return s;
}

bool move_from_uci(const Position& p, const std::string& uci, Move* out) {
  if (uci.size() < 4 || uci.size() > 5) return false;
  auto square = [](char f, char r) {
    return (f < 'a' || f > 'h' || r < '1' || r > '8') ? -1 : (r - '1') * 8 + (f - 'a');
  };
  const int from = square(uci[0], uci[1]), to = square(uci[2], uci[3]);
  if (from < 0 || to < 0) return false;
  int promotion = -1;
  if (uci.size() == 5) {
    static const std::string kPromo = "nbrq";
    const size_t k = kPromo.find(uci[4]);
    if (k == std::string::npos) return false;
    promotion = int(k) + kKnight;
  }
  MoveList moves;
  legal_moves(p, &moves);
  for (const Move& m : moves)
    if (m.from == from && m.to == to && m.promotion == promotion) {
      *out = m;
      return true;
    }
  if (p.chess960 || promotion >= 0) return false;
  for (const Move& m : moves)
    if (m.castle && m.from == from && (m.from & 56) + (m.to > m.from ? 6 : 2) == to) {
      *out = m;
      return true;
    }
  return false;
}

uint64_t perft(const Position& p, int depth) {
  if (depth <= 0) return 1;
  MoveList moves;
  legal_moves(p, &moves);
  if (depth == 1) return uint64_t(moves.size);
  uint64_t n = 0;
  for (const Move& m : moves) n += perft(make_move(p, m), depth - 1);
  return n;
}

}  // namespace lcpipe::chess
