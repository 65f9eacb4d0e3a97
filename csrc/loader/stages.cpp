// The loader stages. Each runs its own threads between typed queues; see
// docs/loader.md for their settings and semantics.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <list>
#include <numeric>
#include <set>
#include <thread>
#include <unordered_map>

#include "hashing.h"
#include "loader/dirwatch.h"
#include "loader/frame_position.h"
#include "loader/segment.h"
#include "loader/syzygy.h"
#include "loader/tar.h"

namespace lcl {

namespace {

using ms = std::chrono::milliseconds;
const ms kTick(100);

std::string base_name(const std::string& p) {
  size_t k = p.rfind('/');
  return k == std::string::npos ? p : p.substr(k + 1);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int auto_threads(double n) {
  if (n >= 1) return static_cast<int>(n);
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 2;
}

template <class T>
Queue<T>* bind_in(Segment& seg, const StageDesc& d, const std::string& port, bool required = true) {
  auto it = d.inputs.find(port);
  if (it == d.inputs.end()) {
    if (required) throw std::invalid_argument(d.name + ": input '" + port + "' is not connected");
    return nullptr;
  }
  return seg.queue<T>(it->second, d.name + "." + port);
}

template <class T>
OutPort<T> bind_out(Segment& seg, const StageDesc& d, const std::string& port) {
  OutPort<T> out;
  auto it = d.outputs.find(port);
  if (it == d.outputs.end()) return out;
  for (const auto& id : it->second) {
    Queue<T>* q = seg.queue<T>(id, d.name + "." + port);
    if (!q) throw std::invalid_argument(d.name + "." + port + ": unknown queue " + id);
    q->add_writer();
    out.qs.push_back(q);
  }
  return out;
}

// Pops with a short timeout so stops are seen; false at the end of input.
template <class T>
bool next_item(Queue<T>* q, T& item, const std::function<bool()>& stopping) {
  while (!stopping()) {
    Pop r = q->pop(item, kTick);
    if (r == Pop::Ok) return true;
    if (r == Pop::Closed) return false;
  }
  return false;
}

// ---------------------------------------------------------------- watch --
// A first scan, then new files: from inotify events (a file closed after
// writing or renamed into place is complete) with a slow safety rescan, or
// by polling, where a file is taken once its size and mtime settle.
class Watch : public Stage {
 public:
  Watch(Segment& seg, const StageDesc& d) : Stage(seg, d.name, d.cfg) {
    out_ = bind_out<std::string>(seg, d, "paths");
    dir_ = cfg_.str("dir");
    follow_ = cfg_.flag("follow");
    recursive_ = cfg_.flag("recursive");
    poll_ = cfg_.num("poll_seconds");
    settle_ = cfg_.num("settle_seconds");
    const std::string mode = cfg_.str("mode");
    if (mode != "inotify" && mode != "poll")
      throw std::invalid_argument(d.name + ": mode must be 'inotify' or 'poll', not '" + mode + "'");
    inotify_wanted_ = mode == "inotify";
    rescan_ = cfg_.num("rescan_seconds");
    max_watches_ = static_cast<size_t>(std::max(1.0, cfg_.num("max_watches")));
  }
  void close_outputs() override { out_.close(); }
  void gauges(std::map<std::string, double>& g) const override {
    g["files"] = static_cast<double>(files_.load());
    g["inotify"] = inotify_on_.load() ? 1.0 : 0.0;
    g["known"] = static_cast<double>(known_.load());
    g["waiting_for_dir"] = dir_missing_.load() ? 1.0 : 0.0;
  }

  void work(int) override {
    if (follow_ && !wait_for_dir()) return;
    bool notify = inotify_wanted_ && follow_;
    if (notify) {
      // Watches first, then the first scan: a file written in between is
      // seen by one or the other (emitted_ keeps it from coming twice).
      std::string why = notifier_.open(max_watches_);
      if (why.empty()) why = notifier_.watch_tree(dir_, recursive_);
      if (!why.empty()) notify = fall_back(why);
    }
    inotify_on_.store(notify);
    bool scan_now = true;
    auto last_scan = std::chrono::steady_clock::now();
    std::vector<DirNotifier::Event> events;
    while (!stopping()) {
      std::vector<std::string> ready;
      if (scan_now) {
        Busy b(stats);
        scan_all(ready);
        last_scan = std::chrono::steady_clock::now();
        scan_now = false;
      }
      if (!emit(ready)) return;
      if (!follow_ && pending_.empty()) return;
      if (!notify) {
        for (double waited = 0; waited < poll_ && !stopping(); waited += 0.05) std::this_thread::sleep_for(ms(50));
        scan_now = true;
        continue;
      }
      events.clear();
      std::string err = notifier_.wait(100, events);
      if (!err.empty()) {
        notify = fall_back(err);
        inotify_on_.store(false);
        scan_now = true;
        continue;
      }
      for (auto& e : events) {
        switch (e.kind) {
          case DirNotifier::Kind::Complete:
            if (wanted(e.path) && !emitted_.count(e.path)) {
              pending_.erase(e.path);
              ready.push_back(e.path);
            }
            break;
          case DirNotifier::Kind::Gone:
            emitted_.erase(e.path);
            pending_.erase(e.path);
            break;
          case DirNotifier::Kind::NewDir:
            if (recursive_) {
              std::string why = notifier_.watch_tree(e.path, true);
              if (!why.empty()) {
                notify = fall_back(why);
                inotify_on_.store(false);
              }
              scan_now = true;  // files written before the watch existed
            }
            break;
          case DirNotifier::Kind::Rescan:
            scan_now = true;
            break;
        }
      }
      if (!emit(ready)) return;
      // Files the scan found still changing are looked at again at the poll
      // interval; otherwise a slow rescan guards against missed events.
      const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_scan).count();
      if (since >= (pending_.empty() ? rescan_ : poll_)) scan_now = true;
    }
  }

 private:
  struct Found {
    std::string path;
    int64_t size, mtime;
  };

  // A followed directory that does not exist yet (self-play creates it later)
  // is a quiet wait, shown by the waiting_for_dir gauge; false when stopping.
  bool wait_for_dir() {
    struct stat sb;
    while (::stat(dir_.c_str(), &sb) != 0 && errno == ENOENT) {
      dir_missing_.store(true);
      for (double waited = 0; waited < poll_ && !stopping(); waited += 0.05) std::this_thread::sleep_for(ms(50));
      if (stopping()) return false;
    }
    dir_missing_.store(false);
    return true;
  }

  bool fall_back(const std::string& why) {
    notifier_.close();
    seg_.info(name_ + ": " + why + "; polling " + dir_ + " every " + std::to_string(poll_) + " s instead");
    return false;
  }

  static bool wanted(const std::string& path) {
    const std::string name = base_name(path);
    return !name.empty() && name[0] != '.' && (ends_with(name, ".gz") || ends_with(name, ".tar"));
  }

  // Newest first (lc0 names sort by time): the pool fills with the newest games.
  bool emit(std::vector<std::string>& ready) {
    std::sort(ready.begin(), ready.end(),
              [](const std::string& a, const std::string& b) { return base_name(a) > base_name(b); });
    for (auto& p : ready) {
      emitted_.insert(p);
      files_.fetch_add(1);
      std::string copy = p;
      if (!out_.push(std::move(copy))) return false;
      stats.out.fetch_add(1);
    }
    ready.clear();
    known_.store(emitted_.size());
    return true;
  }

  // One scan: new files that settled go to `ready`; files that vanished are
  // forgotten (so memory follows the directory, not its history).
  void scan_all(std::vector<std::string>& ready) {
    std::vector<Found> found;
    scan(dir_, found, 0);
    const int64_t now = now_ns();
    std::unordered_set<std::string> present;
    present.reserve(found.size());
    for (auto& f : found) {
      present.insert(f.path);
      if (emitted_.count(f.path)) continue;
      auto it = pending_.find(f.path);
      bool same = it != pending_.end() && it->second == std::make_pair(f.size, f.mtime);
      // A file still being written changes size or mtime between scans.
      if (same || now - f.mtime >= static_cast<int64_t>(settle_ * 1e9)) {
        pending_.erase(f.path);
        ready.push_back(f.path);
      } else {
        pending_[f.path] = {f.size, f.mtime};
      }
    }
    for (auto it = emitted_.begin(); it != emitted_.end();) it = present.count(*it) ? std::next(it) : emitted_.erase(it);
    for (auto it = pending_.begin(); it != pending_.end();)
      it = present.count(it->first) ? std::next(it) : pending_.erase(it);
  }

  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  void scan(const std::string& dir, std::vector<Found>& out, int depth) {
    DIR* d = ::opendir(dir.c_str());
    if (!d && depth == 0 && errno == ENOENT && follow_) {
      dir_missing_.store(true);  // removed while followed: waits quietly for it to come back
      return;
    }
    if (depth == 0) dir_missing_.store(false);
    if (!d) {
      stats.bad.fetch_add(1);
      problem(dir, std::string("cannot read directory: ") + std::strerror(errno));
      return;
    }
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.empty() || name[0] == '.') continue;  // dotfiles: temp files of writers
      std::string path = dir + "/" + name;
      struct stat sb;
      if (::stat(path.c_str(), &sb) != 0) continue;  // vanished meanwhile
      if (S_ISDIR(sb.st_mode)) {
        if (recursive_ && depth < 32) scan(path, out, depth + 1);
        continue;
      }
      if (!S_ISREG(sb.st_mode)) continue;
      if (!ends_with(name, ".gz") && !ends_with(name, ".tar")) continue;
      int64_t mt = static_cast<int64_t>(sb.st_mtim.tv_sec) * 1000000000LL + sb.st_mtim.tv_nsec;
      out.push_back({path, static_cast<int64_t>(sb.st_size), mt});
    }
    ::closedir(d);
  }

