// pybind11 binding of the loader: segments, zero-copy batches, and the
// chunk/tar readers exposed for tests.
#include "loader/bindings.h"

#include <algorithm>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "loader/core.h"
#include "loader/crc32.h"
#include "loader/frame_position.h"
#include "loader/gz.h"
#include "loader/inflate.h"
#include "loader/segment.h"
#include "loader/tar.h"

namespace py = pybind11;

namespace lcl {

namespace {

Cfg to_cfg(const py::dict& d) {
  Cfg c;
  for (auto item : d) {
    std::string k = py::str(item.first);
    py::handle v = item.second;
    if (py::isinstance<py::bool_>(v))
      c.nums[k] = v.cast<bool>() ? 1.0 : 0.0;
    else if (py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v))
      c.nums[k] = v.cast<double>();
    else if (py::isinstance<py::str>(v))
      c.strs[k] = v.cast<std::string>();
  }
  return c;
}

// numpy views of a batch; the capsule keeps the C++ buffer alive. with_formats adds each row's
// input format as a sixth array.
py::tuple batch_arrays(BatchPtr b, bool with_formats) {
  auto* holder = new BatchPtr(b);
  py::capsule owner(holder, [](void* p) { delete static_cast<BatchPtr*>(p); });
  const py::ssize_t n = static_cast<py::ssize_t>(b->rows);
  const py::ssize_t f = sizeof(float);
  py::array inputs(py::dtype::of<float>(), {n, py::ssize_t(112), py::ssize_t(8), py::ssize_t(8)},
                   {112 * 64 * f, 64 * f, 8 * f, f}, b->inputs.data(), owner);
  py::array probs(py::dtype::of<float>(), {n, py::ssize_t(kMoves)}, {kMoves * f, f}, b->probs.data(), owner);
  py::array values(py::dtype::of<float>(), {n, py::ssize_t(6), py::ssize_t(3)}, {18 * f, 3 * f, f}, b->values.data(),
                   owner);
  py::array opp(py::dtype::of<int32_t>(), {n}, {py::ssize_t(4)}, b->opp.data(), owner);
  py::array next(py::dtype::of<int32_t>(), {n}, {py::ssize_t(4)}, b->next.data(), owner);
  if (!with_formats) return py::make_tuple(inputs, probs, values, opp, next);
  py::array fmt(py::dtype::of<int32_t>(), {n}, {py::ssize_t(4)}, b->fmt.data(), owner);
  return py::make_tuple(inputs, probs, values, opp, next, fmt);
}

class PySegment {
 public:
  PySegment(const py::list& queues, const py::list& stages) {
    std::vector<QueueDesc> qs;
    for (auto q : queues) {
      py::dict d = q.cast<py::dict>();
      QueueDesc qd;
      qd.id = d["id"].cast<std::string>();
      qd.type = d["type"].cast<std::string>();
      qd.capacity = d["capacity"].cast<size_t>();
      qd.overflow = d["overflow"].cast<std::string>();
      qd.external_writers = d["external_writers"].cast<int>();
      qs.push_back(qd);
    }
    std::vector<StageDesc> ss;
    for (auto s : stages) {
      py::dict d = s.cast<py::dict>();
      StageDesc sd;
      sd.name = d["name"].cast<std::string>();
      sd.type = d["type"].cast<std::string>();
      sd.cfg = to_cfg(d["config"].cast<py::dict>());
      sd.inputs = d["inputs"].cast<std::map<std::string, std::string>>();
      sd.outputs = d["outputs"].cast<std::map<std::string, std::vector<std::string>>>();
      ss.push_back(sd);
    }
    seg_ = std::make_unique<Segment>(qs, ss);
  }

  void start() { seg_->start(); }
  void stop() {
    py::gil_scoped_release nogil;
    seg_->stop();
  }
  bool running() const { return seg_->running(); }

