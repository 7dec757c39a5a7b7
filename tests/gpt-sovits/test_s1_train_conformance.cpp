// S1 fine-tuning against upstream's own training steps (gpt-sovits-train fixture, cases.json "s1"):
// the first training_step's loss, per-position cross-entropy, targets, attention mask, top-3 hits
// and every gradient; then upstream's sequence of training_step calls (batch, batch_idx) with
// ScaledAdam stepping every 4 micro-batches and the locked LR schedule: losses, accuracies, logged
// learning rates, the accumulated gradient norms, the selected parameters after every optimizer
// step, every parameter at the end, ScaledAdam's recorded clipping norms; and the export format
// against upstream's exported checkpoint. Weights come only from the .ckpt files; cases, names,
// sizes and tolerances' inputs come from cases.json; files a set does not ship are skipped.
// TROUPE_TEST_DEVICE=cuda runs the training on the GPU (TF32 off, as the fixture's tolerances need).
#define BOOST_TEST_MODULE s1_train_conformance
#include <boost/test/unit_test.hpp>

#include "train_fixture.hpp"

#include "s1/model.hpp"
#include "train/collate.hpp"
#include "train/s1_export.hpp"
#include "train/s1_loss.hpp"
#include "train/s1_step.hpp"

#include <troupe/torch/safetensors.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

namespace fs = std::filesystem;
namespace s1 = troupe::sovits::s1;
namespace tr = troupe::sovits::train;

