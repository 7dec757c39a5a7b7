// Shared helpers of the scorer conformance tests (whisper, wavlm-sv, utmos): where the fixture sets are,
// JSON, WAV and tensor reading, comparisons. A set is a folder with cases.json; the sets of a model are the
// subfolders of tests/<model>/data, or of $TROUPE_CONFORMANCE_DIR/<model> when that variable is set.
#pragma once

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <sndfile.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

namespace scorertest {

/// The fixture sets (folders holding cases.json) of `model`, sorted; empty (with a message) when
/// TROUPE_CONFORMANCE_DIR is set and has no `model` folder.
inline std::vector<std::string> fixture_sets(const std::string& model) {
    namespace fs = std::filesystem;
    std::string root;
    if (const char* env = std::getenv("TROUPE_CONFORMANCE_DIR"); env && *env) {
        root = std::string(env) + "/" + model;
        if (!fs::is_directory(root)) {
            std::cout << "skipped: " << root << " does not exist (no " << model << " fixtures in TROUPE_CONFORMANCE_DIR)\n";
            return {};
        }
    } else {
        root = std::string(TROUPE_SOURCE_DIR) + "/tests/" + model + "/data";
    }
    std::vector<std::string> sets;
    if (fs::exists(root + "/cases.json")) sets.push_back(root);
    for (const auto& e : fs::directory_iterator(root))
        if (e.is_directory() && fs::exists(e.path() / "cases.json")) sets.push_back(e.path().string());
    std::sort(sets.begin(), sets.end());
    return sets;
}

inline nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    return nlohmann::json::parse(in);
}

/// Mono float samples of a 16-bit WAV file (int16 / 32768, as the generators feed the references).
inline std::vector<float> read_wav(const std::string& path, int* rate = nullptr) {
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    if (!f) throw std::runtime_error("cannot read WAV " + path);
    std::vector<short> pcm(size_t(info.frames * info.channels));
    sf_readf_short(f, pcm.data(), info.frames);
    sf_close(f);
    if (rate) *rate = info.samplerate;
    std::vector<float> mono(size_t(info.frames));
    for (sf_count_t i = 0; i < info.frames; ++i) mono[size_t(i)] = float(pcm[size_t(i * info.channels)]) / 32768.0f;
    return mono;
}

inline at::Tensor to_tensor(const std::vector<float>& v) {
    return at::from_blob(const_cast<float*>(v.data()), {int64_t(v.size())}, at::kFloat).clone();
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
    if (a.sizes() != b.sizes()) return std::numeric_limits<double>::infinity();
    return (a.to(at::kCPU, at::kDouble) - b.to(at::kCPU, at::kDouble)).abs().max().item<double>();
}

inline std::vector<int64_t> ids(const nlohmann::json& j) { return j.get<std::vector<int64_t>>(); }

/// Where the models run: env TROUPE_TEST_DEVICE ("cpu" default, "cuda", "cuda:1").
inline c10::Device test_device() {
    if (const char* env = std::getenv("TROUPE_TEST_DEVICE"); env && *env) {
        c10::Device d{std::string(env)};
        if (d.is_cuda()) {
            at::globalContext().setAllowTF32CuDNN(false);
            at::globalContext().setAllowTF32CuBLAS(false);
        }
        return d;
    }
    return c10::Device(c10::kCPU);
}

/// float32 parity tolerance of the scorer fixtures.
constexpr double kTolerance = 1e-4;

}  // namespace scorertest
