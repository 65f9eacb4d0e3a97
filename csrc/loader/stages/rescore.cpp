// The loader.rescore stage (docs/loader.md has its settings and semantics).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <optional>

#include "loader/frame_position.h"
#include "loader/stages/in_order.h"
#include "loader/stages/stage_support.h"
#include "syzygy/tablebases.h"

namespace lcl::stages {

namespace {

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

  // Chunks go on in the order they came, whichever thread finished first.
  void work(int) override {
    ChunkPtr c;
    Bytes raw, gz;
    auto stop = [this] { return stopping(); };
    uint64_t seq = 0;
    while (order_.next(in_, c, seq, stop)) {
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
          fresh.reset();  // nothing to hand on, but its turn still passes
        } else {
          rescore(*g, *c);
          fresh->game = std::move(g);
        }
      }
      if (!order_.wait_turn(seq, stop)) return;
      const bool usable = fresh != nullptr;
      const bool ok = !usable || out_.push(std::move(fresh));
      order_.done(seq);
      if (!ok) return;
      if (usable) stats.out.fetch_add(1);
    }
  }

 private:
  void rescore(Game& g, const ChunkRef& c) {
    if (temperature_ != 1.0 || offset_ != 0.0)
      for (auto& f : g.frames) policy(*f);
    if (tb_) tablebase_results(g, c);
    if (deblunder_) deblunder(g);
    if (short_term_) short_term(g);
  }

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
  InOrder order_;
};

}  // namespace

std::unique_ptr<Stage> make_rescore(Segment& seg, const StageDesc& d) { return std::make_unique<Rescore>(seg, d); }

}  // namespace lcl::stages
