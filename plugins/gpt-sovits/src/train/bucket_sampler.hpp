// train/bucket_sampler.hpp — upstream's DistributedBucketSampler (AR/data/bucket_sampler.py) with
// one replica, as s1_train.py uses it, followed by the DataLoader's batching (drop_last off):
//
//   - items sorted by duration (stable), cut into buckets: an item goes into the current bucket
//     while its duration is below the bucket's bound, else it starts a new bucket and the bound
//     grows by ONE width (2 s) — even when the item is several widths longer (upstream's quirk);
//   - every epoch e: Python's random.seed(e + seed) (seed 0: the sampler's default, not the
//     training seed), each bucket shuffled, the buckets concatenated, cut into batches of
//     batch_size, the batch list shuffled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace troupe::sovits::train {

class BucketSampler {
public:
    /// `seconds[i]`: duration of item i (codes / 25). Throws on batch_size < 1 or no items.
    BucketSampler(const std::vector<double>& seconds, int64_t batch_size, uint64_t seed = 0, double bucket_width = 2.0);

    /// The batches (item indices) of epoch `epoch` (0-based, Lightning's current_epoch).
    std::vector<std::vector<size_t>> epoch_batches(int64_t epoch) const;
    /// Number of batches per epoch.
    int64_t batches_per_epoch() const;
    const std::vector<std::vector<size_t>>& buckets() const { return buckets_; }

private:
    std::vector<std::vector<size_t>> buckets_;
    size_t items_ = 0;
    int64_t batch_size_;
    uint64_t seed_;
};

/// The batch size upstream's data module uses: max(min(batch_size, items / 4), 1) (halved first for
/// DPO, which is not implemented).
int64_t upstream_batch_size(int64_t configured, size_t items);

}  // namespace troupe::sovits::train
