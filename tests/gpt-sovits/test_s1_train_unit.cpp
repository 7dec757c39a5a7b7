// S1 fine-tuning library on a tiny random model and a synthetic prepared folder: Python's random
// and upstream's bucket sampler, collate padding, the torch.save writer, input errors that name the
// file, and resume: a run interrupted (Ctrl-C mid-accumulation, or max_steps mid-epoch) and
// continued ends bit-identical to the uninterrupted run, dropout included.
#define BOOST_TEST_MODULE s1_train_unit
#include <boost/test/unit_test.hpp>

#include "s1/model.hpp"
#include "text/symbols.hpp"
#include "train/bucket_sampler.hpp"
#include "train/collate.hpp"
#include "train/py_random.hpp"
#include "train/s1_dataset.hpp"
#include "train/lr_schedule.hpp"
#include "train/s1_export.hpp"
#include "train/s1_loss.hpp"
#include "train/scaled_adam.hpp"
#include "train/s1_trainer.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>
#include <troupe/torch/torch_checkpoint.hpp>
#include <troupe/torch/torch_save.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
namespace s1 = troupe::sovits::s1;
namespace tr = troupe::sovits::train;

namespace {

fs::path temp_dir(const std::string& name) {
    const fs::path p = fs::temp_directory_path() / ("troupe_s1train_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A tiny S1 with random weights, exported as an upstream .ckpt.
fs::path tiny_pretrained(const fs::path& dir) {
    s1::S1Config c;
    c.embedding_dim = c.hidden_dim = 16;
    c.n_head = 2;
    c.n_layer = 2;
    at::manual_seed(7);
    s1::Text2SemanticDecoderImpl m(c);
    const fs::path p = dir / "pretrained.ckpt";
    tr::export_s1_checkpoint(p.string(), m, tr::export_config({}, c, {{"exp_name", "tiny"}}), "GPT-e0");
    return p;
}

struct Utt {
    std::string name;
    size_t phones, codes;
};

// 2-name2text.txt + 6-name2semantic.tsv with valid v2 phones and codes (10 phones per second).
void write_set(const fs::path& dir, const std::vector<Utt>& utts, const std::string& extra_text = "",
               const std::string& extra_sem = "") {
    const auto& table = troupe::sovits::text::SymbolTable::v2();
    std::ofstream t(dir / "2-name2text.txt"), s(dir / "6-name2semantic.tsv");
    s << "item_name\tsemantic_audio\n";
    uint32_t x = 12345;
    for (const Utt& u : utts) {
        t << u.name << "\t";
        for (size_t i = 0; i < u.phones; ++i) t << (i ? " " : "") << table.symbol(int(300 + (x = x * 1103515245u + 12345u) % 40));
        t << "\tNone\tsome text\n";
        if (u.codes == 0) continue;
        s << u.name << "\t";
        for (size_t i = 0; i < u.codes; ++i) s << (i ? " " : "") << ((x = x * 1103515245u + 12345u) >> 8) % 1024;
        s << "\n";
    }
    t << extra_text;
    s << extra_sem;
}

const std::vector<Utt> kUtts = {{"a.wav", 12, 30}, {"b.wav", 20, 50}, {"c.wav", 16, 40},
                                {"d.wav", 30, 75}, {"e.wav", 14, 35}, {"f.wav", 24, 60}};

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const troupe::Error& e) {
        return e.what();
    }
    return "";
}

tr::S1TrainConfig base_config(const fs::path& data, const fs::path& pretrained, const fs::path& out) {
    tr::S1TrainConfig c;
    c.data_dir = data.string();
    c.pretrained = pretrained.string();
    c.output_dir = out.string();
    c.epochs = 2;
    c.save_every_epochs = 1;
    c.exp_name = "tiny";
    return c;
}

std::map<std::string, at::Tensor> final_weights(const fs::path& out) {
    const auto f = troupe::st::File::open(tr::s1_state_path(out.string()));
    std::map<std::string, at::Tensor> w;
    for (const auto& n : f.names())
        if (n.rfind("param.", 0) == 0 || n.rfind("opt.", 0) == 0) w[n] = f.tensor(n).clone();
    return w;
}

}  // namespace