  OutPort<std::string> out_;
  std::string dir_;
  bool follow_, recursive_, inotify_wanted_;
  double poll_, settle_, rescan_;
  size_t max_watches_;
  DirNotifier notifier_;
  std::unordered_set<std::string> emitted_;
  std::unordered_map<std::string, std::pair<int64_t, int64_t>> pending_;  // path -> (size, mtime ns)
  std::atomic<uint64_t> files_{0}, known_{0};
  std::atomic<bool> inotify_on_{false};
  std::atomic<bool> dir_missing_{false};
};

// ----------------------------------------------------------------- read --
class Read : public Stage {
 public:
  Read(Segment& seg, const StageDesc& d) : Stage(seg, d.name, d.cfg) {
    in_ = bind_in<std::string>(seg, d, "paths");
    out_ = bind_out<ChunkPtr>(seg, d, "sources");
    threads_ = auto_threads(cfg_.num("threads"));
    newest_first_ = cfg_.flag("newest_first");
  }
  int threads() const override { return threads_; }
  void close_outputs() override { out_.close(); }
  void gauges(std::map<std::string, double>& g) const override {
    g["tars"] = static_cast<double>(tars_.load());
    g["members"] = static_cast<double>(members_.load());
  }

  void work(int) override {
    std::string path;
    auto stop = [this] { return stopping(); };
    while (next_item(in_, path, stop)) {
      stats.in.fetch_add(1);
      std::vector<ChunkPtr> chunks;
      {
        Busy b(stats);
        open(path, chunks);
      }
      for (auto& c : chunks) {
        if (!out_.push(std::move(c))) return;
        stats.out.fetch_add(1);
      }
    }
  }

