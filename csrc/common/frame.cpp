#include "common/frame.h"

#include "common/frame_alloc.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace lcl {

namespace {

template <class T>
T rd(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // records are little-endian, as is every target we build for
  return v;
}

const float kNaN = std::numeric_limits<float>::quiet_NaN();

// Offsets of the V6/V7 layout.
constexpr size_t kProbs = 8, kPlanes = 7440, kCastling = 8272, kStm = 8276, kRule50 = 8277, kInvariance = 8278;
constexpr size_t kRootQ = 8280, kPliesLeft = 8304, kResultQ = 8308, kPlayedQ = 8316, kOrigQ = 8328, kVisits = 8340;
constexpr size_t kPlayedIdx = 8344, kBestIdx = 8346, kKld = 8348, kQst = 8352, kOppIdx = 8360, kNextIdx = 8362;

// Sparse copy of the policy: the (index, probability) of every legal move,
// in one pass. Returns their number, or -1 if a value is NaN, infinite, or
// negative other than the -1 that marks an illegal move. Most entries are
// -1, so eight at a time are compared against it and skipped together.
int sparse_policy(const uint8_t* bytes, uint16_t* idx, float* prob) {
  int n = 0;
  int i = 0;
  auto one = [&](int k) {
    float p;
    std::memcpy(&p, bytes + 4 * k, 4);
    if (p >= 0.0f) {
      if (!(p <= std::numeric_limits<float>::max())) return false;  // +inf
      idx[n] = static_cast<uint16_t>(k);
      prob[n] = p;
      ++n;
    } else if (p != -1.0f) {
      return false;  // NaN, -inf or another negative value
    }
    return true;
  };
#if defined(__SSE2__)
  const __m128i minus_one = _mm_set1_epi32(static_cast<int>(0xbf800000u));
  for (; i + 8 <= kMoves; i += 8) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + 4 * i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + 4 * i + 16));
    const __m128i both = _mm_and_si128(_mm_cmpeq_epi32(a, minus_one), _mm_cmpeq_epi32(b, minus_one));
    if (_mm_movemask_epi8(both) == 0xffff) continue;
    for (int k = i; k < i + 8; ++k)
      if (!one(k)) return -1;
  }
#endif
  for (; i < kMoves; ++i)
    if (!one(i)) return -1;
  return n;
}

FramePtr frame_with_policy(const uint8_t* probs_bytes, const char** why) {
  uint16_t idx[kMoves];
  float prob[kMoves];
  const int n = sparse_policy(probs_bytes, idx, prob);
  if (n < 0) {
    *why = "NaN, infinite or negative probability";
    return nullptr;
  }
  if (n == 0) {
    *why = "no legal move in probabilities";
    return nullptr;
  }
  FramePtr f = alloc_frame(static_cast<size_t>(n));
  std::memcpy(f->idx(), idx, static_cast<size_t>(n) * sizeof(uint16_t));
  std::memcpy(f->prob(), prob, static_cast<size_t>(n) * sizeof(float));
  return f;
}

