// Syzygy endgame tablebases: WDL (.rtbw) and DTZ (.rtbz) probing, up to 7 pieces.
//
// The loader's rescore stage asks these tables for the exact game-theoretic
// value of endgame positions. Tables are memory-mapped when first needed;
// probing is thread-safe (many loader threads probe one Tablebases).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lcpipe::tb {

enum Color : int { kWhite = 0, kBlack = 1 };
enum PieceType : int { kPawn = 0, kKnight, kBishop, kRook, kQueen, kKing };

// A chess position in absolute colours; square a1 = 0, b1 = 1, ..., h8 = 63.
struct Position {
  uint64_t by_color[2] = {0, 0};
  uint64_t by_type[6] = {0, 0, 0, 0, 0, 0};
  Color to_move = kWhite;
  int ep_square = -1;     // square behind a pawn that just moved two ranks, or -1
  int rule50 = 0;         // plies since the last capture or pawn move
  bool castling = false;  // any castling right left: tables do not cover these

  int piece_count() const;
};

// Value for the side to move, ignoring the 50-move counter (as tables store it).
// Cursed win / blessed loss: won / lost, but not within the 50-move rule.
enum class Wdl : int { kLoss = -2, kBlessedLoss = -1, kDraw = 0, kCursedWin = 1, kWin = 2 };

class Tablebases {
 public:
  // Finds every *.rtbw / *.rtbz file directly in the given directories.
  // Throws std::runtime_error naming the directory if one cannot be read.
  explicit Tablebases(const std::vector<std::string>& dirs);
  ~Tablebases();
  Tablebases(const Tablebases&) = delete;
  Tablebases& operator=(const Tablebases&) = delete;

  int max_pieces() const;  // largest piece count (kings included) with a WDL table
  size_t wdl_tables() const;
  size_t dtz_tables() const;

  // Empty when the position is not covered: castling rights, more pieces than
  // max_pieces(), a missing or unreadable table, or an illegal position (the
  // side not to move in check).
  std::optional<Wdl> probe_wdl(const Position& pos) const;

  // Distance to zeroing in plies for the side to move, with the sign of the
  // result (positive: wins), 0 for draws, the same values python-chess's
  // chess.syzygy.Tablebase.probe_dtz gives. Empty when not covered.
  std::optional<int> probe_dtz(const Position& pos) const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace lcpipe::tb
