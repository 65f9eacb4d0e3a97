// What every loader stage file uses: port binding, the pop loop that sees
// stops, and small path and thread-count helpers.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "loader/segment.h"

namespace lcl::stages {

using ms = std::chrono::milliseconds;
// How long a blocking pop waits before looking at the stop flag again.
inline constexpr ms kTick(100);

inline std::string base_name(const std::string& p) {
  size_t k = p.rfind('/');
  return k == std::string::npos ? p : p.substr(k + 1);
}

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "threads" below 1 means one per hardware thread.
inline int auto_threads(double n) {
  if (n >= 1) return static_cast<int>(n);
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 2;
}

template <class T>
Queue<T>* bind_in(Segment& seg, const StageDesc& d, const std::string& port, bool required = true) {
  auto it = d.inputs.find(port);
  if (it == d.inputs.end()) {
    if (required) throw std::invalid_argument(d.name + ": input '" + port + "' is not connected");
    return nullptr;
  }
  return seg.queue<T>(it->second, d.name + "." + port);
}

template <class T>
OutPort<T> bind_out(Segment& seg, const StageDesc& d, const std::string& port) {
  OutPort<T> out;
  auto it = d.outputs.find(port);
  if (it == d.outputs.end()) return out;
  for (const auto& id : it->second) {
    Queue<T>* q = seg.queue<T>(id, d.name + "." + port);
    if (!q) throw std::invalid_argument(d.name + "." + port + ": unknown queue " + id);
    q->add_writer();
    out.qs.push_back(q);
  }
  return out;
}

// Pops with a short timeout so stops are seen; false at the end of input.
template <class T>
bool next_item(Queue<T>* q, T& item, const std::function<bool()>& stopping) {
  while (!stopping()) {
    Pop r = q->pop(item, kTick);
    if (r == Pop::Ok) return true;
    if (r == Pop::Closed) return false;
  }
  return false;
}

}  // namespace lcl::stages
