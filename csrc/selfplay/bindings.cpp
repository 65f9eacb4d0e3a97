// lcpipe._native.SelfPlayEngine: the native self-play engine for Python.
// Inputs are handed out as numpy views of the engine's buffers (no copy);
// the network's outputs are read in place when they are float32 C arrays.
#include "selfplay/bindings.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <stdexcept>

#include "selfplay/engine.h"
#include "selfplay/position_search.h"
#include "syzygy/tablebases.h"

namespace py = pybind11;

namespace lcpipe::selfplay {

namespace {

// Every setting comes from Python with its default filled in from the stage's declaration
// (lcpipe/selfplay/stages.py, lcpipe.selfplay.native.engine_settings): a missing one is a bug
// named here, never silently replaced by a second default.
template <class T>
T get(const py::dict& d, const char* key) {
  if (!d.contains(key) || d[key].is_none())
    throw std::invalid_argument(std::string("self-play engine: missing setting '") + key + "'");
  try {
    return d[key].cast<T>();
  } catch (const py::cast_error&) {
    throw std::invalid_argument(std::string("self-play engine: setting '") + key + "' has the wrong type");
  }
}

template <class T>
void read(const py::dict& d, const char* key, T& out) {
  out = get<T>(d, key);
}

SearchParams search_params(const py::dict& d) {
  SearchParams p;
  read(d, "visits", p.visits);
  read(d, "cpuct", p.cpuct);
  read(d, "cpuct_base", p.cpuct_base);
  read(d, "cpuct_factor", p.cpuct_factor);
  read(d, "fpu_reduction", p.fpu_reduction);
  read(d, "fpu_reduction_root", p.fpu_reduction_root);
  read(d, "noise_alpha", p.noise_alpha);
  read(d, "noise_epsilon", p.noise_epsilon);
  read(d, "policy_temperature", p.policy_temperature);
  read(d, "tree_reuse", p.tree_reuse);
  read(d, "input_format", p.input_format);
  read(d, "moves_left_slope", p.moves_left_slope);
  read(d, "moves_left_max_effect", p.moves_left_max_effect);
  read(d, "moves_left_threshold", p.moves_left_threshold);
  if (p.visits < 1) throw std::invalid_argument("visits must be >= 1");
  return p;
}

GameParams game_params(const py::dict& d) {
  GameParams p;
  read(d, "max_plies", p.max_plies);
  read(d, "temperature", p.temperature);
  read(d, "temp_decay_plies", p.temp_decay_plies);
  read(d, "temp_cutoff_ply", p.temp_cutoff_ply);
  read(d, "temp_endgame", p.temp_endgame);
  read(d, "resign_q", p.resign_q);
  read(d, "resign_earliest_ply", p.resign_earliest_ply);
  read(d, "resign_playthrough", p.resign_playthrough);
  read(d, "adjudicate", p.adjudicate);
  read(d, "syzygy_adjudicate", p.syzygy_adjudicate);
  if (p.adjudicate != "material" && p.adjudicate != "draw")
    throw std::invalid_argument("adjudicate must be 'material' or 'draw', not '" + p.adjudicate + "'");
  return p;
}

// The engine with what it borrows (tablebases) kept alive beside it.
struct PyEngine {
  std::unique_ptr<tb::Tablebases> tables;
  std::unique_ptr<Engine> engine;
  std::vector<size_t> last_rows;  // rows of each group's batch in flight
  std::vector<bool> fresh;        // no outputs expected (start, reset_search)
};

const float* outputs_ptr(const py::object& o, size_t rows, size_t cols, const char* what,
                         py::array_t<float, py::array::c_style | py::array::forcecast>& keep) {
  if (o.is_none()) return nullptr;
  keep = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(o);
  if (!keep) throw std::invalid_argument(std::string(what) + " must be a float array");
  if (size_t(keep.size()) < rows * cols)
    throw std::invalid_argument(std::string(what) + " has " + std::to_string(keep.size()) + " values, expected " +
                                std::to_string(rows * cols));
  return keep.data();
}

}  // namespace

void register_selfplay(py::module_& m) {
  py::class_<PyEngine>(m, "SelfPlayEngine",
                       "Native batched PUCT self-play: many games on native threads, leaves batched for the "
                       "network. See lcpipe.selfplay.native for the driver.")
      .def(py::init([](const py::dict& cfg) {
             EngineConfig c;
             c.search = search_params(cfg);
             c.game = game_params(cfg);
             read(cfg, "parallel_games", c.parallel_games);
             read(cfg, "network_batches", c.groups);
             read(cfg, "threads", c.threads);
             read(cfg, "seed", c.seed);
             read(cfg, "first_game", c.first_game);
             read(cfg, "stop_after_games", c.max_games);
             read(cfg, "evaluators", c.evaluators);
             read(cfg, "paired", c.paired);
             std::vector<Opening> openings;
             if (cfg.contains("openings") && !cfg["openings"].is_none())
               for (auto item : cfg["openings"]) {
                 auto t = item.cast<py::tuple>();
                 openings.push_back(Opening{t[0].cast<std::string>(), t[1].cast<std::vector<std::string>>()});
               }
             c.openings = OpeningBook(std::move(openings), get<int>(cfg, "random_opening_plies"));
             auto out = std::make_unique<PyEngine>();
             auto paths = get<std::vector<std::string>>(cfg, "syzygy_paths");
             if (!paths.empty()) {
               out->tables = std::make_unique<tb::Tablebases>(paths);
               c.tablebases = out->tables.get();
             }
             out->engine = std::make_unique<Engine>(std::move(c));
             out->last_rows.assign(out->engine->groups(), 0);
             out->fresh.assign(out->engine->groups(), true);
             return out;
           }),
           py::arg("settings"))
      .def_property_readonly("groups", [](PyEngine& e) { return e.engine->groups(); })
      .def(
          "capacity", [](PyEngine& e, int g) { return e.engine->group_capacity(g); }, py::arg("group"))
      .def(
          "step",
          [](PyEngine& e, int g, py::object logits, py::object wdl, py::object moves_left) {
            if (g < 0 || g >= e.engine->groups()) throw py::index_error("no such group");
            const size_t rows = e.last_rows[g];
            py::array_t<float, py::array::c_style | py::array::forcecast> kl, kw, km;
            const float* lg = outputs_ptr(logits, rows, 1858, "logits", kl);
            const float* wd = outputs_ptr(wdl, rows, 3, "wdl", kw);
            const float* ml = outputs_ptr(moves_left, rows, 1, "moves_left", km);
            if ((lg == nullptr) != (wd == nullptr)) throw std::invalid_argument("give logits and wdl together");
            if (rows > 0 && lg == nullptr && !e.fresh[g])
              throw std::invalid_argument("the group's previous batch needs its outputs");
            std::vector<int> counts;
            {
              py::gil_scoped_release nogil;
              counts = e.engine->step(g, lg, wd, ml);
            }
            size_t total = 0;
            for (int c : counts) total += size_t(c);
            e.last_rows[g] = total;
            e.fresh[g] = false;
            return counts;
          },
          py::arg("group"), py::arg("logits") = py::none(), py::arg("wdl") = py::none(),
          py::arg("moves_left") = py::none(),
          "Apply the outputs of the group's previous batch (None on the first call), search until every game "
          "of the group waits for a leaf; returns the new batch's rows per evaluator slot.")
      .def(
          "inputs",
          [](py::object self, int g, int rows) {
            PyEngine& e = self.cast<PyEngine&>();
            if (g < 0 || g >= e.engine->groups()) throw py::index_error("no such group");
            if (rows < 0 || rows > e.engine->group_capacity(g)) throw py::index_error("rows out of range");
            const py::ssize_t f = sizeof(float);
            return py::array_t<float>({py::ssize_t(rows), py::ssize_t(112), py::ssize_t(8), py::ssize_t(8)},
                                      {112 * 64 * f, 64 * f, 8 * f, f}, e.engine->inputs(g), self);
          },
          py::arg("group"), py::arg("rows"), "f32[rows,112,8,8] view of the group's batch (valid until its next step).")
      .def("drain_finished",
           [](PyEngine& e) {
             py::list out;
             for (auto& f : e.engine->drain_finished()) {
               py::dict d;
               d["id"] = f.id;
               d["frames"] =
                   py::bytes(reinterpret_cast<const char*>(f.records.data()), f.records.size() * sizeof(V6Record));
               d["moves"] = f.moves;
               d["start_fen"] = f.start_fen;
               d["opening_plies"] = f.opening_plies;
               d["result_white"] = f.result.white;
               d["termination"] = f.result.termination;
               d["flags"] = f.result.flags;
               d["white_slot"] = f.white_slot;
               d["black_slot"] = f.black_slot;
               out.append(std::move(d));
             }
             return out;
           })
      .def(
          "allow_new_games", [](PyEngine& e, bool allow) { e.engine->allow_new_games(allow); }, py::arg("allow"))
      .def_property_readonly("running_games", [](PyEngine& e) { return e.engine->running_games(); })
      .def_property_readonly("plies", [](PyEngine& e) { return e.engine->plies(); })
      .def_property_readonly("idle", [](PyEngine& e) { return e.engine->idle(); })
      .def_property_readonly("games_started", [](PyEngine& e) { return e.engine->games_started(); })
      .def(
          "reset_search",
          [](PyEngine& e, int fmt) {
            e.engine->reset_search(fmt);
            e.last_rows.assign(e.engine->groups(), 0);
            e.fresh.assign(e.engine->groups(), true);
          },
          py::arg("input_format"), "Drop every tree and waiting leaf; the next step of each group takes no outputs.")
      .def_property_readonly("step_wall_s", [](PyEngine& e) { return e.engine->step_wall_ns() * 1e-9; })
      .def_property_readonly("thread_busy_s", [](PyEngine& e) { return e.engine->thread_busy_ns() * 1e-9; })
      .def_property_readonly("evaluations", [](PyEngine& e) { return e.engine->evaluations(); });

  py::class_<PositionSearch>(m, "PositionSearch",
                             "Search of one position with its history (a UCI engine, golden tests): one leaf "
                             "at a time; see lcpipe.selfplay.native.search_position.")
      .def(py::init([](const py::dict& settings, const std::string& fen, const std::vector<std::string>& moves,
                       uint64_t seed) {
             return std::make_unique<PositionSearch>(search_params(settings), fen, moves, seed);
           }),
           py::arg("settings"), py::arg("fen") = "", py::arg("moves") = std::vector<std::string>{}, py::arg("seed") = 0)
      .def(
          "step",
          [](PositionSearch& s, int64_t max_visits, py::object logits, py::object wdl, py::object moves_left) {
            py::array_t<float, py::array::c_style | py::array::forcecast> kl, kw, km;
            const float* lg = outputs_ptr(logits, 1, 1858, "logits", kl);
            const float* wd = outputs_ptr(wdl, 1, 3, "wdl", kw);
            const float* ml = outputs_ptr(moves_left, 1, 1, "moves_left", km);
            py::gil_scoped_release nogil;
            return s.step(lg, wd, ml ? ml[0] : 0.0f, max_visits);
          },
          py::arg("max_visits"), py::arg("logits") = py::none(), py::arg("wdl") = py::none(),
          py::arg("moves_left") = py::none(),
          "Apply the outputs of the leaf asked for before, play out until a leaf waits (True) or max_visits "
          "root visits are reached (False).")
      .def(
          "inputs",
          [](py::object self) {
            const auto& s = self.cast<const PositionSearch&>();
            const py::ssize_t f = sizeof(float);
            return py::array_t<float>({py::ssize_t(1), py::ssize_t(112), py::ssize_t(8), py::ssize_t(8)},
                                      {112 * 64 * f, 64 * f, 8 * f, f}, s.input(), self);
          },
          "f32[1,112,8,8] view of the waiting leaf's input.")
      .def_property_readonly("visits", &PositionSearch::visits)
      .def_property_readonly("fen", &PositionSearch::fen)
      .def("best_move", &PositionSearch::best_move)
      .def("pv", &PositionSearch::pv, py::arg("max_len") = 32)
      .def(
          "value",
          [](const PositionSearch& s) {
            const Value v = s.root_value();
            return py::make_tuple(v.q, v.d, v.m);
          },
          "(q, d, m) of the root from the side to move.")
      .def(
          "edges",
          [](const PositionSearch& s) {
            py::list out;
            for (const auto& e : s.edges())
              out.append(py::make_tuple(e.uci, e.visits, e.prior, e.value.q, e.value.d, e.value.m));
            return out;
          },
          "(uci, visits, prior, q, d, m) per root move.");
}

}  // namespace lcpipe::selfplay
