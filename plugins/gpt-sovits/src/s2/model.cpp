#include "s2/model.hpp"

#include "s2/synthesizer.hpp"

#include <troupe/json_file.hpp>
#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

namespace troupe::sovits::s2 {
namespace fs = std::filesystem;

struct S2Model::State {
    std::shared_ptr<SynthesizerImpl> net;
    c10::Device device{c10::kCPU};
    std::string source;
};

S2Model::S2Model() : s_(std::make_unique<State>()) {}
S2Model::S2Model(S2Model&&) noexcept = default;
S2Model& S2Model::operator=(S2Model&&) noexcept = default;
S2Model::~S2Model() = default;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

S2Model load_safetensors(const std::string& path, c10::Device device) {
    const fs::path p(path);
    fs::path config_path = p.parent_path() / (p.stem().string() + "_config.json");
    if (!fs::exists(config_path)) config_path = p.parent_path() / "config.json";
    if (!fs::exists(config_path))
        throw Error(Errc::not_found, fmt::format("{}: no config beside it ({}_config.json or config.json)", path,
                                                 p.stem().string()));
    const nlohmann::json hps = read_json_file(config_path.string());
    st::File file = st::File::open(path);
    StateDict state;
    for (const auto& name : file.names()) state[name] = file.tensor(name);
    return S2Model::from_state(state, hps, path, device);
}

// Upstream process_ckpt.savee export: {"weight": {name: fp16 tensor}, "config": HParams, "info": str},
// possibly with a 2-byte version tag over "PK" (accepted by pt::Checkpoint; the weights decide).
S2Model load_pth(const std::string& path, c10::Device device) {
    const pt::Checkpoint ck = pt::Checkpoint::open(path);
    const StateDict state = ck.state_dict("weight");
    nlohmann::json hps = nlohmann::json::object();
    if (const pt::Value* config = ck.root().find("config"); config && !config->is_none()) hps = pt::to_json(*config);
    if (!hps.is_object())
        throw Error(Errc::invalid_file, fmt::format("{}: 'config' is not a mapping of hyperparameters", path));
    return S2Model::from_state(state, hps, path, device);
}

}  // namespace

S2Model S2Model::load(const std::string& path, c10::Device device) {
    if (!fs::exists(path)) throw Error(Errc::not_found, fmt::format("{}: no such file", path));
    if (ends_with(path, ".safetensors")) return load_safetensors(path, device);
    if (ends_with(path, ".pth") || ends_with(path, ".pt") || ends_with(path, ".ckpt")) return load_pth(path, device);
    throw Error(Errc::unsupported, fmt::format("{}: unknown S2 checkpoint format (expected .pth or .safetensors)", path));
}

S2Model S2Model::from_state(const StateDict& state, const nlohmann::json& hps, const std::string& source,
                            c10::Device device, bool training) {
    S2Config config = S2Config::from_json(hps, source);
    for (const char* key : {"sv_emb.weight", "ge_to512.weight", "prelu.weight"})
        if (state.count(key))
            throw Error(Errc::unsupported, fmt::format("{}: a v2Pro/v2ProPlus model ('{}'); only v2 is supported", source, key));
    const bool has_cfm = state.lower_bound("cfm.") != state.end() && state.lower_bound("cfm.")->first.rfind("cfm.", 0) == 0;
    if (has_cfm || config.version == "v3" || config.version == "v4")
        throw Error(Errc::unsupported, fmt::format("{}: a v3/v4 model; only v2 is supported", source));
    config.resolve_from_weights(state, source);
    S2Model model;
    model.s_->net = std::make_shared<SynthesizerImpl>(config, training);
    load_state(*model.s_->net, state, "", source);
    model.s_->net->to(device);
    model.s_->net->train(training);
    model.s_->device = device;
    model.s_->source = source;
    return model;
}

const S2Config& S2Model::config() const { return s_->net->config(); }
c10::Device S2Model::device() const { return s_->device; }
SynthesizerImpl& S2Model::module() { return *s_->net; }

std::string S2Model::describe() const {
    const S2Config& c = config();
    return fmt::format("GPT-SoVITS {} S2 ({}; hidden {}, gin {}, {} Hz)", c.version, s_->source, c.hidden_channels,
                       c.gin_channels, c.sampling_rate);
}

SpectrogramParams S2Model::spectrogram_params() const {
    const S2Config& c = config();
    SpectrogramParams p;
    p.n_fft = c.filter_length;
    p.hop = c.hop_length;
    p.win = c.win_length;
    p.sampling_rate = c.sampling_rate;
    return p;
}

at::Tensor S2Model::spectrogram(const at::Tensor& wav) const {
    c10::NoGradGuard no_grad;
    return linear_spectrogram(wav.to(s_->device), spectrogram_params());
}

at::Tensor S2Model::style(const at::Tensor& spec) const {
    c10::NoGradGuard no_grad;
    if (spec.dim() != 3 || spec.size(1) < config().style_in)
        throw Error(Errc::invalid_argument, fmt::format("S2 style: spectrogram must be (B, ≥{}, F)", config().style_in));
    return s_->net->style(spec.to(s_->device, at::kFloat));
}

at::Tensor S2Model::mean_style(const std::vector<at::Tensor>& specs) const {
    if (specs.empty()) throw Error(Errc::invalid_argument, "S2: no reference spectrogram");
    std::vector<at::Tensor> ges;
    for (const auto& spec : specs) ges.push_back(style(spec));
    return at::stack(ges, 0).mean(0);
}

at::Tensor S2Model::ssl_latent(const at::Tensor& ssl) const {
    c10::NoGradGuard no_grad;
    return s_->net->ssl_latent(ssl.to(s_->device, at::kFloat));
}

