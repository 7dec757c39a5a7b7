// The gpt-sovits speech-backend plugin through the Host, on the conformance checkpoints: a voice
// from reference audio + transcript + prompt codes, Korean text in, 32 kHz audio out, deterministic.
#define BOOST_TEST_MODULE gpt_sovits_plugin
#include <boost/test/unit_test.hpp>

#include "s2_fixture.hpp"

#include <troupe/host.hpp>
#include <troupe/plugin.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace troupe;

namespace {

// The fixture's last S1 case with prompt codes and a prompt transcript, its codes written to a
// scratch file (removed with this object) for the voice parameter prompt_codes_file.
struct PromptedCase {
    nlohmann::json cases;
    const nlohmann::json* c = nullptr;
    std::string codes_file;

    explicit PromptedCase(const std::string& tag) : cases(s2test::read_json(s2test::gsv_dir() + "/s1/cases.json")) {
        for (const auto& x : cases["cases"])
            if (x.contains("prompt_codes") && !x["prompt_codes"].is_null() && x.contains("prompt_text")) c = &x;
        if (!c) return;
        codes_file = (std::filesystem::temp_directory_path() / ("troupe-gsv-" + tag + "-" + std::to_string(::getpid()))).string();
        std::ofstream(codes_file) << (*c)["prompt_codes"].dump();
    }
    PromptedCase(const PromptedCase&) = delete;
    PromptedCase& operator=(const PromptedCase&) = delete;
    ~PromptedCase() {
        if (!codes_file.empty()) std::filesystem::remove(codes_file);
    }
};

// A host that finds the built plugins.
HostOptions plugin_host_options() {
    HostOptions o;
    o.plugin_paths = {std::string(TROUPE_BINARY_DIR) + "/plugins"};
    o.log_level = LogLevel::warn;
    return o;
}

// The plugin on the fixture's S1 and S2 checkpoints, with `extra` parameters.
std::shared_ptr<SpeechBackend> fixture_backend(const Host& host, Params extra = {}) {
    const std::string dir = s2test::gsv_dir();
    extra["model.s1"] = dir + "/models/s1.ckpt";
    extra["model.s2"] = dir + "/models/s2.pth";
    return host.create_as<SpeechBackend>("gpt-sovits", PluginKind::speech_backend, extra);
}

// A request for `text` in the case's voice: the fixture's reference clip, the case's prompt transcript
// and its prompt codes, seed 3.
SpeechRequest prompted_request(const PromptedCase& fx, const std::string& text, const std::string& top_k) {
    SpeechRequest req;
    req.text = text;
    req.voice.reference_audio = s2test::gsv_dir() + "/s2/ref_a.wav";
    req.voice.reference_text = (*fx.c)["prompt_text"].get<std::string>();
    req.voice.params = {{"prompt_codes_file", fx.codes_file}, {"top_k", top_k}};
    req.seed = 3;
    return req;
}

}  // namespace

BOOST_AUTO_TEST_CASE(synthesizes_korean_with_a_cached_voice) {
    const std::string dir = s2test::gsv_dir();
    const PromptedCase fx("codes");
    BOOST_REQUIRE(fx.c);
    const std::string& codes = fx.codes_file;

    Host host(plugin_host_options());
    BOOST_REQUIRE(host.find_plugin("gpt-sovits"));
    {  // no checkpoints: it loads (a voice may name its own s1_file / s2_file); a voice without them fails
        auto bare = host.create_as<SpeechBackend>("gpt-sovits", PluginKind::speech_backend, {});
        SpeechRequest r;
        r.text = "안녕하세요.";
        r.voice.reference_audio = dir + "/s2/ref_a.wav";
        Audio a;
        const Status st = bare->synthesize(r, a);
        BOOST_TEST(!st.ok());
        BOOST_TEST(st.message().find("model.s1") != std::string::npos, st.message());
    }
    auto tts = fixture_backend(host);
    SpeechRequest req = prompted_request(fx, (*fx.c)["target_text"].get<std::string>(), "1");
    req.voice.params["noise_scale"] = "0";
    Audio a, b;
    Status s = tts->synthesize(req, a);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
    const s2test::S2AudioFacts facts = s2test::s2_audio_facts();  // from the checkpoint, not assumed
    BOOST_TEST(a.sample_rate == facts.sample_rate);
    const size_t pause = size_t(double(facts.sample_rate) * 0.3), hop = size_t(facts.hop);
    BOOST_REQUIRE(a.samples.size() > pause + hop);
    double peak = 0;
    for (float x : a.samples) {
        BOOST_REQUIRE(std::isfinite(x));
        peak = std::max(peak, double(std::fabs(x)));
    }
    BOOST_TEST(peak > 0.01);
    BOOST_TEST(peak <= 1.0);
    for (size_t i = a.samples.size() - pause; i < a.samples.size(); ++i) BOOST_REQUIRE(a.samples[i] == 0.0f);
    BOOST_TEST((a.samples.size() - pause) % hop == 0u);

    s = tts->synthesize(req, b);  // cached voice, same seed → same audio
    BOOST_REQUIRE(s.ok());
    BOOST_TEST(a.samples == b.samples);

    req.language = "en";
    s = tts->synthesize(req, b);
    BOOST_TEST(!s.ok());
    BOOST_TEST(int(s.code()) == int(Errc::unsupported));
    req.language.clear();

    // The old key (not a path key, so never checked by the host) is refused by name.
    SpeechRequest old = req;
    old.voice.params = {{"voice.prompt_codes", codes}};
    s = tts->synthesize(old, b);
    BOOST_TEST(!s.ok());
    BOOST_TEST(s.message().find("prompt_codes_file") != std::string::npos, s.message());
    // A file that is not an id list is an error that names it without echoing its content.
    const std::string secret = codes + ".secret";
    std::ofstream(secret) << "root:x:0:0:TOP-SECRET-LINE\n";
    SpeechRequest wrong = req;
    wrong.voice.params = {{"prompt_codes_file", secret}};
    s = tts->synthesize(wrong, b);
    BOOST_TEST(!s.ok());
    BOOST_TEST(int(s.code()) == int(Errc::invalid_file));
    BOOST_TEST(s.message().find(secret) != std::string::npos, s.message());
    BOOST_TEST(s.message().find("TOP-SECRET") == std::string::npos, s.message());
    std::filesystem::remove(secret);
}

// The plugin parameter s1_batch = true (one S1 batch for a request's segments) gives the audio of the
// unbatched plugin for a text of three sentences (three segments), greedy and sampled.
BOOST_AUTO_TEST_CASE(s1_batch_parameter_keeps_the_audio) {
    const PromptedCase fx("batch");
    BOOST_REQUIRE(fx.c);
    Host host(plugin_host_options());
    auto plain = fixture_backend(host);
    auto batched = fixture_backend(host, {{"s1_batch", "true"}});
    for (const char* top_k : {"1", "15"}) {
        const SpeechRequest req =
            prompted_request(fx, "오늘은 날씨가 좋네요. 내일은 비가 온다고 합니다. 우산을 꼭 챙기세요.", top_k);
        Audio a, b;
        Status s = plain->synthesize(req, a);
        BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
        s = batched->synthesize(req, b);
        BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
        const size_t pause = size_t(double(a.sample_rate) * 0.3);
        BOOST_TEST(a.samples.size() > 3 * pause);  // three segments, each followed by a pause
        BOOST_TEST((a.samples == b.samples), "top_k " << top_k << ": batched audio differs");
    }
}
