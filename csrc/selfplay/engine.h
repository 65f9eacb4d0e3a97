// Many games searched by several native threads; the leaves of a group of
// games are gathered into one batch for the network.
//
// The games are split into `groups` (2 by default): while Python evaluates
// the batch of one group, the native threads search the other (double
// buffering). `step(g, outputs)` applies the outputs of group g's previous
// batch, advances each game of the group until it waits for a new leaf
// evaluation, and leaves the new batch's inputs in `inputs(g)`. Rows are
// ordered by evaluator slot (self-play: one slot; the arena: one per player),
// so each slot's rows are one contiguous batch.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "selfplay/game.h"
#include "selfplay/openings.h"
#include "selfplay/params.h"
#include "selfplay/record.h"

namespace lcpipe::selfplay {

struct EngineConfig {
  SearchParams search;
  GameParams game;
  int parallel_games{};  // games in flight, all groups together
  int groups{};
  int threads{};
  uint64_t seed{};
  uint64_t first_game{};
  uint64_t max_games{};  // 0: start games forever
  OpeningBook openings;
  // Evaluator slots: 1 (self-play) or 2 (a match: even games give white to
  // slot 0, odd games to slot 1; with `paired`, games 2k and 2k+1 share an
  // opening, so each opening is played once with each colour).
  int evaluators{};
  bool paired{};
  const void* tablebases = nullptr;
};

struct FinishedGame {
  uint64_t id = 0;
  std::vector<V6Record> records;
  std::vector<std::string> moves;  // UCI, the opening's moves first
  std::string start_fen;
  int opening_plies = 0;
  GameResult result;
  int white_slot = 0, black_slot = 0;
};

class Engine {
 public:
  explicit Engine(EngineConfig cfg);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  int groups() const { return int(groups_.size()); }
  int group_capacity(int g) const { return int(groups_[g].slots.size()); }
  // Applies `outputs` (null on the first call, or after reset_search) to the
  // group's previous batch, then searches it; returns the new batch's rows
  // per evaluator slot. Runs on the engine's threads; blocks until done.
  std::vector<int> step(int g, const float* logits, const float* wdl, const float* moves_left);
  float* inputs(int g) { return groups_[g].inputs.data(); }

  std::vector<FinishedGame> drain_finished();
  // Whether new games start when running ones finish (running ones always finish).
  void allow_new_games(bool allow) { allow_new_ = allow; }
  int running_games() const { return running_.load(); }
  uint64_t plies() const { return plies_.load(); }  // moves played, running games included
  bool idle() const;                                // no game running and none will start
  uint64_t games_started() const { return next_id_ - cfg_.first_game; }
  // Drop every tree and waiting leaf (a new input format): the next step of
  // each group must be called without outputs.
  void reset_search(int input_format);

  // Timers (ns): wall time inside step(), CPU time of the threads' work.
  uint64_t step_wall_ns() const { return step_wall_ns_; }
  uint64_t thread_busy_ns() const { return busy_ns_; }
  uint64_t evaluations() const { return evals_; }

 private:
  struct Slot {
    std::unique_ptr<SelfPlayGame> game;
    int eval_slot = -1;  // evaluator of the waiting leaf, -1 none
    int row = -1;        // row of the waiting leaf in the previous batch
  };
  struct Group {
    std::vector<Slot> slots;
    std::vector<float> inputs;     // f32[capacity, 112*64], rows ordered by evaluator
    std::vector<float> scratch;    // two evaluators: f32[capacity, 112*64], each slot's own row before ordering
    std::atomic<int> next_row{0};  // one evaluator: rows are claimed as the threads reach leaves
    std::vector<int> slot_of_row;  // the slot whose leaf is in each row (-1: none)
    Group() = default;
    Group(Group&& o) noexcept
        : slots(std::move(o.slots)),
          inputs(std::move(o.inputs)),
          scratch(std::move(o.scratch)),
          next_row(o.next_row.load()),
          slot_of_row(std::move(o.slot_of_row)) {}
  };

  void work_slot(Group& grp, size_t i, const float* logits, const float* wdl, const float* ml);
  std::unique_ptr<SelfPlayGame> new_game();
  std::pair<int, int> players(uint64_t id) const;  // evaluator slots of white and black
  void finish(SelfPlayGame& game);
  void run_parallel(const std::function<void(size_t)>& fn, size_t n);
  void worker_loop();

  EngineConfig cfg_;
  std::vector<Group> groups_;
  std::atomic<uint64_t> next_id_;
  std::atomic<bool> allow_new_{true};
  std::mutex finished_mu_;
  std::vector<FinishedGame> finished_;
  std::atomic<uint64_t> busy_ns_{0}, evals_{0}, plies_{0};
  uint64_t step_wall_ns_ = 0;
  std::atomic<int> running_{0};

  // thread pool: one job at a time, items taken from an atomic counter
  std::vector<std::thread> pool_;
  std::mutex pool_mu_;
  std::condition_variable pool_cv_, done_cv_;
  const std::function<void(size_t)>* job_ = nullptr;
  size_t job_n_ = 0;
  std::atomic<size_t> job_next_{0};
  int job_active_ = 0;
  uint64_t job_gen_ = 0;
  bool quit_ = false;
  std::exception_ptr job_error_;
};

}  // namespace lcpipe::selfplay
