// lc0's 1858-move policy index. The table itself has one source,
// lcpipe/lc0/policy.py: the extension installs it from there when it is
// imported (lcpipe._native.chess), so C++ never holds a second copy by hand.
#pragma once

#include <cstdint>

#include "chess/board.h"

namespace lcpipe::chess {

constexpr int kPolicySize = 1858;

// Promotion codes of the table: 0 none (a knight promotion uses the plain
// from-to index), 1 queen, 2 rook, 3 bishop.
// Installs the table: from, to (in white's view) and promotion code per
// index. Throws std::invalid_argument when it is not a valid 1858 table.
void install_policy_table(const int16_t* from, const int16_t* to, const int8_t* promotion, int n);
bool policy_table_installed();

// The square map lc0 applies to moves for an input transform (FLIP 1,
// MIRROR 2, TRANSPOSE 4): a 180 degree turn whenever TRANSPOSE is set, else
// the board transform (lcpipe.lc0.policy.move_transform).
int move_transform(int transform);
int transform_square(int sq, int transform);  // FLIP, then MIRROR, then TRANSPOSE

// The move of `index` in white's view: from, to and promotion code.
void policy_move(int index, int* from, int* to, int* promotion);

// Policy index of a legal move of `p` under `transform` (0..7); -1 only for
// a move lc0's table lacks (none that is legal). Throws std::logic_error if
// the table was not installed.
int policy_index(const Position& p, const Move& m, int transform = 0);
// The legal move of `p` with that index, or false.
bool move_from_policy_index(const Position& p, int index, int transform, Move* out);

}  // namespace lcpipe::chess