 private:
  void open(const std::string& path, std::vector<ChunkPtr>& chunks) {
    auto file = std::make_shared<SourceFile>();
    file->path = path;
    if (ends_with(path, ".gz")) {
      auto c = std::make_shared<ChunkRef>();
      c->file = file;
      c->key = base_name(path);
      c->id = lcpipe::stable_hash(path, 0);
      chunks.push_back(std::move(c));
      return;
    }
    if (!ends_with(path, ".tar")) {
      stats.skipped.fetch_add(1);
      return;
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      stats.bad.fetch_add(1);
      problem(path, std::string("cannot open: ") + std::strerror(errno));
      return;
    }
    file->fd = fd;
    file->is_tar = true;
    struct stat sb;
    if (::fstat(fd, &sb) != 0) {
      stats.bad.fetch_add(1);
      problem(path, "cannot stat");
      return;
    }
    TarIndex idx;
    index_tar(fd, static_cast<uint64_t>(sb.st_size), idx);
    tars_.fetch_add(1);
    if (!idx.problems.empty()) {
      stats.bad.fetch_add(idx.problems.size());
      problem(path, idx.problems[0]);
    }
    stats.skipped.fetch_add(idx.skipped_entries);
    for (auto& m : idx.members) {
      std::string key = base_name(m.name);
      if (!ends_with(key, ".gz")) {  // LICENSE and friends
        stats.skipped.fetch_add(1);
        continue;
      }
      auto c = std::make_shared<ChunkRef>();
      c->file = file;
      c->offset = m.offset;
      c->size = m.size;
      c->key = std::move(key);
      c->member = m.name;
      c->id = lcpipe::stable_hash(path + "\n" + m.name, 0);
      chunks.push_back(std::move(c));
    }
    members_.fetch_add(chunks.size());
    if (newest_first_)
      std::stable_sort(chunks.begin(), chunks.end(), [](const ChunkPtr& a, const ChunkPtr& b) { return a->key > b->key; });
  }

  Queue<std::string>* in_;
  OutPort<ChunkPtr> out_;
  int threads_;
  bool newest_first_;
  std::atomic<uint64_t> tars_{0}, members_{0};
};

