// The loader.watch stage (docs/loader.md has its settings and semantics).
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "loader/dirwatch.h"
#include "loader/stages/stage_support.h"

namespace lcl::stages {

namespace {

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
          case DirNotifier::Kind::Rescan: scan_now = true; break;
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
    for (auto it = emitted_.begin(); it != emitted_.end();)
      it = present.count(*it) ? std::next(it) : emitted_.erase(it);
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

}  // namespace

std::unique_ptr<Stage> make_watch(Segment& seg, const StageDesc& d) { return std::make_unique<Watch>(seg, d); }

}  // namespace lcl::stages
