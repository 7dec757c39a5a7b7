// s1/decode_graph.hpp — S1 decode steps with static shapes (B rows), replayed as a CUDA graph.
//
// K/V of every layer are preallocated for `capacity` positions. The prefill writes positions
// [0, L) (the ordinary masked transform, straight into those buffers); each step then reads the
// token and its positions from small device tensors, embeds the token (positional rows computed on
// the device), writes its K/V with index_copy_ at the cache position, attends over the whole
// capacity with the keys after that position masked, and writes the logits into a tensor this
// object owns. Shapes never change, so on CUDA (troupe::CudaGraph::available) the step is captured
// once and replayed per token; elsewhere the same step runs eagerly, over the buffer positions up
// to the next multiple of 256 past the current one. Sampling stays outside.
#pragma once

#include "s1/model.hpp"

#include <ATen/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace troupe {
class CudaGraph;
}

namespace troupe::sovits::s1 {

class DecodeGraph {
public:
    /// Zero-filled K/V for `capacity` positions on the model's device and dtype. With `use_graph`
    /// and a CUDA device that has graphs, the step is warmed up and captured here. The model must be
    /// in eval mode and keep its parameters (device, dtype, storage) while this object lives.
    /// `batch` (>= 1) is the number of rows every prefill and step carries.
    DecodeGraph(Text2SemanticDecoderImpl& model, int64_t capacity, bool use_graph = true, int64_t batch = 1);
    ~DecodeGraph();
    DecodeGraph(const DecodeGraph&) = delete;
    DecodeGraph& operator=(const DecodeGraph&) = delete;

    int64_t capacity() const { return capacity_; }
    int64_t batch() const { return batch_; }
    /// True when steps replay a captured CUDA graph (false: they run eagerly).
    bool graphed() const { return graphed_; }

    /// Prefill over xy (B, L, d) with `mask` (L, L) or per row (B, L, L), L <= capacity, from
    /// position 0: the K/V go into the static buffers. `key_pad` (B, L) bool, true = a pad column
    /// that row's later steps never attend to (undefined = none; batch-1 graphs take none). The
    /// mask must already block those columns for the prefill's own queries. Returns the hidden
    /// states (B, L, d).
    at::Tensor prefill(const at::Tensor& xy, const at::Tensor& mask, const at::Tensor& key_pad = at::Tensor());
    /// One step: `token` (B, 1) int64 on the model's device (one token per row), embedded at audio
    /// position `audio_pos`; the K/V are stored at cache position `cache_pos` (< capacity) and every
    /// row attends to [0, cache_pos] less its pad columns. Returns the logits (B, vocab) float32: a
    /// tensor this object owns, overwritten by the next step.
    at::Tensor& step(const at::Tensor& token, int64_t audio_pos, int64_t cache_pos);

    /// The capacity used for `need` positions: `need` rounded up to a multiple of 256, so that
    /// decodes of similar length share a graph.
    static int64_t round_capacity(int64_t need);
    /// A DecodeGraph for `model` with `capacity` and `batch` rows (use_graph on), reused across
    /// calls: an idle one of the same model (same parameter storage), capacity and batch from a
    /// process-wide pool, or a new one.
    /// The caller holds it exclusively; it returns to the pool (at most 4 idle, least recently used
    /// dropped) when the last copy of the pointer goes. Models not owned by a shared_ptr get an
    /// unpooled graph.
    static std::shared_ptr<DecodeGraph> acquire(Text2SemanticDecoderImpl& model, int64_t capacity, int64_t batch = 1);
    /// Frees the idle pooled graphs of `model` (nullptr: of every model), e.g. before unloading it.
    static void release_pooled(const Text2SemanticDecoderImpl* model = nullptr);

private:
    void run_step(int64_t window);

    Text2SemanticDecoderImpl& model_;
    int64_t capacity_;
    int64_t batch_;
    KVCache cache_;
    at::Tensor token_, audio_pos_, cache_pos_;  // (B, 1) and (1) int64, filled before each step
    at::Tensor key_index_;                      // arange(capacity)
    at::Tensor key_pad_;                        // (B, capacity) bool pad columns (batch > 1 only)
    at::Tensor logits_;                         // (B, vocab) float32
    std::unique_ptr<CudaGraph> graph_;
    bool graphed_ = false;
    int64_t high_water_ = 0;  // buffer positions [0, high_water_) may hold data of an earlier decode
};

}  // namespace troupe::sovits::s1
