#include "train/bucket_sampler.hpp"

#include "train/py_random.hpp"

#include <troupe/status.hpp>

#include <algorithm>
#include <numeric>

namespace troupe::sovits::train {

BucketSampler::BucketSampler(const std::vector<double>& seconds, int64_t batch_size, uint64_t seed, double bucket_width)
    : items_(seconds.size()), batch_size_(batch_size), seed_(seed) {
    if (batch_size < 1) throw Error(Errc::invalid_argument, "bucket sampler: batch_size must be at least 1");
    if (seconds.empty()) throw Error(Errc::invalid_argument, "bucket sampler: no items");
    std::vector<size_t> order(seconds.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return seconds[a] < seconds[b]; });
    std::vector<size_t> cur;
    double bound = bucket_width;
    for (size_t id : order) {
        if (seconds[id] < bound) {
            cur.push_back(id);
        } else {
            buckets_.push_back(cur);
            cur = {id};
            bound += bucket_width;
        }
    }
    if (!cur.empty()) buckets_.push_back(cur);
}

std::vector<std::vector<size_t>> BucketSampler::epoch_batches(int64_t epoch) const {
    PyRandom rng(uint64_t(epoch) + seed_);
    std::vector<size_t> flat;
    for (const auto& b : buckets_) {
        std::vector<size_t> copy = b;
        rng.shuffle(copy);
        flat.insert(flat.end(), copy.begin(), copy.end());
    }
    std::vector<std::vector<size_t>> batches;
    for (size_t i = 0; i < flat.size(); i += size_t(batch_size_))
        batches.emplace_back(flat.begin() + long(i), flat.begin() + long(std::min(flat.size(), i + size_t(batch_size_))));
    rng.shuffle(batches);
    return batches;
}

int64_t BucketSampler::batches_per_epoch() const { return int64_t((items_ + size_t(batch_size_) - 1) / size_t(batch_size_)); }

int64_t upstream_batch_size(int64_t configured, size_t items) {
    return std::max<int64_t>(std::min<int64_t>(configured, int64_t(items) / 4), 1);
}

}  // namespace troupe::sovits::train
