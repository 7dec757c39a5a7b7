// S1 (Text2SemanticDecoder) against upstream's golden outputs: every case of s1/cases.json
// (embeddings, teacher-forced logits, prefill + KV-cached step logits, greedy tokens, stop rules)
// and every case of s1/sampling.json. The model is read from models/s1.ckpt with the project's
// own checkpoint reader. Cases, sizes and tensor names come from the fixture files.
// TROUPE_TEST_DEVICE=cuda runs the model on the GPU (TF32 off, as the fixture's tolerances need).
// infer_panel runs its static-shape steps (s1/decode_graph.hpp: eager on the CPU, CUDA graphs on
// a CUDA build); static_decode_matches_cached_path compares them with the growing-cache path, and
// static_batched_decode_matches_eager_batch does the same for infer_panel_batch.
#define BOOST_TEST_MODULE s1_conformance
#include <boost/test/unit_test.hpp>

#include "s1/decode_graph.hpp"
#include "s1/decoder.hpp"
#include "s1/model.hpp"
#include "s1/sampler.hpp"
#include "../common/conformance.hpp"

#include <troupe/torch/cuda_graph.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace s1 = troupe::sovits::s1;

namespace {

fs::path gsv_dir() {
    return troupe::test::conformance_dir("gpt-sovits");
}

nlohmann::json read_json(const fs::path& p) {
    std::ifstream in(p);
    BOOST_REQUIRE_MESSAGE(in.good(), "cannot open " << p);
    return nlohmann::json::parse(in);
}

double max_abs(const at::Tensor& a, const at::Tensor& b) {
    BOOST_REQUIRE_MESSAGE(a.sizes() == b.sizes(), "shape " << a.sizes() << " vs " << b.sizes());
    if (a.numel() == 0) return 0;
    return (a.to(at::kCPU, at::kDouble) - b.to(at::kCPU, at::kDouble)).abs().max().item<double>();
}

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

std::vector<int64_t> to_vec(const at::Tensor& t) {
    at::Tensor c = t.to(at::kCPU, at::kLong).contiguous().reshape({-1});
    return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

at::Tensor ids(const std::vector<int64_t>& v) {
    return at::tensor(at::ArrayRef<int64_t>(v), at::TensorOptions().dtype(at::kLong)).reshape({1, -1});
}

const s1::LoadedS1& model() {
    static const s1::LoadedS1 m = s1::load_s1((gsv_dir() / "models" / "s1.ckpt").string(), test_device());
    return m;
}

constexpr double kLogitTol = 1e-4;

}  // namespace

BOOST_AUTO_TEST_CASE(config_from_checkpoint) {
    // models/s1_config.json and models/s1.safetensors are optional conveniences (the fixture's
    // README): a fixture set with only s1.ckpt skips these comparisons.
    const auto& c = model().config;
    BOOST_TEST(c.hidden_dim > 0);
    BOOST_TEST(c.n_layer > 0);
    const fs::path config_file = gsv_dir() / "models" / "s1_config.json";
    if (fs::exists(config_file)) {
        const auto cfg_json = read_json(config_file);
        BOOST_TEST(c.hidden_dim == cfg_json["model"]["hidden_dim"].get<int64_t>());
        BOOST_TEST(c.n_head == cfg_json["model"]["head"].get<int64_t>());
        BOOST_TEST(c.n_layer == cfg_json["model"]["n_layer"].get<int64_t>());
        BOOST_TEST(c.vocab_size == cfg_json["model"]["vocab_size"].get<int64_t>());
        BOOST_TEST(c.max_sec == cfg_json["data"]["max_sec"].get<int64_t>());
    } else {
        BOOST_TEST_MESSAGE("skipped: " << config_file << " is absent (optional)");
    }
    // The same weights through the safetensors copy give the same model.
    const fs::path twin = gsv_dir() / "models" / "s1.safetensors";
    if (!fs::exists(twin)) {
        BOOST_TEST_MESSAGE("skipped: " << twin << " is absent (optional)");
        return;
    }
    const auto st = s1::load_s1(twin.string(), test_device());
    auto a = model().model->named_parameters(true);
    auto b = st.model->named_parameters(true);
    BOOST_REQUIRE(a.size() == b.size());
    for (const auto& p : a) BOOST_TEST(p.value().equal(b[p.key()]), p.key());
}

BOOST_AUTO_TEST_CASE(cases) {
    torch::NoGradGuard no_grad;
    const auto cases = read_json(gsv_dir() / "s1" / "cases.json").at("cases");
    BOOST_REQUIRE(!cases.empty());
    auto& m = *model().model;
    for (const auto& c : cases) {
        const std::string name = c.at("name");
        BOOST_TEST_CONTEXT("case " << name) {
            const auto t = troupe::st::File::open((gsv_dir() / "s1" / (name + ".safetensors")).string());
            const auto dev = test_device();
            BOOST_TEST_MESSAGE("device " << dev);
            const at::Tensor phones = t.tensor("phone_ids").to(dev);
            BOOST_TEST(to_vec(phones) == c.at("phone_ids").get<std::vector<int64_t>>());
            at::Tensor prompt;
            if (t.contains("prompt_codes")) prompt = t.tensor("prompt_codes").to(dev);
            if (!c.at("prompt_codes").is_null())
                BOOST_TEST(to_vec(prompt) == c.at("prompt_codes").get<std::vector<int64_t>>());
            const at::Tensor bert = t.contains("bert") ? t.tensor("bert").to(dev) : at::Tensor();
            const at::Tensor cont = (t.contains("continuation") ? t.tensor("continuation").clone()
                                                                : ids(c.at("continuation").get<std::vector<int64_t>>())).to(dev);
            const at::Tensor audio = prompt.defined() ? at::cat({prompt, cont}, 1) : cont;

            // Embedded input: text part + audio part (prompt + continuation), positions included.
            if (t.contains("xy_pos")) {
                const at::Tensor xy = at::cat({m.embed_text(phones, bert), m.embed_audio(audio, 0)}, 1);
                const double d = max_abs(xy, t.tensor("xy_pos"));
                BOOST_TEST_MESSAGE(name << " xy_pos max abs " << d);
                BOOST_TEST(d <= kLogitTol);
            }
            // Teacher-forced full-sequence logits with the prefill mask.
            if (t.contains("teacher_forced_logits")) {
                const at::Tensor tf = m.forward(phones, bert, audio);
                const double d = max_abs(tf, t.tensor("teacher_forced_logits"));
                BOOST_TEST_MESSAGE(name << " teacher-forced logits max abs " << d);
                BOOST_TEST(d <= kLogitTol);
            }

            // infer_panel with the case's decode parameters (greedy).
            const auto& dp = c.at("decode_params");
            s1::DecodeOptions opt;
            opt.sampling.top_k = dp.at("top_k").is_null() ? std::optional<int64_t>() : dp.at("top_k").get<int64_t>();
            opt.sampling.top_p = dp.at("top_p").get<double>();
            opt.sampling.temperature = dp.at("temperature").get<double>();
            opt.sampling.repetition_penalty = dp.at("repetition_penalty").get<double>();
            opt.early_stop_num = dp.value("early_stop_num", int64_t(-1));
            opt.record_logits = true;
            if (!dev.is_cuda()) opt.generator = at::make_generator<at::CPUGeneratorImpl>(1234);
            const auto r = s1::infer_panel(m, phones, bert, prompt, opt);

            if (t.contains("prefill_logits")) {
                const double d = max_abs(r.step_logits.slice(0, 0, 1), t.tensor("prefill_logits"));
                BOOST_TEST_MESSAGE(name << " prefill logits max abs " << d);
                BOOST_TEST(d <= kLogitTol);
            }
            if (t.contains("step_logits")) {
                const at::Tensor want = t.tensor("step_logits");
                BOOST_TEST(r.step_logits.size(0) == want.size(0));
                const int64_t n = std::min(r.step_logits.size(0), want.size(0));
                const double d = max_abs(r.step_logits.slice(0, 0, n), want.slice(0, 0, n));
                BOOST_TEST_MESSAGE(name << " step logits (" << n << " steps) max abs " << d);
                BOOST_TEST(d <= kLogitTol);
            }
            BOOST_TEST(to_vec(r.y) == c.at("infer_panel_y").get<std::vector<int64_t>>());
            BOOST_TEST(r.idx == c.at("infer_panel_idx").get<int64_t>());
            BOOST_TEST(to_vec(r.generated) == c.at("generated_tokens").get<std::vector<int64_t>>());
            BOOST_TEST(to_vec(r.kept) == c.at("webui_kept_tokens").get<std::vector<int64_t>>());
            if (t.contains("generated_tokens")) BOOST_TEST(to_vec(r.generated) == to_vec(t.tensor("generated_tokens")));
            if (t.contains("infer_panel_y")) BOOST_TEST(to_vec(r.y) == to_vec(t.tensor("infer_panel_y")));
            BOOST_TEST(std::string(s1::to_string(r.stop)) == c.at("stop_reason").get<std::string>());
            BOOST_TEST(r.steps == c.at("steps").get<int64_t>());
            BOOST_TEST(r.steps - 1 == c.value("last_step_idx", r.steps - 1));
            BOOST_TEST(r.step_tokens == c.at("step_tokens").get<std::vector<int64_t>>());
            BOOST_TEST(r.eos_blocked_steps == c.at("eos_blocked_steps").get<std::vector<int64_t>>());
        }
    }
}

BOOST_AUTO_TEST_CASE(sampling) {
    const auto spec = read_json(gsv_dir() / "s1" / "sampling.json").at("cases");
    BOOST_REQUIRE(!spec.empty());
    const auto t = troupe::st::File::open((gsv_dir() / "s1" / "sampling.safetensors").string());
    const at::Tensor noise_full = t.tensor("exp_noise").clone();
    const at::Tensor prev = t.tensor("previous_tokens").clone();
    for (const auto& c : spec) {
        const std::string name = c.at("name");
        BOOST_TEST_CONTEXT("sampling case " << name) {
            const int64_t vocab = c.at("vocab");
            at::Tensor logits = t.tensor(c.at("logits").get<std::string>()).clone().slice(1, 0, vocab).clone();
            const auto& p = c.at("params");
            s1::SamplingParams sp;
            sp.top_k = p.at("top_k").is_null() ? std::optional<int64_t>() : p.at("top_k").get<int64_t>();
            sp.top_p = p.at("top_p").get<double>();
            sp.temperature = p.at("temperature").get<double>();
            sp.repetition_penalty = p.at("repetition_penalty").get<double>();
            const at::Tensor probs = s1::logits_to_probs(logits, c.at("previous_tokens").get<bool>() ? prev : at::Tensor(), sp);
            const at::Tensor want = t.tensor("probs_" + name);
            const double d = max_abs(probs, want);
            BOOST_TEST_MESSAGE(name << " probs max abs " << d);
            BOOST_TEST(d <= 1e-6);
            BOOST_TEST(((probs > 0) == (want > 0)).all().item<bool>());
            BOOST_TEST((probs > 0).sum().item<int64_t>() == c.at("nonzero").get<int64_t>());
            const at::Tensor tok = s1::sample_with_noise(probs, noise_full.slice(1, 0, vocab));
            BOOST_TEST(tok.item<int64_t>() == c.at("token_with_exp_noise").get<int64_t>());
        }
    }
}

// Batched decoding (upstream parallel_infer) against one-row decoding of the same inputs: the
// fixture's phone sequences (and BERT features) share one prompt; greedy tokens must agree, except
// that a row stopped by the cap loses its last token in batched mode (as upstream).
BOOST_AUTO_TEST_CASE(batched_decode_matches_single_rows) {
    torch::NoGradGuard no_grad;
    const auto cases = read_json(gsv_dir() / "s1" / "cases.json").at("cases");
    auto& m = *model().model;
    const auto dev = test_device();
    std::vector<at::Tensor> phones, berts;
    at::Tensor prompt;
    for (const auto& c : cases) {
        const auto t = troupe::st::File::open((gsv_dir() / "s1" / (c.at("name").get<std::string>() + ".safetensors")).string());
        phones.push_back(t.tensor("phone_ids").to(dev));
        berts.push_back(t.contains("bert") ? t.tensor("bert").to(dev) : at::Tensor());
        if (!prompt.defined() && t.contains("prompt_codes")) prompt = t.tensor("prompt_codes").to(dev);
    }
    BOOST_REQUIRE(prompt.defined());
    BOOST_REQUIRE(phones.size() >= 2u);
    s1::DecodeOptions opt;
    opt.sampling.top_k = 1;
    opt.sampling.repetition_penalty = 1.35;
    opt.max_steps = 60;
    const auto batch = s1::infer_panel_batch(m, phones, berts, prompt, opt);
    BOOST_REQUIRE(batch.size() == phones.size());
    int eos_rows = 0;
    for (size_t i = 0; i < phones.size(); ++i) {
        BOOST_TEST_MESSAGE("batched row " << i << ": " << s1::to_string(batch[i].stop) << " at step " << batch[i].idx);
        eos_rows += batch[i].stop == s1::StopReason::eos;
        BOOST_TEST_CONTEXT("row " << i) {
            const auto single = s1::infer_panel(m, phones[i], berts[i], prompt, opt);
            if (single.stop == s1::StopReason::eos) {
                BOOST_TEST(to_vec(batch[i].y) == to_vec(single.y));
                BOOST_TEST(batch[i].idx == single.idx);
                BOOST_TEST(to_vec(batch[i].kept) == to_vec(single.kept));
            } else {
                BOOST_TEST(to_vec(batch[i].y) == to_vec(single.y.slice(1, 0, single.y.size(1) - 1)));
            }
            BOOST_TEST(std::string(s1::to_string(batch[i].stop)) == s1::to_string(single.stop));
        }
    }
    BOOST_TEST(eos_rows >= 2);  // rows leave the batch at different steps
}

namespace {

struct BatchInputs {
    std::vector<at::Tensor> phones, berts;
    at::Tensor prompt;
};

// Every case's phone ids (and BERT features) as one batch sharing the first case's prompt.
BatchInputs batch_inputs(const c10::Device& dev) {
    BatchInputs in;
    const auto cases = read_json(gsv_dir() / "s1" / "cases.json");  // kept alive over the loop
    for (const auto& c : cases.at("cases")) {
        const auto t = troupe::st::File::open((gsv_dir() / "s1" / (c.at("name").get<std::string>() + ".safetensors")).string());
        in.phones.push_back(t.tensor("phone_ids").to(dev));
        in.berts.push_back(t.contains("bert") ? t.tensor("bert").to(dev) : at::Tensor());
        if (!in.prompt.defined() && t.contains("prompt_codes")) in.prompt = t.tensor("prompt_codes").to(dev);
    }
    BOOST_REQUIRE(in.prompt.defined());
    BOOST_REQUIRE(in.phones.size() >= 2u);
    return in;
}

void check_same_rows(const std::vector<s1::BatchRowResult>& got, const std::vector<s1::BatchRowResult>& want) {
    BOOST_REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST_CONTEXT("row " << i) {
            BOOST_TEST(to_vec(got[i].y) == to_vec(want[i].y));
            BOOST_TEST(to_vec(got[i].kept) == to_vec(want[i].kept));
            BOOST_TEST(got[i].idx == want[i].idx);
            BOOST_TEST(std::string(s1::to_string(got[i].stop)) == s1::to_string(want[i].stop));
        }
    }
}

}  // namespace

