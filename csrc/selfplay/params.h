// Settings of the native self-play search and games, read once from the
// stage's settings (the names match lcpipe/selfplay/stages.py, which holds
// their defaults: none is written here).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lcpipe::selfplay {

struct SearchParams {
  int visits{};                 // root visits per move, reused subtree visits included
  double cpuct{};               // lc0 --cpuct
  double cpuct_base{};          // lc0 --cpuct-base
  double cpuct_factor{};        // lc0 --cpuct-factor
  double fpu_reduction{};       // below the root
  double fpu_reduction_root{};  // at the root
  double noise_alpha{};
  double noise_epsilon{};       // 0 disables root noise
  double policy_temperature{};  // lc0 --policy-softmax-temp
  bool tree_reuse{};
  int input_format{};
  // Moves-left utility (lc0's MLH settings): 0 disables it.
  double moves_left_slope{};
  double moves_left_max_effect{};
  double moves_left_threshold{};
};

struct GameParams {
  int max_plies{};
  double temperature{};
  int temp_decay_plies{};  // > 0: falls linearly to temp_endgame over these plies
  int temp_cutoff_ply{};   // from this ply on: temp_endgame
  double temp_endgame{};
  double resign_q{};  // > 0: resign when root q and best q <= -resign_q
  int resign_earliest_ply{};
  double resign_playthrough{};  // share of games that never resign
  std::string adjudicate{};     // at max_plies: "material" or "draw"
  bool syzygy_adjudicate{};     // with tables: end a game once its position is in them
};

}  // namespace lcpipe::selfplay