  // 1 pushed, 0 timed out (queue full), -1 closed/stopping.
  int push_path(const std::string& qid, const std::string& path, double timeout) {
    auto* q = seg_->queue<std::string>(qid, "push_path");
    if (!q) throw std::invalid_argument("no queue " + qid);
    std::string item = path;
    py::gil_scoped_release nogil;
    return q->push_for(item, std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000)));
  }

  void close_input(const std::string& qid) {
    auto it = seg_->queue<std::string>(qid, "close_input");
    if (it) it->writer_done();
  }

  // (status, arrays): status 1 a batch (inputs, probs, values, opp, next, input formats), 0 timeout,
  // -1 the stream ended.
  py::tuple pop_batch(const std::string& qid, double timeout) {
    auto* q = seg_->queue<BatchPtr>(qid, "pop_batch");
    if (!q) throw std::invalid_argument("no queue " + qid);
    BatchPtr b;
    Pop r;
    {
      py::gil_scoped_release nogil;
      r = q->pop(b, std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000)));
    }
    if (r == Pop::Ok) return py::make_tuple(1, batch_arrays(b, true));
    return py::make_tuple(r == Pop::Timeout ? 0 : -1, py::none());
  }

  // (status, seq, arrays): pop_batch plus the batch's sequence number in its stage's stream.
  py::tuple pop_numbered_batch(const std::string& qid, double timeout) {
    auto* q = seg_->queue<BatchPtr>(qid, "pop_numbered_batch");
    if (!q) throw std::invalid_argument("no queue " + qid);
    BatchPtr b;
    Pop r;
    {
      py::gil_scoped_release nogil;
      r = q->pop(b, std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000)));
    }
    if (r == Pop::Ok) {
      const uint64_t seq = b->seq;
      return py::make_tuple(1, seq, batch_arrays(b, true));
    }
    return py::make_tuple(r == Pop::Timeout ? 0 : -1, py::none(), py::none());
  }

  void skip_to(const std::string& stage, uint64_t n) { seg_->skip_to(stage, n); }

  // (status, (key, file, member, records)): status 1 a decoded game written as records of
  // `version` (0: each frame's own, 3-5 as 6), 0 timeout, -1 the stream ended.
  py::tuple pop_chunk(const std::string& qid, double timeout, uint32_t version) {
    if (version != 0 && version != 6 && version != 7)
      throw std::invalid_argument("pop_chunk: version must be 0, 6 or 7, not " + std::to_string(version));
    auto* q = seg_->queue<ChunkPtr>(qid, "pop_chunk");
    if (!q) throw std::invalid_argument("no queue " + qid);
    ChunkPtr c;
    Pop r;
    std::string records;
    {
      py::gil_scoped_release nogil;
      r = q->pop(c, std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000)));
      if (r == Pop::Ok && c->game) {
        size_t total = 0;
        for (const auto& f : c->game->frames)
          total += record_size(version ? version : std::max<uint32_t>(f->version, 6));
        records.resize(total);
        size_t at = 0;
        for (const auto& f : c->game->frames) {
          const uint32_t v = version ? version : std::max<uint32_t>(f->version, 6);
          write_record(*f, v, reinterpret_cast<uint8_t*>(records.data()) + at);
          at += record_size(v);
        }
      }
    }
    if (r != Pop::Ok) return py::make_tuple(r == Pop::Timeout ? 0 : -1, py::none());
    if (!c->game)
      throw std::invalid_argument("pop_chunk: " + c->where() +
                                  " reached Python undecoded; a segment hands out chunks after loader.rescore");
    return py::make_tuple(1, py::make_tuple(c->key, c->file->path, c->member, py::bytes(records)));
  }

  std::map<std::string, double> stats() const { return seg_->stats(); }
  std::vector<std::string> command(const std::string& name) { return seg_->command(name); }
  std::vector<std::string> problems() { return seg_->drain_problems(); }
  std::vector<std::string> errors() { return seg_->errors(); }

 private:
  std::unique_ptr<Segment> seg_;
};

