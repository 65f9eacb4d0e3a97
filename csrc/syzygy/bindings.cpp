// pybind11 binding of the Syzygy prober: positions go in as FEN strings,
// parsed in C++. probe_many probes a list from several C++ threads with the
// GIL released (for the concurrency tests and the benchmark).
#include "syzygy/bindings.h"

#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "chess/board.h"
#include "syzygy/tablebases.h"

namespace py = pybind11;

namespace lcpipe::tb {

namespace {

Position position_from_fen(const std::string& fen) {
  Position p;
  std::string error;
  if (!parse_fen(fen, &p, &error)) throw py::value_error("bad FEN '" + fen + "': " + error);
  return p;
}

std::optional<int> probe(const Tablebases& tb, const Position& p, bool dtz) {
  if (dtz) return tb.probe_dtz(p);
  std::optional<Wdl> w = tb.probe_wdl(p);
  if (!w) return std::nullopt;
  return static_cast<int>(*w);
}

class PySyzygy {
 public:
  explicit PySyzygy(const std::vector<std::string>& dirs) : tb_(std::make_unique<Tablebases>(dirs)) {}

  std::optional<int> probe_wdl(const std::string& fen) const { return probe(*tb_, position_from_fen(fen), false); }
  std::optional<int> probe_dtz(const std::string& fen) const { return probe(*tb_, position_from_fen(fen), true); }

  std::vector<std::optional<int>> probe_many(const std::vector<std::string>& fens, const std::string& kind,
                                             int threads) const {
    if (kind != "wdl" && kind != "dtz") throw py::value_error("kind must be 'wdl' or 'dtz'");
    if (threads < 1) throw py::value_error("threads must be at least 1");
    std::vector<Position> positions;
    positions.reserve(fens.size());
    for (const std::string& fen : fens) positions.push_back(position_from_fen(fen));
    std::vector<std::optional<int>> out(positions.size());
    const bool dtz = kind == "dtz";
    {
      py::gil_scoped_release release;
      // Thread t takes positions t, t + threads, ...: every thread probes every table.
      auto work = [&](int t) {
        for (size_t i = size_t(t); i < positions.size(); i += size_t(threads)) out[i] = probe(*tb_, positions[i], dtz);
      };
      std::vector<std::thread> pool;
      for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
      work(0);
      for (std::thread& th : pool) th.join();
    }
    return out;
  }

  const Tablebases& tb() const { return *tb_; }

 private:
  std::unique_ptr<Tablebases> tb_;
};

}  // namespace

void register_syzygy(py::module_& m) {
  py::class_<PySyzygy>(m, "SyzygyTablebases",
                       "Syzygy WDL/DTZ tables found in the given directories (tables map on first probe).")
      .def(py::init<const std::vector<std::string>&>(), py::arg("dirs"))
      .def_property_readonly("max_pieces", [](const PySyzygy& s) { return s.tb().max_pieces(); })
      .def_property_readonly("wdl_tables", [](const PySyzygy& s) { return s.tb().wdl_tables(); })
      .def_property_readonly("dtz_tables", [](const PySyzygy& s) { return s.tb().dtz_tables(); })
      .def("probe_wdl", &PySyzygy::probe_wdl, py::arg("fen"),
           "WDL -2..2 for the side to move (python-chess's probe_wdl), None when not covered.")
      .def("probe_dtz", &PySyzygy::probe_dtz, py::arg("fen"),
           "DTZ in plies with the result's sign (python-chess's probe_dtz), None when not covered.")
      .def("probe_many", &PySyzygy::probe_many, py::arg("fens"), py::arg("kind") = "wdl", py::arg("threads") = 1,
           "Probe a list of FENs ('wdl' or 'dtz') from `threads` C++ threads, GIL released.");
}

}  // namespace lcpipe::tb
