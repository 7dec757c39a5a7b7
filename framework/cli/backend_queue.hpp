// Turn-taking for one backend object (a loaded model or voice): callers run one at a time, in the
// order they arrived, and a bounded number of requests may be admitted (waiting or running).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace troupe::cli {

class BackendQueue {
public:
    /// `capacity`: how many requests try_enter admits at once (waiting or running); 0 = no bound.
    explicit BackendQueue(size_t capacity = 0) : capacity_(capacity) {}
    BackendQueue(const BackendQueue&) = delete;
    BackendQueue& operator=(const BackendQueue&) = delete;

    /// A place in the queue; destroying it leaves the queue (and hands the turn on).
    class Ticket {
    public:
        Ticket(BackendQueue& queue, uint64_t number) : queue_(queue), number_(number) {}
        ~Ticket() { queue_.leave(number_); }
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        /// Blocks until this ticket is first in line. `give_up` is polled every 50 ms while waiting;
        /// returns false when it said so (the ticket stays valid and must still be destroyed).
        bool wait_turn(const std::function<bool()>& give_up = {});

    private:
        BackendQueue& queue_;
        uint64_t number_;
    };

    /// A ticket, or null when `capacity` requests are already admitted (the caller answers "busy").
    std::unique_ptr<Ticket> try_enter();
    /// A ticket regardless of the bound (scene jobs, which wait their turn).
    std::unique_ptr<Ticket> enter();
    /// Requests admitted now (waiting or running).
    size_t depth() const;
    size_t capacity() const { return capacity_; }

private:
    void leave(uint64_t number);
    const size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable turn_;
    std::deque<uint64_t> line_;
    uint64_t next_ = 0;
};

}  // namespace troupe::cli