// ---------------------------------------------------------------- split --
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
  }
  void close_outputs() override {
    for (auto& o : outs_) o.close();
  }
  void work(int) override {
    ChunkPtr c;
    auto stop = [this] { return stopping(); };
    while (next_item(in_, c, stop)) {
      stats.in.fetch_add(1);
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
  Queue<ChunkPtr>* in_;
  OutPort<ChunkPtr> outs_[3];
  double cum_[2];
  uint64_t seed_;
};

// ----------------------------------------------------------- chunk pool --
class ChunkPool : public Stage {
 public:
  ChunkPool(Segment& seg, const StageDesc& d) : Stage(seg, d.name, d.cfg), rng_(static_cast<uint64_t>(cfg_.num("seed"))) {
    in_ = bind_in<ChunkPtr>(seg, d, "sources");
    out_ = bind_out<ChunkPtr>(seg, d, "chunks");
    window_ = static_cast<size_t>(std::max(1.0, cfg_.num("window")));
    min_chunks_ = static_cast<size_t>(cfg_.num("min_chunks"));
    start_idle_ = cfg_.num("start_after_idle_seconds");
    shuffle_ = cfg_.flag("shuffle");
    hanse_ = cfg_.str("sampling") == "hanse";
    hanse_ratio_ = std::max(1.0, cfg_.num("hanse_ratio"));
    passes_ = static_cast<uint64_t>(cfg_.num("passes"));
    anchor_file_ = cfg_.str("anchor_file");
    wait_for_new_ = static_cast<uint64_t>(cfg_.num("wait_for_new"));
    per_anchor_ = static_cast<uint64_t>(cfg_.num("chunks_per_anchor"));
  }
  void close_outputs() override { out_.close(); }
  void gauges(std::map<std::string, double>& g) const override {
    g["size"] = static_cast<double>(size_.load());
    g["passes"] = static_cast<double>(passes_done_.load());
    g["new_since_anchor"] = static_cast<double>(new_since_anchor_.load());
    g["anchor_waiting"] = waiting_.load() ? 1.0 : 0.0;
    g["started"] = started_.load() ? 1.0 : 0.0;
    // Distinct games taken in since the start (games already on disk
    // included): the trainer's max_steps_per_game throttle reads it.
    g["games_seen"] = static_cast<double>(games_seen_.load());
  }
  // train_now: the wait for wait_for_new new chunks ends now; the anchor moves to the
  // newest chunk, so the next round waits for its own new chunks again.
  bool command(const std::string& name) override {
    if (name != "train_now" || wait_for_new_ == 0) return false;
    skip_wait_.store(true);
    return true;
  }

  void work(int) override {
    load_anchor();
    bool input_open = true;
    auto last_input = std::chrono::steady_clock::now();
    std::vector<ChunkPtr> incoming;
    while (!stopping()) {
      incoming.clear();
      if (input_open) {
        if (!ready(input_open, last_input)) {
          Pop r = in_->pop_many(incoming, 4096, kTick);
          if (r == Pop::Closed) input_open = false;
        } else if (in_->try_pop_many(incoming, 4096) == 0 && in_->closed()) {
          input_open = false;
        }
        if (!incoming.empty()) {
          last_input = std::chrono::steady_clock::now();
          Busy b(stats);
          for (auto& c : incoming) add(std::move(c));
        }
      }
      if (!ready(input_open, last_input)) {
        if (!input_open) break;  // nothing more can arrive
        continue;
      }
      ChunkPtr c;
      {
        Busy b(stats);
        c = next();
      }
      if (!c) {
        if (done_ || !input_open) break;  // all passes done, or nothing left and nothing to come
        continue;                          // every chunk was deleted: wait for new ones
      }
      if (!emit(c, input_open, last_input)) return;
    }
  }

 private:
  // Pushes one chunk; while the output is full keeps taking in new chunks.
  bool emit(ChunkPtr& c, bool& input_open, std::chrono::steady_clock::time_point& last_input) {
    if (out_.qs.size() != 1) {
      bool ok = out_.push(std::move(c));
      if (ok) {
        stats.out.fetch_add(1);
        emitted_since_anchor_++;
      }
      return ok;
    }
    std::vector<ChunkPtr> incoming;
    while (true) {
      int r = out_.qs[0]->push_for(c, ms(50));
      if (r < 0) return false;
      if (r == 1) {
        stats.out.fetch_add(1);
        emitted_since_anchor_++;
        return true;
      }
      if (input_open) {
        incoming.clear();
        if (in_->try_pop_many(incoming, 4096) == 0 && in_->closed()) input_open = false;
        if (!incoming.empty()) last_input = std::chrono::steady_clock::now();
        for (auto& x : incoming) add(std::move(x));
      }
    }
  }

  void add(ChunkPtr c) {
    stats.in.fetch_add(1);
    ++received_;
    const std::string key = c->key;
    auto it = pool_.find(key);
    if (it != pool_.end()) {
      it->second = std::move(c);  // same game seen again: keep the newer source
      return;
    }
    pool_.emplace(key, std::move(c));
    games_seen_.fetch_add(1);
    dirty_ = true;
    if (key > anchor_) new_since_anchor_++;
    while (pool_.size() > window_) {
      if (pool_.begin()->first > anchor_) new_since_anchor_--;
      pool_.erase(pool_.begin());  // oldest key
      stats.skipped.fetch_add(1);
    }
    size_.store(pool_.size());
  }

  bool ready(bool input_open, std::chrono::steady_clock::time_point last_input) {
    if (pool_.empty()) return false;
    if (!started_) {
      if (input_open && !may_start(last_input)) return false;
      started_ = true;
      seg_.info(name_ + ": started on " + std::to_string(pool_.size()) + " chunks (" + std::to_string(received_) +
                " received" + (input_open ? "" : ", input ended") + ")");
    }
    if (wait_for_new_ > 0) {
      if (per_anchor_ > 0 && emitted_since_anchor_ >= per_anchor_ && !waiting_) waiting_ = true;
      if (waiting_ || !anchored_) {
        if (new_since_anchor_.load() < static_cast<int64_t>(wait_for_new_) && !skip_wait_.exchange(false)) {
          waiting_ = true;
          return false;
        }
        move_anchor();
      }
    }
    return true;
  }

  // The first output while the input may still grow. min_chunks (counting
  // chunks received; more than the window starts on the newest of them) is a
  // hard floor: a watched directory that is still filling never starts below
  // it. Only without a floor (min_chunks 0: a full window) may an idle input
  // start the pool early, for a finished directory smaller than the window.
  // Once the input has ended the pool starts on whatever it holds.
  bool may_start(std::chrono::steady_clock::time_point last_input) const {
    if (min_chunks_) return received_ >= min_chunks_;
    if (pool_.size() >= window_) return true;
    if (start_idle_ <= 0) return false;
    double idle = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_input).count();
    return idle >= start_idle_;
  }

  void move_anchor() {
    anchor_ = pool_.rbegin()->first;
    new_since_anchor_ = 0;
    emitted_since_anchor_ = 0;
    waiting_ = false;
    anchored_ = true;
    save_anchor();
    seg_.info(name_ + ": anchor moved to " + anchor_);
  }

  void load_anchor() {
    anchored_ = wait_for_new_ == 0;
    if (anchor_file_.empty()) return;
    std::ifstream f(anchor_file_);
    std::string line;
    if (f && std::getline(f, line) && !line.empty()) {
      anchor_ = line;
      seg_.info(name_ + ": anchor " + anchor_ + " from " + anchor_file_);
    }
  }

  void save_anchor() {
    if (anchor_file_.empty()) return;
    std::string tmp = anchor_file_ + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      f << anchor_ << "\n";
      if (!f) {
        problem(anchor_file_, "cannot write anchor file");
        return;
      }
    }
    if (std::rename(tmp.c_str(), anchor_file_.c_str()) != 0) problem(anchor_file_, "cannot write anchor file");
  }

  ChunkPtr next() {
    if (hanse_) return draw_hanse();
    while (true) {
      while (pos_ < order_.size()) {
        auto it = pool_.find(order_[pos_++]);
        if (it == pool_.end()) continue;  // evicted during the pass
        if (it->second->file->gone.load()) {
          drop(it);
          continue;
        }
        return it->second;
      }
      if (!order_.empty()) passes_done_++;
      if (passes_ && passes_done_.load() >= passes_) {
        done_ = true;
        return nullptr;
      }
      if (pool_.empty()) return nullptr;
      order_.clear();
      for (auto& kv : pool_) order_.push_back(kv.first);
      if (shuffle_) std::shuffle(order_.begin(), order_.end(), rng_);
      pos_ = 0;
    }
  }

  // "hanse": draws with replacement, newer chunks favoured; the newest is
  // hanse_ratio times as likely as the oldest (weights grow exponentially).
  ChunkPtr draw_hanse() {
    while (true) {
      if (dirty_ || snapshot_.empty() || draws_since_snapshot_ >= 1024) {
        snapshot_.clear();
        for (auto it = pool_.begin(); it != pool_.end();) {
          if (it->second->file->gone.load()) {
            drop(it++);
            continue;
          }
          snapshot_.push_back(it->second);
          ++it;
        }
        dirty_ = false;
        draws_since_snapshot_ = 0;
        if (snapshot_.empty()) return nullptr;
      }
      if (passes_ && draws_ >= passes_ * snapshot_.size()) {
        done_ = true;
        return nullptr;
      }
      std::uniform_real_distribution<double> u(0.0, 1.0);
      double x = u(rng_);
      if (hanse_ratio_ > 1.0) x = std::log1p(x * (hanse_ratio_ - 1.0)) / std::log(hanse_ratio_);
      size_t r = std::min(snapshot_.size() - 1, static_cast<size_t>(x * snapshot_.size()));
      if (!snapshot_[r]->file->gone.load()) {
        ++draws_;
        ++draws_since_snapshot_;
        passes_done_.store(draws_ / snapshot_.size());  // a "pass" is as many draws as chunks in the pool
        return snapshot_[r];
      }
      dirty_ = true;  // deleted: the rebuilt snapshot leaves it (and any other) out
    }
  }

  // A chunk whose file was deleted leaves the pool.
  void drop(std::map<std::string, ChunkPtr>::iterator it) {
    if (it->first > anchor_) new_since_anchor_--;
    pool_.erase(it);
    stats.skipped.fetch_add(1);
    size_.store(pool_.size());
  }

  Queue<ChunkPtr>* in_;
  OutPort<ChunkPtr> out_;
  size_t window_, min_chunks_, received_ = 0;
  double start_idle_;
  bool shuffle_, hanse_;
  double hanse_ratio_;
  uint64_t passes_;
  std::string anchor_file_, anchor_;
  uint64_t wait_for_new_, per_anchor_, emitted_since_anchor_ = 0;
  std::atomic<bool> skip_wait_{false};
  bool anchored_ = true, dirty_ = true, done_ = false;
  std::atomic<bool> started_{false};  // read by gauges()
  std::atomic<bool> waiting_{false};
  std::map<std::string, ChunkPtr> pool_;
  std::vector<std::string> order_;
  size_t pos_ = 0;
  std::vector<ChunkPtr> snapshot_;
  uint64_t draws_ = 0, draws_since_snapshot_ = 0;  // hanse draws served; since the snapshot was taken
  std::mt19937_64 rng_;
  std::atomic<uint64_t> size_{0}, passes_done_{0}, games_seen_{0};
  std::atomic<int64_t> new_since_anchor_{0};
};