namespace {

using troupe::test::train_fixture::have;
using troupe::test::train_fixture::rel;
using troupe::test::train_fixture::root;

std::optional<nlohmann::json> cases() { return troupe::test::train_fixture::cases("s1"); }

c10::Device test_device() {
    const char* env = std::getenv("TROUPE_TEST_DEVICE");
    if (!env || !*env) return c10::Device(c10::kCPU);
    c10::Device d{std::string(env)};
    if (d.is_cuda()) {
        at::globalContext().setAllowTF32CuBLAS(false);
        at::globalContext().setAllowTF32CuDNN(false);
    }
    return d;
}

// The model as upstream trains it from the checkpoint: float32, every dropout off (as recorded).
std::shared_ptr<s1::Text2SemanticDecoderImpl> load_model(const fs::path& ckpt) {
    const auto loaded = s1::load_s1(ckpt.string());
    s1::S1Config cfg = loaded.config;
    cfg.layer_dropout = 0;
    cfg.embedding_dropout = 0;
    auto m = std::make_shared<s1::Text2SemanticDecoderImpl>(cfg);
    s1::StateDict state;
    for (const auto& p : loaded.model->named_parameters(true)) state[p.key()] = p.value();
    m->load_state(state, ckpt.string());
    m->to(test_device());
    m->train();
    return m;
}

tr::S1Batch load_batch(const nlohmann::json& b, int64_t pad_val, int64_t bert_dim) {
    const auto f = troupe::st::File::open((root() / b.at("file").get<std::string>()).string());
    tr::S1Batch batch;
    batch.phoneme_ids = f.tensor("phoneme_ids").clone();
    batch.phoneme_ids_len = f.tensor("phoneme_ids_len").clone();
    batch.semantic_ids = f.tensor("semantic_ids").clone();
    batch.semantic_ids_len = f.tensor("semantic_ids_len").clone();
    batch.bert_feature = at::zeros({batch.phoneme_ids.size(0), bert_dim, batch.phoneme_ids.size(1)});
    for (int64_t item : b.value("bert_items", std::vector<int64_t>{})) {
        const at::Tensor bert = f.tensor("bert_feature_item" + std::to_string(item)).to(at::kFloat);
        batch.bert_feature[item].slice(1, 0, bert.size(1)).copy_(bert);
    }
    // The collate's own padding gives the same tensors from the items' id lists.
    if (b.contains("items")) {
        std::vector<std::vector<int64_t>> ph, se;
        for (const auto& it : b.at("items")) {
            ph.push_back(it.at("phoneme_ids").get<std::vector<int64_t>>());
            se.push_back(it.at("semantic_ids").get<std::vector<int64_t>>());
        }
        const tr::S1Batch c = tr::collate_ids(ph, se, {}, pad_val, bert_dim);
        BOOST_TEST(c.phoneme_ids.equal(batch.phoneme_ids));
        BOOST_TEST(c.semantic_ids.equal(batch.semantic_ids));
        BOOST_TEST(c.phoneme_ids_len.equal(batch.phoneme_ids_len));
        BOOST_TEST(c.semantic_ids_len.equal(batch.semantic_ids_len));
    }
    return batch;
}

std::vector<tr::S1Batch> load_batches(const nlohmann::json& c, const s1::S1Config& cfg) {
    std::vector<tr::S1Batch> out;
    for (const auto& b : c.at("batches")) out.push_back(load_batch(b, c.value("pad_val", cfg.eos), cfg.bert_dim).to(test_device()));
    return out;
}


double rel_l2(const at::Tensor& a, const at::Tensor& b) {
    const at::Tensor d = a.to(at::kCPU, at::kDouble) - b.to(at::kCPU, at::kDouble);
    const double nb = b.to(at::kCPU, at::kDouble).norm().item<double>();
    return d.norm().item<double>() / std::max(nb, 1e-30);
}

tr::S1StepOptions step_options(const nlohmann::json& c) {
    tr::S1StepOptions o;
    const auto& sa = c.at("scaledadam");
    o.optimizer.lr = sa.at("lr_constructor");
    o.optimizer.beta1 = sa.at("betas")[0];
    o.optimizer.beta2 = sa.at("betas")[1];
    o.optimizer.clipping_scale = sa.at("clipping_scale").is_null() ? 0.0 : sa.at("clipping_scale").get<double>();
    o.optimizer.clipping_update_period = sa.at("clipping_update_period");
    o.optimizer.scalar_lr_scale = sa.at("scalar_lr_scale");
    o.optimizer.eps = sa.at("eps");
    o.optimizer.param_min_rms = sa.at("param_min_rms");
    o.optimizer.param_max_rms = sa.at("param_max_rms");
    o.optimizer.scalar_max = sa.at("scalar_max");
    o.optimizer.size_update_period = sa.at("size_update_period");
    const auto& ls = c.at("lr_schedule").at("config");
    o.schedule.lr = ls.at("lr");
    o.schedule.lr_init = ls.at("lr_init");
    o.schedule.lr_end = ls.at("lr_end");
    o.schedule.warmup_steps = ls.at("warmup_steps");
    o.schedule.decay_steps = ls.at("decay_steps");
    return o;
}

// Parameters after optimizer steps: max abs 1e-5, at most 0.1 % of the elements beyond it by no more
// than 2 x (sum of the lrs) x rms; the noise-gradient elements (cases.json) only within 0.02 x rms.
double check_params(const std::string& what, const std::string& name, const at::Tensor& got, const at::Tensor& want,
                  const nlohmann::json& noise, double lr_sum) {
    BOOST_REQUIRE_MESSAGE(got.sizes() == want.sizes(), what << " " << name << " shape");
    at::Tensor g = got.detach().to(at::kCPU, at::kDouble).reshape({-1}), w = want.to(at::kCPU, at::kDouble).reshape({-1});
    const double rms = w.pow(2).mean().sqrt().item<double>();
    at::Tensor diff = (g - w).abs();
    if (noise.contains(name)) {
        const int64_t a = noise[name].at("slice")[0], b = noise[name].at("slice")[1];
        const double nd = diff.slice(0, a, b).max().item<double>();
        BOOST_TEST(nd <= 0.02 * rms + 1e-12, what << " " << name << " noise-gradient elements differ by " << nd);
        diff.slice(0, a, b).zero_();
    }
    const double max_abs = diff.max().item<double>();
    const int64_t over = (diff > 1e-5).sum().item<int64_t>();
    BOOST_TEST(double(over) <= 0.001 * double(diff.numel()), what << " " << name << ": " << over << " elements beyond 1e-5");
    BOOST_TEST(max_abs <= std::max(1e-5, 2 * lr_sum * rms), what << " " << name << " max abs " << max_abs);
    return max_abs;
}

}  // namespace

