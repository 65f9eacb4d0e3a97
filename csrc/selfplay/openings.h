// Start positions of self-play games: the standard position, positions read
// from an EPD file or a PGN file (FEN header and/or the moves of each game),
// or random balanced openings (a few random plies from the start position).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "selfplay/game.h"

namespace lcpipe::selfplay {

// Openings of a file: ".epd" (one position per line, the first four fields a
// FEN) or ".pgn" (each game's [FEN] tag and its moves in SAN are not parsed
// here: PGN is read by Python and handed over as FEN + UCI moves). Throws
// std::runtime_error naming the file and line for malformed input.
std::vector<Opening> read_epd(const std::string& path);

class OpeningBook {
 public:
  OpeningBook() = default;
  OpeningBook(std::vector<Opening> openings, int random_plies)
      : openings_(std::move(openings)), random_plies_(random_plies) {}
  // The opening of game `id`: the file's openings in turn (game id modulo
  // their number), then `random_plies` uniformly random legal plies drawn
  // from (seed, id), retried until the game goes on with equal material.
  Opening for_game(uint64_t id, uint64_t seed) const;
  size_t size() const { return openings_.size(); }

 private:
  std::vector<Opening> openings_;
  int random_plies_ = 0;
};

}  // namespace lcpipe::selfplay
