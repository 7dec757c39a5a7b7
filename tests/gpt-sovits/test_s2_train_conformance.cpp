// S2 (SoVITS) fine-tuning against upstream's own training steps (gpt-sovits-train fixture,
// cases.json "s2"): the mel filter bank, the generator parameter groups and learning rates, then
// every recorded step of s2_train.py train_and_evaluate fed with the recorded random draws
// (posterior noise, slice starts): forward tensors, discriminator outputs, every loss, the gradient
// norms, the selected gradients, the selected parameters after the optimizer steps, and every
// parameter after the last step. Weights come only from the .pth files; cases, names and the
// inputs of the tolerances from cases.json; files a set does not ship are skipped with a message.
#define BOOST_TEST_MODULE s2_train_conformance
#include <boost/test/unit_test.hpp>

#include "train_fixture.hpp"

#include "s2/mel.hpp"
#include "train/s2_step.hpp"

#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/anomaly_mode.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>

namespace fs = std::filesystem;
namespace tr = troupe::sovits::train;
namespace s2 = troupe::sovits::s2;

namespace {

using troupe::test::train_fixture::have;
using troupe::test::train_fixture::rel;
using troupe::test::train_fixture::root;

std::optional<nlohmann::json> cases() { return troupe::test::train_fixture::cases("s2"); }

using troupe::test::train_fixture::max_abs;
double rel_l2(const at::Tensor& a, const at::Tensor& b) {
    const at::Tensor w = b.to(at::kDouble);
    const double d = w.norm().item<double>();
    return (a.detach().to(at::kDouble) - w).norm().item<double>() / (d > 0 ? d : 1.0);
}

// The recorded draws of one step.
class RecordedRandom : public tr::S2RandomSource {
public:
    RecordedRandom(at::Tensor noise, at::Tensor u) : noise_(std::move(noise)), u_(std::move(u)) {}
    at::Tensor posterior_noise(at::IntArrayRef sizes, const at::TensorOptions& options) override {
        BOOST_REQUIRE(noise_.sizes() == sizes);
        ++calls;
        return noise_.to(options);
    }
    at::Tensor slice_uniform(int64_t batch, const c10::Device& device) override {
        BOOST_REQUIRE_EQUAL(u_.size(0), batch);
        ++calls;
        return u_.to(device, at::kFloat);
    }
    int calls = 0;

private:
    at::Tensor noise_, u_;
};

tr::S2Batch load_batch(const fs::path& p) {
    const auto f = troupe::st::File::open(p.string());
    tr::S2Batch b;
    b.ssl = f.tensor("ssl");
    b.ssl_lengths = f.tensor("ssl_lengths");
    b.spec = f.tensor("spec");
    b.spec_lengths = f.tensor("spec_lengths");
    b.wav = f.tensor("wav");
    b.wav_lengths = f.tensor("wav_lengths");
    b.text = f.tensor("text");
    b.text_lengths = f.tensor("text_lengths");
    return b;
}

tr::S2Networks load_networks(const nlohmann::json& c) {
    tr::S2LoadOptions opt;
    opt.dropout = 0;  // recorded with every dropout at p = 0
    return tr::load_s2_networks((root() / c.at("init_g").get<std::string>()).string(),
                                (root() / c.at("init_d").get<std::string>()).string(), opt);
}

// Steps options from the config stored in the generator file (train section), as s2_train.py reads it.
tr::S2StepOptions step_options(const tr::S2Networks& n) {
    tr::S2StepOptions o;
    const nlohmann::json t = n.hps.value("train", nlohmann::json::object());
    o.learning_rate = t.value("learning_rate", o.learning_rate);
    o.text_low_lr_rate = t.value("text_low_lr_rate", o.text_low_lr_rate);
    o.lr_decay = t.value("lr_decay", o.lr_decay);
    o.c_mel = t.value("c_mel", o.c_mel);
    o.c_kl = t.value("c_kl", o.c_kl);
    o.segment_size = t.value("segment_size", o.segment_size);
    if (t.contains("betas")) {
        o.adamw.beta1 = t["betas"][0];
        o.adamw.beta2 = t["betas"][1];
    }
    o.adamw.eps = t.value("eps", o.adamw.eps);
    const nlohmann::json d = n.hps.value("data", nlohmann::json::object());
    o.n_mels = d.value("n_mel_channels", o.n_mels);
    if (d.contains("mel_fmin") && !d["mel_fmin"].is_null()) o.mel_fmin = d["mel_fmin"];
    if (d.contains("mel_fmax") && !d["mel_fmax"].is_null()) o.mel_fmax = d["mel_fmax"].get<double>();
    return o;
}

std::set<std::string> noise_params(const nlohmann::json& c) {
    std::set<std::string> s;
    for (const auto& n : c.value("noise_gradient_params_g", nlohmann::json::array())) s.insert(n.get<std::string>());
    return s;
}

// Parameters after optimizer steps: max abs tol, at most 0.1 % of the elements beyond it by ≤ `flip`.
void check_param(const std::string& name, const at::Tensor& got, const at::Tensor& want, double tol, double flip) {
    const at::Tensor d = (got.detach().to(at::kDouble) - want.to(at::kDouble)).abs();
    const int64_t over = (d > tol).sum().item<int64_t>();
    const double worst = d.max().item<double>();
    BOOST_TEST_CONTEXT(name << ": max abs " << worst << ", " << over << " of " << d.numel() << " beyond " << tol) {
        BOOST_TEST(double(over) <= 0.001 * double(d.numel()));
        BOOST_TEST(worst <= std::max(tol, flip));
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(mel_filter_bank_equals_librosa) {
    const auto c = cases();
    if (!c || !have(root() / "s2/mel_basis.safetensors")) return;
    const auto f = troupe::st::File::open((root() / "s2/mel_basis.safetensors").string());
    const auto shape = f.tensor("shape").to(at::kLong);
    at::Tensor want = at::zeros({shape[0].item<int64_t>(), shape[1].item<int64_t>()}, at::kFloat);
    const at::Tensor idx = f.tensor("nonzero_index").to(at::kLong), val = f.tensor("nonzero_value");
    want.view({-1}).scatter_(0, idx.select(1, 0) * want.size(1) + idx.select(1, 1), val.to(at::kFloat));
    s2::MelParams p;
    p.n_mels = want.size(0);
    const at::Tensor got = s2::mel_filter_bank(32000, 2 * (want.size(1) - 1), p);
    BOOST_REQUIRE(got.sizes() == want.sizes());
    BOOST_TEST((got != 0).sum().item<int64_t>() == c->at("mel_basis").value("nonzero", int64_t(-1)));
    std::cout << "mel basis: max abs " << max_abs(got, want) << "\n";
    BOOST_TEST(max_abs(got, want) <= 1e-7);
}

BOOST_AUTO_TEST_CASE(parameter_groups_and_learning_rates) {
    const auto c = cases();
    if (!c || !have(root() / c->at("init_g").get<std::string>())) return;
    tr::S2Networks n = load_networks(*c);
    tr::S2TrainStep step(n, step_options(n));
    const auto& want = c->at("param_groups_g");
    const auto& groups = step.optim_g().groups();
    BOOST_REQUIRE_EQUAL(groups.size(), want.size());
    for (size_t i = 0; i < groups.size(); ++i) {
        BOOST_TEST_CONTEXT("group " << i) {
            BOOST_TEST(int64_t(groups[i].params.size()) == want[i].at("count").get<int64_t>());
            BOOST_TEST(rel(groups[i].lr, want[i].at("lr").get<double>()) <= 1e-12);
            if (want[i].at("params").is_array())
                for (size_t k = 0; k < groups[i].params.size(); ++k)
                    BOOST_TEST(groups[i].params[k].first == want[i]["params"][k].get<std::string>());
        }
    }
    BOOST_TEST(step.optim_g().options().weight_decay == want[0].at("weight_decay").get<double>());
    BOOST_TEST(step.optim_g().options().eps == want[0].at("eps").get<double>());
}

BOOST_AUTO_TEST_CASE(training_steps_match_upstream) {
    const auto c = cases();
    if (!c || !have(root() / c->at("init_g").get<std::string>()) || !have(root() / c->at("init_d").get<std::string>())) return;
    if (std::getenv("TROUPE_ANOMALY")) torch::autograd::AnomalyMode::set_enabled(true);
    tr::S2Networks n = load_networks(*c);
    tr::S2TrainStep step(n, step_options(n));
    const std::set<std::string> noisy = noise_params(*c);
    std::map<std::string, at::Tensor> gparams, dparams;
    for (auto& [k, v] : tr::module_params(*n.g)) gparams[k] = v;
    for (auto& [k, v] : tr::module_params(*n.d)) dparams[k] = v;
    const double lr = step.optim_g().groups()[0].lr;

    int64_t done = 0;
    for (const auto& s : c->at("steps")) {
        ++done;
        const fs::path file = root() / s.at("file").get<std::string>();
        const fs::path batch_file = root() / s.value("batch", c->at("batch").get<std::string>());
        if (!have(file) || !have(batch_file)) return;
        BOOST_TEST_CONTEXT("step " << done) {
            const auto f = troupe::st::File::open(file.string());
            const bool first = done == 1;
            const double grad_tol = first ? 1e-4 : 1e-2;
            RecordedRandom random(f.tensor("enc_q_noise"), f.tensor("slice_rand"));
            std::map<std::string, at::Tensor> grad_d, grad_g;
            std::set<std::string> no_grad_g;
            tr::S2StepHooks hooks;
            hooks.after_d_backward = [&] {
                for (auto& [k, v] : dparams)
                    if (v.grad().defined()) grad_d[k] = v.grad().clone();
            };
            hooks.after_g_backward = [&] {
                for (auto& [k, v] : gparams) {
                    if (v.grad().defined()) grad_g[k] = v.grad().clone();
                    else no_grad_g.insert(k);
                }
            };
            const tr::S2StepResult r = step.run(load_batch(batch_file), random, hooks);
            BOOST_TEST(random.calls == 2);

            // Slice starts (exact) and the forward tensors.
            BOOST_TEST(at::equal(r.fwd.ids_slice.cpu(), f.tensor("ids_slice").to(at::kLong)));
            const std::map<std::string, at::Tensor> fwd = {
                {"ge", r.fwd.ge}, {"m_p", r.fwd.m_p}, {"logs_p", r.fwd.logs_p}, {"m_q", r.fwd.m_q}, {"logs_q", r.fwd.logs_q},
                {"z", r.fwd.z}, {"z_p", r.fwd.z_p}, {"y_mask", r.fwd.y_mask}, {"quantized", r.fwd.quantized},
                {"z_slice", r.fwd.z_slice}, {"y_hat", r.fwd.y_hat}, {"mel", r.mel}, {"y_mel", r.y_mel},
                {"y_hat_mel", r.y_hat_mel}};
            for (const auto& [name, got] : fwd) {
                if (!f.contains(name)) continue;
                const double d = max_abs(got, f.tensor(name));
                std::cout << "step " << done << " " << name << ": max abs " << d << "\n";
                BOOST_TEST(d <= 1e-4, name << ": max abs " << d);
            }
            for (size_t k = 0; k < r.d_step.real.size(); ++k) {
                const std::pair<const char*, const at::Tensor*> outs[] = {{"d_real_step_d.", &r.d_step.real[k]},
                                                                          {"d_fake_step_d.", &r.d_step.fake[k]},
                                                                          {"d_real_step_g.", &r.g_step.real[k]},
                                                                          {"d_fake_step_g.", &r.g_step.fake[k]}};
                for (const auto& [prefix, t] : outs) {
                    const std::string key = prefix + std::to_string(k);
                    if (!f.contains(key)) continue;
                    BOOST_TEST(max_abs(*t, f.tensor(key)) <= 1e-4, key << ": max abs " << max_abs(*t, f.tensor(key)));
                }
            }

            // Losses.
            const std::pair<const char*, double> losses[] = {
                {"loss_disc", r.disc.loss.item<double>()}, {"loss_gen", r.loss_gen.item<double>()},
                {"loss_fm", r.loss_fm.item<double>()},     {"kl_unscaled", r.kl_unscaled.item<double>()}};
            for (const auto& [key, got] : losses) {
                std::cout << "step " << done << " " << key << ": " << got << " vs " << s.at(key).get<double>() << "\n";
                BOOST_TEST(rel(got, s.at(key).get<double>()) <= 1e-5, key);
            }
            const auto& logged = s.at("logged");
            BOOST_TEST(rel(r.loss_mel.item<double>(), logged.at("loss_mel").get<double>()) <= 1e-5);
            BOOST_TEST(rel(r.loss_kl.item<double>(), logged.at("loss_kl").get<double>()) <= 1e-5);
            BOOST_TEST(r.fwd.kl_ssl.item<double>() == s.at("kl_ssl").get<double>());
            BOOST_TEST(rel(r.loss_gen_all.item<double>(), s.at("writer").at("loss/g/total").get<double>()) <= 1e-5);
            for (size_t k = 0; k < r.disc.real.size(); ++k) {
                BOOST_TEST(rel(r.disc.real[k], s.at("losses_disc_r")[k].get<double>()) <= 1e-5);
                BOOST_TEST(rel(r.disc.fake[k], s.at("losses_disc_g")[k].get<double>()) <= 1e-4);
                BOOST_TEST(rel(r.losses_gen[k].item<double>(), s.at("losses_gen")[k].get<double>()) <= 1e-5);
            }
            BOOST_TEST(rel(r.lr_g, s.at("lr_g")[0].get<double>()) <= 1e-12);
            BOOST_TEST(rel(r.lr_d, s.at("lr_d")[0].get<double>()) <= 1e-12);
            for (size_t gi = 0; gi < step.optim_g().groups().size(); ++gi)
                BOOST_TEST(rel(step.optim_g().groups()[gi].lr, s.at("lr_g")[gi].get<double>()) <= 1e-12);

            // Gradients: norms, which parameters have none, the selected tensors.
            std::cout << "step " << done << " grad_norm_d " << r.grad_norm_d << " grad_norm_g " << r.grad_norm_g << "\n";
            BOOST_TEST(rel(r.grad_norm_d, s.at("grad_norm_d").get<double>()) <= grad_tol);
            BOOST_TEST(rel(r.grad_norm_g, s.at("grad_norm_g").get<double>()) <= grad_tol);
            std::set<std::string> want_no_grad;
            for (const auto& k : s.at("no_grad_g")) want_no_grad.insert(k.get<std::string>());
            BOOST_TEST((no_grad_g == want_no_grad));
            for (const auto& name : f.names()) {
                const bool is_g = name.rfind("grad_g.", 0) == 0, is_d = name.rfind("grad_d.", 0) == 0;
                if (!is_g && !is_d) continue;
                const std::string p = name.substr(7);
                auto& grads = is_g ? grad_g : grad_d;
                BOOST_REQUIRE_MESSAGE(grads.count(p), name << " has no gradient here");
                if (is_g && noisy.count(p)) continue;  // mathematically zero: float noise on both sides
                const double e = rel_l2(grads[p], f.tensor(name));
                std::cout << "step " << done << " " << name << ": rel L2 " << e << "\n";
                BOOST_TEST(e <= grad_tol, name << ": rel L2 " << e);
            }

            // Parameters after this step's optimizer steps.
            const double flip = 2 * lr * double(done);
            for (const auto& name : f.names()) {
                const bool is_g = name.rfind("param_g_after.", 0) == 0, is_d = name.rfind("param_d_after.", 0) == 0;
                if (!is_g && !is_d) continue;
                const std::string p = name.substr(14);
                auto& params = is_g ? gparams : dparams;
                BOOST_REQUIRE_MESSAGE(params.count(p), name << " is not a parameter here");
                check_param(name, params[p], f.tensor(name), is_g && noisy.count(p) ? flip : 5e-5, flip);
            }
        }
    }

    // Every parameter after the last step.
    const fs::path after = root() / "s2/params_after.safetensors";
    if (!have(after)) return;
    const auto f = troupe::st::File::open(after.string());
    const double flip = 2 * lr * double(done);
    int64_t checked = 0;
    for (const auto& name : f.names()) {
        const bool is_g = name.rfind("g.", 0) == 0;
        const std::string p = name.substr(2);
        auto& params = is_g ? gparams : dparams;
        BOOST_REQUIRE_MESSAGE(params.count(p), name << " is not a parameter here");
        check_param(name, params[p], f.tensor(name), is_g && noisy.count(p) ? flip : 5e-5, flip);
        ++checked;
    }
    BOOST_TEST(checked == int64_t(f.names().size()));
    // ssl_proj has no gradient: it keeps its initial value exactly.
    const auto init = tr::load_s2_networks((root() / c->at("init_g").get<std::string>()).string(), "");
    BOOST_TEST(at::equal(gparams.at("ssl_proj.weight"), init.g->ssl_proj->named_parameters()["weight"]));
}
