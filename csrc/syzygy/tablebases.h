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

#include "chess/board.h"

namespace lcpipe::tb {

// Positions and rules come from the chess layer.
using chess::bit;
using chess::Color;
using chess::kBishop;
using chess::kBlack;
using chess::kKing;
using chess::kKnight;
using chess::kPawn;
using chess::kQueen;
using chess::kRook;
using chess::kWhite;
using chess::lsb;
using chess::Move;
using chess::MoveList;
using chess::msb;
using chess::PieceType;
using chess::popcount;
using chess::Position;

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