// The static batched decode (s1/decode_graph.hpp with B rows; rows of different text lengths,
// left-padded; finished rows kept in the batch) against the eager batched decode (rows leaving the
// batch): identical rows greedy, with an injected noise callback (which must see the same running
// rows at every step) and, on the CPU, with a seeded generator; the sampled runs hit the early stop
// or the step cap while some rows still run, so the dropped last token is compared too.
BOOST_AUTO_TEST_CASE(static_batched_decode_matches_eager_batch) {
    torch::NoGradGuard no_grad;
    auto& m = *model().model;
    const auto dev = test_device();
    const BatchInputs in = batch_inputs(dev);
    const int64_t B = int64_t(in.phones.size()), V = m.config().vocab_size;
    std::set<int64_t> lengths;
    for (const auto& p : in.phones) lengths.insert(p.size(1));
    BOOST_TEST(lengths.size() > 1u);  // some rows are padded
    enum Mode { greedy, noise, generator };
    for (const Mode mode : {greedy, noise, generator}) {
        if (mode == generator && !dev.is_cpu()) continue;
        BOOST_TEST_CONTEXT("mode " << int(mode)) {
            s1::DecodeOptions opt;
            opt.sampling.top_k = mode == greedy ? 1 : 15;
            // Sampled: the early stop (noise) or the step cap (generator) ends rows still running.
            opt.max_steps = mode == generator ? 25 : 60;
            opt.early_stop_num = mode == noise ? 20 : -1;
            const at::Tensor table = at::empty({200, B, V}).exponential_(1.0, at::make_generator<at::CPUGeneratorImpl>(11));
            std::vector<int64_t> calls;  // running rows seen by the noise callback, step by step
            if (mode == noise)
                opt.noise = [&](int64_t step, const at::Tensor& probs) {
                    calls.push_back(probs.size(0));
                    return table[step].slice(0, 0, probs.size(0)).slice(1, 0, probs.size(1)).to(probs.device());
                };
            std::vector<std::vector<s1::BatchRowResult>> runs;
            std::vector<std::vector<int64_t>> seen;
            for (const bool static_decode : {false, true}) {
                opt.static_decode = static_decode;
                calls.clear();
                if (mode == generator) opt.generator = at::make_generator<at::CPUGeneratorImpl>(5);
                runs.push_back(s1::infer_panel_batch(m, in.phones, in.berts, in.prompt, opt));
                seen.push_back(calls);
            }
            check_same_rows(runs[1], runs[0]);
            BOOST_TEST(seen[1] == seen[0]);
            std::set<int64_t> finish_steps;
            int eos_rows = 0, cut_rows = 0;
            for (const auto& r : runs[1]) {
                BOOST_TEST_MESSAGE("static row: " << s1::to_string(r.stop) << " at step " << r.idx);
                finish_steps.insert(r.idx);
                eos_rows += r.stop == s1::StopReason::eos;
                cut_rows += r.stop == (mode == noise ? s1::StopReason::early_stop_num : s1::StopReason::max_steps);
            }
            BOOST_TEST(eos_rows >= 1);
            BOOST_TEST(finish_steps.size() > 1u);  // a row finished while others continued
            if (mode != greedy) BOOST_TEST(cut_rows >= 1);
        }
    }
}

