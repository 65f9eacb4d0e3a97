#include "selfplay/tree.h"

#include <algorithm>
#include <numeric>

namespace lcpipe::selfplay {

size_t Node::best_edge() const {
  size_t best = 0;
  for (size_t i = 1; i < moves.size(); ++i) {
    const double qi = n_edge[i] > 0 ? w_edge[i] / n_edge[i] : -2.0;
    const double qb = n_edge[best] > 0 ? w_edge[best] / n_edge[best] : -2.0;
    // later edges win exact ties, as numpy's stable lexsort()[-1] does
    if (n_edge[i] != n_edge[best] ? n_edge[i] > n_edge[best]
        : qi != qb                ? qi > qb
                                  : prior_raw[i] >= prior_raw[best])
      best = i;
  }
  return best;
}

int64_t Node::children_visits() const { return std::accumulate(n_edge.begin(), n_edge.end(), int64_t(0)); }

void expand_node(Node& node, std::vector<Move> moves, std::vector<uint16_t> idx0, std::vector<uint16_t> idx,
                 const float* logits, double policy_temperature) {
  const size_t k = moves.size();
  std::vector<size_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return idx0[a] < idx0[b]; });
  node.moves.resize(k);
  node.idx0.resize(k);
  node.idx.resize(k);
  for (size_t j = 0; j < k; ++j) {
    node.moves[j] = moves[order[j]];
    node.idx0[j] = idx0[order[j]];
    node.idx[j] = idx[order[j]];
  }
  // softmax in double of float32 logits / temperature (max subtracted)
  const double t = std::max(policy_temperature, 1e-6);
  std::vector<double> x(k);
  double mx = -INFINITY;
  for (size_t j = 0; j < k; ++j) {
    x[j] = double(logits[node.idx[j]]) / t;
    mx = std::max(mx, x[j]);
  }
  double sum = 0;
  for (size_t j = 0; j < k; ++j) {
    x[j] = std::exp(x[j] - mx);
    sum += x[j];
  }
  for (auto& v : x) v /= sum;
  node.prior_raw = x;
  node.prior = std::move(x);
  node.n_edge.assign(k, 0);
  node.w_edge.assign(k, 0.0);
  node.d_edge.assign(k, 0.0);
  node.m_edge.assign(k, 0.0);
  node.children.clear();
  node.children.resize(k);
  node.expanded = true;
}

}  // namespace lcpipe::selfplay
