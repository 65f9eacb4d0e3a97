// PUCT selection: argmax over edges of Q + U, with lc0's growing cpuct,
// first-play urgency (a separate reduction at the root) and an optional
// moves-left utility. Computed in double in the reference's order, so the
// native and Python searches pick the same edges.
#pragma once

#include <cstddef>

#include "selfplay/params.h"
#include "selfplay/tree.h"

namespace lcpipe::selfplay {

// cpuct + factor * log((n + base) / base)
double cpuct_at(const SearchParams& p, int64_t n);

// The edge to descend from `node` (which must be expanded and not terminal).
size_t select_edge(const Node& node, const SearchParams& p, bool is_root);

}  // namespace lcpipe::selfplay
