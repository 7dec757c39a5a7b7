#include "ctc_model.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

namespace troupe::w2v {

CtcModel CtcModel::load_dir(const std::string& dir, const ssl::LoadOptions& options) {
    const ssl::EncoderConfig config = ssl::EncoderConfig::read(dir + "/config.json");
    const ssl::FeatureExtractorConfig features =
        ssl::FeatureExtractorConfig::read_optional(dir + "/preprocessor_config.json");
    const ssl::WeightSource weights = ssl::weights_from_dir(dir);
    CtcModel m{};
    m.dir_ = dir;
    m.encoder_ = ssl::Encoder::from_weights(config, features, weights, options);
    m.vocab_ = CtcVocab::load_dir(dir);

    for (const char* name : {"lm_head.weight", "lm_head.bias"})
        if (!weights.contains(name))
            throw Error(Errc::invalid_file, fmt::format("{}: missing tensor '{}' (not a CTC checkpoint?)", weights.describe, name));
    at::Tensor w = weights.get("lm_head.weight"), b = weights.get("lm_head.bias");
    const int64_t V = int64_t(m.vocab_.size());
    if (w.dim() != 2 || w.size(0) != V || w.size(1) != config.hidden_size || b.dim() != 1 || b.size(0) != V)
        throw Error(Errc::invalid_file,
                    fmt::format("{}: lm_head is [{}] / [{}], expected [{}, {}] / [{}] ({} symbols in {}/vocab.json)",
                                weights.describe, fmt::join(w.sizes(), ", "), fmt::join(b.sizes(), ", "), V,
                                config.hidden_size, V, V, dir));
    m.head_weight_ = w.to(options.device, options.dtype, false, true);
    m.head_bias_ = b.to(options.device, options.dtype, false, true);
    return m;
}

CtcOutput CtcModel::forward(const at::Tensor& input_values, bool with_traces) const {
    CtcOutput out;
    out.encoder = encoder_.forward(input_values, with_traces);
    out.logits = at::linear(out.encoder.last_hidden_state, head_weight_, head_bias_);
    return out;
}

std::vector<int64_t> CtcModel::argmax_ids(const at::Tensor& logits) {
    at::Tensor l = logits;
    if (l.dim() == 3 && l.size(0) == 1) l = l.squeeze(0);
    if (l.dim() != 2) throw Error(Errc::invalid_argument, "CTC argmax: expected logits [1, T, V] or [T, V]");
    at::Tensor ids = l.argmax(-1).to(at::kCPU, at::kLong).contiguous();
    return std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
}

CtcDecoded CtcModel::transcribe(const at::Tensor& waveform) const {
    c10::NoGradGuard no_grad;
    return vocab_.decode(argmax_ids(forward(encoder_.prepare(waveform)).logits));
}

}  // namespace troupe::w2v
