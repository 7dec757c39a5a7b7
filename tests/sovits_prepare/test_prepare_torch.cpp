// `troupe tts prepare` with models: HuBERT features (4-cnhubert/*.pt) on the conformance HuBERT
// model, and semantic codes (6-name2semantic.tsv) through S2 extract_latent on the conformance S2,
// fed with the fixture's SSL features and compared with its codes. Fixture root from
// TROUPE_CONFORMANCE_DIR (default <source>/../shared/conformance); sizes come from the fixture files.
#define BOOST_TEST_MODULE sovits_prepare_torch
#include <boost/test/unit_test.hpp>

#include "cli_capture.hpp"
#include "corpus.hpp"
#include "../common/conformance.hpp"

#include <prepare/dataset_list.hpp>
#include <prepare/pipeline.hpp>
#include <prepare/torch_file.hpp>

#include <troupe/audio.hpp>
#include <troupe/ssl/encoder.hpp>
#include <troupe/ssl/hubert.hpp>
#include <troupe/ssl/resample.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
namespace prep = troupe::sovits::prepare;
using namespace troupe::test;

namespace {

std::string conformance_dir() {
    return troupe::test::conformance_root().string();
}

std::string temp_dir(const std::string& name) {
    const fs::path p = fs::temp_directory_path() / ("troupe_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

const nlohmann::json& stage(const nlohmann::json& report, const std::string& name) {
    for (const auto& s : report.at("stages"))
        if (s.at("stage") == name) return s;
    throw std::runtime_error("no stage " + name);
}

}  // namespace

BOOST_AUTO_TEST_CASE(pt_round_trip) {
    const std::string dir = temp_dir("prepare_pt");
    const at::Tensor t = at::randn({1, 5, 7});
    prep::save_tensor_pt(dir + "/x.pt", t);
    BOOST_TEST(read_file(dir + "/x.pt").substr(0, 2) == "PK");  // a torch.save zip
    BOOST_TEST(at::equal(prep::load_tensor_pt(dir + "/x.pt"), t));
    prep::save_tensor_pt(dir + "/h.pt", t.transpose(1, 2).to(at::kHalf));
    const at::Tensor h = prep::load_tensor_pt(dir + "/h.pt");
    BOOST_TEST(h.scalar_type() == at::kHalf);
    BOOST_TEST((h.sizes() == at::IntArrayRef{1, 7, 5}));
    {
        std::ofstream(dir + "/bad.pt") << "not a zip";
    }
    BOOST_CHECK_THROW(prep::load_tensor_pt(dir + "/bad.pt"), troupe::Error);
    fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(hubert_features_written_as_upstream_reads_them) {
    const std::string hubert_dir = conformance_dir() + "/hubert/model";
    BOOST_REQUIRE_MESSAGE(fs::is_directory(hubert_dir), "missing fixture " << hubert_dir);
    const std::string dir = temp_dir("prepare_hubert");
    const Corpus corpus = make_corpus(dir);
    const std::string out = dir + "/exp";
    const auto [rc, text] = run_prepare({"--aihub", corpus.root, "-o", out, "--hubert", hubert_dir, "--keep-going"});
    BOOST_TEST(rc == 0);
    const nlohmann::json report = nlohmann::json::parse(text);
    BOOST_TEST(stage(report, "hubert").at("written") == corpus.good.size());
    BOOST_TEST(stage(report, "semantic").at("not_run").get<std::string>().find("--s2") != std::string::npos);

    const auto hubert = troupe::ssl::Encoder::load_dir(hubert_dir);
    const int64_t hidden = nlohmann::json::parse(read_file(hubert_dir + "/config.json")).at("hidden_size").get<int64_t>();
    for (const CorpusFile& g : corpus.good) {
        const std::string name = fs::path(g.audio).filename().string();
        const at::Tensor ssl = prep::load_tensor_pt(out + "/4-cnhubert/" + name + ".pt");
        // Upstream's input: the 32 kHz signal mixed at the 1145.14 scale, resampled to 16 kHz, no pad.
        const troupe::Audio src = troupe::read_wav(g.audio);
        const std::vector<float> x = troupe::ssl::resample(src.samples, src.sample_rate, 32000);
        float peak = 0;
        for (float v : x) peak = std::max(peak, std::abs(v));
        const std::vector<float> x16 = troupe::ssl::resample(prep::loudness_mix(x, peak, 1145.14f), 32000, 16000);
        const at::Tensor want = troupe::ssl::hubert_features(hubert, x16, {false, false}).transpose(1, 2);
        BOOST_TEST(ssl.dim() == 3);
        BOOST_TEST(ssl.size(0) == 1);
        BOOST_TEST(ssl.size(1) == hidden);
        BOOST_TEST(ssl.size(2) == want.size(2));
        BOOST_TEST(ssl.size(2) > int64_t(x16.size()) / 320 - 2);  // 50 Hz
        BOOST_TEST(ssl.scalar_type() == at::kFloat);
        BOOST_TEST(at::allclose(ssl, want, 1e-5, 1e-5));
        BOOST_TEST(fs::is_regular_file(out + "/5-wav32k/" + name));
    }
    if (std::getenv("TROUPE_KEEP_TEST_OUTPUT")) BOOST_TEST_MESSAGE("kept " << out);
    else fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(semantic_codes_match_the_fixture) {
    if (!prep::semantic_stage_available()) {
        BOOST_TEST_MESSAGE("built without S2: checking that --s2 is refused clearly");
    }
    const std::string root = conformance_dir() + "/gpt-sovits";
    const std::string s2 = root + "/models/s2.pth";
    BOOST_REQUIRE_MESSAGE(fs::is_regular_file(s2), "missing fixture " << s2);
    const auto latents = troupe::st::File::open(root + "/s2/latents.safetensors");

    // One utterance per fixture SSL input "ssl_<x>", whose codes are "codes_<x>": the 4-cnhubert
    // files are written as a previous --hubert run would have, then only the semantic stage computes.
    const std::string dir = temp_dir("prepare_semantic");
    const std::string out = dir + "/exp";
    fs::create_directories(out + "/4-cnhubert");
    fs::create_directories(out + "/5-wav32k");
    std::vector<prep::ListEntry> entries;
    std::map<std::string, at::Tensor> want;
    for (const std::string& key : latents.names()) {
        if (key.rfind("ssl_", 0) != 0) continue;
        const std::string id = key.substr(4);
        const std::string name = "utt_" + id + ".wav";
        prep::save_tensor_pt(out + "/4-cnhubert/" + name + ".pt", latents.tensor(key));
        troupe::Audio tone{32000, std::vector<float>(3200, 0.1f)};
        troupe::write_wav(out + "/5-wav32k/" + name, tone);
        entries.push_back({"/data/" + name, "fixture", "ko", "안녕하세요.", ""});
        want[name] = latents.tensor("codes_" + id);
    }
    BOOST_REQUIRE(!entries.empty());
    prep::write_list(dir + "/in.list", entries);
    const auto [rc, text] = run_prepare({"--list", dir + "/in.list", "-o", out, "--s2", s2});
    if (!prep::semantic_stage_available()) {
        const nlohmann::json report = nlohmann::json::parse(text);
        BOOST_TEST(stage(report, "semantic").at("not_run").get<std::string>().find("S2") != std::string::npos);
        return;
    }
    BOOST_TEST(rc == 0);
    const auto lines = lines_of(read_file(out + "/6-name2semantic.tsv"));
    BOOST_REQUIRE_EQUAL(lines.size(), want.size() + 1);
    BOOST_TEST(lines[0] == "item_name\tsemantic_audio");
    for (size_t i = 1; i < lines.size(); ++i) {
        const auto f = split(lines[i], '\t');
        BOOST_REQUIRE_EQUAL(f.size(), 2u);
        BOOST_REQUIRE(want.count(f[0]));
        const at::Tensor codes = want[f[0]].flatten();
        const auto ids = split(f[1], ' ');
        BOOST_REQUIRE_EQUAL(int64_t(ids.size()), codes.numel());
        for (size_t k = 0; k < ids.size(); ++k) BOOST_TEST(std::stoll(ids[k]) == codes[int64_t(k)].item<int64_t>());
    }
    fs::remove_all(dir);
}
