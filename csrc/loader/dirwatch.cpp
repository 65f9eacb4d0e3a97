#include "loader/dirwatch.h"

#include <cerrno>
#include <cstring>

#if defined(__linux__)
#include <dirent.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace lcl {

#if defined(__linux__)

namespace {
constexpr uint32_t kMask =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
}

std::string DirNotifier::open(size_t max_watches) {
  close();
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) return std::string("inotify unavailable: ") + std::strerror(errno);
  max_ = max_watches;
  return "";
}

void DirNotifier::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  dirs_.clear();
}

std::string DirNotifier::watch_tree(const std::string& dir, bool recursive, int depth) {
  if (fd_ < 0) return "inotify is not open";
  if (dirs_.size() >= max_) return "inotify watch limit of the stage (max_watches) reached";
  const int wd = ::inotify_add_watch(fd_, dir.c_str(), kMask);
  if (wd < 0) {
    if (errno == ENOSPC) return "inotify watch limit of the system (fs.inotify.max_user_watches) reached";
    if (errno == ENOENT || errno == ENOTDIR) return "";  // gone meanwhile: nothing to watch
    return "cannot watch " + dir + ": " + std::strerror(errno);
  }
  dirs_[wd] = dir;
  if (!recursive || depth >= 32) return "";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return "";  // unreadable: the scan reports it
  std::string why;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string path = dir + "/" + e->d_name;
    struct stat sb;
    if (::stat(path.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode)) continue;
    why = watch_tree(path, recursive, depth + 1);
    if (!why.empty()) break;
  }
  ::closedir(d);
  return why;
}

std::string DirNotifier::wait(int timeout_ms, std::vector<Event>& out) {
  if (fd_ < 0) return "inotify is not open";
  struct pollfd p = {fd_, POLLIN, 0};
  int r = ::poll(&p, 1, timeout_ms);
  if (r < 0) return errno == EINTR ? "" : std::string("poll: ") + std::strerror(errno);
  if (r == 0) return "";
  alignas(struct inotify_event) char buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return "";
      return std::string("inotify read: ") + std::strerror(errno);
    }
    if (n == 0) return "";
    for (char* q = buf; q < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(q);
      q += sizeof(struct inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {  // events were lost: look at everything again
        out.push_back({Kind::Rescan, ""});
        continue;
      }
      auto it = dirs_.find(ev->wd);
      if (it == dirs_.end()) continue;
      if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        if (ev->mask & IN_IGNORED) dirs_.erase(it);
        continue;
      }
      if (ev->len == 0 || ev->name[0] == '.') continue;  // dotfiles: writers' temporary files
      std::string path = it->second + "/" + ev->name;
      if (ev->mask & IN_ISDIR) {
        if (ev->mask & (IN_CREATE | IN_MOVED_TO)) out.push_back({Kind::NewDir, std::move(path)});
      } else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
        out.push_back({Kind::Complete, std::move(path)});
      } else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
        out.push_back({Kind::Gone, std::move(path)});
      }
    }
  }
}

#else  // not Linux: no inotify, the watch stage polls

std::string DirNotifier::open(size_t) { return "inotify is only available on Linux"; }
void DirNotifier::close() {}
std::string DirNotifier::watch_tree(const std::string&, bool, int) { return "inotify is not open"; }
std::string DirNotifier::wait(int, std::vector<Event>&) { return "inotify is not open"; }

#endif

}  // namespace lcl