// Test helper: decode one gzipped chunk into batch arrays (no shuffling).
// The test helpers' gzip settings; the input limits are the loader's defaults, read from their
// one source (lcpipe/lc0/limits.py).
GzOptions parse_gz(const std::string& inflater, bool check_crc) {
  Cfg c;
  c.strs["inflater"] = inflater;
  c.nums["check_crc"] = check_crc ? 1.0 : 0.0;
  py::module_ limits = py::module_::import("lcpipe.lc0.limits");
  c.nums["max_chunk_mb"] = limits.attr("MAX_CHUNK_MB").cast<double>();
  c.nums["max_file_mb"] = limits.attr("MAX_FILE_MB").cast<double>();
  return gz_options(c);
}

py::tuple decode_gz(const py::bytes& data) {
  const GzOptions opt = parse_gz("native", true);
  std::string s = data;
  Bytes raw;
  std::vector<std::string> problems;
  ParsedChunk pc;
  {
    py::gil_scoped_release nogil;
    std::string err = gunzip(reinterpret_cast<const uint8_t*>(s.data()), s.size(), raw, opt);
    if (!err.empty()) problems.push_back(err);
    parse_chunk(raw.data(), raw.size(), pc);
  }
  for (auto& p : pc.problems) problems.push_back(p);
  auto b = std::make_shared<BatchBuf>();
  b->reserve(pc.frames.size());
  b->rows = pc.frames.size();
  for (size_t i = 0; i < pc.frames.size(); ++i) {
    const Frame& f = *pc.frames[i];
    encode_inputs(f, b->inputs.data() + i * 112 * 64);
    encode_policy(f, b->probs.data() + i * kMoves);
    encode_values(f, b->values.data() + i * 18);
    b->opp[i] = f.opp_idx == kNoMove ? -1 : f.opp_idx;
    b->next[i] = f.next_idx == kNoMove ? -1 : f.next_idx;
    b->fmt[i] = static_cast<int32_t>(f.input_format);
  }
  encode_done();
  return py::make_tuple(batch_arrays(b, false), problems);
}

// Test helper: the prober's view of each record's current position (see
// frame_position.h) as (ours, theirs, [P, N, B, R, Q, K], ep square, rule50,
// castling, black to move) per record.
py::list frame_positions(const py::bytes& records) {
  std::string_view s = records;
  ParsedChunk pc;
  parse_chunk(reinterpret_cast<const uint8_t*>(s.data()), s.size(), pc);
  if (!pc.problems.empty()) throw std::invalid_argument("frame_positions: " + pc.problems[0]);
  py::list out;
  for (const auto& f : pc.frames) {
    const lcpipe::tb::Position p = frame_position(*f);
    py::list types;
    for (uint64_t t : p.by_type) types.append(t);
    out.append(py::make_tuple(p.by_color[0], p.by_color[1], types, p.ep_square, p.rule50, p.has_castling(),
                              frame_black_to_move(*f)));
  }
  return out;
}

py::tuple tar_index(const py::bytes& data) {
  std::string s = data;
  TarIndex idx;
  index_tar_bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size(), idx);
  py::list members;
  for (auto& m : idx.members) members.append(py::make_tuple(m.name, m.offset, m.size));
  return py::make_tuple(members, idx.problems, idx.skipped_entries);
}

py::tuple py_gunzip(const py::bytes& data, const std::string& inflater, bool check_crc) {
  const GzOptions opt = parse_gz(inflater, check_crc);
  std::string_view s = data;
  Bytes out;
  std::string err = gunzip(reinterpret_cast<const uint8_t*>(s.data()), s.size(), out, opt);
  return py::make_tuple(py::bytes(reinterpret_cast<const char*>(out.data()), out.size()), err);
}

// Test helper: our DEFLATE decoder alone, no zlib fallback:
// (bytes produced, error or None, input bytes used).
py::tuple py_inflate_raw(const py::bytes& data) {
  std::string_view s = data;
  Bytes out;
  InflateResult r;
  {
    py::gil_scoped_release nogil;
    r = inflate_raw(reinterpret_cast<const uint8_t*>(s.data()), s.size(), out, 0);
  }
  py::object err = r.error ? py::object(py::str(r.error)) : py::object(py::none());
  return py::make_tuple(py::bytes(reinterpret_cast<const char*>(out.data()), out.size()), err, r.consumed);
}

