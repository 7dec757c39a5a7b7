#define BOOST_TEST_MODULE plugin_loader
#include <boost/test/unit_test.hpp>

#include "../common/capture_stdout.hpp"

#include <troupe/commands.hpp>
#include <troupe/host.hpp>

#include <boost/filesystem.hpp>

#include <cmath>
#include <dlfcn.h>
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
    // the name it declares is still known, so listings show it instead of "?"
    BOOST_TEST(r.manifest.name == "fixture-bad-manifest");
}

BOOST_AUTO_TEST_CASE(non_library_fails_at_open_stage_saying_what_it_is) {
    const PluginRecord& r = record_for("not-elf");
    BOOST_TEST(!r.ok);
    BOOST_TEST(to_string(r.stage) == std::string("open"));
    BOOST_TEST(contains(r.message, "libnot-elf.so"), r.message);
    BOOST_TEST(contains(r.message, "not a shared library"), r.message);
    BOOST_TEST(!contains(r.message, "Bad file descriptor"), r.message);
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
    BOOST_TEST(contains(r.message, "plugin API version 43, host API version 2 (loads 1 to 2)"), r.message);
}

BOOST_AUTO_TEST_CASE(wrong_fingerprint_fails_at_version_stage) {
    const PluginRecord& r = record_for("wrong-fingerprint");
    BOOST_TEST(!r.ok);
    BOOST_TEST(to_string(r.stage) == std::string("version"));
    BOOST_TEST(contains(r.message, "compiler=msvc-1"), r.message);
    BOOST_TEST(contains(r.message, host_fingerprint()), r.message);
    BOOST_TEST(contains(r.message, "compiler msvc-1 is not the host's"), r.message);
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

// ---- contract version 2 ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(version_1_plugins_with_the_old_fingerprint_still_load) {
    const PluginRecord& r = record_for("v1");
    BOOST_TEST(r.ok, r.message);
    BOOST_TEST(r.manifest.api_version == 1u);
    BOOST_TEST(!r.run_command);
    auto voice = fixture_host().create_as<SpeechBackend>("fixture-v1", PluginKind::speech_backend);
    SpeechRequest request;
    request.text = "a";
    Audio audio;
    BOOST_TEST(voice->synthesize(request, audio).ok());
    BOOST_TEST(audio.samples.size() == 800u);
}

BOOST_AUTO_TEST_CASE(a_plugin_naming_another_libtorch_fails_at_version_stage) {
    const PluginRecord& r = record_for("other-torch");
    BOOST_TEST(!r.ok);
    BOOST_TEST(to_string(r.stage) == std::string("version"));
    BOOST_TEST(contains(r.message, std::string("LibTorch 0.0.1 is not the build's ") + host_torch_version()), r.message);
}

BOOST_AUTO_TEST_CASE(the_host_fingerprint_names_no_libtorch) {
    BOOST_TEST(!contains(host_fingerprint(), "torch"), host_fingerprint());
    BOOST_TEST(fingerprint_mismatch(host_fingerprint()).empty());
    BOOST_TEST(fingerprint_mismatch(std::string(host_fingerprint()) + ";torch=" + host_torch_version()).empty());
    BOOST_TEST(!fingerprint_mismatch("api=2;cxx11abi=1").empty());  // no compiler
}

BOOST_AUTO_TEST_CASE(only_plugins_that_link_libtorch_name_it_in_their_fingerprint) {
    auto fingerprint_of = [](const std::string& library) -> std::string {
        void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
        BOOST_REQUIRE_MESSAGE(handle, dlerror());
        auto* fn = reinterpret_cast<troupe_plugin_build_fingerprint_fn*>(dlsym(handle, "troupe_plugin_build_fingerprint"));
        BOOST_REQUIRE(fn);
        return fn();  // the library stays loaded (plugins are never unloaded)
    };
    const std::string dir = default_plugin_dir();
    const std::string espeak = fingerprint_of(dir + "/espeak-ng/libespeak-ng-voice.so");
    BOOST_TEST(espeak == host_fingerprint());
    const std::string eeve = fingerprint_of(dir + "/eeve-lora/libeeve-lora.so");
    BOOST_TEST(eeve == std::string(host_fingerprint()) + ";torch=" + host_torch_version());
}

