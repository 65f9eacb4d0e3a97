// The loader.merge stage (docs/loader.md has its settings and semantics).
#include "loader/stages/stage_support.h"

namespace lcl::stages {

namespace {

class Merge : public Stage {
 public:
  Merge(Segment& seg, const StageDesc& d) : Stage(seg, d.name, d.cfg) {
    in_ = bind_in<FramePtr>(seg, d, "frames");
    out_ = bind_out<FramePtr>(seg, d, "frames");
  }
  void close_outputs() override { out_.close(); }
  void work(int) override {
    std::vector<FramePtr> items;
    while (!stopping()) {
      items.clear();
      Pop r = in_->pop_many(items, 256, kTick);
      if (r == Pop::Closed) return;
      for (auto& f : items) {
        if (!out_.push(std::move(f))) return;
      }
      stats.in.fetch_add(items.size());
      stats.out.fetch_add(items.size());
    }
  }

 private:
  Queue<FramePtr>* in_;
  OutPort<FramePtr> out_;
};

}  // namespace

std::unique_ptr<Stage> make_merge(Segment& seg, const StageDesc& d) { return std::make_unique<Merge>(seg, d); }

}  // namespace lcl::stages
