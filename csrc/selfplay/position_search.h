// The search of one given position (with its game history) for a UCI engine
// or a golden test: playouts until a visit budget, one leaf evaluated at a
// time; reports the best move, visits, q/d/m and the principal variation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "selfplay/board.h"
#include "selfplay/search.h"

namespace lcpipe::selfplay {

struct EdgeInfo {
  std::string uci;
  int64_t visits = 0;
  double prior = 0;
  Value value;  // from the side to move; NaN if unvisited
};

class PositionSearch {
 public:
  // `moves` (UCI) are played from `fen` ("" or "startpos": the standard position).
  PositionSearch(const SearchParams& p, const std::string& fen, const std::vector<std::string>& moves, uint64_t seed);

  // Apply the outputs for the leaf asked for before (null the first time),
  // then play out until a leaf needs the network (true: its input is in
  // input()) or `max_visits` root visits are reached (false).
  bool step(const float* logits, const float* wdl, float moves_left, int64_t max_visits);
  const float* input() const { return input_.data(); }

  int64_t visits() const { return search_.root().n; }
  Value root_value() const;
  std::vector<EdgeInfo> edges() const;  // in the engine's edge order
  std::string best_move() const;
  std::vector<std::string> pv(int max_len = 32) const;
  std::string fen() const { return board_.fen(); }

 private:
  Board board_;
  Search search_;
  Rng rng_;
  std::vector<float> input_;
};

}  // namespace lcpipe::selfplay
