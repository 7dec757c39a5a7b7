// S2 (SoVITS) fine-tuning end to end on the CPU, and its file formats and errors:
//  - the exported .pth (process_ckpt.savee's format: HParams config, fp16, no enc_q) loads in
//    Troupe's S2 loader with the trained weights;
//  - a tiny run: `troupe tts prepare`'s pipeline on an espeak-ng corpus (HuBERT features from the
//    conformance HuBERT) → 2 S2 steps → export → load back → synthesis; a run stopped after one step
//    and resumed equals the uninterrupted run;
//  - malformed inputs (a checkpoint of the wrong model, unreadable audio, missing features) give
//    errors naming the file, and files already written are left alone.
// Fixture root from TROUPE_CONFORMANCE_DIR (default <source>/../shared/conformance).
#define BOOST_TEST_MODULE s2_train
#include <boost/test/unit_test.hpp>

#include "../common/plugin_command.hpp"
#include "../sovits_prepare/corpus.hpp"

#include "s2/model.hpp"
#include "train/s2_export.hpp"
#include "train/s2_trainer.hpp"
#include "../common/conformance.hpp"

#include <prepare/pipeline.hpp>

#include <troupe/audio.hpp>
#include <troupe/json_file.hpp>
#include <troupe/status.hpp>
#include <troupe/torch/torch_checkpoint.hpp>
#include <troupe/torch/torch_save.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace fs = std::filesystem;
namespace tr = troupe::sovits::train;
namespace s2 = troupe::sovits::s2;
namespace prep = troupe::sovits::prepare;

namespace {

fs::path conformance() {
    return troupe::test::conformance_root();
}

bool have(const fs::path& p) {
    if (fs::exists(p)) return true;
    BOOST_TEST_MESSAGE("skipped: the fixture set has no " << p);
    return false;
}

std::string temp_dir(const std::string& name) {
    const fs::path p = fs::temp_directory_path() / ("troupe_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const troupe::Error& e) {
        return e.what();
    }
    return "";
}

// A generator state dict with every key (enc_q included), as the pretrained s2G2333k.pth holds it.
void write_pretrained(const std::string& path, const s2::SynthesizerImpl& g, const nlohmann::json& hps) {
    std::vector<std::pair<std::string, troupe::pt::SaveValue>> w;
    for (const auto& p : g.named_parameters(true)) w.emplace_back(p.key(), troupe::pt::SaveValue::tensor(p.value().detach().to(at::kHalf)));
    for (const auto& b : g.named_buffers(true)) w.emplace_back(b.key(), troupe::pt::SaveValue::tensor(b.value().detach().to(at::kHalf)));
    troupe::pt::SaveValue root = troupe::pt::SaveValue::ordered_dict();
    root.set("weight", troupe::pt::SaveValue::dict(std::move(w)));
    root.set("config", tr::hparams_value(hps));
    root.set("info", troupe::pt::SaveValue::string("pretrained"));
    troupe::pt::save(path, root);
}

}  // namespace

