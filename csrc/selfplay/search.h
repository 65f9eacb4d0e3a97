// The search of one position: playouts that walk the tree to a leaf, the
// pending leaf's expansion once the network has evaluated it, tree reuse.
//
// At most one leaf per tree waits for the network at a time (no virtual
// loss): parallelism comes from many trees (games) sharing a batch, so a
// tree's sequence of playouts is exactly that of a sequential search.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "selfplay/backup.h"
#include "selfplay/board.h"
#include "selfplay/noise.h"
#include "selfplay/params.h"
#include "selfplay/tree.h"

namespace lcpipe::selfplay {

class Search {
 public:
  explicit Search(const SearchParams& p) : params_(p), root_(std::make_unique<Node>()) {}

  // One playout from the current position of `board` (moves pushed while
  // walking are popped again). True: a leaf waits for the network, its input
  // written to `input` (f32[112*64]). False: the playout ended in a terminal
  // position, which was backed up at once.
  bool playout(Board& board, float* input, Rng& rng);
  // Expand the waiting leaf with the network's outputs and back its value up.
  void apply(const float* logits, const float* wdl, float moves_left);
  bool pending() const { return pending_ != nullptr; }
  // The game played root edge i: keep that subtree (tree reuse) or start afresh.
  void advance(size_t i);
  // Start afresh from a new position (drops the tree).
  void reset();

  Node& root() { return *root_; }
  const Node& root() const { return *root_; }
  const SearchParams& params() const { return params_; }
  SearchParams& params() { return params_; }

 private:
  void prepare_leaf(Board& board, Node* node, const std::vector<Move>& moves, float* input);

  SearchParams params_;
  std::unique_ptr<Node> root_;
  bool noised_ = false;
  Path path_;
  Node* pending_ = nullptr;
  std::vector<PendingEdge> pending_edges_;  // reused: no allocation per leaf once warm
  std::vector<Move> moves_;
};

}  // namespace lcpipe::selfplay
