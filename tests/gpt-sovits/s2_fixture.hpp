// Shared helpers of the GPT-SoVITS S2 tests: fixture paths, tensor comparison, WAV reading.
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <sndfile.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace s2test {

inline std::string conformance_root() {
    if (const char* env = std::getenv("TROUPE_CONFORMANCE_DIR"); env && *env) return env;
    return std::string(TROUPE_SOURCE_DIR) + "/../shared/conformance";
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

/// A mono 16-bit WAV as float samples (int16 / 32768).
inline at::Tensor read_wav_samples(const std::string& path, int* rate = nullptr) {
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    if (!f) throw std::runtime_error("cannot read " + path);
    std::vector<float> buf(size_t(info.frames) * size_t(info.channels));
    sf_readf_float(f, buf.data(), info.frames);
    sf_close(f);
    if (rate) *rate = info.samplerate;
    at::Tensor t = at::from_blob(buf.data(), {int64_t(info.frames), int64_t(info.channels)}, at::kFloat).clone();
    return t.mean(1);
}

inline at::Tensor ids_tensor(const nlohmann::json& list) {
    std::vector<int64_t> v = list.get<std::vector<int64_t>>();
    return at::from_blob(v.data(), {int64_t(v.size())}, at::kLong).clone();
}

}  // namespace s2test
