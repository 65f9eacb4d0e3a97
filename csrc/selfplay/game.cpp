#include "selfplay/game.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lcpipe::selfplay {

namespace {

Rng game_rng(uint64_t seed, uint64_t id) {
  std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(id), uint32_t(id >> 32)};
  return Rng(seq);
}

}  // namespace

SelfPlayGame::SelfPlayGame(uint64_t id, uint64_t seed, const SearchParams& sp, const GameParams& gp,
                           const Opening& opening, const void* tablebases)
    : id_(id), gp_(gp), rng_(game_rng(seed, id)), board_(opening.fen), search_(sp), tablebases_(tablebases) {
  start_fen_ = board_.fen();
  for (const auto& u : opening.uci) {
    Move m;
    if (!board_.parse_uci(u, &m)) throw std::invalid_argument("opening move " + u + " is not legal in " + board_.fen());
    uci_.push_back(board_.uci(m));
    board_.push(m);
  }
  opening_plies_ = board_.plies();
  if (board_.legal_moves().empty())
    throw std::invalid_argument("a self-play game needs a start position with legal moves");
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  may_resign_ = gp_.resign_q > 0 && u01(rng_) >= gp_.resign_playthrough;
}

void SelfPlayGame::restart_search(int fmt) {
  search_.params().input_format = fmt;
  search_.reset();
  searched_since_move_ = false;
}

double SelfPlayGame::temperature() const {
  const int ply = this->ply();
  if (ply >= gp_.temp_cutoff_ply) return gp_.temp_endgame;
  if (gp_.temp_decay_plies > 0) {
    const double frac = std::min(double(ply) / gp_.temp_decay_plies, 1.0);
    return gp_.temperature + (gp_.temp_endgame - gp_.temperature) * frac;
  }
  return gp_.temperature;
}

bool SelfPlayGame::search_done() const {
  return searched_since_move_ && search_.root().n >= std::max(search_.params().visits, 2);
}

SelfPlayGame::Step SelfPlayGame::advance(const float* logits, const float* wdl, float moves_left, float* input) {
  if (finished_) return Step::kFinished;
  if (search_.pending()) {
    if (!logits) throw std::logic_error("a leaf waits for its evaluation");
    search_.apply(logits, wdl, moves_left);
    searched_since_move_ = true;
    if (search_done() && make_move()) return Step::kFinished;
  }
  while (true) {
    if (search_.playout(board_, input, rng_)) return Step::kNeedsEval;
    searched_since_move_ = true;  // a terminal position was backed up
    if (search_done() && make_move()) return Step::kFinished;
  }
}

size_t SelfPlayGame::choose(const Node& root) {
  const double t = temperature();
  if (t <= 0) return root.best_edge();
  int64_t most = 0;
  for (const Edge& e : root.edges) most = std::max(most, e.n);
  std::vector<double> w(root.size());
  double sum = 0;
  for (size_t i = 0; i < w.size(); ++i) sum += (w[i] = std::pow(double(root.edges[i].n) / double(most), 1.0 / t));
  std::uniform_real_distribution<double> u01(0.0, sum);
  double x = u01(rng_);
  for (size_t i = 0; i < w.size(); ++i) {
    if (x < w[i] && w[i] > 0) return i;
    x -= w[i];
  }
  return root.best_edge();  // rounding left x at the end
}

bool SelfPlayGame::make_move() {
  Node& root = search_.root();
  const size_t best = root.best_edge();
  const Value best_v = root.edges[best].value();
  if (may_resign_ && ply() >= gp_.resign_earliest_ply && root.q() <= -gp_.resign_q && best_v.q <= -gp_.resign_q) {
    result_ = GameResult{board_.black_to_move() ? 1 : -1, "resign", 0};
    finished_ = true;
    return true;
  }
  const size_t i = choose(root);
  PlyRecord rec;
  for (const Edge& e : root.edges) {
    rec.moves.push_back(e.move);
    rec.visits_per_move.push_back(e.n);
    rec.prior.push_back(e.prior_raw);
  }
  rec.root = Value{root.q(), root.d(), root.m()};
  rec.orig = root.eval;
  rec.best = best_v;
  rec.played = root.edges[i].value();
  rec.best_i = best;
  rec.played_i = i;
  rec.visits = root.n;
  const Move move = root.edges[i].move;
  records_.push_back(std::move(rec));
  moves_.push_back(move);
  uci_.push_back(board_.uci(move));
  board_.push(move);
  search_.advance(i);
  searched_since_move_ = false;
  return check_end();
}

bool SelfPlayGame::check_end() {
  const auto moves = board_.legal_moves();
  const GameEnd end = board_.game_end(moves);
  if (end == GameEnd::kCheckmate) {
    result_ = GameResult{board_.black_to_move() ? 1 : -1, game_end_name(end), 0};
  } else if (end != GameEnd::kNone) {
    result_ = GameResult{0, game_end_name(end), 0};
  } else if (tablebases_ && gp_.syzygy_adjudicate && board_.probe_syzygy(tablebases_, &result_.white)) {
    result_.termination = "tablebase";
    result_.flags = kAdjudicated;
  } else if (ply() >= gp_.max_plies) {
    int score = 0;
    if (gp_.adjudicate == "material") {
      const int diff = board_.material_balance();
      score = std::abs(diff) >= 3 ? (diff > 0 ? 1 : -1) : 0;
    }
    result_ = GameResult{score, "max_plies", uint8_t(kAdjudicated | kMaxLength)};
  } else {
    return false;
  }
  finished_ = true;
  return true;
}

}  // namespace lcpipe::selfplay