at::Tensor S2Model::extract_latent(const at::Tensor& ssl) const {
    c10::NoGradGuard no_grad;
    if (ssl.dim() != 3 || ssl.size(1) != config().ssl_dim || ssl.size(2) < 2)
        throw Error(Errc::invalid_argument,
                    fmt::format("S2 extract_latent: SSL features must be (B, {}, F ≥ 2)", config().ssl_dim));
    return s_->net->extract_latent(ssl.to(s_->device, at::kFloat));
}

namespace {
constexpr int64_t kNoiseBlock = 64;  // frames per noise block (one generator each)

uint64_t mix_seed(uint64_t seed, uint64_t block) {  // splitmix64 of (seed, block)
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (block + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
}  // namespace

at::Tensor prior_noise(uint64_t seed, int64_t batch, int64_t channels, int64_t first, int64_t count) {
    std::vector<at::Tensor> parts;
    for (int64_t block = first / kNoiseBlock; block * kNoiseBlock < first + count; ++block) {
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(mix_seed(seed, uint64_t(block)));
        const at::Tensor b = at::randn({kNoiseBlock, batch, channels}, gen, at::TensorOptions().dtype(at::kFloat));
        const int64_t lo = std::max(first, block * kNoiseBlock), hi = std::min(first + count, (block + 1) * kNoiseBlock);
        parts.push_back(b.slice(0, lo - block * kNoiseBlock, hi - block * kNoiseBlock));
    }
    if (parts.empty()) return at::zeros({batch, channels, 0}, at::kFloat);
    return at::cat(parts, 0).permute({1, 2, 0}).contiguous();
}

int64_t S2Model::frames_per_token() const { return config().semantic_frame_rate == "25hz" ? 2 : 1; }

Prior S2Model::encode(const at::Tensor& codes_in, const at::Tensor& text_in, const at::Tensor& ge_in, double speed) const {
    c10::NoGradGuard no_grad;
    const S2Config& c = config();
    SynthesizerImpl& net = *s_->net;
    if (codes_in.dim() != 3 || codes_in.size(2) < 1)
        throw Error(Errc::invalid_argument, "S2 decode: codes must be (n_q, B, T) with T ≥ 1");
    if (text_in.dim() != 2 || text_in.size(1) < 1)
        throw Error(Errc::invalid_argument, "S2 decode: phone ids must be (B, N) with N ≥ 1");
    if (!(speed > 0)) throw Error(Errc::invalid_argument, "S2 decode: speed must be > 0");
    const at::Tensor codes = codes_in.to(s_->device, at::kLong);
    const at::Tensor text = text_in.to(s_->device, at::kLong);
    if (codes.min().item<int64_t>() < 0 || codes.max().item<int64_t>() >= c.codebook_size)
        throw Error(Errc::invalid_argument, fmt::format("S2 decode: semantic codes must lie in [0, {})", c.codebook_size));
    if (text.min().item<int64_t>() < 0 || text.max().item<int64_t>() >= c.vocab)
        throw Error(Errc::invalid_argument, fmt::format("S2 decode: phone ids must lie in [0, {})", c.vocab));

    Prior p;
    p.ge = ge_in.defined() ? ge_in.to(s_->device, at::kFloat) : at::Tensor();
    at::Tensor quantized = net.quantizer->decode(codes);
    const int64_t frames = codes.size(2) * frames_per_token();
    if (frames != codes.size(2)) quantized = at::upsample_nearest1d(quantized, {frames});
    const int64_t batch = text.size(0);
    const auto long_opts = at::TensorOptions().dtype(at::kLong).device(s_->device);
    const at::Tensor y_lengths = at::full({batch}, frames, long_opts);
    const at::Tensor text_lengths = at::full({batch}, text.size(1), long_opts);
    TextEncoderOutput enc = net.enc_p->forward(quantized, y_lengths, text, text_lengths, p.ge, speed);
    p.x = enc.x;
    p.m = enc.m;
    p.logs = enc.logs;
    p.y_mask = enc.y_mask;
    return p;
}

at::Tensor S2Model::decode_frames(const Prior& p, int64_t first, int64_t end, const DecodeOptions& opt, at::Tensor* z_out) const {
    c10::NoGradGuard no_grad;
    SynthesizerImpl& net = *s_->net;
    if (first < 0 || end > p.m.size(2) || first >= end)
        throw Error(Errc::invalid_argument,
                    fmt::format("S2 decode: frames [{}, {}) outside the prior's {} frames", first, end, p.m.size(2)));
    const at::Tensor m = p.m.slice(2, first, end), logs = p.logs.slice(2, first, end), mask = p.y_mask.slice(2, first, end);
    at::Tensor z_p = m;
    if (opt.noise_scale != 0.0) {
        const at::Tensor noise = prior_noise(opt.seed, m.size(0), m.size(1), first, end - first).to(s_->device);
        z_p = m + noise * at::exp(logs) * opt.noise_scale;
    }
    at::Tensor z = net.flow->forward(z_p, mask, p.ge, /*reverse=*/true);
    at::Tensor audio = net.dec->forward(z * mask, p.ge);
    if (z_out) *z_out = z;
    return audio;
}

DecodeResult S2Model::decode(const at::Tensor& codes, const at::Tensor& text, const at::Tensor& ge,
                             const DecodeOptions& opt) const {
    const Prior p = encode(codes, text, ge, opt.speed);
    DecodeResult r;
    r.ge = p.ge;
    r.enc_p_x = p.x;
    r.m_p = p.m;
    r.logs_p = p.logs;
    r.y_mask = p.y_mask;
    r.audio = decode_frames(p, 0, p.m.size(2), opt, &r.z);
    return r;
}

}  // namespace troupe::sovits::s2
