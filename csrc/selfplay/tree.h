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

struct Node {
  std::vector<Move> moves;
  std::vector<uint16_t> idx0;        // policy index without canonical transform (also the edge order)
  std::vector<uint16_t> idx;         // policy index the network saw (after the transform)
  std::vector<double> prior;         // selection priors (root noise mixed in)
  std::vector<double> prior_raw;     // the network's priors
  std::vector<int64_t> n_edge;
  std::vector<double> w_edge, d_edge, m_edge;
  std::vector<std::unique_ptr<Node>> children;
  int64_t n = 0;  // visits of this node, its own evaluation included
  double q_sum = 0, d_sum = 0, m_sum = 0;
  Value eval{NAN, NAN, NAN};  // raw evaluation
  Terminal terminal = Terminal::kNone;
  bool expanded = false;

  size_t size() const { return moves.size(); }
  double q() const { return n ? q_sum / n : 0.0; }
  double d() const { return n ? d_sum / n : 0.0; }
  double m() const { return n ? m_sum / n : 0.0; }
  // (q, d, m) of edge i from this node's side to move; NaN if unvisited.
  Value edge_value(size_t i) const {
    const int64_t k = n_edge[i];
    if (k == 0) return {NAN, NAN, NAN};
    return {w_edge[i] / k, d_edge[i] / k, m_edge[i] / k};
  }
  // Most visited edge; ties broken by q, then by prior, then the later edge
  // (numpy's lexsort()[-1] in the reference).
  size_t best_edge() const;
  int64_t children_visits() const;
};

// Sets a leaf's edges: moves sorted by idx0, priors from the network logits
// (softmax at `policy_temperature`, in double, as the reference computes it).
void expand_node(Node& node, std::vector<Move> moves, std::vector<uint16_t> idx0, std::vector<uint16_t> idx,
                 const float* logits, double policy_temperature);

}  // namespace lcpipe::selfplay
