#include "s2/config.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace troupe::sovits::s2 {
namespace {

template <class T>
void read(const nlohmann::json& obj, const char* key, T& out, const std::string& source) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return;
    try {
        out = it->get<T>();
    } catch (const std::exception& e) {
        throw Error(Errc::invalid_file, fmt::format("{}: config field '{}' has the wrong type ({})", source, key, e.what()));
    }
}

const at::Tensor& need(const StateDict& s, const std::string& key, const std::string& source) {
    auto it = s.find(key);
    if (it == s.end()) throw Error(Errc::invalid_file, fmt::format("{}: missing tensor '{}' (not a GPT-SoVITS v2 S2 model?)", source, key));
    return it->second;
}

// Weight of a conv that may be stored weight-normed (weight_v) or plain.
const at::Tensor& conv_weight(const StateDict& s, const std::string& stem, const std::string& source) {
    auto it = s.find(stem + ".weight_v");
    if (it != s.end()) return it->second;
    return need(s, stem + ".weight", source);
}

int64_t count_prefixed(const StateDict& s, const std::string& prefix, const std::string& suffix) {
    int64_t n = 0;
    while (s.count(prefix + std::to_string(n) + suffix) ||
           s.count(prefix + std::to_string(n) + suffix + "_v"))
        ++n;
    return n;
}

}  // namespace

int64_t S2Config::hop() const {
    int64_t h = 1;
    for (int64_t u : upsample_rates) h *= u;
    return h;
}

S2Config S2Config::from_json(const nlohmann::json& hps, const std::string& source) {
    S2Config c;
    if (!hps.is_object()) throw Error(Errc::invalid_file, fmt::format("{}: config is not an object", source));
    if (auto d = hps.find("data"); d != hps.end() && d->is_object()) {
        read(*d, "sampling_rate", c.sampling_rate, source);
        read(*d, "filter_length", c.filter_length, source);
        read(*d, "hop_length", c.hop_length, source);
        read(*d, "win_length", c.win_length, source);
    }
    if (auto m = hps.find("model"); m != hps.end() && m->is_object()) {
        read(*m, "inter_channels", c.inter_channels, source);
        read(*m, "hidden_channels", c.hidden_channels, source);
        read(*m, "filter_channels", c.filter_channels, source);
        read(*m, "n_heads", c.n_heads, source);
        read(*m, "n_layers", c.n_layers, source);
        read(*m, "kernel_size", c.kernel_size, source);
        read(*m, "p_dropout", c.p_dropout, source);
        read(*m, "resblock", c.resblock, source);
        read(*m, "resblock_kernel_sizes", c.resblock_kernel_sizes, source);
        read(*m, "resblock_dilation_sizes", c.resblock_dilation_sizes, source);
        read(*m, "upsample_rates", c.upsample_rates, source);
        read(*m, "upsample_initial_channel", c.upsample_initial_channel, source);
        read(*m, "upsample_kernel_sizes", c.upsample_kernel_sizes, source);
        read(*m, "gin_channels", c.gin_channels, source);
        read(*m, "semantic_frame_rate", c.semantic_frame_rate, source);
        read(*m, "version", c.version, source);
    }
    read(hps, "version", c.version, source);
    if (c.resblock != "1")
        throw Error(Errc::unsupported, fmt::format("{}: resblock type '{}' is not supported (v2 uses \"1\")", source, c.resblock));
    if (c.semantic_frame_rate != "25hz" && c.semantic_frame_rate != "50hz")
        throw Error(Errc::invalid_file, fmt::format("{}: semantic_frame_rate '{}'", source, c.semantic_frame_rate));
    if (c.filter_length <= 0 || c.hop_length <= 0 || c.win_length <= 0 || c.win_length > c.filter_length)
        throw Error(Errc::invalid_file, fmt::format("{}: bad STFT sizes in config", source));
    return c;
}

