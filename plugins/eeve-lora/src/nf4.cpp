#include "nf4.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

namespace troupe::llama {

const std::array<float, 16> kNf4Codebook = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};

namespace {

at::Tensor codebook_tensor() {
    return at::from_blob(const_cast<float*>(kNf4Codebook.data()), {16}, at::kFloat).clone();
}

// Index of the nearest entry of a sorted code, ties to the lower entry (x > midpoint → upper).
at::Tensor nearest_code(const at::Tensor& x, const at::Tensor& sorted_code) {
    at::Tensor mids = (sorted_code.slice(0, 0, -1) + sorted_code.slice(0, 1)) / 2;
    return at::bucketize(x.contiguous(), mids.to(x.device()), /*out_int32=*/false, /*right=*/false);
}

// Pads the flattened tensor to a multiple of `block` and returns it as [blocks, block].
at::Tensor as_blocks(const at::Tensor& flat, int64_t block) {
    const int64_t n = flat.numel();
    const int64_t blocks = (n + block - 1) / block;
    if (blocks * block == n) return flat.view({blocks, block});
    return at::constant_pad_nd(flat, {0, blocks * block - n}, 0).view({blocks, block});
}

[[noreturn]] void bad(const st::Checkpoint& ckpt, const std::string& name, const std::string& what) {
    const std::string file = ckpt.contains(name) ? ckpt.file_of(name) : ckpt.description();
    throw Error(Errc::invalid_file, fmt::format("{}: tensor \"{}\": {}", file, name, what));
}

at::ScalarType dtype_from_name(const std::string& s) {
    if (s == "bfloat16") return at::kBFloat16;
    if (s == "float16") return at::kHalf;
    if (s == "float32") return at::kFloat;
    throw Error(Errc::invalid_file, fmt::format("unknown dtype \"{}\"", s));
}
const char* dtype_name(at::ScalarType t) {
    switch (t) {
        case at::kBFloat16: return "bfloat16";
        case at::kHalf: return "float16";
        default: return "float32";
    }
}

}  // namespace

at::Tensor dynamic_map_signed() {
    // create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8), float32 as torch computes it.
    std::vector<float> data;
    const int max_exp = 7, non_sign_bits = 7;
    for (int i = 0; i < max_exp; ++i) {
        const int64_t items = (int64_t(1) << (i + non_sign_bits - max_exp)) + 1;
        at::Tensor b = at::linspace(0.1, 1.0, items, at::kFloat);
        at::Tensor means = (b.slice(0, 0, -1) + b.slice(0, 1)) / 2.0;
        const double scale = std::pow(10.0, -(max_exp - 1) + i);
        at::Tensor pos = (means * scale).contiguous(), neg = (means * -scale).contiguous();
        for (int64_t k = 0; k < pos.numel(); ++k) data.push_back(pos.data_ptr<float>()[k]);
        for (int64_t k = 0; k < neg.numel(); ++k) data.push_back(neg.data_ptr<float>()[k]);
    }
    data.push_back(0.0f);
    data.push_back(1.0f);
    while (data.size() < 256) data.push_back(0.0f);
    std::sort(data.begin(), data.end());
    return at::from_blob(data.data(), {256}, at::kFloat).clone();
}

int64_t Nf4Weight::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

at::Tensor Nf4Weight::scales() const {
    if (!nested) return absmax.to(at::kFloat);
    at::Tensor codes = absmax.to(at::kLong);
    at::Tensor vals = nested_quant_map.to(absmax.device()).index_select(0, codes.flatten());
    const int64_t n = vals.numel();
    at::Tensor blocks = as_blocks(vals, nested_blocksize) * nested_absmax.to(at::kFloat).view({-1, 1});
    return blocks.flatten().slice(0, 0, n) + static_cast<float>(nested_offset);
}

at::Tensor Nf4Weight::dequantize(at::ScalarType out_dtype) const {
    const int64_t n = numel();
    at::Tensor bytes = packed.flatten();
    at::Tensor hi = at::bitwise_right_shift(bytes, 4);
    at::Tensor lo = at::bitwise_and(bytes, 15);
    at::Tensor codes = at::stack({hi, lo}, 1).flatten().to(at::kLong);
    at::Tensor vals = quant_map.to(bytes.device(), at::kFloat).index_select(0, codes);
    at::Tensor blocks = as_blocks(vals.slice(0, 0, std::min<int64_t>(vals.numel(), (n + blocksize - 1) / blocksize * blocksize)),
                                  blocksize);
    at::Tensor w = (blocks * scales().view({-1, 1})).flatten().slice(0, 0, n);
    return w.to(out_dtype).view(shape);
}

