#include <troupe/ssl/encoder.hpp>
#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <vector>

namespace troupe::ssl {
namespace {

// ---- weight names (HF transformers state dict of Wav2Vec2Model / HubertModel) -------------------------------
namespace names {
std::string conv(size_t i, const char* leaf) { return fmt::format("feature_extractor.conv_layers.{}.conv.{}", i, leaf); }
std::string conv_norm(size_t i, const char* leaf) { return fmt::format("feature_extractor.conv_layers.{}.layer_norm.{}", i, leaf); }
const char* proj_norm_w = "feature_projection.layer_norm.weight";
const char* proj_norm_b = "feature_projection.layer_norm.bias";
const char* proj_w = "feature_projection.projection.weight";
const char* proj_b = "feature_projection.projection.bias";
const char* pos_bias = "encoder.pos_conv_embed.conv.bias";
const char* pos_g = "encoder.pos_conv_embed.conv.parametrizations.weight.original0";
const char* pos_v = "encoder.pos_conv_embed.conv.parametrizations.weight.original1";
const char* pos_g_legacy = "encoder.pos_conv_embed.conv.weight_g";
const char* pos_v_legacy = "encoder.pos_conv_embed.conv.weight_v";
const char* pos_weight_folded = "encoder.pos_conv_embed.conv.weight";
std::string pos_bn(const char* leaf) { return fmt::format("encoder.pos_conv_embed.batch_norm.{}", leaf); }
const char* enc_norm_w = "encoder.layer_norm.weight";
const char* enc_norm_b = "encoder.layer_norm.bias";
std::string layer(int64_t i, const char* rest) { return fmt::format("encoder.layers.{}.{}", i, rest); }
}  // namespace names

struct Linear {
    at::Tensor weight, bias;
    at::Tensor operator()(const at::Tensor& x) const { return at::linear(x, weight, bias); }
};
struct Norm {
    at::Tensor weight, bias;
};
struct ConvLayer {
    at::Tensor weight, bias;  // bias undefined when conv_bias is false
    Norm norm;                // group norm (layer 0 of "group") or layer norm ("layer"); undefined if none
    int64_t stride = 1;
};
struct EncoderLayer {
    Linear q, k, v, out, ff_in, ff_out;
    Norm attn_norm, final_norm;
    Linear gate;           // WavLM: gru_rel_pos_linear [8, head_dim]
    at::Tensor gate_const; // WavLM: gru_rel_pos_const [1, heads, 1, 1]
};

at::Tensor activation(const at::Tensor& x, const std::string& name) {
    if (name == "gelu") return at::gelu(x);
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return at::gelu(x, "tanh");
    if (name == "relu") return at::relu(x);
    if (name == "silu" || name == "swish") return at::silu(x);
    if (name == "tanh") return at::tanh(x);
    throw Error(Errc::unsupported, "activation '" + name + "' is not supported");
}

void check_activation(const std::string& name, const std::string& origin) {
    static const char* known[] = {"gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "swish", "tanh"};
    for (const char* k : known)
        if (name == k) return;
    throw Error(Errc::unsupported, fmt::format("{}: activation '{}' is not supported", origin, name));
}

std::string shape_str(at::IntArrayRef s) { return fmt::format("[{}]", fmt::join(s.begin(), s.end(), ", ")); }

}  // namespace

struct Encoder::Impl {
    EncoderConfig config;
    FeatureExtractorConfig features;
    std::string prefix;
    LoadOptions options;

    std::vector<ConvLayer> convs;
    Norm proj_norm;  // undefined when feat_proj_layer_norm is false
    Linear proj;
    at::Tensor pos_weight, pos_bias;  // folded weight-norm kernel [H, H/G, K]
    at::Tensor bn_mean, bn_var, bn_weight, bn_bias;
    Norm enc_norm;
    std::vector<EncoderLayer> layers;
    at::Tensor rel_embed;  // WavLM: layer 0's rel_attn_embed [num_buckets, heads]

