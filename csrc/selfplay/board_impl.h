// Board's state, shared by board.cpp (rules) and board_encode.cpp (encoder, policy index).
#pragma once

#include "chess/history.h"
#include "selfplay/board.h"

namespace lcpipe::selfplay {

struct Board::Impl {
  chess::PositionHistory history;  // the start position, then one per pushed move, with repetition counts
};

}  // namespace lcpipe::selfplay