FramePtr decode_v67(const uint8_t* p, uint32_t version, const char** why) {
  uint32_t fmt = rd<uint32_t>(p + 4);
  if (!known_input_format(fmt)) {
    *why = "unknown input format";
    return nullptr;
  }
  FramePtr f = frame_with_policy(p + kProbs, why);
  if (!f) return nullptr;
  std::memcpy(f->planes, p + kPlanes, sizeof(f->planes));
  std::memcpy(f->castling, p + kCastling, 4);
  f->stm_ep = p[kStm];
  f->rule50 = p[kRule50];
  f->invariance = p[kInvariance];
  f->version = static_cast<uint8_t>(version);
  f->input_format = fmt;
  float root[6];  // root_q, best_q, root_d, best_d, root_m, best_m
  std::memcpy(root, p + kRootQ, sizeof(root));
  float result[2], played[3], orig[3];
  std::memcpy(result, p + kResultQ, sizeof(result));
  std::memcpy(played, p + kPlayedQ, sizeof(played));
  std::memcpy(orig, p + kOrigQ, sizeof(orig));
  float plies_left = rd<float>(p + kPliesLeft);
  if (!std::isfinite(result[0]) || !std::isfinite(result[1]) || std::isnan(plies_left)) {
    *why = "NaN game result";
    return nullptr;
  }
  f->v[kResult][0] = result[0];
  f->v[kResult][1] = result[1];
  f->v[kResult][2] = plies_left;
  f->v[kBest][0] = root[1];
  f->v[kBest][1] = root[3];
  f->v[kBest][2] = root[5];
  f->v[kPlayed][0] = played[0];
  f->v[kPlayed][1] = played[1];
  f->v[kPlayed][2] = played[2];
  f->v[kOrig][0] = orig[0];
  f->v[kOrig][1] = orig[1];
  f->v[kOrig][2] = orig[2];
  f->v[kRoot][0] = root[0];
  f->v[kRoot][1] = root[2];
  f->v[kRoot][2] = root[4];
  f->v[kShortTerm][2] = kNaN;
  f->visits = rd<uint32_t>(p + kVisits);
  f->played_idx = rd<uint16_t>(p + kPlayedIdx);
  f->best_idx = rd<uint16_t>(p + kBestIdx);
  f->policy_kld = rd<float>(p + kKld);
  if (version == 7) {
    f->v[kShortTerm][0] = rd<float>(p + kQst);
    f->v[kShortTerm][1] = rd<float>(p + kQst + 4);
    f->opp_idx = rd<uint16_t>(p + kOppIdx);
    f->next_idx = rd<uint16_t>(p + kNextIdx);
  } else {
    f->v[kShortTerm][0] = kNaN;
    f->v[kShortTerm][1] = kNaN;
    f->opp_idx = kNoMove;
    f->next_idx = kNoMove;
  }
  return f;
}

// Versions 3-5 (read only): upgraded with the rules of lcpipe.lc0.frames.
FramePtr decode_old(const uint8_t* p, uint32_t version, const char** why) {
  size_t off = 4;
  uint32_t fmt = 1;
  if (version == 5) {
    fmt = rd<uint32_t>(p + 4);
    off = 8;
    if (!known_input_format(fmt)) {
      *why = "unknown input format";
      return nullptr;
    }
  }
  FramePtr f = frame_with_policy(p + off, why);
  if (!f) return nullptr;
  off += kMoves * 4;
  std::memcpy(f->planes, p + off, sizeof(f->planes));
  off += 832;
  std::memcpy(f->castling, p + off, 4);
  f->stm_ep = p[off + 4];
  f->rule50 = p[off + 5];
  f->invariance = p[off + 6];
  int8_t result = static_cast<int8_t>(p[off + 7]);
  off += 8;
  if (result < -1 || result > 1) {
    *why = "invalid game result byte";
    return nullptr;
  }
  f->version = 7;
  f->input_format = fmt;
  std::memset(f->v, 0, sizeof(f->v));
  f->v[kResult][0] = static_cast<float>(result);
  f->v[kResult][1] = result == 0 ? 1.0f : 0.0f;
  if (version >= 4) {
    float r[4];  // root_q, best_q, root_d, best_d
    std::memcpy(r, p + off, sizeof(r));
    off += 16;
    f->v[kRoot][0] = r[0];
    f->v[kBest][0] = r[1];
    f->v[kRoot][1] = r[2];
    f->v[kBest][1] = r[3];
  }
  if (version == 5) {
    float r[3];  // root_m, best_m, plies_left
    std::memcpy(r, p + off, sizeof(r));
    f->v[kRoot][2] = r[0];
    f->v[kBest][2] = r[1];
    f->v[kResult][2] = r[2];
  }
  for (int c = 0; c < 3; ++c) f->v[kOrig][c] = kNaN;
  f->v[kShortTerm][0] = f->v[kShortTerm][1] = f->v[kShortTerm][2] = kNaN;
  f->visits = 0;
  f->policy_kld = 0;
  f->played_idx = f->best_idx = 0;
  f->opp_idx = f->next_idx = kNoMove;
  return f;
}

// float lookup: byte -> its 8 squares (bit 7 first: the stored bit order).
struct Lut {
  alignas(16) float v[256][8];
  Lut() {
    for (int b = 0; b < 256; ++b)
      for (int j = 0; j < 8; ++j) v[b][j] = static_cast<float>((b >> (7 - j)) & 1);
  }
};
const Lut kLut;

