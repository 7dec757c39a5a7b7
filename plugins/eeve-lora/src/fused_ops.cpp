#include "fused_ops.hpp"

#include "model.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>

#include <cstdint>

#ifdef TROUPE_FUSED_CUDA
#include "fused_ops_kernels.cuh"

#include <ATen/cuda/CUDAContext.h>
#endif

namespace troupe::llama {

#ifdef TROUPE_FUSED_CUDA

namespace {

int dtype_code(at::ScalarType t) {
    switch (t) {
    case at::kFloat: return 0;
    case at::kHalf: return 1;
    case at::kBFloat16: return 2;
    default: return -1;
    }
}

bool aligned16(const at::Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0; }

}  // namespace

bool nf4_gemv_supported(const Nf4Weight& w, const at::Tensor& x) {
    if (!x.is_cuda() || w.shape.size() != 2 || !w.packed.is_cuda() || dtype_code(x.scalar_type()) < 0) return false;
    const int64_t in = w.shape[1];
    if (x.size(-1) != in || x.numel() != in || in % 32 != 0 || w.blocksize % 32 != 0) return false;
    return w.packed.is_contiguous() && aligned16(w.packed);
}

at::Tensor nf4_gemv(const Nf4Weight& w, const at::Tensor& scales, const at::Tensor& x_in) {
    if (!nf4_gemv_supported(w, x_in)) throw Error(Errc::runtime, "nf4_gemv: unsupported input");
    at::Tensor x = x_in.contiguous();
    if (!aligned16(x)) x = x.clone();
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = w.shape[0];
    at::Tensor y = at::empty(shape, x.options());
    cuda::nf4_gemv(w.packed.data_ptr<uint8_t>(), scales.data_ptr<float>(), w.quant_map.data_ptr<float>(), x.data_ptr(),
                   y.data_ptr(), w.shape[0], w.shape[1], w.blocksize, dtype_code(x.scalar_type()),
                   at::cuda::getCurrentCUDAStream());
    return y;
}

bool rms_norm_supported(const at::Tensor& x, const at::Tensor& weight) {
    return x.is_cuda() && x.dim() >= 1 && x.is_contiguous() && weight.is_contiguous() &&
           weight.scalar_type() == x.scalar_type() && weight.numel() == x.size(-1) && dtype_code(x.scalar_type()) >= 0;
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
    if (!rms_norm_supported(x, weight)) throw Error(Errc::runtime, "rms_norm: unsupported input");
    at::Tensor out = at::empty_like(x);
    const int64_t n = x.size(-1);
    cuda::rms_norm(x.data_ptr(), weight.data_ptr(), out.data_ptr(), x.numel() / n, n, static_cast<float>(eps),
                   dtype_code(x.scalar_type()), at::cuda::getCurrentCUDAStream());
    return out;
}

bool lora_add_supported(const at::Tensor& x, const LoraWeights& lora, const at::Tensor& y) {
    if (!x.is_cuda() || !lora.defined() || lora.A.scalar_type() != at::kFloat || lora.B.scalar_type() != at::kFloat)
        return false;
    const int64_t r = lora.A.size(0);
    return r <= 64 && x.numel() == lora.A.size(1) && y.numel() == lora.B.size(0) && lora.B.size(1) == r &&
           x.scalar_type() == y.scalar_type() && dtype_code(x.scalar_type()) >= 0 && x.is_contiguous() &&
           y.is_contiguous() && lora.A.is_contiguous() && lora.B.is_contiguous();
}

at::Tensor lora_add(const at::Tensor& x, const LoraWeights& lora, const at::Tensor& y) {
    if (!lora_add_supported(x, lora, y)) throw Error(Errc::runtime, "lora_add: unsupported input");
    const int64_t r = lora.A.size(0);
    at::Tensor t = at::empty({r}, lora.A.options());
    at::Tensor out = at::empty_like(y);
    cuda::lora_add(x.data_ptr(), lora.A.data_ptr<float>(), lora.B.data_ptr<float>(), y.data_ptr(), out.data_ptr(),
                   t.data_ptr<float>(), r, lora.A.size(1), lora.B.size(0), static_cast<float>(lora.scaling),
                   dtype_code(x.scalar_type()), at::cuda::getCurrentCUDAStream());
    return out;
}

bool rope_supported(const at::Tensor& q, const at::Tensor& k, const at::Tensor& cos, const at::Tensor& sin) {
    if (!q.is_cuda() || q.dim() != 4 || k.dim() != 4 || q.size(0) != 1 || q.size(2) != 1 || k.size(0) != 1 ||
        k.size(2) != 1)
        return false;
    const int64_t d = q.size(3);
    const auto t = q.scalar_type();
    return d % 2 == 0 && k.size(3) == d && cos.numel() == d && sin.numel() == d && k.scalar_type() == t &&
           cos.scalar_type() == t && sin.scalar_type() == t && dtype_code(t) >= 0 && q.is_contiguous() &&
           k.is_contiguous() && cos.is_contiguous() && sin.is_contiguous();
}

std::pair<at::Tensor, at::Tensor> rope(const at::Tensor& q, const at::Tensor& k, const at::Tensor& cos,
                                       const at::Tensor& sin) {
    if (!rope_supported(q, k, cos, sin)) throw Error(Errc::runtime, "rope: unsupported input");
    at::Tensor qo = at::empty_like(q), ko = at::empty_like(k);
    cuda::rope(q.data_ptr(), k.data_ptr(), cos.data_ptr(), sin.data_ptr(), qo.data_ptr(), ko.data_ptr(), q.size(1),
               k.size(1), q.size(3), dtype_code(q.scalar_type()), at::cuda::getCurrentCUDAStream());
    return {qo, ko};
}

#else

bool nf4_gemv_supported(const Nf4Weight&, const at::Tensor&) { return false; }
at::Tensor nf4_gemv(const Nf4Weight&, const at::Tensor&, const at::Tensor&) {
    throw Error(Errc::unsupported, "nf4_gemv: this build has no CUDA kernels");
}
bool rms_norm_supported(const at::Tensor&, const at::Tensor&) { return false; }
at::Tensor rms_norm(const at::Tensor&, const at::Tensor&, double) {
    throw Error(Errc::unsupported, "rms_norm: this build has no CUDA kernels");
}
bool lora_add_supported(const at::Tensor&, const LoraWeights&, const at::Tensor&) { return false; }
at::Tensor lora_add(const at::Tensor&, const LoraWeights&, const at::Tensor&) {
    throw Error(Errc::unsupported, "lora_add: this build has no CUDA kernels");
}
bool rope_supported(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&) { return false; }
std::pair<at::Tensor, at::Tensor> rope(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&) {
    throw Error(Errc::unsupported, "rope: this build has no CUDA kernels");
}

#endif

}  // namespace troupe::llama
