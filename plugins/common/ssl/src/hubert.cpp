#include <troupe/ssl/hubert.hpp>
#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

namespace troupe::ssl {

at::Tensor hubert_features(const Encoder& hubert, const at::Tensor& wave16k, const HubertCallOptions& options) {
    if (hubert.feature_extractor().sampling_rate != 16000)
        throw Error(Errc::invalid_argument, fmt::format("HuBERT features: the model expects {} Hz input, not 16 kHz",
                                                        hubert.feature_extractor().sampling_rate));
    c10::NoGradGuard no_grad;  // a frozen feature extractor, upstream as well
    at::Tensor x = wave16k;
    if (x.dim() == 2 && x.size(0) == 1) x = x.squeeze(0);
    if (x.dim() != 1) throw Error(Errc::invalid_argument, "HuBERT features: expected one mono waveform [L]");
    if (x.numel() == 0) throw Error(Errc::invalid_argument, "HuBERT features: empty waveform");
    x = x.to(at::kCPU, at::kFloat);
    if (options.append_silence) x = at::cat({x, at::zeros({kGptSovitsHubertPadSamples}, x.options())});
    at::Tensor input = options.normalize ? hubert.prepare(x) : x.unsqueeze(0);
    return hubert.forward(input).last_hidden_state;
}

at::Tensor hubert_features(const Encoder& hubert, const std::vector<float>& wave16k, const HubertCallOptions& options) {
    at::Tensor t = at::from_blob(const_cast<float*>(wave16k.data()), {int64_t(wave16k.size())}, at::kFloat).clone();
    return hubert_features(hubert, t, options);
}

}  // namespace troupe::ssl
