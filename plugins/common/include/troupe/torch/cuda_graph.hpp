// troupe/torch/cuda_graph.hpp — a fixed sequence of CUDA work captured once and replayed with a
// single launch (at::cuda::CUDAGraph). Decode steps use it: their shapes never change, so the
// hundreds of small kernels of one token cost one launch.
//
// Only CUDA builds of LibTorch have graphs; elsewhere available() is false and callers run the
// same step eagerly. The captured step must not synchronise with the host (no .item(), no
// host copies) and must read and write only tensors that outlive the graph.
#pragma once

#include <c10/core/Device.h>

#include <functional>
#include <memory>

namespace troupe {

class CudaGraph {
public:
    CudaGraph();
    ~CudaGraph();
    CudaGraph(const CudaGraph&) = delete;
    CudaGraph& operator=(const CudaGraph&) = delete;

    /// True when this LibTorch has CUDA graphs and `device` is a CUDA device.
    static bool available(const c10::Device& device);

    /// Runs `step` `warmup` times (allocator, cuBLAS workspaces), then records one more call on a
    /// side stream. Tensors the step allocates live in the graph's private memory pool. Throws
    /// troupe::Error when graphs are unavailable or the capture fails.
    void capture(const std::function<void()>& step, int warmup = 2);
    /// Replays the recorded work on the current stream (asynchronous).
    void replay();
    bool captured() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace troupe
