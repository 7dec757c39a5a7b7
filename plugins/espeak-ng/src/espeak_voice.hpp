// The espeak-ng speech backend: libespeak-ng synthesis with per-character variant, pitch and rate.
#pragma once

#include <troupe/plugin.hpp>

namespace troupe::espeak {

/// Plugin parameter: language = "ko" (espeak-ng voice name).
/// Voice parameters (speech.voice in character.toml), all optional:
///   variant = "m3"      espeak-ng variant (voices/!v), e.g. m1..m7, f1..f5, klatt
///   pitch   = 50        base pitch 0..100
///   range   = 50        pitch range 0..100
///   rate    = 175       words per minute 80..450
///   gap     = 0         extra pause between words (units of 10 ms)
class EspeakVoice final : public SpeechBackend {
public:
    explicit EspeakVoice(const Params& params);
    Status synthesize(const SpeechRequest& request, Audio& out) noexcept override;
    std::string describe() const noexcept override;

private:
    std::string language_;
};

}  // namespace troupe::espeak
