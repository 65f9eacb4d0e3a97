// Settings of the native self-play search and games, read once from the
// stage's settings (the names match lcpipe/selfplay/stages.py).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lcpipe::selfplay {

struct SearchParams {
  int visits = 32;                  // root visits per move, reused subtree visits included
  double cpuct = 1.745;             // lc0 --cpuct
  double cpuct_base = 38739.0;      // lc0 --cpuct-base
  double cpuct_factor = 3.894;      // lc0 --cpuct-factor
  double fpu_reduction = 0.33;      // below the root
  double fpu_reduction_root = 0.0;  // at the root
  double noise_alpha = 0.3;
  double noise_epsilon = 0.25;      // 0 disables root noise
  double policy_temperature = 1.0;  // lc0 --policy-softmax-temp
  bool tree_reuse = true;
  int input_format = 1;
  // Moves-left utility (lc0's MLH settings): 0 disables it.
  double moves_left_slope = 0.0;
  double moves_left_max_effect = 0.0;
  double moves_left_threshold = 0.0;
};

struct GameParams {
  int max_plies = 200;
  double temperature = 1.0;
  int temp_decay_plies = 0;  // > 0: falls linearly to temp_endgame over these plies
  int temp_cutoff_ply = 30;  // from this ply on: temp_endgame
  double temp_endgame = 0.0;
  double resign_q = 0.0;  // > 0: resign when root q and best q <= -resign_q
  int resign_earliest_ply = 20;
  double resign_playthrough = 0.2;  // share of games that never resign
  std::string adjudicate = "material";  // at max_plies: "material" or "draw"
  bool syzygy_adjudicate = true;        // with tables: end a game once its position is in them
};

}  // namespace lcpipe::selfplay
