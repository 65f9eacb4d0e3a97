// inotify over a directory tree (Linux): tells when a file is complete
// (closed after writing, or renamed into place), when a directory appears,
// when a file goes away. The watch stage falls back to polling whenever this
// is unavailable or runs out of watches.
#pragma once
#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace lcl {

class DirNotifier {
 public:
  enum class Kind { Complete, NewDir, Gone, Rescan };
  struct Event {
    Kind kind;
    std::string path;
  };

  DirNotifier() = default;
  DirNotifier(const DirNotifier&) = delete;
  DirNotifier& operator=(const DirNotifier&) = delete;
  ~DirNotifier() { close(); }

  // Starts inotify; "" on success, else why not.
  std::string open(size_t max_watches);
  void close();
  bool active() const { return fd_ >= 0; }
  // Watches `dir` (and, if recursive, the directories below it that are not
  // dot-directories); "" on success, else why not (a limit was hit).
  std::string watch_tree(const std::string& dir, bool recursive, int depth = 0);
  // Waits up to timeout_ms for events and appends them; "" or a read error.
  std::string wait(int timeout_ms, std::vector<Event>& out);
  size_t watches() const { return dirs_.size(); }

 private:
  int fd_ = -1;
  size_t max_ = 0;
  std::unordered_map<int, std::string> dirs_;  // watch descriptor -> directory
};

}  // namespace lcl
