// The loader.read stage (docs/loader.md has its settings and semantics).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/hashing.h"
#include "loader/stages/stage_support.h"
#include "loader/tar.h"

namespace lcl::stages {

namespace {

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
      std::stable_sort(chunks.begin(), chunks.end(),
                       [](const ChunkPtr& a, const ChunkPtr& b) { return a->key > b->key; });
  }

  Queue<std::string>* in_;
  OutPort<ChunkPtr> out_;
  int threads_;
  bool newest_first_;
  std::atomic<uint64_t> tars_{0}, members_{0};
};

}  // namespace

std::unique_ptr<Stage> make_read(Segment& seg, const StageDesc& d) { return std::make_unique<Read>(seg, d); }

}  // namespace lcl::stages
