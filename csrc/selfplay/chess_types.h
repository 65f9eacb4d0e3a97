// The chess layer's types as the self-play engine names them.
#pragma once

#include "chess/board.h"

namespace lcpipe::selfplay {
using Move = chess::Move;
}
