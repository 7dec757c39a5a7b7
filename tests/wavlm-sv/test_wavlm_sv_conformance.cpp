// WavLM speaker verification parity with transformers' WavLMForXVector on the tiny random-weight fixture sets
// (tests/wavlm-sv/tools/make_wavlm_sv_fixtures.py): input values, every hidden state, the weighted sum, the
// TDNN output, the pooled statistics, the embeddings and logits, and the cosine of every pair; then the plugin
// through the host and clear errors for broken folders.
#define BOOST_TEST_MODULE wavlm_sv_conformance
#include <boost/test/unit_test.hpp>

#include "../scorers/fixture.hpp"
#include "xvector.hpp"

#include <troupe/audio.hpp>
#include <troupe/host.hpp>

#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <filesystem>

using namespace troupe;
using scorertest::kTolerance;
using scorertest::max_abs_diff;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_CASE(every_set_matches_the_reference) {
    c10::NoGradGuard no_grad;
    const auto sets = scorertest::fixture_sets("wavlm-sv");
    if (sets.empty()) return;
    for (const std::string& dir : sets) {
        BOOST_TEST_CONTEXT("set " << dir) {
            const nlohmann::json cases = scorertest::read_json(dir + "/cases.json");
            const st::File tensors = st::File::open(dir + "/cases.safetensors");
            ssl::LoadOptions o;
            o.device = scorertest::test_device();
            auto sv = wavlm::SpeakerVerifier::load_dir(dir + "/model", o);
            std::vector<std::vector<float>> embeddings;
            for (const auto& c : cases["cases"]) {
                const std::string name = c["name"].get<std::string>();
                BOOST_TEST_CONTEXT("case " << name) {
                    const std::vector<float> wav = scorertest::read_wav(dir + "/" + c["wav"].get<std::string>());
                    const at::Tensor iv = sv->prepare(scorertest::to_tensor(wav));
                    BOOST_CHECK_LE(max_abs_diff(iv[0], tensors.tensor(name + ".input_values")), 1e-5);
                    const wavlm::XVectorOutput out = sv->forward(tensors.tensor(name + ".input_values").clone(), true);
                    std::vector<std::pair<std::string, at::Tensor>> checks{{"embeddings", out.embeddings[0]}, {"logits", out.logits[0]}};
                    for (const auto& [k, t] : out.traces) checks.emplace_back(k, t[0]);
                    for (const auto& [k, t] : checks) {
                        const std::string ref = name + "." + k;
                        if (!tensors.contains(ref)) continue;
                        const double d = max_abs_diff(t, tensors.tensor(ref));
                        BOOST_TEST_MESSAGE(ref << " max diff " << d);
                        BOOST_CHECK_MESSAGE(d <= kTolerance, ref << " differs by " << d);
                    }
                    BOOST_CHECK_EQUAL(out.traces.count(fmt::format("hidden_state{}", c["num_hidden_states"].get<int>() - 1)), 1u);
                    embeddings.push_back(sv->embed(wav));
                }
            }
            for (const auto& p : cases["pairs"]) {
                size_t a = 0, b = 0;
                for (size_t i = 0; i < cases["cases"].size(); ++i) {
                    if (cases["cases"][i]["name"] == p["a"]) a = i;
                    if (cases["cases"][i]["name"] == p["b"]) b = i;
                }
                const double cos = wavlm::cosine_similarity(embeddings[a], embeddings[b]);
                BOOST_TEST_MESSAGE(p["a"] << "~" << p["b"] << " cosine " << cos);
                BOOST_CHECK_LE(std::abs(cos - p["cosine"].get<double>()), kTolerance);
            }
        }
    }
}

namespace {
const std::string kSet = std::string(TROUPE_SOURCE_DIR) + "/tests/wavlm-sv/data/base";
std::string load_error(const std::string& dir) {
    try {
        wavlm::SpeakerVerifier::load_dir(dir);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

BOOST_AUTO_TEST_CASE(embeds_through_the_host) {
    HostOptions ho;
    ho.plugin_paths = {std::string(TROUPE_BINARY_DIR) + "/plugins"};
    ho.log_level = LogLevel::warn;
    Host host(ho);
    const PluginRecord* record = host.find_plugin("wavlm-sv");
    BOOST_REQUIRE_MESSAGE(record && record->ok, "plugin not loaded" << (record ? ": " + record->message : ""));
    BOOST_CHECK(record->manifest.kind == PluginKind::speaker_encoder);
    auto enc = host.create_as<SpeakerEncoder>("wavlm-sv", PluginKind::speaker_encoder, {{"model.dir", kSet + "/model"}});
    BOOST_TEST_MESSAGE(enc->describe());
    const nlohmann::json cases = scorertest::read_json(kSet + "/cases.json");
    const st::File tensors = st::File::open(kSet + "/cases.safetensors");
    for (const auto& c : cases["cases"]) {
        const Audio audio = read_wav(kSet + "/" + c["wav"].get<std::string>());
        std::vector<float> e;
        const Status s = enc->embed(audio, e);
        BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
        BOOST_CHECK_LE(max_abs_diff(scorertest::to_tensor(e), tensors.tensor(c["name"].get<std::string>() + ".embeddings")), kTolerance);
    }
    std::vector<float> e;
    BOOST_CHECK(!enc->embed(Audio{}, e).ok());
}

BOOST_AUTO_TEST_CASE(broken_folders_name_the_file_or_tensor) {
    BOOST_CHECK(load_error(kSet + "/no-such-model").find("no-such-model") != std::string::npos);
    const fs::path dir = fs::temp_directory_path() / ("troupe_wavlm_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::copy(kSet + "/model", dir, fs::copy_options::recursive);
    const st::File f = st::File::open((dir / "model.safetensors").string());
    for (const char* drop : {"wavlm.encoder.layers.0.attention.rel_attn_embed.weight", "tdnn.2.kernel.weight"}) {
        std::vector<std::pair<std::string, at::Tensor>> kept;
        for (const std::string& n : f.names())
            if (n != drop) kept.emplace_back(n, f.tensor(n).clone());
        st::save((dir / "broken.safetensors").string(), kept);
        fs::remove(dir / "model.safetensors.bak");
        fs::rename(dir / "model.safetensors", dir / "model.safetensors.bak");
        fs::rename(dir / "broken.safetensors", dir / "model.safetensors");
        const std::string e = load_error(dir.string());
        BOOST_TEST_MESSAGE(e);
        BOOST_CHECK(e.find(drop) != std::string::npos);
        fs::remove(dir / "model.safetensors");
        fs::rename(dir / "model.safetensors.bak", dir / "model.safetensors");
    }
    fs::remove_all(dir);
}
