// The loader.split stage (docs/loader.md has its settings and semantics).
#include <algorithm>
#include <stdexcept>
#include <string>

#include "common/hashing.h"
#include "loader/stages/stage_support.h"

namespace lcl::stages {

namespace {

class Split : public Stage {
 public:
  Split(Segment& seg, const StageDesc& d) : Stage(seg, d.name, d.cfg) {
    in_ = bind_in<ChunkPtr>(seg, d, "sources");
    outs_[0] = bind_out<ChunkPtr>(seg, d, "train");
    outs_[1] = bind_out<ChunkPtr>(seg, d, "test");
    outs_[2] = bind_out<ChunkPtr>(seg, d, "validation");
    double w[3] = {cfg_.num("train"), cfg_.num("test"), cfg_.num("validation")};
    double total = w[0] + w[1] + w[2];
    if (total <= 0) w[0] = total = 1;
    cum_[0] = w[0] / total;
    cum_[1] = (w[0] + w[1]) / total;
    seed_ = static_cast<uint64_t>(cfg_.num("seed"));
    shards_ = static_cast<uint64_t>(cfg_.num("shards"));
    shard_ = static_cast<uint64_t>(cfg_.num("shard"));
    if (shards_ > 1 && shard_ >= shards_)
      throw std::invalid_argument(d.name + ": shard " + std::to_string(shard_) + " of " + std::to_string(shards_) +
                                  " does not exist");
  }
  void close_outputs() override {
    for (auto& o : outs_) o.close();
  }
  void work(int) override {
    ChunkPtr c;
    auto stop = [this] { return stopping(); };
    while (next_item(in_, c, stop)) {
      stats.in.fetch_add(1);
      if (!in_my_shard(c->key)) {
        stats.skipped.fetch_add(1);
        continue;
      }
      double u = lcpipe::unit_interval(c->key, seed_);
      int which = u < cum_[0] ? 0 : (u < cum_[1] ? 1 : 2);
      if (!outs_[which].connected()) {
        stats.skipped.fetch_add(1);
        continue;
      }
      if (!outs_[which].push(std::move(c))) return;
      stats.out.fetch_add(1);
    }
  }

 private:
  // Which shard a chunk is in is a hash of its name independent of the train/test draw (another
  // seed), so every shard keeps the split's proportions.
  bool in_my_shard(const std::string& key) const {
    if (shards_ <= 1) return true;
    double u = lcpipe::unit_interval(key, seed_ ^ kShardSalt);
    uint64_t shard = static_cast<uint64_t>(u * static_cast<double>(shards_));
    return std::min(shard, shards_ - 1) == shard_;
  }
  static constexpr uint64_t kShardSalt = 0x5348415244ULL;  // "SHARD"
  Queue<ChunkPtr>* in_;
  OutPort<ChunkPtr> outs_[3];
  double cum_[2];
  uint64_t seed_;
  uint64_t shards_;
  uint64_t shard_;
};

}  // namespace

std::unique_ptr<Stage> make_split(Segment& seg, const StageDesc& d) { return std::make_unique<Split>(seg, d); }

}  // namespace lcl::stages
