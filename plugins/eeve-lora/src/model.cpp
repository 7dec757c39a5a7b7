#include "model.hpp"

#include "adapter.hpp"
#include "arch.hpp"
#include "fused_ops.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace troupe::llama {

namespace {

std::string shape_str(at::IntArrayRef s) { return fmt::format("[{}]", fmt::join(s.vec(), ", ")); }

/// The adapter's LoRA pair for projection `p` of `layer`, or null.
const LoraWeights* lora_of(const Adapter* adapter, int64_t layer, arch::Proj p) {
    return adapter ? adapter->for_linear(layer * arch::kProjCount + static_cast<int>(p)) : nullptr;
}

/// Moves dense, bias-free weights of one dtype into one [Σ out, in] buffer; each keeps a row-block view.
void share_buffer(const std::vector<Linear*>& ls) {
    std::vector<at::Tensor> ws;
    for (const Linear* l : ls) {
        if (l->nf4 || !l->weight.defined() || l->bias.defined() || l->weight.scalar_type() != ls[0]->weight.scalar_type() ||
            l->in != ls[0]->in)
            return;
        ws.push_back(l->weight);
    }
    const at::Tensor all = at::cat(ws, 0);
    int64_t row = 0;
    for (Linear* l : ls) {
        l->weight = all.narrow(0, row, l->out);
        row += l->out;
    }
}

at::Tensor rotate_half(const at::Tensor& x) {
    const int64_t half = x.size(-1) / 2;
    return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

at::Device parse_device(const std::string& text) {
    if (text.empty() || text == "cpu") return at::Device(at::kCPU);
    if (text.rfind("cuda", 0) == 0) {
        if (!at::hasCUDA())
            throw Error(Errc::invalid_argument, fmt::format("device \"{}\": this build or machine has no CUDA", text));
        try {
            return at::Device(text);
        } catch (const std::exception&) {
        }
    }
    throw Error(Errc::invalid_argument, fmt::format("device \"{}\" is not one of cpu, cuda, cuda:N", text));
}

at::ScalarType parse_dtype(const std::string& text) {
    if (text == "float32" || text == "fp32" || text == "f32") return at::kFloat;
    if (text == "bfloat16" || text == "bf16") return at::kBFloat16;
    if (text == "float16" || text == "fp16" || text == "f16" || text == "half") return at::kHalf;
    throw Error(Errc::invalid_argument, fmt::format("dtype \"{}\" is not one of float32, bfloat16, float16", text));
}

at::Tensor Trace::get(const std::string& name) const {
    for (const auto& [n, t] : items)
        if (n == name) return t;
    return {};
}

at::Tensor Linear::dense(at::ScalarType dtype) const {
    if (nf4) return nf4->dequantize(dtype);
    return weight.scalar_type() == dtype ? weight : weight.to(dtype);
}

at::Tensor Linear::forward(const at::Tensor& x, const LoraWeights* lora) const {
    if (!c10::GradMode::is_enabled() && group_linear_supported({this}, {lora}, x))
        return group_linear({this}, {lora}, x);  // one row on CUDA: fused GEMV (+ LoRA)
    at::Tensor y = nf4 ? at::linear(x, nf4->dequantize(x.scalar_type()), bias) : at::linear(x, weight, bias);
    if (lora && lora->defined()) {
        at::Tensor xl = x.scalar_type() == lora->A.scalar_type() ? x : x.to(lora->A.scalar_type());
        at::Tensor delta = at::linear(at::linear(xl, lora->A), lora->B) * lora->scaling;
        y = (y + delta).to(x.scalar_type());
    }
    return y;
}

const Linear& Model::linear(int64_t index) const {
    if (index < 0 || index >= linear_count())
        throw Error(Errc::invalid_argument, fmt::format("linear index {} out of range", index));
    return layers_[index / arch::kProjCount].proj[index % arch::kProjCount];
}

int64_t Model::linear_index(const std::string& module) const {
    const std::string prefix = "model.layers.";
    if (module.rfind(prefix, 0) != 0) return -1;
    size_t pos = prefix.size();
    size_t dot = module.find('.', pos);
    if (dot == std::string::npos || dot == pos) return -1;
    int64_t layer = 0;
    for (size_t i = pos; i < dot; ++i) {
        if (module[i] < '0' || module[i] > '9') return -1;
        layer = layer * 10 + (module[i] - '0');
        if (layer > (1 << 20)) return -1;
    }
    if (layer >= static_cast<int64_t>(layers_.size())) return -1;
    const std::string rest = module.substr(dot + 1);
    for (int p = 0; p < arch::kProjCount; ++p)
        if (rest == arch::proj_path(static_cast<arch::Proj>(p))) return layer * arch::kProjCount + p;
    return -1;
}

int64_t Model::weight_bytes() const {
    auto bytes = [](const at::Tensor& t) { return t.defined() ? t.numel() * int64_t(t.element_size()) : 0; };
    int64_t total = bytes(embed_tokens_) + bytes(final_norm_);
    if (!lm_head_.weight.is_same(embed_tokens_)) total += bytes(lm_head_.weight);
    for (const Layer& l : layers_) {
        total += bytes(l.input_norm) + bytes(l.post_attention_norm);
        for (const Linear& lin : l.proj) total += (lin.nf4 ? lin.nf4->nbytes() : bytes(lin.weight)) + bytes(lin.bias);
    }
    return total;
}

std::string Model::describe() const {
    return fmt::format("{} ({}, {}{})", config_.dir, c10::toString(dtype_), device_.str(),
                       quantized_ ? ", " + quant_desc_ : std::string());
}

Model Model::load(const std::string& dir, const LoadOptions& options) {
    Model m;
    m.config_ = load_config(dir);
    const LlamaConfig& c = m.config_;
    m.device_ = parse_device(options.device);
    const st::Checkpoint ckpt = st::Checkpoint::open_dir(dir);

    std::string dtype_text = options.dtype;
    if (dtype_text.empty() && c.quantization && !c.quantization->compute_dtype.empty())
        dtype_text = c.quantization->compute_dtype;
    if (dtype_text.empty()) dtype_text = c.torch_dtype;
    if (dtype_text.empty() || dtype_text == "auto") {
        dtype_text = "float32";
        if (ckpt.contains(arch::kEmbed)) {
            const std::string& d = ckpt.info(arch::kEmbed).dtype;
            dtype_text = d == "BF16" ? "bfloat16" : d == "F16" ? "float16" : "float32";
        }
    }
    m.dtype_ = parse_dtype(dtype_text);
    if (m.dtype_ == at::kHalf && m.device_.is_cpu() && TORCH_VERSION_MAJOR < 2)
        throw Error(Errc::invalid_argument,
                    "float16 matmuls are not available on CPU in this LibTorch; use float32 or bfloat16");
    if (options.quantize != "none" && options.quantize != "nf4" && !options.quantize.empty())
        throw Error(Errc::invalid_argument, fmt::format("quantize \"{}\" is not one of none, nf4", options.quantize));
    const bool quantize_now = options.quantize == "nf4";
    m.nf4_options_ = options;

    auto fetch = [&](const std::string& name, std::vector<int64_t> expected) -> at::Tensor {
        if (!ckpt.contains(name))
            throw Error(Errc::invalid_file, fmt::format("{}: missing tensor \"{}\"", ckpt.description(), name));
        const st::TensorInfo& info = ckpt.info(name);
        if (info.shape != expected)
            throw Error(Errc::invalid_file,
                        fmt::format("{}: tensor \"{}\" has shape {}, expected {} from {}/config.json",
                                    ckpt.file_of(name), name, shape_str(info.shape), shape_str(expected), dir));
        if (info.dtype != "F32" && info.dtype != "BF16" && info.dtype != "F16")
            throw Error(Errc::invalid_file, fmt::format("{}: tensor \"{}\" has dtype {}, expected F32, BF16 or F16",
                                                        ckpt.file_of(name), name, info.dtype));
        return ckpt.tensor(name).to(m.device_, m.dtype_);
    };

    m.embed_tokens_ = fetch(arch::kEmbed, {c.vocab_size, c.hidden_size});
    m.final_norm_ = fetch(arch::kFinalNorm, {c.hidden_size});
    m.lm_head_.module = arch::kLmHeadModule;
    m.lm_head_.in = c.hidden_size;
    m.lm_head_.out = c.vocab_size;
    if (ckpt.contains(arch::kLmHead) || !c.tie_word_embeddings)
        m.lm_head_.weight = fetch(arch::kLmHead, {c.vocab_size, c.hidden_size});
    else
        m.lm_head_.weight = m.embed_tokens_;

    const std::vector<std::pair<int64_t, int64_t>> dims = {
        {c.q_dim(), c.hidden_size},          {c.kv_dim(), c.hidden_size},
        {c.kv_dim(), c.hidden_size},         {c.hidden_size, c.q_dim()},
        {c.intermediate_size, c.hidden_size}, {c.intermediate_size, c.hidden_size},
        {c.hidden_size, c.intermediate_size}};
    m.layers_.resize(c.num_layers);
    for (int64_t i = 0; i < c.num_layers; ++i) {
        Layer& L = m.layers_[i];
        L.input_norm = fetch(arch::input_norm(i), {c.hidden_size});
        L.post_attention_norm = fetch(arch::post_attention_norm(i), {c.hidden_size});
        L.proj.resize(arch::kProjCount);
        for (int p = 0; p < arch::kProjCount; ++p) {
            Linear& lin = L.proj[p];
            lin.module = arch::linear_module(i, static_cast<arch::Proj>(p));
            lin.out = dims[p].first;
            lin.in = dims[p].second;
            const bool attn = p <= static_cast<int>(arch::Proj::o);
            if ((attn && c.attention_bias) || (!attn && c.mlp_bias))
                lin.bias = fetch(lin.module + ".bias", {lin.out});
            if (is_bnb_quantized(ckpt, lin.module)) {
                Nf4Weight q = load_bnb_nf4(ckpt, lin.module);
                if (q.shape != std::vector<int64_t>{lin.out, lin.in})
                    throw Error(Errc::invalid_file,
                                fmt::format("{}: tensor \"{}.weight\" quant_state shape {} != expected {}",
                                            ckpt.file_of(lin.module + ".weight"), lin.module, shape_str(q.shape),
                                            shape_str({lin.out, lin.in})));
                lin.nf4 = std::make_shared<Nf4Weight>(q.to(m.device_));
                m.quantized_ = true;
                m.quant_desc_ = fmt::format("nf4 (pre-quantized, blocksize {}{})", q.blocksize,
                                            q.nested ? ", double quant" : "");
            } else if (quantize_now) {
                at::Tensor w = fetch(lin.module + ".weight", {lin.out, lin.in});
                lin.nf4 = std::make_shared<Nf4Weight>(quantize_nf4(w, options.nf4_blocksize, options.double_quant));
                m.quantized_ = true;
                m.quant_desc_ = fmt::format("nf4 (blocksize {}{})", options.nf4_blocksize,
                                            options.double_quant ? ", double quant" : "");
            } else {
                lin.weight = fetch(lin.module + ".weight", {lin.out, lin.in});
            }
        }
    }
    if (m.device_.is_cuda())
        for (Layer& L : m.layers_) {
            for (Linear& lin : L.proj)
                if (lin.nf4) lin.nf4_scales = lin.nf4->scales().contiguous();
            // q|k|v and gate|up as row blocks of one buffer each, so prefill runs one GEMM per group.
            share_buffer({&L.proj[0], &L.proj[1], &L.proj[2]});
            share_buffer({&L.proj[4], &L.proj[5]});
        }
    // inv_freq[j] = 1 / theta^(2j / head_dim), float32 as transformers computes it.
    at::Tensor exps = at::arange(0, c.head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(c.head_dim);
    m.inv_freq_ = (1.0 / at::pow(c.rope_theta, exps)).to(m.device_);
    return m;
}

at::Tensor Model::embed(const at::Tensor& ids) const { return at::embedding(embed_tokens_, ids); }

std::pair<at::Tensor, at::Tensor> Model::rope(const at::Tensor& positions) const {
    at::Tensor freqs = at::outer(positions.to(at::kFloat), inv_freq_);
    at::Tensor emb = at::cat({freqs, freqs}, -1);
    return {emb.cos().to(dtype_), emb.sin().to(dtype_)};
}

at::Tensor Model::rms_norm(const at::Tensor& x, const at::Tensor& weight) const {
    if (!c10::GradMode::is_enabled() && llama::rms_norm_supported(x, weight))
        return llama::rms_norm(x, weight, config_.rms_norm_eps);
    at::Tensor h = x.to(at::kFloat);
    at::Tensor var = h.pow(2).mean(-1, /*keepdim=*/true);
    h = h * at::rsqrt(var + config_.rms_norm_eps);
    return weight * h.to(x.scalar_type());
}

void KVCache::reserve(int64_t positions) {
    if (positions <= capacity) return;
    const int64_t cap = std::max(positions, capacity * 2);
    auto grow = [&](at::Tensor& t) {
        at::Tensor n = at::zeros({t.size(0), t.size(1), cap, t.size(3)}, t.options());
        n.narrow(2, 0, length).copy_(t.narrow(2, 0, length));
        t = n;
    };
    for (size_t l = 0; l < k.size(); ++l) {
        grow(k[l]);
        grow(v[l]);
    }
    capacity = cap;
}

KVCache Model::new_cache(int64_t batch, int64_t capacity) const {
    KVCache cache;
    cache.capacity = std::max<int64_t>(capacity, 1);
    auto opts = at::TensorOptions().device(device_).dtype(dtype_);
    for (int64_t i = 0; i < config_.num_layers; ++i) {
        cache.k.push_back(at::zeros({batch, config_.num_kv_heads, cache.capacity, config_.head_dim}, opts));
        cache.v.push_back(at::zeros({batch, config_.num_kv_heads, cache.capacity, config_.head_dim}, opts));
    }
    return cache;
}

at::Tensor Model::decoder_layer(int64_t index, const at::Tensor& h, const at::Tensor& cos, const at::Tensor& sin,
                                const at::Tensor& mask, const Adapter* adapter, KVCache* cache) const {
    const LlamaConfig& c = config_;
    const int64_t B = h.size(0), T = h.size(1);
    auto [q, k, v] = attention_inputs(index, h, cos, sin, adapter);

    int64_t past = 0;
    if (cache) {
        past = cache->length;
        cache->reserve(past + T);
        cache->k[index].narrow(2, past, T).copy_(k);
        cache->v[index].narrow(2, past, T).copy_(v);
        k = cache->k[index].narrow(2, 0, past + T);
        v = cache->v[index].narrow(2, 0, past + T);
    }
    const int64_t S = k.size(2);
    const int64_t rep = c.num_heads / c.num_kv_heads;
    if (rep > 1) {
        k = k.unsqueeze(2).expand({B, c.num_kv_heads, rep, S, c.head_dim}).reshape({B, c.num_heads, S, c.head_dim});
        v = v.unsqueeze(2).expand({B, c.num_kv_heads, rep, S, c.head_dim}).reshape({B, c.num_heads, S, c.head_dim});
    }
    at::Tensor attn;
#if TORCH_VERSION_MAJOR >= 2
    if (h.is_cuda()) {
        // An undefined tensor is not "no mask" to SDPA: pass an empty optional instead.
        c10::optional<at::Tensor> bool_mask;
        if (mask.defined()) bool_mask = mask.eq(0);
        attn = at::scaled_dot_product_attention(q, k, v, bool_mask, 0.0, false);
    }
#endif
    if (!attn.defined()) {
        at::Tensor scores = at::matmul(q, k.transpose(2, 3)) * (1.0 / std::sqrt(static_cast<double>(c.head_dim)));
        if (mask.defined()) scores = scores + mask;
        at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
        attn = at::matmul(probs, v);
    }
    return attention_output(index, h, attn.transpose(1, 2).contiguous().reshape({B, T, -1}), adapter);
}

at::Tensor Model::project(int64_t index, int p, const at::Tensor& x, const Adapter* adapter,
                          const std::vector<const Adapter*>* rows) const {
    const Linear& lin = layers_[index].proj[p];
    if (!rows) return lin.forward(x, lora_of(adapter, index, static_cast<arch::Proj>(p)));
    // Gathered LoRA: the base projection for the whole batch, then each adapter's term for its rows.
    at::Tensor y = lin.forward(x);
    std::vector<const Adapter*> done;
    for (size_t r = 0; r < rows->size(); ++r) {
        const Adapter* a = (*rows)[r];
        if (!a || std::find(done.begin(), done.end(), a) != done.end()) continue;
        done.push_back(a);
        const LoraWeights* lw = lora_of(a, index, static_cast<arch::Proj>(p));
        if (!lw || !lw->defined()) continue;
        std::vector<int64_t> picked;
        for (size_t j = r; j < rows->size(); ++j)
            if ((*rows)[j] == a) picked.push_back(static_cast<int64_t>(j));
        if (picked.size() == rows->size()) return lin.forward(x, lw);  // one adapter for every row
        const at::Tensor idx = at::tensor(picked, at::kLong).to(x.device());
        at::Tensor xs = x.index_select(0, idx);
        if (xs.scalar_type() != lw->A.scalar_type()) xs = xs.to(lw->A.scalar_type());
        // As Linear::forward: base + delta summed in the adapter's dtype, then cast back.
        at::Tensor delta = at::linear(at::linear(xs, lw->A), lw->B) * lw->scaling;
        at::Tensor ys = y.index_select(0, idx);
        y.index_copy_(0, idx, (ys.to(delta.scalar_type()) + delta).to(y.scalar_type()));
    }
    return y;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> Model::attention_inputs(int64_t index, const at::Tensor& h,
                                                                       const at::Tensor& cos, const at::Tensor& sin,
                                                                       const Adapter* adapter,
                                                                       const std::vector<const Adapter*>* rows) const {
    const Layer& L = layers_.at(index);
    const int64_t B = h.size(0), T = h.size(1), D = config_.head_dim;
    at::Tensor x = rms_norm(h, L.input_norm);
    at::Tensor q = project(index, 0, x, adapter, rows).view({B, T, -1, D}).transpose(1, 2);
    at::Tensor k = project(index, 1, x, adapter, rows).view({B, T, -1, D}).transpose(1, 2);
    at::Tensor v = project(index, 2, x, adapter, rows).view({B, T, -1, D}).transpose(1, 2);
    q = q * cos + rotate_half(q) * sin;
    k = k * cos + rotate_half(k) * sin;
    return {q, k, v};
}

at::Tensor Model::attention_output(int64_t index, const at::Tensor& h, const at::Tensor& attn,
                                   const Adapter* adapter, const std::vector<const Adapter*>* rows) const {
    const Layer& L = layers_.at(index);
    at::Tensor out = h + project(index, 3, attn, adapter, rows);
    at::Tensor x = rms_norm(out, L.post_attention_norm);
    at::Tensor gate = project(index, 4, x, adapter, rows);
    at::Tensor up = project(index, 5, x, adapter, rows);
    return out + project(index, 6, at::silu(gate) * up, adapter, rows);
}

bool Model::decode_step_fusable(const KVCache& cache, const Adapter* adapter) const {
    const LlamaConfig& c = config_;
    if (c10::GradMode::is_enabled() || !device_.is_cuda() || cache.k.empty()) return false;
    auto probe = [&](int64_t n) { return at::empty({1, 1, n}, at::TensorOptions().dtype(dtype_).device(device_)); };
    const at::Tensor hidden = probe(c.hidden_size), attn = probe(c.q_dim()), ff = probe(c.intermediate_size);
    if (!decode_attention_supported(hidden, cache.k[0], c.head_dim)) return false;
    for (int64_t i = 0; i < c.num_layers; ++i) {
        const Layer& L = layers_[i];
        auto group = [&](std::initializer_list<int> ps, const at::Tensor& x) {
            std::vector<const Linear*> ls;
            std::vector<const LoraWeights*> lws;
            for (int p : ps) ls.push_back(&L.proj[p]), lws.push_back(lora_of(adapter, i, static_cast<arch::Proj>(p)));
            return group_linear_supported(ls, lws, x);
        };
        if (!llama::rms_norm_supported(hidden, L.input_norm) || !llama::rms_norm_supported(hidden, L.post_attention_norm) ||
            !group({0, 1, 2}, hidden) || !group({3}, attn) || !group({4, 5}, hidden) || !group({6}, ff))
            return false;
    }
    return true;
}

at::Tensor Model::decode_step(const at::Tensor& id, const at::Tensor& position, KVCache& cache, const Adapter* adapter,
                              bool fused) const {
    const LlamaConfig& c = config_;
    if (fused) {
        at::Tensor h = embed(id);
        auto [cos, sin] = rope(position);
        const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
        for (int64_t i = 0; i < c.num_layers; ++i) {
            const Layer& L = layers_[i];
            auto lora = [&](arch::Proj p) { return lora_of(adapter, i, p); };
            using P = arch::Proj;
            at::Tensor qkv = group_linear({&L.proj[0], &L.proj[1], &L.proj[2]}, {lora(P::q), lora(P::k), lora(P::v)},
                                          rms_norm(h, L.input_norm));
            at::Tensor q = rope_into_cache(qkv, cos, sin, position, cache.k[i], cache.v[i], c.num_heads, c.head_dim);
            at::Tensor attn = decode_attention(q, cache.k[i], cache.v[i], position, c.num_heads, c.head_dim, scale);
            h = h + group_linear({&L.proj[3]}, {lora(P::o)}, attn);
            at::Tensor gate_up = group_linear({&L.proj[4], &L.proj[5]}, {lora(P::gate), lora(P::up)},
                                              rms_norm(h, L.post_attention_norm));
            h = h + group_linear({&L.proj[6]}, {lora(P::down)}, silu_mul(gate_up));
        }
        return head(h).view({c.vocab_size});
    }
    const int64_t capacity = cache.capacity, D = c.head_dim, groups = c.num_kv_heads;  // plain ATen ops
    const int64_t rep = c.num_heads / c.num_kv_heads;
    at::Tensor h = embed(id);
    auto [cos, sin] = rope(position);
    // Additive mask over the whole cache: keys after `position` are not there yet.
    at::Tensor keys = at::arange(capacity, position.options());
    at::Tensor mask = at::zeros({capacity}, h.options()).masked_fill(keys > position, -std::numeric_limits<double>::infinity());
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    for (int64_t i = 0; i < c.num_layers; ++i) {
        auto [q, k, v] = attention_inputs(i, h, cos, sin, adapter);
        cache.k[i].index_copy_(2, position, k);
        cache.v[i].index_copy_(2, position, v);
        // GQA without repeating K/V: the `rep` query heads of a group attend to its keys together.
        at::Tensor scores = at::matmul(q.reshape({1, groups, rep, D}), cache.k[i].transpose(2, 3)) * scale + mask;
        at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
        at::Tensor attn = at::matmul(probs, cache.v[i]).reshape({1, 1, c.num_heads * D});
        h = attention_output(i, h, attn, adapter);
    }
    return head(h).view({c.vocab_size});
}

at::Tensor Model::decode_rows(const at::Tensor& ids, const at::Tensor& positions, KVCache& cache,
                              const std::vector<const Adapter*>& adapters) const {
    const LlamaConfig& c = config_;
    const int64_t B = ids.size(0);
    if (ids.dim() != 2 || ids.size(1) != 1 || positions.numel() != B || static_cast<int64_t>(adapters.size()) != B ||
        cache.k.empty() || cache.k[0].size(0) != B)
        throw Error(Errc::invalid_argument,
                    fmt::format("decode_rows: ids {} positions {} adapters {} and cache rows must agree on the batch",
                                shape_str(ids.sizes()), shape_str(positions.sizes()), adapters.size()));
    const int64_t capacity = cache.capacity, D = c.head_dim, groups = c.num_kv_heads;
    const int64_t rep = c.num_heads / c.num_kv_heads;
    at::Tensor h = embed(ids);                                             // [B, 1, hidden]
    auto [cos_rows, sin_rows] = rope(positions);                           // [B, D]
    const at::Tensor cos = cos_rows.view({B, 1, 1, D}), sin = sin_rows.view({B, 1, 1, D});
    at::Tensor keys = at::arange(capacity, positions.options()).unsqueeze(0);  // [1, capacity]
    at::Tensor mask = at::zeros({B, 1, 1, capacity}, h.options())
                          .masked_fill((keys > positions.view({B, 1})).view({B, 1, 1, capacity}),
                                       -std::numeric_limits<double>::infinity());
    const at::Tensor where = positions.view({B, 1, 1, 1}).expand({B, groups, 1, D});
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    for (int64_t i = 0; i < c.num_layers; ++i) {
        auto [q, k, v] = attention_inputs(i, h, cos, sin, nullptr, &adapters);
        cache.k[i].scatter_(2, where, k);
        cache.v[i].scatter_(2, where, v);
        at::Tensor scores = at::matmul(q.reshape({B, groups, rep, D}), cache.k[i].transpose(2, 3)) * scale + mask;
        at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
        at::Tensor attn = at::matmul(probs, cache.v[i]).reshape({B, 1, c.num_heads * D});
        h = attention_output(i, h, attn, nullptr, &adapters);
    }
    return head(h).view({B, c.vocab_size});
}

at::Tensor Model::head(const at::Tensor& h) const {
    return lm_head_.forward(rms_norm(h, final_norm_)).to(at::kFloat);
}

at::Tensor Model::forward(const at::Tensor& ids_in, const ForwardOptions& options) const {
    at::Tensor ids = ids_in.dim() == 1 ? ids_in.unsqueeze(0) : ids_in;
    if (ids.dim() != 2 || ids.size(1) == 0)
        throw Error(Errc::invalid_argument, "forward: ids must be a non-empty [T] or [B, T] tensor");
    if (!ids.is_cuda()) {  // checked where it costs no device sync
        ids = ids.to(at::kLong);
        const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
        if (lo < 0 || hi >= config_.vocab_size)
            throw Error(Errc::invalid_argument,
                        fmt::format("forward: token id {} outside the vocabulary [0, {})", lo < 0 ? lo : hi, config_.vocab_size));
    }
    ids = ids.to(device_, at::kLong);
    const int64_t T = ids.size(1);
    KVCache* cache = options.cache;
    const int64_t past = cache ? cache->length : 0;
    if (cache && !cache->k.empty() && cache->k[0].size(0) != ids.size(0))
        throw Error(Errc::invalid_argument, "forward: KV cache batch size differs from the input's");

    at::Tensor h = embed(ids);
    if (options.trace) options.trace->items.emplace_back("embed_tokens", h);
    at::Tensor positions = at::arange(past, past + T, at::TensorOptions().dtype(at::kLong).device(device_));
    auto [cos, sin] = rope(positions);
    at::Tensor mask;
    if (T > 1) {
        // key j is visible from query i when j <= past + i.
        at::Tensor qpos = positions.unsqueeze(1);
        at::Tensor kpos = at::arange(0, past + T, positions.options()).unsqueeze(0);
        mask = at::zeros({T, past + T}, at::TensorOptions().dtype(dtype_).device(device_))
                   .masked_fill(kpos > qpos, -std::numeric_limits<double>::infinity());
    }
    const bool fast = fast_prefill() && !c10::GradMode::is_enabled();
    for (int64_t i = 0; i < config_.num_layers; ++i) {
        h = fast ? prefill_layer(i, h, cos, sin, mask, options.adapter, cache)
                 : decoder_layer(i, h, cos, sin, mask, options.adapter, cache);
        if (options.trace) options.trace->items.emplace_back(fmt::format("layer{}", i), h);
    }
    if (cache) cache->length = past + T;
    if (options.last_only) h = h.narrow(1, T - 1, 1);
    if (options.trace) {
        at::Tensor n = rms_norm(h, final_norm_);
        options.trace->items.emplace_back("final_norm", n);
        return lm_head_.forward(n).to(at::kFloat);
    }
    return head(h);
}

at::Tensor Model::logits(const at::Tensor& ids, const Adapter* adapter) const {
    ForwardOptions o;
    o.adapter = adapter;
    return forward(ids, o);
}

Model Model::merged(const Adapter& adapter) const {
    Model m = *this;
    for (int64_t i = 0; i < linear_count(); ++i) {
        const LoraWeights* lw = adapter.for_linear(i);
        if (!lw) continue;
        Linear& lin = m.layers_[i / arch::kProjCount].proj[i % arch::kProjCount];
        at::Tensor delta = at::matmul(lw->B.to(at::kFloat), lw->A.to(at::kFloat)) * lw->scaling;
        if (lin.nf4) {
            at::Tensor w = lin.nf4->dequantize(at::kFloat) + delta;
            lin.nf4 = std::make_shared<Nf4Weight>(
                quantize_nf4(w.to(lin.nf4->dtype), lin.nf4->blocksize, lin.nf4->nested));
            if (lin.nf4_scales.defined()) lin.nf4_scales = lin.nf4->scales().contiguous();
        } else {
            lin.weight = (lin.weight.to(at::kFloat) + delta.to(lin.weight.device())).to(dtype_);
        }
    }
    return m;
}

}  // namespace troupe::llama
