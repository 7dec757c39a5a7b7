#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>

#include <troupe/audio.hpp>

#include <boost/filesystem.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sys/wait.h>

namespace fs = boost::filesystem;

namespace {

struct Run {
    int code;
    std::string out;
};

Run run(const std::string& args) {
    std::string command = std::string(TROUPE_CLI) + " " + args + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    std::string out;
    std::array<char, 4096> buffer{};
    while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
    int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

fs::path temp_dir() {
    fs::path dir = fs::temp_directory_path() / ("troupe-cli-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir;
}

/// Dominant frequency by zero crossings of the voiced part: enough to tell voices apart.
double zero_crossing_rate(const troupe::Audio& a) {
    size_t crossings = 0, voiced = 0;
    for (size_t i = 1; i < a.samples.size(); ++i) {
        if (std::abs(a.samples[i]) < 0.02f) continue;
        ++voiced;
        crossings += (a.samples[i - 1] < 0) != (a.samples[i] < 0);
    }
    return voiced ? double(crossings) / double(voiced) : 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(plugins_lists_the_espeak_voice) {
    Run r = run("plugins --json");
    BOOST_TEST(r.code == 0, r.out);
    BOOST_TEST(contains(r.out, "\"name\": \"espeak-ng\""), r.out);
}

BOOST_AUTO_TEST_CASE(every_character_speaks_in_a_different_voice) {
    fs::path dir = temp_dir();
    std::vector<std::string> ids = {"bujang", "sinip", "daeri", "timjang", "client"};
    std::vector<troupe::Audio> audio;
    for (const auto& id : ids) {
        fs::path out = dir / (id + ".wav");
        Run r = run("speak " + id + " --text \"안녕하세요. 오늘 회의는 열 시입니다.\" -o " + out.string());
        BOOST_REQUIRE_MESSAGE(r.code == 0, r.out);
        audio.push_back(troupe::read_wav(out.string()));
        BOOST_TEST(audio.back().seconds() > 1.0);
    }
    for (size_t i = 0; i < audio.size(); ++i)
        for (size_t j = i + 1; j < audio.size(); ++j) {
            bool differ = audio[i].samples.size() != audio[j].samples.size() ||
                          std::abs(zero_crossing_rate(audio[i]) - zero_crossing_rate(audio[j])) > 1e-3;
            BOOST_TEST(differ, ids[i] << " and " << ids[j] << " sound the same");
        }
}

BOOST_AUTO_TEST_CASE(bad_user_input_gives_clear_errors_and_exit_codes) {
    fs::path out = temp_dir() / "x.wav";
    Run r = run("speak bujang --text \"\" -o " + out.string());
    BOOST_TEST(r.code == 2);
    BOOST_TEST(contains(r.out, "--text is empty"), r.out);
    BOOST_TEST(!fs::exists(out));
    r = run("speak nobody --text 가 -o " + out.string());
    BOOST_TEST(r.code == 4);
    BOOST_TEST(contains(r.out, "known: bujang"), r.out);
    r = run("speak bujang --txt 가");
    BOOST_TEST(r.code == 2, r.out);
    r = run("no-such-command");
    BOOST_TEST(r.code == 2);
}

BOOST_AUTO_TEST_CASE(malformed_character_manifest_fails_validation_with_position) {
    fs::path folder = temp_dir() / "broken";
    fs::create_directories(folder);
    std::ofstream(folder / "character.toml") << "id = \"broken\"\nname = \"깨짐\"\n[persona\ndefinition = \"x\"\n";
    Run r = run("characters validate " + folder.string());
    BOOST_TEST(r.code == 3, r.out);
    BOOST_TEST(contains(r.out, (folder / "character.toml").string() + ":3:"), r.out);
    r = run("characters validate " + std::string(TROUPE_SOURCE_DIR) + "/characters/bujang");
    BOOST_TEST(r.code == 0, r.out);
}

namespace {
/// Seconds of an SRT time "hh:mm:ss,mmm".
double srt_seconds(const std::string& t) {
    return std::stoi(t.substr(0, 2)) * 3600 + std::stoi(t.substr(3, 2)) * 60 + std::stoi(t.substr(6, 2)) +
           std::stoi(t.substr(9, 3)) / 1000.0;
}
std::string slurp(const fs::path& p) {
    std::ifstream in(p.string(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

BOOST_AUTO_TEST_CASE(scene_with_fixed_lines_writes_timed_subtitles_and_is_deterministic) {
    fs::path dir = temp_dir();
    fs::path script = dir / "fixed.toml";
    std::ofstream(script.string()) << "title = \"고정 대사\"\ncast = [\"bujang\", \"sinip\"]\nseed = 3\n"
                                      "[[beats]]\nspeaker = \"bujang\"\nline = \"자자, 다들 커피 한 잔씩 하고 시작하자고.\"\n"
                                      "[[beats]]\nspeaker = \"sinip\"\nline = \"네, 회의 자료는 제가 먼저 공유하겠습니다.\"\n";
    for (const char* out : {"a", "b"}) {
        Run r = run("scene " + script.string() + " --out " + (dir / out).string());
        BOOST_REQUIRE_MESSAGE(r.code == 0, r.out);
    }
    for (const char* f : {"manifest.json", "subtitles.srt", "script.txt", "mix.wav", "lines/001_bujang.wav", "lines/002_sinip.wav"})
        BOOST_TEST(slurp(dir / "a" / f) == slurp(dir / "b" / f), f << " differs between two runs with the same seed");

    // Subtitle timings come from the audio: the last cue ends where the mixed track ends, and each cue
    // lasts as long as its line's WAV.
    troupe::Audio mix = troupe::read_wav((dir / "a" / "mix.wav").string());
    std::string srt = slurp(dir / "a" / "subtitles.srt");
    std::vector<std::pair<double, double>> cues;
    for (size_t pos = 0; (pos = srt.find(" --> ", pos)) != std::string::npos; pos += 5)
        cues.emplace_back(srt_seconds(srt.substr(pos - 12, 12)), srt_seconds(srt.substr(pos + 5, 12)));
    BOOST_REQUIRE_EQUAL(cues.size(), 2u);
    BOOST_TEST(std::abs(cues.back().second - mix.seconds()) < 0.002);
    troupe::Audio first = troupe::read_wav((dir / "a" / "lines/001_bujang.wav").string());
    BOOST_TEST(std::abs((cues[0].second - cues[0].first) - first.seconds()) < 0.002);
    BOOST_TEST(cues[1].first > cues[0].second);  // the pause between lines
    BOOST_TEST(contains(slurp(dir / "a" / "script.txt"), "신입: 네, 회의 자료는"));
}

BOOST_AUTO_TEST_CASE(malformed_scene_script_fails_with_position) {
    fs::path script = temp_dir() / "bad-scene.toml";
    std::ofstream(script.string()) << "title = \"x\"\ncast = [\"bujang\"]\n[[beats]]\nspeaker = \"nobody\"\nline = \"가\"\n";
    Run r = run("scene " + script.string() + " --out " + (temp_dir() / "bad-out").string());
    BOOST_TEST(r.code == 3, r.out);
    BOOST_TEST(contains(r.out, script.string() + ":4:"), r.out);
    BOOST_TEST(contains(r.out, "not in the cast"), r.out);
}

// Contract v2: the executable links no LibTorch and still offers the plugins' commands.
BOOST_AUTO_TEST_CASE(the_executable_links_no_libtorch_and_prints_its_version) {
    Run ldd = [] {
        FILE* pipe = popen((std::string("ldd ") + TROUPE_CLI + " 2>&1").c_str(), "r");
        std::string out;
        std::array<char, 4096> buffer{};
        while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
        return Run{WEXITSTATUS(pclose(pipe)), out};
    }();
    BOOST_TEST(ldd.code == 0, ldd.out);
    BOOST_TEST(contains(ldd.out, "libtroupe_core"), ldd.out);
    BOOST_TEST(!contains(ldd.out, "torch"), ldd.out);
    BOOST_TEST(!contains(ldd.out, "libc10"), ldd.out);
    Run v = run("--version");
    BOOST_TEST(v.code == 0, v.out);
    BOOST_TEST(contains(v.out, "troupe 0.1.0 (api=2;compiler="), v.out);
}

BOOST_AUTO_TEST_CASE(help_lists_plugin_command_groups_and_a_group_lists_its_commands) {
    Run help = run("--help");
    BOOST_TEST(help.code == 0, help.out);
    BOOST_TEST(contains(help.out, "Commands from plugins"), help.out);
    BOOST_TEST(contains(help.out, "train        base|lora|s1|s2 [eeve-lora, gpt-sovits]"), help.out);
    BOOST_TEST(contains(help.out, "tts          g2p|prepare|synth [gpt-sovits]"), help.out);
    BOOST_TEST(contains(help.out, "voice        train [gpt-sovits]"), help.out);
    Run train = run("train --help");
    BOOST_TEST(train.code == 0, train.out);
    BOOST_TEST(contains(train.out, "usage: troupe train <command>"), train.out);
    BOOST_TEST(contains(train.out, "lora         persona LoRA SFT"), train.out);
    BOOST_TEST(contains(train.out, "[eeve-lora]"), train.out);
    BOOST_TEST(contains(train.out, "s1           fine-tune the GPT-SoVITS v2 S1"), train.out);  // a second plugin in the group
    BOOST_TEST(contains(train.out, "[gpt-sovits]"), train.out);
    BOOST_TEST(run("train").code == 2);
    Run unknown = run("train nope");
    BOOST_TEST(unknown.code == 2, unknown.out);
    BOOST_TEST(contains(unknown.out, "unknown command 'train nope'"), unknown.out);
    BOOST_TEST(run("no-such-command").code == 2);
}

BOOST_AUTO_TEST_CASE(plugin_commands_follow_the_plugin_path) {
    // An empty plugin path first changes nothing; a path whose eeve-lora is broken is the one used.
    const fs::path dir = temp_dir() / "broken-plugins" / "eeve-lora";
    fs::create_directories(dir);
    std::ofstream(dir / "plugin.toml") << "name = \"eeve-lora\"\nkind = \"text-backend\"\nversion = \"9\"\n"
                                          "api_version = 2\nlibrary = \"libmissing.so\"\n"
                                          "[[commands]]\nname = \"lm tokenize\"\nsummary = \"a broken copy\"\n";
    Run r = run("--plugin-path " + (dir.parent_path()).string() + " lm tokenize --model x --text y");
    BOOST_TEST(r.code == 6, r.out);
    BOOST_TEST(contains(r.out, "plugin 'eeve-lora' failed to load at the open stage"), r.out);
    BOOST_TEST(contains(r.out, "libmissing.so"), r.out);
    Run help = run("--plugin-path " + (dir.parent_path()).string() + " lm --help");
    BOOST_TEST(contains(help.out, "tokenize     a broken copy [eeve-lora]"), help.out);
    BOOST_TEST(!contains(help.out, "generate"), help.out);  // the shadowed build copy's commands are gone
}

// ---- issue #12: bad input gets the documented exit code and a clear message ---------------------

namespace {
/// A character folder `<dir>/<id>` with the given [text]/[speech] backends and voice lines.
fs::path write_character(const fs::path& dir, const std::string& id, const std::string& name, const std::string& text_backend,
                         const std::string& speech_backend, const std::string& voice = "pitch = 40") {
    fs::create_directories(dir / id);
    std::ofstream(dir / id / "character.toml")
        << "id = \"" << id << "\"\nname = \"" << name << "\"\n[persona]\ndefinition = \"당신은 테스트용 인물입니다.\"\n"
        << "speech_level = \"haeyo\"\n[text]\nbackend = \"" << text_backend << "\"\n[speech]\nbackend = \"" << speech_backend
        << "\"\n[speech.voice]\n" << voice << "\n";
    return dir / id;
}
}  // namespace

BOOST_AUTO_TEST_CASE(generation_and_output_options_have_ranges) {
    const fs::path dir = temp_dir();
    Run r = run("say bujang --situation 회의 --max-new-tokens 100000");
    BOOST_TEST(r.code == 2, r.out);
    BOOST_TEST(contains(r.out, "--max-new-tokens must be between 1 and 8192"), r.out);
    r = run("say bujang --situation 회의 --seed -1");
    BOOST_TEST(r.code == 2, r.out);
    BOOST_TEST(contains(r.out, "--seed must be between 0 and"), r.out);
    r = run("speak bujang --text 안녕 --seed -1 -o " + (dir / "s.wav").string());
    BOOST_TEST(r.code == 2, r.out);
    r = run("speak bujang --text 안녕 -o " + dir.string());
    BOOST_TEST(r.code == 2, r.out);
    BOOST_TEST(contains(r.out, "is a folder; give a file name"), r.out);
    r = run("speak bujang --text 안녕 -o " + (dir / "no-such-folder" / "x.wav").string());
    BOOST_TEST(r.code == 4, r.out);
    BOOST_TEST(contains(r.out, "does not exist"), r.out);
    r = run("data check " + (dir / "missing.jsonl").string());
    BOOST_TEST(r.code == 4, r.out);
    BOOST_TEST(contains(r.out, "missing.jsonl: no such file"), r.out);
    r = run("data check " + dir.string());
    BOOST_TEST(r.code == 2, r.out);
}

BOOST_AUTO_TEST_CASE(scene_arguments_and_sizes_are_checked) {
    const fs::path dir = temp_dir();
    const fs::path script = dir / "one.toml";
    std::ofstream(script.string()) << "title = \"t\"\ncast = [\"bujang\"]\n[[beats]]\nspeaker = \"bujang\"\nline = \"안녕하세요.\"\n";
    std::ofstream((dir / "a-file").string()) << "x";
    Run r = run("scene " + script.string() + " --out " + (dir / "a-file").string());
    BOOST_TEST(r.code == 2, r.out);
    BOOST_TEST(contains(r.out, "is a file; the scene needs a folder"), r.out);
    r = run("scene " + dir.string());
    BOOST_TEST(r.code == 2, r.out);
    BOOST_TEST(contains(r.out, "is a folder, not a TOML file"), r.out);
    r = run("scene " + script.string() + " --seed -1 --out " + (dir / "s").string());
    BOOST_TEST(r.code == 2, r.out);
    // a 340 KB line is refused before anything is voiced
    const fs::path huge = dir / "huge.toml";
    std::string line;
    while (line.size() < 340000) line += "아주 긴 대사입니다. ";
    std::ofstream(huge.string()) << "title = \"t\"\ncast = [\"bujang\"]\n[[beats]]\nspeaker = \"bujang\"\nline = \"" << line << "\"\n";
    r = run("scene " + huge.string() + " --out " + (dir / "huge").string());
    BOOST_TEST(r.code == 3, r.out);
    BOOST_TEST(contains(r.out, huge.string() + ":5:"), r.out);
    BOOST_TEST(contains(r.out, "at most 1000"), r.out);
    BOOST_TEST(!fs::exists(dir / "huge" / "mix.wav"));
}

BOOST_AUTO_TEST_CASE(scene_folder_holds_exactly_the_last_scene) {
    const fs::path dir = temp_dir(), out = dir / "scene-out";
    fs::create_directories(out / "lines");
    for (const char* stale : {"01_bujang.wav", "02_sinip.wav", "003_daeri.wav", "003_daeri.wav.tmp"})
        std::ofstream((out / "lines" / stale).string()) << "stale";
    std::ofstream((out / "lines" / "notes.txt").string()) << "mine";  // not the scene's: kept
    std::ofstream((out / "manifest.json.tmp").string()) << "{";
    const fs::path script = dir / "eleven.toml";
    std::ofstream s(script.string());
    s << "title = \"t\"\ncast = [\"bujang\", \"sinip\"]\n";
    for (int i = 0; i < 11; ++i) s << "[[beats]]\nspeaker = \"" << (i % 2 ? "sinip" : "bujang") << "\"\nline = \"네.\"\n";
    s.close();
    Run r = run("scene " + script.string() + " --out " + out.string());
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.out);
    std::vector<std::string> names;
    for (auto& e : fs::directory_iterator(out / "lines")) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    BOOST_REQUIRE_EQUAL(names.size(), 12u);  // 11 lines + notes.txt
    BOOST_TEST(names[0] == "001_bujang.wav");
    BOOST_TEST(names[9] == "010_sinip.wav");  // sorts after 009, before 011
    BOOST_TEST(names[10] == "011_bujang.wav");
    BOOST_TEST(names[11] == "notes.txt");
    BOOST_TEST(!fs::exists(out / "manifest.json.tmp"));
}

BOOST_AUTO_TEST_CASE(plugins_exits_1_and_names_failed_plugins) {
    const fs::path dir = temp_dir() / "plugins";
    fs::create_directories(dir / "broken");
    std::ofstream((dir / "broken" / "plugin.toml").string())
        << "name = \"broken-manifest\"\nkind = \"speech-backend\"\nversion = \"1\"\napi_version = \"one\"\nlibrary = \"x.so\"\n";
    fs::create_directories(dir / "text");
    std::ofstream((dir / "text" / "plugin.toml").string())
        << "name = \"not-a-library\"\nkind = \"speech-backend\"\nversion = \"1\"\napi_version = 1\nlibrary = \"libx.so\"\n";
    std::ofstream((dir / "text" / "libx.so").string()) << "just text\n";
    Run r = run("--plugin-path " + dir.string() + " plugins");
    BOOST_TEST(r.code == 1, r.out);
    BOOST_TEST(contains(r.out, "broken-manifest"), r.out);
    BOOST_TEST(contains(r.out, "not a shared library"), r.out);
    BOOST_TEST(!contains(r.out, "Bad file descriptor"), r.out);
    r = run("--plugin-path " + dir.string() + " --json plugins");
    BOOST_TEST(r.code == 1, r.out);
}

BOOST_AUTO_TEST_CASE(validate_agrees_with_run_time) {
    const fs::path dir = temp_dir() / "validate";
    fs::remove_all(dir);
    const fs::path unknown = write_character(dir, "unknown", "미상", "no-such-backend", "espeak-ng");
    const fs::path kind = write_character(dir, "kind", "종류", "espeak-ng", "espeak-ng");
    const fs::path pitch = write_character(dir, "pitch", "음높이", "eeve-lora", "espeak-ng", "pitch = 100000");
    Run r = run("characters validate " + unknown.string() + " " + kind.string() + " " + pitch.string());
    BOOST_TEST(r.code == 3, r.out);
    BOOST_TEST(contains(r.out, "text.backend = 'no-such-backend' is no plugin"), r.out);
    BOOST_TEST(contains(r.out, "text.backend = 'espeak-ng' is a speech-backend plugin, not a text-backend"), r.out);
    BOOST_TEST(contains(r.out, "[speech.voice]: voice parameter pitch = '100000'"), r.out);
    // the same characters fail the same way at run time
    Run say = run("--characters " + dir.string() + " say kind --situation 회의");
    BOOST_TEST(say.code != 0, say.out);
    Run speak = run("--characters " + dir.string() + " speak pitch --text 안녕 -o " + (dir / "p.wav").string());
    BOOST_TEST(speak.code != 0, speak.out);

    // allow_dirs from troupe.toml is honoured, through a symlink too
    const fs::path voices = temp_dir() / "voices";
    fs::create_directories(voices);
    std::ofstream((voices / "unused.toml").string()) << "not read by --static";
    const fs::path allowed = write_character(dir, "allowed", "허용", "eeve-lora", "espeak-ng",
                                             "pitch = 40\nreference_audio = \"voice.wav\"");
    fs::remove(allowed / "voice.wav");
    fs::create_symlink(voices / "unused.toml", allowed / "voice.wav");
    r = run("characters validate --static " + allowed.string());
    BOOST_TEST(r.code == 3, r.out);
    BOOST_TEST(contains(r.out, "points outside the character folder"), r.out);
    std::ofstream((dir / "troupe.toml").string()) << "[characters]\nallow_dirs = [\"" << voices.string() << "\"]\n";
    r = run("--troupe-config " + (dir / "troupe.toml").string() + " characters validate --static " + allowed.string());
    BOOST_TEST(r.code == 0, r.out);
}

BOOST_AUTO_TEST_CASE(an_ambiguous_character_name_is_an_error_listing_the_candidates) {
    const fs::path dir = temp_dir() / "twins";
    fs::remove_all(dir);
    write_character(dir, "twin-a", "쌍둥이", "eeve-lora", "espeak-ng");
    write_character(dir, "twin-b", "쌍둥이", "eeve-lora", "espeak-ng", "pitch = 70");
    Run r = run("--characters " + dir.string() + " speak 쌍둥이 --text 안녕 -o " + (dir / "x.wav").string());
    BOOST_TEST(r.code == 2, r.out);
    BOOST_TEST(contains(r.out, "'쌍둥이' is ambiguous"), r.out);
    BOOST_TEST((contains(r.out, "twin-a") && contains(r.out, "twin-b")), r.out);
    r = run("--characters " + dir.string() + " speak twin-b --text 안녕 -o " + (dir / "x.wav").string());
    BOOST_TEST(r.code == 0, r.out);
}

namespace {
/// A scene of the five characters: a fixed opening line, a parallel group of five (the last one
/// answering the opening), then a line answering one of the group.
fs::path write_parallel_scene(const fs::path& dir) {
    const fs::path script = dir / "parallel.toml";
    std::ofstream s(script.string());
    s << "title = \"회식 공지\"\ncast = [\"bujang\", \"timjang\", \"daeri\", \"sinip\", \"client\"]\nseed = 5\n"
         "[[beats]]\nspeaker = \"bujang\"\nline = \"자, 오늘 저녁은 다 같이 회식이다!\"\n";
    for (const char* id : {"timjang", "daeri", "sinip", "client", "bujang"})
        s << "[[beats]]\nspeaker = \"" << id << "\"\nsituation = \"부장님이 갑자기 오늘 저녁 회식을 선언했다\"\nparallel = true\n"
          << (std::string(id) == "bujang" ? "answers = \"bujang\"\n" : "");
    s << "[[beats]]\nspeaker = \"sinip\"\nsituation = \"회식 장소를 정해야 한다\"\nanswers = \"client\"\n";
    return script;
}
}  // namespace

// The lines of a parallel group are generated in one batch (each row with its character's adapter,
// eeve-lora's BatchTextBackend) and are the same as when generated one by one: sampled with each
// line's own seed, the texts are identical (the rows' logits agree to float rounding).
BOOST_AUTO_TEST_CASE(parallel_group_is_one_batch_with_the_lines_of_one_by_one) {
    const fs::path dir = temp_dir() / "parallel";
    fs::create_directories(dir);
    const fs::path script = write_parallel_scene(dir);
    for (const char* batch : {"8", "1", "2"}) {
        Run r = run("scene " + script.string() + " --max-new-tokens 12 --batch-size " + batch + " --out " +
                    (dir / batch).string());
        BOOST_REQUIRE_MESSAGE(r.code == 0, r.out);
    }
    BOOST_TEST(slurp(dir / "8" / "script.txt") == slurp(dir / "1" / "script.txt"));
    BOOST_TEST(slurp(dir / "8" / "script.txt") == slurp(dir / "2" / "script.txt"));
    BOOST_TEST(slurp(dir / "8" / "manifest.json") == slurp(dir / "1" / "manifest.json"));
    BOOST_TEST(contains(slurp(dir / "8" / "manifest.json"), "\"parallel_group\": 1"));
    BOOST_TEST(contains(slurp(dir / "8" / "timing.json"), "\"batch\": 5"));
    BOOST_TEST(!contains(slurp(dir / "1" / "timing.json"), "\"batch\""));
    BOOST_TEST(contains(slurp(dir / "2" / "timing.json"), "\"batch\": 2"));  // 5 lines: batches of 2, 2 and 1
    for (const char* id : {"002_timjang", "003_daeri", "004_sinip", "005_client", "006_bujang", "007_sinip"})
        BOOST_TEST(fs::file_size(dir / "8" / "lines" / (std::string(id) + ".wav")) > 1000u, id);
}

BOOST_AUTO_TEST_CASE(parallel_group_errors_are_clear) {
    const fs::path dir = temp_dir() / "parallel-bad";
    fs::create_directories(dir);
    auto scene = [&](const std::string& name, const std::string& beats) {
        const fs::path p = dir / (name + ".toml");
        std::ofstream(p.string()) << "title = \"t\"\ncast = [\"bujang\", \"sinip\"]\n" << beats;
        return run("scene " + p.string() + " --out " + (dir / name).string());
    };
    const std::string group = "[[beats]]\nspeaker = \"bujang\"\nsituation = \"회의\"\nparallel = true\n"
                              "[[beats]]\nspeaker = \"sinip\"\nsituation = \"회의\"\nparallel = true\n";
    // a line of the group answering another line of it: it cannot see it
    Run r = scene("sibling", group + "answers = \"bujang\"\n");
    BOOST_TEST(r.code == 3, r.out);
    BOOST_TEST(contains(r.out, "sibling.toml:11:"), r.out);
    BOOST_TEST(contains(r.out, "'bujang' speaks at beat 1 in the same parallel group"), r.out);
    r = scene("nobody-yet", group + "answers = \"sinip\"\n");
    BOOST_TEST(r.code == 3, r.out);
    BOOST_TEST(contains(r.out, "'sinip' has no line before this beat"), r.out);
    r = scene("outsider", group + "answers = \"daeri\"\n");
    BOOST_TEST(r.code == 3, r.out);
    BOOST_TEST(contains(r.out, "'daeri' is not in the cast"), r.out);
    r = scene("not-bool", "[[beats]]\nspeaker = \"bujang\"\nline = \"네.\"\nparallel = \"yes\"\n");
    BOOST_TEST(r.code == 3, r.out);
    BOOST_TEST(contains(r.out, "must be true or false"), r.out);
    BOOST_TEST(!fs::exists(dir / "sibling" / "manifest.json"));
    // batch sizes outside 1-64
    const fs::path ok = dir / "ok.toml";
    std::ofstream(ok.string()) << "title = \"t\"\ncast = [\"bujang\"]\n[[beats]]\nspeaker = \"bujang\"\nline = \"네.\"\n";
    for (const char* n : {"0", "65", "-3", "100000000000"}) {
        r = run("scene " + ok.string() + " --batch-size " + n + " --out " + (dir / "ok").string());
        BOOST_TEST(r.code == 2, n << ": " << r.out);
        BOOST_TEST(contains(r.out, "--batch-size must be between 1 and 64"), n << ": " << r.out);
    }
}
