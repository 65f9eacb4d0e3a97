// The loader.chunk_pool stage (docs/loader.md has its settings and semantics).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>

#include "loader/stages/stage_support.h"

namespace lcl::stages {

namespace {

class ChunkPool : public Stage {
 public:
  ChunkPool(Segment& seg, const StageDesc& d)
      : Stage(seg, d.name, d.cfg), rng_(static_cast<uint64_t>(cfg_.num("seed"))) {
    in_ = bind_in<ChunkPtr>(seg, d, "sources");
    out_ = bind_out<ChunkPtr>(seg, d, "chunks");
    window_ = static_cast<size_t>(std::max(1.0, cfg_.num("window")));
    min_chunks_ = static_cast<size_t>(cfg_.num("min_chunks"));
    start_idle_ = cfg_.num("start_after_idle_seconds");
    shuffle_ = cfg_.flag("shuffle");
    hanse_ = cfg_.str("sampling") == "hanse";
    hanse_ratio_ = std::max(1.0, cfg_.num("hanse_ratio"));
    passes_ = static_cast<uint64_t>(cfg_.num("passes"));
    anchor_file_ = cfg_.str("anchor_file");
    wait_for_new_ = static_cast<uint64_t>(cfg_.num("wait_for_new"));
    per_anchor_ = static_cast<uint64_t>(cfg_.num("chunks_per_anchor"));
  }
  void close_outputs() override { out_.close(); }
  void gauges(std::map<std::string, double>& g) const override {
    g["size"] = static_cast<double>(size_.load());
    g["passes"] = static_cast<double>(passes_done_.load());
    g["new_since_anchor"] = static_cast<double>(new_since_anchor_.load());
    g["anchor_waiting"] = waiting_.load() ? 1.0 : 0.0;
    g["started"] = started_.load() ? 1.0 : 0.0;
    // Distinct games taken in since the start (games already on disk
    // included): the trainer's max_steps_per_game throttle reads it.
    g["games_seen"] = static_cast<double>(games_seen_.load());
  }
  // train_now: the wait for wait_for_new new chunks ends now; the anchor moves to the
  // newest chunk, so the next round waits for its own new chunks again.
  bool command(const std::string& name) override {
    if (name != "train_now" || wait_for_new_ == 0) return false;
    skip_wait_.store(true);
    return true;
  }

  void work(int) override {
    load_anchor();
    bool input_open = true;
    auto last_input = std::chrono::steady_clock::now();
    std::vector<ChunkPtr> incoming;
    while (!stopping()) {
      incoming.clear();
      if (input_open) {
        if (!ready(input_open, last_input)) {
          Pop r = in_->pop_many(incoming, 4096, kTick);
          if (r == Pop::Closed) input_open = false;
        } else if (in_->try_pop_many(incoming, 4096) == 0 && in_->closed()) {
          input_open = false;
        }
        if (!incoming.empty()) {
          last_input = std::chrono::steady_clock::now();
          Busy b(stats);
          for (auto& c : incoming) add(std::move(c));
        }
      }
      if (!ready(input_open, last_input)) {
        if (!input_open) break;  // nothing more can arrive
        continue;
      }
      ChunkPtr c;
      {
        Busy b(stats);
        c = next();
      }
      if (!c) {
        if (done_ || !input_open) break;  // all passes done, or nothing left and nothing to come
        continue;                         // every chunk was deleted: wait for new ones
      }
      if (!emit(c, input_open, last_input)) return;
    }
  }