// A batch of one row through the static batched path equals infer_panel on that row (greedy):
// the same tokens when the row stops with EOS, less the last token after an early stop.
BOOST_AUTO_TEST_CASE(static_batch_of_one_matches_infer_panel) {
    torch::NoGradGuard no_grad;
    auto& m = *model().model;
    const auto dev = test_device();
    const BatchInputs in = batch_inputs(dev);
    s1::DecodeOptions opt;
    opt.sampling.top_k = 1;
    opt.max_steps = 60;
    opt.early_stop_num = 20;
    int eos_rows = 0;
    for (size_t i = 0; i < in.phones.size(); ++i) {
        BOOST_TEST_CONTEXT("row " << i) {
            const auto single = s1::infer_panel(m, in.phones[i], in.berts[i], in.prompt, opt);
            const auto batch = s1::infer_panel_batch(m, {in.phones[i]}, {in.berts[i]}, in.prompt, opt);
            BOOST_REQUIRE(batch.size() == 1u);
            BOOST_TEST(std::string(s1::to_string(batch[0].stop)) == s1::to_string(single.stop));
            if (single.stop == s1::StopReason::eos) {
                ++eos_rows;
                BOOST_TEST(to_vec(batch[0].y) == to_vec(single.y));
                BOOST_TEST(to_vec(batch[0].kept) == to_vec(single.kept));
                BOOST_TEST(batch[0].idx == single.idx);
            } else {
                BOOST_TEST(to_vec(batch[0].y) == to_vec(single.y.slice(1, 0, single.y.size(1) - 1)));
            }
        }
    }
    BOOST_TEST(eos_rows >= 1);
}

