// transcriber.hpp — the `wav2vec2-ctc` troupe::Transcriber: resample to the model rate, normalise,
// Wav2Vec2ForCTC forward, greedy CTC decode (text as Wav2Vec2CTCTokenizer.decode returns it).
#pragma once

#include "ctc_model.hpp"

#include <troupe/plugin.hpp>

#include <memory>
#include <mutex>

namespace troupe::w2v {

/// Params: "model.dir" (required: a HF Wav2Vec2ForCTC folder), "device" ("cpu" default, "cuda", "cuda:N"),
/// "max_chunk_seconds" (default 30): longer audio is cut into equal chunks of at most this length, each
/// normalised and decoded on its own, and the texts are joined with a space (attention cost grows with the
/// square of the length; a word cut at a chunk edge may be split).
class Wav2Vec2CtcTranscriber final : public Transcriber {
public:
    explicit Wav2Vec2CtcTranscriber(const Params& params);  // throws Error
    Status transcribe(const Audio& audio, std::string& text) noexcept override;
    std::string describe() const noexcept override;

    /// The same as transcribe() but throwing.
    std::string transcribe_or_throw(const Audio& audio) const;
    const CtcModel& model() const { return *model_; }
    double max_chunk_seconds() const { return max_chunk_seconds_; }

private:
    std::unique_ptr<CtcModel> model_;
    std::string description_;
    double max_chunk_seconds_ = 30.0;
};

}  // namespace troupe::w2v
