// The thread a source reads on and the way it is asked to stop: a flag and
// a wake-up, so that a source sleeping between polls or reconnects stops
// at once.
//
//   StoppableThread thread_;  // a member declared last: joined first
//   thread_.start([this] {
//     while (!thread_.stopping()) thread_.sleep_ms(poll_ms);
//   });
//   thread_.request_stop();   // from any thread
//   thread_.join();
//
// Thread-safe: request_stop, stopping and sleep_ms from any thread; start
// and join from the owner.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace vigil::service {

class StoppableThread {
 public:
  StoppableThread() = default;
  ~StoppableThread() {
    request_stop();
    join();
  }
  StoppableThread(const StoppableThread&) = delete;
  StoppableThread& operator=(const StoppableThread&) = delete;

  void start(std::function<void()> body) { thread_ = std::thread(body); }

  void request_stop() {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }

  void join() {
    if (thread_.joinable()) thread_.join();
  }

  bool stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  // Waits `ms`, or less when a stop is requested meanwhile.
  void sleep_ms(int ms) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(ms),
                   [&] { return stopping_; });
  }

 private:
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
};

}  // namespace vigil::service
