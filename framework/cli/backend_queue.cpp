#include "backend_queue.hpp"

#include <algorithm>
#include <chrono>

namespace troupe::cli {

std::unique_ptr<BackendQueue::Ticket> BackendQueue::try_enter() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (capacity_ > 0 && line_.size() >= capacity_) return nullptr;
    line_.push_back(next_);
    return std::make_unique<Ticket>(*this, next_++);
}

std::unique_ptr<BackendQueue::Ticket> BackendQueue::enter() {
    std::lock_guard<std::mutex> lock(mutex_);
    line_.push_back(next_);
    return std::make_unique<Ticket>(*this, next_++);
}

size_t BackendQueue::depth() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return line_.size();
}

void BackendQueue::leave(uint64_t number) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        line_.erase(std::remove(line_.begin(), line_.end(), number), line_.end());
    }
    turn_.notify_all();
}

bool BackendQueue::Ticket::wait_turn(const std::function<bool()>& give_up) {
    std::unique_lock<std::mutex> lock(queue_.mutex_);
    while (queue_.line_.front() != number_) {
        if (give_up) {
            lock.unlock();
            if (give_up()) return false;
            lock.lock();
            if (queue_.line_.front() == number_) break;
            queue_.turn_.wait_for(lock, std::chrono::milliseconds(50));
        } else {
            queue_.turn_.wait(lock);
        }
    }
    return true;
}

}  // namespace troupe::cli
