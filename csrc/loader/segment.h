// A fused loader segment: typed queues plus stages, each stage running its
// own threads. Built from a description made by lcpipe/loader/segment.py.
#pragma once
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "loader/core.h"

namespace lcl {

struct QueueDesc {
  std::string id, type, overflow;
  size_t capacity = 8;
  int external_writers = 0;  // writers outside the segment (Python pumps)
};

struct StageDesc {
  std::string name, type;
  Cfg cfg;
  std::map<std::string, std::string> inputs;                // port -> queue id
  std::map<std::string, std::vector<std::string>> outputs;  // port -> queue ids
};

class Segment {
 public:
  Segment(const std::vector<QueueDesc>& queues, const std::vector<StageDesc>& stages);
  ~Segment();

  void start();
  void stop();           // abort queues, join threads
  bool running() const;  // some stage thread still alive
  bool stopping() const { return stop_.load(); }

  template <class T>
  Queue<T>* queue(const std::string& id, const std::string& why);

  // Metrics snapshot: "stage/field" and "queue/id/field".
  std::map<std::string, double> stats() const;
  // Hands a command to every stage; the names of those that act on it.
  std::vector<std::string> command(const std::string& name);
  // Asks stage `stage` to fast-forward past its first n outputs (Stage::skip_to);
  // throws std::invalid_argument for an unknown stage or one that cannot.
  void skip_to(const std::string& stage, uint64_t n);
  std::vector<std::string> drain_problems() { return problems_.drain(); }
  std::vector<std::string> errors();
  Problems& problems() { return problems_; }
  std::shared_ptr<BatchPool> batch_pool() { return batch_pool_; }
  void fatal(const std::string& stage, const std::string& what);
  void info(const std::string& msg);

 private:
  std::map<std::string, std::unique_ptr<QueueBase>> queues_;
  std::map<std::string, std::string> queue_types_;
  std::vector<std::unique_ptr<Stage>> stages_;
  std::vector<std::thread> threads_;
  std::atomic<int> live_threads_{0};
  std::atomic<bool> stop_{false};
  bool started_ = false;
  Problems problems_;
  std::shared_ptr<BatchPool> batch_pool_ = std::make_shared<BatchPool>();
  std::mutex err_m_;
  std::vector<std::string> errors_;
};

template <class T>
Queue<T>* Segment::queue(const std::string& id, const std::string& why) {
  auto it = queues_.find(id);
  if (it == queues_.end()) return nullptr;
  auto* q = dynamic_cast<Queue<T>*>(it->second.get());
  if (!q)
    throw std::invalid_argument(why + ": queue " + id + " carries " + queue_types_[id] + ", not the expected type");
  return q;
}

// A stage of type d.type, from the table in stages/registry.cpp; throws
// std::invalid_argument for an unknown type.
std::unique_ptr<Stage> make_stage(Segment& seg, const StageDesc& d);

}  // namespace lcl