 private:
  // Pushes one chunk; while the output is full keeps taking in new chunks.
  bool emit(ChunkPtr& c, bool& input_open, std::chrono::steady_clock::time_point& last_input) {
    if (out_.qs.size() != 1) {
      bool ok = out_.push(std::move(c));
      if (ok) {
        stats.out.fetch_add(1);
        emitted_since_anchor_++;
      }
      return ok;
    }
    std::vector<ChunkPtr> incoming;
    while (true) {
      int r = out_.qs[0]->push_for(c, ms(50));
      if (r < 0) return false;
      if (r == 1) {
        stats.out.fetch_add(1);
        emitted_since_anchor_++;
        return true;
      }
      if (input_open) {
        incoming.clear();
        if (in_->try_pop_many(incoming, 4096) == 0 && in_->closed()) input_open = false;
        if (!incoming.empty()) last_input = std::chrono::steady_clock::now();
        for (auto& x : incoming) add(std::move(x));
      }
    }
  }

  void add(ChunkPtr c) {
    stats.in.fetch_add(1);
    ++received_;
    const std::string key = c->key;
    auto it = pool_.find(key);
    if (it != pool_.end()) {
      it->second = std::move(c);  // same game seen again: keep the newer source
      return;
    }
    pool_.emplace(key, std::move(c));
    games_seen_.fetch_add(1);
    dirty_ = true;
    if (key > anchor_) new_since_anchor_++;
    while (pool_.size() > window_) {
      if (pool_.begin()->first > anchor_) new_since_anchor_--;
      pool_.erase(pool_.begin());  // oldest key
      stats.skipped.fetch_add(1);
    }
    size_.store(pool_.size());
  }

  bool ready(bool input_open, std::chrono::steady_clock::time_point last_input) {
    if (pool_.empty()) return false;
    if (!started_) {
      if (input_open && !may_start(last_input)) return false;
      started_ = true;
      seg_.info(name_ + ": started on " + std::to_string(pool_.size()) + " chunks (" + std::to_string(received_) +
                " received" + (input_open ? "" : ", input ended") + ")");
    }
    if (wait_for_new_ > 0) {
      if (per_anchor_ > 0 && emitted_since_anchor_ >= per_anchor_ && !waiting_) waiting_ = true;
      if (waiting_ || !anchored_) {
        if (new_since_anchor_.load() < static_cast<int64_t>(wait_for_new_) && !skip_wait_.exchange(false)) {
          waiting_ = true;
          return false;
        }
        move_anchor();
      }
    }
    return true;
  }

  // The first output while the input may still grow. min_chunks (counting
  // chunks received; more than the window starts on the newest of them) is a
  // hard floor: a watched directory that is still filling never starts below
  // it. Only without a floor (min_chunks 0: a full window) may an idle input
  // start the pool early, for a finished directory smaller than the window.
  // Once the input has ended the pool starts on whatever it holds.
  bool may_start(std::chrono::steady_clock::time_point last_input) const {
    if (min_chunks_) return received_ >= min_chunks_;
    if (pool_.size() >= window_) return true;
    if (start_idle_ <= 0) return false;
    double idle = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_input).count();
    return idle >= start_idle_;
  }

  void move_anchor() {
    anchor_ = pool_.rbegin()->first;
    new_since_anchor_ = 0;
    emitted_since_anchor_ = 0;
    waiting_ = false;
    anchored_ = true;
    save_anchor();
    seg_.info(name_ + ": anchor moved to " + anchor_);
  }

  void load_anchor() {
    anchored_ = wait_for_new_ == 0;
    if (anchor_file_.empty()) return;
    std::ifstream f(anchor_file_);
    std::string line;
    if (f && std::getline(f, line) && !line.empty()) {
      anchor_ = line;
      seg_.info(name_ + ": anchor " + anchor_ + " from " + anchor_file_);
    }
  }

  void save_anchor() {
    if (anchor_file_.empty()) return;
    std::string tmp = anchor_file_ + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      f << anchor_ << "\n";
      if (!f) {
        problem(anchor_file_, "cannot write anchor file");
        return;
      }
    }
    if (std::rename(tmp.c_str(), anchor_file_.c_str()) != 0) problem(anchor_file_, "cannot write anchor file");
  }

