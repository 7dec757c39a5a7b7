#define BOOST_TEST_MODULE characters
#include <boost/test/unit_test.hpp>

#include <troupe/character.hpp>
#include <troupe/kit/params.hpp>
#include <troupe/kit/sha256.hpp>
#include <troupe/status.hpp>

#include <boost/filesystem.hpp>

#include <fstream>

using namespace troupe;
namespace fs = boost::filesystem;

namespace {

const char* kValid = R"(id = "tester"
name = "테스터"
[persona]
definition = "당신은 테스트용 인물입니다."
speech_level = "haeyo"
[text]
backend = "eeve-lora"
adapter = "adapter"
[speech]
backend = "espeak-ng"
[speech.voice]
pitch = 40
)";

fs::path test_root() { return fs::temp_directory_path() / ("troupe-test-" + std::to_string(::getpid())); }

/// Writes `text` as <tmp>/<id>/character.toml (with an empty adapter/ folder) and returns the folder.
std::string write_character(const std::string& text, const std::string& id = "tester") {
    fs::path folder = test_root() / id;
    fs::create_directories(folder / "adapter");
    std::ofstream(folder / "character.toml") << text;
    return folder.string();
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
    return text;
}

std::string error_of(const std::string& folder) {
    try {
        load_character(folder);
    } catch (const Error& e) {
        BOOST_TEST(int(e.code()) == int(Errc::invalid_file));
        return e.what();
    }
    return "(no error)";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(shipped_characters_load) {
    int count = 0;
    for (auto& entry : fs::directory_iterator(std::string(TROUPE_SOURCE_DIR) + "/characters")) {
        if (!fs::exists(entry.path() / "character.toml")) continue;
        Character c = load_character(entry.path().string());
        BOOST_TEST(!c.persona.empty());
        BOOST_TEST(!c.scenarios.empty(), c.id << " has no eval scenarios");
        BOOST_TEST(c.folder == entry.path().string());
        ++count;
    }
    BOOST_TEST(count >= 5);
}

BOOST_AUTO_TEST_CASE(valid_manifest_resolves_paths_and_renders_the_prompt) {
    Character c = load_character(write_character(kValid));
    BOOST_TEST(c.name == "테스터");
    BOOST_TEST(c.adapter == c.folder + "/adapter");
    BOOST_TEST(c.voice.params.at("pitch") == "40");
    BOOST_TEST(render_prompt(c, "회의 중", "고개를 든다") ==
               "### Instruction:\n당신은 테스트용 인물입니다.\n\n### Input:\n상황: 회의 중 [지문: 고개를 든다]\n\n### Response:\n");
}

BOOST_AUTO_TEST_CASE(syntax_error_reports_file_line_column) {
    std::string folder = write_character(std::string(kValid) + "oops = = 3\n");
    std::string e = error_of(folder);
    BOOST_TEST(contains(e, folder + "/character.toml:13:"), e);
}

BOOST_AUTO_TEST_CASE(unknown_key_is_an_error_with_its_position) {
    std::string text = kValid;
    text.replace(text.find("[speech]"), 8, "[speech]\nbakend = \"x\"");
    std::string e = error_of(write_character(text));
    BOOST_TEST(contains(e, "character.toml:10:1: unknown key 'speech.bakend'"), e);
}

BOOST_AUTO_TEST_CASE(wrong_type_is_an_error_with_its_position) {
    std::string text = kValid;
    text.replace(text.find("pitch = 40"), 10, "pitch = [1]");
    std::string e = error_of(write_character(text));
    BOOST_TEST(contains(e, "character.toml:12:"), e);
    BOOST_TEST(contains(e, "pitch"), e);
}

BOOST_AUTO_TEST_CASE(paths_may_not_escape_the_folder) {
    std::string text = kValid;
    text.replace(text.find("\"adapter\""), 9, "\"../../etc\"");
    std::string e = error_of(write_character(text));
    BOOST_TEST(contains(e, "outside the character folder"), e);
    text = kValid;
    text.replace(text.find("\"adapter\""), 9, "\"/etc\"");
    BOOST_TEST(contains(error_of(write_character(text)), "outside the character folder"));
    // unless the user's configuration allows the directory
    Character c = load_character(write_character(text), {"/etc"});
    BOOST_TEST(c.adapter == "/etc");
}

BOOST_AUTO_TEST_CASE(missing_required_fields_and_bad_values_are_named) {
    std::string text = kValid;
    text.replace(text.find("speech_level = \"haeyo\""), 22, "speech_level = \"polite\"");
    BOOST_TEST(contains(error_of(write_character(text)), "speech_level"));
    text = kValid;
    text.replace(text.find("id = \"tester\""), 13, "id = \"other\"");
    BOOST_TEST(contains(error_of(write_character(text)), "must equal the folder name"));
    text = kValid;
    text.erase(text.find("[text]"), std::string("[text]\nbackend = \"eeve-lora\"\nadapter = \"adapter\"\n").size());
    BOOST_TEST(contains(error_of(write_character(text)), "'text' is required"));
}

// ---- issue #12: paths resolve (symlinks followed) before they are checked ----------------------

BOOST_AUTO_TEST_CASE(a_symlink_inside_the_folder_may_not_lead_out_of_it) {
    // an adapter symlinked to another folder
    const fs::path elsewhere = test_root() / "elsewhere-adapter";
    fs::create_directories(elsewhere);
    std::string folder = write_character(kValid, "linked");
    std::string text = replaced(kValid, "id = \"tester\"", "id = \"linked\"");
    std::ofstream(fs::path(folder) / "character.toml") << text;
    fs::remove_all(fs::path(folder) / "adapter");
    fs::create_symlink(elsewhere, fs::path(folder) / "adapter");
    std::string e = error_of(folder);
    BOOST_TEST(contains(e, "'text.adapter' points outside the character folder"), e);
    BOOST_TEST(contains(e, elsewhere.string()), e);  // says where it really leads
    // allowed when the user's configuration allows the directory it leads to
    BOOST_TEST(load_character(folder, {elsewhere.string()}).adapter == elsewhere.string());

    // a reference audio symlinked to /etc/passwd
    std::string voice = replaced(kValid, "pitch = 40", "reference_audio = \"voice/ref.wav\"");
    folder = write_character(voice, "tester");
    fs::create_directories(fs::path(folder) / "voice");
    fs::remove(fs::path(folder) / "voice" / "ref.wav");
    fs::create_symlink("/etc/passwd", fs::path(folder) / "voice" / "ref.wav");
    e = error_of(folder);
    BOOST_TEST(contains(e, "reference_audio' points outside the character folder"), e);
    BOOST_TEST(contains(e, "/etc/passwd"), e);
    fs::remove_all(fs::path(folder) / "voice");
}

BOOST_AUTO_TEST_CASE(every_path_key_is_checked_prompt_codes_file_included) {
    std::string text = replaced(kValid, "pitch = 40", "prompt_codes_file = \"/etc/passwd\"");
    std::string e = error_of(write_character(text));
    BOOST_TEST(contains(e, "prompt_codes_file' points outside the character folder"), e);
    text = replaced(kValid, "[speech]", "[text.params]\n\"model.dir\" = \"../..\"\n[speech]");
    e = error_of(write_character(text));
    BOOST_TEST(contains(e, "params.model.dir' points outside the character folder"), e);
}

BOOST_AUTO_TEST_CASE(named_files_and_folders_must_exist) {
    std::string folder = write_character(kValid);
    fs::remove_all(fs::path(folder) / "adapter");
    std::string e = error_of(folder);
    BOOST_TEST(contains(e, "'text.adapter' names adapter, which does not exist"), e);
    fs::create_directories(fs::path(folder) / "adapter");
    e = error_of(write_character(replaced(kValid, "[persona]", "hooks = \"hooks\"\n[persona]")));
    BOOST_TEST(contains(e, "'hooks' names hooks, which does not exist"), e);
    fs::create_directories(fs::path(folder) / "hooks");
    e = error_of(write_character(replaced(kValid, "[persona]", "hooks = \"hooks\"\n[persona]")));
    BOOST_TEST(contains(e, "without a plugin.toml"), e);
    fs::remove_all(fs::path(folder) / "hooks");
    e = error_of(write_character(replaced(kValid, "pitch = 40", "reference_audio = \"adapter\"")));
    BOOST_TEST(contains(e, "which is not a file"), e);
}

BOOST_AUTO_TEST_CASE(ids_sizes_and_counts_have_limits) {
    // a non-ASCII id (even when it equals the folder name)
    std::string e = error_of(write_character(replaced(kValid, "id = \"tester\"", "id = \"테스터\""), "테스터"));
    BOOST_TEST(contains(e, "must be 1-64 ASCII letters"), e);
    // a 1.2 MB persona
    std::string persona(1200000, 'x');
    e = error_of(write_character(replaced(kValid, "당신은 테스트용 인물입니다.", persona)));
    BOOST_TEST(contains(e, "'persona.definition' is 1200000 characters; at most 4000"), e);
    std::string list = "favoured_expressions = [";
    for (int i = 0; i < 101; ++i) list += "\"a\", ";
    list += "]\nspeech_level";
    e = error_of(write_character(replaced(kValid, "speech_level", list)));
    BOOST_TEST(contains(e, "at most 100 entries"), e);
}

BOOST_AUTO_TEST_CASE(the_plugin_kit_confines_paths_where_they_really_lead) {
    const fs::path dir = test_root() / "kit-confine";
    fs::create_directories(dir);
    fs::remove(dir / "passwd");
    fs::create_symlink("/etc/passwd", dir / "passwd");
    BOOST_CHECK_THROW(kit::confine_path((dir / "passwd").string(), {dir.string()}, "voice"), Error);
    BOOST_CHECK_THROW(kit::confine_path((dir / ".." / "x").string(), {dir.string()}, "voice"), Error);
    std::ofstream((dir / "codes.txt").string()) << "1 2 3";
    BOOST_TEST(kit::confine_path((dir / "codes.txt").string(), {dir.string()}, "voice") == (dir / "codes.txt").string());
}

BOOST_AUTO_TEST_CASE(the_plugin_kit_hashes_with_sha256) {
    // FIPS 180-4 / NIST example messages: empty, one block, two blocks after padding, and a million bytes
    // fed in uneven pieces (block boundaries fall inside update()).
    BOOST_TEST(kit::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    BOOST_TEST(kit::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    BOOST_TEST(kit::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    kit::Sha256 sha;
    const std::string piece(7, 'a');
    size_t fed = 0;
    for (; fed + piece.size() <= 1000000; fed += piece.size()) sha.update(piece);
    sha.update(std::string(1000000 - fed, 'a'));
    BOOST_TEST(sha.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    const fs::path file = test_root() / "sha256.txt";
    std::ofstream(file.string()) << "abc";
    BOOST_TEST(kit::sha256_file(file.string()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    BOOST_CHECK_THROW(kit::sha256_file((test_root() / "no-such-file").string()), Error);
}
