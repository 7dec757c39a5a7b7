// Helpers for the SSL / CTC conformance tests: fixture root, JSON, WAV and tensor references.
#pragma once

#include "../common/conformance.hpp"

#include <troupe/ssl/encoder.hpp>
#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <sndfile.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace ssltest {

inline std::string conformance_root() {
    return troupe::test::conformance_root().string();
}

/// Where the models run: env TROUPE_TEST_DEVICE ("cpu" default, "cuda", "cuda:1"). On CUDA, TF32
/// convolutions are switched off so the float32 tolerances hold.
inline troupe::ssl::LoadOptions load_options() {
    troupe::ssl::LoadOptions o;
    if (const char* env = std::getenv("TROUPE_TEST_DEVICE"); env && *env) {
        o.device = c10::Device(std::string(env));
        if (o.device.is_cuda()) at::globalContext().setAllowTF32CuDNN(false);
    }
    return o;
}
inline std::string device_name() { return load_options().device.str(); }

inline nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    return nlohmann::json::parse(in);
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
    if (a.sizes() != b.sizes()) return std::numeric_limits<double>::infinity();
    return (a.to(at::kCPU, at::kDouble) - b.to(at::kCPU, at::kDouble)).abs().max().item<double>();
}

/// Mono float samples of a WAV file (int16 / 32768 for 16-bit PCM), with its rate.
inline std::vector<float> read_wav(const std::string& path, int& rate) {
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    if (!f) throw std::runtime_error("cannot read WAV " + path);
    std::vector<float> frames(size_t(info.frames * info.channels));
    sf_readf_float(f, frames.data(), info.frames);
    sf_close(f);
    rate = info.samplerate;
    std::vector<float> mono(size_t(info.frames));
    for (sf_count_t i = 0; i < info.frames; ++i) {
        double acc = 0;
        for (int c = 0; c < info.channels; ++c) acc += frames[size_t(i * info.channels + c)];
        mono[size_t(i)] = float(acc / info.channels);
    }
    return mono;
}

inline at::Tensor to_tensor(const std::vector<float>& v) {
    return at::from_blob(const_cast<float*>(v.data()), {int64_t(v.size())}, at::kFloat).clone();
}

/// Resolves a fixture reference "relative/file.safetensors:tensor.name" against `dir`.
inline at::Tensor tensor_ref(const std::string& dir, const std::string& ref) {
    const size_t colon = ref.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("bad tensor reference " + ref);
    return troupe::st::File::open(dir + "/" + ref.substr(0, colon)).tensor(ref.substr(colon + 1)).clone();
}

}  // namespace ssltest
