// s2/model.hpp — SoVITS v2 (upstream SynthesizerTrn) for inference: reference spectrogram and
// style vector, extract_latent (prompt semantic codes), and decode (codes + phones + style → 32 kHz
// waveform). The torch::nn module tree stays reachable (module()) for training code.
#pragma once

#include "s2/config.hpp"
#include "s2/spectrogram.hpp"

#include <ATen/Tensor.h>
#include <c10/core/Device.h>
#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace troupe::sovits::s2 {

class SynthesizerImpl;

/// Everything decode computed; tensors as upstream names them (batch first, on the model's device).
struct DecodeResult {
    at::Tensor audio;    // (B, 1, hop·frames), in [−1, 1]
    at::Tensor ge;       // (B, gin, 1) style vector used
    at::Tensor enc_p_x;  // (B, hidden, frames) encoder output (after the speed interpolation)
    at::Tensor m_p, logs_p;
    at::Tensor y_mask;   // (B, 1, frames)
    at::Tensor z;        // flow output
};

struct DecodeOptions {
    double noise_scale = 0.5;  // upstream's hard default for v2
    double speed = 1.0;
    uint64_t seed = 0;         // noise is drawn on the CPU from this seed (same on every device)
};

/// The prior of a decode: the encoder (enc_p) over all codes given, before noise, flow and generator.
struct Prior {
    at::Tensor x;       // (B, hidden, frames) encoder output (after the speed interpolation)
    at::Tensor m, logs; // (B, inter, frames) prior mean and log-std
    at::Tensor y_mask;  // (B, 1, frames)
    at::Tensor ge;      // (B, gin, 1) style vector, or undefined
};

/// Standard-normal prior noise of frames [first, first + count): (B, channels, count). Frame f's
/// values depend only on (seed, f) — they are drawn in blocks of frames, each from its own
/// CPU generator — so a decode of frames [a, b) of any length of utterance sees the same noise as
/// the one-shot decode at those frames (chunked streaming decode, s2/stream.hpp).
at::Tensor prior_noise(uint64_t seed, int64_t batch, int64_t channels, int64_t first, int64_t count);

class S2Model {
public:
    /// Loads a `.pth` (upstream process_ckpt.savee export, optionally version-tagged) or a
    /// `.safetensors` with its config (`<stem>_config.json` or `config.json` beside it).
    static S2Model load(const std::string& path, c10::Device device = c10::Device("cpu"));
    /// From tensors already read and the hps JSON (`{"data":…, "model":…}`).
    static S2Model from_state(const StateDict& state, const nlohmann::json& hps, const std::string& source,
                              c10::Device device = c10::Device("cpu"), bool training = false);

    S2Model(S2Model&&) noexcept;
    S2Model& operator=(S2Model&&) noexcept;
    ~S2Model();

    const S2Config& config() const;
    c10::Device device() const;
    SpectrogramParams spectrogram_params() const;
    std::string describe() const;

    /// Reference waveform at config().sampling_rate ((N) or (1, N)) → (1, bins, F) linear spectrogram.
    at::Tensor spectrogram(const at::Tensor& wav) const;
    /// ref_enc(spec[:, :style_in] · mask, mask) → (1, gin, 1).
    at::Tensor style(const at::Tensor& spec) const;
    /// Mean of the style vectors of several reference spectrograms (upstream "multi-reference" fusion).
    at::Tensor mean_style(const std::vector<at::Tensor>& specs) const;
    /// ssl_proj(ssl): (B, ssl_dim, F_ssl) → (B, ssl_dim, T).
    at::Tensor ssl_latent(const at::Tensor& ssl) const;
    /// extract_latent: nearest codebook rows of ssl_proj(ssl) → (B, n_q, T) int64.
    at::Tensor extract_latent(const at::Tensor& ssl) const;
    /// decode(codes (1, 1, T) or (n_q, B, T), text (B, N) phone ids, ge (B, gin, 1)).
    /// decode() is encode() then decode_frames() over all frames.
    DecodeResult decode(const at::Tensor& codes, const at::Tensor& text, const at::Tensor& ge,
                        const DecodeOptions& options = {}) const;
    /// The checked inputs and the encoder pass of decode(): codes (n_q, B, T), text (B, N), ge.
    Prior encode(const at::Tensor& codes, const at::Tensor& text, const at::Tensor& ge, double speed) const;
    /// Prior sample (noise of frames [first, end) from options.seed), reverse flow and generator
    /// over those frames of `prior` only: (B, 1, hop·(end − first)) and the flow output in `z`.
    /// Near the ends of the range the convolutions see zero padding instead of the neighbouring
    /// frames, so a caller wanting frames of the whole decode keeps context frames around them.
    at::Tensor decode_frames(const Prior& prior, int64_t first, int64_t end, const DecodeOptions& options,
                             at::Tensor* z = nullptr) const;
    /// Frames per semantic token (2 at 25 Hz) and samples per frame (hop).
    int64_t frames_per_token() const;

    /// The module tree (upstream state_dict names); for training and weight export.
    SynthesizerImpl& module();

private:
    S2Model();
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace troupe::sovits::s2
