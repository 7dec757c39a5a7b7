#define BOOST_TEST_MODULE plugin_loader
#include <boost/test/unit_test.hpp>

#include <troupe/host.hpp>

#include <boost/filesystem.hpp>

#include <cmath>
#include <fstream>

using namespace troupe;

namespace {

const Host& fixture_host() {
    static Host host([] {
        HostOptions o;
        o.plugin_paths = {TROUPE_FIXTURE_DIR};
        o.log_level = LogLevel::error;
        return o;
    }());
    return host;
}

const PluginRecord& record_for(const std::string& folder) {
    for (const auto& r : fixture_host().plugins())
        if (r.manifest.manifest_path.find("/plugin-fixtures/" + folder + "/plugin.toml") != std::string::npos) return r;
    BOOST_FAIL("no record for fixture " << folder);
    throw 0;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(good_plugin_loads_and_synthesises_with_manifest_defaults) {
    const PluginRecord& r = record_for("good");
    BOOST_TEST(r.ok);
    BOOST_TEST(to_string(r.stage) == std::string("loaded"));
    auto voice = fixture_host().create_as<SpeechBackend>("fixture-good", PluginKind::speech_backend);
    SpeechRequest request;
    request.text = "ab";
    request.voice.params["hz"] = "1000";
    Audio audio;
    BOOST_TEST(voice->synthesize(request, audio).ok());
    BOOST_TEST(audio.samples.size() == 1600u);
    BOOST_TEST(audio.samples[2] == float(0.5 * std::sin(2 * M_PI * 1000 * 2 / 8000.0)), boost::test_tools::tolerance(1e-6f));
    // errors from the plugin come back as a Status, not an exception
    request.text.clear();
    Status s = voice->synthesize(request, audio);
    BOOST_TEST(!s.ok());
    BOOST_TEST(s.message() == "empty text");
    BOOST_CHECK_THROW(fixture_host().create("fixture-good", {{"fail", "1"}}), Error);
}

BOOST_AUTO_TEST_CASE(malformed_manifest_fails_at_manifest_stage_with_line_and_column) {
    const PluginRecord& r = record_for("bad-manifest");
    BOOST_TEST(!r.ok);
    BOOST_TEST(to_string(r.stage) == std::string("manifest"));
    BOOST_TEST(contains(r.message, "bad-manifest/plugin.toml:4:15"), r.message);
    BOOST_TEST(contains(r.message, "api_version"), r.message);
}

BOOST_AUTO_TEST_CASE(non_library_fails_at_open_stage_with_dlerror) {
    const PluginRecord& r = record_for("not-elf");
    BOOST_TEST(!r.ok);
    BOOST_TEST(to_string(r.stage) == std::string("open"));
    BOOST_TEST(contains(r.message, "libnot-elf.so"), r.message);
    BOOST_TEST(contains(r.message, "dlerror"), r.message);
}

BOOST_AUTO_TEST_CASE(unresolved_symbol_fails_at_open_stage) {
    const PluginRecord& r = record_for("unresolved");
    BOOST_TEST(!r.ok);
    BOOST_TEST(to_string(r.stage) == std::string("open"));
    BOOST_TEST(contains(r.message, "troupe_fixture_symbol_that_does_not_exist"), r.message);
}

BOOST_AUTO_TEST_CASE(library_without_entry_points_fails_at_symbol_stage) {
    const PluginRecord& r = record_for("empty");
    BOOST_TEST(!r.ok);
    BOOST_TEST(to_string(r.stage) == std::string("symbol"));
    BOOST_TEST(contains(r.message, "troupe_plugin_api_version"), r.message);
}

BOOST_AUTO_TEST_CASE(wrong_api_version_fails_at_version_stage) {
    const PluginRecord& r = record_for("wrong-api");
    BOOST_TEST(!r.ok);
    BOOST_TEST(to_string(r.stage) == std::string("version"));
    BOOST_TEST(contains(r.message, "plugin API version 42, host API version 1"), r.message);
}

BOOST_AUTO_TEST_CASE(wrong_fingerprint_fails_at_version_stage) {
    const PluginRecord& r = record_for("wrong-fingerprint");
    BOOST_TEST(!r.ok);
    BOOST_TEST(to_string(r.stage) == std::string("version"));
    BOOST_TEST(contains(r.message, "compiler=msvc-1"), r.message);
    BOOST_TEST(contains(r.message, build_fingerprint()), r.message);
}

BOOST_AUTO_TEST_CASE(throwing_init_fails_at_init_stage) {
    const PluginRecord& r = record_for("init-throws");
    BOOST_TEST(!r.ok);
    BOOST_TEST(to_string(r.stage) == std::string("init"));
    BOOST_TEST(contains(r.message, "the fixture refuses to start"), r.message);
}

BOOST_AUTO_TEST_CASE(failed_plugins_cannot_be_created_and_say_why) {
    try {
        fixture_host().create("fixture-init-throws");
        BOOST_FAIL("expected an error");
    } catch (const Error& e) {
        BOOST_TEST(contains(e.what(), "init stage"), e.what());
    }
    BOOST_CHECK_THROW(fixture_host().create("no-such-plugin"), Error);
}

BOOST_AUTO_TEST_CASE(search_path_order_puts_explicit_paths_first) {
    const auto& paths = fixture_host().plugin_search_paths();
    BOOST_REQUIRE(!paths.empty());
    BOOST_TEST(contains(paths.front(), "plugin-fixtures"));
    BOOST_TEST(paths.back() == default_plugin_dir());
}

BOOST_AUTO_TEST_CASE(character_hooks_load_from_the_character_folder_and_run) {
    namespace fs = boost::filesystem;
    fs::path folder = fs::temp_directory_path() / ("troupe-hooks-" + std::to_string(::getpid())) / "signer";
    fs::create_directories(folder / "hooks");
    for (const char* f : {"plugin.toml", "libfixture-hooks.so"})
        fs::copy_file(fs::path(TROUPE_FIXTURE_DIR) / "hooks" / f, folder / "hooks" / f, fs::copy_options::overwrite_existing);
    std::ofstream(folder / "character.toml") << "id = \"signer\"\nname = \"서명\"\nhooks = \"hooks\"\n"
                                                "[persona]\ndefinition = \"x\"\nspeech_level = \"haeyo\"\n"
                                                "[text]\nbackend = \"eeve-lora\"\n[speech]\nbackend = \"espeak-ng\"\n";
    Character c = load_character(folder.string());
    auto hooks = fixture_host().hooks(c);
    BOOST_REQUIRE(hooks);
    TextRequest request;
    BOOST_TEST(hooks->before_generate(request).ok());
    BOOST_TEST(request.stop_strings.back() == "<끝>");
    std::string line = "좋아요";
    BOOST_TEST(hooks->after_generate(line).ok());
    BOOST_TEST(line == "좋아요 (검수 완료)");
    BOOST_TEST(fixture_host().hooks(c).get() == hooks.get());  // loaded once
}
