#include "train/collate.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

namespace troupe::sovits::train {

S1Batch S1Batch::to(const c10::Device& device) const {
    S1Batch b = *this;
    b.phoneme_ids = phoneme_ids.to(device);
    b.phoneme_ids_len = phoneme_ids_len.to(device);
    b.semantic_ids = semantic_ids.to(device);
    b.semantic_ids_len = semantic_ids_len.to(device);
    b.bert_feature = bert_feature.to(device);
    return b;
}

S1Batch collate_ids(const std::vector<std::vector<int64_t>>& phonemes, const std::vector<std::vector<int64_t>>& semantic,
                    const std::vector<at::Tensor>& bert, int64_t pad_val, int64_t bert_dim) {
    const int64_t B = int64_t(phonemes.size());
    if (B == 0 || semantic.size() != phonemes.size() || (!bert.empty() && bert.size() != phonemes.size()))
        throw Error(Errc::invalid_argument, "collate: empty batch or mismatched list sizes");
    size_t N = 0, T = 0;
    for (int64_t i = 0; i < B; ++i) {
        N = std::max(N, phonemes[size_t(i)].size());
        T = std::max(T, semantic[size_t(i)].size());
    }
    const auto i64 = at::TensorOptions().dtype(at::kLong);
    S1Batch b;
    b.phoneme_ids = at::zeros({B, int64_t(N)}, i64);
    b.semantic_ids = at::full({B, int64_t(T)}, pad_val, i64);
    b.phoneme_ids_len = at::empty({B}, i64);
    b.semantic_ids_len = at::empty({B}, i64);
    b.bert_feature = at::zeros({B, bert_dim, int64_t(N)}, at::TensorOptions().dtype(at::kFloat));
    for (int64_t i = 0; i < B; ++i) {
        const auto& ph = phonemes[size_t(i)];
        const auto& se = semantic[size_t(i)];
        if (!ph.empty()) b.phoneme_ids[i].slice(0, 0, int64_t(ph.size())).copy_(at::tensor(at::ArrayRef<int64_t>(ph), i64));
        if (!se.empty()) b.semantic_ids[i].slice(0, 0, int64_t(se.size())).copy_(at::tensor(at::ArrayRef<int64_t>(se), i64));
        b.phoneme_ids_len[i] = int64_t(ph.size());
        b.semantic_ids_len[i] = int64_t(se.size());
        if (!bert.empty() && bert[size_t(i)].defined()) {
            const at::Tensor& f = bert[size_t(i)];
            if (f.dim() != 2 || f.size(0) != bert_dim || f.size(1) > int64_t(N))
                throw Error(Errc::invalid_argument, fmt::format("collate: BERT features of item {} must be ({}, <= {})", i, bert_dim, N));
            b.bert_feature[i].slice(1, 0, f.size(1)).copy_(f);
        }
    }
    return b;
}

S1Batch collate(const S1Dataset& ds, const std::vector<size_t>& indices, int64_t pad_val, int64_t bert_dim) {
    std::vector<std::vector<int64_t>> ph, se;
    std::vector<at::Tensor> bert;
    for (size_t i : indices) {
        if (i >= ds.items.size()) throw Error(Errc::invalid_argument, "collate: item index out of range");
        const S1Item& it = ds.items[i];
        ph.push_back(it.phoneme_ids);
        se.push_back(it.semantic_ids);
        bert.push_back(it.bert_path.empty() ? at::Tensor() : load_bert_feature(it.bert_path, it.phoneme_ids.size()));
    }
    S1Batch b = collate_ids(ph, se, bert, pad_val, bert_dim);
    b.ids = indices;
    return b;
}

}  // namespace troupe::sovits::train