void S2Config::resolve_from_weights(const StateDict& s, const std::string& source) {
    auto fail = [&](const std::string& what) { throw Error(Errc::invalid_file, fmt::format("{}: {}", source, what)); };
    const at::Tensor& ssl_proj = need(s, "ssl_proj.weight", source);
    ssl_dim = ssl_proj.size(0);
    if (ssl_proj.size(2) == 2) semantic_frame_rate = "25hz";
    else if (ssl_proj.size(2) == 1) semantic_frame_rate = "50hz";
    else fail("ssl_proj.weight has an unexpected kernel size");

    n_codebooks = 0;
    while (s.count(fmt::format("quantizer.vq.layers.{}._codebook.embed", n_codebooks))) ++n_codebooks;
    if (n_codebooks == 0) fail("missing tensor 'quantizer.vq.layers.0._codebook.embed'");
    const at::Tensor& embed = s.at("quantizer.vq.layers.0._codebook.embed");
    codebook_size = embed.size(0);
    if (embed.size(1) != ssl_dim) fail("codebook width differs from ssl_proj");

    const at::Tensor& enc_ssl_proj = need(s, "enc_p.ssl_proj.weight", source);
    hidden_channels = enc_ssl_proj.size(0);
    if (enc_ssl_proj.size(1) != ssl_dim) fail("enc_p.ssl_proj input width differs from ssl_proj");
    vocab = need(s, "enc_p.text_embedding.weight", source).size(0);
    if (vocab == 322) version = "v1";
    inter_channels = need(s, "enc_p.proj.weight", source).size(0) / 2;
    const at::Tensor& ffn = need(s, "enc_p.encoder_text.ffn_layers.0.conv_1.weight", source);
    filter_channels = ffn.size(0);
    kernel_size = ffn.size(2);
    n_layers = count_prefixed(s, "enc_p.encoder_text.attn_layers.", ".conv_q.weight");
    if (count_prefixed(s, "enc_p.encoder_ssl.attn_layers.", ".conv_q.weight") != n_layers / 2 ||
        count_prefixed(s, "enc_p.encoder2.attn_layers.", ".conv_q.weight") != n_layers / 2)
        fail("encoder_ssl/encoder2 layer counts are not n_layers/2");
    const at::Tensor& rel = need(s, "enc_p.encoder_text.attn_layers.0.emb_rel_k", source);
    if (rel.size(0) != 1) fail("relative embeddings are not shared across heads");
    window_size = (rel.size(1) - 1) / 2;
    if (hidden_channels % rel.size(2) != 0) fail("emb_rel_k width does not divide hidden_channels");
    n_heads = hidden_channels / rel.size(2);

    mrte_hidden = need(s, "enc_p.mrte.c_pre.weight", source).size(0);
    if (mrte_hidden % mrte_heads != 0) fail("MRTE width is not divisible by its 4 heads");

    const at::Tensor& style_in_w = need(s, "ref_enc.spectral.0.fc.weight", source);
    style_hidden = style_in_w.size(0);
    style_in = style_in_w.size(1);
    style_kernel = need(s, "ref_enc.temporal.0.conv1.conv.weight", source).size(2);
    gin_channels = need(s, "ref_enc.fc.fc.weight", source).size(0);

    n_flows = 0;
    while (s.count(fmt::format("flow.flows.{}.pre.weight", 2 * n_flows))) ++n_flows;
    if (n_flows == 0) fail("missing tensor 'flow.flows.0.pre.weight'");
    flow_layers = count_prefixed(s, "flow.flows.0.enc.in_layers.", ".weight");
    flow_kernel = conv_weight(s, "flow.flows.0.enc.in_layers.0", source).size(2);

    upsample_initial_channel = need(s, "dec.conv_pre.weight", source).size(0);
    if (need(s, "dec.conv_pre.weight", source).size(1) != inter_channels) fail("dec.conv_pre input differs from inter_channels");
    const int64_t n_ups = count_prefixed(s, "dec.ups.", ".weight");
    if (n_ups != int64_t(upsample_rates.size()))
        fail(fmt::format("{} upsampling layers in the weights, {} upsample_rates in the config", n_ups, upsample_rates.size()));
    upsample_kernel_sizes.clear();
    for (int64_t i = 0; i < n_ups; ++i)
        upsample_kernel_sizes.push_back(conv_weight(s, fmt::format("dec.ups.{}", i), source).size(2));
    const int64_t n_res = count_prefixed(s, "dec.resblocks.", ".convs1.0.weight");
    if (n_res != n_ups * int64_t(resblock_kernel_sizes.size()))
        fail("resblock count differs from upsample_rates × resblock_kernel_sizes");
    for (size_t j = 0; j < resblock_kernel_sizes.size(); ++j)
        resblock_kernel_sizes[j] = conv_weight(s, fmt::format("dec.resblocks.{}.convs1.0", j), source).size(2);
    has_posterior = s.count("enc_q.pre.weight") != 0;
    if (has_posterior) {
        posterior_layers = count_prefixed(s, "enc_q.enc.in_layers.", ".weight");
        posterior_kernel = conv_weight(s, "enc_q.enc.in_layers.0", source).size(2);
        if (need(s, "enc_q.pre.weight", source).size(1) != spec_channels())
            fail("enc_q.pre input differs from filter_length/2+1 spectrogram bins");
    }
}

}  // namespace troupe::sovits::s2