Nf4Weight Nf4Weight::to(const at::Device& device) const {
    Nf4Weight w = *this;
    w.packed = packed.to(device);
    w.absmax = absmax.to(device);
    w.quant_map = quant_map.to(device);
    if (nested) {
        w.nested_absmax = nested_absmax.to(device);
        w.nested_quant_map = nested_quant_map.to(device);
    }
    return w;
}

int64_t Nf4Weight::nbytes() const {
    int64_t b = packed.numel() + absmax.numel() * absmax.element_size() + 16 * 4;
    if (nested) b += nested_absmax.numel() * 4 + 256 * 4;
    return b;
}

Nf4Weight quantize_nf4(const at::Tensor& weight, int64_t blocksize, bool double_quant) {
    if (blocksize < 64 || (blocksize & (blocksize - 1)) != 0 || blocksize > 4096)
        throw Error(Errc::invalid_argument, fmt::format("NF4 blocksize {} must be a power of two in 64..4096", blocksize));
    Nf4Weight q;
    q.blocksize = blocksize;
    q.shape = weight.sizes().vec();
    q.dtype = weight.scalar_type();
    const int64_t n = weight.numel();
    at::Tensor blocks = as_blocks(weight.detach().flatten().to(at::kFloat), blocksize);
    at::Tensor absmax = std::get<0>(blocks.abs().max(1));
    at::Tensor safe = at::where(absmax > 0, absmax, at::ones_like(absmax));
    at::Tensor normed = blocks / safe.view({-1, 1});
    at::Tensor code = codebook_tensor().to(weight.device());
    at::Tensor codes = nearest_code(normed, code).flatten().slice(0, 0, n);
    if (n % 2) codes = at::constant_pad_nd(codes, {0, 1}, 7);  // pad with the code of 0.0
    codes = codes.to(at::kByte).view({-1, 2});
    at::Tensor hi = codes.select(1, 0), lo = codes.select(1, 1);
    q.packed = at::bitwise_or(at::bitwise_left_shift(hi, 4), lo).contiguous();
    q.quant_map = code;
    if (!double_quant) {
        q.absmax = absmax.contiguous();
        return q;
    }
    q.nested = true;
    q.nested_offset = absmax.mean().item<double>();
    at::Tensor centered = absmax - static_cast<float>(q.nested_offset);
    const int64_t nb = centered.numel();
    at::Tensor nblocks = as_blocks(centered, q.nested_blocksize);
    at::Tensor nabs = std::get<0>(nblocks.abs().max(1));
    at::Tensor nsafe = at::where(nabs > 0, nabs, at::ones_like(nabs));
    at::Tensor dmap = dynamic_map_signed().to(weight.device());
    at::Tensor ncodes = nearest_code(nblocks / nsafe.view({-1, 1}), dmap).flatten().slice(0, 0, nb);
    q.absmax = ncodes.to(at::kByte).contiguous();
    q.nested_absmax = nabs.contiguous();
    q.nested_quant_map = dmap;
    return q;
}

bool is_bnb_quantized(const st::Checkpoint& ckpt, const std::string& module) {
    return ckpt.contains(module + ".weight.quant_state.bitsandbytes__nf4") ||
           ckpt.contains(module + ".weight.quant_state.bitsandbytes__fp4");
}