    bool wavlm() const { return config.model_type == "wavlm"; }
    /// WavLM's relative position bias [heads, T, T] (transformers' compute_bias, bucketed in float32).
    at::Tensor position_bias(int64_t T) const {
        const at::TensorOptions lo = at::TensorOptions().dtype(at::kLong).device(rel_embed.device());
        const at::Tensor pos = at::arange(T, lo);
        const at::Tensor rel = pos.unsqueeze(0) - pos.unsqueeze(1);  // memory - context
        const int64_t half = config.num_buckets / 2, max_exact = half / 2;
        at::Tensor buckets = (rel > 0).to(at::kLong) * half;
        const at::Tensor a = rel.abs();
        const at::Tensor is_small = a < max_exact;
        at::Tensor large = at::log(a.clamp_min(1).to(at::kFloat) / float(max_exact));
        large = large / std::log(double(config.max_bucket_distance) / double(max_exact));
        large = (large * float(half - max_exact) + float(max_exact)).to(at::kLong).clamp_max(half - 1);
        buckets = buckets + at::where(is_small, a, large);
        return at::embedding(rel_embed, buckets).permute({2, 0, 1});  // [heads, T, T]
    }
    /// WavLM's per-layer gate of the position bias from the attention input h [B, T, H]: [B, heads, T, 1].
    at::Tensor gate(const at::Tensor& h, const EncoderLayer& l) const {
        const int64_t B = h.size(0), T = h.size(1), nh = config.num_attention_heads, hd = config.hidden_size / nh;
        at::Tensor g = l.gate(h.view({B, T, nh, hd}).permute({0, 2, 1, 3}));  // [B, nh, T, 8]
        g = at::sigmoid(g.view({B, nh, T, 2, 4}).sum(-1));                    // [B, nh, T, 2]
        const at::Tensor ga = g.narrow(-1, 0, 1), gb = g.narrow(-1, 1, 1);
        return ga * (gb * l.gate_const - 1.0) + 2.0;
    }

