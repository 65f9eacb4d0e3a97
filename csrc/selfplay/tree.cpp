#include "selfplay/tree.h"

#include <algorithm>

namespace lcpipe::selfplay {

size_t Node::best_edge() const {
  size_t best = 0;
  for (size_t i = 1; i < edges.size(); ++i) {
    const Edge& e = edges[i];
    const Edge& b = edges[best];
    const double qi = e.n > 0 ? e.w / e.n : -2.0;
    const double qb = b.n > 0 ? b.w / b.n : -2.0;
    // later edges win exact ties, as numpy's stable lexsort()[-1] does
    if (e.n != b.n ? e.n > b.n : qi != qb ? qi > qb : e.prior_raw >= b.prior_raw) best = i;
  }
  return best;
}

void expand_node(Node& node, std::vector<PendingEdge>& pending, const float* logits, double policy_temperature) {
  std::sort(pending.begin(), pending.end(), [](const PendingEdge& a, const PendingEdge& b) { return a.idx0 < b.idx0; });
  const size_t k = pending.size();
  node.edges.clear();
  node.edges.resize(k);
  // softmax in double of float32 logits / temperature (max subtracted), summed left to right
  const double t = std::max(policy_temperature, 1e-6);
  double mx = -INFINITY;
  for (size_t j = 0; j < k; ++j) {
    Edge& e = node.edges[j];
    e.move = pending[j].move;
    e.idx0 = pending[j].idx0;
    e.idx = pending[j].idx;
    e.prior = double(logits[e.idx]) / t;
    mx = std::max(mx, e.prior);
  }
  double sum = 0;
  for (Edge& e : node.edges) {
    e.prior = std::exp(e.prior - mx);
    sum += e.prior;
  }
  for (Edge& e : node.edges) e.prior_raw = e.prior = e.prior / sum;
  node.expanded = true;
}

}  // namespace lcpipe::selfplay