Nf4Weight load_bnb_nf4(const st::Checkpoint& ckpt, const std::string& module) {
    const std::string w = module + ".weight";
    if (ckpt.contains(w + ".quant_state.bitsandbytes__fp4"))
        throw Error(Errc::unsupported, fmt::format("{}: tensor \"{}\" is bitsandbytes FP4; only NF4 is supported",
                                                   ckpt.file_of(w + ".quant_state.bitsandbytes__fp4"), w));
    const std::string qs_name = w + ".quant_state.bitsandbytes__nf4";
    for (const std::string& need : {w, qs_name, w + ".absmax", w + ".quant_map"})
        if (!ckpt.contains(need)) bad(ckpt, need, "missing (incomplete bitsandbytes 4-bit tensor)");
    at::Tensor qs_bytes = ckpt.tensor(qs_name);
    if (qs_bytes.scalar_type() != at::kByte) bad(ckpt, qs_name, "must be U8 (packed JSON)");
    qs_bytes = qs_bytes.contiguous();
    const std::string qs_text(reinterpret_cast<const char*>(qs_bytes.data_ptr<uint8_t>()), qs_bytes.numel());
    nlohmann::json qs;
    try {
        qs = nlohmann::json::parse(qs_text);
    } catch (const std::exception& e) {
        bad(ckpt, qs_name, fmt::format("malformed quant_state JSON ({})", e.what()));
    }
    Nf4Weight q;
    try {
        if (qs.value("quant_type", std::string()) != "nf4") bad(ckpt, qs_name, "quant_type is not nf4");
        q.blocksize = qs.at("blocksize").get<int64_t>();
        q.shape = qs.at("shape").get<std::vector<int64_t>>();
        q.dtype = dtype_from_name(qs.value("dtype", std::string("float32")));
        if (qs.contains("nested_blocksize")) {
            q.nested = true;
            q.nested_blocksize = qs.at("nested_blocksize").get<int64_t>();
            q.nested_offset = qs.at("nested_offset").get<double>();
        }
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        bad(ckpt, qs_name, fmt::format("bad quant_state ({})", e.what()));
    }
    if (q.blocksize <= 0 || q.nested_blocksize <= 0) bad(ckpt, qs_name, "blocksize must be positive");
    const int64_t n = q.numel();
    if (n <= 0) bad(ckpt, qs_name, "shape must be non-empty");
    const int64_t blocks = (n + q.blocksize - 1) / q.blocksize;
    q.packed = ckpt.tensor(w);
    if (q.packed.scalar_type() != at::kByte || q.packed.numel() != (n + 1) / 2)
        bad(ckpt, w, fmt::format("expected {} U8 bytes of packed NF4 codes", (n + 1) / 2));
    q.packed = q.packed.flatten();
    q.absmax = ckpt.tensor(w + ".absmax").flatten();
    if (q.absmax.numel() != blocks) bad(ckpt, w + ".absmax", fmt::format("expected {} block scales", blocks));
    q.quant_map = ckpt.tensor(w + ".quant_map").to(at::kFloat).flatten();
    if (q.quant_map.numel() != 16) bad(ckpt, w + ".quant_map", "expected 16 values");
    if (q.nested) {
        if (q.absmax.scalar_type() != at::kByte) bad(ckpt, w + ".absmax", "must be U8 codes with double quantization");
        for (const std::string& need : {w + ".nested_absmax", w + ".nested_quant_map"})
            if (!ckpt.contains(need)) bad(ckpt, need, "missing (double-quantized tensor)");
        q.nested_absmax = ckpt.tensor(w + ".nested_absmax").to(at::kFloat).flatten();
        q.nested_quant_map = ckpt.tensor(w + ".nested_quant_map").to(at::kFloat).flatten();
        if (q.nested_absmax.numel() != (blocks + q.nested_blocksize - 1) / q.nested_blocksize)
            bad(ckpt, w + ".nested_absmax", "wrong number of nested scales");
        if (q.nested_quant_map.numel() != 256) bad(ckpt, w + ".nested_quant_map", "expected 256 values");
    } else {
        q.absmax = q.absmax.to(at::kFloat);
    }
    return q;
}

std::vector<std::pair<std::string, at::Tensor>> bnb_nf4_tensors(const Nf4Weight& q, const std::string& module) {
    const std::string w = module + ".weight";
    nlohmann::json qs = {{"quant_type", "nf4"},
                         {"blocksize", q.blocksize},
                         {"dtype", dtype_name(q.dtype)},
                         {"shape", q.shape}};
    std::vector<std::pair<std::string, at::Tensor>> out = {
        {w, q.packed.view({-1, 1})}, {w + ".absmax", q.absmax}, {w + ".quant_map", q.quant_map}};
    if (q.nested) {
        qs["nested_blocksize"] = q.nested_blocksize;
        qs["nested_dtype"] = "float32";
        qs["nested_offset"] = q.nested_offset;
        out.emplace_back(w + ".nested_absmax", q.nested_absmax);
        out.emplace_back(w + ".nested_quant_map", q.nested_quant_map);
    }
    const std::string text = qs.dump();
    at::Tensor bytes = at::empty({int64_t(text.size())}, at::kByte);
    std::memcpy(bytes.data_ptr<uint8_t>(), text.data(), text.size());
    out.emplace_back(w + ".quant_state.bitsandbytes__nf4", bytes);
    return out;
}

}  // namespace troupe::llama
