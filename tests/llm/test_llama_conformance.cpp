// Llama + PEFT LoRA conformance: every prompt of llama-lora/cases.json — base, adapted and merged
// logits (and traces where recorded) within 1e-4 of transformers/peft, greedy continuations
// (KV-cached with EOS stop, and uncached without) equal to the reference ids, and the static-cache
// decode step (the CUDA-graph path) equal to the cached forward. Everything is discovered from
// cases.json, the model folder and the tensor names. TROUPE_TEST_DEVICE=cuda runs it all on the GPU
// (TF32 off; skipped where CUDA is missing).
#define BOOST_TEST_MODULE llama_conformance
#include <boost/test/unit_test.hpp>

#include "device.hpp"
#include "fixture.hpp"

#include "adapter.hpp"
#include "decode_session.hpp"
#include "generator.hpp"
#include "model.hpp"
#include "vocab.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cstdlib>
#include <map>

using namespace llm_test;
using json = nlohmann::json;
namespace ll = troupe::llama;

namespace {

constexpr double kTol = 1e-4;

struct Fixture {
    json cases;
    troupe::st::File tensors = troupe::st::File::open((fixture_dir() / "cases.safetensors").string());
    ll::Model model = ll::Model::load((fixture_dir() / "base").string(), test_load_options());
    ll::Adapter adapter = ll::Adapter::load((fixture_dir() / "adapter").string(), model);
    // prefix in cases.safetensors ("prompt0") → the prompts[] entry with the same input ids
    std::vector<std::pair<std::string, json>> prompts;

