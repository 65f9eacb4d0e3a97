// Minimal chess rules on tb::Position for the tablebase prober: attacks, legal
// moves (no castling: tables never hold castling rights), making a move, FEN.
#pragma once

#include <cstdint>
#include <string>

#include "loader/syzygy.h"

namespace lcpipe::tb {

inline int lsb(uint64_t b) { return __builtin_ctzll(b); }
inline int msb(uint64_t b) { return 63 - __builtin_clzll(b); }
inline int popcount(uint64_t b) { return __builtin_popcountll(b); }
inline uint64_t bit(int sq) { return uint64_t(1) << sq; }

struct Move {
  int8_t from = 0;
  int8_t to = 0;
  int8_t promotion = -1;  // PieceType promoted to, or -1
  bool capture = false;   // en passant included
  bool en_passant = false;
  bool pawn = false;      // a pawn moved
  bool zeroing() const { return capture || pawn; }  // resets the 50-move counter
};

struct MoveList {
  Move moves[256];
  int size = 0;
  const Move* begin() const { return moves; }
  const Move* end() const { return moves + size; }
};

uint64_t occupied(const Position& p);
uint64_t pieces(const Position& p, Color c, PieceType t);
int piece_type_on(const Position& p, int sq);  // -1 when empty

bool square_attacked(const Position& p, int sq, Color by);
bool in_check(const Position& p, Color side);

// Every legal move of the side to move (only captures, en passant included,
// when `captures_only`).
void legal_moves(const Position& p, MoveList* out, bool captures_only = false);
// The position after `m` (which must come from legal_moves of `p`).
Position make_move(const Position& p, const Move& m);
bool is_checkmate(const Position& p);

// Structurally sound and legal to reach: one king per side, no overlapping
// bitboards, no pawns on the first or last rank, the side not to move not in
// check, an en-passant square only behind a pawn that can have just moved two.
bool is_valid(const Position& p);

// Parses a FEN (the last two fields may be missing). False with a reason in
// *error on malformed input; no validity check beyond the syntax.
bool parse_fen(const std::string& fen, Position* out, std::string* error);

}  // namespace lcpipe::tb