// -------------------------------------------------------------- extract --
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

// -------------------------------------------------------------- rescore --
class Rescore : public Stage {
 public:
  Rescore(Segment& seg, const StageDesc& d) : Stage(seg, d.name, d.cfg) {
    in_ = bind_in<ChunkPtr>(seg, d, "chunks");
    out_ = bind_out<ChunkPtr>(seg, d, "chunks");
    threads_ = auto_threads(cfg_.num("threads"));
    temperature_ = cfg_.num("policy_temperature");
    offset_ = cfg_.num("policy_offset");
    deblunder_ = cfg_.flag("deblunder");
    threshold_ = cfg_.num("deblunder_threshold");
    short_term_ = cfg_.flag("short_term");
    lambda_ = cfg_.num("short_term_lambda");
    overwrite_ = cfg_.flag("overwrite_short_term");
    gz_opts_ = gz_options(cfg_);
    open_tablebases(d.name);
  }
  int threads() const override { return threads_; }
  void close_outputs() override { out_.close(); }
  void gauges(std::map<std::string, double>& g) const override {
    if (!tb_) return;
    g["tb_games"] = static_cast<double>(tb_games_.load());
    g["tb_frames_changed"] = static_cast<double>(tb_changed_.load());
    g["tb_probes"] = static_cast<double>(tb_probes_.load());
    g["tb_misses"] = static_cast<double>(tb_misses_.load());
  }

  void work(int) override {
    ChunkPtr c;
    Bytes raw, gz;
    auto stop = [this] { return stopping(); };
    while (next_item(in_, c, stop)) {
      stats.in.fetch_add(1);
      auto fresh = std::make_shared<ChunkRef>(*c);
      {
        Busy b(stats);
        std::shared_ptr<Game> g;
        if (c->game) {  // already decoded upstream: work on a copy
          g = std::make_shared<Game>();
          for (auto& f : c->game->frames) g->frames.push_back(clone_frame(*f));
        } else {
          g = decode_chunk(*c, name_, stats, seg_.problems(), raw, gz, gz_opts_);
        }
        if (!g) {
          stats.skipped.fetch_add(1);
          continue;
        }
        if (temperature_ != 1.0 || offset_ != 0.0)
          for (auto& f : g->frames) policy(*f);
        if (tb_) tablebase_results(*g, *c);
        if (deblunder_) deblunder(*g);
        if (short_term_) short_term(*g);
        fresh->game = std::move(g);
      }
      if (!out_.push(std::move(fresh))) return;
      stats.out.fetch_add(1);
    }
  }

