// Chess rules: positions as bitboards, legal moves (Chess960-safe castling),
// making moves, FEN/X-FEN/Shredder-FEN, UCI moves, Zobrist hashing.
//
// Squares: a1 = 0, b1 = 1, ..., h8 = 63 (rank * 8 + file), absolute colours.
// Castling is stored as the king taking its own rook (e1h1, e1a1), so one
// representation serves standard chess and Chess960.
#pragma once

#include <cstdint>
#include <string>

namespace lcpipe::chess {

enum Color : int { kWhite = 0, kBlack = 1 };
enum PieceType : int { kPawn = 0, kKnight, kBishop, kRook, kQueen, kKing };

inline int lsb(uint64_t b) { return __builtin_ctzll(b); }
inline int msb(uint64_t b) { return 63 - __builtin_clzll(b); }
inline int popcount(uint64_t b) { return __builtin_popcountll(b); }
inline uint64_t bit(int sq) { return uint64_t(1) << sq; }

constexpr uint64_t kRank1 = 0xFFull, kRank8 = 0xFF00000000000000ull;

struct Position {
  uint64_t by_color[2] = {0, 0};
  uint64_t by_type[6] = {0, 0, 0, 0, 0, 0};
  Color to_move = kWhite;
  int ep_square = -1;           // square behind a pawn that just moved two ranks, or -1
  int rule50 = 0;               // plies since the last capture or pawn move
  int ply = 0;                  // plies since the start of the game: 2 * (fullmove - 1) + black
  uint64_t castling_rooks = 0;  // squares of rooks that may still castle (rank 1: white, rank 8: black)
  bool chess960 = false;        // UCI castling as king-to-rook (else e1g1); set by parse_fen
  uint64_t hash = 0;            // Zobrist key (compute_hash); set by parse_fen, updated by make_move

  int piece_count() const;
  bool has_castling() const { return castling_rooks != 0; }
  int fullmove() const { return ply / 2 + 1; }
};

struct Move {
  int8_t from = 0;
  int8_t to = 0;          // for castling: the square of the own rook
  int8_t promotion = -1;  // PieceType promoted to, or -1
  bool capture = false;   // en passant included; never set for castling
  bool en_passant = false;
  bool pawn = false;  // a pawn moved
  bool castle = false;
  bool zeroing() const { return capture || pawn; }  // resets the 50-move counter
  bool operator==(const Move& o) const { return from == o.from && to == o.to && promotion == o.promotion; }
  bool operator!=(const Move& o) const { return !(*this == o); }
};

struct MoveList {
  Move moves[256];
  int size = 0;
  const Move* begin() const { return moves; }
  const Move* end() const { return moves + size; }
  const Move& operator[](int i) const { return moves[i]; }
};

uint64_t occupied(const Position& p);
uint64_t pieces(const Position& p, Color c, PieceType t);
int piece_type_on(const Position& p, int sq);  // -1 when empty

bool square_attacked(const Position& p, int sq, Color by);
bool in_check(const Position& p, Color side);
inline bool in_check(const Position& p) { return in_check(p, p.to_move); }

// Every legal move of the side to move (only captures, en passant included,
// when `captures_only`; castling is never a capture).
void legal_moves(const Position& p, MoveList* out, bool captures_only = false);
// The position after `m` (which must come from legal_moves of `p`).
Position make_move(const Position& p, const Move& m);
bool is_checkmate(const Position& p);
bool is_stalemate(const Position& p);

// lc0's rule (ChessBoard::HasMatingMaterial): a pawn, rook or queen is
// enough; with fewer than four pieces on the board it is not; otherwise a
// knight is enough, and bishops alone only when they stand on both colours.
// Not FIDE's dead position: K+N v K+N counts as mating material here.
bool insufficient_material(const Position& p);

// File of the en-passant square when a pawn of the side to move stands
// next to the pawn that just moved two (pins ignored), else -1. This is the
// en passant that counts for repetitions and the canonical input planes.
int ep_capture_file(const Position& p);

// Zobrist key over pieces, side to move, castling rooks and ep_capture_file:
// equal keys <=> equal positions for repetition counting (lc0's rule, same as
// lcpipe.lc0.encoder.position_key), up to hash collisions.
uint64_t compute_hash(const Position& p);
// Exact repetition equality (what the hash stands for).
bool same_position(const Position& a, const Position& b);

// Structurally sound and legal to reach: one king per side, no overlapping
// bitboards, no pawns on the first or last rank, the side not to move not in
// check, an en-passant square only behind a pawn that can have just moved two.
bool is_valid(const Position& p);

// Parses FEN, X-FEN or Shredder-FEN (castling as KQkq, rook files A-H/a-h,
// or a mix; the last two fields may be missing). Castling rights without
// their king on the back rank and rook on the named square are dropped.
// False with a reason in *error on malformed input; no check beyond syntax
// and that each side has at most one king.
bool parse_fen(const std::string& fen, Position* out, std::string* error);
// Throws std::invalid_argument with the reason.
Position position_from_fen(const std::string& fen);
// FEN with KQkq castling where it is unambiguous, else Shredder letters.
std::string to_fen(const Position& p);

extern const char* const kStartFen;

// UCI text: e2e4, e7e8q; castling e1g1 in standard chess, king-to-rook (e1h1)
// when p.chess960.
std::string move_to_uci(const Position& p, const Move& m);
// The legal move `uci` names in `p` (castling accepted both as e1g1 and
// e1h1), or false.
bool move_from_uci(const Position& p, const std::string& uci, Move* out);

// Leaf nodes at `depth` (perft).
uint64_t perft(const Position& p, int depth);

}  // namespace lcpipe::chess
