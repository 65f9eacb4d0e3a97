// The native loader's stage types. Adding a stage: write stages/<name>.cpp
// defining lcl::stages::make_<name>, add its line below and its file to
// csrc/meson.build.
#include <memory>
#include <stdexcept>

#include "loader/segment.h"

// One line per stage type: the name the Python side uses, then the factory.
#define LCL_LOADER_STAGE_TYPES(X)         \
  X("loader.watch", make_watch)           \
  X("loader.read", make_read)             \
  X("loader.split", make_split)           \
  X("loader.chunk_pool", make_chunk_pool) \
  X("loader.extract", make_extract)       \
  X("loader.rescore", make_rescore)       \
  X("loader.unpack", make_unpack)         \
  X("loader.reservoir", make_reservoir)   \
  X("loader.batch", make_batch)           \
  X("loader.merge", make_merge)

namespace lcl {

namespace stages {
#define LCL_DECLARE_FACTORY(type, factory) std::unique_ptr<Stage> factory(Segment& seg, const StageDesc& d);
LCL_LOADER_STAGE_TYPES(LCL_DECLARE_FACTORY)
#undef LCL_DECLARE_FACTORY
}  // namespace stages

namespace {

struct StageType {
  const char* name;
  std::unique_ptr<Stage> (*make)(Segment&, const StageDesc&);
};

const StageType kStageTypes[] = {
#define LCL_TABLE_ENTRY(type, factory) {type, stages::factory},
    LCL_LOADER_STAGE_TYPES(LCL_TABLE_ENTRY)
#undef LCL_TABLE_ENTRY
};

}  // namespace

std::unique_ptr<Stage> make_stage(Segment& seg, const StageDesc& d) {
  for (const StageType& t : kStageTypes)
    if (d.type == t.name) return t.make(seg, d);
  throw std::invalid_argument("unknown native stage type " + d.type);
}

}  // namespace lcl
