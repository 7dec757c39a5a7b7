// utmos.hpp — the UTMOS22 strong learner as SpeechMOS ships it (tarepan/SpeechMOS, speechmos/utmos22): a state
// dict of a fairseq-style wav2vec2-base SSL model, data-domain and judge embeddings, a BLSTM and a two-layer
// projection. The SSL part runs on the shared troupe::ssl::Encoder (its fairseq names mapped onto the HF
// wav2vec2 layout: group-norm conv encoder, post-LN transformer, weight-normed positional conv); the head is a
// module tree with SpeechMOS' names. Sizes come from the tensors; the strides (5,2,2,2,2,2,2), 12 attention
// heads and the 16 kHz input are fixed as in the reference. Score = 2·mean_t(projection(BLSTM([ssl, domain,
// judge]))) + 3: a predicted MOS, nominally on 1–5.
#pragma once

#include <troupe/nn/layers.hpp>
#include <troupe/ssl/encoder.hpp>

#include <ATen/Tensor.h>
#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <string>

namespace troupe::utmos {

/// The head: `domain_emb`, `judge_emb` [1, E], `blstm` (nn.LSTM weights), `projection.0` / `projection.2`.
class HeadImpl : public torch::nn::Module {
public:
    HeadImpl(int64_t ssl_dim, int64_t emb_dim, int64_t rnn_dim, int64_t proj_dim);
    /// ssl [B, T, H] -> frame scores [B, T, 1]; `blstm_out` receives the BLSTM output when non-null.
    at::Tensor forward(const at::Tensor& ssl, at::Tensor* blstm_out = nullptr) const;

private:
    at::Tensor domain_emb_, judge_emb_;
    std::shared_ptr<torch::nn::Module> blstm_;
    std::vector<at::Tensor> lstm_params_;  // w_ih, w_hh, b_ih, b_hh forward, then reverse
    std::shared_ptr<nn::LinearImpl> proj0_, proj2_;
};

struct Output {
    at::Tensor score;         // [B]
    at::Tensor frame_scores;  // [B, T, 1]
    std::map<std::string, at::Tensor> traces;  // with traces: "ssl", "conv_features", "blstm"
};

class Predictor {
public:
    /// A SpeechMOS state dict: torch.save file (utmos22_strong_step7459_v1.pt) or safetensors. Throws Error
    /// naming the file and the missing or misshapen tensor.
    static std::unique_ptr<Predictor> load_file(const std::string& path, const ssl::LoadOptions& options = {});

    const ssl::Encoder& encoder() const { return encoder_; }
    /// Scores of 16 kHz waveforms [L] or [B, L] (equal lengths; SpeechMOS does not normalise the input).
    Output forward(const at::Tensor& waveform, bool with_traces = false) const;
    double score(const std::vector<float>& samples_16k) const;

private:
    Predictor(ssl::Encoder encoder, std::shared_ptr<HeadImpl> head);
    ssl::Encoder encoder_;
    std::shared_ptr<HeadImpl> head_;
};

}  // namespace troupe::utmos
