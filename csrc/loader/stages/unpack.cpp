// The loader.unpack stage (docs/loader.md has its settings and semantics).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <list>
#include <mutex>
#include <random>
#include <unordered_map>

#include "loader/stages/in_order.h"
#include "loader/stages/stage_support.h"

namespace lcl::stages {

namespace {

// Decodes each chunk once and keeps its not-yet-used frames (compact) in a
// cache, so at sampling rate r a game is inflated about once per 1/r visits.
// Threads inflate in parallel; the visits themselves (cache, sampling, each
// with its own random stream) happen in input order, so the frames that come
// out do not depend on the thread count.
class Unpack : public Stage {
 public:
  Unpack(Segment& seg, const StageDesc& d) : Stage(seg, d.name, d.cfg) {
    in_ = bind_in<ChunkPtr>(seg, d, "chunks");
    out_ = bind_out<FramePtr>(seg, d, "frames");
    threads_ = auto_threads(cfg_.num("threads"));
    rate_ = cfg_.num("sampling_rate");
    per_chunk_ = static_cast<size_t>(cfg_.num("positions_per_chunk"));
    shuffle_ = cfg_.flag("shuffle");
    seed_ = static_cast<uint64_t>(cfg_.num("seed"));
    cache_budget_ = static_cast<size_t>(cfg_.num("cache_mb") * 1048576.0);
    s_min_ = cfg_.num("surprise.min_keep");
    s_slope_ = cfg_.num("surprise.slope");
    s_q_ = cfg_.num("surprise.q_weight");
    s_pol_ = cfg_.num("surprise.policy_weight");
    skip_marked_ = cfg_.flag("skip_marked");
    gz_opts_ = gz_options(cfg_);
  }
  int threads() const override { return threads_; }
  void close_outputs() override { out_.close(); }
  void gauges(std::map<std::string, double>& g) const override {
    g["cache_chunks"] = static_cast<double>(cache_chunks_.load());
    g["cache_mb"] = static_cast<double>(cache_bytes_.load()) / 1048576.0;
    g["decoded"] = static_cast<double>(decoded_.load());
  }

  void work(int) override {
    ChunkPtr c;
    Bytes raw, gz;
    std::vector<FramePtr> take;
    auto stop = [this] { return stopping(); };
    uint64_t seq = 0;
    while (order_.next(in_, c, seq, stop)) {
      stats.in.fetch_add(1);
      take.clear();
      Decoded pre;
      {
        Busy b(stats);
        pre = decode_ahead(*c, raw, gz);
      }
      if (!order_.wait_turn(seq, stop)) return;
      {
        Busy b(stats);
        visit(*c, pre, raw, gz, take);
      }
      const bool ok = out_.push_many(take);
      order_.done(seq);
      if (!ok) return;
      stats.out.fetch_add(take.size());
    }
  }

 private:
  // A chunk's frames inflated ahead of its turn (in parallel with other threads'
  // chunks), unless its frames were cached then.
  struct Decoded {
    bool done = false;
    std::shared_ptr<Game> game;  // null when done: the chunk yielded nothing
  };

  Decoded decode_ahead(const ChunkRef& c, Bytes& raw, Bytes& gz) {
    Decoded d;
    if (c.game) return d;
    {
      std::lock_guard<std::mutex> l(m_);
      if (cache_.count(c.id)) return d;
    }
    d.done = true;
    d.game = decode_chunk(c, name_, stats, seg_.problems(), raw, gz, gz_opts_);
    if (d.game) decoded_.fetch_add(1);
    return d;
  }

  struct Entry {
    std::vector<FramePtr> frames;  // unused frames, in the order they will be taken
    size_t total = 0, bytes = 0;
    std::list<uint64_t>::iterator age;
  };

  size_t how_many(size_t total, std::mt19937_64& rng) const {
    if (per_chunk_ > 0) return per_chunk_;
    double want = rate_ * static_cast<double>(total);
    size_t n = static_cast<size_t>(want);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    if (u(rng) < want - static_cast<double>(n)) ++n;  // stochastic rounding keeps the mean exact
    return n;
  }

  bool keep(const Frame& f, std::mt19937_64& rng) const {
    if (skip_marked_ && (f.invariance & 0x40)) return false;
    if (s_min_ >= 1.0) return true;
    double dq = std::fabs(static_cast<double>(f.v[kBest][0]) - f.v[kOrig][0]);
    if (!std::isfinite(dq)) return true;
    double surprise = s_q_ * dq + s_pol_ * f.policy_kld;
    double p = std::min(1.0, std::max(0.0, s_min_ + s_slope_ * surprise));
    std::uniform_real_distribution<double> u(0.0, 1.0);
    return u(rng) < p;
  }

