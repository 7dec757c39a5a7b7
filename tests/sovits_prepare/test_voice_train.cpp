// `troupe voice train` end to end on the CPU, through the troupe executable: an espeak-ng Korean corpus
// → prepare → 1 S1 and 1 S2 step from the conformance checkpoints → the weights, a reference clip and
// its codes in a copy of a character folder whose character.toml now names gpt-sovits
// (no [[speech.emotions]]: the labels give none) → `troupe speak` with that character writes a WAV.
// Then two labels gain emotions and a rerun writes one reference per emotion, which the character
// reader loads and voice_for picks (`troupe speak --emotion` uses it). Bad input (unknown character,
// clips without labels, a read-only character folder) fails with a clear message and leaves the character as it was.
// The HuBERT features are seeded stand-ins (as in test_train_s1_e2e: the only HuBERT fixture is narrower
// than the S2 fixture's SSL input), as long as the audio's spectrogram, written into the work folder the
// command then reuses.
#define BOOST_TEST_MODULE voice_train
#include <boost/test/unit_test.hpp>

#include "cli_capture.hpp"
#include "corpus.hpp"

#include "prepare/torch_file.hpp"
#include "../common/conformance.hpp"

#include <troupe/audio.hpp>
#include <troupe/character.hpp>
#include <troupe/request.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

namespace fs = std::filesystem;
using namespace troupe::test;

