#include "selfplay/noise.h"

namespace lcpipe::selfplay {

void add_root_noise(Node& root, double alpha, double eps, Rng& rng) {
  for (Edge& e : root.edges) e.prior = e.prior_raw;
  if (eps <= 0 || root.size() == 0) return;
  // a Dirichlet sample is independent gamma draws, normalised
  std::gamma_distribution<double> gamma(alpha, 1.0);
  std::vector<double> g(root.size());
  double sum = 0;
  for (auto& x : g) sum += (x = gamma(rng));
  if (!(sum > 0)) return;  // every draw underflowed (tiny alpha): keep the network's priors
  for (size_t i = 0; i < g.size(); ++i) root.edges[i].prior = (1 - eps) * root.edges[i].prior_raw + eps * g[i] / sum;
}

}  // namespace lcpipe::selfplay