    at::Tensor layer_norm(const at::Tensor& x, const Norm& n) const {
        return at::layer_norm(x, {x.size(-1)}, n.weight, n.bias, config.layer_norm_eps);
    }
    /// `bias` [heads, T, T]: WavLM's position bias (gated here), or undefined.
    at::Tensor attention(const at::Tensor& h, const EncoderLayer& l, const at::Tensor& bias = {}) const {
        const int64_t B = h.size(0), T = h.size(1), H = config.hidden_size, nh = config.num_attention_heads;
        const int64_t hd = H / nh;
        auto split = [&](const at::Tensor& x) { return x.view({B, T, nh, hd}).transpose(1, 2); };
        at::Tensor q = split(l.q(h)), k = split(l.k(h)), v = split(l.v(h));
        at::Tensor scores = at::matmul(q, k.transpose(-1, -2)) * (1.0 / std::sqrt(double(hd)));
        if (bias.defined()) scores = scores + gate(h, l) * bias.unsqueeze(0);
        at::Tensor probs = at::softmax(scores, -1);
        at::Tensor ctx = at::matmul(probs, v).transpose(1, 2).reshape({B, T, H});
        return l.out(ctx);
    }
    at::Tensor feed_forward(const at::Tensor& h, const EncoderLayer& l) const {
        return l.ff_out(activation(l.ff_in(h), config.hidden_act));
    }
};

// ---- weight sources -------------------------------------------------------------------------------------------

WeightSource weights_from_dir(const std::string& dir) {
    namespace fs = std::filesystem;
    const bool has_safetensors = fs::exists(dir + "/model.safetensors") || fs::exists(dir + "/model.safetensors.index.json");
    if (!has_safetensors && fs::exists(dir + "/pytorch_model.bin")) {
        const std::string path = dir + "/pytorch_model.bin";
        auto tensors = std::make_shared<const std::map<std::string, at::Tensor>>(pt::Checkpoint::open(path).state_dict(""));
        return weights_from_map(std::move(tensors), path);
    }
    if (!has_safetensors)
        throw Error(Errc::not_found,
                    fmt::format("{}: no model.safetensors, model.safetensors.index.json or pytorch_model.bin", dir));
    auto ckpt = std::make_shared<st::Checkpoint>(st::Checkpoint::open_dir(dir));
    WeightSource w;
    w.contains = [ckpt](const std::string& n) { return ckpt->contains(n); };
    w.get = [ckpt](const std::string& n) { return ckpt->tensor(n); };
    w.describe = ckpt->description().empty() ? dir : ckpt->description();
    return w;
}

WeightSource weights_from_file(const std::string& path) {
    auto ckpt = std::make_shared<st::Checkpoint>(st::Checkpoint::open_file(path));
    WeightSource w;
    w.contains = [ckpt](const std::string& n) { return ckpt->contains(n); };
    w.get = [ckpt](const std::string& n) { return ckpt->tensor(n); };
    w.describe = path;
    return w;
}

WeightSource weights_from_map(std::shared_ptr<const std::map<std::string, at::Tensor>> tensors, std::string describe) {
    WeightSource w;
    w.contains = [tensors](const std::string& n) { return tensors->count(n) != 0; };
    w.get = [tensors, describe](const std::string& n) {
        auto it = tensors->find(n);
        if (it == tensors->end()) throw Error(Errc::invalid_file, fmt::format("{}: no tensor '{}'", describe, n));
        return it->second;
    };
    w.describe = std::move(describe);
    return w;
}

// ---- loading --------------------------------------------------------------------------------------------------

Encoder Encoder::load_dir(const std::string& dir, const LoadOptions& options) {
    EncoderConfig config = EncoderConfig::read(dir + "/config.json");
    FeatureExtractorConfig features = FeatureExtractorConfig::read_optional(dir + "/preprocessor_config.json");
    return from_weights(config, features, weights_from_dir(dir), options);
}

Encoder Encoder::from_weights(const EncoderConfig& config, const FeatureExtractorConfig& features,
                              const WeightSource& weights, const LoadOptions& options,
                              const std::optional<std::string>& prefix) {
    const std::string& src = weights.describe;
    config.validate(src);
    check_activation(config.feat_extract_activation, src);
    check_activation(config.hidden_act, src);

    auto impl = std::make_shared<Impl>();
    impl->config = config;
    impl->features = features;
    impl->options = options;
    if (prefix) {
        impl->prefix = *prefix;
    } else {
        bool found = false;
        for (const char* p : {"", "wav2vec2.", "hubert.", "wavlm."})
            if (weights.contains(std::string(p) + names::proj_w)) {
                impl->prefix = p;
                found = true;
                break;
            }
        if (!found)
            throw Error(Errc::invalid_file,
                        fmt::format("{}: no '{}' (with prefix '', 'wav2vec2.', 'hubert.' or 'wavlm.'): not a Wav2Vec2/HuBERT/WavLM checkpoint",
                                    src, names::proj_w));
    }
    const std::string& pre = impl->prefix;

    auto load = [&](const std::string& name, std::vector<int64_t> shape) {
        const std::string full = pre + name;
        if (!weights.contains(full)) throw Error(Errc::invalid_file, fmt::format("{}: missing tensor '{}'", src, full));
        at::Tensor t = weights.get(full);
        if (t.sizes() != at::IntArrayRef(shape))
            throw Error(Errc::invalid_file, fmt::format("{}: tensor '{}' has shape {}, expected {}", src, full,
                                                        shape_str(t.sizes()), shape_str(shape)));
        if (!at::isFloatingType(t.scalar_type()))
            throw Error(Errc::invalid_file, fmt::format("{}: tensor '{}' is not floating point", src, full));
        return t.to(options.device, options.dtype, /*non_blocking=*/false, /*copy=*/true);
    };
    auto has = [&](const std::string& name) { return weights.contains(pre + name); };

    // Conv feature encoder.
    int64_t in_ch = 1;
    for (size_t i = 0; i < config.conv_dim.size(); ++i) {
        const int64_t out_ch = config.conv_dim[i];
        ConvLayer c;
        c.stride = config.conv_stride[i];
        c.weight = load(names::conv(i, "weight"), {out_ch, in_ch, config.conv_kernel[i]});
        if (config.conv_bias) c.bias = load(names::conv(i, "bias"), {out_ch});
        const bool normed = config.feat_extract_norm == "layer" || i == 0;
        if (normed) {
            c.norm.weight = load(names::conv_norm(i, "weight"), {out_ch});
            c.norm.bias = load(names::conv_norm(i, "bias"), {out_ch});
        }
        impl->convs.push_back(std::move(c));
        in_ch = out_ch;
    }
    const int64_t C = in_ch, H = config.hidden_size, K = config.num_conv_pos_embeddings,
                  G = config.num_conv_pos_embedding_groups, I = config.intermediate_size;

    // Feature projection.
    if (config.feat_proj_layer_norm) {
        impl->proj_norm.weight = load(names::proj_norm_w, {C});
        impl->proj_norm.bias = load(names::proj_norm_b, {C});
    }
    impl->proj = {load(names::proj_w, {H, C}), load(names::proj_b, {H})};

    // Positional conv embedding: weight norm over dim 2, w = g * v / ||v||_(dims 0,1).
    impl->pos_bias = load(names::pos_bias, {H});
    at::Tensor g, v;
    if (has(names::pos_g) && has(names::pos_v)) {
        g = load(names::pos_g, {1, 1, K});
        v = load(names::pos_v, {H, H / G, K});
    } else if (has(names::pos_g_legacy) && has(names::pos_v_legacy)) {
        g = load(names::pos_g_legacy, {1, 1, K});
        v = load(names::pos_v_legacy, {H, H / G, K});
    }
    if (g.defined()) {
        at::Tensor vd = v.to(at::kDouble);
        at::Tensor norm = vd.pow(2).sum(std::vector<int64_t>{0, 1}, /*keepdim=*/true).sqrt();
        impl->pos_weight = (g.to(at::kDouble) * vd / norm).to(options.dtype);
    } else if (has(names::pos_weight_folded)) {
        impl->pos_weight = load(names::pos_weight_folded, {H, H / G, K});
    } else {
        throw Error(Errc::invalid_file,
                    fmt::format("{}: no positional conv weight ('{}{}'/'original1', '{}{}'/'weight_v' or '{}{}')", src,
                                pre, names::pos_g, pre, names::pos_g_legacy, pre, names::pos_weight_folded));
    }
    if (config.conv_pos_batch_norm) {
        impl->bn_weight = load(names::pos_bn("weight"), {H});
        impl->bn_bias = load(names::pos_bn("bias"), {H});
        impl->bn_mean = load(names::pos_bn("running_mean"), {H});
        impl->bn_var = load(names::pos_bn("running_var"), {H});
    }
    impl->enc_norm = {load(names::enc_norm_w, {H}), load(names::enc_norm_b, {H})};

    for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
        auto lin = [&](const char* name, int64_t out, int64_t in) {
            return Linear{load(names::layer(i, fmt::format("{}.weight", name).c_str()), {out, in}),
                          load(names::layer(i, fmt::format("{}.bias", name).c_str()), {out})};
        };
        auto norm = [&](const char* name) {
            return Norm{load(names::layer(i, fmt::format("{}.weight", name).c_str()), {H}),
                        load(names::layer(i, fmt::format("{}.bias", name).c_str()), {H})};
        };
        EncoderLayer l;
        l.q = lin("attention.q_proj", H, H);
        l.k = lin("attention.k_proj", H, H);
        l.v = lin("attention.v_proj", H, H);
        l.out = lin("attention.out_proj", H, H);
        l.ff_in = lin("feed_forward.intermediate_dense", I, H);
        l.ff_out = lin("feed_forward.output_dense", H, I);
        l.attn_norm = norm("layer_norm");
        l.final_norm = norm("final_layer_norm");
        if (config.model_type == "wavlm") {
            const int64_t nh = config.num_attention_heads;
            l.gate = lin("attention.gru_rel_pos_linear", 8, H / nh);
            l.gate_const = load(names::layer(i, "attention.gru_rel_pos_const"), {1, nh, 1, 1});
            if (i == 0) impl->rel_embed = load(names::layer(0, "attention.rel_attn_embed.weight"), {config.num_buckets, nh});
        }
        impl->layers.push_back(std::move(l));
    }

