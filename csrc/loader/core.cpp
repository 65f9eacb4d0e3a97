#include "loader/core.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "loader/gz.h"
#include "loader/segment.h"
#include "loader/tar.h"

namespace lcl {

double Cfg::num(const std::string& k) const {
  read_.insert(k);
  auto it = nums.find(k);
  if (it == nums.end()) throw std::invalid_argument("setting '" + k + "' is missing or not a number");
  return it->second;
}

std::string Cfg::str(const std::string& k) const {
  read_.insert(k);
  auto it = strs.find(k);
  if (it == strs.end()) throw std::invalid_argument("setting '" + k + "' is missing or not a string");
  return it->second;
}

std::vector<std::string> Cfg::unread() const {
  std::vector<std::string> out;
  for (const auto& kv : nums)
    if (!read_.count(kv.first)) out.push_back(kv.first);
  for (const auto& kv : strs)
    if (!read_.count(kv.first)) out.push_back(kv.first);
  std::sort(out.begin(), out.end());
  return out;
}

SourceFile::~SourceFile() {
  if (fd >= 0) ::close(fd);
}

BatchPtr BatchPool::get(size_t b) {
  std::unique_ptr<BatchBuf> buf;
  {
    std::lock_guard<std::mutex> l(m_);
    while (!free_.empty() && !buf) {
      if (free_.back()->capacity == b) buf = std::move(free_.back());
      free_.pop_back();
    }
  }
  if (!buf) {
    buf.reset(new BatchBuf());
    buf->reserve(b);
  }
  buf->rows = 0;
  std::weak_ptr<BatchPool> weak = shared_from_this();
  // Buffers come back here when the last numpy view of them dies.
  return BatchPtr(buf.release(), [weak](BatchBuf* p) {
    if (auto pool = weak.lock()) {
      std::lock_guard<std::mutex> l(pool->m_);
      if (pool->free_.size() < 8) {
        pool->free_.emplace_back(p);
        return;
      }
    }
    delete p;
  });
}

void Problems::report(const std::string& stage, const std::string& file, const std::string& msg) {
  total_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> l(m_);
  if (seen_.size() > 100000) seen_.clear();  // bounded memory over long runs
  if (!seen_.insert(file).second) return;
  if (pending_.size() < 1000) pending_.push_back(utf8_lossy(stage + ": " + file + ": " + msg));
}

void Problems::note(const std::string& msg) {
  std::lock_guard<std::mutex> l(m_);
  if (pending_.size() < 1000) pending_.push_back(utf8_lossy("info: " + msg));
}

std::vector<std::string> Problems::drain() {
  std::lock_guard<std::mutex> l(m_);
  std::vector<std::string> out(pending_.begin(), pending_.end());
  pending_.clear();
  return out;
}

bool Stage::stopping() const { return seg_.stopping(); }

void Stage::problem(const std::string& file, const std::string& msg) { seg_.problems().report(name_, file, msg); }

namespace {

bool read_all(int fd, uint64_t off, size_t n, uint8_t* dst) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = ::pread(fd, dst + got, n - got, static_cast<off_t>(off + got));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    got += static_cast<size_t>(k);
  }
  return true;
}

}  // namespace

GzOptions gz_options(const Cfg& cfg) {
  GzOptions o;
  const std::string inflater = cfg.str("inflater");
  if (inflater == "zlib")
    o.inflater = Inflater::Zlib;
  else if (inflater != "native")
    throw std::invalid_argument("inflater must be 'native' or 'zlib', not '" + inflater + "'");
  o.check_crc = cfg.flag("check_crc");
  // Bounded inputs: a gzip bomb or a huge file in the watched directory is refused, not loaded.
  const double mib = 1024.0 * 1024.0;
  o.max_output = static_cast<size_t>(cfg.num("max_chunk_mb") * mib);
  o.max_input = static_cast<size_t>(cfg.num("max_file_mb") * mib);
  return o;
}

namespace {

// Records what a decode found; true when this is the first time the chunk is known bad
// (only then is it counted and reported: a pool may hand it out again before it is evicted).
bool first_bad(const ChunkRef& c, ChunkHealth h) {
  uint8_t before = c.health->exchange(static_cast<uint8_t>(h));
  return before == static_cast<uint8_t>(ChunkHealth::Unknown);
}

}  // namespace

std::shared_ptr<Game> decode_chunk(const ChunkRef& c, const std::string& stage, StageStats& st, Problems& problems,
                                   Bytes& raw, Bytes& gz, const GzOptions& opt) {
  if (c.unusable()) return nullptr;  // known bad: counted when it was found, not again
  const auto unusable = [&](const std::string& why) -> std::shared_ptr<Game> {
    if (first_bad(c, ChunkHealth::Unusable)) {
      problems.report(stage, c.where(), why);
      st.bad.fetch_add(1);
    }
    return nullptr;
  };
  if (c.file->is_tar && c.size > opt.max_input)
    return unusable("chunk of " + std::to_string(c.size) + " bytes is over the max_file_mb limit");
  if (c.file->is_tar) {
    gz.resize(c.size);
    if (!read_all(c.file->fd, c.offset, c.size, gz.data())) return unusable("read error");
  } else {
    int fd = ::open(c.file->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == ENOENT) c.file->gone.store(true);
      return unusable(std::string("cannot open: ") + std::strerror(err));
    }
    struct stat sb;
    bool ok = ::fstat(fd, &sb) == 0;
    if (ok && static_cast<uint64_t>(sb.st_size) > opt.max_input) {
      ::close(fd);
      return unusable("file of " + std::to_string(sb.st_size) + " bytes is over the max_file_mb limit");
    }
    if (ok) {
      gz.resize(static_cast<size_t>(sb.st_size));
      ok = read_all(fd, 0, gz.size(), gz.data());
    }
    ::close(fd);
    if (!ok) return unusable("read error");
  }
  std::string err = gunzip(gz.data(), gz.size(), raw, opt);
  ParsedChunk pc;
  parse_chunk(raw.data(), raw.size(), pc);
  std::string msg = err;
  if (!pc.problems.empty()) {
    msg += (msg.empty() ? "" : "; ") + pc.problems[0];
    if (pc.problems.size() > 1) msg += " (and " + std::to_string(pc.problems.size() - 1) + " more)";
    st.skipped.fetch_add(pc.bad_frames);
  }
  if (pc.frames.empty() && msg.empty()) {  // an empty game: nothing to learn, nothing wrong
    c.health->store(static_cast<uint8_t>(ChunkHealth::Unusable));
    return nullptr;
  }
  if (pc.frames.empty()) return unusable(msg);
  if (!msg.empty() && first_bad(c, ChunkHealth::Damaged)) {  // usable frames: kept, counted once
    problems.report(stage, c.where(), msg);
    st.bad.fetch_add(1);
  }
  auto g = std::make_shared<Game>();
  g->frames = std::move(pc.frames);
  return g;
}

}  // namespace lcl
