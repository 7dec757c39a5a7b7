// xvector.hpp — transformers' WavLMForXVector in LibTorch (eval mode): the WavLM encoder (troupe::ssl::Encoder,
// shared with wav2vec2/HuBERT), the softmax-weighted sum of its hidden states, the projector, the TDNN layers
// (dilated 1-D convolutions stored as Linear kernels, ReLU), statistics pooling (mean and unbiased std over
// frames), the x-vector `feature_extractor` Linear giving the speaker embedding, and the classifier. The head's
// modules carry the reference names ("projector", "tdnn.0.kernel", "feature_extractor", "layer_weights") so the
// HF state dict loads by name. Speaker similarity (SIM) is the cosine of two embeddings.
#pragma once

#include <troupe/nn/layers.hpp>
#include <troupe/ssl/encoder.hpp>

#include <ATen/Tensor.h>
#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace troupe::wavlm {

/// The x-vector part of config.json.
struct XVectorConfig {
    std::vector<int64_t> tdnn_dim{512, 512, 512, 512, 1500}, tdnn_kernel{5, 3, 3, 1, 1}, tdnn_dilation{1, 2, 3, 1, 1};
    int64_t xvector_output_dim = 512;
    bool use_weighted_layer_sum = false;
    static XVectorConfig read(const std::string& path);
};

class TdnnLayerImpl : public torch::nn::Module {
public:
    TdnnLayerImpl(int64_t in, int64_t out, int64_t kernel, int64_t dilation);
    at::Tensor forward(const at::Tensor& x) const;  // [B, T, in] -> [B, T - dilation·(kernel−1), out]

private:
    int64_t in_, out_, kernel_, dilation_;
    std::shared_ptr<nn::LinearImpl> kernel_linear_;
};

struct XVectorOutput {
    at::Tensor embeddings;  // [B, xvector_output_dim]
    at::Tensor logits;      // [B, xvector_output_dim] (the classifier; unused for verification)
    /// With traces: "weighted_sum", "projector", "tdnn" (the last TDNN output), "statistics" [B, 2·tdnn_dim[-1]],
    /// plus the encoder's hidden states as "hidden_state{i}".
    std::map<std::string, at::Tensor> traces;
};

/// The head of WavLMForXVector (everything after the encoder).
class XVectorHeadImpl : public torch::nn::Module {
public:
    XVectorHeadImpl(const XVectorConfig& c, int64_t hidden, int64_t num_hidden_states);
    XVectorOutput forward(const std::vector<at::Tensor>& hidden_states, const at::Tensor& last, bool with_traces) const;

private:
    XVectorConfig c_;
    at::Tensor layer_weights_;
    std::shared_ptr<nn::LinearImpl> projector_, feature_extractor_, classifier_;
    std::vector<std::shared_ptr<TdnnLayerImpl>> tdnn_;
};

class SpeakerVerifier {
public:
    /// config.json, preprocessor_config.json and the weights of a WavLMForXVector folder; throws Error naming
    /// the missing file or tensor.
    static std::unique_ptr<SpeakerVerifier> load_dir(const std::string& dir, const ssl::LoadOptions& options = {});

    const ssl::Encoder& encoder() const { return encoder_; }
    /// The feature extractor's normalisation of a 16 kHz waveform [L] or [B, L] (see ssl::Encoder::prepare).
    at::Tensor prepare(const at::Tensor& waveform) const { return encoder_.prepare(waveform); }
    /// Embeddings of prepared input values [L] or [B, L] (unpadded rows).
    XVectorOutput forward(const at::Tensor& input_values, bool with_traces = false) const;
    /// The embedding of one 16 kHz waveform.
    std::vector<float> embed(const std::vector<float>& samples) const;

private:
    SpeakerVerifier(ssl::Encoder encoder, std::shared_ptr<XVectorHeadImpl> head);
    ssl::Encoder encoder_;
    std::shared_ptr<XVectorHeadImpl> head_;
};

/// Cosine similarity of two embeddings (the SIM of seed-tts-eval); 0 when either is all zeros.
double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace troupe::wavlm
