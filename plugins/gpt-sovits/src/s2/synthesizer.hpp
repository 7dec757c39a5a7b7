// s2/synthesizer.hpp — the SynthesizerTrn module tree (upstream module/models.py), parameter names
// equal to upstream's state_dict: ssl_proj, quantizer, ref_enc, enc_p, flow, dec (+ enc_q when
// built for training).
#pragma once

#include "s2/config.hpp"
#include "s2/flow.hpp"
#include "s2/generator.hpp"
#include "s2/style_encoder.hpp"
#include "s2/text_encoder.hpp"

namespace troupe::sovits::s2 {

/// core_vq.EuclideanCodebook: buffers inited, cluster_size, embed (bins, dim), embed_avg.
class CodebookImpl : public torch::nn::Module {
public:
    CodebookImpl(int64_t dim, int64_t bins);
    /// x (N, dim) → nearest row ids (N), argmax of −(‖x‖² − 2x·E + ‖E‖²).
    at::Tensor quantize(const at::Tensor& x) const;
    /// ids (any shape) → embeddings (..., dim).
    at::Tensor dequantize(const at::Tensor& ids) const;

private:
    at::Tensor inited_, cluster_size_, embed_, embed_avg_;
};

/// quantize.ResidualVectorQuantizer (vq.layers.{i}._codebook).
class ResidualVQImpl : public torch::nn::Module {
public:
    ResidualVQImpl(int64_t dim, int64_t bins, int64_t n_q);
    /// x (B, dim, T) → codes (n_q, B, T).
    at::Tensor encode(const at::Tensor& x) const;
    /// codes (n_q, B, T) → (B, dim, T), summed over the codebooks used.
    at::Tensor decode(const at::Tensor& codes) const;

private:
    std::vector<std::shared_ptr<CodebookImpl>> layers_;
};

class SynthesizerImpl : public torch::nn::Module {
public:
    /// `training` builds enc_q and keeps weight norm as g/v parameters; inference folds it.
    SynthesizerImpl(const S2Config& config, bool training);

    const S2Config& config() const { return config_; }
    at::Tensor ssl_latent(const at::Tensor& ssl) const { return ssl_proj->forward(ssl); }
    at::Tensor extract_latent(const at::Tensor& ssl) const;  // (B, n_q, T)
    /// ref_enc over the first style_in bins of spec (B, bins, F) with an all-valid mask.
    at::Tensor style(const at::Tensor& spec) const;

    std::shared_ptr<ConvImpl> ssl_proj;
    std::shared_ptr<ResidualVQImpl> quantizer;
    std::shared_ptr<MelStyleEncoderImpl> ref_enc;
    std::shared_ptr<TextEncoderImpl> enc_p;
    std::shared_ptr<CouplingBlockImpl> flow;
    std::shared_ptr<GeneratorImpl> dec;
    std::shared_ptr<PosteriorEncoderImpl> enc_q;  // training only

private:
    S2Config config_;
};

}  // namespace troupe::sovits::s2
