// train/collate.hpp — upstream's Text2SemanticDataset.collate: one S1 training batch.
#pragma once

#include "train/s1_dataset.hpp"

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

namespace troupe::sovits::train {

struct S1Batch {
    at::Tensor phoneme_ids;       // (B, N) int64, right-padded with 0
    at::Tensor phoneme_ids_len;   // (B) int64
    at::Tensor semantic_ids;      // (B, T) int64, right-padded with pad_val
    at::Tensor semantic_ids_len;  // (B) int64
    at::Tensor bert_feature;      // (B, bert_dim, N) float32: zeros, item i's features in [:, :N_i]
    std::vector<size_t> ids;      // dataset indices

    S1Batch to(const c10::Device& device) const;
};

/// Pads and stacks the items `indices` of `ds` (reading 3-bert features where an item has them).
S1Batch collate(const S1Dataset& ds, const std::vector<size_t>& indices, int64_t pad_val = 1024, int64_t bert_dim = 1024);

/// The same from id lists (tests, other sources); `bert[i]` may be undefined (zeros).
S1Batch collate_ids(const std::vector<std::vector<int64_t>>& phonemes, const std::vector<std::vector<int64_t>>& semantic,
                    const std::vector<at::Tensor>& bert, int64_t pad_val = 1024, int64_t bert_dim = 1024);

}  // namespace troupe::sovits::train
