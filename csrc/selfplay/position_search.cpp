#include "selfplay/position_search.h"

#include <stdexcept>

namespace lcpipe::selfplay {

PositionSearch::PositionSearch(const SearchParams& p, const std::string& fen, const std::vector<std::string>& moves,
                               uint64_t seed)
    : board_(fen), search_(p), rng_(seed), input_(112 * 64, 0.0f) {
  for (const auto& u : moves) {
    Move m;
    if (!board_.parse_uci(u, &m)) throw std::invalid_argument("move " + u + " is not legal in " + board_.fen());
    board_.push(m);
  }
  if (board_.legal_moves().empty()) throw std::invalid_argument("the position has no legal moves: " + board_.fen());
}

bool PositionSearch::step(const float* logits, const float* wdl, float moves_left, int64_t max_visits) {
  if (search_.pending()) {
    if (!logits || !wdl) throw std::invalid_argument("the waiting leaf needs the network's outputs");
    search_.apply(logits, wdl, moves_left);
  }
  while (search_.root().n < max_visits) {
    if (search_.playout(board_, input_.data(), rng_)) return true;
  }
  return false;
}

Value PositionSearch::root_value() const {
  const Node& r = search_.root();
  return Value{r.q(), r.d(), r.m()};
}

std::vector<EdgeInfo> PositionSearch::edges() const {
  const Node& r = search_.root();
  std::vector<EdgeInfo> out;
  for (const Edge& e : r.edges) out.push_back(EdgeInfo{board_.uci(e.move), e.n, e.prior_raw, e.value()});
  return out;
}

std::string PositionSearch::best_move() const {
  const Node& r = search_.root();
  if (r.size() == 0) return "";
  return board_.uci(r.edges[r.best_edge()].move);
}

std::vector<std::string> PositionSearch::pv(int max_len) const {
  std::vector<std::string> out;
  Board b = board_;
  const Node* node = &search_.root();
  while (node && node->size() > 0 && int(out.size()) < max_len) {
    const Edge& e = node->edges[node->best_edge()];
    if (e.n == 0) break;
    out.push_back(b.uci(e.move));
    b.push(e.move);
    node = e.child.get();
  }
  return out;
}

}  // namespace lcpipe::selfplay
