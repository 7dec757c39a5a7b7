// ctc_model.hpp — HF `Wav2Vec2ForCTC` (or `HubertForCTC`): the shared SSL encoder + `lm_head` Linear(H, vocab).
#pragma once

#include "ctc_vocab.hpp"

#include <troupe/ssl/encoder.hpp>

#include <ATen/Tensor.h>

#include <string>
#include <vector>

namespace troupe::w2v {

struct CtcOutput {
    at::Tensor logits;         // [B, T, vocab]
    ssl::EncoderOutput encoder;
};

class CtcModel {
public:
    /// Loads config.json, preprocessor_config.json, model.safetensors (or shards), vocab.json and
    /// tokenizer_config.json from `dir`. Throws Error naming the file on any inconsistency
    /// (e.g. lm_head rows != vocabulary size).
    static CtcModel load_dir(const std::string& dir, const ssl::LoadOptions& options = {});

    const ssl::Encoder& encoder() const { return encoder_; }
    const CtcVocab& vocab() const { return vocab_; }
    const std::string& dir() const { return dir_; }

    /// Logits for `input_values` [L] or [B, L] (already prepared by encoder().prepare()).
    CtcOutput forward(const at::Tensor& input_values, bool with_traces = false) const;
    /// Per-frame argmax ids of one utterance's logits [1, T, V] or [T, V].
    static std::vector<int64_t> argmax_ids(const at::Tensor& logits);
    /// The whole pipeline on one mono waveform at the model's sampling rate: prepare, forward, greedy decode.
    CtcDecoded transcribe(const at::Tensor& waveform) const;

private:
    std::string dir_;
    ssl::Encoder encoder_;
    CtcVocab vocab_;
    at::Tensor head_weight_, head_bias_;
};

}  // namespace troupe::w2v
