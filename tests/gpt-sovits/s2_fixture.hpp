// Shared helpers of the GPT-SoVITS S2 tests: fixture paths, tensor comparison, WAV reading.
#pragma once

#include "../common/conformance.hpp"

#include <troupe/audio.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace s2test {

inline std::string conformance_root() {
    return troupe::test::conformance_root().string();
}
inline std::string gsv_dir() { return conformance_root() + "/gpt-sovits"; }

inline nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    return nlohmann::json::parse(in);
}

struct Diff {
    double max_abs = 0, rel_l2 = 0;
};

inline Diff compare(const at::Tensor& got, const at::Tensor& want) {
    at::Tensor g = got.detach().to(at::kCPU, at::kDouble), w = want.detach().to(at::kCPU, at::kDouble);
    if (g.sizes() != w.sizes()) throw std::runtime_error("shape mismatch");
    Diff d;
    d.max_abs = (g - w).abs().max().item<double>();
    const double denom = w.norm().item<double>();
    d.rel_l2 = (g - w).norm().item<double>() / (denom > 0 ? denom : 1.0);
    return d;
}

/// A WAV as mono float samples (libsndfile scaling: int16 / 32768), through troupe::read_wav.
inline at::Tensor read_wav_samples(const std::string& path, int* rate = nullptr) {
    troupe::Audio audio = troupe::read_wav(path);
    if (rate) *rate = audio.sample_rate;
    return at::from_blob(audio.samples.data(), {int64_t(audio.samples.size())}, at::kFloat).clone();
}

/// The output sample rate and samples per latent frame (product of upsample_rates) of the fixture's
/// S2 model, read from the config stored in models/s2.pth (never assumed: fixture sets differ).
struct S2AudioFacts {
    int64_t sample_rate = 0, hop = 0;
};
inline S2AudioFacts s2_audio_facts() {
    const auto ck = troupe::pt::Checkpoint::open(gsv_dir() + "/models/s2.pth");
    const nlohmann::json hps = troupe::pt::to_json(ck.root().at("config"));
    S2AudioFacts f;
    f.sample_rate = hps.at("data").at("sampling_rate").get<int64_t>();
    f.hop = 1;
    for (const auto& r : hps.at("model").at("upsample_rates")) f.hop *= r.get<int64_t>();
    return f;
}

inline at::Tensor ids_tensor(const nlohmann::json& list) {
    std::vector<int64_t> v = list.get<std::vector<int64_t>>();
    return at::from_blob(v.data(), {int64_t(v.size())}, at::kLong).clone();
}

}  // namespace s2test
