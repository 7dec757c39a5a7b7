// engine.hpp — GPT-SoVITS v2 synthesis end to end (upstream inference_webui.get_tts_wav / TTS.run):
// a prepared voice (prompt semantic codes via HuBERT + extract_latent, prompt phones, reference
// spectrograms, fused style vector; computed once and cached) + target text → per segment S1
// tokens → S2 waveform, normalised if its peak exceeds 1, followed by a pause → 32 kHz audio.
#pragma once

#include "s1/decoder.hpp"
#include "s2/model.hpp"
#include "s2/stream.hpp"
#include "text/frontend.hpp"

#include <troupe/types.hpp>

#include <ATen/Tensor.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace troupe::ssl {
class Encoder;
}

namespace troupe::sovits {

struct EngineOptions {
    std::string s1_path;       // upstream .ckpt (or .safetensors + config)
    std::string s2_path;       // upstream .pth (or .safetensors + config)
    std::string hubert_dir;    // chinese-hubert-base HF folder; empty = prompt codes must be given
    std::string device = "cpu";
    std::string s1_dtype = "float32";  // S1 weights/activations: float32 | bfloat16 | float16 (logits stay float32)
    /// Decode a request's segments in one S1 batch (s1::infer_panel_batch, static steps) instead of
    /// one after the other. Each segment keeps its own noise (seed + segment index), so the tokens
    /// are those of the unbatched decode except that a segment cut by the early stop or the step cap
    /// loses its last token (upstream's parallel_infer). Not used for streaming, reference-free
    /// voices or a single segment (those decode one segment at a time).
    bool s1_batch = false;
};

/// What defines a voice. Either hubert (engine) or prompt_codes produce the prompt semantic codes;
/// prompt_phones, when given, replace the G2P of reference_text.
struct VoiceSpec {
    std::string reference_audio;              // WAV (any rate; resampled as upstream)
    std::string reference_text;               // empty = reference-free mode (no prompt)
    std::vector<std::string> extra_references;  // more WAVs whose style vectors are averaged in
    std::optional<std::vector<int64_t>> prompt_codes;
    std::optional<std::vector<int64_t>> prompt_phones;
    std::string key() const;
};

/// A voice ready for synthesis (immutable once prepared).
struct PreparedVoice {
    std::string key;
    at::Tensor prompt_codes;                  // (1, T) int64, undefined in reference-free mode
    std::vector<int64_t> prompt_phones;       // empty in reference-free mode
    std::vector<at::Tensor> specs;            // (1, bins, F) per reference
    at::Tensor ge;                            // (1, gin, 1) mean style vector
};

struct SynthOptions {
    std::optional<int64_t> top_k = 15;
    double top_p = 1.0, temperature = 1.0, repetition_penalty = 1.35;
    double noise_scale = 0.5;
    double speed = 1.0;
    uint64_t seed = 0;
    double pause_seconds = 0.3;               // silence after each segment
    text::CutMethod cut = text::CutMethod::sentences;
};

struct SynthSegment {
    std::vector<int64_t> phones;              // target phones
    at::Tensor tokens;                        // (1, G) semantic tokens passed to S2
    s1::StopReason stop = s1::StopReason::eos;
    at::Tensor audio;                         // (samples) float32 on the CPU, before the pause
};

/// Streaming synthesis: S2 decodes each segment in chunks while S1 is still generating it
/// (s2/stream.hpp), and `on_audio` receives every piece as soon as it is final, pauses included.
/// Differences to the one-shot path: a segment whose peak exceeds 1 is clipped instead of
/// normalised (the peak is not known in advance); when S1 stops at its cap (early_stop_num or
/// max_steps) upstream's quirk of dropping the first kept token is not applied to the audio.
struct Streaming {
    s2::StreamOptions options;
    s2::AudioChunkFn on_audio;   // false: stop (the call throws Error(cancelled))
};

struct SynthResult {
    int sample_rate = 32000;
    std::vector<float> samples;
    std::vector<SynthSegment> segments;
};

class Engine {
public:
    static std::shared_ptr<Engine> load(const EngineOptions& options);
    ~Engine();

    const s2::S2Model& s2() const { return *s2_; }
    std::string describe() const;
    int sample_rate() const;

    /// Prepares (or returns the cached) voice. Throws Error naming the file for unreadable audio,
    /// Error(invalid_argument) for a reference outside upstream's 3–10 s (HuBERT path) or missing codes.
    std::shared_ptr<const PreparedVoice> prepare_voice(const VoiceSpec& spec);

    /// Synthesises text: Korean front-end, split into segments by options.cut.
    /// With `streaming`, the audio is also handed out in pieces as it is produced (see Streaming).
    SynthResult synthesize(const PreparedVoice& voice, const std::string& text, const SynthOptions& options,
                           const Streaming* streaming = nullptr);
    /// Synthesises given target phone ids, one segment per list (no G2P, no splitting).
    SynthResult synthesize_phones(const PreparedVoice& voice, const std::vector<std::vector<int64_t>>& segments,
                                  const SynthOptions& options, const Streaming* streaming = nullptr);

private:
    Engine();
    /// S1 then S2 for one segment; with `decoded` (from decode_batch) S1 already ran.
    SynthSegment run_segment(const PreparedVoice& voice, const std::vector<int64_t>& phones, const SynthOptions& options,
                             uint64_t seed, const Streaming* streaming, const s1::BatchRowResult* decoded = nullptr);
    /// S1 sampling options and stop rule for a request (the noise is set by the caller).
    s1::DecodeOptions decode_options(const SynthOptions& options) const;
    /// Target phones after the voice's prompt phones, checked against the phone vocabulary.
    at::Tensor text_row(const PreparedVoice& voice, const std::vector<int64_t>& phones) const;
    /// S1 for every segment in one batch (EngineOptions::s1_batch); segment i's noise from seed + i.
    std::vector<s1::BatchRowResult> decode_batch(const PreparedVoice& voice, const std::vector<std::vector<int64_t>>& segments,
                                                 const SynthOptions& options);
    /// S1 for one segment; `on_token` (may be empty) sees each token as it is generated.
    s1::DecodeResult decode_tokens(const PreparedVoice& voice, const std::vector<int64_t>& phones,
                                   const SynthOptions& options, uint64_t seed,
                                   std::function<bool(int64_t)> on_token);

    c10::Device device_{c10::kCPU};
    std::unique_ptr<s2::S2Model> s2_;
    s1::LoadedS1 s1_;
    std::unique_ptr<ssl::Encoder> hubert_;
    std::string hubert_dir_;
    bool s1_batch_ = false;
    text::KoreanFrontend frontend_;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<const PreparedVoice>> voices_;
};

/// Reads a list of integers from a file: a JSON array, or numbers separated by spaces, commas or
/// newlines. Throws Error(invalid_file) naming the file.
std::vector<int64_t> read_id_list(const std::string& path);
/// Phone ids for prompt and target: JSON {"prompt": [...], "target": [...]} or two lines of ids
/// (prompt, then target; an empty first line = reference-free).
struct PhoneIdFile {
    std::vector<int64_t> prompt, target;
};
PhoneIdFile read_phone_id_file(const std::string& path);

}  // namespace troupe::sovits
