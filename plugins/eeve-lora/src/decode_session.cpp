#include "decode_session.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

namespace troupe::llama {

DecodeSession::DecodeSession(const Model& model, const Adapter* adapter, int64_t capacity, bool use_graph)
    : model_(model), adapter_(adapter), use_graph_(use_graph && CudaGraph::available(model.device())) {
    if (capacity < 1) throw Error(Errc::invalid_argument, "decode session: capacity must be at least 1");
    c10::InferenceMode guard;  // the cache is only ever used for inference
    cache_ = model.new_cache(1, capacity);
    fused_ = model.decode_step_fusable(cache_, adapter);
    const auto ids = at::TensorOptions().dtype(at::kLong).device(model.device());
    id_ = at::zeros({1, 1}, ids);
    position_ = at::zeros({1}, ids);
}

at::Tensor DecodeSession::prefill(const std::vector<int64_t>& prompt) {
    const int64_t n = static_cast<int64_t>(prompt.size());
    if (n < 1 || n > cache_.capacity)
        throw Error(Errc::invalid_argument,
                    fmt::format("decode session: a prompt of {} tokens does not fit its capacity of {}", n, cache_.capacity));
    cache_.clear();
    ForwardOptions o;
    o.adapter = adapter_;
    o.cache = &cache_;  // fits, so forward writes into the static tensors in place
    o.last_only = true;
    return model_.forward(at::tensor(prompt, at::kLong), o).view({-1});
}

at::Tensor DecodeSession::step(int64_t id) {
    if (cache_.length >= cache_.capacity)
        throw Error(Errc::invalid_argument, fmt::format("decode session: the cache is full ({} positions)", cache_.capacity));
    if (id < 0 || id >= model_.config().vocab_size)
        throw Error(Errc::invalid_argument, fmt::format("decode session: token id {} outside the vocabulary", id));
    id_.fill_(id);
    position_.fill_(cache_.length);
    if (!use_graph_) {
        logits_ = model_.decode_step(id_, position_, cache_, adapter_, fused_);
    } else {
        if (!graph_.captured()) {
            // Warm-up and capture write K/V at the current position, which the replay rewrites.
            graph_.capture([&] { logits_ = model_.decode_step(id_, position_, cache_, adapter_, fused_); });
        }
        graph_.replay();
    }
    ++cache_.length;
    return logits_;
}

}  // namespace troupe::llama
