// train/s2_model.hpp — the SoVITS (S2) networks as upstream's s2_train.py trains them: the generator
// (SynthesizerTrn with enc_q and weight-normed g/v parameters) loaded from a pretrained `.pth`, the
// MultiPeriodDiscriminator from its `D` file (or fresh), and the training forward
// (SynthesizerTrn.forward) with its two random draws taken from one injectable source.
#pragma once

#include "s2/config.hpp"
#include "s2/discriminator.hpp"
#include "s2/synthesizer.hpp"

#include <ATen/Tensor.h>
#include <c10/core/TensorOptions.h>
#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace troupe::sovits::train {

/// The random draws of one training forward. Upstream draws `torch.randn_like(m_q)` (the posterior
/// noise) and then `torch.rand([B])` (the slice starts) from the global generator; tests replay the
/// recorded draws through their own source.
class S2RandomSource {
public:
    virtual ~S2RandomSource() = default;
    /// eps of enc_q: standard normal of shape `sizes` (B, inter, T) with `options` (float, device).
    virtual at::Tensor posterior_noise(at::IntArrayRef sizes, const at::TensorOptions& options) = 0;
    /// U[0, 1) per batch item (B,), float32, on `device`.
    virtual at::Tensor slice_uniform(int64_t batch, const c10::Device& device) = 0;
};

/// Upstream's draws from ATen's default generator of the tensor's device.
class TorchRandomSource : public S2RandomSource {
public:
    at::Tensor posterior_noise(at::IntArrayRef sizes, const at::TensorOptions& options) override;
    at::Tensor slice_uniform(int64_t batch, const c10::Device& device) override;
};

/// A batch as TextAudioSpeakerCollate returns it (batch first; lengths int64).
struct S2Batch {
    at::Tensor ssl, ssl_lengths;    // (B, ssl_dim, T_ssl) float
    at::Tensor spec, spec_lengths;  // (B, bins, T) linear spectrogram
    at::Tensor wav, wav_lengths;    // (B, 1, samples) in [-1, 1]
    at::Tensor text, text_lengths;  // (B, N) phone ids
    S2Batch to(const c10::Device& device) const;
};

/// Everything SynthesizerTrn.forward returns (and the style vector), as upstream names them.
struct S2ForwardOutput {
    at::Tensor y_hat;          // (B, 1, segment_frames · hop)
    at::Tensor kl_ssl;         // commit loss: 0 with the frozen quantizer
    at::Tensor ids_slice;      // (B,) int64 slice start frames
    at::Tensor y_mask;         // (B, 1, T)
    at::Tensor z, z_p, m_p, logs_p, m_q, logs_q;
    at::Tensor ge;             // (B, gin, 1)
    at::Tensor quantized;      // (B, ssl_dim, T) codebook vectors after the ×2 upsampling
    at::Tensor z_slice;        // (B, inter, segment_frames)
};

/// The generator and discriminator of a fine-tuning run.
struct S2Networks {
    std::shared_ptr<s2::SynthesizerImpl> g;
    std::shared_ptr<s2::MultiPeriodDiscriminatorImpl> d;
    s2::S2Config config;
    nlohmann::json hps;             // the pretrained file's config (HParams as JSON; may be empty)
    bool posterior_loaded = false;  // enc_q came from the file (false: fresh, as upstream's strict=False)
    bool discriminator_loaded = false;
};

struct S2LoadOptions {
    double dropout = -1;        // < 0: the file's p_dropout (text encoder) and upstream's 0.1 (style encoder)
    c10::Device device{c10::kCPU};
};

/// Loads the generator from an upstream S2 `.pth` (`{"weight", "config", ...}`, fp16 or fp32, with or
/// without enc_q) and the discriminator from `d_path` (`{"weight": ...}`; empty: a fresh one with
/// upstream's widths). float32, on options.device, in train mode. Throws Error(invalid_file) naming
/// the file when it is not a v2 S2 generator / discriminator.
S2Networks load_s2_networks(const std::string& g_path, const std::string& d_path, const S2LoadOptions& options = {});

/// SynthesizerTrn.forward(ssl, spec, spec_lengths, text, text_lengths) in training mode with the
/// frozen quantizer (ssl_proj and quantizer in eval, no gradient through the codebook).
/// `segment_frames` = train.segment_size / hop_length.
S2ForwardOutput s2_train_forward(s2::SynthesizerImpl& g, const S2Batch& batch, int64_t segment_frames,
                                 S2RandomSource& random);

/// commons.slice_segments: x (B, C, T), starts (B,) → (B, C, size); past the end it is zero-padded
/// (upstream would fail there).
at::Tensor slice_segments(const at::Tensor& x, const at::Tensor& starts, int64_t size);

/// A module's parameters (name, tensor) in named_parameters() order (upstream's order).
std::vector<std::pair<std::string, at::Tensor>> module_params(const torch::nn::Module& module);

}  // namespace troupe::sovits::train
