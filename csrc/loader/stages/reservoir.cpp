// The loader.reservoir stage (docs/loader.md has its settings and semantics).
#include <algorithm>
#include <atomic>
#include <random>

#include "loader/stages/stage_support.h"

namespace lcl::stages {

namespace {

class Reservoir : public Stage {
 public:
  Reservoir(Segment& seg, const StageDesc& d)
      : Stage(seg, d.name, d.cfg), rng_(static_cast<uint64_t>(cfg_.num("seed"))) {
    in_ = bind_in<FramePtr>(seg, d, "frames");
    out_ = bind_out<FramePtr>(seg, d, "frames");
    size_ = static_cast<size_t>(std::max(1.0, cfg_.num("size")));
    min_fill_ = std::min(1.0, std::max(0.0, cfg_.num("min_fill")));
    shuffle_ = cfg_.flag("shuffle");
  }
  void close_outputs() override { out_.close(); }
  void gauges(std::map<std::string, double>& g) const override {
    g["fill"] = static_cast<double>(fill_.load());
    g["size"] = static_cast<double>(size_);
    g["mb"] = static_cast<double>(bytes_.load()) / 1048576.0;
    // Kept from the last time the reservoir held frames, so a reservoir that
    // already flushed still tells what a slot cost.
    size_t n = fill_.load();
    if (n) slot_bytes_.store(static_cast<double>(bytes_.load() + n * (sizeof(FramePtr) + 16)) / n);
    if (slot_bytes_.load() > 0) g["bytes_per_slot"] = slot_bytes_.load();
  }

  void work(int) override {
    std::vector<FramePtr> slots;
    slots.reserve(std::min<size_t>(size_, 1 << 20));
    std::vector<FramePtr> incoming, outgoing;
    const size_t start = std::max<size_t>(1, static_cast<size_t>(min_fill_ * size_));
    while (!stopping()) {
      incoming.clear();
      Pop r = in_->pop_many(incoming, 256, kTick);
      if (r == Pop::Closed) break;
      if (r == Pop::Timeout) continue;
      stats.in.fetch_add(incoming.size());
      if (!shuffle_) {
        if (!out_.push_many(incoming)) return;
        stats.out.fetch_add(incoming.size());
        continue;
      }
      outgoing.clear();
      {
        Busy b(stats);
        for (auto& f : incoming) {
          bytes_ += f->bytes();
          if (slots.size() < size_) {
            slots.push_back(std::move(f));
            if (slots.size() >= start) outgoing.push_back(take_random(slots));
          } else {
            // Full: the new frame takes a random slot, whose frame leaves.
            std::uniform_int_distribution<size_t> pick(0, slots.size() - 1);
            size_t k = pick(rng_);
            outgoing.push_back(std::move(slots[k]));
            slots[k] = std::move(f);
          }
        }
        for (auto& f : outgoing) bytes_ -= f->bytes();
        fill_.store(slots.size());
        if (!slots.empty())
          slot_bytes_.store(static_cast<double>(bytes_.load() + slots.size() * (sizeof(FramePtr) + 16)) / slots.size());
      }
      if (!out_.push_many(outgoing)) return;
      stats.out.fetch_add(outgoing.size());
    }
    if (stopping()) return;
    std::shuffle(slots.begin(), slots.end(), rng_);  // end of input: flush
    for (auto& f : slots) {
      if (!out_.push(std::move(f))) return;
      stats.out.fetch_add(1);
    }
    fill_.store(0);
    bytes_.store(0);
  }

 private:
  FramePtr take_random(std::vector<FramePtr>& slots) {
    std::uniform_int_distribution<size_t> pick(0, slots.size() - 1);
    size_t k = pick(rng_);
    std::swap(slots[k], slots.back());
    FramePtr out = std::move(slots.back());
    slots.pop_back();
    return out;
  }

  Queue<FramePtr>* in_;
  OutPort<FramePtr> out_;
  size_t size_;
  double min_fill_;
  bool shuffle_;
  std::mt19937_64 rng_;
  std::atomic<size_t> fill_{0}, bytes_{0};
  mutable std::atomic<double> slot_bytes_{0};
};

}  // namespace

std::unique_ptr<Stage> make_reservoir(Segment& seg, const StageDesc& d) { return std::make_unique<Reservoir>(seg, d); }

}  // namespace lcl::stages
