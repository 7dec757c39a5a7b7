// End to end on the CPU: an espeak-ng Korean corpus → `troupe tts prepare` (through the loaded
// gpt-sovits plugin: text, 32 kHz audio and,
// through the conformance S2's ssl_proj + quantizer, semantic codes) → 2 S1 optimizer steps from the
// conformance S1 → the exported .ckpt loads in Troupe's S1 loader → synthesis with it runs; then
// `troupe train s1 --config` itself through the plugin, and a recipe with an absurd value.
// The HuBERT features are seeded stand-ins written where `--hubert` would write them: the only
// HuBERT fixture is narrower than the S2 fixture's SSL input (widths are read from the weights).
#define BOOST_TEST_MODULE train_s1_e2e
#include <boost/test/unit_test.hpp>

#include "cli_capture.hpp"
#include "corpus.hpp"

#include "engine.hpp"
#include "prepare/torch_file.hpp"
#include "s1/model.hpp"
#include "train/s1_trainer.hpp"
#include "../common/conformance.hpp"

#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

namespace fs = std::filesystem;
namespace tr = troupe::sovits::train;
using namespace troupe::test;

namespace {

std::string conformance_dir() {
    return troupe::test::conformance_root().string();
}

std::vector<std::string> words(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(prepare_train_export_load_synth) {
    const std::string models = conformance_dir() + "/gpt-sovits/models";
    const std::string s1_ckpt = models + "/s1.ckpt", s2_pth = models + "/s2.pth";
    if (!fs::exists(s1_ckpt) || !fs::exists(s2_pth)) {
        BOOST_TEST_MESSAGE("skipped: no " << s1_ckpt << " / " << s2_pth);
        return;
    }
    const fs::path dir = fs::temp_directory_path() / ("troupe_train_s1_e2e_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const Corpus corpus = make_corpus(dir.string());
    const std::string out = (dir / "exp").string();

    // 1. Text and audio.
    auto [rc, text] = run_prepare({"--aihub", corpus.root, "-o", out, "--keep-going"});
    BOOST_REQUIRE_MESSAGE(rc == 0, text);
    // 2. SSL stand-ins (S2's width, 50 Hz for about 10 phones per second), then the semantic stage.
    const auto s2_weights = troupe::pt::Checkpoint::open(s2_pth).state_dict("weight");
    const int64_t ssl_dim = s2_weights.at("ssl_proj.weight").size(1);
    fs::create_directories(out + "/4-cnhubert");
    std::map<std::string, size_t> phones;
    at::manual_seed(3);
    for (const auto& line : lines_of(read_file(out + "/2-name2text.txt"))) {
        const auto cols = split(line, '\t');
        if (cols.size() != 4) continue;
        phones[cols[0]] = words(cols[1]).size();
        const int64_t frames = 2 * int64_t(std::ceil(25.0 * double(phones[cols[0]]) / 10.0));
        troupe::sovits::prepare::save_tensor_pt(out + "/4-cnhubert/" + cols[0] + ".pt", at::randn({1, ssl_dim, frames}));
    }
    BOOST_REQUIRE(!phones.empty());
    std::tie(rc, text) = run_prepare({"--aihub", corpus.root, "-o", out, "--s2", s2_pth, "--keep-going"});
    BOOST_REQUIRE_MESSAGE(rc == 0, text);
    std::map<std::string, std::vector<int64_t>> codes;
    for (const auto& line : lines_of(read_file(out + "/6-name2semantic.tsv"))) {
        const auto cols = split(line, '\t');
        if (cols.size() != 2 || cols[0] == "item_name") continue;
        for (const auto& w : words(cols[1])) codes[cols[0]].push_back(std::stoll(w));
    }
    BOOST_REQUIRE(!codes.empty());

    // 3. Two S1 optimizer steps (upstream's cadence: micro-batches 0–4, then 5–8).
    tr::S1TrainConfig c;
    c.data_dir = out;
    c.pretrained = s1_ckpt;
    c.output_dir = (dir / "s1").string();
    c.exp_name = "voice";
    c.max_steps = 2;
    std::vector<std::string> log;
    tr::S1TrainHooks hooks;
    hooks.log = [&](const std::string& s) { log.push_back(s); };
    const auto r = tr::train_s1(c, hooks);
    for (const auto& l : log) BOOST_TEST_MESSAGE(l);
    BOOST_TEST(r.steps == 2);
    BOOST_TEST(r.micro_batches == 9);
    BOOST_TEST(r.unique_items == codes.size());
    BOOST_REQUIRE(!r.exported.empty());
    BOOST_TEST(fs::exists(tr::s1_state_path(c.output_dir)));

    // 4. Troupe's loader reads the export; the weights moved from the pretrained ones.
    const auto trained = troupe::sovits::s1::load_s1(r.exported.back());
    const auto pretrained = troupe::sovits::s1::load_s1(s1_ckpt);
    double moved = 0;
    auto pp = pretrained.model->named_parameters(true);
    for (const auto& p : trained.model->named_parameters(true)) moved += (p.value() - pp[p.key()]).abs().sum().item<double>();
    BOOST_TEST(moved > 0);

    // 5. Synthesis with the fine-tuned S1 and the S2 (prompt codes from the prepared set).
    troupe::sovits::EngineOptions eo;
    eo.s1_path = r.exported.back();
    eo.s2_path = s2_pth;
    const auto engine = troupe::sovits::Engine::load(eo);
    const CorpusFile* ref = nullptr;
    for (const auto& g : corpus.good)
        if (codes.count(fs::path(g.audio).filename().string())) ref = &g;
    BOOST_REQUIRE(ref);
    troupe::sovits::VoiceSpec v;
    v.reference_audio = ref->audio;
    v.reference_text = ref->text;
    v.prompt_codes = codes.at(fs::path(ref->audio).filename().string());
    const auto voice = engine->prepare_voice(v);
    troupe::sovits::SynthOptions so;
    so.seed = 1;
    const auto out_audio = engine->synthesize(*voice, "안녕하세요.", so);
    BOOST_TEST(!out_audio.samples.empty());
    bool finite = true;
    for (float s : out_audio.samples) finite &= std::isfinite(s);
    BOOST_TEST(finite);
    BOOST_TEST_MESSAGE("synthesised " << out_audio.samples.size() << " samples with the fine-tuned S1");
    // 6. The same through the command: a recipe TOML, --max-steps, --json; a bad recipe names its line.
    {
        std::ofstream(dir / "s1.toml") << "[data]\ndir = \"" << out << "\"\n[model]\npretrained = \"" << s1_ckpt
                                       << "\"\n[output]\ndir = \"" << (dir / "cli").string() << "\"\nname = \"cli\"\n"
                                       << "[train]\nepochs = 3\ndropout = 0.0\n";
        std::ofstream(dir / "bad.toml") << "[data]\ndir = \"" << out << "\"\n[model]\npretrained = \"" << s1_ckpt
                                        << "\"\n[output]\ndir = \"x\"\n[train]\nepochs = 0\n";
    }
    // Through the host and the loaded gpt-sovits plugin, as `troupe train s1 …` runs it.
    const auto [crc, ctext] = run_command({"train", "s1", "--config", (dir / "s1.toml").string(), "--max-steps", "1"},
                                          /*json=*/true, /*quiet=*/true);
    BOOST_TEST(crc == 0, ctext);
    const auto summary = nlohmann::json::parse(ctext);
    BOOST_TEST(summary.at("steps") == 1);
    BOOST_TEST(summary.at("exported").size() == 1u);
    BOOST_TEST(fs::exists(summary.at("exported")[0].get<std::string>()));
    const auto [brc, btext] = run_command({"train", "s1", "--config", (dir / "bad.toml").string()}, true, true);
    BOOST_TEST(brc != 0);
    BOOST_TEST(!fs::exists("x"));

    if (std::getenv("TROUPE_KEEP_TEST_OUTPUT")) BOOST_TEST_MESSAGE("kept " << dir);
    else fs::remove_all(dir);
}
