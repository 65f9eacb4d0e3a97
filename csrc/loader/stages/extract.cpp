// The loader.extract stage (docs/loader.md has its settings and semantics).
#include <algorithm>
#include <atomic>
#include <random>

#include "loader/stages/stage_support.h"

namespace lcl::stages {

namespace {

class Extract : public Stage {
 public:
  Extract(Segment& seg, const StageDesc& d) : Stage(seg, d.name, d.cfg), rng_(static_cast<uint64_t>(cfg_.num("seed"))) {
    in_ = bind_in<ChunkPtr>(seg, d, "sources");
    out_ = bind_out<ChunkPtr>(seg, d, "chunks");
    buffer_ = static_cast<size_t>(std::max(1.0, cfg_.num("buffer")));
    shuffle_ = cfg_.flag("shuffle");
  }
  void close_outputs() override { out_.close(); }
  void gauges(std::map<std::string, double>& g) const override { g["buffered"] = static_cast<double>(fill_.load()); }
  void work(int) override {
    ChunkPtr c;
    std::vector<ChunkPtr> buf;
    auto stop = [this] { return stopping(); };
    while (next_item(in_, c, stop)) {
      stats.in.fetch_add(1);
      if (!shuffle_) {
        if (!out_.push(std::move(c))) return;
        stats.out.fetch_add(1);
        continue;
      }
      buf.push_back(std::move(c));
      if (buf.size() >= buffer_) {
        std::uniform_int_distribution<size_t> pick(0, buf.size() - 1);
        std::swap(buf[pick(rng_)], buf.back());
        ChunkPtr out = std::move(buf.back());
        buf.pop_back();
        if (!out_.push(std::move(out))) return;
        stats.out.fetch_add(1);
      }
      fill_.store(buf.size());
    }
    if (stopping()) return;
    std::shuffle(buf.begin(), buf.end(), rng_);
    for (auto& x : buf) {
      if (!out_.push(std::move(x))) return;
      stats.out.fetch_add(1);
    }
    fill_.store(0);
  }

 private:
  Queue<ChunkPtr>* in_;
  OutPort<ChunkPtr> out_;
  size_t buffer_;
  bool shuffle_;
  std::mt19937_64 rng_;
  std::atomic<uint64_t> fill_{0};
};

}  // namespace

std::unique_ptr<Stage> make_extract(Segment& seg, const StageDesc& d) { return std::make_unique<Extract>(seg, d); }

}  // namespace lcl::stages