// The static-shape decode (eager on the CPU, a replayed CUDA graph where available) against the
// growing-cache decode on every case: identical tokens, stop and step counts, logits within 1e-4;
// greedy with the case's parameters and sampled (top_k 15, fixed Exp(1) noise).
BOOST_AUTO_TEST_CASE(static_decode_matches_cached_path) {
    torch::NoGradGuard no_grad;
    const auto cases = read_json(gsv_dir() / "s1" / "cases.json").at("cases");
    auto& m = *model().model;
    const auto dev = test_device();
    {
        s1::DecodeGraph g(m, 256);
        BOOST_TEST(g.graphed() == troupe::CudaGraph::available(dev));
        BOOST_TEST_MESSAGE("device " << dev << ", CUDA graph " << g.graphed());
    }
    for (const auto& c : cases) {
        const std::string name = c.at("name");
        const auto t = troupe::st::File::open((gsv_dir() / "s1" / (name + ".safetensors")).string());
        const at::Tensor phones = t.tensor("phone_ids").to(dev);
        const at::Tensor prompt = t.contains("prompt_codes") ? t.tensor("prompt_codes").to(dev) : at::Tensor();
        const at::Tensor bert = t.contains("bert") ? t.tensor("bert").to(dev) : at::Tensor();
        for (const bool sampled : {false, true}) {
            BOOST_TEST_CONTEXT("case " << name << (sampled ? " sampled" : " greedy")) {
                const auto& dp = c.at("decode_params");
                s1::DecodeOptions opt;
                opt.sampling.top_k = sampled ? 15 : dp.at("top_k").is_null() ? std::optional<int64_t>() : dp.at("top_k").get<int64_t>();
                opt.sampling.repetition_penalty = dp.at("repetition_penalty").get<double>();
                opt.early_stop_num = sampled ? 120 : dp.value("early_stop_num", int64_t(-1));
                opt.record_logits = true;
                const at::Tensor noise = at::empty({400, m.config().vocab_size}).exponential_(
                    1.0, at::make_generator<at::CPUGeneratorImpl>(99));
                opt.noise = [&](int64_t step, const at::Tensor& probs) {
                    return noise[step].slice(0, 0, probs.size(1)).unsqueeze(0).to(probs.device());
                };
                opt.static_decode = false;
                const auto want = s1::infer_panel(m, phones, bert, prompt, opt);
                opt.static_decode = true;
                const auto t0 = std::chrono::steady_clock::now();
                const auto got = s1::infer_panel(m, phones, bert, prompt, opt);
                const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                BOOST_TEST_MESSAGE(name << (sampled ? " sampled: " : " greedy: ") << got.steps << " steps, "
                                        << s1::to_string(got.stop) << ", " << double(got.steps) / sec << " tok/s");
                BOOST_TEST(got.step_tokens == want.step_tokens);
                BOOST_TEST(to_vec(got.y) == to_vec(want.y));
                BOOST_TEST(to_vec(got.kept) == to_vec(want.kept));
                BOOST_TEST(got.idx == want.idx);
                BOOST_TEST(got.steps == want.steps);
                BOOST_TEST(std::string(s1::to_string(got.stop)) == s1::to_string(want.stop));
                BOOST_TEST(got.eos_blocked_steps == want.eos_blocked_steps);
                const double d = max_abs(got.step_logits, want.step_logits);
                BOOST_TEST_MESSAGE(name << " static vs cached logits max abs " << d);
                BOOST_TEST(d <= kLogitTol);
            }
        }
    }
}

