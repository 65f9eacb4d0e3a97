// Bounded queues between loader stages: back-pressure, overflow policies,
// several writers, close-when-all-writers-done, and abort for fast stops.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace lcl {

enum class Overflow { Block, DropNewest, KeepNewest };

Overflow parse_overflow(const std::string& s);

// Type-erased view for metrics and shutdown.
class QueueBase {
 public:
  QueueBase(std::string name, size_t capacity, Overflow ov)
      : name_(std::move(name)), capacity_(capacity ? capacity : 1), overflow_(ov) {}
  virtual ~QueueBase() = default;
  virtual size_t size() const = 0;
  virtual void abort() = 0;
  virtual bool closed_and_empty() const = 0;
  virtual void add_writer() = 0;
  virtual void writer_done() = 0;
  const std::string& name() const { return name_; }
  size_t capacity() const { return capacity_; }
  uint64_t pushed() const { return pushed_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 protected:
  std::string name_;
  size_t capacity_;
  Overflow overflow_;
  std::atomic<uint64_t> pushed_{0}, dropped_{0};
};

enum class Pop { Ok, Timeout, Closed };

template <class T>
class Queue : public QueueBase {
 public:
  using QueueBase::QueueBase;

  void add_writer() override {
    std::lock_guard<std::mutex> l(m_);
    ++writers_;
    ever_had_writer_ = true;
  }
  void writer_done() override {
    std::lock_guard<std::mutex> l(m_);
    if (writers_ > 0) --writers_;
    not_empty_.notify_all();
  }
  void abort() override {
    std::lock_guard<std::mutex> l(m_);
    aborted_ = true;
    items_.clear();
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  size_t size() const override {
    std::lock_guard<std::mutex> l(m_);
    return items_.size();
  }
  bool closed_and_empty() const override {
    std::lock_guard<std::mutex> l(m_);
    return aborted_ || (items_.empty() && is_closed());
  }

  // Adds an item. Block policy waits while full; false only when aborted.
  bool push(T&& item) {
    std::unique_lock<std::mutex> l(m_);
    while (items_.size() >= capacity_ && !aborted_) {
      if (overflow_ == Overflow::DropNewest) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
      if (overflow_ == Overflow::KeepNewest) {
        items_.pop_front();
        dropped_.fetch_add(1, std::memory_order_relaxed);
        break;
      }
      not_full_.wait(l);
    }
    if (aborted_) return false;
    items_.push_back(std::move(item));
    pushed_.fetch_add(1, std::memory_order_relaxed);
    not_empty_.notify_one();
    return true;
  }

  // Pushes every item of `items` (moved from) under one lock, waking
  // readers once per group rather than per item; waits for room as push does.
  // false only when aborted.
  bool push_many(std::vector<T>& items) {
    std::unique_lock<std::mutex> l(m_);
    size_t i = 0;
    while (i < items.size()) {
      if (aborted_) return false;
      if (items_.size() >= capacity_) {
        if (overflow_ == Overflow::DropNewest) {  // nobody pops while we hold the lock: the rest is dropped
          dropped_.fetch_add(items.size() - i, std::memory_order_relaxed);
          break;
        }
        if (overflow_ == Overflow::KeepNewest) {
          items_.pop_front();
          dropped_.fetch_add(1, std::memory_order_relaxed);
        } else {
          not_empty_.notify_all();
          not_full_.wait(l);
          continue;
        }
      }
      items_.push_back(std::move(items[i++]));
      pushed_.fetch_add(1, std::memory_order_relaxed);
    }
    if (aborted_) return false;
    not_empty_.notify_all();
    return true;
  }

  // Like push, but gives up after `timeout` when full (item kept by caller).
  // Returns 1 pushed, 0 timed out, -1 aborted.
  int push_for(T& item, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(m_);
    if (overflow_ != Overflow::Block || items_.size() < capacity_) {
      l.unlock();
      return push(std::move(item)) ? 1 : -1;
    }
    if (!not_full_.wait_for(l, timeout, [&] { return aborted_ || items_.size() < capacity_; })) return 0;
    if (aborted_) return -1;
    items_.push_back(std::move(item));
    pushed_.fetch_add(1, std::memory_order_relaxed);
    not_empty_.notify_one();
    return 1;
  }

  Pop pop(T& out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(m_);
    if (!not_empty_.wait_for(l, timeout, [&] { return aborted_ || !items_.empty() || is_closed(); }))
      return Pop::Timeout;
    if (aborted_) return Pop::Closed;
    if (items_.empty()) return Pop::Closed;
    out = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return Pop::Ok;
  }

  // Up to `max` items; waits for the first one only.
  Pop pop_many(std::vector<T>& out, size_t max, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(m_);
    if (!not_empty_.wait_for(l, timeout, [&] { return aborted_ || !items_.empty() || is_closed(); }))
      return Pop::Timeout;
    if (aborted_ || items_.empty()) return Pop::Closed;
    size_t n = std::min(max, items_.size());
    for (size_t i = 0; i < n; ++i) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    not_full_.notify_all();
    return Pop::Ok;
  }

  // Non-blocking drain (for stages that poll their input between outputs).
  size_t try_pop_many(std::vector<T>& out, size_t max) {
    std::lock_guard<std::mutex> l(m_);
    size_t n = std::min(max, items_.size());
    for (size_t i = 0; i < n; ++i) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    if (n) not_full_.notify_all();
    return n;
  }

  bool closed() const {
    std::lock_guard<std::mutex> l(m_);
    return aborted_ || is_closed();
  }

 private:
  // Closed once every writer finished (a queue nobody writes to is closed).
  bool is_closed() const { return writers_ == 0; }

  mutable std::mutex m_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> items_;
  int writers_ = 0;
  bool ever_had_writer_ = false;
  bool aborted_ = false;
};

}  // namespace lcl
