#include "selfplay/engine.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "selfplay/writer.h"

namespace lcpipe::selfplay {

namespace {

constexpr size_t kInputFloats = 112 * 64;
constexpr size_t kPolicy = 1858;

uint64_t now_ns() {
  return uint64_t(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

}  // namespace

Engine::Engine(EngineConfig cfg) : cfg_(std::move(cfg)), next_id_(cfg_.first_game) {
  if (cfg_.parallel_games < 1) throw std::invalid_argument("parallel_games must be >= 1");
  if (cfg_.groups < 1) throw std::invalid_argument("groups must be >= 1");
  if (cfg_.evaluators < 1 || cfg_.evaluators > 2) throw std::invalid_argument("evaluators must be 1 or 2");
  const int groups = std::min(cfg_.groups, cfg_.parallel_games);
  groups_.resize(groups);
  for (int g = 0; g < groups; ++g) {
    // spread the games as evenly as possible over the groups
    const int n = cfg_.parallel_games / groups + (g < cfg_.parallel_games % groups ? 1 : 0);
    groups_[g].slots.resize(n);
    groups_[g].inputs.assign(size_t(n) * kInputFloats, 0.0f);
    if (cfg_.evaluators > 1) groups_[g].scratch.assign(size_t(n) * kInputFloats, 0.0f);
    groups_[g].slot_of_row.assign(size_t(n), -1);
  }
  const int extra = std::max(cfg_.threads, 1) - 1;  // the calling thread works too
  for (int t = 0; t < extra; ++t) pool_.emplace_back([this] { worker_loop(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    quit_ = true;
  }
  pool_cv_.notify_all();
  for (auto& t : pool_) t.join();
}

std::unique_ptr<SelfPlayGame> Engine::new_game() {
  uint64_t id = next_id_.load();
  do {
    if (!allow_new_ || (cfg_.max_games && id - cfg_.first_game >= cfg_.max_games)) return nullptr;
  } while (!next_id_.compare_exchange_weak(id, id + 1));
  const Opening opening = cfg_.openings.for_game(cfg_.paired ? id / 2 : id, cfg_.seed);
  auto game = std::make_unique<SelfPlayGame>(id, cfg_.seed, cfg_.search, cfg_.game, opening, cfg_.tablebases);
  if (cfg_.evaluators > 1) {
    // two networks: a tree searched by one must not be reused by the other
    game->disable_tree_reuse();
  }
  running_.fetch_add(1);
  return game;
}

std::pair<int, int> Engine::players(uint64_t id) const {
  if (cfg_.evaluators < 2) return {0, 0};
  return id % 2 == 0 ? std::make_pair(0, 1) : std::make_pair(1, 0);
}

void Engine::finish(SelfPlayGame& game) {
  FinishedGame f;
  f.id = game.id();
  f.records = game_records(game);
  f.moves = game.uci_moves();
  f.start_fen = game.start_fen();
  f.opening_plies = game.opening_plies();
  f.result = game.result();
  std::tie(f.white_slot, f.black_slot) = players(f.id);
  {
    std::lock_guard<std::mutex> lock(finished_mu_);
    finished_.push_back(std::move(f));
  }
  running_.fetch_sub(1);
}

void Engine::work_slot(Group& grp, size_t i, const float* logits, const float* wdl, const float* ml) {
  const uint64_t t0 = now_ns();
  Slot& s = grp.slots[i];
  const float *lg = nullptr, *w = nullptr;
  float m = 0;
  if (s.game && s.row >= 0 && logits) {
    lg = logits + size_t(s.row) * kPolicy;
    w = wdl + size_t(s.row) * 3;
    m = ml ? ml[s.row] : 0.0f;
  }
  s.eval_slot = -1;
  s.row = -1;
  // One evaluator: the leaf goes straight into a batch row claimed here (rows
  // then follow the threads' finishing order); two: into the slot's scratch
  // row, ordered by evaluator afterwards.
  const bool direct = cfg_.evaluators == 1;
  int row = -1;
  float* in = direct ? nullptr : grp.scratch.data() + i * kInputFloats;
  while (true) {
    if (!s.game) {
      s.game = new_game();
      if (!s.game) break;
      lg = nullptr;
    }
    if (direct && row < 0) {
      row = grp.next_row.fetch_add(1);
      in = grp.inputs.data() + size_t(row) * kInputFloats;
    }
    const int before = s.game->ply();
    const auto stepped = s.game->advance(lg, w, m, in);
    plies_.fetch_add(uint64_t(s.game->ply() - before), std::memory_order_relaxed);
    if (stepped == SelfPlayGame::Step::kNeedsEval) {
      const auto [white, black] = players(s.game->id());
      s.eval_slot = s.game->board().black_to_move() ? black : white;
      if (direct) {
        s.row = row;
        grp.slot_of_row[size_t(row)] = int(i);
      }
      evals_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    finish(*s.game);
    s.game.reset();
    lg = nullptr;
  }
  if (direct && row >= 0 && s.row < 0) grp.slot_of_row[size_t(row)] = -1;  // claimed, then no game to search
  busy_ns_.fetch_add(now_ns() - t0, std::memory_order_relaxed);
}

std::vector<int> Engine::step(int g, const float* logits, const float* wdl, const float* moves_left) {
  if (g < 0 || g >= int(groups_.size())) throw std::out_of_range("no such group");
  const uint64_t t0 = now_ns();
  Group& grp = groups_[g];
  grp.next_row = 0;
  run_parallel([&](size_t i) { work_slot(grp, i, logits, wdl, moves_left); }, grp.slots.size());
  std::vector<int> counts(cfg_.evaluators, 0);
  if (cfg_.evaluators == 1) {
    // close the holes of rows claimed for games that ended with no new one: move the last rows in
    int total = grp.next_row.load();
    for (int h = 0; h < total; ++h) {
      if (grp.slot_of_row[size_t(h)] >= 0) continue;
      while (total - 1 > h && grp.slot_of_row[size_t(total - 1)] < 0) --total;
      if (total - 1 <= h) {
        total = h;
        break;
      }
      const int from = total - 1;
      std::memcpy(grp.inputs.data() + size_t(h) * kInputFloats, grp.inputs.data() + size_t(from) * kInputFloats,
                  kInputFloats * sizeof(float));
      const int slot = grp.slot_of_row[size_t(from)];
      grp.slots[size_t(slot)].row = h;
      grp.slot_of_row[size_t(h)] = slot;
      grp.slot_of_row[size_t(from)] = -1;
      --total;
    }
    counts[0] = total;
  } else {
    // rows by evaluator slot, then by game slot
    int row = 0;
    for (int e = 0; e < cfg_.evaluators; ++e) {
      for (size_t i = 0; i < grp.slots.size(); ++i) {
        Slot& s = grp.slots[i];
        if (s.eval_slot != e) continue;
        s.row = row;
        std::memcpy(grp.inputs.data() + size_t(row) * kInputFloats, grp.scratch.data() + i * kInputFloats,
                    kInputFloats * sizeof(float));
        ++row;
        ++counts[e];
      }
    }
  }
  step_wall_ns_ += now_ns() - t0;
  return counts;
}

std::vector<FinishedGame> Engine::drain_finished() {
  std::lock_guard<std::mutex> lock(finished_mu_);
  std::vector<FinishedGame> out;
  out.swap(finished_);
  return out;
}

bool Engine::idle() const {
  if (running_.load() > 0) return false;
  return !allow_new_ || (cfg_.max_games && next_id_.load() - cfg_.first_game >= cfg_.max_games);
}

void Engine::reset_search(int input_format) {
  cfg_.search.input_format = input_format;
  for (auto& grp : groups_)
    for (auto& s : grp.slots) {
      if (s.game) s.game->restart_search(input_format);
      s.row = -1;
      s.eval_slot = -1;
    }
}

void Engine::run_parallel(const std::function<void(size_t)>& fn, size_t n) {
  if (pool_.empty() || n <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    job_ = &fn;
    job_n_ = n;
    job_next_ = 0;
    job_error_ = nullptr;
    ++job_gen_;
  }
  pool_cv_.notify_all();
  auto work = [&] {
    size_t i;
    while ((i = job_next_.fetch_add(1)) < n) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(pool_mu_);
        if (!job_error_) job_error_ = std::current_exception();
      }
    }
  };
  work();
  std::unique_lock<std::mutex> lock(pool_mu_);
  done_cv_.wait(lock, [&] { return job_active_ == 0; });
  job_ = nullptr;
  if (job_error_) std::rethrow_exception(job_error_);
}

void Engine::worker_loop() {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(pool_mu_);
  while (true) {
    pool_cv_.wait(lock, [&] { return quit_ || (job_ && job_gen_ != seen); });
    if (quit_) return;
    seen = job_gen_;
    const auto* fn = job_;
    const size_t n = job_n_;
    ++job_active_;
    lock.unlock();
    size_t i;
    while ((i = job_next_.fetch_add(1)) < n) {
      try {
        (*fn)(i);
      } catch (...) {
        std::lock_guard<std::mutex> g(pool_mu_);
        if (!job_error_) job_error_ = std::current_exception();
      }
    }
    lock.lock();
    if (--job_active_ == 0) done_cv_.notify_all();
  }
}

}  // namespace lcpipe::selfplay