 private:
  // p <- max(p - offset, 0) ^ (1/T), renormalised; untouched if nothing is left.
  void policy(Frame& f) {
    float* p = f.prob();
    std::vector<double> q(f.n_legal);
    double sum = 0;
    for (int k = 0; k < f.n_legal; ++k) {
      double v = std::max(0.0, static_cast<double>(p[k]) - offset_);
      if (temperature_ != 1.0 && v > 0) v = std::pow(v, 1.0 / temperature_);
      q[k] = v;
      sum += v;
    }
    if (sum <= 0) return;
    for (int k = 0; k < f.n_legal; ++k) p[k] = static_cast<float>(q[k] / sum);
  }

  // "syzygy_paths" holds the directories one per line (lcpipe.loader.segment).
  void open_tablebases(const std::string& stage) {
    std::vector<std::string> dirs;
    const std::string all = cfg_.str("syzygy_paths");
    for (size_t at = 0; at < all.size();) {
      size_t nl = all.find('\n', at);
      if (nl == std::string::npos) nl = all.size();
      if (nl > at) dirs.push_back(all.substr(at, nl - at));
      at = nl + 1;
    }
    if (dirs.empty()) return;
    try {
      tb_ = std::make_unique<lcpipe::tb::Tablebases>(dirs);
    } catch (const std::exception& e) {
      throw std::invalid_argument(stage + ": syzygy_paths: " + e.what());
    }
    tb_pieces_ = tb_->max_pieces();
    std::string where;
    for (auto& dir : dirs) where += (where.empty() ? "" : ", ") + dir;
    if (tb_->wdl_tables() == 0)
      problem(where, "no Syzygy WDL tables (*.rtbw) found: results are not rescored");
    else
      seg_.info(stage + ": " + std::to_string(tb_->wdl_tables()) + " Syzygy WDL tables, up to " +
                std::to_string(tb_pieces_) + " pieces, from " + where);
  }

  // Tablebase rescoring of the game result (docs/loader.md): an anchor is a
  // frame whose position the tables cover (no castling, few enough pieces)
  // with rule50 == 0, so the table's WDL is exact under the 50-move rule.
  // Its value (win +1, loss -1, anything else 0: lc0 games end drawn at the
  // 50-move rule) becomes the result of every frame since the previous
  // anchor, signed for each frame's side to move. Frames after the last
  // anchor keep the game result.
  void tablebase_results(Game& g, const ChunkRef& chunk) {
    size_t first = 0;  // first frame not yet given an anchor's value
    bool anchored = false;
    uint64_t changed = 0;
    for (size_t i = 0; i < g.frames.size(); ++i) {
      const Frame& f = *g.frames[i];
      if (f.rule50 != 0) continue;
      const lcpipe::tb::Position pos = frame_position(f);
      if (pos.has_castling() || pos.piece_count() > tb_pieces_) continue;
      tb_probes_.fetch_add(1, std::memory_order_relaxed);
      const std::optional<lcpipe::tb::Wdl> wdl = tb_->probe_wdl(pos);
      if (!wdl) {
        tb_misses_.fetch_add(1, std::memory_order_relaxed);
        problem(material(pos), "no tablebase value (table missing or unreadable), first seen in " + chunk.where());
        continue;
      }
      const int value = *wdl == lcpipe::tb::Wdl::kWin ? 1 : *wdl == lcpipe::tb::Wdl::kLoss ? -1 : 0;
      const bool black = frame_black_to_move(f);
      for (size_t k = first; k <= i; ++k) {
        Frame& h = *g.frames[k];
        const float q = value == 0 ? 0.0f : static_cast<float>(frame_black_to_move(h) == black ? value : -value);
        const float d = value == 0 ? 1.0f : 0.0f;
        if (h.v[kResult][0] != q || h.v[kResult][1] != d) ++changed;
        h.v[kResult][0] = q;
        h.v[kResult][1] = d;
      }
      first = i + 1;
      anchored = true;
    }
    if (anchored) tb_games_.fetch_add(1, std::memory_order_relaxed);
    tb_changed_.fetch_add(changed, std::memory_order_relaxed);
  }

  // "KQRvKR"-style name of a position's material (problems are logged once
  // per name).
  static std::string material(const lcpipe::tb::Position& p) {
    auto side = [&](int c) {
      std::string s;
      const char* names = "PNBRQK";
      for (int t = 5; t >= 0; --t)
        for (int n = __builtin_popcountll(p.by_color[c] & p.by_type[t]); n > 0; --n) s += names[t];
      return s;
    };
    auto worth = [](const std::string& s) {
      int v = 0;
      for (char ch : s) v += ch == 'Q' ? 9 : ch == 'R' ? 5 : ch == 'B' || ch == 'N' ? 3 : ch == 'P' ? 1 : 0;
      return v;
    };
    std::string a = side(lcpipe::tb::kWhite), b = side(lcpipe::tb::kBlack);
    if (worth(b) > worth(a)) std::swap(a, b);  // stronger side first, as table names go
    return "syzygy " + a + "v" + b;
  }

