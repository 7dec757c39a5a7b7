// UTMOS22 strong parity with SpeechMOS' model code on the tiny random-weight fixture set
// (tests/utmos/tools/make_utmos_fixtures.py): the conv features, the SSL output, the BLSTM output, the frame
// scores and the utterance score of every input, from the torch.save state dict and from safetensors; then the
// plugin through the host and clear errors.
#define BOOST_TEST_MODULE utmos_conformance
#include <boost/test/unit_test.hpp>

#include "../scorers/fixture.hpp"
#include "estimator.hpp"

#include <troupe/audio.hpp>
#include <troupe/host.hpp>

#include <c10/core/GradMode.h>

#include <filesystem>

using namespace troupe;
using scorertest::kTolerance;
using scorertest::max_abs_diff;
namespace fs = std::filesystem;

namespace {
/// The model files of a set: every .pt and .safetensors in model/.
std::vector<std::string> model_files(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir + "/model"))
        if (e.path().extension() == ".pt" || e.path().extension() == ".safetensors") out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}
}  // namespace

BOOST_AUTO_TEST_CASE(every_set_matches_the_reference) {
    c10::NoGradGuard no_grad;
    const auto sets = scorertest::fixture_sets("utmos");
    if (sets.empty()) return;
    for (const std::string& dir : sets) {
        const nlohmann::json cases = scorertest::read_json(dir + "/cases.json");
        const st::File tensors = st::File::open(dir + "/cases.safetensors");
        const auto files = model_files(dir);
        BOOST_REQUIRE(!files.empty());
        for (const std::string& file : files) {
            BOOST_TEST_CONTEXT("model " << file) {
                ssl::LoadOptions o;
                o.device = scorertest::test_device();
                auto p = utmos::Predictor::load_file(file, o);
                for (const auto& c : cases["cases"]) {
                    const std::string name = c["name"].get<std::string>();
                    BOOST_TEST_CONTEXT("case " << name) {
                        const std::vector<float> wav = scorertest::read_wav(dir + "/" + c["wav"].get<std::string>());
                        BOOST_CHECK_LE(max_abs_diff(scorertest::to_tensor(wav), tensors.tensor(name + ".waveform")), 0.0);
                        const utmos::Output out = p->forward(scorertest::to_tensor(wav).unsqueeze(0), true);
                        std::vector<std::pair<std::string, at::Tensor>> checks{{"frame_scores", out.frame_scores[0]}, {"score", out.score}};
                        for (const auto& [k, t] : out.traces) checks.emplace_back(k, t[0]);
                        for (const auto& [k, t] : checks) {
                            const double d = max_abs_diff(t, tensors.tensor(name + "." + k));
                            BOOST_TEST_MESSAGE(name << "." << k << " max diff " << d);
                            BOOST_CHECK_MESSAGE(d <= kTolerance, name << "." << k << " differs by " << d);
                        }
                        BOOST_CHECK_LE(std::abs(p->score(wav) - c["score"].get<double>()), kTolerance);
                    }
                }
            }
        }
    }
}

namespace {
const std::string kSet = std::string(TROUPE_SOURCE_DIR) + "/tests/utmos/data/tiny";
}

BOOST_AUTO_TEST_CASE(estimates_through_the_host) {
    HostOptions ho;
    ho.plugin_paths = {std::string(TROUPE_BINARY_DIR) + "/plugins"};
    ho.log_level = LogLevel::warn;
    Host host(ho);
    const PluginRecord* record = host.find_plugin("utmos");
    BOOST_REQUIRE_MESSAGE(record && record->ok, "plugin not loaded" << (record ? ": " + record->message : ""));
    BOOST_CHECK(record->manifest.kind == PluginKind::quality_estimator);
    auto q = host.create_as<QualityEstimator>("utmos", PluginKind::quality_estimator,
                                              {{"model.file", kSet + "/model/utmos22_strong_tiny.pt"}});
    BOOST_TEST_MESSAGE(q->describe());
    const nlohmann::json cases = scorertest::read_json(kSet + "/cases.json");
    for (const auto& c : cases["cases"]) {
        const Audio audio = read_wav(kSet + "/" + c["wav"].get<std::string>());
        QualityEstimate e;
        const Status s = q->estimate(audio, e);
        BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
        BOOST_CHECK_EQUAL(e.method, "predicted MOS (UTMOS22)");
        BOOST_CHECK_LE(std::abs(e.score - c["score"].get<double>()), kTolerance);
    }
    QualityEstimate e;
    BOOST_CHECK(!q->estimate(Audio{}, e).ok());
    try {
        host.create("utmos", {{"model.file", kSet + "/model/missing.pt"}});
        BOOST_ERROR("expected an error");
    } catch (const Error& err) {
        BOOST_CHECK(std::string(err.what()).find("missing.pt") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(a_missing_tensor_is_named) {
    const st::File f = st::File::open(kSet + "/model/utmos22_strong_tiny.safetensors");
    const fs::path path = fs::temp_directory_path() / ("troupe_utmos_" + std::to_string(::getpid()) + ".safetensors");
    for (const char* drop : {"blstm.weight_hh_l0_reverse", "wav2vec2.encoder.layers.1.fc2.bias", "judge_emb"}) {
        std::vector<std::pair<std::string, at::Tensor>> kept;
        for (const std::string& n : f.names())
            if (n != drop) kept.emplace_back(n, f.tensor(n).clone());
        st::save(path.string(), kept);
        try {
            utmos::Predictor::load_file(path.string());
            BOOST_ERROR("expected an error for " << drop);
        } catch (const Error& e) {
            BOOST_TEST_MESSAGE(e.what());
            BOOST_CHECK(std::string(e.what()).find(drop) != std::string::npos);
        }
    }
    fs::remove(path);
}
