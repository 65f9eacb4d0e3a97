// Dirichlet noise on root priors (lc0's --noise-epsilon / --noise-alpha).
#pragma once

#include <random>

#include "selfplay/tree.h"

namespace lcpipe::selfplay {

using Rng = std::mt19937_64;

// prior = (1 - eps) * prior_raw + eps * Dirichlet(alpha); eps <= 0 restores prior_raw.
void add_root_noise(Node& root, double alpha, double eps, Rng& rng);

}  // namespace lcpipe::selfplay
