#include <troupe/torch/cuda_graph.hpp>

#include <troupe/status.hpp>

#include <fmt/format.h>

#ifdef TROUPE_CUDA_GRAPHS
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#endif

namespace troupe {

#ifdef TROUPE_CUDA_GRAPHS

struct CudaGraph::Impl {
    at::cuda::CUDAGraph graph;
    bool captured = false;
};

bool CudaGraph::available(const c10::Device& device) { return device.is_cuda(); }

void CudaGraph::capture(const std::function<void()>& step, int warmup) {
    if (impl_->captured) throw Error(Errc::runtime, "CUDA graph: already captured");
    try {
        // Capture must not happen on the default stream; the side stream waits for earlier work.
        at::cuda::CUDAStream previous = at::cuda::getCurrentCUDAStream();
        at::cuda::CUDAStream side = at::cuda::getStreamFromPool();
        previous.synchronize();
        {
            c10::cuda::CUDAStreamGuard guard(side);
            for (int i = 0; i < warmup; ++i) step();
            side.synchronize();
            impl_->graph.capture_begin();
            step();
            impl_->graph.capture_end();
            side.synchronize();
        }
        impl_->captured = true;
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(Errc::runtime, fmt::format("CUDA graph capture failed: {}", e.what()));
    }
}

void CudaGraph::replay() {
    if (!impl_->captured) throw Error(Errc::runtime, "CUDA graph: replay before capture");
    impl_->graph.replay();
}

#else

struct CudaGraph::Impl {
    bool captured = false;
};

bool CudaGraph::available(const c10::Device&) { return false; }

void CudaGraph::capture(const std::function<void()>&, int) {
    throw Error(Errc::unsupported, "CUDA graphs: this build's LibTorch has no CUDA");
}

void CudaGraph::replay() { throw Error(Errc::unsupported, "CUDA graphs: this build's LibTorch has no CUDA"); }

#endif

CudaGraph::CudaGraph() : impl_(std::make_unique<Impl>()) {}
CudaGraph::~CudaGraph() = default;
bool CudaGraph::captured() const { return impl_->captured; }

}  // namespace troupe