BOOST_AUTO_TEST_CASE(export_is_upstreams_savee_format_and_loads_back) {
    const fs::path g = conformance() / "gpt-sovits-train/models/s2G_init.pth";
    if (!have(g)) return;
    const tr::S2Networks n = tr::load_s2_networks(g.string(), "");
    const std::string dir = temp_dir("s2_export");
    const std::string out = dir + "/voice_e1_s2.pth";
    tr::S2TrainConfig cfg;
    cfg.output_dir = dir;
    cfg.exp_name = "voice";
    tr::export_s2_weights(out, *n.g, tr::s2_export_hps(n, cfg), 1, 2);

    const auto ck = troupe::pt::Checkpoint::open(out);
    BOOST_TEST(ck.version_tag().empty());
    const auto& config = ck.root().at("config");
    BOOST_TEST(config.is_object());
    BOOST_TEST(config.class_name() == "utils.HParams");
    BOOST_TEST(config.at("model").class_name() == "utils.HParams");
    BOOST_TEST(ck.root().at("info").as_string() == "1epoch_2iteration");
    const auto weights = ck.state_dict("weight");
    const auto init = troupe::pt::Checkpoint::open(g.string()).state_dict("weight");
    size_t expected = 0;
    for (const auto& [k, v] : init) {
        if (k.find("enc_q") != std::string::npos) continue;
        ++expected;
        BOOST_REQUIRE_MESSAGE(weights.count(k), "missing " << k);
        BOOST_TEST(weights.at(k).scalar_type() == at::kHalf);
        BOOST_TEST(at::equal(weights.at(k), v.to(at::kHalf)), k);
    }
    BOOST_TEST(weights.size() == expected);
    // Troupe's inference loader takes it (config from the HParams object).
    const s2::S2Model m = s2::S2Model::load(out);
    BOOST_TEST(m.config().hidden_channels == n.config.hidden_channels);
    BOOST_TEST(m.config().ssl_dim == n.config.ssl_dim);
    fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(wrong_models_are_refused_naming_the_file) {
    const fs::path g = conformance() / "gpt-sovits-train/models/s2G_init.pth";
    const fs::path d = conformance() / "gpt-sovits-train/models/s2D_init.pth";
    const fs::path s1 = conformance() / "gpt-sovits-train/models/s1_init.ckpt";
    if (!have(g) || !have(d)) return;
    std::string e = error_of([&] { tr::load_s2_networks(d.string(), ""); });
    BOOST_TEST(e.find(d.string()) != std::string::npos, e);
    e = error_of([&] { tr::load_s2_networks(g.string(), g.string()); });
    BOOST_TEST(e.find(g.string()) != std::string::npos, e);
    if (fs::exists(s1)) {
        e = error_of([&] { tr::load_s2_networks(s1.string(), ""); });
        BOOST_TEST(e.find(s1.string()) != std::string::npos, e);
    }
    e = error_of([&] { tr::load_s2_networks("/nonexistent/s2G.pth", ""); });
    BOOST_TEST(e.find("/nonexistent/s2G.pth") != std::string::npos, e);
}

BOOST_AUTO_TEST_CASE(prepare_train_export_load_synthesize) {
    const fs::path hubert = conformance() / "hubert/model";
    const fs::path tiny = conformance() / "gpt-sovits-train/models/s2_config.json";
    if (!have(hubert) || !have(tiny)) return;
    const std::string dir = temp_dir("s2_e2e");

    // 1. prepare: list → 2-name2text, 5-wav32k, 4-cnhubert (the conformance HuBERT).
    const troupe::test::Corpus corpus = troupe::test::make_corpus(dir + "/corpus");
    std::vector<prep::ListEntry> entries;
    for (const auto& f : corpus.good) entries.push_back({f.audio, "spk", "ko", f.text, f.label});
    prep::PrepareOptions po;
    po.out_dir = dir + "/exp";
    po.hubert_dir = hubert.string();
    const prep::PrepareReport report = prep::run_prepare(entries, po);
    BOOST_REQUIRE(fs::is_directory(dir + "/exp/4-cnhubert"));

    // 2. A pretrained generator of the tiny fixture shape whose SSL width is the HuBERT's.
    nlohmann::json hps = troupe::read_json_file(tiny.string());
    s2::S2Config c = s2::S2Config::from_json(hps, tiny.string());
    c.ssl_dim = troupe::read_json_file((hubert / "config.json").string()).at("hidden_size").get<int64_t>();
    c.mrte_hidden = c.gin_channels;
    c.style_hidden = 8;
    c.codebook_size = 64;
    at::manual_seed(7);
    s2::SynthesizerImpl pre(c, /*training=*/true);
    write_pretrained(dir + "/s2G_pre.pth", pre, hps);

    // 3. Two steps, exported; then the same run stopped after one step and resumed.
    tr::S2TrainConfig cfg;
    cfg.data_dir = dir + "/exp";
    cfg.pretrained_g = dir + "/s2G_pre.pth";
    const fs::path tiny_d = conformance() / "gpt-sovits-train/models/s2D_init.pth";
    if (fs::exists(tiny_d)) cfg.pretrained_d = tiny_d.string();  // small widths: a fast CPU run
    cfg.output_dir = dir + "/run";
    cfg.exp_name = "voice";
    cfg.batch_size = 2;
    cfg.max_steps = 2;
    std::vector<std::string> lines;
    tr::S2TrainHooks hooks;
    hooks.log = [&](const std::string& s) { lines.push_back(s); };
    const tr::S2TrainResult r = tr::train_s2(cfg, hooks);
    BOOST_TEST(r.steps == 2);
    BOOST_REQUIRE_EQUAL(r.exported.size(), 1u);
    for (double l : r.losses_g) BOOST_TEST(std::isfinite(l));
    const tr::S2TrainResult again = tr::train_s2(cfg);  // the same limit again: nothing to train, nothing rewritten
    BOOST_TEST(again.steps == 2);
    BOOST_TEST(again.losses_g.empty());
    BOOST_TEST(again.exported.empty());

    tr::S2TrainConfig cfg2 = cfg;
    cfg2.output_dir = dir + "/run2";
    int polls = 0;
    tr::S2TrainHooks stop;
    stop.should_stop = [&] { return ++polls == 2; };  // before the second batch
    const tr::S2TrainResult part = tr::train_s2(cfg2, stop);
    BOOST_TEST(part.interrupted);
    BOOST_TEST(part.steps == 1);
    const tr::S2TrainResult rest = tr::train_s2(cfg2);
    BOOST_TEST(rest.resumed);
    BOOST_TEST(rest.steps == 2);
    BOOST_REQUIRE_EQUAL(rest.exported.size(), 1u);
    const auto a = troupe::pt::Checkpoint::open(r.exported[0]).state_dict("weight");
    const auto b = troupe::pt::Checkpoint::open(rest.exported[0]).state_dict("weight");
    BOOST_REQUIRE_EQUAL(a.size(), b.size());
    for (const auto& [k, v] : a) BOOST_TEST(at::equal(v, b.at(k)), k << " differs after resume");

    // 4. Load back with Troupe's S2 loader and synthesize one item.
    const s2::S2Model m = s2::S2Model::load(r.exported[0]);
    const std::string name = fs::path(corpus.good.front().audio).filename().string();
    const at::Tensor ssl = troupe::pt::Checkpoint::open(dir + "/exp/4-cnhubert/" + name + ".pt").root().as_tensor().to(at::kFloat);
    const at::Tensor codes = m.extract_latent(ssl).transpose(0, 1);  // (n_q, 1, T)
    const troupe::Audio wav = troupe::read_wav(dir + "/exp/5-wav32k/" + name);
    const at::Tensor spec = m.spectrogram(at::from_blob(const_cast<float*>(wav.samples.data()), {int64_t(wav.samples.size())}, at::kFloat));
    const at::Tensor ge = m.style(spec);
    const at::Tensor text = at::tensor(std::vector<int64_t>{335, 350, 343, 1, 352}, at::kLong).unsqueeze(0);
    const s2::DecodeResult out = m.decode(codes, text, ge);
    BOOST_TEST(out.audio.size(2) == 2 * codes.size(2) * m.config().hop());
    BOOST_TEST(at::isfinite(out.audio).all().item<bool>());
    BOOST_TEST(out.audio.abs().max().item<double>() > 0);

    // 5. The same through the plugin command `troupe train s2 --config R.toml` (one step), and a recipe
    //    error naming the file.
    {
        const std::string recipe = dir + "/r.toml";
        std::ofstream(recipe) << "[data]\ndir = \"" << cfg.data_dir << "\"\n[model]\npretrained_s2G = \"" << cfg.pretrained_g
                              << "\"\npretrained_s2D = \"" << cfg.pretrained_d << "\"\n[output]\ndir = \"" << dir
                              << "/run4\"\nname = \"cmd\"\n[train]\nbatch_size = 2\nmax_steps = 1\n";
        const auto [rc, out] = troupe::test::run_command({"train", "s2", "--config", recipe}, /*json=*/true, /*quiet=*/true);
        BOOST_TEST(rc == 0);
        const nlohmann::json j = nlohmann::json::parse(out);
        BOOST_TEST(j.at("steps").get<int64_t>() == 1);
        BOOST_REQUIRE_EQUAL(j.at("exported").size(), 1u);
        BOOST_TEST(fs::is_regular_file(j.at("exported")[0].get<std::string>()));
        const std::string bad = dir + "/bad.toml";
        std::ofstream(bad) << "[data]\ndir = \"x\"\n[model]\npretrained_s2G = \"y\"\n[output]\ndir = \"z\"\n[train]\nepoch = 3\n";
        const auto [rc2, out2] = troupe::test::run_command({"train", "s2", "--config", bad}, true, true);
        BOOST_TEST(rc2 == 3);  // invalid file: the unknown key train.epoch, named with file:line:column
    }

    // 6. Unreadable audio: an error naming the file; the run's files stay as they were.
    const std::string bad = dir + "/exp/5-wav32k/" + name;
    {
        std::ofstream f(bad, std::ios::binary | std::ios::trunc);
        f << std::string(50000, 'x');  // long enough for the duration filter and the sampler
    }
    const auto before = fs::file_size(r.exported[0]);
    tr::S2TrainConfig cfg3 = cfg;
    cfg3.output_dir = dir + "/run3";
    cfg3.max_steps = 200;
    const std::string e = error_of([&] { tr::train_s2(cfg3); });
    BOOST_TEST(e.find(bad) != std::string::npos, e);
    BOOST_TEST(fs::file_size(r.exported[0]) == before);
    // Missing features: an error naming the folder.
    fs::remove_all(dir + "/exp/4-cnhubert");
    const std::string e2 = error_of([&] { tr::train_s2(cfg3); });
    BOOST_TEST(e2.find("4-cnhubert") != std::string::npos, e2);
    if (std::getenv("TROUPE_KEEP_TEST_OUTPUT")) BOOST_TEST_MESSAGE("kept " << dir);
    else fs::remove_all(dir);
}
