#include "nf4_gemv.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>

#include <cstdint>

#ifdef TROUPE_NF4_CUDA
#include "nf4_gemv_kernel.cuh"

#include <ATen/cuda/CUDAContext.h>
#endif

namespace troupe::llama {

#ifdef TROUPE_NF4_CUDA

bool nf4_gemv_supported(const Nf4Weight& w, const at::Tensor& x) {
    if (!x.is_cuda() || w.shape.size() != 2 || !w.packed.is_cuda()) return false;
    const int64_t in = w.shape[1];
    if (x.size(-1) != in || x.numel() != in || in % 32 != 0 || w.blocksize % 32 != 0) return false;
    if (reinterpret_cast<uintptr_t>(w.packed.data_ptr()) % 16 != 0 || !w.packed.is_contiguous()) return false;
    const auto t = x.scalar_type();
    return t == at::kFloat || t == at::kBFloat16 || t == at::kHalf;
}

at::Tensor nf4_gemv(const Nf4Weight& w, const at::Tensor& scales, const at::Tensor& x_in) {
    if (!nf4_gemv_supported(w, x_in)) throw Error(Errc::runtime, "nf4_gemv: unsupported input");
    at::Tensor x = x_in.contiguous();
    if (reinterpret_cast<uintptr_t>(x.data_ptr()) % 16 != 0) x = x.clone();
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = w.shape[0];
    at::Tensor y = at::empty(shape, x.options());
    const int dtype = x.scalar_type() == at::kFloat ? 0 : x.scalar_type() == at::kHalf ? 1 : 2;
    cuda::nf4_gemv(w.packed.data_ptr<uint8_t>(), scales.data_ptr<float>(), w.quant_map.data_ptr<float>(),
                   x.data_ptr(), y.data_ptr(), w.shape[0], w.shape[1], w.blocksize, dtype,
                   at::cuda::getCurrentCUDAStream());
    return y;
}

#else

bool nf4_gemv_supported(const Nf4Weight&, const at::Tensor&) { return false; }

at::Tensor nf4_gemv(const Nf4Weight&, const at::Tensor&, const at::Tensor&) {
    throw Error(Errc::unsupported, "nf4_gemv: this build has no CUDA kernels");
}

#endif

}  // namespace troupe::llama