BOOST_AUTO_TEST_CASE(first_training_step) {
    const auto c = cases();
    if (!c) return;
    const fs::path ckpt = root() / c->at("init_ckpt").get<std::string>();
    const fs::path step0 = root() / "s1" / "step0.safetensors";
    if (!have(ckpt) || !have(step0)) return;
    auto model = load_model(ckpt);
    const auto batches = load_batches(*c, model->config());
    const auto& first = c->at("first_step");
    const auto& b = batches.at(first.at("batch").get<size_t>());
    const auto ref = troupe::st::File::open(step0.string());

    const tr::S1LossOutput out = tr::s1_loss(*model, b);
    out.loss.backward();
    const double loss = out.loss.item<double>();
    BOOST_TEST_MESSAGE("loss " << loss << " (upstream " << first.at("loss").get<double>() << ")");
    BOOST_TEST(rel(loss, first.at("loss")) <= 1e-5);
    BOOST_TEST(out.accuracy == first.at("top_3_acc").get<double>());
    BOOST_TEST_MESSAGE("device " << test_device());
    if (ref.contains("targets")) BOOST_TEST(out.targets.cpu().equal(ref.tensor("targets")));
    if (ref.contains("attn_blocked")) BOOST_TEST(out.attn_blocked.cpu().equal(ref.tensor("attn_blocked").to(at::kBool)));
    if (ref.contains("top3_hit")) BOOST_TEST(out.top_hit.cpu().equal(ref.tensor("top3_hit").to(at::kBool)));
    if (ref.contains("ce_per_position")) {
        const at::Tensor want = ref.tensor("ce_per_position").to(at::kDouble);
        const double d = ((out.ce_per_position.to(at::kCPU, at::kDouble) - want).abs() / want.abs().clamp_min(1e-6)).max().item<double>();
        BOOST_TEST_MESSAGE("ce_per_position max rel " << d);
        BOOST_TEST(d <= 1e-5);
    }
    if (ref.contains("logits_last_text_position")) {
        const at::Tensor got = out.logits.select(1, 0).cpu();
        const double d = (got.to(at::kDouble) - ref.tensor("logits_last_text_position").to(at::kDouble)).abs().max().item<double>();
        BOOST_TEST(d <= 1e-4, "logits of the last text position max abs " << d);
    }
    double sq = 0, worst = 0;
    for (const auto& p : model->named_parameters(true)) {
        const std::string key = "grad." + p.key();
        BOOST_REQUIRE_MESSAGE(p.value().grad().defined(), p.key() << " has no gradient");
        sq += p.value().grad().to(at::kDouble).pow(2).sum().item<double>();
        if (!ref.contains(key)) continue;
        const at::Tensor want = ref.tensor(key);
        if (want.to(at::kDouble).norm().item<double>() == 0) {
            BOOST_TEST(p.value().grad().abs().max().item<double>() == 0.0, p.key() << ": upstream's gradient is exactly zero");
            continue;
        }
        const double r = rel_l2(p.value().grad(), want);
        worst = std::max(worst, r);
        BOOST_TEST(r <= 1e-4, p.key() << " gradient rel L2 " << r);
    }
    BOOST_TEST_MESSAGE("gradients: worst rel L2 " << worst);
    BOOST_TEST(rel(std::sqrt(sq), first.at("global_grad_norm")) <= 1e-4);
}

BOOST_AUTO_TEST_CASE(optimizer_groups_like_upstream) {
    const auto c = cases();
    if (!c) return;
    const fs::path ckpt = root() / c->at("init_ckpt").get<std::string>();
    if (!have(ckpt)) return;
    auto model = load_model(ckpt);
    tr::ScaledAdam opt(tr::named_params(*model), {});
    const auto got = opt.batches();
    const auto& want = c->at("scaledadam").at("batches");
    BOOST_REQUIRE_EQUAL(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST(got[i].first == want[i].at("shape").get<std::vector<int64_t>>());
        BOOST_TEST(got[i].second == want[i].at("params").get<std::vector<std::string>>());
    }
}