  // Walking back from the end: after a blunder (played move worse than the
  // best by more than the threshold) earlier positions learn the best line's
  // value instead of the game result.
  void deblunder(Game& g) {
    if (g.frames.empty()) return;
    float tq = g.frames.back()->v[kResult][0], td = g.frames.back()->v[kResult][1];
    for (size_t i = g.frames.size(); i-- > 0;) {
      Frame& f = *g.frames[i];
      float best_q = f.v[kBest][0], played_q = f.v[kPlayed][0];
      if (std::isfinite(best_q) && std::isfinite(played_q) && best_q - played_q > threshold_) {
        tq = best_q;
        td = f.v[kBest][1];
      }
      f.v[kResult][0] = tq;
      f.v[kResult][1] = td;
      tq = -tq;  // the previous position is seen from the other side
    }
  }

  // Short-term value: exponentially weighted future best_q (side-to-move
  // view, sign flipping each ply), ending in the game result; plus the
  // opponent's reply and our next move indices. Filled where missing (V6).
  void short_term(Game& g) {
    const size_t n = g.frames.size();
    double sq = 0, sd = 0;
    for (size_t i = n; i-- > 0;) {
      Frame& f = *g.frames[i];
      double bq = std::isfinite(f.v[kBest][0]) ? f.v[kBest][0] : f.v[kResult][0];
      double bd = std::isfinite(f.v[kBest][1]) ? f.v[kBest][1] : f.v[kResult][1];
      if (i == n - 1) {
        sq = (1 - lambda_) * bq + lambda_ * f.v[kResult][0];
        sd = (1 - lambda_) * bd + lambda_ * f.v[kResult][1];
      } else {
        sq = (1 - lambda_) * bq - lambda_ * sq;
        sd = (1 - lambda_) * bd + lambda_ * sd;
      }
      if (overwrite_ || std::isnan(f.v[kShortTerm][0])) {
        f.v[kShortTerm][0] = static_cast<float>(sq);
        f.v[kShortTerm][1] = static_cast<float>(sd);
      }
      if (overwrite_ || f.opp_idx == kNoMove) f.opp_idx = i + 1 < n ? g.frames[i + 1]->played_idx : kNoMove;
      if (overwrite_ || f.next_idx == kNoMove) f.next_idx = i + 2 < n ? g.frames[i + 2]->played_idx : kNoMove;
    }
  }

  Queue<ChunkPtr>* in_;
  OutPort<ChunkPtr> out_;
  int threads_;
  double temperature_, offset_, threshold_, lambda_;
  bool deblunder_, short_term_, overwrite_;
  GzOptions gz_opts_;
  std::unique_ptr<lcpipe::tb::Tablebases> tb_;  // shared by the stage's threads
  int tb_pieces_ = 0;
  std::atomic<uint64_t> tb_games_{0}, tb_changed_{0}, tb_probes_{0}, tb_misses_{0};
};

// --------------------------------------------------------------- unpack --
// Decodes each chunk once and keeps its not-yet-used frames (compact) in a
// cache, so at sampling rate r a game is inflated about once per 1/r visits.
class Unpack : public Stage {
 public:
  Unpack(Segment& seg, const StageDesc& d) : Stage(seg, d.name, d.cfg) {
    in_ = bind_in<ChunkPtr>(seg, d, "chunks");
    out_ = bind_out<FramePtr>(seg, d, "frames");
    threads_ = auto_threads(cfg_.num("threads"));
    rate_ = cfg_.num("sampling_rate");
    per_chunk_ = static_cast<size_t>(cfg_.num("positions_per_chunk"));
    shuffle_ = cfg_.flag("shuffle");
    seed_ = static_cast<uint64_t>(cfg_.num("seed"));
    cache_budget_ = static_cast<size_t>(cfg_.num("cache_mb") * 1048576.0);
    s_min_ = cfg_.num("surprise.min_keep");
    s_slope_ = cfg_.num("surprise.slope");
    s_q_ = cfg_.num("surprise.q_weight");
    s_pol_ = cfg_.num("surprise.policy_weight");
    skip_marked_ = cfg_.flag("skip_marked");
    gz_opts_ = gz_options(cfg_);
  }
  int threads() const override { return threads_; }
  void close_outputs() override { out_.close(); }
  void gauges(std::map<std::string, double>& g) const override {
    g["cache_chunks"] = static_cast<double>(cache_chunks_.load());
    g["cache_mb"] = static_cast<double>(cache_bytes_.load()) / 1048576.0;
    g["decoded"] = static_cast<double>(decoded_.load());
  }

  void work(int tid) override {
    std::mt19937_64 rng(seed_ * 1000003 + static_cast<uint64_t>(tid));
    ChunkPtr c;
    Bytes raw, gz;
    std::vector<FramePtr> take;
    auto stop = [this] { return stopping(); };
    while (next_item(in_, c, stop)) {
      stats.in.fetch_add(1);
      take.clear();
      {
        Busy b(stats);
        visit(*c, rng, raw, gz, take);
      }
      if (!out_.push_many(take)) return;
      stats.out.fetch_add(take.size());
    }
  }

 private:
  struct Entry {
    std::vector<FramePtr> frames;  // unused frames, in the order they will be taken
    size_t total = 0, bytes = 0;
    std::list<uint64_t>::iterator age;
  };

  size_t how_many(size_t total, std::mt19937_64& rng) const {
    if (per_chunk_ > 0) return per_chunk_;
    double want = rate_ * static_cast<double>(total);
    size_t n = static_cast<size_t>(want);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    if (u(rng) < want - static_cast<double>(n)) ++n;  // stochastic rounding keeps the mean exact
    return n;
  }