// Test helper: CRC-32 by the fast path and by the byte table.
py::tuple py_crc32(const py::bytes& data, uint32_t crc) {
  std::string_view s = data;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  return py::make_tuple(crc32(crc, p, s.size()), crc32_bytewise(crc, p, s.size()));
}

// Benchmark helper: inflates every member `repeat` times without the GIL and
// returns the bytes produced. how: "native", "native_nocrc", "zlib" (gzip
// with its checksum) or "zlib_raw" (the DEFLATE data only, no checksum).
size_t inflate_all(const py::list& members, const std::string& how, int repeat) {
  std::vector<std::string> data;
  for (auto m : members) data.push_back(m.cast<std::string>());
  if (how != "native" && how != "native_nocrc" && how != "zlib" && how != "zlib_raw")
    throw std::invalid_argument("unknown inflater " + how);
  py::gil_scoped_release nogil;
  GzOptions opt;
  opt.check_crc = how != "native_nocrc";
  Bytes out;
  size_t total = 0;
  for (int r = 0; r < repeat; ++r) {
    for (const auto& d : data) {
      const auto* p = reinterpret_cast<const uint8_t*>(d.data());
      std::string err = how == "zlib"       ? gunzip_zlib(p, d.size(), out)
                        : how == "zlib_raw" ? inflate_zlib_raw(p, d.size(), out)
                                            : gunzip(p, d.size(), out, opt);
      if (!err.empty()) throw std::runtime_error(how + ": " + err);
      total += out.size();
    }
  }
  return total;
}

}  // namespace

void register_loader(py::module_& m) {
  py::module_ sub = m.def_submodule("loader", "native loader segments (see lcpipe.loader.segment)");
  py::class_<PySegment>(sub, "Segment")
      .def(py::init<const py::list&, const py::list&>(), py::arg("queues"), py::arg("stages"))
      .def("start", &PySegment::start)
      .def("stop", &PySegment::stop)
      .def("running", &PySegment::running)
      .def("push_path", &PySegment::push_path, py::arg("queue"), py::arg("path"), py::arg("timeout") = 0.1)
      .def("close_input", &PySegment::close_input)
      .def("pop_batch", &PySegment::pop_batch, py::arg("queue"), py::arg("timeout") = 0.1)
      .def("pop_numbered_batch", &PySegment::pop_numbered_batch, py::arg("queue"), py::arg("timeout") = 0.1,
           "(status, seq, arrays): a batch and its sequence number in its batch stage's stream.")
      .def("skip_to", &PySegment::skip_to, py::arg("stage"), py::arg("n"),
           "Fast-forward a loader.batch stage: its batches below sequence number n are cut, not handed on.")
      .def("pop_chunk", &PySegment::pop_chunk, py::arg("queue"), py::arg("timeout") = 0.1, py::arg("version") = 0)
      .def("stats", &PySegment::stats)
      .def("command", &PySegment::command, "Hand a client's command (train_now) to the stages; those that took it.")
      .def("problems", &PySegment::problems)
      .def("errors", &PySegment::errors);
  sub.def("decode_gz", &decode_gz, "Decode one gzipped chunk to batch arrays (inputs, probs, values, opp, next).");
  sub.def("frame_positions", &frame_positions,
          "Test helper: each record's current position as the Syzygy prober sees it.");
  sub.def("tar_index", &tar_index, "Index a tar held in memory: (members [(name, offset, size)], problems, skipped).");
  sub.def("gunzip", &py_gunzip, "Inflate gzip bytes: (data, problem or '').", py::arg("data"),
          py::arg("inflater") = "native", py::arg("check_crc") = true);
  sub.def("inflate_raw", &py_inflate_raw, "Our DEFLATE decoder alone: (data, error or None, bytes used).");
  sub.def("crc32", &py_crc32, "CRC-32 (fast path, byte table) for tests.", py::arg("data"), py::arg("crc") = 0);
  sub.def("inflate_all", &inflate_all, "Benchmark: inflate gzip members repeat times; bytes produced.",
          py::arg("members"), py::arg("how"), py::arg("repeat") = 1);
  sub.attr("FRAME_BYTES") = py::int_(sizeof(Frame));
}

}  // namespace lcl
