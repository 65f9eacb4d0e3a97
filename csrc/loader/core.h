// Shared pieces of a loader segment: items on the queues, stage base class,
// metrics counters, and the once-per-file problem log.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/frame.h"
#include "loader/gz.h"
#include "loader/queue.h"

namespace lcl {

// Flattened stage settings ("a.b" keys for nested objects), fully defaulted
// by the Python side from the stage's declaration: no default is written
// here. Each read is recorded so that a key no stage reads (misspelled or
// unsupported) fails the segment's construction by name.
struct Cfg {
  std::map<std::string, double> nums;
  std::map<std::string, std::string> strs;
  double num(const std::string& k) const;
  std::string str(const std::string& k) const;
  bool flag(const std::string& k) const { return num(k) != 0.0; }
  // Keys given but never read, sorted.
  std::vector<std::string> unread() const;

 private:
  mutable std::set<std::string> read_;
};

// An open data file; tars keep their descriptor so members are read with pread.
struct SourceFile {
  std::string path;
  int fd = -1;
  bool is_tar = false;
  // Set when a read found the file deleted: pools stop serving its chunks
  // (a tar stays readable through its open descriptor).
  std::atomic<bool> gone{false};
  ~SourceFile();
};

struct Game {
  std::vector<FramePtr> frames;
};

// One chunk (game): where its gzip bytes are, its key, and (after rescoring)
// its decoded frames.
// What decoding found out about a chunk, shared by every copy of its ChunkRef:
// each bad chunk is counted once, and one that yields nothing leaves the pool.
enum class ChunkHealth : uint8_t { Unknown = 0, Damaged = 1, Unusable = 2 };

struct ChunkRef {
  std::shared_ptr<SourceFile> file;
  std::shared_ptr<std::atomic<uint8_t>> health = std::make_shared<std::atomic<uint8_t>>(0);
  uint64_t offset = 0, size = 0;  // size 0: the whole file
  std::string key, member;
  uint64_t id = 0;
  std::shared_ptr<Game> game;
  std::string where() const { return member.empty() ? file->path : file->path + " [" + member + "]"; }
  bool unusable() const { return health->load() == static_cast<uint8_t>(ChunkHealth::Unusable); }
};
using ChunkPtr = std::shared_ptr<ChunkRef>;

// A batch in the layout handed to numpy; recycled through a pool.
struct BatchBuf {
  size_t capacity = 0, rows = 0;
  // Position in its batch stage's stream: 0 for the first batch cut, counted
  // across fast-forwarded ones, so a resumed consumer knows where it stands.
  uint64_t seq = 0;
  std::vector<float> inputs, probs, values;
  std::vector<int32_t> opp, next;
  std::vector<int32_t> fmt;  // each row's input format: the trainer refuses data not in its model's
  void reserve(size_t b) {
    capacity = b;
    inputs.resize(b * 112 * 64);
    probs.resize(b * kMoves);
    values.resize(b * 18);
    opp.resize(b);
    next.resize(b);
    fmt.resize(b);
  }
};
using BatchPtr = std::shared_ptr<BatchBuf>;

class BatchPool : public std::enable_shared_from_this<BatchPool> {
 public:
  BatchPtr get(size_t b);

 private:
  std::mutex m_;
  std::vector<std::unique_ptr<BatchBuf>> free_;
};

struct StageStats {
  std::atomic<uint64_t> in{0}, out{0}, bad{0}, skipped{0}, busy_ns{0};
};

class Busy {
 public:
  explicit Busy(StageStats& s) : s_(s), t0_(std::chrono::steady_clock::now()) {}
  ~Busy() {
    s_.busy_ns.fetch_add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0_).count(),
        std::memory_order_relaxed);
  }

 private:
  StageStats& s_;
  std::chrono::steady_clock::time_point t0_;
};

// Problems with input: counted by the stage, logged once per file.
class Problems {
 public:
  void report(const std::string& stage, const std::string& file, const std::string& msg);
  void note(const std::string& msg);  // informational line, not a problem
  std::vector<std::string> drain();
  uint64_t total() const { return total_.load(); }

 private:
  std::mutex m_;
  std::unordered_set<std::string> seen_;
  std::deque<std::string> pending_;
  std::atomic<uint64_t> total_{0};
};

class Segment;

class Stage {
 public:
  Stage(Segment& seg, std::string name, const Cfg& cfg) : seg_(seg), name_(std::move(name)), cfg_(cfg) {}
  virtual ~Stage() = default;
  virtual int threads() const { return 1; }
  virtual void work(int tid) = 0;
  virtual void close_outputs() = 0;
  virtual void gauges(std::map<std::string, double>& out) const { (void)out; }
  // A client's command (e.g. train_now), from any thread; true if this stage acts on it.
  virtual bool command(const std::string& name) {
    (void)name;
    return false;
  }
  // Fast-forward: the stage's first n outputs are cut but not handed on (a
  // resumed run's consumer already trained on them); true if this stage can.
  virtual bool skip_to(uint64_t n) {
    (void)n;
    return false;
  }
  const std::string& name() const { return name_; }
  std::vector<std::string> unread_settings() const { return cfg_.unread(); }
  StageStats stats;
  std::atomic<int> live{0};

 protected:
  bool stopping() const;
  void problem(const std::string& file, const std::string& msg);
  Segment& seg_;
  std::string name_;
  Cfg cfg_;
};

// The queues an output port writes to (fan-out copies items).
template <class T>
struct OutPort {
  std::vector<Queue<T>*> qs;
  bool push(T&& item);
  bool push_many(std::vector<T>& items);  // items are moved from
  void close() {
    for (auto* q : qs) q->writer_done();
  }
  bool connected() const { return !qs.empty(); }
};

template <class T>
inline T duplicate(const T& x) {
  return x;
}
inline FramePtr duplicate(const FramePtr& f) { return clone_frame(*f); }

template <class T>
bool OutPort<T>::push(T&& item) {
  if (qs.empty()) return true;
  for (size_t i = 0; i + 1 < qs.size(); ++i)
    if (!qs[i]->push(duplicate(item))) return false;
  return qs.back()->push(std::move(item));
}

template <class T>
bool OutPort<T>::push_many(std::vector<T>& items) {
  if (qs.empty() || items.empty()) return true;
  for (size_t i = 0; i + 1 < qs.size(); ++i) {
    std::vector<T> copies;
    copies.reserve(items.size());
    for (const auto& x : items) copies.push_back(duplicate(x));
    if (!qs[i]->push_many(copies)) return false;
  }
  return qs.back()->push_many(items);
}

// Reads and inflates a chunk, decodes its frames. Problems are reported
// under `stage`; returns nullptr when nothing usable was found.
std::shared_ptr<Game> decode_chunk(const ChunkRef& c, const std::string& stage, StageStats& st, Problems& problems,
                                   Bytes& raw, Bytes& gz, const GzOptions& opt);

// The gzip settings of a decoding stage ("inflater", "check_crc").
GzOptions gz_options(const Cfg& cfg);

}  // namespace lcl
