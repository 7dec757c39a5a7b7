#include "s2/text_encoder.hpp"

#include <ATen/ATen.h>

namespace troupe::sovits::s2 {

at::Tensor sequence_mask(const at::Tensor& lengths, int64_t max_len) {
    at::Tensor x = at::arange(max_len, lengths.options().dtype(at::kLong));
    return (x.unsqueeze(0) < lengths.to(at::kLong).unsqueeze(1)).to(at::kFloat);
}

// ---- MRTE --------------------------------------------------------------------------------------

MRTEImpl::MRTEImpl(int64_t content_channels, int64_t hidden, int64_t out_channels, int64_t n_heads) {
    cross_attention_ = register_module(
        "cross_attention", std::make_shared<MultiHeadAttentionImpl>(hidden, hidden, n_heads, 0.0, std::nullopt));
    c_pre_ = register_module("c_pre", conv1d(content_channels, hidden, 1));
    text_pre_ = register_module("text_pre", conv1d(content_channels, hidden, 1));
    c_post_ = register_module("c_post", conv1d(hidden, out_channels, 1));
}

at::Tensor MRTEImpl::forward(const at::Tensor& ssl_enc_in, const at::Tensor& ssl_mask, const at::Tensor& text,
                             const at::Tensor& text_mask, const at::Tensor& ge) const {
    const at::Tensor attn_mask = text_mask.unsqueeze(2) * ssl_mask.unsqueeze(-1);
    const at::Tensor ssl_enc = c_pre_->forward(ssl_enc_in * ssl_mask);
    const at::Tensor text_enc = text_pre_->forward(text * text_mask);
    at::Tensor x = cross_attention_->forward(ssl_enc * ssl_mask, text_enc * text_mask, attn_mask) + ssl_enc;
    if (ge.defined()) x = x + ge;
    return c_post_->forward(x * ssl_mask);
}

// ---- TextEncoder -------------------------------------------------------------------------------

TextEncoderImpl::TextEncoderImpl(const TextEncoderSpec& s) : spec_(s) {
    ssl_proj_ = register_module("ssl_proj", conv1d(s.ssl_dim, s.hidden, 1));
    encoder_ssl_ = register_module(
        "encoder_ssl", std::make_shared<EncoderImpl>(s.hidden, s.filter, s.n_heads, s.n_layers / 2, s.kernel, s.p_dropout));
    encoder_text_ = register_module(
        "encoder_text", std::make_shared<EncoderImpl>(s.hidden, s.filter, s.n_heads, s.n_layers, s.kernel, s.p_dropout));
    text_embedding_ = register_module("text_embedding", std::make_shared<EmbeddingImpl>(s.vocab, s.hidden));
    mrte_ = register_module("mrte", std::make_shared<MRTEImpl>(s.hidden, s.mrte_hidden, s.hidden, s.mrte_heads));
    encoder2_ = register_module(
        "encoder2", std::make_shared<EncoderImpl>(s.hidden, s.filter, s.n_heads, s.n_layers / 2, s.kernel, s.p_dropout));
    proj_ = register_module("proj", conv1d(s.hidden, s.out_channels * 2, 1));
}

TextEncoderOutput TextEncoderImpl::forward(const at::Tensor& y_in, const at::Tensor& y_lengths, const at::Tensor& text_ids,
                                           const at::Tensor& text_lengths, const at::Tensor& ge, double speed) const {
    at::Tensor y_mask = sequence_mask(y_lengths, y_in.size(2)).unsqueeze(1).to(y_in.scalar_type());
    at::Tensor y = ssl_proj_->forward(y_in * y_mask) * y_mask;
    y = encoder_ssl_->forward(y * y_mask, y_mask);

    const at::Tensor text_mask = sequence_mask(text_lengths, text_ids.size(1)).unsqueeze(1).to(y.scalar_type());
    at::Tensor text = text_embedding_->forward(text_ids).transpose(1, 2);
    text = encoder_text_->forward(text * text_mask, text_mask);
    y = mrte_->forward(y, y_mask, text, text_mask, ge);
    y = encoder2_->forward(y * y_mask, y_mask);

    if (speed != 1.0) {
        const int64_t frames = int64_t(double(y.size(-1)) / speed) + 1;
        y = at::upsample_linear1d(y, {frames}, false);
        y_mask = at::upsample_nearest1d(y_mask, {frames});
    }
    const at::Tensor stats = proj_->forward(y) * y_mask;
    auto parts = at::split(stats, spec_.out_channels, 1);
    return {y, parts[0], parts[1], y_mask};
}

}  // namespace troupe::sovits::s2
