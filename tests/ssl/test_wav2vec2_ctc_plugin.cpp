// The wav2vec2-ctc plugin loaded through the host, on the conformance model and WAV files.
#define BOOST_TEST_MODULE wav2vec2_ctc_plugin
#include "../common/conformance.hpp"

#include <boost/test/unit_test.hpp>

#include <troupe/audio.hpp>
#include <troupe/host.hpp>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

using namespace troupe;

namespace {
std::string fixture_dir() {
    return troupe::test::conformance_dir("wav2vec2-ctc").string();
}
HostOptions options() {
    HostOptions o;
    o.plugin_paths = {std::string(TROUPE_BINARY_DIR) + "/plugins"};
    o.log_level = LogLevel::warn;
    return o;
}
}  // namespace

BOOST_AUTO_TEST_CASE(transcribes_every_fixture_input) {
    Host host(options());
    const PluginRecord* record = host.find_plugin("wav2vec2-ctc");
    BOOST_REQUIRE_MESSAGE(record && record->ok, "plugin not loaded" << (record ? ": " + record->message : ""));
    BOOST_CHECK(record->manifest.kind == PluginKind::transcriber);

    const std::string dir = fixture_dir();
    auto transcriber = host.create_as<Transcriber>("wav2vec2-ctc", PluginKind::transcriber, {{"model.dir", dir + "/model"}});
    BOOST_TEST_MESSAGE(transcriber->describe());
    BOOST_CHECK(transcriber->describe().find("wav2vec2-ctc") != std::string::npos);

    std::ifstream in(dir + "/cases.json");
    const nlohmann::json cases = nlohmann::json::parse(in);
    BOOST_REQUIRE(!cases["inputs"].empty());
    for (const auto& input : cases["inputs"]) {
        BOOST_TEST_CONTEXT("input " << input["name"].get<std::string>()) {
            const Audio audio = read_wav(dir + "/" + input["wav_file"].get<std::string>());
            std::string text;
            const Status s = transcriber->transcribe(audio, text);
            BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
            BOOST_CHECK_EQUAL(text, input["greedy_text_stripped"].get<std::string>());
        }
    }
    std::string text;
    BOOST_CHECK(!transcriber->transcribe(Audio{}, text).ok());
}

BOOST_AUTO_TEST_CASE(missing_model_dir_is_a_clear_error) {
    Host host(options());
    try {
        host.create("wav2vec2-ctc", {{"model.dir", fixture_dir() + "/no-such-model"}});
        BOOST_FAIL("expected an error");
    } catch (const Error& e) {
        BOOST_CHECK(std::string(e.what()).find("no-such-model") != std::string::npos);
    }
}
