// Board's state, shared by board.cpp (rules) and board_encode.cpp (encoder, policy, tables).
#pragma once

#include <vector>

#include "chess/board.h"
#include "selfplay/board.h"

namespace lcpipe::selfplay {

struct Board::Impl {
  std::vector<chess::Position> positions;  // the start position, then one per pushed move
  std::vector<int> reps;                   // earlier occurrences of each position
  int count_repetitions() const;           // of the last position
};

}  // namespace lcpipe::selfplay
