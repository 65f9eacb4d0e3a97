// A finished game -> its V6 training records, filled as lcpipe's Python
// writer (lcpipe/selfplay/writer.py) and lc0 fill them: one record per
// position where a move was played.
#pragma once

#include <vector>

#include "selfplay/game.h"
#include "selfplay/record.h"

namespace lcpipe::selfplay {

std::vector<V6Record> game_records(const SelfPlayGame& game);

}  // namespace lcpipe::selfplay