// S1 in half precision (load_s1 with bfloat16, and float16 on CUDA; positional tables, softmax
// statistics and the logits stay float32): every case decoded greedily (top-k 1, repetition penalty
// 1.35, as batched_decode_matches_single_rows) against the float32 model on the same device. Prints
// the share of greedy tokens identical to float32 (position by position over the float32 run) and
// checks that the teacher-forced logits stay close (relative L2) and every token is a valid id.
BOOST_AUTO_TEST_CASE(half_precision_greedy_agreement) {
    torch::NoGradGuard no_grad;
    const auto cases = read_json(gsv_dir() / "s1" / "cases.json").at("cases");
    auto& ref = *model().model;
    const auto dev = test_device();
    std::vector<at::ScalarType> types = {at::kBFloat16};
    if (dev.is_cuda()) types.push_back(at::kHalf);
    for (const at::ScalarType dt : types) {
        const auto half = s1::load_s1((gsv_dir() / "models" / "s1.ckpt").string(), dev, dt);
        int64_t same = 0, total = 0, prefix = 0;
        for (const auto& c : cases) {
            const std::string name = c.at("name");
            const auto t = troupe::st::File::open((gsv_dir() / "s1" / (name + ".safetensors")).string());
            const at::Tensor phones = t.tensor("phone_ids").to(dev);
            const at::Tensor bert = t.contains("bert") ? t.tensor("bert").to(dev) : at::Tensor();
            const at::Tensor prompt = t.contains("prompt_codes") ? t.tensor("prompt_codes").to(dev) : at::Tensor();
            const at::Tensor cont = (t.contains("continuation") ? t.tensor("continuation").clone()
                                                                : ids(c.at("continuation").get<std::vector<int64_t>>())).to(dev);
            const at::Tensor audio = prompt.defined() ? at::cat({prompt, cont}, 1) : cont;
            const at::Tensor tf = ref.forward(phones, bert, audio).to(at::kFloat);
            const at::Tensor th = half.model->forward(phones, bert, audio).to(at::kFloat);
            const double rel = ((th - tf).norm() / tf.norm()).item<double>();
            BOOST_TEST_MESSAGE(name << " " << dt << " teacher-forced logits relative L2 " << rel);
            BOOST_TEST(rel <= (dt == at::kHalf ? 0.01 : 0.05), name << " " << dt << " relative L2 " << rel);
            s1::DecodeOptions opt;
            opt.sampling.top_k = 1;
            opt.sampling.repetition_penalty = 1.35;
            opt.max_steps = 60;
            const auto r32 = s1::infer_panel(ref, phones, bert, prompt, opt);
            const auto rh = s1::infer_panel(*half.model, phones, bert, prompt, opt);
            const std::vector<int64_t> a = to_vec(r32.generated), b = to_vec(rh.generated);
            bool diverged = false;
            for (size_t i = 0; i < a.size(); ++i) {
                const bool eq = i < b.size() && a[i] == b[i];
                same += eq;
                diverged = diverged || !eq;
                prefix += !diverged;
            }
            total += static_cast<int64_t>(a.size());
            for (int64_t id : b) BOOST_TEST((id >= 0 && id < model().config.vocab_size));
        }
        BOOST_REQUIRE(total > 0);
        BOOST_TEST_MESSAGE("S1 " << dt << " on " << dev << ": " << same << " / " << total << " greedy tokens identical to "
                                 << "float32 (" << 100.0 * same / total << " %), identical prefixes " << prefix << " / "
                                 << total);
        std::printf("S1 %s on %s: greedy tokens identical to float32: %lld / %lld (%.1f %%), identical prefixes %lld\n",
                    c10::toString(dt), dev.str().c_str(), static_cast<long long>(same), static_cast<long long>(total),
                    100.0 * same / total, static_cast<long long>(prefix));
    }
}
