// The request path (troupe/request.hpp): one way from a character to its text and speech requests —
// template, stop strings declared by the template or the character, sampling overrides, adapter,
// hooks — and the voice for an emotion.
#define BOOST_TEST_MODULE request
#include <boost/test/unit_test.hpp>

#include <troupe/prompt.hpp>
#include <troupe/request.hpp>

#include <boost/filesystem.hpp>

#include <fstream>
#include <iterator>

using namespace troupe;
namespace fs = boost::filesystem;

namespace {

const Host& host() {
    static Host h([] {
        HostOptions o;
        o.plugin_paths = {TROUPE_FIXTURE_DIR};
        o.load_plugins = false;
        o.log_level = LogLevel::error;
        return o;
    }());
    return h;
}

/// Writes a character folder <tmp>/<id> with `extra` appended to a minimal manifest.
Character make_character(const std::string& id, const std::string& text_extra, bool hooks = false) {
    const fs::path folder = fs::temp_directory_path() / ("troupe-request-" + std::to_string(::getpid())) / id;
    fs::create_directories(folder / "adapter");
    if (hooks) {
        fs::create_directories(folder / "hooks");
        for (const char* f : {"plugin.toml", "libfixture-hooks.so"})
            fs::copy_file(fs::path(TROUPE_FIXTURE_DIR) / "hooks" / f, folder / "hooks" / f,
                          fs::copy_options::overwrite_existing);
    }
    // The reference files a character names must exist (docs/paths.md); their content is not read here.
    for (const char* wav : {"calm.wav", "happy.wav"}) std::ofstream(folder / wav) << "RIFF";
    std::ofstream(folder / "character.toml")
        << "id = \"" << id << "\"\nname = \"테스터\"\n" << (hooks ? "hooks = \"hooks\"\n" : "")
        << "[persona]\ndefinition = \"페르소나\"\nspeech_level = \"haeyo\"\n"
        << "[text]\nbackend = \"eeve-lora\"\nadapter = \"adapter\"\n" << text_extra
        << "[text.sampling]\nseed = 11\nmax_new_tokens = 40\n"
        << "[speech]\nbackend = \"espeak-ng\"\n[speech.voice]\nreference_audio = \"calm.wav\"\nreference_text = \"차분\"\n"
        << "[[speech.emotions]]\nemotion = \"happy\"\nreference_audio = \"happy.wav\"\nreference_text = \"기쁨\"\n";
    return load_character(folder.string());
}

/// Records the adapters registered with it.
class RecordingBackend final : public TextBackend {
public:
    Status load_adapter(const std::string& name, const std::string& dir) noexcept override {
        loaded.push_back(name + "=" + dir);
        return {};
    }
    Status generate(const TextRequest&, TextResult&, TokenSink, void*) noexcept override { return {}; }
    std::vector<std::string> loaded;
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_default_template_declares_its_stop_and_fills_the_prompt) {
    const Character c = make_character("plain", "");
    BOOST_TEST(c.prompt_template == prompt::character_template());
    BOOST_TEST(c.stop_strings == std::vector<std::string>{"###"}, boost::test_tools::per_element());
    RecordingBackend backend;
    const TextRequest r = make_text_request(host(), c, &backend, {"회의 중", "", {}});
    BOOST_TEST(r.prompt == "### Instruction:\n페르소나\n\n### Input:\n상황: 회의 중 [지문: 없음]\n\n### Response:\n");
    BOOST_TEST(r.stop_strings == std::vector<std::string>{"###"}, boost::test_tools::per_element());
    BOOST_TEST(r.sampling.seed == 11u);
    BOOST_TEST(r.sampling.max_new_tokens == 40);
    BOOST_TEST(!r.sampling.greedy);
    BOOST_TEST(r.adapter == "plain");
    BOOST_REQUIRE(backend.loaded.size() == 1u);
    BOOST_TEST(backend.loaded[0] == "plain=" + c.folder + "/adapter");
}

BOOST_AUTO_TEST_CASE(options_override_the_characters_sampling) {
    const Character c = make_character("opts", "");
    RequestOptions o;
    o.seed = 7;
    o.max_new_tokens = 5;
    o.greedy = true;
    const TextRequest r = make_text_request(host(), c, nullptr, {"상황", "손을 든다", {}}, o);
    BOOST_TEST(r.sampling.seed == 7u);
    BOOST_TEST(r.sampling.max_new_tokens == 5);
    BOOST_TEST(r.sampling.greedy);
    BOOST_TEST(r.prompt.find("[지문: 손을 든다]") != std::string::npos, r.prompt);
    BOOST_TEST(r.adapter == "opts");  // named even without a backend to register it with
}

BOOST_AUTO_TEST_CASE(stop_strings_come_from_the_character_or_its_template) {
    const Character own = make_character("own-stop", "stop = [\"<끝>\", \"\\n\\n\"]\n");
    BOOST_TEST(make_text_request(host(), own, nullptr, {"x", "", {}}).stop_strings ==
                   (std::vector<std::string>{"<끝>", "\n\n"}),
               boost::test_tools::per_element());
    const Character custom = make_character("custom", "prompt_template = \"{persona} / {situation} →\"\n");
    BOOST_TEST(custom.stop_strings.empty());
    BOOST_TEST(make_text_request(host(), custom, nullptr, {"x", "", {}}).prompt == "페르소나 / x →");
}

BOOST_AUTO_TEST_CASE(the_characters_hooks_run_on_both_sides) {
    const Character c = make_character("signed", "", /*hooks=*/true);
    const TextRequest r = make_text_request(host(), c, nullptr, {"x", "", {}});
    BOOST_TEST(r.stop_strings == (std::vector<std::string>{"###", "<끝>"}), boost::test_tools::per_element());
    std::string line = "좋아요";
    BOOST_TEST(finish_line(host(), c, line).ok());
    BOOST_TEST(line == "좋아요 (검수 완료)");
    std::string untouched = "그대로";
    BOOST_TEST(finish_line(host(), make_character("nohooks", ""), untouched).ok());
    BOOST_TEST(untouched == "그대로");
}

BOOST_AUTO_TEST_CASE(the_voice_follows_the_emotion) {
    const Character c = make_character("voiced", "");
    const SpeechRequest happy = make_speech_request(c, "안녕", "happy", 3);
    BOOST_TEST(happy.voice.reference_audio == c.folder + "/happy.wav");
    BOOST_TEST(happy.voice.reference_text == "기쁨");
    BOOST_TEST(happy.text == "안녕");
    BOOST_TEST(happy.emotion == "happy");
    BOOST_TEST(happy.seed == 3u);
    const Voice calm = voice_for(c, "sad");  // no such emotion: the default voice
    BOOST_TEST(calm.reference_audio == c.folder + "/calm.wav");
    BOOST_TEST(calm.reference_text == "차분");
}

BOOST_AUTO_TEST_CASE(an_emotion_never_gets_the_default_references_prompt_codes) {
    const Character first = make_character("coded", "");
    const fs::path folder = first.folder;
    for (const char* f : {"calm.codes", "happy.codes", "sad.wav"}) std::ofstream(folder / f) << "1 2 3";
    std::ifstream in(folder / "character.toml");
    std::string toml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string calm = "reference_text = \"차분\"\n";
    toml.replace(toml.find(calm), calm.size(), calm + "prompt_codes_file = \"calm.codes\"\n");
    toml += "prompt_codes_file = \"happy.codes\"\n"  // the last table: happy's
            "[[speech.emotions]]\nemotion = \"sad\"\nreference_audio = \"sad.wav\"\nreference_text = \"슬픔\"\n";
    std::ofstream(folder / "character.toml") << toml;
    const Character c = load_character(folder.string());
    BOOST_REQUIRE_EQUAL(c.emotions.size(), 2u);
    BOOST_TEST(c.emotions[0].prompt_codes_file == c.folder + "/happy.codes");
    BOOST_TEST(voice_for(c, "").params.at("prompt_codes_file") == c.folder + "/calm.codes");
    BOOST_TEST(voice_for(c, "happy").params.at("prompt_codes_file") == c.folder + "/happy.codes");
    BOOST_TEST(voice_for(c, "sad").params.count("prompt_codes_file") == 0u);  // calm's codes would not match sad.wav
    BOOST_TEST(voice_for(c, "sad").reference_audio == c.folder + "/sad.wav");
}
