// One Syzygy table file (.rtbw or .rtbz) memory-mapped read-only: header
// parsing and the lookup of a position's stored value. The file is checked
// against the material its name gives; any inconsistency makes open() fail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "syzygy/index.h"
#include "syzygy/pairs.h"
#include "syzygy/tablebases.h"

namespace lcpipe::tb {

// Piece counts by [colour][PieceType], kings included.
struct Material {
  int count[2][6] = {};
  int total() const;
  bool has_pawns() const { return count[kWhite][kPawn] + count[kBlack][kPawn] > 0; }
  bool symmetric() const;
};

class TableFile {
 public:
  enum class Kind { kWdl, kDtz };
  // `material`: white = the part of the file name before the 'v'.
  TableFile(Kind kind, const Material& material) : kind_(kind), material_(material) {}
  ~TableFile();
  TableFile(const TableFile&) = delete;
  TableFile& operator=(const TableFile&) = delete;

  // Maps and checks the file; false with a reason in *error.
  bool open(const std::string& path, std::string* error);
  // Parses a file image the caller keeps alive (the sanitizer fuzz uses it);
  // call open() or attach() once.
  bool attach(const uint8_t* data, size_t size, std::string* error);

  enum class Status { kOk, kOtherSide, kCorrupt };
  struct Result {
    Status status = Status::kCorrupt;
    int value = 0;
  };
  // `flip`: the position's colours are the table's swapped (black has the
  // material the name puts first). WDL: the stored value -2..2 for the side to
  // move (captures unresolved). DTZ: the stored distance in plies for a
  // position whose WDL is `wdl` (kOtherSide when this DTZ file holds only the
  // other side to move).
  Result probe(const Position& pos, bool flip, int wdl) const;

 private:
  struct Slice {
    uint8_t codes[index::kMaxPieces] = {};  // table order: bit 3 = colour, 1..6 = pawn..king
    index::Layout layout;
    PairsData pairs;
    uint32_t map_index[4] = {};  // DTZ: start of the value map per WDL class
  };
  bool parse(std::string* error);
  bool check_codes(const uint8_t* codes) const;
  const Slice& slice(int side, int file) const { return slices_[side][file]; }

  Kind kind_;
  Material material_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  bool pawns_ = false;
  int sides_ = 1;
  int files_ = 1;
  uint8_t lead_code_ = 0;  // pawn tables: the piece code of the leading pawns
  int lead_count_ = 0;
  size_t map_ = 0;  // DTZ: start of the value maps
  Slice slices_[2][4];
};

}  // namespace lcpipe::tb