BOOST_AUTO_TEST_CASE(python_random_matches_cpython) {
    // CPython: random.seed(s); [random.getrandbits(32) for _ in range(3)]; random.shuffle(list(range(10)))
    const std::vector<std::tuple<uint64_t, std::vector<uint32_t>, std::vector<int>>> want = {
        {0, {3626764237u, 1654615998u, 3255389356u}, {8, 9, 1, 2, 5, 3, 7, 4, 0, 6}},
        {1, {577090037u, 2444712010u, 3639700191u}, {7, 2, 0, 8, 5, 6, 3, 9, 4, 1}},
        {1234, {4150886329u, 3342196574u, 1892932127u}, {2, 7, 3, 5, 8, 4, 6, 9, 0, 1}},
        {8589934597ull, {3185278367u, 1209197118u, 3089592080u}, {7, 1, 0, 3, 4, 9, 6, 5, 8, 2}}};
    for (const auto& [seed, bits, order] : want) {
        tr::PyRandom r(seed);
        for (uint32_t b : bits) BOOST_TEST(r.next_u32() == b);
        std::vector<int> v{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        r.shuffle(v);
        BOOST_TEST(v == order, "seed " << seed);
    }
}

BOOST_AUTO_TEST_CASE(bucket_sampler_orders_batches_as_upstream) {
    // Values from upstream's DistributedBucketSampler logic run in CPython (batch_size 3).
    const std::vector<double> secs = {0.5, 3.1, 1.2, 0.8, 2.5, 7.0, 1.9, 0.3, 4.4, 2.0, 0.9, 6.1};
    const tr::BucketSampler s(secs, 3);
    const std::vector<std::vector<size_t>> buckets = {{7, 0, 3, 10, 2, 6}, {9, 4, 1}, {8}, {11, 5}};
    BOOST_TEST(s.buckets() == buckets);  // 7.0 s joins the 6.1 s bucket: the bound grows by one width
    BOOST_TEST(s.epoch_batches(0) == (std::vector<std::vector<size_t>>{{7, 6, 10}, {2, 3, 0}, {8, 11, 5}, {9, 1, 4}}));
    BOOST_TEST(s.epoch_batches(1) == (std::vector<std::vector<size_t>>{{7, 2, 0}, {9, 1, 4}, {3, 10, 6}, {8, 11, 5}}));
    BOOST_TEST(s.epoch_batches(5) == (std::vector<std::vector<size_t>>{{1, 9, 4}, {8, 5, 11}, {0, 7, 10}, {6, 3, 2}}));
    BOOST_TEST(s.batches_per_epoch() == 4);
    BOOST_TEST(tr::upstream_batch_size(8, 12) == 3);
    BOOST_TEST(tr::upstream_batch_size(8, 3) == 1);
    BOOST_TEST(tr::upstream_batch_size(8, 400) == 8);
}

BOOST_AUTO_TEST_CASE(collate_pads_like_upstream) {
    const at::Tensor bert = at::ones({1024, 2});
    const auto b = tr::collate_ids({{5, 6, 7}, {8, 9}}, {{1, 2}, {3, 4, 5, 6}}, {at::Tensor(), bert});
    BOOST_TEST(b.phoneme_ids.equal(at::tensor({5, 6, 7, 8, 9, 0}, at::kLong).reshape({2, 3})));
    BOOST_TEST(b.semantic_ids.equal(at::tensor({1, 2, 1024, 1024, 3, 4, 5, 6}, at::kLong).reshape({2, 4})));
    BOOST_TEST(b.phoneme_ids_len.equal(at::tensor({3, 2}, at::kLong)));
    BOOST_TEST(b.semantic_ids_len.equal(at::tensor({2, 4}, at::kLong)));
    BOOST_TEST((b.bert_feature.sizes() == at::IntArrayRef{2, 1024, 3}));
    BOOST_TEST(b.bert_feature[0].abs().sum().item<double>() == 0.0);
    BOOST_TEST(b.bert_feature[1].slice(1, 0, 2).equal(bert));
    BOOST_TEST(b.bert_feature[1].select(1, 2).abs().sum().item<double>() == 0.0);
}

BOOST_AUTO_TEST_CASE(quirks_and_their_fixes) {
    // Text lengths [3, 2], N = 3, no audio: upstream blocks the FIRST column of the shorter item
    // (make_pad_mask_left) although its padding is the LAST; the fix blocks the padding.
    const at::Tensor x_lens = at::tensor({3, 2}, at::kLong), y_lens = at::tensor({1, 1}, at::kLong);
    const at::Tensor quirk = tr::s1_attention_blocked(x_lens, 3, y_lens, 1, false);
    const at::Tensor fixed = tr::s1_attention_blocked(x_lens, 3, y_lens, 1, true);
    BOOST_TEST(quirk[1][0][0].item<bool>());
    BOOST_TEST(!quirk[1][0][2].item<bool>());
    BOOST_TEST(!fixed[1][0][0].item<bool>());
    BOOST_TEST(fixed[1][0][2].item<bool>());
    BOOST_TEST(quirk[0].equal(fixed[0]));
    BOOST_TEST(quirk[0][0][3].item<bool>());  // text rows never see audio

    // The LR schedule: upstream's lock (0.01 first, then 0.002) and the opt-in config schedule.
    tr::ScaledAdam opt({{"w", at::zeros({2, 2}).requires_grad_()}}, {});
    tr::LrScheduleConfig lc;
    lc.lr_init = 0.0;
    lc.lr = 1.0;
    lc.lr_end = 0.1;
    lc.warmup_steps = 2;
    lc.decay_steps = 4;
    tr::WarmupCosineLr locked(lc);
    locked.attach(opt);
    BOOST_TEST(opt.lr() == 0.01);
    BOOST_TEST(locked.last_lr() == 0.0);
    BOOST_TEST(locked.step(opt) == 0.002);
    BOOST_TEST(locked.last_lr() == 0.01);
    BOOST_TEST(opt.lr() == 0.002);
    lc.locked = false;
    tr::WarmupCosineLr open(lc);
    open.attach(opt);
    BOOST_TEST(opt.lr() == 0.0);
    const std::vector<double> want = {0.0, 0.5, 1.0, 0.55, 0.1, 0.1};
    for (double w : want) BOOST_TEST(std::abs(open.step(opt) - w) < 1e-12);
}

BOOST_AUTO_TEST_CASE(torch_save_round_trip) {
    using troupe::pt::SaveValue;
    SaveValue root = SaveValue::ordered_dict();
    SaveValue w = SaveValue::ordered_dict();
    const at::Tensor a = at::randn({3, 4}).to(at::kHalf), b = at::arange(6, at::kLong).reshape({2, 3}).t();
    w.set("model.a", SaveValue::tensor(a));
    w.set("model.b", SaveValue::tensor(b));  // non-contiguous: written as a contiguous copy
    w.set("model.c", SaveValue::tensor(at::tensor({1, 0}, at::kLong).to(at::kBool)));
    root.set("weight", std::move(w));
    const nlohmann::json cfg = {{"i", 1}, {"big", int64_t(1) << 40}, {"neg", -70000}, {"f", 0.002}, {"s", "한국어"},
                                {"b", true}, {"n", nullptr}, {"l", {1, 2.5, "x"}}, {"d", {{"k", 65535}}}};
    root.set("config", SaveValue::from_json(cfg));
    root.set("info", SaveValue::string("GPT-e3"));
    const std::string bytes = troupe::pt::save_to_bytes(root);
    const auto ck = troupe::pt::Checkpoint::from_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
    const auto sd = ck.state_dict("weight", "model.");
    BOOST_TEST(sd.at("a").equal(a));
    BOOST_TEST(sd.at("b").equal(b));
    BOOST_TEST(sd.at("c").equal(at::tensor({1, 0}, at::kLong).to(at::kBool)));
    BOOST_TEST(troupe::pt::to_json(ck.root().at("config")) == cfg);
    BOOST_TEST(ck.root().at("info").as_string() == "GPT-e3");
    BOOST_TEST(ck.prefix() == "archive");
}

BOOST_AUTO_TEST_CASE(dataset_errors_name_the_file) {
    const fs::path dir = temp_dir("data");
    write_set(dir, kUtts);
    tr::S1DatasetOptions o;
    o.phoneme_path = (dir / "2-name2text.txt").string();
    o.semantic_path = (dir / "6-name2semantic.tsv").string();
    const auto ds = tr::load_s1_dataset(o);
    BOOST_TEST(ds.unique_items == kUtts.size());
    BOOST_TEST(ds.items.size() == kUtts.size() * 16);  // upstream: max(2, 100 / 6) copies
    BOOST_TEST(ds.items[6].name == "a.wav");
    std::string e;

    // 3-bert/<name>.pt features (upstream writes them for Chinese) land in the batch; a wrong
    // width is refused naming the file.
    fs::create_directories(dir / "3-bert");
    const at::Tensor feat = at::randn({1024, 20});
    troupe::pt::save((dir / "3-bert" / "b.wav.pt").string(), troupe::pt::SaveValue::tensor(feat));
    {
        const auto with_bert = tr::load_s1_dataset(o);
        BOOST_TEST(with_bert.items[1].bert_path.find("3-bert") != std::string::npos);
        BOOST_TEST(with_bert.items[0].bert_path.empty());
        const auto batch = tr::collate(with_bert, {0, 1});
        BOOST_TEST(batch.bert_feature[1].slice(1, 0, 20).equal(feat));
        BOOST_TEST(batch.bert_feature[0].abs().sum().item<double>() == 0.0);
        troupe::pt::save((dir / "3-bert" / "b.wav.pt").string(), troupe::pt::SaveValue::tensor(at::randn({1024, 7})));
        e = error_of([&] { tr::collate(with_bert, {1}); });
        BOOST_TEST(e.find("b.wav.pt") != std::string::npos, e);
        fs::remove_all(dir / "3-bert");
    }
    // A transcript without codes.
    write_set(dir, {{"a.wav", 12, 30}, {"lost.wav", 12, 0}});
    e = error_of([&] { tr::load_s1_dataset(o); });
    BOOST_TEST(e.find("6-name2semantic.tsv") != std::string::npos, e);
    BOOST_TEST(e.find("lost.wav") != std::string::npos, e);
    // ... unless `troupe tts prepare` reported it skipped after the text stage.
    std::ofstream(dir / "prepare-report.json")
        << R"({"skipped": [{"file": "/x/4-cnhubert/lost.wav.pt", "stage": "semantic", "reason": "no features"}]})";
    BOOST_TEST(tr::load_s1_dataset(o).dropped_unprepared == 1u);
    fs::remove(dir / "prepare-report.json");
    // Codes without a transcript, an empty transcript, an unknown phone, an out-of-range code.
    write_set(dir, kUtts, "", "ghost.wav\t1 2 3\n");
    e = error_of([&] { tr::load_s1_dataset(o); });
    BOOST_TEST((e.find("6-name2semantic.tsv:8") != std::string::npos && e.find("ghost.wav") != std::string::npos), e);
    write_set(dir, kUtts, "empty.wav\t\tNone\t\n", "empty.wav\t1 2 3\n");
    e = error_of([&] { tr::load_s1_dataset(o); });
    BOOST_TEST((e.find("2-name2text.txt:7") != std::string::npos && e.find("empty transcript") != std::string::npos), e);
    write_set(dir, kUtts, "odd.wav\tQQQ\tNone\tx\n", "odd.wav\t1 2 3\n");
    e = error_of([&] { tr::load_s1_dataset(o); });
    BOOST_TEST(e.find("'QQQ'") != std::string::npos, e);
    write_set(dir, kUtts, "", "");
    {
        std::ofstream(dir / "6-name2semantic.tsv", std::ios::app) << "a.wav\t1 2 1024\n";
    }
    e = error_of([&] { tr::load_s1_dataset(o); });
    BOOST_TEST(e.find("invalid semantic code") != std::string::npos, e);
    fs::remove(dir / "6-name2semantic.tsv");
    e = error_of([&] { tr::load_s1_dataset(o); });
    BOOST_TEST((e.find("6-name2semantic.tsv") != std::string::npos && e.find("not found") != std::string::npos), e);
    fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(trainer_rejects_bad_models_and_settings_and_keeps_outputs) {
    const fs::path dir = temp_dir("reject");
    write_set(dir, kUtts);
    const fs::path pre = tiny_pretrained(dir);
    const fs::path out = dir / "out";
    fs::create_directories(out);
    std::ofstream(out / "tiny-e1.ckpt") << "an earlier export";
    const std::string before = slurp(out / "tiny-e1.ckpt");

    // A checkpoint of another model (an S2-like weight dict).
    using troupe::pt::SaveValue;
    SaveValue wrong = SaveValue::dict();
    SaveValue w = SaveValue::ordered_dict();
    w.set("enc_p.ssl_proj.weight", SaveValue::tensor(at::zeros({4, 4, 1})));
    wrong.set("weight", std::move(w));
    troupe::pt::save((dir / "s2.pth").string(), wrong);
    auto c = base_config(dir, dir / "s2.pth", out);
    std::string e = error_of([&] { tr::train_s1(c); });
    BOOST_TEST((e.find("s2.pth") != std::string::npos && e.find("S1") != std::string::npos), e);

    c = base_config(dir, pre, out);
    c.epochs = 0;
    e = error_of([&] { tr::train_s1(c); });
    BOOST_TEST(e.find("epochs") != std::string::npos, e);
    c = base_config(dir, pre, out);
    c.batch_size = -3;
    BOOST_TEST(error_of([&] { tr::train_s1(c); }).find("batch_size") != std::string::npos);
    c = base_config(dir, pre, out);
    c.optimizer.lr = 1e9;
    BOOST_TEST(error_of([&] { tr::train_s1(c); }).find("lr") != std::string::npos);
    c = base_config(dir, pre, out);
    c.schedule.warmup_steps = 0;
    BOOST_TEST(error_of([&] { tr::train_s1(c); }).find("warmup_steps") != std::string::npos);
    c = base_config(dir / "nowhere", pre, out);
    e = error_of([&] { tr::train_s1(c); });
    BOOST_TEST(e.find("2-name2text.txt") != std::string::npos, e);

    BOOST_TEST(slurp(out / "tiny-e1.ckpt") == before);  // nothing written by the failed runs
    for (const auto& f : fs::directory_iterator(out)) BOOST_TEST(f.path().filename() == "tiny-e1.ckpt");
    fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(resume_equals_uninterrupted) {
    const fs::path dir = temp_dir("resume");
    write_set(dir, kUtts);
    const fs::path pre = tiny_pretrained(dir);

    // A: uninterrupted, 2 epochs, dropout on (the RNG state must survive a resume).
    const fs::path a = dir / "a";
    std::vector<std::string> lines;
    tr::S1TrainHooks hooks;
    hooks.log = [&](const std::string& s) { lines.push_back(s); };
    int64_t progress_calls = 0;
    hooks.progress = [&](const tr::S1Progress& p) {
        ++progress_calls;
        BOOST_TEST(p.total == 24);
    };
    const auto ra = tr::train_s1(base_config(dir, pre, a), hooks);
    BOOST_TEST(!ra.interrupted);
    BOOST_TEST(ra.batch_size == 8);
    BOOST_TEST(ra.micro_batches == 24);  // 96 items / 8 per batch × 2 epochs
    BOOST_TEST(ra.steps == 4);           // batch_idx 4 and 8 of each epoch
    BOOST_TEST(progress_calls == 24);
    BOOST_TEST(ra.exported.size() == 2u);
    BOOST_TEST(ra.epochs.size() == 2u);
    BOOST_TEST(ra.losses.back() < ra.losses.front() * 1.5);
    bool epoch_line = false;
    for (const auto& l : lines) epoch_line |= l.rfind("epoch 2/2 | steps 4 | loss", 0) == 0;
    BOOST_TEST(epoch_line);

    // B: Ctrl-C after 7 micro-batches (mid-accumulation), then continued.
    const fs::path b = dir / "b";
    int calls = 0;
    tr::S1TrainHooks stop;
    stop.should_stop = [&] { return ++calls > 7; };
    const auto rb1 = tr::train_s1(base_config(dir, pre, b), stop);
    BOOST_TEST(rb1.interrupted);
    BOOST_TEST(rb1.micro_batches == 7);
    const auto rb2 = tr::train_s1(base_config(dir, pre, b));
    BOOST_TEST(rb2.resumed);
    BOOST_TEST(rb2.micro_batches == 24);
    std::vector<double> losses = rb1.losses;
    losses.insert(losses.end(), rb2.losses.begin(), rb2.losses.end());
    BOOST_TEST(losses == ra.losses);

    // C: max_steps 3 stops mid-epoch 2; a run without the limit finishes.
    const fs::path cdir = dir / "c";
    auto cc = base_config(dir, pre, cdir);
    cc.max_steps = 3;
    const auto rc1 = tr::train_s1(cc);
    BOOST_TEST(rc1.steps == 3);
    BOOST_TEST(fs::exists(cdir / "tiny-e2-s3.ckpt"));
    const auto rc_again = tr::train_s1(cc);  // the same limit again: nothing to train, nothing rewritten
    BOOST_TEST(rc_again.resumed);
    BOOST_TEST(rc_again.steps == 3);
    BOOST_TEST(rc_again.losses.empty());
    BOOST_TEST(rc_again.exported.empty());
    cc.max_steps = 0;
    const auto rc2 = tr::train_s1(cc);
    BOOST_TEST(rc2.steps == 4);

    const auto wa = final_weights(a), wb = final_weights(b), wc = final_weights(cdir);
    BOOST_TEST(wa.size() == wb.size());
    for (const auto& [k, t] : wa) {
        BOOST_TEST(t.equal(wb.at(k)), "B " << k);
        BOOST_TEST(t.equal(wc.at(k)), "C " << k);
    }
    {
        const auto ea = troupe::pt::Checkpoint::open((a / "tiny-e2.ckpt").string()).state_dict("weight");
        const auto eb = troupe::pt::Checkpoint::open((b / "tiny-e2.ckpt").string()).state_dict("weight");
        for (const auto& [k, t] : ea) BOOST_TEST(t.equal(eb.at(k)), "export " << k);
    }

    // The export loads in Troupe's S1 loader with the trained weights (fp16-rounded).
    const auto back = s1::load_s1((a / "tiny-e2.ckpt").string());
    const auto ck = troupe::pt::Checkpoint::open((a / "tiny-e2.ckpt").string());
    BOOST_TEST(ck.root().at("info").as_string() == "GPT-e2");
    BOOST_TEST(troupe::pt::to_json(ck.root().at("config"))["train"]["epochs"] == 2);
    for (const auto& p : back.model->named_parameters(true))
        BOOST_TEST(p.value().equal(wa.at("param." + p.key()).to(at::kHalf).to(at::kFloat)), p.key());
    for (const auto& f : fs::directory_iterator(a)) BOOST_TEST(f.path().string().find(".tmp") == std::string::npos);
    fs::remove_all(dir);
}

// A state file whose metadata was damaged (a field of the wrong type, a missing field, text that is
// not JSON): resuming fails with invalid_file naming the file and the field, and the checkpoint
// already exported is left as it was.
BOOST_AUTO_TEST_CASE(damaged_state_names_the_field_and_keeps_exports) {
    const fs::path dir = temp_dir("damaged");
    write_set(dir, kUtts);
    const fs::path pre = tiny_pretrained(dir);
    const fs::path out = dir / "out";
    auto c = base_config(dir, pre, out);
    c.max_steps = 1;
    BOOST_TEST(tr::train_s1(c).steps == 1);
    const std::string state = tr::s1_state_path(out.string());
    const fs::path exported = out / "tiny-e1-s1.ckpt";
    BOOST_REQUIRE(fs::exists(exported));
    const std::string export_bytes = slurp(exported);

    // Rewrites the state with its metadata changed by `edit`, then resumes and returns the error.
    const auto resume_after = [&](const std::function<void(std::string&, nlohmann::json&)>& edit) {
        const auto f = troupe::st::File::open(state);
        std::vector<std::pair<std::string, at::Tensor>> t;
        for (const auto& n : f.names()) t.emplace_back(n, f.tensor(n).clone());
        BOOST_REQUIRE(f.metadata().size() == 1u);
        std::string key = f.metadata().begin()->first, text = f.metadata().begin()->second;
        auto meta = nlohmann::json::parse(text);
        edit(text, meta);
        troupe::st::save(state + ".edit", t, {{key, text}});
        fs::rename(state + ".edit", state);
        c.max_steps = 2;
        return error_of([&] { tr::train_s1(c); });
    };
    std::string e = resume_after([](std::string& text, nlohmann::json& m) { m["steps"] = "three"; text = m.dump(); });
    BOOST_TEST((e.find(state) != std::string::npos && e.find("'steps'") != std::string::npos), e);
    e = resume_after([](std::string& text, nlohmann::json& m) { m["steps"] = 1; m.erase("epoch"); text = m.dump(); });
    BOOST_TEST((e.find(state) != std::string::npos && e.find("'epoch'") != std::string::npos), e);
    e = resume_after([](std::string& text, nlohmann::json&) { text = "{\"epoch\": 1, "; });
    BOOST_TEST((e.find(state) != std::string::npos && e.find("unreadable") != std::string::npos), e);
    BOOST_TEST(slurp(exported) == export_bytes);
    fs::remove_all(dir);
}