  // The random stream of the next visit that yields frames. Numbered by such visits only: a
  // chunk that yields nothing (a pool may hand it out again before it learns so, depending
  // on timing) changes nothing for the visits after it.
  std::mt19937_64 next_rng() { return std::mt19937_64(item_seed(seed_, visits_++)); }

  // Runs in input order (its turn), so visits_ and the cache see the same sequence every run.
  void visit(const ChunkRef& c, Decoded& pre, Bytes& raw, Bytes& gz, std::vector<FramePtr>& take) {
    if (!c.game) {  // cached frames from an earlier visit?
      std::lock_guard<std::mutex> l(m_);
      auto it = cache_.find(c.id);
      if (it != cache_.end()) {
        Entry& e = it->second;
        std::mt19937_64 rng = next_rng();
        size_t n = std::min(how_many(e.total, rng), e.frames.size());
        for (size_t i = 0; i < n; ++i) {
          e.bytes -= e.frames.back()->bytes();
          cache_bytes_ -= e.frames.back()->bytes();
          take.push_back(std::move(e.frames.back()));
          e.frames.pop_back();
        }
        if (e.frames.empty()) erase(it);
        return;
      }
    }
    std::vector<FramePtr> frames;
    if (c.game) {
      for (auto& f : c.game->frames) frames.push_back(clone_frame(*f));
    } else {
      if (!pre.done) {  // cached when it was taken, evicted since: inflate it now
        pre = {true, decode_chunk(c, name_, stats, seg_.problems(), raw, gz, gz_opts_)};
        if (pre.game) decoded_.fetch_add(1);
      }
      if (!pre.game) {
        stats.skipped.fetch_add(1);
        return;
      }
      frames = std::move(pre.game->frames);
    }
    const size_t total = frames.size();
    std::mt19937_64 rng = next_rng();
    if (s_min_ < 1.0 || skip_marked_) {
      size_t w = 0;
      for (size_t i = 0; i < frames.size(); ++i)
        if (keep(*frames[i], rng)) frames[w++] = std::move(frames[i]);
      stats.skipped.fetch_add(frames.size() - w);
      frames.resize(w);
    }
    // Frames are taken from the back: reverse (in order) or shuffle.
    if (shuffle_)
      std::shuffle(frames.begin(), frames.end(), rng);
    else
      std::reverse(frames.begin(), frames.end());
    size_t n = std::min(how_many(total, rng), frames.size());
    for (size_t i = 0; i < n; ++i) {
      take.push_back(std::move(frames.back()));
      frames.pop_back();
    }
    if (frames.empty() || c.game || cache_budget_ == 0) return;
    Entry e;
    e.total = total;
    for (auto& f : frames) e.bytes += f->bytes();
    if (e.bytes > cache_budget_) return;
    e.frames = std::move(frames);
    std::lock_guard<std::mutex> l(m_);
    while (cache_bytes_ + e.bytes > cache_budget_ && !ages_.empty()) erase(cache_.find(ages_.front()));
    auto old = cache_.find(c.id);
    if (old != cache_.end()) erase(old);
    ages_.push_back(c.id);
    e.age = std::prev(ages_.end());
    cache_bytes_ += e.bytes;
    cache_.emplace(c.id, std::move(e));
    cache_chunks_.store(cache_.size());
  }

  void erase(std::unordered_map<uint64_t, Entry>::iterator it) {
    cache_bytes_ -= it->second.bytes;
    ages_.erase(it->second.age);
    cache_.erase(it);
    cache_chunks_.store(cache_.size());
  }

  Queue<ChunkPtr>* in_;
  OutPort<FramePtr> out_;
  int threads_;
  double rate_;
  size_t per_chunk_;
  bool shuffle_, skip_marked_;
  GzOptions gz_opts_;
  uint64_t seed_;
  size_t cache_budget_;
  double s_min_, s_slope_, s_q_, s_pol_;
  std::mutex m_;
  std::unordered_map<uint64_t, Entry> cache_;
  std::list<uint64_t> ages_;
  std::atomic<size_t> cache_bytes_{0}, cache_chunks_{0};
  std::atomic<uint64_t> decoded_{0};
  InOrder order_;
  uint64_t visits_ = 0;  // visits that yielded frames, in input order
};

}  // namespace

std::unique_ptr<Stage> make_unpack(Segment& seg, const StageDesc& d) { return std::make_unique<Unpack>(seg, d); }

}  // namespace lcl::stages
