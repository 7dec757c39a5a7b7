// The whisper plugin through the host (tiny fixture model), and clear errors for broken folders.
#define BOOST_TEST_MODULE whisper_plugin
#include <boost/test/unit_test.hpp>

#include "../scorers/fixture.hpp"
#include "recognizer.hpp"

#include <troupe/audio.hpp>
#include <troupe/host.hpp>
#include <troupe/kit/sha256.hpp>
#include <troupe/nn/file_hash.hpp>

#include <fstream>

#include <filesystem>

using namespace troupe;
namespace fs = std::filesystem;

namespace {
const std::string kSet = std::string(TROUPE_SOURCE_DIR) + "/tests/whisper/data/v80";

HostOptions host_options() {
    HostOptions o;
    o.plugin_paths = {std::string(TROUPE_BINARY_DIR) + "/plugins"};
    o.log_level = LogLevel::warn;
    return o;
}

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t\n");
    return b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(" \t\n") - b + 1);
}

/// A copy of the fixture model folder in a fresh temporary directory.
std::string copy_model(const std::string& tag) {
    const fs::path dir = fs::temp_directory_path() / ("troupe_whisper_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::copy(kSet + "/model", dir, fs::copy_options::recursive);
    return dir.string();
}

std::string load_error(const std::string& dir) {
    try {
        whisper::Recognizer::load_dir(dir, {});
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

BOOST_AUTO_TEST_CASE(transcribes_through_the_host) {
    Host host(host_options());
    const PluginRecord* record = host.find_plugin("whisper");
    BOOST_REQUIRE_MESSAGE(record && record->ok, "plugin not loaded" << (record ? ": " + record->message : ""));
    BOOST_CHECK(record->manifest.kind == PluginKind::transcriber);
    const nlohmann::json cases = scorertest::read_json(kSet + "/cases.json");
    const std::string max_new = std::to_string(cases["max_new_tokens"].get<int>());
    for (const char* beams : {"1", "5"}) {
        auto t = host.create_as<Transcriber>("whisper", PluginKind::transcriber,
                                             {{"model.dir", kSet + "/model"}, {"max_new_tokens", max_new}, {"num_beams", beams}});
        BOOST_TEST_MESSAGE(t->describe());
        for (const auto& c : cases["cases"]) {
            const Audio audio = read_wav(kSet + "/" + c["wav"].get<std::string>());
            std::string text;
            const Status s = t->transcribe(audio, text);
            BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
            BOOST_CHECK_EQUAL(text, trim(c[std::string(beams) == "1" ? "greedy" : "beam5"]["text"].get<std::string>()));
        }
        std::string text;
        BOOST_CHECK(!t->transcribe(Audio{}, text).ok());
    }
}

BOOST_AUTO_TEST_CASE(model_files_are_hashed) {
    const fs::path p = fs::temp_directory_path() / ("troupe_sha_" + std::to_string(::getpid()));
    { std::ofstream(p) << "abc"; }
    BOOST_CHECK_EQUAL(kit::sha256_file(p.string()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    fs::remove(p);
    const std::string sha = nn::model_sha256(nn::weight_files(kSet + "/model"));
    BOOST_CHECK_EQUAL(sha.size(), 64u);
    BOOST_CHECK_EQUAL(nn::weight_files(std::string(TROUPE_SOURCE_DIR) + "/tests/whisper/data/v128/model").size(), 9u);
}

BOOST_AUTO_TEST_CASE(bad_parameters_are_named) {
    Host host(host_options());
    for (auto [key, value] : {std::pair<std::string, std::string>{"num_beams", "0"}, {"dtype", "float8"}, {"device", "tpu"},
                              {"language", "xx"}}) {
        try {
            host.create("whisper", {{"model.dir", kSet + "/model"}, {key, value}});
            BOOST_ERROR("expected an error for " << key);
        } catch (const Error& e) {
            BOOST_TEST_MESSAGE(e.what());
            BOOST_CHECK(std::string(e.what()).find(value) != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(broken_folders_name_the_file_or_tensor) {
    BOOST_CHECK(load_error(kSet + "/no-such-model").find("no-such-model") != std::string::npos);
    for (const char* file : {"generation_config.json", "preprocessor_config.json", "config.json"}) {
        const std::string dir = copy_model("missing");
        fs::remove(dir + "/" + file);
        const std::string e = load_error(dir);
        BOOST_TEST_MESSAGE(e);
        BOOST_CHECK(e.find(file) != std::string::npos);
        fs::remove_all(dir);
    }
    {  // no tokenizer at all
        const std::string dir = copy_model("tok");
        fs::remove(dir + "/tokenizer.json");
        fs::remove(dir + "/vocab.json");
        BOOST_CHECK(load_error(dir).find("vocab.json") != std::string::npos);
        fs::remove_all(dir);
    }
    {  // a tensor missing from the weights
        const std::string dir = copy_model("tensor");
        const st::File f = st::File::open(dir + "/model.safetensors");
        std::vector<std::pair<std::string, at::Tensor>> kept;
        for (const std::string& n : f.names())
            if (n != "model.decoder.layers.1.fc2.bias") kept.emplace_back(n, f.tensor(n).clone());
        st::save(dir + "/model.safetensors", kept);
        const std::string e = load_error(dir);
        BOOST_TEST_MESSAGE(e);
        BOOST_CHECK(e.find("model.decoder.layers.1.fc2.bias") != std::string::npos);
        fs::remove_all(dir);
    }
}
