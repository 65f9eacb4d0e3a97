#include "common/hashing.h"

namespace lcpipe {

uint64_t stable_hash(std::string_view key, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // splitmix64 finaliser
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBULL;
  h ^= h >> 31;
  return h;
}

double unit_interval(std::string_view key, uint64_t seed) {
  return static_cast<double>(stable_hash(key, seed) >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace lcpipe
