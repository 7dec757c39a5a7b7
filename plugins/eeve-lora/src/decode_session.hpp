// decode_session.hpp — batch-1 decoding over a static KV cache: the prompt runs eagerly into the
// cache, then every token is one Model::decode_step, captured once as a CUDA graph and replayed
// (eagerly on devices without graphs). One session per adapter: the graph holds its tensors.
#pragma once

#include "model.hpp"

#include <troupe/torch/cuda_graph.hpp>

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

namespace troupe::llama {

class DecodeSession {
public:
    /// `capacity` = the most positions (prompt + generated) a generation may use.
    /// `use_graph` = capture a CUDA graph when the model's device has them.
    DecodeSession(const Model& model, const Adapter* adapter, int64_t capacity, bool use_graph = true);

    const Adapter* adapter() const { return adapter_; }
    int64_t capacity() const { return cache_.capacity; }
    int64_t length() const { return cache_.length; }
    bool graphed() const { return graph_.captured(); }
    /// True when steps run on the fused CUDA kernels (Model::decode_step_fusable).
    bool fused() const { return fused_; }

    /// Restarts with `prompt` (1 ≤ size ≤ capacity); returns the last position's float32 logits [vocab].
    at::Tensor prefill(const std::vector<int64_t>& prompt);
    /// Appends `id` at the next position; returns float32 logits [vocab]. The tensor is reused by
    /// the next step: consume it first.
    at::Tensor step(int64_t id);

private:
    const Model& model_;
    const Adapter* adapter_;
    bool use_graph_;
    bool fused_ = false;
    KVCache cache_;
    at::Tensor id_, position_, logits_;  // the step's static inputs and output
    CudaGraph graph_;
};

}  // namespace troupe::llama
