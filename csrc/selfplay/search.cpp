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
    prepare_leaf(board, node, std::move(moves), input);
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
    board.push(node->moves[i]);
    ++pushed;
    path_.emplace_back(node, i);
    auto& slot = node->children[i];
    if (!slot) {
      slot = std::make_unique<Node>();
      auto moves = board.legal_moves();
      const Terminal t = board.terminal(moves, /*in_tree=*/true);
      if (t != Terminal::kNone) {
        slot->terminal = t;
        slot->eval = terminal_value(t);
        slot->expanded = true;
        backup(path_, *slot, slot->eval);
        break;
      }
      prepare_leaf(board, slot.get(), std::move(moves), input);
      leaf = true;
      break;
    }
    node = slot.get();
  }
  for (int k = 0; k < pushed; ++k) board.pop();
  return leaf;
}

void Search::prepare_leaf(Board& board, Node* node, std::vector<Move> moves, float* input) {
  const int transform = board.encode_input(params_.input_format, input);
  pending_idx0_.resize(moves.size());
  pending_idx_.resize(moves.size());
  for (size_t j = 0; j < moves.size(); ++j) {
    pending_idx0_[j] = board.policy_index(moves[j], 0);
    pending_idx_[j] = transform ? board.policy_index(moves[j], transform) : pending_idx0_[j];
  }
  pending_moves_ = std::move(moves);
  pending_ = node;
}

void Search::apply(const float* logits, const float* wdl, float moves_left) {
  if (!pending_) throw std::logic_error("no leaf waits for the network");
  Node& node = *pending_;
  pending_ = nullptr;
  expand_node(node, std::move(pending_moves_), std::move(pending_idx0_), std::move(pending_idx_), logits,
              params_.policy_temperature);
  pending_moves_ = {};
  pending_idx0_ = {};
  pending_idx_ = {};
  node.eval = Value{double(wdl[0] - wdl[2]), double(wdl[1]), double(moves_left)};
  backup(path_, node, node.eval);
  path_.clear();
}

void Search::advance(size_t i) {
  std::unique_ptr<Node> child;
  if (params_.tree_reuse && i < root_->children.size()) child = std::move(root_->children[i]);
  if (!child || child->terminal != Terminal::kNone) {
    child = std::make_unique<Node>();
  } else {
    child->prior = child->prior_raw;
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
