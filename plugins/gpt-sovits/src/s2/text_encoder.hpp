// s2/text_encoder.hpp — SoVITS prior encoder (upstream models.TextEncoder + mrte_model.MRTE):
// SSL stream and phone stream, each through a relative-position Encoder, fused by MRTE
// cross-attention conditioned on the style vector, then encoder2 → (m, logs).
#pragma once

#include "s2/attention.hpp"

namespace troupe::sovits::s2 {

/// mrte_model.MRTE: c_pre/text_pre (content → hidden), cross attention (hidden, heads, no window),
/// x = attn + ssl + ge, c_post (hidden → out).
class MRTEImpl : public torch::nn::Module {
public:
    MRTEImpl(int64_t content_channels, int64_t hidden, int64_t out_channels, int64_t n_heads);
    at::Tensor forward(const at::Tensor& ssl_enc, const at::Tensor& ssl_mask, const at::Tensor& text,
                       const at::Tensor& text_mask, const at::Tensor& ge) const;

private:
    std::shared_ptr<MultiHeadAttentionImpl> cross_attention_;
    std::shared_ptr<ConvImpl> c_pre_, text_pre_, c_post_;
};

struct TextEncoderOutput {
    at::Tensor x;       // encoder output after encoder2 (and the speed interpolation)
    at::Tensor m, logs; // prior statistics (B, out, T')
    at::Tensor y_mask;  // (B, 1, T')
};

struct TextEncoderSpec {
    int64_t out_channels = 192, hidden = 192, filter = 768, n_heads = 2, n_layers = 6, kernel = 3;
    double p_dropout = 0.1;
    int64_t ssl_dim = 768, vocab = 732;
    int64_t mrte_hidden = 512, mrte_heads = 4;
};

class TextEncoderImpl : public torch::nn::Module {
public:
    explicit TextEncoderImpl(const TextEncoderSpec& spec);
    /// y (B, ssl_dim, T) quantized SSL features at 50 Hz, y_lengths (B) int64, text (B, N) ids,
    /// text_lengths (B), ge (B, gin, 1) or undefined. speed != 1 → linear interpolation of the output
    /// to int(T/speed)+1 frames before proj.
    TextEncoderOutput forward(const at::Tensor& y, const at::Tensor& y_lengths, const at::Tensor& text,
                              const at::Tensor& text_lengths, const at::Tensor& ge, double speed = 1.0) const;
    const TextEncoderSpec& spec() const { return spec_; }

private:
    TextEncoderSpec spec_;
    std::shared_ptr<ConvImpl> ssl_proj_, proj_;
    std::shared_ptr<EncoderImpl> encoder_ssl_, encoder_text_, encoder2_;
    std::shared_ptr<EmbeddingImpl> text_embedding_;
    std::shared_ptr<MRTEImpl> mrte_;
};

/// commons.sequence_mask: (B, max_len) float mask, 1 where t < length.
at::Tensor sequence_mask(const at::Tensor& lengths, int64_t max_len);

}  // namespace troupe::sovits::s2
