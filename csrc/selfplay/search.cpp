#include "selfplay/search.h"

#include <stdexcept>

#include "selfplay/select.h"

namespace lcpipe::selfplay {

bool Search::playout(Board& board, float* input, Rng& rng) {
  if (pending_) throw std::logic_error("playout while a leaf waits for the network");
  Node* node = root_.get();
  if (!node->expanded) {
    auto moves = board.legal_moves();
    if (moves.empty()) throw std::invalid_argument("search from a position without legal moves");
    path_.clear();
    prepare_leaf(board, node, moves, input);
    return true;
  }
  if (!noised_) {
    add_root_noise(*node, params_.noise_alpha, params_.noise_epsilon, rng);
    noised_ = true;
  }
  path_.clear();
  int pushed = 0;
  bool leaf = false;
  while (true) {
    if (node->terminal != Terminal::kNone) {
      backup(path_, *node, terminal_value(node->terminal));
      break;
    }
    const size_t i = select_edge(*node, params_, path_.empty());
    board.push(node->edges[i].move);
    ++pushed;
    path_.emplace_back(node, i);
    auto& slot = node->edges[i].child;
    if (!slot) {
      slot = std::make_unique<Node>();
      board.legal_moves(&moves_);
      const Terminal t = board.terminal(moves_, /*in_tree=*/true);
      if (t != Terminal::kNone) {
        slot->terminal = t;
        slot->eval = terminal_value(t);
        slot->expanded = true;
        backup(path_, *slot, slot->eval);
        break;
      }
      prepare_leaf(board, slot.get(), moves_, input);
      leaf = true;
      break;
    }
    node = slot.get();
  }
  for (int k = 0; k < pushed; ++k) board.pop();
  return leaf;
}

void Search::prepare_leaf(Board& board, Node* node, const std::vector<Move>& moves, float* input) {
  const int transform = board.encode_input(params_.input_format, input);
  pending_edges_.resize(moves.size());
  for (size_t j = 0; j < moves.size(); ++j) {
    PendingEdge& e = pending_edges_[j];
    e.move = moves[j];
    e.idx0 = board.policy_index(moves[j], 0);
    e.idx = transform ? board.policy_index(moves[j], transform) : e.idx0;
  }
  pending_ = node;
}

void Search::apply(const float* logits, const float* wdl, float moves_left) {
  if (!pending_) throw std::logic_error("no leaf waits for the network");
  Node& node = *pending_;
  pending_ = nullptr;
  expand_node(node, pending_edges_, logits, params_.policy_temperature);
  node.eval = Value{double(wdl[0] - wdl[2]), double(wdl[1]), double(moves_left)};
  backup(path_, node, node.eval);
  path_.clear();
}

void Search::advance(size_t i) {
  std::unique_ptr<Node> child;
  if (params_.tree_reuse && i < root_->size()) child = std::move(root_->edges[i].child);
  if (!child || child->terminal != Terminal::kNone) {
    child = std::make_unique<Node>();
  } else {
    for (Edge& e : child->edges) e.prior = e.prior_raw;
  }
  root_ = std::move(child);
  noised_ = false;
  pending_ = nullptr;
  path_.clear();
}

void Search::reset() {
  root_ = std::make_unique<Node>();
  noised_ = false;
  pending_ = nullptr;
  path_.clear();
}

}  // namespace lcpipe::selfplay