BOOST_AUTO_TEST_CASE(manifest_commands_are_read_and_listed_without_loading) {
    const PluginRecord& good = record_for("good");
    BOOST_REQUIRE(good.manifest.commands.size() == 3u);
    BOOST_TEST(good.manifest.commands[0].name == "fixture echo");
    BOOST_TEST(good.manifest.commands[0].summary == "prints what the command received");
    BOOST_TEST(good.run_command);
    std::vector<std::string> names;
    for (const CommandEntry& e : fixture_host().commands())
        if (e.plugin.rfind("fixture-", 0) == 0) names.push_back(e.command.name + "@" + e.plugin);
    const std::vector<std::string> expected = {"fixture echo@fixture-good", "fixture fail@fixture-good",
                                               "fixture-who@fixture-good"};
    BOOST_TEST(names == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_command_clash_is_a_manifest_error_naming_both_plugins) {
    const PluginRecord& r = record_for("train-clash");
    BOOST_TEST(!r.ok);
    BOOST_TEST(to_string(r.stage) == std::string("manifest"));
    BOOST_TEST(contains(r.message, "train-clash/plugin.toml: command 'fixture echo' clashes with plugin 'fixture-good'"),
               r.message);
    BOOST_TEST(contains(r.message, "plugin-fixtures/good/plugin.toml"), r.message);
}

BOOST_AUTO_TEST_CASE(a_command_named_like_a_core_command_is_refused) {
    HostOptions o;
    o.plugin_paths = {std::string(TROUPE_FIXTURE_DIR) + "/good"};
    o.load_plugins = false;
    o.reserved_commands = {"say", "fixture"};
    o.log_level = LogLevel::error;
    Host host(o);
    const PluginRecord* r = host.find_plugin("fixture-good");
    BOOST_REQUIRE(r);
    BOOST_TEST(!r->ok);
    BOOST_TEST(contains(r->message, "command 'fixture echo' clashes with troupe's own 'fixture' command"), r->message);
}

BOOST_AUTO_TEST_CASE(malformed_command_declarations_fail_at_manifest_stage) {
    namespace fs = boost::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("troupe-commands-" + std::to_string(::getpid()));
    const std::pair<const char*, const char*> cases[] = {
        {"api_version = 2\n[[commands]]\nname = \"Lm Generate\"\nsummary = \"x\"\n", "must be one or two words"},
        {"api_version = 2\n[[commands]]\nname = \"a b c\"\nsummary = \"x\"\n", "must be one or two words"},
        {"api_version = 1\n[[commands]]\nname = \"a b\"\nsummary = \"x\"\n", "needs api_version = 2"},
        {"api_version = 2\n[[commands]]\nname = \"a b\"\n", "summary"},
        {"api_version = 2\n[[commands]]\nname = \"a\"\nsummary = \"x\"\n[[commands]]\nname = \"a\"\nsummary = \"y\"\n",
         "declared twice"},
    };
    int n = 0;
    for (const auto& [body, why] : cases) {
        const fs::path folder = dir / std::to_string(n++);
        fs::create_directories(folder);
        std::ofstream(folder / "plugin.toml") << "name = \"bad\"\nkind = \"speech-backend\"\nversion = \"1\"\n"
                                                 "library = \"libbad.so\"\n" << body;
        HostOptions o;
        o.plugin_paths = {folder.string()};
        o.load_plugins = false;
        o.log_level = LogLevel::error;
        Host host(o);
        const PluginRecord& r = host.plugins().front();
        BOOST_TEST(!r.ok);
        BOOST_TEST(to_string(r.stage) == std::string("manifest"));
        BOOST_TEST(contains(r.message, why), r.message);
        BOOST_TEST(contains(r.message, "plugin.toml:"), r.message);
    }
    fs::remove_all(dir);
}

namespace {

// A host that only reads manifests, as `troupe <plugin command>` uses it.
Host& command_host() {
    static Host host([] {
        HostOptions o;
        o.plugin_paths = {TROUPE_FIXTURE_DIR};
        o.load_plugins = false;
        o.log_level = LogLevel::error;
        return o;
    }());
    return host;
}

std::pair<int, std::string> run(const std::vector<std::string>& args, bool json = false) {
    CommandOptions options;
    options.json = json;
    return test::capture_stdout([&] { return run_plugin_command(command_host(), args, options); });
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_plugin_command_runs_through_the_loaded_plugin_with_its_context) {
    BOOST_TEST(!command_host().find_plugin("fixture-good")->ok);  // nothing loaded yet
    const auto [rc, out] = run({"fixture", "echo", "a b", "--flag", "-x"}, true);
    BOOST_TEST(rc == 0);
    BOOST_TEST(contains(out, "command=fixture echo\n"), out);
    BOOST_TEST(contains(out, "args=a b|--flag|-x\n"), out);
    BOOST_TEST(contains(out, "json=true quiet=false\n"), out);
    BOOST_TEST(contains(out, "plugin=fixture-good dir_ok=true\n"), out);
    BOOST_TEST(contains(out, "hz=440\n"), out);  // the manifest's [defaults]
    BOOST_TEST(contains(out, "data_dir=true\n"), out);
    // only the plugin that serves the command was loaded
    BOOST_TEST(command_host().find_plugin("fixture-good")->ok);
    BOOST_TEST(!command_host().find_plugin("fixture-v1")->ok);
}

BOOST_AUTO_TEST_CASE(plugin_command_errors_become_exit_codes) {
    BOOST_TEST(run({"fixture", "fail"}).first == 4);             // Error(not_found)
    BOOST_TEST(run({"fixture", "fail", "--plain"}).first == 6);  // any other exception
    BOOST_TEST(run({"fixture"}).first == 2);                     // a group needs a command
    BOOST_TEST(run({"fixture", "nope"}).first == 2);
    BOOST_TEST(run({"no-such-command"}).first == 2);
    const auto [rc, out] = run({"fixture", "--help"});
    BOOST_TEST(rc == 0);
    BOOST_TEST(contains(out, "echo"), out);
    BOOST_TEST(contains(out, "[fixture-good]"), out);
}

BOOST_AUTO_TEST_CASE(a_plugin_command_finds_characters_through_the_host) {
    const auto [rc, out] = run({"fixture-who", "bujang"});
    BOOST_TEST(rc == 0);
    BOOST_TEST(contains(out, "/characters/bujang\n"), out);
    BOOST_TEST(run({"fixture-who", "nobody-at-all"}).first == 4);
}

// Discovery never throws a raw filesystem error: a plugin or character path so long that its
// `plugin.toml` / `character.toml` is past PATH_MAX (ENAMETOOLONG), and a dangling link inside a
// search folder, are skipped; the good plugin beside them still loads.
BOOST_AUTO_TEST_CASE(discovery_skips_paths_it_cannot_read) {
    namespace fs = boost::filesystem;
    const fs::path root = fs::temp_directory_path() / ("troupe-discovery-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::path deep = root;
    while (deep.string().size() < 4080) deep /= std::string(std::min<size_t>(200, 4085 - deep.string().size()), 'd');
    boost::system::error_code ec;
    fs::create_directories(deep, ec);
    if (ec) {
        BOOST_TEST_MESSAGE("cannot create a " << deep.string().size() << "-byte path here (" << ec.message() << "); skipped");
        return;
    }
    fs::create_symlink(root / "missing", root / "dangling");
    HostOptions o;
    o.plugin_paths = {deep.string(), root.string(), std::string(TROUPE_FIXTURE_DIR) + "/good"};
    o.character_paths = {deep.string(), root.string()};
    o.log_level = LogLevel::error;
    std::unique_ptr<Host> host;
    BOOST_CHECK_NO_THROW(host = std::make_unique<Host>(o));
    BOOST_REQUIRE(host);
    bool good = false;
    for (const auto& r : host->plugins()) good = good || (r.ok && contains(r.manifest.manifest_path, "/good/plugin.toml"));
    BOOST_TEST(good);
    for (const auto& c : host->characters()) BOOST_TEST(!contains(c.folder, root.string()), c.folder);
    fs::remove_all(root);
}
