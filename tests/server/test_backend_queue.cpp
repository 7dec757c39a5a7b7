// BackendQueue: one at a time in arrival order, a bound on admissions, giving up while waiting.
#define BOOST_TEST_MODULE backend_queue
#include <boost/test/unit_test.hpp>

#include "backend_queue.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

using troupe::cli::BackendQueue;

BOOST_AUTO_TEST_CASE(tickets_run_one_at_a_time_in_arrival_order) {
    BackendQueue queue;
    std::vector<std::unique_ptr<BackendQueue::Ticket>> tickets;
    for (int i = 0; i < 4; ++i) tickets.push_back(queue.enter());
    std::mutex mutex;
    std::vector<int> order;
    std::atomic<int> running{0}, most{0};
    std::vector<std::thread> threads;
    for (int i = 3; i >= 0; --i)  // started in reverse: the tickets, not the threads, set the order
        threads.emplace_back([&, i] {
            tickets[i]->wait_turn();
            most = std::max(most.load(), ++running);
            { std::lock_guard<std::mutex> lock(mutex); order.push_back(i); }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            --running;
            tickets[i].reset();
        });
    for (auto& t : threads) t.join();
    BOOST_TEST(order == (std::vector<int>{0, 1, 2, 3}), boost::test_tools::per_element());
    BOOST_TEST(most == 1);
    BOOST_TEST(queue.depth() == 0u);
}

BOOST_AUTO_TEST_CASE(try_enter_admits_up_to_the_capacity) {
    BackendQueue queue(2);
    auto a = queue.try_enter(), b = queue.try_enter();
    BOOST_TEST(bool(a));
    BOOST_TEST(bool(b));
    BOOST_TEST(!queue.try_enter());
    auto extra = queue.enter();  // scene jobs wait regardless of the bound
    BOOST_TEST(queue.depth() == 3u);
    a.reset();
    extra.reset();
    BOOST_TEST(bool(queue.try_enter()));
}

BOOST_AUTO_TEST_CASE(a_waiter_can_give_up_and_hands_the_turn_on) {
    BackendQueue queue;
    auto first = queue.enter(), second = queue.enter(), third = queue.enter();
    std::atomic<bool> leave{false};
    bool got_turn = true;
    std::thread waiter([&] { got_turn = second->wait_turn([&] { return leave.load(); }); });
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    leave = true;
    waiter.join();
    BOOST_TEST(!got_turn);
    second.reset();
    first.reset();
    BOOST_TEST(third->wait_turn([] { return false; }));  // now first in line
}