BOOST_AUTO_TEST_CASE(training_steps_and_export) {
    const auto c = cases();
    if (!c) return;
    const fs::path ckpt = root() / c->at("init_ckpt").get<std::string>();
    if (!have(ckpt)) return;
    auto model = load_model(ckpt);
    const auto batches = load_batches(*c, model->config());
    tr::S1TrainStep step(model, step_options(*c));
    const fs::path steps_file = root() / "s1" / "steps.safetensors";
    std::optional<troupe::st::File> steps;
    if (have(steps_file)) steps = troupe::st::File::open(steps_file.string());
    const nlohmann::json noise = c->value("noise_gradient_elements", nlohmann::json::object());
    const auto& records = c->at("optimizer_step_records");
    std::vector<double> model_norms;
    size_t k = 0;
    double lr_sum = 0, worst_step = 0, worst_loss = 0;
    for (const auto& call : c->at("training_step_calls")) {
        const int64_t idx = call.at("batch_idx");
        BOOST_TEST_CONTEXT("training_step call batch_idx " << idx) {
            const auto r = step.run(batches.at(call.at("batch").get<size_t>()), idx);
            const double loss = r.out.loss.item<double>();
            BOOST_TEST(rel(loss, call.at("loss")) <= 1e-5, "loss " << loss << " vs " << call.at("loss").get<double>());
            worst_loss = std::max(worst_loss, rel(loss, call.at("loss")));
            BOOST_TEST(r.out.accuracy == call.at("top_3_acc").get<double>());
            BOOST_TEST(rel(r.logged_lr, call.at("logged_lr")) <= 1e-12);
            BOOST_TEST(r.stepped == call.at("optimizer_step").get<bool>());
            if (!r.stepped) continue;
            BOOST_REQUIRE(k < records.size());
            BOOST_TEST(rel(r.lr_used, records[k].at("lr_used")) <= 1e-12);
            BOOST_TEST(rel(r.grad_norm, records[k].at("accumulated_grad_norm")) <= 1e-4,
                       "accumulated grad norm " << r.grad_norm);
            lr_sum += r.lr_used;
            ++k;
            if (k >= 2 && step.optimizer().model_norms().defined())  // recorded from the 2nd step on
                model_norms.push_back(step.optimizer().model_norms()[int64_t(k - 1)].item<double>());
            if (steps)
                for (const auto& p : model->named_parameters(true)) {
                    const std::string key = "step" + std::to_string(k) + "." + p.key();
                    if (steps->contains(key))
                        worst_step = std::max(worst_step, check_params("after step " + std::to_string(k), p.key(), p.value(), steps->tensor(key), noise, lr_sum));
                }
        }
    }
    BOOST_TEST(k == c->at("optimizer_steps").get<size_t>());
    BOOST_TEST(rel(step.optimizer().lr(), c->at("lr_schedule").at("final_group_lr")) <= 1e-12);
    const auto& norms = c->at("scaledadam").value("model_norms_steps_1_to_k-1", std::vector<double>{});
    BOOST_REQUIRE(model_norms.size() == norms.size());
    for (size_t i = 0; i < norms.size(); ++i) BOOST_TEST(rel(model_norms[i], norms[i]) <= 1e-4, "ScaledAdam norm " << i);

    const fs::path after = root() / "s1" / "params_after.safetensors";
    BOOST_TEST_MESSAGE("losses: worst rel " << worst_loss << "; selected parameters after each step: worst max abs " << worst_step
                       << " (noise-gradient elements excluded)");
    if (have(after)) {
        const auto f = troupe::st::File::open(after.string());
        double worst = 0;
        for (const auto& p : model->named_parameters(true))
            if (f.contains(p.key()))
                worst = std::max(worst, check_params("after all steps", p.key(), p.value(), f.tensor(p.key()), noise, lr_sum));
        BOOST_TEST_MESSAGE("every parameter after all steps: worst max abs " << worst << " (noise-gradient elements excluded)");
    }

    // Export: upstream's final float32 parameters written by our exporter must give the very fp16
    // tensors of upstream's exported checkpoint, with its config and info, in its key order.
    const fs::path after_ckpt = root() / c->at("after_ckpt").get<std::string>();
    if (!have(after) || !have(after_ckpt)) return;
    const auto f = troupe::st::File::open(after.string());
    {
        torch::NoGradGuard no_grad;
        for (const auto& p : model->named_parameters(true)) p.value().copy_(f.tensor(p.key()).to(p.value().device()));
    }
    const auto want = troupe::pt::Checkpoint::open(after_ckpt.string());
    const fs::path out = fs::temp_directory_path() / ("troupe_s1_export_" + std::to_string(::getpid()) + ".ckpt");
    const nlohmann::json config = troupe::pt::to_json(want.root().at("config"));
    tr::export_s1_checkpoint(out.string(), *model, config, want.root().at("info").as_string());
    const auto got = troupe::pt::Checkpoint::open(out.string());
    const auto gw = got.state_dict("weight"), ww = want.state_dict("weight");
    BOOST_TEST(gw.size() == ww.size());
    for (const auto& [name, t] : ww) {
        BOOST_REQUIRE_MESSAGE(gw.count(name), "export lacks " << name);
        BOOST_TEST(gw.at(name).scalar_type() == at::kHalf);
        BOOST_TEST(gw.at(name).equal(t), name << " differs from upstream's export");
    }
    std::vector<std::string> order_got, order_want;
    for (const auto& [k2, v] : got.root().at("weight").entries()) order_got.push_back(k2->as_string());
    for (const auto& [k2, v] : want.root().at("weight").entries()) order_want.push_back(k2->as_string());
    BOOST_TEST(order_got == order_want);
    BOOST_TEST(troupe::pt::to_json(got.root().at("config")) == config);
    BOOST_TEST(got.root().at("info").as_string() == want.root().at("info").as_string());
    // Troupe's own loader reads it back.
    const auto back = s1::load_s1(out.string());
    for (const auto& p : back.model->named_parameters(true))
        BOOST_TEST(p.value().equal(ww.at("model." + p.key()).to(at::kFloat)), p.key());
    fs::remove(out);
}
