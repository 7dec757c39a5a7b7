// nf4.hpp — bitsandbytes NF4 4-bit weights: quantize at load, dequantize for the GEMM, and the
// pre-quantized checkpoint layout (weight + weight.absmax/quant_map/nested_*/quant_state.*).
#pragma once

#include <ATen/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace troupe::st {
class Checkpoint;
}

namespace troupe::llama {

/// The 16 NF4 values (bitsandbytes create_normal_map(0.9677083, use_extra_value=True)).
extern const std::array<float, 16> kNf4Codebook;

/// bitsandbytes create_dynamic_map(signed=True): the 256-entry 8-bit map of double quantization.
at::Tensor dynamic_map_signed();

/// A 4-bit NF4 weight. Element i of the flattened (row-major) weight sits in byte i/2, high nibble
/// for even i; block b (`blocksize` elements) has scale absmax[b].
struct Nf4Weight {
    at::Tensor packed;            // uint8 [(n+1)/2]
    at::Tensor absmax;            // float32 [blocks], or uint8 codes when nested
    at::Tensor quant_map;         // float32 [16]
    bool nested = false;          // double quantization of absmax
    at::Tensor nested_absmax;     // float32 [ceil(blocks/nested_blocksize)]
    at::Tensor nested_quant_map;  // float32 [256]
    double nested_offset = 0.0;
    int64_t nested_blocksize = 256;
    int64_t blocksize = 64;
    std::vector<int64_t> shape;   // original shape, e.g. [out, in]
    at::ScalarType dtype = at::kFloat;  // original dtype

    int64_t numel() const;
    /// Per-block scales as float32 (undoes double quantization).
    at::Tensor scales() const;
    /// The weight in `out_dtype` on the packed tensor's device, shape `shape`.
    at::Tensor dequantize(at::ScalarType out_dtype) const;
    Nf4Weight to(const at::Device& device) const;
    /// Bytes held (packed codes + scales).
    int64_t nbytes() const;
};

/// Blockwise NF4 quantization as bitsandbytes quantize_4bit: absmax per block, nearest code
/// (ties to the lower code), optional double quantization (offset = mean(absmax), 8-bit dynamic
/// map in blocks of 256). Works on CPU or CUDA tensors of any float dtype.
Nf4Weight quantize_nf4(const at::Tensor& weight, int64_t blocksize = 64, bool double_quant = true);

/// True if the checkpoint stores `module`.weight as a bitsandbytes 4-bit tensor.
bool is_bnb_quantized(const st::Checkpoint& ckpt, const std::string& module);
/// Reads `module`.weight and its sidecars (absmax, quant_map, nested_*, quant_state.bitsandbytes__nf4).
/// Throws Error naming the file and tensor for anything inconsistent (fp4, bad sizes, bad JSON).
Nf4Weight load_bnb_nf4(const st::Checkpoint& ckpt, const std::string& module);
/// The tensors transformers' save_pretrained writes for a 4-bit linear `module` (for tests/export).
std::vector<std::pair<std::string, at::Tensor>> bnb_nf4_tensors(const Nf4Weight& w, const std::string& module);

}  // namespace troupe::llama
