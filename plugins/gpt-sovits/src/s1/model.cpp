#include "s1/model.hpp"

#include <troupe/json_file.hpp>
#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <c10/util/irange.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>

namespace troupe::sovits::s1 {

// ---------------------------------------------------------------------------------------------
// Basic layers

LayerNormImpl::LayerNormImpl(int64_t dim, double eps) : dim_(dim), eps_(eps) {
    weight_ = register_parameter("weight", at::ones({dim}));
    bias_ = register_parameter("bias", at::zeros({dim}));
}

at::Tensor LayerNormImpl::forward(const at::Tensor& x) const { return at::layer_norm(x, {dim_}, weight_, bias_, eps_); }

TokenEmbeddingImpl::TokenEmbeddingImpl(int64_t vocab, int64_t dim, double dropout) : dropout_(dropout) {
    word_embeddings_ = register_module("word_embeddings", std::make_shared<torch::nn::Module>());
    weight_ = word_embeddings_->register_parameter("weight", at::randn({vocab, dim}));
}

at::Tensor TokenEmbeddingImpl::forward(const at::Tensor& ids) {
    return at::dropout(at::embedding(weight_, ids), dropout_, is_training());
}

SinePositionalEmbeddingImpl::SinePositionalEmbeddingImpl(int64_t dim, double dropout) : dim_(dim), dropout_(dropout) {
    alpha_ = register_parameter("alpha", at::ones({1}));
}

at::Tensor SinePositionalEmbeddingImpl::table(int64_t start, int64_t len, const c10::Device& device) {
    const int64_t need = start + len;
    if (!pe_.defined() || pe_.size(0) < need || pe_.device() != device) {
        // Upstream precomputes 4000 positions and extends on demand; same values either way.
        const int64_t n = std::max<int64_t>({need, 4000, pe_.defined() ? pe_.size(0) : 0});
        const auto f32 = at::TensorOptions().dtype(at::kFloat);
        const at::Tensor position = at::arange(0, n, f32).unsqueeze(1);
        const at::Tensor div_term = at::exp(at::arange(0, dim_, 2, f32) * -(std::log(10000.0) / double(dim_)));
        const at::Tensor angle = position * div_term;
        at::Tensor pe = at::zeros({n, dim_}, f32);
        pe.slice(1, 0, dim_, 2).copy_(at::sin(angle));
        pe.slice(1, 1, dim_, 2).copy_(at::cos(angle));
        pe_ = pe.to(device);
    }
    return pe_.slice(0, start, need);
}

at::Tensor SinePositionalEmbeddingImpl::forward(const at::Tensor& x, int64_t start) {
    const at::Tensor pe = table(start, x.size(1), x.device()).to(x.scalar_type());
    return at::dropout(x + alpha_ * pe.unsqueeze(0), dropout_, is_training());
}

at::Tensor SinePositionalEmbeddingImpl::forward_at(const at::Tensor& x, const at::Tensor& positions) {
    if (!div_term_.defined() || div_term_.device() != x.device()) {
        // As table(): computed on the CPU in float32, so position * div_term is bit-identical.
        const auto f32 = at::TensorOptions().dtype(at::kFloat);
        div_term_ = at::exp(at::arange(0, dim_, 2, f32) * -(std::log(10000.0) / double(dim_))).to(x.device());
    }
    const at::Tensor angle = positions.to(at::kFloat).unsqueeze(1) * div_term_;  // (L, d/2)
    const at::Tensor pe = at::stack({at::sin(angle), at::cos(angle)}, 2).reshape({positions.size(0), dim_});
    return at::dropout(x + alpha_ * pe.to(x.scalar_type()).unsqueeze(0), dropout_, is_training());
}

// ---------------------------------------------------------------------------------------------
// Attention and layers

SelfAttentionImpl::SelfAttentionImpl(int64_t dim, int64_t heads, double dropout)
    : dim_(dim), heads_(heads), dropout_(dropout) {
    const double bound = std::sqrt(6.0 / double(dim + 3 * dim));  // xavier_uniform_, as nn.MultiheadAttention
    in_proj_weight_ = register_parameter("in_proj_weight", at::empty({3 * dim, dim}).uniform_(-bound, bound));
    in_proj_bias_ = register_parameter("in_proj_bias", at::zeros({3 * dim}));
    out_proj_ = register_module("out_proj", std::make_shared<LinearImpl>(dim, dim));
}

namespace {
// Writes `src` (B, L, d) at positions [past, past + L) of the buffer, growing it (doubling, plus
// `reserve`) when full; returns the filled part [0, past + L).
at::Tensor write_cache(at::Tensor& buf, const at::Tensor& src, int64_t past, int64_t reserve) {
    const int64_t need = past + src.size(1);
    if (!buf.defined() || buf.size(1) < need || buf.size(0) != src.size(0) || buf.scalar_type() != src.scalar_type()) {
        const int64_t cap = std::max(need + reserve, buf.defined() ? 2 * buf.size(1) : 0);
        at::Tensor grown = at::empty({src.size(0), cap, src.size(2)}, src.options());
        if (past > 0) grown.slice(1, 0, past).copy_(buf.slice(1, 0, past));
        buf = grown;
    }
    buf.slice(1, past, need).copy_(src);
    return buf.slice(1, 0, need);
}
}  // namespace

KVCache KVCache::allocate(size_t layers, int64_t batch, int64_t capacity, int64_t dim, const at::TensorOptions& options) {
    KVCache c;
    c.reserve = 0;
    for (size_t i = 0; i < layers; ++i) {
        c.k.push_back(at::zeros({batch, capacity, dim}, options));
        c.v.push_back(at::zeros({batch, capacity, dim}, options));
    }
    return c;
}

void KVCache::select_rows(const at::Tensor& rows) {
    for (auto& t : k)
        if (t.defined()) t = t.index_select(0, rows);
    for (auto& t : v)
        if (t.defined()) t = t.index_select(0, rows);
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x, const at::Tensor& blocked, at::Tensor* k_cache,
                                      at::Tensor* v_cache, int64_t past, int64_t reserve) {
    const auto qkv = at::linear(x, in_proj_weight_, in_proj_bias_).chunk(3, -1);
    at::Tensor k = qkv[1], v = qkv[2];
    if (k_cache && v_cache) {
        k = write_cache(*k_cache, k, past, reserve);
        v = write_cache(*v_cache, v, past, reserve);
    }
    return attend(qkv[0], k, v, blocked);
}

at::Tensor SelfAttentionImpl::forward_at(const at::Tensor& x, const at::Tensor& bias, at::Tensor& k_buf,
                                         at::Tensor& v_buf, const at::Tensor& positions) {
    const auto qkv = at::linear(x, in_proj_weight_, in_proj_bias_).chunk(3, -1);
    k_buf.index_copy_(1, positions, qkv[1]);
    v_buf.index_copy_(1, positions, qkv[2]);
    // As attend(), with the scale and the mask (additive, 0 / -inf) inside one baddbmm: fewer
    // kernels per decode step, the same arithmetic up to the last bit of the scores.
    const int64_t B = x.size(0), L = x.size(1), S = k_buf.size(1), hd = dim_ / heads_;
    const at::Tensor q = qkv[0].reshape({B, L, heads_, hd}).transpose(1, 2).reshape({B * heads_, L, hd});
    const at::Tensor kt = k_buf.reshape({B, S, heads_, hd}).permute({0, 2, 3, 1}).reshape({B * heads_, hd, S});
    const at::Tensor vh = v_buf.reshape({B, S, heads_, hd}).transpose(1, 2).reshape({B * heads_, S, hd});
    const at::Tensor b = bias.dim() == 3 ? bias.unsqueeze(1).expand({B, heads_, L, S}).reshape({B * heads_, L, S}) : bias;
    const at::Tensor scores = at::baddbmm(b, q, kt, 1.0, 1.0 / std::sqrt(double(hd)));
    const at::Tensor attn = at::dropout(at::softmax(scores, -1), dropout_, is_training());
    const at::Tensor out = at::bmm(attn, vh).reshape({B, heads_, L, hd}).transpose(1, 2).reshape({B, L, dim_});
    return out_proj_->forward(out);
}

// q (B, L, d), k/v (B, S, d) → out_proj(softmax(q k^T / sqrt(hd), blocked = -inf) v), per head.
at::Tensor SelfAttentionImpl::attend(const at::Tensor& q_in, const at::Tensor& k, const at::Tensor& v,
                                     const at::Tensor& blocked) {
    const int64_t B = q_in.size(0), L = q_in.size(1), hd = dim_ / heads_;
    const int64_t S = k.size(1);
    const at::Tensor q = q_in.reshape({B, L, heads_, hd}).transpose(1, 2);
    const at::Tensor kh = k.reshape({B, S, heads_, hd}).transpose(1, 2);
    const at::Tensor vh = v.reshape({B, S, heads_, hd}).transpose(1, 2);
    at::Tensor scores = at::matmul(q, kh.transpose(-2, -1)) * (1.0 / std::sqrt(double(hd)));
    if (blocked.defined())  // (L, S) for every row, or (B, L, S) per row
        scores = scores.masked_fill(blocked.dim() == 3 ? blocked.unsqueeze(1) : blocked,
                                    -std::numeric_limits<double>::infinity());
    at::Tensor attn = at::dropout(at::softmax(scores, -1), dropout_, is_training());
    at::Tensor out = at::matmul(attn, vh).transpose(1, 2).reshape({B, L, dim_});
    return out_proj_->forward(out);
}

DecoderLayerImpl::DecoderLayerImpl(int64_t dim, int64_t heads, int64_t ffn, double dropout, double eps)
    : dropout_(dropout) {
    self_attn_ = register_module("self_attn", std::make_shared<SelfAttentionImpl>(dim, heads, dropout));
    linear1_ = register_module("linear1", std::make_shared<LinearImpl>(dim, ffn));
    linear2_ = register_module("linear2", std::make_shared<LinearImpl>(ffn, dim));
    norm1_ = register_module("norm1", std::make_shared<LayerNormImpl>(dim, eps));
    norm2_ = register_module("norm2", std::make_shared<LayerNormImpl>(dim, eps));
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& blocked, at::Tensor* k_cache,
                                     at::Tensor* v_cache, int64_t past, int64_t reserve) {
    return feed_forward(x, self_attn_->forward(x, blocked, k_cache, v_cache, past, reserve));
}

at::Tensor DecoderLayerImpl::forward_at(const at::Tensor& x, const at::Tensor& bias, at::Tensor& k_buf,
                                        at::Tensor& v_buf, const at::Tensor& positions) {
    return feed_forward(x, self_attn_->forward_at(x, bias, k_buf, v_buf, positions));
}

// Post-LN: x = LN1(x + attn); x = LN2(x + W2 relu(W1 x)).
at::Tensor DecoderLayerImpl::feed_forward(const at::Tensor& x, const at::Tensor& a) {
    const bool train = is_training();
    at::Tensor h = norm1_->forward(x + at::dropout(a, dropout_, train));
    at::Tensor ff = linear2_->forward(at::dropout(at::relu(linear1_->forward(h)), dropout_, train));
    return norm2_->forward(h + at::dropout(ff, dropout_, train));
}

// ---------------------------------------------------------------------------------------------
// Text2SemanticDecoder

Text2SemanticDecoderImpl::Text2SemanticDecoderImpl(const S1Config& c) : config_(c) {
    const int64_t d = c.hidden_dim;
    bert_proj_ = register_module("bert_proj", std::make_shared<LinearImpl>(c.bert_dim, c.embedding_dim));
    ar_text_embedding_ = register_module(
        "ar_text_embedding", std::make_shared<TokenEmbeddingImpl>(c.phoneme_vocab_size, c.embedding_dim, c.embedding_dropout));
    ar_text_position_ =
        register_module("ar_text_position", std::make_shared<SinePositionalEmbeddingImpl>(c.embedding_dim, c.layer_dropout));
    ar_audio_embedding_ = register_module(
        "ar_audio_embedding", std::make_shared<TokenEmbeddingImpl>(c.vocab_size, c.embedding_dim, c.embedding_dropout));
    ar_audio_position_ =
        register_module("ar_audio_position", std::make_shared<SinePositionalEmbeddingImpl>(c.embedding_dim, c.layer_dropout));
    h_ = register_module("h", std::make_shared<torch::nn::Module>());
    torch::nn::ModuleList list;
    for (int64_t i = 0; i < c.n_layer; ++i) {
        layers_.push_back(std::make_shared<DecoderLayerImpl>(d, c.n_head, c.ffn_dim(), c.layer_dropout, c.layer_norm_eps));
        list->push_back(layers_.back());
    }
    h_->register_module("layers", list);
    ar_predict_layer_ = register_module("ar_predict_layer", std::make_shared<LinearImpl>(d, c.vocab_size, false));
}

at::Tensor Text2SemanticDecoderImpl::embed_text(const at::Tensor& phone_ids, const at::Tensor& bert) {
    if (phone_ids.dim() != 2) throw Error(Errc::invalid_argument, "S1: phone ids must be (batch, N)");
    at::Tensor x = ar_text_embedding_->forward(phone_ids);
    at::Tensor b = bert;
    if (!b.defined())
        b = at::zeros({phone_ids.size(0), config_.bert_dim, phone_ids.size(1)}, x.options());
    if (b.dim() != 3 || b.size(0) != phone_ids.size(0) || b.size(1) != config_.bert_dim || b.size(2) != phone_ids.size(1))
        throw Error(Errc::invalid_argument,
                    fmt::format("S1: BERT features must be (batch, {}, N = {}), got {}", config_.bert_dim,
                                phone_ids.size(1), fmt::join(b.sizes().vec(), "x")));
    x = x + bert_proj_->forward(b.transpose(1, 2).to(x.scalar_type()));
    return ar_text_position_->forward(x, 0);
}

at::Tensor Text2SemanticDecoderImpl::embed_audio(const at::Tensor& codes, int64_t start) {
    return ar_audio_position_->forward(ar_audio_embedding_->forward(codes), start);
}

at::Tensor Text2SemanticDecoderImpl::embed_audio_at(const at::Tensor& codes, const at::Tensor& positions) {
    return ar_audio_position_->forward_at(ar_audio_embedding_->forward(codes), positions);
}

at::Tensor Text2SemanticDecoderImpl::prefill_mask(int64_t n_text, int64_t n_audio, const c10::Device& device) {
    const auto b = at::TensorOptions().dtype(at::kBool).device(device);
    const int64_t L = n_text + n_audio;
    at::Tensor m = at::zeros({L, L}, b);
    m.slice(0, 0, n_text).slice(1, n_text, L).fill_(true);
    if (n_audio > 0) m.slice(0, n_text, L).slice(1, n_text, L).copy_(at::ones({n_audio, n_audio}, b).triu(1));
    return m;
}

at::Tensor Text2SemanticDecoderImpl::transform(const at::Tensor& xy, const at::Tensor& blocked, KVCache* cache) {
    at::Tensor x = xy;
    if (cache) {
        cache->k.resize(layers_.size());
        cache->v.resize(layers_.size());
    }
    for (size_t i = 0; i < layers_.size(); ++i)
        x = cache ? layers_[i]->forward(x, blocked, &cache->k[i], &cache->v[i], cache->len, cache->reserve)
                  : layers_[i]->forward(x, blocked);
    if (cache) cache->len += xy.size(1);
    return x;
}

at::Tensor Text2SemanticDecoderImpl::transform_at(const at::Tensor& xy, const at::Tensor& blocked, KVCache& cache,
                                                  const at::Tensor& positions) {
    if (cache.k.size() != layers_.size() || cache.v.size() != layers_.size())
        throw Error(Errc::invalid_argument, "S1: transform_at needs a cache allocated for every layer");
    // The mask as an additive bias (0 / -inf) in the activations' dtype, once for all layers.
    const at::Tensor bias = at::zeros(blocked.sizes(), xy.options()).masked_fill_(blocked, -std::numeric_limits<double>::infinity());
    at::Tensor x = xy;
    for (size_t i = 0; i < layers_.size(); ++i) x = layers_[i]->forward_at(x, bias, cache.k[i], cache.v[i], positions);
    return x;
}

at::Tensor Text2SemanticDecoderImpl::predict(const at::Tensor& hidden) { return ar_predict_layer_->forward(hidden); }

at::Tensor Text2SemanticDecoderImpl::forward(const at::Tensor& phone_ids, const at::Tensor& bert, const at::Tensor& codes) {
    const at::Tensor x = embed_text(phone_ids, bert);
    const int64_t N = x.size(1);
    at::Tensor xy = x;
    int64_t T = 0;
    if (codes.defined() && codes.numel() > 0) {
        xy = at::cat({x, embed_audio(codes, 0)}, 1);
        T = codes.size(1);
    }
    const at::Tensor h = transform(xy, prefill_mask(N, T, xy.device()));
    return predict(h.slice(1, N - 1));
}

std::vector<std::string> Text2SemanticDecoderImpl::parameter_names() const {
    std::vector<std::string> out;
    for (const auto& p : named_parameters(true)) out.push_back(p.key());
    return out;
}

void Text2SemanticDecoderImpl::load_state(const StateDict& state, const std::string& source) {
    torch::NoGradGuard no_grad;
    std::set<std::string> used;
    for (auto& p : named_parameters(true)) {
        auto it = state.find(p.key());
        if (it == state.end()) throw Error(Errc::invalid_file, fmt::format("{}: missing S1 weight '{}'", source, p.key()));
        if (it->second.sizes() != p.value().sizes())
            throw Error(Errc::invalid_file,
                        fmt::format("{}: S1 weight '{}' has shape {} but the model expects {}", source, p.key(),
                                    fmt::join(it->second.sizes().vec(), "x"), fmt::join(p.value().sizes().vec(), "x")));
        p.value().copy_(it->second);
        used.insert(p.key());
    }
    for (const auto& [k, t] : state)
        if (!used.count(k))
            throw Error(Errc::invalid_file, fmt::format("{}: unexpected S1 weight '{}' (not a v2 Text2SemanticDecoder?)", source, k));
}

// ---------------------------------------------------------------------------------------------
// Loading

LoadedS1 load_s1(const std::string& path, const c10::Device& device, at::ScalarType dtype) {
    namespace fs = std::filesystem;
    if (!fs::exists(path)) throw Error(Errc::not_found, fmt::format("{}: S1 checkpoint not found", path));
    LoadedS1 out;
    out.source = path;
    StateDict state;
    nlohmann::json config = nlohmann::json::object();
    const std::string ext = fs::path(path).extension().string();
    if (ext == ".safetensors") {  // a debugging copy: weights + <stem>_config.json beside them
        const auto st = troupe::st::File::open(path);
        for (const auto& n : st.names()) {
            std::string key = n.rfind("model.", 0) == 0 ? n.substr(6) : n;
            state[key] = st.tensor(n);
        }
        fs::path cfg = fs::path(path).parent_path() / (fs::path(path).stem().string() + "_config.json");
        if (fs::exists(cfg)) config = troupe::read_json_file(cfg.string());
    } else {
        const auto ck = troupe::pt::Checkpoint::open(path);
        state = ck.state_dict("weight", "model.");
        if (const auto* c = ck.root().find("config")) config = troupe::pt::to_json(*c);
    }
    out.config = S1Config::from_json(config, path);
    out.config.resolve_from_weights(state, path);
    auto model = std::make_shared<Text2SemanticDecoderImpl>(out.config);
    model->load_state(state, path);
    model->to(device, dtype);
    model->eval();
    out.model = model;
    return out;
}

}  // namespace troupe::sovits::s1