    Fixture() {
        cases = load_json(fixture_dir() / "cases.json");
        for (auto& [name, info] : cases.at("tensors").items()) {
            const std::string suffix = ".input_ids";
            if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
                continue;
            const std::string prefix = name.substr(0, name.size() - suffix.size());
            at::Tensor ids = tensors.tensor(name).flatten();
            std::vector<int64_t> v(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
            for (const json& p : cases.at("prompts"))
                if (p.at("input_ids").get<std::vector<int64_t>>() == v) prompts.emplace_back(prefix, p);
        }
    }
    static Fixture& get() {
        static Fixture f;
        return f;
    }
    bool has(const std::string& name) const { return tensors.contains(name); }
    at::Tensor ref(const std::string& name) const { return tensors.tensor(name).to(at::kFloat); }
};

double max_diff(const at::Tensor& a, const at::Tensor& b) {
    BOOST_REQUIRE_EQUAL(a.numel(), b.numel());
    return (a.flatten().cpu() - b.flatten().cpu()).abs().max().item<double>();
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_prompt_is_found) {
    Fixture& f = Fixture::get();
    BOOST_REQUIRE(!f.prompts.empty());
    BOOST_CHECK_EQUAL(f.prompts.size(), f.cases.at("prompts").size());
}

BOOST_AUTO_TEST_CASE(tokenizer_gives_reference_ids) {
    Fixture& f = Fixture::get();
    const ll::Vocab vocab = ll::Vocab::load(fixture_dir() / "base");
    const bool add_bos = f.cases.value("add_bos", true);
    for (const auto& [prefix, p] : f.prompts)
        BOOST_CHECK_MESSAGE(vocab.encode(p.at("text").get<std::string>(), add_bos) ==
                                p.at("input_ids").get<std::vector<int64_t>>(),
                            prefix << ": tokenizer ids differ");
}

BOOST_AUTO_TEST_CASE(logits_and_traces_match) {
    Fixture& f = Fixture::get();
    c10::InferenceMode guard;
    const ll::Model merged = f.model.merged(f.adapter);
    int compared = 0;
    for (const auto& [prefix, p] : f.prompts) {
        at::Tensor ids = f.tensors.tensor(prefix + ".input_ids").flatten();
        struct Variant {
            const char* name;
            const ll::Model* model;
            const ll::Adapter* adapter;
            const char* trace;
        };
        for (const Variant& v : {Variant{"logits_base", &f.model, nullptr, "trace_base"},
                                 Variant{"logits_adapted", &f.model, &f.adapter, "trace_adapted"},
                                 Variant{"logits_merged", &merged, nullptr, "trace_merged"},
                                 // a merged model must also reproduce the unmerged adapter's logits
                                 Variant{"logits_adapted", &merged, nullptr, nullptr}}) {
            const std::string key = prefix + "." + v.name;
            if (!f.has(key)) continue;
            ll::Trace trace;
            ll::ForwardOptions o;
            o.adapter = v.adapter;
            o.trace = &trace;
            at::Tensor logits = v.model->forward(ids, o);
            const double d = max_diff(logits, f.ref(key));
            BOOST_TEST_MESSAGE(key << (v.trace ? "" : " (merged model)") << ": max |diff| = " << d);
            BOOST_CHECK_MESSAGE(d <= kTol, key << ": max |diff| " << d << " > " << kTol);
            ++compared;
            if (!v.trace) continue;
            for (const auto& [name, t] : trace.items) {
                const std::string tkey = prefix + "." + v.trace + "." + name;
                if (!f.has(tkey)) continue;
                const double td = max_diff(t, f.ref(tkey));
                BOOST_CHECK_MESSAGE(td <= kTol, tkey << ": max |diff| " << td);
            }
        }
    }
    BOOST_CHECK_GE(compared, static_cast<int>(2 * f.prompts.size()));
}

BOOST_AUTO_TEST_CASE(kv_cache_matches_full_forward) {
    Fixture& f = Fixture::get();
    c10::InferenceMode guard;
    const auto& [prefix, p] = f.prompts.front();
    at::Tensor ids = f.tensors.tensor(prefix + ".input_ids").flatten();
    const int64_t n = ids.numel(), split = n / 2;
    ll::ForwardOptions full;
    full.adapter = &f.adapter;
    at::Tensor ref = f.model.forward(ids, full);
    ll::KVCache cache = f.model.new_cache(1, 4);  // small on purpose: exercises growth
    ll::ForwardOptions o = full;
    o.cache = &cache;
    at::Tensor a = f.model.forward(ids.slice(0, 0, split), o);
    std::vector<at::Tensor> parts = {a};
    for (int64_t i = split; i < n; ++i) parts.push_back(f.model.forward(ids.slice(0, i, i + 1), o));
    BOOST_CHECK_LE(max_diff(at::cat(parts, 1), ref), kTol);
    BOOST_CHECK_EQUAL(cache.length, n);
}

// The prefill path (fast_prefill(): grouped GEMMs, stacked LoRA, one-kernel RoPE + cache write on
// CUDA) against the per-projection layer code, and its logits at every prompt position against
// token-by-token decoding (each position a one-token cached forward), with and without the
// adapter, dense and NF4 (the NF4 weights are dequantized once per call by the prefill path).
BOOST_AUTO_TEST_CASE(prefill_path_matches_legacy_and_token_by_token) {
    Fixture& f = Fixture::get();
    c10::InferenceMode guard;
    ll::LoadOptions nf4_options = test_load_options();
    nf4_options.quantize = "nf4";
    const ll::Model nf4 = ll::Model::load((fixture_dir() / "base").string(), nf4_options);
    const ll::Adapter nf4_adapter = ll::Adapter::load((fixture_dir() / "adapter").string(), nf4);
    struct Restore {
        ~Restore() { ll::set_fast_prefill(true); }
    } restore;
    int compared = 0;
    for (const auto& [prefix, p] : f.prompts) {
        const std::vector<int64_t> ids = p.at("input_ids").get<std::vector<int64_t>>();
        const int64_t n = static_cast<int64_t>(ids.size());
        const at::Tensor t = at::tensor(ids, at::kLong);
        for (const ll::Model* model : {static_cast<const ll::Model*>(&f.model), &nf4}) {
            const ll::Adapter* with = model == &nf4 ? &nf4_adapter : &f.adapter;
            for (const ll::Adapter* adapter : {static_cast<const ll::Adapter*>(nullptr), with}) {
                ll::ForwardOptions o;
                o.adapter = adapter;
                ll::set_fast_prefill(false);
                ll::KVCache legacy_cache = model->new_cache(1, n);
                o.cache = &legacy_cache;
                const at::Tensor legacy = model->forward(t, o).view({n, -1});
                ll::set_fast_prefill(true);
                ll::KVCache cache = model->new_cache(1, n);
                o.cache = &cache;
                const at::Tensor fast = model->forward(t, o).view({n, -1});
                const double d = max_diff(fast, legacy);
                BOOST_CHECK_MESSAGE(d <= kTol, prefix << (model == &nf4 ? " nf4" : "") << (adapter ? " adapted" : "")
                                                      << ": prefill vs legacy max |diff| " << d);
                BOOST_CHECK_LE(max_diff(cache.k.back().narrow(2, 0, n), legacy_cache.k.back().narrow(2, 0, n)), kTol);
                BOOST_CHECK_LE(max_diff(cache.v.back().narrow(2, 0, n), legacy_cache.v.back().narrow(2, 0, n)), kTol);
                ll::KVCache step_cache = model->new_cache(1, 2);  // grows as it goes
                o.cache = &step_cache;
                for (int64_t i = 0; i < n; ++i) {
                    const double di = max_diff(model->forward(t.slice(0, i, i + 1), o).view({-1}), fast[i]);
                    BOOST_CHECK_MESSAGE(di <= kTol, prefix << " position " << i << ": prefill vs one token at a time "
                                                           << di);
                }
                ++compared;
            }
        }
    }
    BOOST_CHECK_GE(compared, 4);
}

BOOST_AUTO_TEST_CASE(static_decode_session_matches_cached_forward) {
    Fixture& f = Fixture::get();
    c10::InferenceMode guard;
    for (const auto& [prefix, p] : f.prompts) {
        const std::vector<int64_t> ids = p.at("input_ids").get<std::vector<int64_t>>();
        const int64_t n = static_cast<int64_t>(ids.size()), split = std::max<int64_t>(n / 2, 1);
        for (const ll::Adapter* adapter : {static_cast<const ll::Adapter*>(nullptr), static_cast<const ll::Adapter*>(&f.adapter)}) {
            ll::ForwardOptions full;
            full.adapter = adapter;
            at::Tensor ref = f.model.forward(at::tensor(ids, at::kLong), full).view({n, -1});
            ll::DecodeSession session(f.model, adapter, n + 3);
            BOOST_CHECK_LE(max_diff(session.prefill({ids.begin(), ids.begin() + split}), ref[split - 1]), kTol);
            for (int64_t i = split; i < n; ++i) {
                const double d = max_diff(session.step(ids[i]), ref[i]);
                BOOST_CHECK_MESSAGE(d <= kTol, prefix << " position " << i << ": max |diff| " << d);
            }
            BOOST_CHECK_EQUAL(session.length(), n);
            // Restarting reuses the same cache (and graph): the first prompt's keys must not leak in.
            at::Tensor again = session.prefill({ids.begin(), ids.begin() + split});
            if (split < n) BOOST_CHECK_LE(max_diff(session.step(ids[split]), ref[split]), kTol);
            BOOST_CHECK_LE(max_diff(again, ref[split - 1]), kTol);
        }
    }
    ll::DecodeSession small(f.model, nullptr, 2);
    BOOST_CHECK_THROW(small.prefill({1, 2, 3}), troupe::Error);
}

BOOST_AUTO_TEST_CASE(greedy_ids_match) {
    Fixture& f = Fixture::get();
    const json& gen = f.cases.at("generation");
    const int max_new = gen.at("max_new_tokens").get<int>();
    std::vector<int64_t> eos;
    if (gen.contains("eos_token_id")) {
        const json& e = gen.at("eos_token_id");
        if (e.is_array())
            eos = e.get<std::vector<int64_t>>();
        else
            eos.push_back(e.get<int64_t>());
    }
    const ll::Model merged = f.model.merged(f.adapter);
    for (const auto& [prefix, p] : f.prompts) {
        const std::vector<int64_t> prompt = p.at("input_ids").get<std::vector<int64_t>>();
        for (const char* which : {"greedy_base", "greedy_adapted"}) {
            if (!p.contains(which)) continue;
            const json& ref = p.at(which);
            const ll::Adapter* adapter = std::string(which) == "greedy_adapted" ? &f.adapter : nullptr;
            ll::GenerateOptions o;
            o.sampling.greedy = true;
            o.sampling.repetition_penalty = static_cast<float>(gen.value("repetition_penalty", 1.0));
            o.sampling.max_new_tokens = max_new;
            o.eos_ids = eos;
            ll::Generation g = ll::generate(f.model, prompt, adapter, o);
            BOOST_CHECK_MESSAGE(g.ids == ref.at("new_ids").get<std::vector<int64_t>>(),
                                prefix << "." << which << ": new_ids differ");
            ll::DecodeSession session(f.model, adapter, static_cast<int64_t>(prompt.size()) + max_new);
            ll::GenerateOptions static_cache = o;
            static_cache.session = &session;
            BOOST_CHECK_MESSAGE(ll::generate(f.model, prompt, adapter, static_cache).ids == g.ids,
                                prefix << "." << which << ": static-cache session ids differ");
            BOOST_CHECK_EQUAL(g.stop == troupe::StopReason::eos, ref.value("stopped_at_eos", false));
            ll::GenerateOptions nostop = o;
            nostop.use_cache = false;
            nostop.eos_ids = {-1};
            ll::Generation g2 = ll::generate(f.model, prompt, adapter, nostop);
            BOOST_CHECK_MESSAGE(g2.ids == ref.at("no_stop_ids").get<std::vector<int64_t>>(),
                                prefix << "." << which << ": no_stop_ids differ");
            if (adapter && f.has(prefix + ".logits_merged")) {
                ll::Generation gm = ll::generate(merged, prompt, nullptr, o);
                BOOST_CHECK_MESSAGE(gm.ids == g.ids, prefix << ": merged greedy ids differ from adapted");
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(streamed_text_matches_reference_decode) {
    Fixture& f = Fixture::get();
    const ll::Vocab vocab = ll::Vocab::load(fixture_dir() / "base");
    struct Dec : ll::TokenDecoder {
        explicit Dec(const ll::Vocab& v) : d(v) {}
        std::string push(int64_t id) override { return d.push(id); }
        std::string flush() override { return d.flush(); }
        ll::IncrementalDecoder d;
    };
    for (const auto& [prefix, p] : f.prompts) {
        const json& ref = p.at("greedy_adapted");
        if (!ref.contains("text")) continue;
        ll::GenerateOptions o;
        o.sampling.greedy = true;
        o.sampling.repetition_penalty = 1.0f;
        o.sampling.max_new_tokens = static_cast<int>(ref.at("new_ids").size());
        Dec dec(vocab);
        std::string streamed;
        ll::Generation g = ll::generate(f.model, p.at("input_ids").get<std::vector<int64_t>>(), &f.adapter, o, &dec,
                                        [&](const std::string& piece) {
                                            streamed += piece;
                                            return true;
                                        });
        BOOST_CHECK_EQUAL(g.text, streamed);
        BOOST_CHECK_MESSAGE(g.text == ref.at("text").get<std::string>(), prefix << ": generated text differs");
    }
}
