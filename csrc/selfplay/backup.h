// Backing a leaf value up the path it was reached by: q flips sign and m
// grows by one per ply.
#pragma once

#include <utility>
#include <vector>

#include "selfplay/tree.h"

namespace lcpipe::selfplay {

using Path = std::vector<std::pair<Node*, size_t>>;  // (node, edge taken)

void backup(const Path& path, Node& leaf, Value v);

}  // namespace lcpipe::selfplay
