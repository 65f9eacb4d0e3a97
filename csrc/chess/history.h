// A game as a sequence of positions with lc0's repetition bookkeeping and its
// game-end rules (PositionHistory::ComputeGameResult in lc0).
#pragma once

#include <vector>

#include "chess/board.h"

namespace lcpipe::chess {

enum class GameResult : int { kUndecided = 0, kWhiteWon = 1, kBlackWon = 2, kDraw = 3 };

class PositionHistory {
 public:
  PositionHistory();  // the standard start position
  explicit PositionHistory(const Position& start);

  void reset(const Position& start);
  // Plays `m` (a legal move of last()) and records the new position.
  void push(const Move& m);
  // Takes back the last push (the start position stays).
  void pop();

  int size() const { return int(entries_.size()); }
  const Position& last() const { return entries_.back().pos; }
  const Position& at(int i) const { return entries_[i].pos; }
  // Earlier occurrences of position i in this history (0: first time).
  int repetitions(int i) const { return entries_[i].repetitions; }
  // Plies back to the previous occurrence of position i, 0 when it is new.
  int plies_since_repetition(int i) const { return entries_[i].plies_since_repetition; }

  // The game's result at last(), in lc0's order: no legal move is mate or
  // stalemate; then insufficient material (lc0's rule), rule50 >= 100 and a
  // third occurrence are draws.
  GameResult result() const;
  // The same inside a search tree whose root is `plies_from_root` plies back:
  // a position seen once before counts as a draw too when that earlier
  // occurrence is at or after the root (lc0's two-fold draw in the tree).
  GameResult search_result(int plies_from_root) const;
  // The same when the caller already generated last()'s legal moves (a
  // search expanding the node): skips generating them again.
  GameResult search_result(int plies_from_root, int legal_move_count) const;

 private:
  struct Entry {
    Position pos;
    int repetitions;
    int plies_since_repetition;
  };
  void record(const Position& p);
  std::vector<Entry> entries_;
};

}  // namespace lcpipe::chess