namespace {

std::string conformance_dir() {
    return troupe::test::conformance_root().string();
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

/// Runs `troupe ARGS` (stderr folded in): (exit code, output).
std::pair<int, std::string> troupe_cli(const std::string& args) {
    FILE* pipe = popen((std::string(TROUPE_CLI) + " " + args + " 2>&1").c_str(), "r");
    BOOST_REQUIRE(pipe);
    std::string out;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

struct Fixture {
    std::string s1, s2;
    fs::path dir, characters, work;
    Corpus corpus;
};

/// The corpus, a prepared work folder with SSL stand-ins, and a copy of characters/sinip; false to skip.
bool setup(Fixture& f) {
    const std::string models = conformance_dir() + "/gpt-sovits/models";
    f.s1 = models + "/s1.ckpt";
    f.s2 = models + "/s2.pth";
    if (!fs::exists(f.s1) || !fs::exists(f.s2)) {
        BOOST_TEST_MESSAGE("skipped: no " << f.s1 << " / " << f.s2);
        return false;
    }
    f.dir = fs::temp_directory_path() / ("troupe_voice_train_" + std::to_string(::getpid()));
    fs::remove_all(f.dir);
    fs::create_directories(f.dir);
    f.corpus = make_corpus(f.dir.string());
    f.characters = f.dir / "characters";
    fs::create_directories(f.characters);
    fs::copy(fs::path(TROUPE_SOURCE_DIR) / "characters/sinip", f.characters / "sinip", fs::copy_options::recursive);
    f.work = f.dir / "work";
    const std::string data = (f.work / "data").string();
    auto [rc, text] = run_prepare({"--aihub", f.corpus.root, "-o", data, "--keep-going"});
    BOOST_REQUIRE_MESSAGE(rc == 0, text);
    const auto s2_weights = troupe::pt::Checkpoint::open(f.s2).state_dict("weight");
    const int64_t ssl_dim = s2_weights.at("ssl_proj.weight").size(1);
    fs::create_directories(data + "/4-cnhubert");
    at::manual_seed(3);
    for (const auto& line : lines_of(read_file(data + "/2-name2text.txt"))) {
        const auto cols = split(line, '\t');
        if (cols.size() != 4) continue;
        const std::string wav = data + "/5-wav32k/" + cols[0];
        if (!fs::exists(wav)) continue;
        // HuBERT's frame count for this audio at 16 kHz (400-sample window, 320 hop, 50 Hz).
        const int64_t n16 = int64_t(troupe::read_wav(wav).samples.size() / 2);
        const int64_t frames = (n16 - 400) / 320 + 1;
        troupe::sovits::prepare::save_tensor_pt(data + "/4-cnhubert/" + cols[0] + ".pt", at::randn({1, ssl_dim, frames}));
    }
    return true;
}

std::string train_args(const Fixture& f, const std::string& character, const std::string& clips) {
    return "--characters " + quote(f.characters.string()) + " voice train " + character + " --clips " + quote(clips) +
           " --s1 " + quote(f.s1) + " --s2 " + quote(f.s2) + " --output " + quote(f.work.string()) + " --max-steps 1";
}

}  // namespace

BOOST_AUTO_TEST_CASE(voice_train_then_speak) {
    Fixture f;
    if (!setup(f)) return;
    const fs::path folder = f.characters / "sinip";
    const std::string old_toml = read_file((folder / "character.toml").string());

    // Bad input first: each fails clearly and the character stays as it was.
    auto [rc, out] = troupe_cli(train_args(f, "nobody", f.corpus.root));
    BOOST_TEST(rc == 4, out);
    BOOST_TEST(out.find("nobody") != std::string::npos, out);
    fs::create_directories(f.dir / "empty");
    std::tie(rc, out) = troupe_cli(train_args(f, "sinip", (f.dir / "empty").string()));
    BOOST_TEST(rc == 4, out);
    BOOST_TEST(out.find("no labelled clips") != std::string::npos, out);
    BOOST_TEST(out.find("empty") != std::string::npos, out);
    fs::permissions(folder, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write, fs::perm_options::remove);
    if (FILE* probe = std::fopen((folder / "probe").c_str(), "w")) {  // root ignores permissions
        std::fclose(probe);
        fs::remove(folder / "probe");
        BOOST_TEST_MESSAGE("skipped the read-only case: permissions do not apply to this user");
    } else {
        std::tie(rc, out) = troupe_cli(train_args(f, "sinip", f.corpus.root));
        BOOST_TEST(rc == 2, out);
        BOOST_TEST(out.find("not writable") != std::string::npos, out);
    }
    fs::permissions(folder, fs::perms::owner_write, fs::perm_options::add);
    BOOST_TEST(read_file((folder / "character.toml").string()) == old_toml);
    BOOST_TEST(!fs::exists(folder / "voice"));

    // The real run: one step of each stage.
    std::tie(rc, out) = troupe_cli("--json " + train_args(f, "sinip", f.corpus.root));
    BOOST_REQUIRE_MESSAGE(rc == 0, out);
    BOOST_TEST(out.find("[3/4] S2") != std::string::npos, out);
    const std::string toml = read_file((folder / "character.toml").string());
    BOOST_TEST(toml.find("backend = \"gpt-sovits\"") != std::string::npos, toml);
    BOOST_TEST(toml.find("espeak-ng") == std::string::npos, toml);
    BOOST_TEST(toml.find("[[eval.scenarios]]") != std::string::npos, toml);  // the rest is kept
    BOOST_TEST(read_file((folder / "character.toml.bak").string()) == old_toml);
    for (const char* file : {"voice/s1.ckpt", "voice/s2.pth", "voice/ref.wav", "voice/ref.txt", "voice/ref.codes"}) {
        BOOST_TEST(fs::exists(folder / file), file);
        const bool named = toml.find(std::string(file) + "\"") != std::string::npos;
        BOOST_TEST((named || std::string(file) == "voice/ref.txt"), file);
    }

    // `troupe speak` uses the new voice at once.
    const std::string wav = (f.dir / "speak.wav").string();
    std::tie(rc, out) = troupe_cli("--characters " + quote(f.characters.string()) + " speak sinip --text '안녕하세요.' -o " + quote(wav));
    BOOST_REQUIRE_MESSAGE(rc == 0, out);
    const troupe::Audio audio = troupe::read_wav(wav);
    BOOST_TEST(audio.sample_rate > 0);
    BOOST_TEST(!audio.samples.empty());
    BOOST_TEST(toml.find("[[speech.emotions]]") == std::string::npos, toml);  // the labels give no emotion
    BOOST_TEST(troupe::load_character(folder.string()).emotions.empty());

    // The same command again: both runs have nothing left to train, and their weights are used again.
    const std::string s1_before = read_file((folder / "voice/s1.ckpt").string());
    const std::string s2_before = read_file((folder / "voice/s2.pth").string());
    std::tie(rc, out) = troupe_cli(train_args(f, "sinip", f.corpus.root));
    BOOST_REQUIRE_MESSAGE(rc == 0, out);
    const size_t first = out.find("nothing to train");  // once for S1, once for S2
    BOOST_TEST((first != std::string::npos && out.find("nothing to train", first + 1) != std::string::npos), out);
    BOOST_TEST(read_file((folder / "voice/s1.ckpt").string()) == s1_before);
    BOOST_TEST(read_file((folder / "voice/s2.pth").string()) == s2_before);

    // Emotions in two labels (AI Hub's nested "Emotion", a flat "emotion"): one reference each.
    const std::vector<std::pair<std::string, size_t>> labelled = {{"기쁨", 0}, {"angry", 1}};  // emotion, corpus.good index
    for (const auto& [emotion, i] : labelled) {
        nlohmann::json j = nlohmann::json::parse(read_file(f.corpus.good[i].label));
        if (j.contains("화자정보")) j["화자정보"]["Emotion"] = emotion;
        else j["emotion"] = emotion;
        std::ofstream(f.corpus.good[i].label) << j.dump();
    }
    std::tie(rc, out) = troupe_cli(train_args(f, "sinip", f.corpus.root) + " --no-resume");
    BOOST_REQUIRE_MESSAGE(rc == 0, out);
    const std::string toml2 = read_file((folder / "character.toml").string());
    size_t sections = 0;
    for (size_t at = toml2.find("[[speech.emotions]]"); at != std::string::npos; at = toml2.find("[[speech.emotions]]", at + 1)) ++sections;
    BOOST_TEST(sections == 2u, toml2);
    const troupe::Character c = troupe::load_character(folder.string());
    BOOST_REQUIRE_EQUAL(c.emotions.size(), 2u);
    const troupe::Voice plain = troupe::voice_for(c, "");
    const auto semantic = lines_of(read_file((f.work / "data/6-name2semantic.tsv").string()));
    const auto names = lines_of(read_file((f.work / "data/2-name2text.txt").string()));
    for (const auto& [emotion, i] : labelled) {
        const troupe::Voice v = troupe::voice_for(c, emotion);
        BOOST_TEST(fs::is_regular_file(v.reference_audio), emotion);
        BOOST_TEST(fs::equivalent(fs::path(v.reference_audio).parent_path(), folder / "voice"), v.reference_audio);
        BOOST_TEST(v.reference_audio != plain.reference_audio, emotion);
        // The emotion's own prompt codes: those prepared for its clip, never the default's.
        BOOST_REQUIRE(v.params.count("prompt_codes_file"));
        BOOST_TEST(v.params.at("prompt_codes_file") != plain.params.at("prompt_codes_file"), emotion);
        const std::string clip = fs::path(f.corpus.good[i].audio).filename().string();
        size_t found = 0;
        for (const auto& line : semantic)
            if (const auto cols = split(line, '\t'); cols.size() == 2 && cols[0] == clip) {
                BOOST_TEST(read_file(v.params.at("prompt_codes_file")) == cols[1] + "\n", emotion);
                ++found;
            }
        for (const auto& line : names)  // the transcript prepared for its clip
            if (const auto cols = split(line, '\t'); cols.size() == 4 && cols[0] == clip) {
                BOOST_TEST(v.reference_text == cols[3], emotion);
                ++found;
            }
        BOOST_TEST(found == 2u, clip);
    }
    std::tie(rc, out) = troupe_cli("--characters " + quote(f.characters.string()) + " speak sinip --emotion angry --text '안녕하세요.' -o " +
                                   quote(wav));
    BOOST_REQUIRE_MESSAGE(rc == 0, out);
    BOOST_TEST(!troupe::read_wav(wav).samples.empty());

    if (std::getenv("TROUPE_KEEP_TEST_OUTPUT")) BOOST_TEST_MESSAGE("kept " << f.dir);
    else fs::remove_all(f.dir);
}