    Encoder e;
    e.impl_ = std::move(impl);
    return e;
}

const EncoderConfig& Encoder::config() const { return impl_->config; }
const FeatureExtractorConfig& Encoder::feature_extractor() const { return impl_->features; }
const std::string& Encoder::prefix() const { return impl_->prefix; }
c10::Device Encoder::device() const { return impl_->options.device; }
c10::ScalarType Encoder::dtype() const { return impl_->options.dtype; }

// ---- forward --------------------------------------------------------------------------------------------------

at::Tensor normalize_zero_mean_unit_var(const at::Tensor& waveform) {
    if (waveform.dim() != 1 && waveform.dim() != 2)
        throw Error(Errc::invalid_argument, fmt::format("waveform must be [L] or [B, L], got {}", shape_str(waveform.sizes())));
    at::Tensor x = waveform.to(at::kCPU, at::kDouble);
    if (x.dim() == 1) x = x.unsqueeze(0);
    at::Tensor mean = x.mean(-1, /*keepdim=*/true);
    at::Tensor centered = x - mean;
    at::Tensor var = centered.pow(2).mean(-1, /*keepdim=*/true);
    return (centered / (var + 1e-7).sqrt()).to(at::kFloat);
}

at::Tensor Encoder::prepare(const at::Tensor& waveform) const {
    if (impl_->features.do_normalize) return normalize_zero_mean_unit_var(waveform);
    at::Tensor x = waveform.to(at::kCPU, at::kFloat, false, true);
    return x.dim() == 1 ? x.unsqueeze(0) : x;
}

EncoderOutput Encoder::forward(const at::Tensor& input_values, bool with_traces) const {
    const Impl& m = *impl_;
    const EncoderConfig& c = m.config;
    if (input_values.dim() != 1 && input_values.dim() != 2)
        throw Error(Errc::invalid_argument,
                    fmt::format("input_values must be [L] or [B, L], got {}", shape_str(input_values.sizes())));
    at::Tensor x = input_values.to(m.options.device, m.options.dtype);
    if (x.dim() == 1) x = x.unsqueeze(0);
    if (x.size(1) < c.min_samples())
        throw Error(Errc::invalid_argument, fmt::format("audio too short for the encoder: {} samples, at least {} needed",
                                                        x.size(1), c.min_samples()));
    EncoderOutput out;
    auto trace = [&](const char* name, const at::Tensor& t) {
        if (with_traces) out.traces[name] = t;
    };

    // Conv feature encoder: [B, 1, L] -> [B, C, T].
    x = x.unsqueeze(1);
    for (const ConvLayer& conv : m.convs) {
        x = at::conv1d(x, conv.weight, conv.bias, {conv.stride});
        if (conv.norm.weight.defined()) {
            if (c.feat_extract_norm == "group")
                x = at::group_norm(x, x.size(1), conv.norm.weight, conv.norm.bias, 1e-5);
            else
                x = at::layer_norm(x.transpose(1, 2), {x.size(1)}, conv.norm.weight, conv.norm.bias, 1e-5).transpose(1, 2);
        }
        x = activation(x, c.feat_extract_activation);
    }
    trace("conv_features", x);

    // Feature projection: [B, T, C] -> [B, T, H].
    at::Tensor h = x.transpose(1, 2);
    if (m.proj_norm.weight.defined()) h = m.layer_norm(h, m.proj_norm);
    h = m.proj(h);
    trace("feature_projection", h);

    // Positional conv embedding.
    at::Tensor p = h.transpose(1, 2);
    if (c.conv_pos_batch_norm)
        p = at::batch_norm(p, m.bn_weight, m.bn_bias, m.bn_mean, m.bn_var, /*training=*/false, 0.1, 1e-5, false);
    const int64_t K = c.num_conv_pos_embeddings;
    p = at::conv1d(p, m.pos_weight, m.pos_bias, {1}, {K / 2}, {1}, c.num_conv_pos_embedding_groups);
    if (K % 2 == 0) p = p.narrow(2, 0, p.size(2) - 1);
    p = activation(p, c.feat_extract_activation).transpose(1, 2);
    trace("pos_conv_embed", p);
    h = h + p;

    if (!c.do_stable_layer_norm) {
        h = m.layer_norm(h, m.enc_norm);
        trace("encoder_layer_norm", h);
    }
    const at::Tensor bias = m.wavlm() ? m.position_bias(h.size(1)).to(h.scalar_type()) : at::Tensor();
    for (size_t i = 0; i < m.layers.size(); ++i) {
        const EncoderLayer& l = m.layers[i];
        if (with_traces) out.hidden_states.push_back(h);
        if (c.do_stable_layer_norm) {
            h = h + m.attention(m.layer_norm(h, l.attn_norm), l, bias);
            h = h + m.feed_forward(m.layer_norm(h, l.final_norm), l);
        } else {
            h = m.layer_norm(h + m.attention(h, l, bias), l.attn_norm);
            h = m.layer_norm(h + m.feed_forward(h, l), l.final_norm);
        }
        if (with_traces) out.traces[fmt::format("encoder_layer{}", i)] = h;
        if (with_traces && i + 1 == m.layers.size()) out.hidden_states.push_back(h);
    }
    if (c.do_stable_layer_norm) {
        h = m.layer_norm(h, m.enc_norm);
        trace("encoder_layer_norm", h);
    }
    out.last_hidden_state = h;
    return out;
}

}  // namespace troupe::ssl
