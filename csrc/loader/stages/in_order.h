// Ordered parallel work for a stage with several threads: items are numbered
// as they are taken from the input, worked on by any thread, and handed on in
// the order they were taken. The stage's output then depends on its input and
// settings alone, not on the thread count or timing (exact resume needs that).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

#include "loader/stages/stage_support.h"

namespace lcl::stages {

class InOrder {
 public:
  // Takes the next item and its number; false at the end of input or on a stop.
  template <class T>
  bool next(Queue<T>* q, T& item, uint64_t& seq, const std::function<bool()>& stopping) {
    std::lock_guard<std::mutex> l(take_m_);  // numbering and taking are one step
    if (!next_item(q, item, stopping)) return false;
    seq = taken_++;
    return true;
  }

  // Waits until every item numbered below `seq` is done; false on a stop.
  bool wait_turn(uint64_t seq, const std::function<bool()>& stopping) {
    std::unique_lock<std::mutex> l(turn_m_);
    while (done_ != seq) {
      if (stopping()) return false;
      turn_.wait_for(l, kTick);
    }
    return !stopping();
  }

  // Item `seq` (whose turn it was) is handed on: the next one may go.
  void done(uint64_t seq) {
    {
      std::lock_guard<std::mutex> l(turn_m_);
      done_ = seq + 1;
    }
    turn_.notify_all();
  }

 private:
  std::mutex take_m_, turn_m_;
  std::condition_variable turn_;
  uint64_t taken_ = 0, done_ = 0;
};

// A well-mixed 64-bit seed for item `seq` of a stage seeded `seed` (splitmix64).
inline uint64_t item_seed(uint64_t seed, uint64_t seq) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (seq + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace lcl::stages