// Batch rows go to a large buffer that is read later by someone else, so
// they are written with non-temporal stores where the target is aligned:
// no read-for-ownership of lines we overwrite whole, no cache pollution.
// Writers call encode_done() before handing the buffer over.
struct Out {
  float* p;
  bool stream;
  explicit Out(float* dst) : p(dst), stream((reinterpret_cast<uintptr_t>(dst) & 15) == 0) {}
  // Writes 8 floats at p + at from 16-byte aligned src.
  inline void put8(size_t at, const float* src) const {
#if defined(__SSE2__)
    if (stream) {
      _mm_stream_ps(p + at, _mm_load_ps(src));
      _mm_stream_ps(p + at + 4, _mm_load_ps(src + 4));
      return;
    }
#endif
    std::memcpy(p + at, src, 8 * sizeof(float));
  }
  inline void plane(size_t at, const float* src64) const {
    for (int r = 0; r < 8; ++r) put8(at + r * 8, src64 + r * 8);
  }
};

alignas(16) const float kZeros[64] = {0};

// A mask whose bit s is square s (natural order, as lc0 builds aux planes).
void natural_plane(uint64_t mask, const Out& o, size_t at) {
  alignas(16) float v[64];
  for (int s = 0; s < 64; ++s) v[s] = static_cast<float>((mask >> s) & 1);
  o.plane(at, v);
}

void fill_plane(float value, const Out& o, size_t at) {
  alignas(16) float v[64];
  for (int s = 0; s < 64; ++s) v[s] = value;
  o.plane(at, v);
}

}  // namespace

size_t record_size(uint32_t version) {
  switch (version) {
    case 3: return kV3Size;
    case 4: return kV4Size;
    case 5: return kV5Size;
    case 6: return kV6Size;
    case 7: return kV7Size;
    default: return 0;
  }
}

bool known_input_format(uint32_t fmt) {
  return fmt == 1 || fmt == 2 || fmt == 3 || fmt == 4 || fmt == 5 || fmt == 132 || fmt == 133;
}

FramePtr alloc_frame(size_t n_legal) {
  void* mem = frame_alloc(Frame::bytes_for(n_legal));
  Frame* f = static_cast<Frame*>(mem);
  f->n_legal = static_cast<uint16_t>(n_legal);
  f->pad_ = 0;
  return FramePtr(f);
}

FramePtr clone_frame(const Frame& f) {
  size_t n = f.bytes();
  void* mem = frame_alloc(n);
  std::memcpy(mem, &f, n);
  return FramePtr(static_cast<Frame*>(mem));
}

void parse_chunk(const uint8_t* data, size_t n, ParsedChunk& out) {
  size_t off = 0;
  uint64_t index = 0;
  while (off < n) {
    if (n - off < 4) {
      out.problems.push_back(std::to_string(n - off) + " trailing bytes, not a whole record");
      return;
    }
    uint32_t version = rd<uint32_t>(data + off);
    size_t size = record_size(version);
    if (size == 0) {
      out.problems.push_back("frame " + std::to_string(index) + ": unknown record version " + std::to_string(version));
      return;
    }
    if (n - off < size) {
      out.problems.push_back(std::to_string(n - off) + " trailing bytes, size is not a multiple of " +
                             std::to_string(size));
      return;
    }
    // One run of records of this version.
    while (off + size <= n && rd<uint32_t>(data + off) == version) {
      const char* why = nullptr;
      FramePtr f = version >= 6 ? decode_v67(data + off, version, &why) : decode_old(data + off, version, &why);
      if (f) {
        out.frames.push_back(std::move(f));
      } else {
        ++out.bad_frames;
        out.problems.push_back("frame " + std::to_string(index) + ": " + why);
      }
      off += size;
      ++index;
    }
  }
}