  bool keep(const Frame& f, std::mt19937_64& rng) const {
    if (skip_marked_ && (f.invariance & 0x40)) return false;
    if (s_min_ >= 1.0) return true;
    double dq = std::fabs(static_cast<double>(f.v[kBest][0]) - f.v[kOrig][0]);
    if (!std::isfinite(dq)) return true;
    double surprise = s_q_ * dq + s_pol_ * f.policy_kld;
    double p = std::min(1.0, std::max(0.0, s_min_ + s_slope_ * surprise));
    std::uniform_real_distribution<double> u(0.0, 1.0);
    return u(rng) < p;
  }

  void visit(const ChunkRef& c, std::mt19937_64& rng, Bytes& raw, Bytes& gz,
             std::vector<FramePtr>& take) {
    if (!c.game) {  // cached frames from an earlier visit?
      std::lock_guard<std::mutex> l(m_);
      auto it = cache_.find(c.id);
      if (it != cache_.end()) {
        Entry& e = it->second;
        size_t n = std::min(how_many(e.total, rng), e.frames.size());
        for (size_t i = 0; i < n; ++i) {
          e.bytes -= e.frames.back()->bytes();
          cache_bytes_ -= e.frames.back()->bytes();
          take.push_back(std::move(e.frames.back()));
          e.frames.pop_back();
        }
        if (e.frames.empty()) erase(it);
        return;
      }
    }
    std::vector<FramePtr> frames;
    if (c.game) {
      for (auto& f : c.game->frames) frames.push_back(clone_frame(*f));
    } else {
      auto g = decode_chunk(c, name_, stats, seg_.problems(), raw, gz, gz_opts_);
      if (!g) {
        stats.skipped.fetch_add(1);
        return;
      }
      decoded_.fetch_add(1);
      frames = std::move(g->frames);
    }
    const size_t total = frames.size();
    if (s_min_ < 1.0 || skip_marked_) {
      size_t w = 0;
      for (size_t i = 0; i < frames.size(); ++i)
        if (keep(*frames[i], rng)) frames[w++] = std::move(frames[i]);
      stats.skipped.fetch_add(frames.size() - w);
      frames.resize(w);
    }
    // Frames are taken from the back: reverse (in order) or shuffle.
    if (shuffle_)
      std::shuffle(frames.begin(), frames.end(), rng);
    else
      std::reverse(frames.begin(), frames.end());
    size_t n = std::min(how_many(total, rng), frames.size());
    for (size_t i = 0; i < n; ++i) {
      take.push_back(std::move(frames.back()));
      frames.pop_back();
    }
    if (frames.empty() || c.game || cache_budget_ == 0) return;
    Entry e;
    e.total = total;
    for (auto& f : frames) e.bytes += f->bytes();
    if (e.bytes > cache_budget_) return;
    e.frames = std::move(frames);
    std::lock_guard<std::mutex> l(m_);
    while (cache_bytes_ + e.bytes > cache_budget_ && !ages_.empty()) erase(cache_.find(ages_.front()));
    auto old = cache_.find(c.id);
    if (old != cache_.end()) erase(old);
    ages_.push_back(c.id);
    e.age = std::prev(ages_.end());
    cache_bytes_ += e.bytes;
    cache_.emplace(c.id, std::move(e));
    cache_chunks_.store(cache_.size());
  }

  void erase(std::unordered_map<uint64_t, Entry>::iterator it) {
    cache_bytes_ -= it->second.bytes;
    ages_.erase(it->second.age);
    cache_.erase(it);
    cache_chunks_.store(cache_.size());
  }

  Queue<ChunkPtr>* in_;
  OutPort<FramePtr> out_;
  int threads_;
  double rate_;
  size_t per_chunk_;
  bool shuffle_, skip_marked_;
  GzOptions gz_opts_;
  uint64_t seed_;
  size_t cache_budget_;
  double s_min_, s_slope_, s_q_, s_pol_;
  std::mutex m_;
  std::unordered_map<uint64_t, Entry> cache_;
  std::list<uint64_t> ages_;
  std::atomic<size_t> cache_bytes_{0}, cache_chunks_{0};
  std::atomic<uint64_t> decoded_{0};
};

// ------------------------------------------------------------ reservoir --
class Reservoir : public Stage {
 public:
  Reservoir(Segment& seg, const StageDesc& d) : Stage(seg, d.name, d.cfg), rng_(static_cast<uint64_t>(cfg_.num("seed"))) {
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

// ---------------------------------------------------------------- batch --
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
      BatchPtr batch;
      {
        Busy b(stats);
        batch = pool->get(b_);
        encode(frames, *batch);
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
    }
    encode_done();
  }

  Queue<FramePtr>* in_;
  OutPort<BatchPtr> out_;
  int threads_;
  size_t b_;
  bool drop_last_;
};

// ---------------------------------------------------------------- merge --
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

std::unique_ptr<Stage> make_stage(Segment& seg, const StageDesc& d) {
  const std::string& t = d.type;
  if (t == "loader.watch") return std::make_unique<Watch>(seg, d);
  if (t == "loader.read") return std::make_unique<Read>(seg, d);
  if (t == "loader.split") return std::make_unique<Split>(seg, d);
  if (t == "loader.chunk_pool") return std::make_unique<ChunkPool>(seg, d);
  if (t == "loader.extract") return std::make_unique<Extract>(seg, d);
  if (t == "loader.rescore") return std::make_unique<Rescore>(seg, d);
  if (t == "loader.unpack") return std::make_unique<Unpack>(seg, d);
  if (t == "loader.reservoir") return std::make_unique<Reservoir>(seg, d);
  if (t == "loader.batch") return std::make_unique<Batch>(seg, d);
  if (t == "loader.merge") return std::make_unique<Merge>(seg, d);
  throw std::invalid_argument("unknown native stage type " + t);
}

}  // namespace lcl
