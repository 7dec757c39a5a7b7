// transcriber.hpp — the `whisper` troupe::Transcriber: resample to 16 kHz, then Recognizer::transcribe.
#pragma once

#include "recognizer.hpp"

#include <troupe/plugin.hpp>

#include <memory>
#include <string>

namespace troupe::whisper {

/// Params: "model.dir" (required: a HF WhisperForConditionalGeneration folder), "device" ("cpu", "cuda",
/// "cuda:N"), "dtype" ("float32" default; "float16"/"bfloat16" on CUDA), "language" ("ko"; "" = not forced),
/// "task" ("transcribe"), "num_beams" (1 = greedy; seed-tts-eval's HF run is greedy, faster-whisper evals use 5),
/// "max_new_tokens" (0 = up to the decoder's 448 positions), "batch_windows" (8).
class WhisperTranscriber final : public Transcriber {
public:
    explicit WhisperTranscriber(const Params& params);  // throws Error
    Status transcribe(const Audio& audio, std::string& text) noexcept override;
    std::string describe() const noexcept override;

    std::string transcribe_or_throw(const Audio& audio) const;
    const Recognizer& recognizer() const { return *recognizer_; }

private:
    std::unique_ptr<Recognizer> recognizer_;
    std::string description_;
};

/// The options a Params set asks for (exposed for tests); throws Error(invalid_argument) naming the bad key.
RecognizerOptions options_from_params(const Params& params);

}  // namespace troupe::whisper
