#include "selfplay/writer.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace lcpipe::selfplay {

namespace {

// KL divergence of the visit distribution from the network prior.
double policy_kld(const std::vector<int64_t>& visits, const std::vector<double>& prior) {
  int64_t total = 0;
  for (auto v : visits) total += v;
  const double denom = double(std::max<int64_t>(total, 1));
  double kld = 0;
  for (size_t i = 0; i < visits.size(); ++i) {
    const double p = double(visits[i]) / denom;
    if (p > 0) kld += p * std::log(p / std::max(prior[i], 1e-12));
  }
  return kld;
}

}  // namespace

std::vector<V6Record> game_records(const SelfPlayGame& game) {
  if (!game.finished()) throw std::logic_error("game is not finished");
  const auto& recs = game.records();
  const size_t n = recs.size();
  std::vector<V6Record> out(n);
  const int fmt = game.input_format();
  const Board& board = game.board();
  for (size_t t = 0; t < n; ++t) {
    V6Record& r = out[t];
    std::memset(&r, 0, sizeof r);
    r.version = 6;
    r.input_format = uint32_t(fmt);
    const int ply = game.opening_plies() + int(t);
    const int transform = board.encode_record(fmt, ply, &r);
    r.invariance_info |= game.result().flags;
    const PlyRecord& rec = recs[t];
    for (auto& p : r.probabilities) p = -1.0f;
    int64_t total = 0;
    for (auto v : rec.visits_per_move) total += v;
    for (size_t j = 0; j < rec.moves.size(); ++j) {
      const uint16_t idx = board.policy_index_at(ply, rec.moves[j], transform);
      r.probabilities[idx] = float(double(rec.visits_per_move[j]) / double(total));
      if (j == rec.played_i) r.played_idx = idx;
      if (j == rec.best_i) r.best_idx = idx;
    }
    r.root_q = float(rec.root.q), r.root_d = float(rec.root.d), r.root_m = float(rec.root.m);
    r.best_q = float(rec.best.q), r.best_d = float(rec.best.d), r.best_m = float(rec.best.m);
    r.played_q = float(rec.played.q), r.played_d = float(rec.played.d), r.played_m = float(rec.played.m);
    r.orig_q = float(rec.orig.q), r.orig_d = float(rec.orig.d), r.orig_m = float(rec.orig.m);
    r.visits = uint32_t(rec.visits);
    r.policy_kld = float(policy_kld(rec.visits_per_move, rec.prior));
    const bool black = board.black_to_move_at(ply);
    const int white = game.result().white;
    r.result_q = float(black ? -white : white);
    r.result_d = white == 0 ? 1.0f : 0.0f;
    r.plies_left = float(n - t);
  }
  return out;
}

}  // namespace lcpipe::selfplay
