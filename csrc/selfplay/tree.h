// Node and edge storage of one search tree.
//
// Values are (q, d, m) from the side to move at a node: q = W - L, d the draw
// probability, m the plies left. Edge statistics live on the parent, from the
// parent's side to move, so selection reads them without flipping signs.
// Children are created lazily, one per visited edge. Edges are kept in the
// order of their untransformed policy index, so ties in selection break the
// same way in every engine (the Python reference sorts the same way).
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "selfplay/chess_types.h"

namespace lcpipe::selfplay {

enum class Terminal : uint8_t { kNone = 0, kMate, kDraw };

struct Value {
  double q = 0, d = 0, m = 0;
};

// (q, d, m) of a terminal position from its side to move (mated: lost).
inline Value terminal_value(Terminal t) { return t == Terminal::kMate ? Value{-1, 0, 0} : Value{0, 1, 0}; }

struct Node;

// One move out of a node, with its statistics from the node's side to move.
struct Edge {
  Move move;
  uint16_t idx0 = 0;     // policy index without canonical transform (also the edge order)
  uint16_t idx = 0;      // policy index the network saw (after the transform)
  double prior = 0;      // selection prior (root noise mixed in)
  double prior_raw = 0;  // the network's prior
  int64_t n = 0;
  double w = 0, d = 0, m = 0;  // sums of q, d, m over the edge's visits
  std::unique_ptr<Node> child;

  // (q, d, m) from the parent's side to move; NaN if unvisited.
  Value value() const {
    if (n == 0) return {NAN, NAN, NAN};
    return {w / n, d / n, m / n};
  }
};

// A position in the tree: its edges in one allocation, children created lazily.
struct Node {
  std::vector<Edge> edges;
  int64_t n = 0;  // visits of this node, its own evaluation included
  double q_sum = 0, d_sum = 0, m_sum = 0;
  Value eval{NAN, NAN, NAN};  // raw evaluation
  Terminal terminal = Terminal::kNone;
  bool expanded = false;

  size_t size() const { return edges.size(); }
  double q() const { return n ? q_sum / n : 0.0; }
  double d() const { return n ? d_sum / n : 0.0; }
  double m() const { return n ? m_sum / n : 0.0; }
  // Most visited edge; ties broken by q, then by prior, then the later edge
  // (numpy's lexsort()[-1] in the reference).
  size_t best_edge() const;
};

// A leaf's moves and their policy indices, before the network has spoken.
struct PendingEdge {
  Move move;
  uint16_t idx0, idx;
};

// Sets a leaf's edges: moves sorted by idx0, priors from the network logits
// (softmax at `policy_temperature`, in double, as the reference computes it).
void expand_node(Node& node, std::vector<PendingEdge>& pending, const float* logits, double policy_temperature);

}  // namespace lcpipe::selfplay
