#include "selfplay/select.h"

#include <algorithm>
#include <cmath>

namespace lcpipe::selfplay {

double cpuct_at(const SearchParams& p, int64_t n) {
  return p.cpuct + p.cpuct_factor * std::log((double(n) + p.cpuct_base) / p.cpuct_base);
}

namespace {

// lc0's moves-left utility: prefer shorter wins and longer losses, scaled by
// how sure the node is of the result. 0 when disabled.
double moves_left_bonus(const SearchParams& p, double q, double m_edge, double m_parent) {
  if (p.moves_left_slope <= 0 || std::fabs(q) < p.moves_left_threshold) return 0.0;
  const double effect =
      std::clamp(p.moves_left_slope * (m_edge - m_parent), -p.moves_left_max_effect, p.moves_left_max_effect);
  return -effect * (q > 0 ? 1.0 : q < 0 ? -1.0 : 0.0) * std::fabs(q);
}

}  // namespace

size_t select_edge(const Node& node, const SearchParams& p, bool is_root) {
  const size_t k = node.size();
  int64_t children_visits = 0;
  double visited_policy = 0.0;  // summed in edge order, as the reference does
  for (const Edge& e : node.edges) {
    children_visits += e.n;
    if (e.n > 0) visited_policy += e.prior;
  }
  const double reduction = is_root ? p.fpu_reduction_root : p.fpu_reduction;
  const double fpu = node.q() - reduction * std::sqrt(visited_policy);
  const double factor = cpuct_at(p, node.n) * std::sqrt(double(std::max<int64_t>(children_visits, 1)));
  const double m_parent = node.m();
  size_t best = 0;
  double best_score = -INFINITY;
  for (size_t i = 0; i < k; ++i) {
    const Edge& e = node.edges[i];
    double q = e.n > 0 ? e.w / double(e.n) : fpu;
    if (e.n > 0) q += moves_left_bonus(p, q, e.m / double(e.n), m_parent);
    const double u = factor * e.prior / (1.0 + double(e.n));
    const double score = q + u;
    if (score > best_score) {  // the first of equal scores, like numpy's argmax
      best_score = score;
      best = i;
    }
  }
  return best;
}

}  // namespace lcpipe::selfplay
