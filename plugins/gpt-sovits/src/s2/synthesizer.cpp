#include "s2/synthesizer.hpp"

#include <ATen/ATen.h>
#include <torch/nn/modules/container/modulelist.h>

namespace troupe::sovits::s2 {
namespace {

// A module that only holds children (e.g. quantizer.vq, vq.layers.{i}).
class HolderImpl : public torch::nn::Module {
public:
    template <class M>
    std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> m) { return register_module(name, std::move(m)); }
};

}  // namespace

// ---- codebook / RVQ ----------------------------------------------------------------------------

CodebookImpl::CodebookImpl(int64_t dim, int64_t bins) {
    inited_ = register_buffer("inited", at::zeros({1}, at::kFloat));
    cluster_size_ = register_buffer("cluster_size", at::zeros({bins}, at::kFloat));
    embed_ = register_buffer("embed", at::randn({bins, dim}, at::kFloat));
    embed_avg_ = register_buffer("embed_avg", embed_.clone());
}

at::Tensor CodebookImpl::quantize(const at::Tensor& x) const {
    const at::Tensor e = embed_.t();
    const at::Tensor dist =
        -(x.pow(2).sum(1, true) - 2 * at::matmul(x, e) + e.pow(2).sum(0, true));
    return std::get<1>(dist.max(-1));
}

at::Tensor CodebookImpl::dequantize(const at::Tensor& ids) const { return at::embedding(embed_, ids); }

ResidualVQImpl::ResidualVQImpl(int64_t dim, int64_t bins, int64_t n_q) {
    auto vq = register_module("vq", std::make_shared<HolderImpl>());
    auto list = vq->add("layers", std::make_shared<torch::nn::ModuleListImpl>());
    for (int64_t i = 0; i < n_q; ++i) {
        auto holder = std::make_shared<HolderImpl>();
        layers_.push_back(holder->add("_codebook", std::make_shared<CodebookImpl>(dim, bins)));
        list->push_back(holder);
    }
}

at::Tensor ResidualVQImpl::encode(const at::Tensor& x) const {
    const int64_t b = x.size(0), d = x.size(1), t = x.size(2);
    at::Tensor residual = x;
    std::vector<at::Tensor> codes;
    for (const auto& layer : layers_) {
        at::Tensor flat = residual.transpose(1, 2).reshape({-1, d});
        at::Tensor ids = layer->quantize(flat).view({b, t});
        codes.push_back(ids);
        residual = residual - layer->dequantize(ids).transpose(1, 2);
    }
    return at::stack(codes, 0);
}

at::Tensor ResidualVQImpl::decode(const at::Tensor& codes) const {
    TORCH_CHECK(codes.dim() == 3 && codes.size(0) <= int64_t(layers_.size()),
                "quantizer.decode: codes must be (n_q, B, T) with n_q ≤ ", layers_.size());
    at::Tensor out;
    for (int64_t i = 0; i < codes.size(0); ++i) {
        at::Tensor q = layers_[size_t(i)]->dequantize(codes[i]).transpose(1, 2);
        out = out.defined() ? out + q : q;
    }
    return out;
}

// ---- SynthesizerTrn ----------------------------------------------------------------------------

SynthesizerImpl::SynthesizerImpl(const S2Config& c, bool training) : config_(c) {
    const bool wn = training;
    TextEncoderSpec te;
    te.out_channels = c.inter_channels;
    te.hidden = c.hidden_channels;
    te.filter = c.filter_channels;
    te.n_heads = c.n_heads;
    te.n_layers = c.n_layers;
    te.kernel = c.kernel_size;
    te.p_dropout = c.p_dropout;
    te.ssl_dim = c.ssl_dim;
    te.vocab = c.vocab;
    te.mrte_hidden = c.mrte_hidden;
    te.mrte_heads = c.mrte_heads;
    enc_p = register_module("enc_p", std::make_shared<TextEncoderImpl>(te));

    GeneratorSpec gs;
    gs.initial_channel = c.inter_channels;
    gs.resblock_kernel_sizes = c.resblock_kernel_sizes;
    gs.resblock_dilation_sizes = c.resblock_dilation_sizes;
    gs.upsample_rates = c.upsample_rates;
    gs.upsample_initial_channel = c.upsample_initial_channel;
    gs.upsample_kernel_sizes = c.upsample_kernel_sizes;
    gs.gin_channels = c.gin_channels;
    dec = register_module("dec", std::make_shared<GeneratorImpl>(gs, wn));

    if (training || c.has_posterior)
        enc_q = register_module("enc_q", std::make_shared<PosteriorEncoderImpl>(c.spec_channels(), c.inter_channels,
                                                                               c.hidden_channels, c.posterior_kernel, 1,
                                                                               c.posterior_layers,
                                                                               c.gin_channels, wn));
    flow = register_module("flow", std::make_shared<CouplingBlockImpl>(c.inter_channels, c.hidden_channels, c.flow_kernel,
                                                                      1, c.flow_layers, c.n_flows, c.gin_channels, wn));
    StyleEncoderSpec ss;
    ss.in_dim = c.style_in;
    ss.hidden = c.style_hidden;
    ss.out_dim = c.gin_channels;
    ss.kernel = c.style_kernel;
    ss.n_heads = c.style_heads;
    ss.p_dropout = c.style_dropout;
    ref_enc = register_module("ref_enc", std::make_shared<MelStyleEncoderImpl>(ss));

    const bool hz25 = c.semantic_frame_rate == "25hz";
    ssl_proj = register_module("ssl_proj", conv1d(c.ssl_dim, c.ssl_dim, hz25 ? 2 : 1, hz25 ? 2 : 1));
    quantizer = register_module("quantizer", std::make_shared<ResidualVQImpl>(c.ssl_dim, c.codebook_size, c.n_codebooks));
}

at::Tensor SynthesizerImpl::extract_latent(const at::Tensor& ssl) const {
    return quantizer->encode(ssl_proj->forward(ssl)).transpose(0, 1);
}

at::Tensor SynthesizerImpl::style(const at::Tensor& spec) const {
    const int64_t frames = spec.size(2);
    const at::Tensor mask = at::ones({spec.size(0), 1, frames}, spec.options());
    return ref_enc->forward(spec.slice(1, 0, config_.style_in) * mask, mask);
}

}  // namespace troupe::sovits::s2