  ChunkPtr next() {
    if (hanse_) return draw_hanse();
    while (true) {
      while (pos_ < order_.size()) {
        auto it = pool_.find(order_[pos_++]);
        if (it == pool_.end()) continue;  // evicted during the pass
        if (it->second->file->gone.load() || it->second->unusable()) {
          drop(it);
          continue;
        }
        return it->second;
      }
      if (!order_.empty()) passes_done_++;
      if (passes_ && passes_done_.load() >= passes_) {
        done_ = true;
        return nullptr;
      }
      if (pool_.empty()) return nullptr;
      order_.clear();
      for (auto& kv : pool_) order_.push_back(kv.first);
      if (shuffle_) std::shuffle(order_.begin(), order_.end(), rng_);
      pos_ = 0;
    }
  }

  // "hanse": draws with replacement, newer chunks favoured; the newest is
  // hanse_ratio times as likely as the oldest (weights grow exponentially).
  ChunkPtr draw_hanse() {
    while (true) {
      if (dirty_ || snapshot_.empty() || draws_since_snapshot_ >= 1024) {
        snapshot_.clear();
        for (auto it = pool_.begin(); it != pool_.end();) {
          if (it->second->file->gone.load() || it->second->unusable()) {
            drop(it++);
            continue;
          }
          snapshot_.push_back(it->second);
          ++it;
        }
        dirty_ = false;
        draws_since_snapshot_ = 0;
        if (snapshot_.empty()) return nullptr;
      }
      if (passes_ && draws_ >= passes_ * snapshot_.size()) {
        done_ = true;
        return nullptr;
      }
      std::uniform_real_distribution<double> u(0.0, 1.0);
      double x = u(rng_);
      if (hanse_ratio_ > 1.0) x = std::log1p(x * (hanse_ratio_ - 1.0)) / std::log(hanse_ratio_);
      size_t r = std::min(snapshot_.size() - 1, static_cast<size_t>(x * snapshot_.size()));
      if (!snapshot_[r]->file->gone.load() && !snapshot_[r]->unusable()) {
        ++draws_;
        ++draws_since_snapshot_;
        passes_done_.store(draws_ / snapshot_.size());  // a "pass" is as many draws as chunks in the pool
        return snapshot_[r];
      }
      dirty_ = true;  // deleted or unusable: the rebuilt snapshot leaves it (and any other) out
    }
  }

  // A chunk whose file was deleted, or that decoding found unusable, leaves the pool.
  void drop(std::map<std::string, ChunkPtr>::iterator it) {
    if (it->first > anchor_) new_since_anchor_--;
    pool_.erase(it);
    stats.skipped.fetch_add(1);
    size_.store(pool_.size());
  }

  Queue<ChunkPtr>* in_;
  OutPort<ChunkPtr> out_;
  size_t window_, min_chunks_, received_ = 0;
  double start_idle_;
  bool shuffle_, hanse_;
  double hanse_ratio_;
  uint64_t passes_;
  std::string anchor_file_, anchor_;
  uint64_t wait_for_new_, per_anchor_, emitted_since_anchor_ = 0;
  std::atomic<bool> skip_wait_{false};
  bool anchored_ = true, dirty_ = true, done_ = false;
  std::atomic<bool> started_{false};  // read by gauges()
  std::atomic<bool> waiting_{false};
  std::map<std::string, ChunkPtr> pool_;
  std::vector<std::string> order_;
  size_t pos_ = 0;
  std::vector<ChunkPtr> snapshot_;
  uint64_t draws_ = 0, draws_since_snapshot_ = 0;  // hanse draws served; since the snapshot was taken
  std::mt19937_64 rng_;
  std::atomic<uint64_t> size_{0}, passes_done_{0}, games_seen_{0};
  std::atomic<int64_t> new_since_anchor_{0};
};

}  // namespace

std::unique_ptr<Stage> make_chunk_pool(Segment& seg, const StageDesc& d) { return std::make_unique<ChunkPool>(seg, d); }

}  // namespace lcl::stages
