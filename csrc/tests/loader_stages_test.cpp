// Edge cases of the native loader stages that a Python test reaches only
// through files and timing: each test builds a segment around one stage,
// fills its input queue directly with chunks or frames, and reads what comes
// out. Run by tests/native/test_cpp_units.py.
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/frame.h"
#include "loader/segment.h"
#include "tests/check.h"

namespace {

using namespace lcl;

// Generous: the CI machine is loaded; a passing test never waits this long.
const std::chrono::milliseconds kWait(20000);

Cfg make_cfg(const std::map<std::string, double>& nums, const std::map<std::string, std::string>& strs = {}) {
  Cfg c;
  c.nums = nums;
  c.strs = strs;
  return c;
}

// A segment holding one stage of `type`: queue "in" (written by the test)
// on port `in_port`, queue "out" on `out_port`.
std::unique_ptr<Segment> one_stage(const std::string& type, const Cfg& cfg, const std::string& in_port,
                                   const std::string& in_type, const std::string& out_port,
                                   const std::string& out_type) {
  QueueDesc in{"in", in_type, "block", 64, 1};
  QueueDesc out{"out", out_type, "block", 64, 0};
  StageDesc s;
  s.name = "s0";
  s.type = type;
  s.cfg = cfg;
  s.inputs = {{in_port, "in"}};
  s.outputs = {{out_port, {"out"}}};
  return std::make_unique<Segment>(std::vector<QueueDesc>{in, out}, std::vector<StageDesc>{s});
}

ChunkPtr chunk(const std::string& key, const std::string& path = "") {
  auto c = std::make_shared<ChunkRef>();
  c->file = std::make_shared<SourceFile>();
  c->file->path = path.empty() ? key : path;
  c->key = key;
  return c;
}

// A frame with one legal move; `tag` (kept in visits) tells frames apart.
FramePtr frame(uint32_t tag) {
  FramePtr f = alloc_frame(1);
  std::memset(static_cast<void*>(f.get()), 0, Frame::bytes_for(1));
  f->n_legal = 1;
  f->input_format = 1;
  f->visits = tag;
  f->idx()[0] = static_cast<uint16_t>(tag % kMoves);
  f->prob()[0] = 1.0f;
  f->opp_idx = kNoMove;
  f->next_idx = static_cast<uint16_t>(tag + 100);
  return f;
}

template <class T>
void feed(Segment& seg, std::vector<T> items, bool close) {
  Queue<T>* q = seg.queue<T>("in", "test");
  for (auto& x : items) CHECK(q->push(std::move(x)));
  if (close) q->writer_done();
}

// Everything the stage emits until its output closes.
template <class T>
std::vector<T> drain(Segment& seg) {
  std::vector<T> got;
  Queue<T>* q = seg.queue<T>("out", "test");
  T x;
  while (true) {
    Pop r = q->pop(x, kWait);
    if (r != Pop::Ok) {
      CHECK(r == Pop::Closed);
      return got;
    }
    got.push_back(std::move(x));
  }
}

std::vector<std::string> keys(const std::vector<ChunkPtr>& chunks) {
  std::vector<std::string> out;
  for (const auto& c : chunks) out.push_back(c->key);
  return out;
}

Cfg pool_cfg(double window, double passes) {
  return make_cfg({{"seed", 1},
                   {"window", window},
                   {"min_chunks", 0},
                   {"start_after_idle_seconds", 0},
                   {"shuffle", 0},
                   {"hanse_ratio", 4},
                   {"passes", passes},
                   {"wait_for_new", 0},
                   {"chunks_per_anchor", 0}},
                  {{"sampling", "pass"}, {"anchor_file", ""}});
}

std::unique_ptr<Segment> chunk_pool(const Cfg& cfg) {
  return one_stage("loader.chunk_pool", cfg, "sources", "chunks", "chunks", "chunks");
}

// ------------------------------------------------------------ chunk_pool --

TEST(chunk_pool_window_evicts_the_oldest_keys) {
  auto seg = chunk_pool(pool_cfg(3, 1));
  // Queued before the start, so the pool takes all five in one go.
  feed<ChunkPtr>(*seg, {chunk("g1"), chunk("g2"), chunk("g3"), chunk("g4"), chunk("g5")}, true);
  seg->start();
  const auto got = drain<ChunkPtr>(*seg);
  CHECK(keys(got) == (std::vector<std::string>{"g3", "g4", "g5"}));
  auto st = seg->stats();
  CHECK_EQ(st["s0/in"], 5.0);
  CHECK_EQ(st["s0/skipped"], 2.0);  // the two evicted
  CHECK_EQ(st["s0/games_seen"], 5.0);
  CHECK_EQ(st["s0/size"], 3.0);
  CHECK(seg->errors().empty());
}

TEST(chunk_pool_serves_each_chunk_once_per_pass) {
  auto seg = chunk_pool(pool_cfg(10, 2));
  feed<ChunkPtr>(*seg, {chunk("a"), chunk("b")}, true);
  seg->start();
  CHECK(keys(drain<ChunkPtr>(*seg)) == (std::vector<std::string>{"a", "b", "a", "b"}));
  CHECK_EQ(seg->stats()["s0/passes"], 2.0);
}

TEST(chunk_pool_keeps_the_newer_source_of_a_game_seen_twice) {
  auto seg = chunk_pool(pool_cfg(10, 1));
  feed<ChunkPtr>(*seg, {chunk("a", "old.tar"), chunk("b"), chunk("a", "new.tar")}, true);
  seg->start();
  const auto got = drain<ChunkPtr>(*seg);
  CHECK(keys(got) == (std::vector<std::string>{"a", "b"}));
  if (got.size() == 2) CHECK_EQ(got[0]->file->path, std::string("new.tar"));
  CHECK_EQ(seg->stats()["s0/games_seen"], 2.0);
}

TEST(chunk_pool_drops_chunks_of_a_deleted_file) {
  auto seg = chunk_pool(pool_cfg(10, 1));
  ChunkPtr gone = chunk("b");
  gone->file->gone = true;
  ChunkPtr unusable = chunk("c");
  unusable->health->store(static_cast<uint8_t>(ChunkHealth::Unusable));
  feed<ChunkPtr>(*seg, {chunk("a"), gone, unusable, chunk("d")}, true);
  seg->start();
  CHECK(keys(drain<ChunkPtr>(*seg)) == (std::vector<std::string>{"a", "d"}));
  auto st = seg->stats();
  CHECK_EQ(st["s0/skipped"], 2.0);
  CHECK_EQ(st["s0/size"], 2.0);
}

// ------------------------------------------------------------- reservoir --

std::unique_ptr<Segment> reservoir(double size, double min_fill, bool shuffle) {
  return one_stage("loader.reservoir",
                   make_cfg({{"seed", 7}, {"size", size}, {"min_fill", min_fill}, {"shuffle", shuffle ? 1.0 : 0.0}}),
                   "frames", "frames", "frames", "frames");
}

std::vector<FramePtr> frames(uint32_t n) {
  std::vector<FramePtr> out;
  for (uint32_t i = 0; i < n; ++i) out.push_back(frame(i));
  return out;
}

TEST(reservoir_holds_size_minus_one_frames_then_flushes_every_frame_once) {
  auto seg = reservoir(4, 1.0, true);
  feed(*seg, frames(10), false);
  seg->start();
  // Filling to 4 frames emits one at random; each later frame takes its
  // place: 7 of 10 come out while the input is open, 3 stay held.
  Queue<FramePtr>* out = seg->queue<FramePtr>("out", "test");
  std::multiset<uint32_t> seen;
  FramePtr f;
  for (int i = 0; i < 7; ++i) {
    CHECK(out->pop(f, kWait) == Pop::Ok);
    if (f) seen.insert(f->visits);
  }
  CHECK_EQ(seg->stats()["s0/fill"], 3.0);
  CHECK_EQ(out->size(), size_t(0));
  seg->queue<FramePtr>("in", "test")->writer_done();
  for (auto& g : drain<FramePtr>(*seg)) seen.insert(g->visits);
  CHECK_EQ(seen.size(), size_t(10));
  CHECK(std::set<uint32_t>(seen.begin(), seen.end()).size() == 10);  // each exactly once
  CHECK_EQ(seg->stats()["s0/fill"], 0.0);
}

TEST(reservoir_without_shuffle_passes_frames_through_in_order) {
  auto seg = reservoir(4, 1.0, false);
  feed(*seg, frames(6), true);
  seg->start();
  std::vector<uint32_t> order;
  for (auto& f : drain<FramePtr>(*seg)) order.push_back(f->visits);
  CHECK(order == (std::vector<uint32_t>{0, 1, 2, 3, 4, 5}));
}

// --------------------------------------------------------- unpack, rescore --

// Chunks already decoded upstream (their game set), frames tagged chunk * 1000 + ply;
// every fifth game is 20 times as long, so threads finish out of order.
std::vector<ChunkPtr> decoded_chunks(uint32_t n, uint32_t plies) {
  std::vector<ChunkPtr> out;
  for (uint32_t k = 0; k < n; ++k) {
    ChunkPtr c = chunk("g" + std::to_string(1000 + k));
    c->game = std::make_shared<Game>();
    const uint32_t len = k % 5 == 0 ? plies * 20 : plies;
    for (uint32_t i = 0; i < len; ++i) c->game->frames.push_back(frame(k * 1000 + i));
    out.push_back(c);
  }
  return out;
}

Cfg gzip_cfg(std::map<std::string, double> nums) {
  nums.insert({{"check_crc", 0}, {"max_chunk_mb", 32}, {"max_file_mb", 32}});
  return make_cfg(nums, {{"inflater", "native"}});
}

// A chunk that decoding already found unusable (it yields nothing).
ChunkPtr unusable_chunk(const std::string& key) {
  ChunkPtr c = chunk(key);
  c->health->store(static_cast<uint8_t>(ChunkHealth::Unusable));
  return c;
}

std::vector<uint32_t> unpacked(double threads, bool with_unusable = false) {
  Cfg cfg = gzip_cfg({{"threads", threads},
                      {"sampling_rate", 0.5},
                      {"positions_per_chunk", 0},
                      {"shuffle", 1},
                      {"seed", 3},
                      {"cache_mb", 64},
                      {"surprise.min_keep", 0.5},
                      {"surprise.slope", 0},
                      {"surprise.q_weight", 1},
                      {"surprise.policy_weight", 0},
                      {"skip_marked", 0}});
  auto seg = one_stage("loader.unpack", cfg, "chunks", "chunks", "frames", "frames");
  auto in = decoded_chunks(58, 20);
  if (with_unusable) {  // handed out once more or less, depending on when the pool learnt so
    in.insert(in.begin() + 10, unusable_chunk("bad1"));
    in.insert(in.begin() + 30, unusable_chunk("bad1"));
  }
  feed(*seg, std::move(in), true);
  seg->start();
  std::vector<uint32_t> tags;
  for (auto& f : drain<FramePtr>(*seg)) tags.push_back(f->visits);
  return tags;
}

TEST(unpack_output_does_not_depend_on_its_thread_count) {
  const auto one = unpacked(1);
  CHECK(one.size() > 1000);  // about a quarter of 5,720 frames: half kept, half of those sampled
  CHECK(unpacked(4) == one);
  CHECK(unpacked(3) == one);
}

TEST(unpack_output_does_not_depend_on_chunks_that_yield_nothing) { CHECK(unpacked(2, true) == unpacked(2, false)); }

TEST(rescore_hands_chunks_on_in_input_order_with_many_threads) {
  Cfg cfg = gzip_cfg({{"threads", 4},
                      {"policy_temperature", 1},
                      {"policy_offset", 0},
                      {"deblunder", 0},
                      {"deblunder_threshold", 0.1},
                      {"short_term", 1},
                      {"short_term_lambda", 0.5},
                      {"overwrite_short_term", 0}});
  cfg.strs["syzygy_paths"] = "";
  auto seg = one_stage("loader.rescore", cfg, "chunks", "chunks", "chunks", "chunks");
  auto in = decoded_chunks(60, 30);  // fits the input queue: fed before the start
  // The first game takes far longer than the rest: its thread finishes last.
  for (uint32_t i = 0; i < 30000; ++i) in[0]->game->frames.push_back(frame(i));
  const auto want = keys(in);
  feed(*seg, std::move(in), true);
  seg->start();
  CHECK(keys(drain<ChunkPtr>(*seg)) == want);
}

// ----------------------------------------------------------------- batch --

Cfg batch_cfg(double size, bool drop_last) {
  return make_cfg({{"threads", 1}, {"batch_size", size}, {"drop_last", drop_last ? 1.0 : 0.0}});
}

std::unique_ptr<Segment> batcher(const Cfg& cfg) {
  return one_stage("loader.batch", cfg, "frames", "frames", "batches", "batches");
}

TEST(batch_keeps_the_partial_last_batch) {
  auto seg = batcher(batch_cfg(4, false));
  feed(*seg, frames(6), true);
  seg->start();
  const auto got = drain<BatchPtr>(*seg);
  CHECK_EQ(got.size(), size_t(2));
  if (got.size() != 2) return;
  CHECK_EQ(got[0]->rows, size_t(4));
  CHECK_EQ(got[1]->rows, size_t(2));
  // Row 1 of the partial batch is frame 5: its policy, its reply indices.
  const BatchBuf& b = *got[1];
  CHECK_EQ(b.probs[1 * kMoves + 5], 1.0f);
  CHECK_EQ(b.opp[1], -1);  // kNoMove becomes -1
  CHECK_EQ(b.next[1], 105);
  auto st = seg->stats();
  CHECK_EQ(st["s0/in"], 6.0);
  CHECK_EQ(st["s0/out"], 2.0);
  CHECK_EQ(st["s0/skipped"], 0.0);
}

TEST(batch_drop_last_drops_the_partial_batch) {
  auto seg = batcher(batch_cfg(4, true));
  feed(*seg, frames(6), true);
  seg->start();
  const auto got = drain<BatchPtr>(*seg);
  CHECK_EQ(got.size(), size_t(1));
  if (!got.empty()) CHECK_EQ(got[0]->rows, size_t(4));
  CHECK_EQ(seg->stats()["s0/skipped"], 2.0);
}

// Exact resume: a restarted run's batch stage cuts the batches its consumer
// trained on before the crash from the same frames, but hands on only the
// rest, numbered as in the uninterrupted stream.
TEST(batch_numbers_its_batches_from_zero) {
  auto seg = batcher(batch_cfg(2, false));
  feed(*seg, frames(5), true);
  seg->start();
  std::vector<uint64_t> seqs;
  for (auto& b : drain<BatchPtr>(*seg)) seqs.push_back(b->seq);
  CHECK(seqs == (std::vector<uint64_t>{0, 1, 2}));
}

TEST(batch_skip_to_hands_on_the_same_batches_as_the_full_stream_from_there) {
  auto seg = batcher(batch_cfg(2, false));
  seg->skip_to("s0", 3);
  feed(*seg, frames(9), true);
  seg->start();
  const auto got = drain<BatchPtr>(*seg);
  CHECK_EQ(got.size(), size_t(2));
  if (got.size() != 2) return;
  CHECK_EQ(got[0]->seq, uint64_t(3));
  CHECK_EQ(got[1]->seq, uint64_t(4));
  // Batch 3 holds frames 6 and 7, the partial batch 4 frame 8: their policies say so.
  CHECK_EQ(got[0]->probs[0 * kMoves + 6], 1.0f);
  CHECK_EQ(got[0]->probs[1 * kMoves + 7], 1.0f);
  CHECK_EQ(got[1]->rows, size_t(1));
  CHECK_EQ(got[1]->probs[0 * kMoves + 8], 1.0f);
  auto st = seg->stats();
  CHECK_EQ(st["s0/fast_forwarded"], 3.0);
  CHECK_EQ(st["s0/out"], 2.0);
}

TEST(batch_skip_to_never_moves_back) {
  auto seg = batcher(batch_cfg(2, false));
  seg->skip_to("s0", 2);
  seg->skip_to("s0", 1);  // a later, smaller request changes nothing
  feed(*seg, frames(6), true);
  seg->start();
  const auto got = drain<BatchPtr>(*seg);
  CHECK_EQ(got.size(), size_t(1));
  if (!got.empty()) CHECK_EQ(got[0]->seq, uint64_t(2));
}

TEST(skip_to_names_an_unknown_stage_or_one_that_cannot) {
  auto seg = batcher(batch_cfg(2, false));
  CHECK_THROWS(std::invalid_argument, "no stage nope in this segment", seg->skip_to("nope", 1));
  auto pool = chunk_pool(pool_cfg(10, 1));
  CHECK_THROWS(std::invalid_argument, "s0: this stage type cannot fast-forward", pool->skip_to("s0", 1));
}

// ----------------------------------------------------- settings, registry --

TEST(cfg_lists_the_keys_never_read_sorted) {
  Cfg c = make_cfg({{"b", 1}, {"a", 2}, {"used", 3}}, {{"c", "x"}, {"name", "y"}});
  CHECK_EQ(c.num("used"), 3.0);
  CHECK_EQ(c.str("name"), std::string("y"));
  CHECK(c.unread() == (std::vector<std::string>{"a", "b", "c"}));
  CHECK_THROWS(std::invalid_argument, "setting 'name' is missing or not a number", c.num("name"));
  CHECK_THROWS(std::invalid_argument, "setting 'absent' is missing or not a string", c.str("absent"));
}

TEST(a_setting_the_stage_does_not_read_fails_the_segment_by_name) {
  Cfg cfg = batch_cfg(4, false);
  cfg.nums["batch_sise"] = 8;
  cfg.strs["colour"] = "red";
  CHECK_THROWS(std::invalid_argument,
               "s0 (loader.batch): setting(s) 'batch_sise', 'colour' not read by the native stage", batcher(cfg));
}

TEST(a_missing_setting_fails_the_segment_by_name) {
  Cfg cfg = batch_cfg(4, false);
  cfg.nums.erase("drop_last");
  CHECK_THROWS(std::invalid_argument, "setting 'drop_last' is missing", batcher(cfg));
}

TEST(an_unknown_stage_type_fails_by_name) {
  CHECK_THROWS(std::invalid_argument, "unknown native stage type loader.nope",
               one_stage("loader.nope", Cfg(), "frames", "frames", "frames", "frames"));
}

}  // namespace

int main(int argc, char** argv) { return lcpipe::check::run_all(argc, argv); }
