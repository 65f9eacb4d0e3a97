// The loader.batch stage (docs/loader.md has its settings and semantics).
#include <atomic>

#include "loader/stages/stage_support.h"

namespace lcl::stages {

namespace {

class Batch : public Stage {
 public:
  Batch(Segment& seg, const StageDesc& d) : Stage(seg, d.name, d.cfg) {
    in_ = bind_in<FramePtr>(seg, d, "frames");
    out_ = bind_out<BatchPtr>(seg, d, "batches");
    threads_ = auto_threads(cfg_.num("threads"));
    b_ = static_cast<size_t>(std::max(1.0, cfg_.num("batch_size")));
    drop_last_ = cfg_.flag("drop_last");
  }
  int threads() const override { return threads_; }
  void close_outputs() override { out_.close(); }
  void gauges(std::map<std::string, double>& g) const override {
    g["fast_forwarded"] = static_cast<double>(fast_forwarded_.load());
  }
  // Batches below n are cut from their frames as usual (so everything upstream
  // advances exactly as it did) but neither encoded nor handed on.
  bool skip_to(uint64_t n) override {
    uint64_t cur = skip_to_.load();
    while (cur < n && !skip_to_.compare_exchange_weak(cur, n)) {
    }
    return true;
  }

  void work(int) override {
    auto pool = seg_.batch_pool();
    std::vector<FramePtr> frames;
    frames.reserve(b_);
    bool open = true;
    while (open && !stopping()) {
      frames.clear();
      while (frames.size() < b_ && !stopping()) {
        Pop r = in_->pop_many(frames, b_ - frames.size(), kTick);
        if (r == Pop::Closed) {
          open = false;
          break;
        }
      }
      if (stopping() || frames.empty()) break;
      if (frames.size() < b_ && drop_last_) {
        stats.skipped.fetch_add(frames.size());
        break;
      }
      stats.in.fetch_add(frames.size());
      const uint64_t seq = next_seq_.fetch_add(1);
      if (seq < skip_to_.load()) {
        fast_forwarded_.fetch_add(1);
        continue;
      }
      BatchPtr batch;
      {
        Busy b(stats);
        batch = pool->get(b_);
        encode(frames, *batch);
        batch->seq = seq;
      }
      if (!out_.push(std::move(batch))) return;
      stats.out.fetch_add(1);
    }
  }

 private:
  static void encode(const std::vector<FramePtr>& frames, BatchBuf& b) {
    b.rows = frames.size();
    for (size_t i = 0; i < frames.size(); ++i) {
      const Frame& f = *frames[i];
      encode_inputs(f, b.inputs.data() + i * 112 * 64);
      encode_policy(f, b.probs.data() + i * kMoves);
      encode_values(f, b.values.data() + i * 18);
      b.opp[i] = f.opp_idx == kNoMove ? -1 : f.opp_idx;
      b.next[i] = f.next_idx == kNoMove ? -1 : f.next_idx;
      b.fmt[i] = static_cast<int32_t>(f.input_format);
    }
    encode_done();
  }

  Queue<FramePtr>* in_;
  OutPort<BatchPtr> out_;
  int threads_;
  size_t b_;
  bool drop_last_;
  // Sequence numbers: exact with threads 1; with more threads each batch still
  // gets its own, but which frames it holds depends on timing.
  std::atomic<uint64_t> next_seq_{0}, skip_to_{0}, fast_forwarded_{0};
};

}  // namespace

std::unique_ptr<Stage> make_batch(Segment& seg, const StageDesc& d) { return std::make_unique<Batch>(seg, d); }

}  // namespace lcl::stages
