// Compact in-memory frames: one lc0 training record (V3-V7) decoded into the
// fields a batch needs, with the policy stored sparsely over legal moves.
// A V7 record is 8396 bytes; a compact frame is ~940 bytes + 6 per legal move.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace lcl {

constexpr int kMoves = 1858;
constexpr size_t kV3Size = 8276, kV4Size = 8292, kV5Size = 8308, kV6Size = 8356, kV7Size = 8396;
constexpr uint16_t kNoMove = 65535;

size_t record_size(uint32_t version);  // 0 if unknown
bool known_input_format(uint32_t fmt);

// Value rows of the batch (LC0_FORMATS.md section 5), columns q, d, m.
enum Row { kResult = 0, kBest, kPlayed, kOrig, kRoot, kShortTerm };

struct Frame {
  uint64_t planes[104];  // as stored (bits reversed inside bytes)
  float v[6][3];
  uint32_t input_format;
  uint32_t visits;
  float policy_kld;
  uint8_t castling[4];  // us_ooo, us_oo, them_ooo, them_oo
  uint8_t stm_ep, rule50, invariance, version;
  uint16_t played_idx, best_idx, opp_idx, next_idx;
  uint16_t n_legal;
  uint16_t pad_;
  // followed by n_legal uint16 move indices, then n_legal float probabilities

  uint16_t* idx() { return reinterpret_cast<uint16_t*>(this + 1); }
  const uint16_t* idx() const { return reinterpret_cast<const uint16_t*>(this + 1); }
  float* prob() { return reinterpret_cast<float*>(reinterpret_cast<char*>(this + 1) + tail_idx_bytes(n_legal)); }
  const float* prob() const {
    return reinterpret_cast<const float*>(reinterpret_cast<const char*>(this + 1) + tail_idx_bytes(n_legal));
  }
  static size_t tail_idx_bytes(size_t n) { return (n * 2 + 3) & ~size_t(3); }
  static size_t bytes_for(size_t n) { return sizeof(Frame) + tail_idx_bytes(n) + n * 4; }
  size_t bytes() const { return bytes_for(n_legal); }
};

// Canonical input formats (all but 1 and 2) keep the side to move in
// invariance bit 7; the others in their own byte.
inline bool canonical_format(uint32_t fmt) { return fmt != 1 && fmt != 2; }
inline bool frame_black_to_move(const Frame& f) {
  return canonical_format(f.input_format) ? (f.invariance & 0x80) != 0 : f.stm_ep != 0;
}

void frame_free(void* p, size_t bytes);

struct FreeDeleter {
  void operator()(Frame* f) const {
    if (f) frame_free(f, f->bytes());
  }
};
using FramePtr = std::unique_ptr<Frame, FreeDeleter>;

FramePtr alloc_frame(size_t n_legal);
FramePtr clone_frame(const Frame& f);

// Result of decoding one chunk's uncompressed bytes.
struct ParsedChunk {
  std::vector<FramePtr> frames;
  std::vector<std::string> problems;  // one line per dropped part
  uint64_t bad_frames = 0;
};

// Decodes concatenated records (any mix of runs of V3..V7), dropping bad
// frames (unknown input format, NaN/negative probabilities, no legal move,
// NaN result) and stopping at an unknown version or a partial record.
void parse_chunk(const uint8_t* data, size_t n, ParsedChunk& out);

// Writes a frame back as one record of `version` 6 or 7 (record_size(version)
// bytes at out): what the frame keeps is written exactly; the unused dummy and
// reserved fields are zero, and a V7 record of a V6 frame carries the
// short-term values the frame holds (NaN unless a rescorer filled them).
void write_record(const Frame& f, uint32_t version, uint8_t* out);

// Batch encoding of one frame (see LC0_FORMATS.md sections 3 and 5).
void encode_inputs(const Frame& f, float* out /*112*64*/);
void encode_policy(const Frame& f, float* out /*1858*/);
void encode_values(const Frame& f, float* out /*18*/);
void encode_done();  // after a batch: orders the non-temporal stores of encode_*

}  // namespace lcl
