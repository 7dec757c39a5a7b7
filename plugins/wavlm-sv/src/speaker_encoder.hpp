// speaker_encoder.hpp — the `wavlm-sv` troupe::SpeakerEncoder: resample to 16 kHz, WavLMForXVector embedding.
#pragma once

#include "xvector.hpp"

#include <troupe/plugin.hpp>

#include <memory>
#include <string>

namespace troupe::wavlm {

/// Params: "model.dir" (required: a HF WavLMForXVector folder, e.g. microsoft/wavlm-base-plus-sv), "device"
/// ("cpu" default, "cuda", "cuda:N"). The embedding is the model's `embeddings` output (not normalised);
/// SIM is its cosine with another (wavlm::cosine_similarity).
class WavlmSpeakerEncoder final : public SpeakerEncoder {
public:
    explicit WavlmSpeakerEncoder(const Params& params);  // throws Error
    Status embed(const Audio& audio, std::vector<float>& embedding) noexcept override;
    std::string describe() const noexcept override;

    std::vector<float> embed_or_throw(const Audio& audio) const;
    const SpeakerVerifier& verifier() const { return *verifier_; }

private:
    std::unique_ptr<SpeakerVerifier> verifier_;
    std::string description_;
};

}  // namespace troupe::wavlm
