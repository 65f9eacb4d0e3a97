#include "loader/segment.h"

#include <stdexcept>

namespace lcl {

Overflow parse_overflow(const std::string& s) {
  if (s == "" || s == "block") return Overflow::Block;
  if (s == "drop_newest") return Overflow::DropNewest;
  if (s == "keep_newest") return Overflow::KeepNewest;
  throw std::invalid_argument("unknown overflow policy " + s);
}

Segment::Segment(const std::vector<QueueDesc>& queues, const std::vector<StageDesc>& stages) {
  for (const auto& qd : queues) {
    std::unique_ptr<QueueBase> q;
    Overflow ov = parse_overflow(qd.overflow);
    if (qd.type == "paths")
      q.reset(new Queue<std::string>(qd.id, qd.capacity, ov));
    else if (qd.type == "chunk_sources" || qd.type == "chunks")
      q.reset(new Queue<ChunkPtr>(qd.id, qd.capacity, ov));
    else if (qd.type == "frames")
      q.reset(new Queue<FramePtr>(qd.id, qd.capacity, ov));
    else if (qd.type == "batches")
      q.reset(new Queue<BatchPtr>(qd.id, qd.capacity, ov));
    else
      throw std::invalid_argument("queue " + qd.id + ": port type " + qd.type +
                                  " cannot be carried by a native segment");
    for (int i = 0; i < qd.external_writers; ++i) q->add_writer();
    queue_types_[qd.id] = qd.type;
    queues_[qd.id] = std::move(q);
  }
  for (const auto& sd : stages) {
    stages_.push_back(make_stage(*this, sd));
    // Every setting handed over must be one the stage reads: a key it ignores is
    // a misspelling or a setting the declaration has and the native stage lacks.
    const auto unread = stages_.back()->unread_settings();
    if (!unread.empty()) {
      std::string names;
      for (const auto& k : unread) names += (names.empty() ? "'" : ", '") + k + "'";
      throw std::invalid_argument(sd.name + " (" + sd.type + "): setting(s) " + names +
                                  " not read by the native stage (misspelled or unsupported)");
    }
  }
}

Segment::~Segment() { stop(); }

void Segment::start() {
  if (started_) return;
  started_ = true;
  for (auto& st : stages_) {
    Stage* s = st.get();
    int n = std::max(1, s->threads());
    s->live = n;
    live_threads_ += n;
    for (int t = 0; t < n; ++t) {
      threads_.emplace_back([this, s, t] {
        try {
          s->work(t);
        } catch (const std::exception& e) {
          fatal(s->name(), e.what());
        } catch (...) {
          fatal(s->name(), "unknown error");
        }
        if (--s->live == 0) s->close_outputs();  // the last thread ends the stage's outputs
        --live_threads_;
      });
    }
  }
}

void Segment::stop() {
  stop_ = true;
  for (auto& kv : queues_) kv.second->abort();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

bool Segment::running() const { return live_threads_.load() > 0; }

void Segment::fatal(const std::string& stage, const std::string& what) {
  {
    std::lock_guard<std::mutex> l(err_m_);
    errors_.push_back(stage + ": " + what);
  }
  // A broken stage would stall the others: stop everything.
  stop_ = true;
  for (auto& kv : queues_) kv.second->abort();
}

void Segment::info(const std::string& msg) { problems_.note(msg); }

std::vector<std::string> Segment::errors() {
  std::lock_guard<std::mutex> l(err_m_);
  return errors_;
}

std::vector<std::string> Segment::command(const std::string& name) {
  std::vector<std::string> took;
  for (auto& st : stages_)
    if (st->command(name)) took.push_back(st->name());
  return took;
}

void Segment::skip_to(const std::string& stage, uint64_t n) {
  for (auto& st : stages_) {
    if (st->name() != stage) continue;
    if (!st->skip_to(n)) throw std::invalid_argument(stage + ": this stage type cannot fast-forward its output");
    return;
  }
  throw std::invalid_argument("no stage " + stage + " in this segment");
}

std::map<std::string, double> Segment::stats() const {
  std::map<std::string, double> out;
  for (const auto& st : stages_) {
    const std::string p = st->name() + "/";
    out[p + "in"] = static_cast<double>(st->stats.in.load());
    out[p + "out"] = static_cast<double>(st->stats.out.load());
    out[p + "bad"] = static_cast<double>(st->stats.bad.load());
    out[p + "skipped"] = static_cast<double>(st->stats.skipped.load());
    out[p + "busy_s"] = static_cast<double>(st->stats.busy_ns.load()) * 1e-9;
    out[p + "threads"] = static_cast<double>(std::max(1, st->threads()));
    std::map<std::string, double> g;
    st->gauges(g);
    for (auto& kv : g) out[p + kv.first] = kv.second;
  }
  for (const auto& kv : queues_) {
    const std::string p = "queue/" + kv.first + "/";
    out[p + "size"] = static_cast<double>(kv.second->size());
    out[p + "capacity"] = static_cast<double>(kv.second->capacity());
    out[p + "pushed"] = static_cast<double>(kv.second->pushed());
    out[p + "dropped"] = static_cast<double>(kv.second->dropped());
  }
  out["problems"] = static_cast<double>(problems_.total());
  return out;
}

}  // namespace lcl