void write_record(const Frame& f, uint32_t version, uint8_t* out) {
  const size_t size = record_size(version);
  std::memset(out, 0, size);
  auto put = [out](size_t at, auto value) { std::memcpy(out + at, &value, sizeof(value)); };
  put(0, version);
  put(4, f.input_format);
  const float minus_one = -1.0f;
  for (int k = 0; k < kMoves; ++k) std::memcpy(out + kProbs + 4 * k, &minus_one, 4);
  for (int k = 0; k < f.n_legal; ++k) std::memcpy(out + kProbs + 4 * size_t(f.idx()[k]), &f.prob()[k], 4);
  std::memcpy(out + kPlanes, f.planes, sizeof(f.planes));
  std::memcpy(out + kCastling, f.castling, 4);
  out[kStm] = f.stm_ep;
  out[kRule50] = f.rule50;
  out[kInvariance] = f.invariance;
  const float root[6] = {f.v[kRoot][0], f.v[kBest][0], f.v[kRoot][1], f.v[kBest][1], f.v[kRoot][2], f.v[kBest][2]};
  std::memcpy(out + kRootQ, root, sizeof(root));
  put(kPliesLeft, f.v[kResult][2]);
  std::memcpy(out + kResultQ, f.v[kResult], 2 * sizeof(float));
  std::memcpy(out + kPlayedQ, f.v[kPlayed], 3 * sizeof(float));
  std::memcpy(out + kOrigQ, f.v[kOrig], 3 * sizeof(float));
  put(kVisits, f.visits);
  put(kPlayedIdx, f.played_idx);
  put(kBestIdx, f.best_idx);
  put(kKld, f.policy_kld);
  if (version == 7) {
    std::memcpy(out + kQst, f.v[kShortTerm], 2 * sizeof(float));
    put(kOppIdx, f.opp_idx);
    put(kNextIdx, f.next_idx);
  }
}

void encode_inputs(const Frame& f, float* out) {
  const Out o(out);
  for (int k = 0; k < 104; ++k) {
    const uint64_t w = f.planes[k];
    const size_t at = static_cast<size_t>(k) * 64;
    if (w == 0) {
      o.plane(at, kZeros);
      continue;
    }
    for (int r = 0; r < 8; ++r) o.put8(at + r * 8, kLut.v[(w >> (8 * r)) & 0xff]);
  }
  const size_t aux = 104 * 64;
  const uint32_t fmt = f.input_format;
  const bool black = frame_black_to_move(f);
  if (fmt == 1) {
    for (int i = 0; i < 4; ++i) fill_plane(f.castling[i] ? 1.0f : 0.0f, o, aux + i * 64);
  } else {
    natural_plane(uint64_t(f.castling[0]) | (uint64_t(f.castling[2]) << 56), o, aux);
    natural_plane(uint64_t(f.castling[1]) | (uint64_t(f.castling[3]) << 56), o, aux + 64);
    o.plane(aux + 128, kZeros);
    o.plane(aux + 192, kZeros);
  }
  if (canonical_format(fmt))
    natural_plane(uint64_t(f.stm_ep) << 56, o, aux + 256);
  else
    fill_plane(black ? 1.0f : 0.0f, o, aux + 256);
  const float rule50 = static_cast<float>(f.rule50) / (fmt <= 3 ? 99.0f : 100.0f);
  fill_plane(rule50, o, aux + 320);
  fill_plane((fmt == 132 || fmt == 133) && black ? 1.0f : 0.0f, o, aux + 384);
  fill_plane(1.0f, o, aux + 448);
}

void encode_done() {
#if defined(__SSE2__)
  _mm_sfence();  // non-temporal stores are visible before the buffer is handed over
#endif
}

void encode_policy(const Frame& f, float* out) {
  for (int i = 0; i < kMoves; ++i) out[i] = -1.0f;
  const uint16_t* idx = f.idx();
  const float* pr = f.prob();
  // Same arithmetic as lcpipe.lc0.tensors.normalise_policy: the sum and its
  // reciprocal in double, rounded to float once, then multiplied.
  double sum = 0.0;
  for (int k = 0; k < f.n_legal; ++k) sum += pr[k];
  const float scale = sum > 0.0 ? static_cast<float>(1.0 / sum) : 1.0f;
  for (int k = 0; k < f.n_legal; ++k) out[idx[k]] = pr[k] * scale;
}

void encode_values(const Frame& f, float* out) { std::memcpy(out, f.v, sizeof(f.v)); }

}  // namespace lcl
