// S1 unit tests on small random models: upstream parameter names, the prefill mask, KV-cached
// decoding equal to the full forward, train mode (dropout, gradients), sampler rules, stop rules
// and input validation; the static-shape decode step (s1/decode_graph.hpp, eager here) against the
// full forward, its buffer reuse and the graph pool; the batched static step against single rows
// and the static batched decode against the eager one.
#define BOOST_TEST_MODULE s1_unit
#include <boost/test/unit_test.hpp>

#include "s1/decode_graph.hpp"
#include "s1/decoder.hpp"
#include "s1/model.hpp"
#include "s1/sampler.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <torch/autograd.h>

#include <set>
#include <string>
#include <vector>

namespace s1 = troupe::sovits::s1;

namespace {

s1::S1Config tiny_config() {
    s1::S1Config c;
    c.vocab_size = 41;
    c.eos = 40;
    c.phoneme_vocab_size = 23;
    c.embedding_dim = c.hidden_dim = 16;
    c.n_head = 4;
    c.n_layer = 2;
    c.bert_dim = 8;
    return c;
}

std::shared_ptr<s1::Text2SemanticDecoderImpl> tiny_model(uint64_t seed = 7) {
    at::manual_seed(seed);
    auto m = std::make_shared<s1::Text2SemanticDecoderImpl>(tiny_config());
    torch::NoGradGuard g;
    for (auto& p : m->parameters()) p.copy_(at::randn_like(p) * 0.5);  // LayerNorm/alpha random too
    m->eval();
    return m;
}

at::Tensor ids(std::vector<int64_t> v) {
    return at::tensor(at::ArrayRef<int64_t>(v), at::TensorOptions().dtype(at::kLong)).reshape({1, -1});
}

// 7 phones with BERT features and 8 audio codes, and the model's full (uncached) forward over them.
struct DecodeCase {
    std::shared_ptr<s1::Text2SemanticDecoderImpl> m = tiny_model();
    at::Tensor phones = ids({1, 5, 7, 2, 9, 22, 0});
    at::Tensor bert = at::randn({1, 8, 7});
    at::Tensor codes = ids({3, 17, 39, 3, 0, 12, 30, 8});
    at::Tensor full = m->forward(phones, bert, codes);  // (1, 1 + T, V)
};

}  // namespace

BOOST_AUTO_TEST_CASE(parameter_names_follow_upstream) {
    auto m = tiny_model();
    std::set<std::string> got;
    for (const auto& n : m->parameter_names()) got.insert(n);
    std::set<std::string> want = {"bert_proj.weight", "bert_proj.bias", "ar_text_embedding.word_embeddings.weight",
                                  "ar_text_position.alpha", "ar_audio_embedding.word_embeddings.weight",
                                  "ar_audio_position.alpha", "ar_predict_layer.weight"};
    for (int i = 0; i < 2; ++i)
        for (const char* s : {"self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                              "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
                              "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"})
            want.insert(fmt::format("h.layers.{}.{}", i, s));
    BOOST_TEST(got == want);
}

BOOST_AUTO_TEST_CASE(prefill_mask_layout) {
    const at::Tensor m = s1::Text2SemanticDecoderImpl::prefill_mask(3, 2, at::kCPU);
    // text rows: text visible, audio blocked; audio rows: all text + causal audio.
    const std::vector<std::vector<int>> want = {
        {0, 0, 0, 1, 1}, {0, 0, 0, 1, 1}, {0, 0, 0, 1, 1}, {0, 0, 0, 0, 1}, {0, 0, 0, 0, 0}};
    for (int r = 0; r < 5; ++r)
        for (int c = 0; c < 5; ++c) BOOST_TEST(m[r][c].item<bool>() == bool(want[r][c]), r << "," << c);
    BOOST_TEST(s1::Text2SemanticDecoderImpl::prefill_mask(4, 0, at::kCPU).any().item<bool>() == false);
}

BOOST_AUTO_TEST_CASE(kv_cached_decode_equals_full_forward) {
    torch::NoGradGuard g;
    const auto [m, phones, bert, codes, full] = DecodeCase();
    BOOST_TEST(full.size(1) == codes.size(1) + 1);
    for (int64_t prefix : {0, 2, 5}) {
        s1::KVCache cache;
        cache.reserve = prefix == 2 ? 1 : 64;  // prefix 2: the buffers regrow (doubling) while decoding
        const at::Tensor x = m->embed_text(phones, bert);
        at::Tensor xy = prefix ? at::cat({x, m->embed_audio(codes.slice(1, 0, prefix), 0)}, 1) : x;
        at::Tensor h = m->transform(xy, s1::Text2SemanticDecoderImpl::prefill_mask(7, prefix, at::kCPU), &cache);
        BOOST_TEST(cache.length() == 7 + prefix);
        double worst = (m->predict(h.select(1, h.size(1) - 1)) - full.select(1, prefix)).abs().max().item<double>();
        for (int64_t j = prefix; j < codes.size(1); ++j) {
            h = m->transform(m->embed_audio(codes.slice(1, j, j + 1), j), at::Tensor(), &cache);
            worst = std::max(worst, (m->predict(h.select(1, 0)) - full.select(1, j + 1)).abs().max().item<double>());
        }
        BOOST_TEST(worst < 1e-5, "prefix " << prefix << ": cached vs full " << worst);
        BOOST_TEST(cache.length() == 7 + codes.size(1));
        BOOST_TEST(cache.capacity() >= cache.length());
    }
}

BOOST_AUTO_TEST_CASE(static_decode_step_equals_full_forward) {
    torch::NoGradGuard g;
    const auto [m, phones, bert, codes, full] = DecodeCase();
    // Capacity 16: every step attends over the whole capacity (as a captured graph does); 600: the
    // eager steps attend over the first 256 positions only.
    for (int64_t capacity : {16, 600}) {
        s1::DecodeGraph graph(*m, capacity, /*use_graph=*/false);
        BOOST_TEST(!graph.graphed());
        BOOST_TEST(graph.capacity() == capacity);
        // Longest prefix last but one: the next prefill must not see its leftovers.
        for (int64_t prefix : {0, 6, 2}) {
            const at::Tensor x = m->embed_text(phones, bert);
            const at::Tensor xy = prefix ? at::cat({x, m->embed_audio(codes.slice(1, 0, prefix), 0)}, 1) : x;
            const at::Tensor h = graph.prefill(xy, s1::Text2SemanticDecoderImpl::prefill_mask(7, prefix, at::kCPU));
            double worst = (m->predict(h.select(1, h.size(1) - 1)) - full.select(1, prefix)).abs().max().item<double>();
            for (int64_t j = prefix; j < codes.size(1); ++j) {
                const at::Tensor& logits = graph.step(codes.slice(1, j, j + 1), j, 7 + j);
                BOOST_TEST(logits.size(0) == 1);
                BOOST_TEST(logits.size(1) == 41);
                worst = std::max(worst, (logits - full.select(1, j + 1)).abs().max().item<double>());
            }
            BOOST_TEST(worst < 1e-5, "capacity " << capacity << ", prefix " << prefix << ": static step vs full " << worst);
        }
    }
    s1::DecodeGraph graph(*m, 16, /*use_graph=*/false);
    BOOST_CHECK_THROW(graph.step(codes.slice(1, 0, 1), 9, 16), troupe::Error);  // past the capacity
    BOOST_CHECK_THROW(graph.prefill(at::zeros({1, 17, 16}), at::Tensor()), troupe::Error);
    // The positional rows computed on the device from a position tensor equal the table's.
    const at::Tensor pos = at::arange(0, 600, 37, at::TensorOptions().dtype(at::kLong));
    const at::Tensor e = m->embed_audio_at(at::full({1, pos.size(0)}, 5, at::kLong), pos);
    for (int64_t i = 0; i < pos.size(0); ++i) {
        const int64_t p = pos[i].item<int64_t>();
        BOOST_TEST((e.select(1, i) - m->embed_audio(ids({5}), p).select(1, 0)).abs().max().item<double>() < 1e-5, p);
    }
}

// A DecodeGraph of 3 rows with texts of different lengths (left-padded, pad columns masked) steps
// every row as a batch-1 graph of that row alone does: the same logits within 1e-5, for a capacity
// attended whole (16) and for eager windows (600); finished-row inputs do not leak into others.
BOOST_AUTO_TEST_CASE(static_decode_batch_rows_equal_single_rows) {
    torch::NoGradGuard g;
    auto m = tiny_model();
    const std::vector<at::Tensor> phones = {ids({1, 5, 7, 2, 9}), ids({4, 3}), ids({8, 2, 6, 1, 1, 0, 7})};
    const at::Tensor prompt = ids({3, 17, 21});
    const at::Tensor steps = at::randint(0, 40, {3, 6}, at::TensorOptions().dtype(at::kLong));  // tokens per row
    const int64_t n = 7, T = 3, src = n + T;
    for (int64_t capacity : {16, 600}) {
        std::vector<at::Tensor> xs;
        at::Tensor pad = at::zeros({3, src}, at::kBool);
        for (int64_t i = 0; i < 3; ++i) {
            const at::Tensor x = m->embed_text(phones[size_t(i)], at::Tensor());
            const int64_t p = n - x.size(1);
            xs.push_back(at::cat({at::zeros({1, p, 16}), x, m->embed_audio(prompt, 0)}, 1));
            pad[i].slice(0, 0, p).fill_(true);
        }
        const at::Tensor mask = s1::Text2SemanticDecoderImpl::prefill_mask(n, T, at::kCPU).unsqueeze(0).logical_or(pad.unsqueeze(1));
        s1::DecodeGraph batch(*m, capacity, /*use_graph=*/false, 3);
        BOOST_TEST(batch.batch() == 3);
        BOOST_CHECK_THROW(batch.prefill(xs[0], mask[0]), troupe::Error);  // one row for three
        BOOST_CHECK_THROW(batch.prefill(at::cat(xs, 0), mask, pad.slice(1, 0, 4)), troupe::Error);
        const at::Tensor hb = batch.prefill(at::cat(xs, 0), mask, pad);
        std::vector<at::Tensor> got = {m->predict(hb.select(1, src - 1))};
        for (int64_t j = 0; j < steps.size(1); ++j) got.push_back(batch.step(steps.select(1, j), T + j, src + j).clone());
        BOOST_CHECK_THROW(batch.step(steps.select(1, 0).slice(0, 0, 2), T, src), troupe::Error);  // 2 tokens for 3 rows
        for (int64_t i = 0; i < 3; ++i) {
            const at::Tensor x = m->embed_text(phones[size_t(i)], at::Tensor());
            const int64_t len = x.size(1) + T;
            s1::DecodeGraph one(*m, capacity, /*use_graph=*/false);
            if (i < 2) BOOST_CHECK_THROW(one.prefill(xs[size_t(i)], mask[i], pad[i].unsqueeze(0)), troupe::Error);
            const at::Tensor h = one.prefill(at::cat({x, m->embed_audio(prompt, 0)}, 1),
                                             s1::Text2SemanticDecoderImpl::prefill_mask(x.size(1), T, at::kCPU));
            double worst = (m->predict(h.select(1, len - 1)) - got[0][i]).abs().max().item<double>();
            for (int64_t j = 0; j < steps.size(1); ++j)
                worst = std::max(worst, (one.step(steps[i][j].reshape({1, 1}), T + j, len + j)[0] - got[size_t(j) + 1][i])
                                            .abs().max().item<double>());
            BOOST_TEST(worst < 1e-5, "capacity " << capacity << ", row " << i << ": batched vs single " << worst);
        }
    }
}

// infer_panel_batch static (finished rows kept) against eager (rows leaving), rows of different
// lengths, sampled with an injected noise: the same rows and the same noise calls.
BOOST_AUTO_TEST_CASE(static_batch_decode_equals_eager_batch_decode) {
    torch::NoGradGuard g;
    auto m = tiny_model();
    const std::vector<at::Tensor> phones = {ids({1, 5, 7, 2, 9}), ids({4, 3}), ids({8, 2, 6, 1, 1, 0, 7}), ids({2})};
    s1::DecodeOptions o;
    o.sampling.top_k = std::nullopt;  // every token possible
    o.min_steps = 2;
    o.max_steps = 40;
    at::Tensor noise = at::empty({40, 4, 41}).exponential_(1.0, at::make_generator<at::CPUGeneratorImpl>(3));
    // A near-zero draw for EOS makes it win the exponential race: the running row at position 1
    // stops at step 5, the one then at position 0 at step 9 (the others stop later by themselves).
    noise[5][1][40] = 1e-12;
    noise[9][0][40] = 1e-12;
    std::vector<int64_t> calls;
    o.noise = [&](int64_t step, const at::Tensor& probs) {
        calls.push_back(probs.size(0));
        return noise[step].slice(0, 0, probs.size(0)).slice(1, 0, probs.size(1));
    };
    o.static_decode = false;
    const auto want = s1::infer_panel_batch(*m, phones, {}, ids({3, 17, 21}), o);
    const auto want_calls = calls;
    calls.clear();
    o.static_decode = true;
    const auto got = s1::infer_panel_batch(*m, phones, {}, ids({3, 17, 21}), o);
    BOOST_TEST(calls == want_calls);
    BOOST_REQUIRE(got.size() == want.size());
    std::set<int64_t> finish;
    for (size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST(got[i].y.equal(want[i].y), "row " << i);
        BOOST_TEST(got[i].idx == want[i].idx, "row " << i);
        BOOST_TEST(int(got[i].stop) == int(want[i].stop), "row " << i);
        finish.insert(got[i].idx);
    }
    BOOST_TEST_MESSAGE("noise calls: " << calls.size() << ", first " << calls.front() << ", last " << calls.back());
    int eos_rows = 0;
    for (const auto& r : got) {
        eos_rows += r.stop == s1::StopReason::eos;
        BOOST_TEST_MESSAGE("row: " << s1::to_string(r.stop) << " at " << r.idx);
    }
    BOOST_TEST(eos_rows >= 2);
    BOOST_TEST(finish.size() > 1u);  // rows finished at different steps

    // Per-row noise (row_noise): row r draws noise[step][r] whichever rows still run, so every row
    // that stops with EOS equals infer_panel of that row alone with the same draws (both paths).
    o.noise = nullptr;
    o.row_noise = [&](int64_t row, int64_t step, const at::Tensor& probs) {
        return noise[step][row].slice(0, 0, probs.size(1)).unsqueeze(0);
    };
    for (const bool static_decode : {false, true}) {
        o.static_decode = static_decode;
        const auto rows = s1::infer_panel_batch(*m, phones, {}, ids({3, 17, 21}), o);
        int eos = 0;
        for (size_t r = 0; r < rows.size(); ++r) {
            s1::DecodeOptions one = o;
            one.row_noise = nullptr;
            one.noise = [&, r](int64_t step, const at::Tensor& probs) {
                return noise[step][int64_t(r)].slice(0, 0, probs.size(1)).unsqueeze(0);
            };
            const auto single = s1::infer_panel(*m, phones[r], at::Tensor(), ids({3, 17, 21}), one);
            if (single.stop != s1::StopReason::eos) continue;
            ++eos;
            BOOST_TEST(rows[r].y.equal(single.y), "row " << r << (static_decode ? " static" : " eager"));
            BOOST_TEST(rows[r].idx == single.idx, "row " << r);
        }
        BOOST_TEST(eos >= 2);
    }
}

BOOST_AUTO_TEST_CASE(static_decode_graphs_are_pooled) {
    auto m = tiny_model();
    BOOST_TEST(s1::DecodeGraph::round_capacity(1) == 256);
    BOOST_TEST(s1::DecodeGraph::round_capacity(256) == 256);
    BOOST_TEST(s1::DecodeGraph::round_capacity(257) == 512);
    auto a = s1::DecodeGraph::acquire(*m, 256);
    const s1::DecodeGraph* first = a.get();
    a.reset();
    auto b = s1::DecodeGraph::acquire(*m, 256);
    BOOST_TEST(b.get() == first);  // reused
    auto c = s1::DecodeGraph::acquire(*m, 256);
    BOOST_TEST(c.get() != first);  // held: a second one
    auto d = s1::DecodeGraph::acquire(*m, 512);
    BOOST_TEST(d->capacity() == 512);
    b.reset();
    c.reset();
    d.reset();
    auto other = tiny_model(3);
    auto e = s1::DecodeGraph::acquire(*other, 256);
    BOOST_TEST(e.get() != first);  // another model
    // Decodes through the pool (static steps) equal the growing-cache decode, twice in a row.
    const at::Tensor phones = ids({1, 5, 7, 2, 9});
    const at::Tensor prompt = ids({3, 17, 21});
    s1::DecodeOptions o;
    o.sampling.top_k = 5;
    o.early_stop_num = 30;
    o.record_logits = true;
    const at::Tensor noise = at::empty({64, 41}).exponential_(1.0, at::make_generator<at::CPUGeneratorImpl>(5));
    o.noise = [&](int64_t step, const at::Tensor& probs) { return noise[step].slice(0, 0, probs.size(1)).unsqueeze(0); };
    o.static_decode = false;
    const auto want = s1::infer_panel(*m, phones, at::Tensor(), prompt, o);
    o.static_decode = true;
    for (int run = 0; run < 2; ++run) {
        const auto got = s1::infer_panel(*m, phones, at::Tensor(), prompt, o);
        BOOST_TEST(got.step_tokens == want.step_tokens);
        BOOST_TEST(got.y.equal(want.y));
        BOOST_TEST((got.step_logits - want.step_logits).abs().max().item<double>() < 1e-5);
    }
    BOOST_TEST(want.steps > 5);
    // A graph built under InferenceMode serves a later caller outside it (and the other way round).
    s1::DecodeGraph::release_pooled(m.get());
    for (const bool inference : {true, false, true}) {
        c10::InferenceMode mode(inference);
        const auto got = s1::infer_panel(*m, phones, at::Tensor(), prompt, o);
        BOOST_TEST(got.step_tokens == want.step_tokens);
    }
    s1::DecodeGraph::release_pooled();
    BOOST_TEST(s1::DecodeGraph::acquire(*m, 256).get() != nullptr);
}

BOOST_AUTO_TEST_CASE(train_mode_has_dropout_and_gradients) {
    auto m = tiny_model();
    m->train();
    const at::Tensor phones = ids({1, 5, 7, 2});
    const at::Tensor codes = ids({3, 17, 39});
    at::manual_seed(1);
    const at::Tensor a = m->forward(phones, at::Tensor(), codes);
    const at::Tensor b = m->forward(phones, at::Tensor(), codes);
    BOOST_TEST(!a.equal(b));  // dropout active
    // Cross entropy (sum, as upstream) against codes + EOS: every parameter gets a gradient.
    const at::Tensor targets = at::cat({codes, ids({40})}, 1);
    const at::Tensor loss = at::cross_entropy_loss(a.reshape({-1, 41}), targets.reshape({-1}), {}, at::Reduction::Sum);
    loss.backward();
    for (const auto& p : m->named_parameters(true)) {
        BOOST_TEST_CONTEXT(p.key()) {
            BOOST_REQUIRE(p.value().grad().defined());
            if (p.key().find("bert_proj.weight") == std::string::npos)  // zero BERT input: no weight gradient
                BOOST_TEST(p.value().grad().abs().sum().item<double>() > 0);
        }
    }
    m->eval();
    torch::NoGradGuard g;
    BOOST_TEST(m->forward(phones, at::Tensor(), codes).equal(m->forward(phones, at::Tensor(), codes)));
}

BOOST_AUTO_TEST_CASE(sampler_rules) {
    // Penalty: in place, s<0 → s·p, s>0 → s/p, duplicates once.
    at::Tensor logits = at::tensor({2.0f, -1.0f, 0.5f, 3.0f}).reshape({1, 4});
    s1::SamplingParams p;
    p.top_k = std::nullopt;
    p.repetition_penalty = 2.0;
    const at::Tensor probs = s1::logits_to_probs(logits, ids({0, 1, 0}), p);
    BOOST_TEST(logits[0][0].item<float>() == 1.0f);
    BOOST_TEST(logits[0][1].item<float>() == -2.0f);
    BOOST_TEST(logits[0][3].item<float>() == 3.0f);
    BOOST_TEST(std::abs(probs.sum().item<double>() - 1.0) < 1e-6);
    // top_k larger than the vocabulary keeps everything; top_k 1 is greedy.
    at::Tensor l2 = at::tensor({0.1f, 0.3f, 0.2f}).reshape({1, 3});
    p.repetition_penalty = 1.0;
    p.top_k = 50;
    BOOST_TEST((s1::logits_to_probs(l2, at::Tensor(), p) > 0).all().item<bool>());
    p.top_k = 1;
    const at::Tensor g = s1::logits_to_probs(l2, at::Tensor(), p);
    BOOST_TEST(g[0][1].item<float>() == 1.0f);
    BOOST_TEST(s1::sample(g).item<int64_t>() == 1);
    // top_p keeps the first even when it alone crosses the threshold; the crossing token is dropped.
    at::Tensor l3 = at::tensor({5.0f, 1.0f, 0.0f}).reshape({1, 3});
    p.top_k = std::nullopt;
    p.top_p = 0.5;
    const at::Tensor tp = s1::logits_to_probs(l3, at::Tensor(), p);
    BOOST_TEST(tp[0][0].item<float>() == 1.0f);
    // temperature 0 is clamped to 1e-5 (greedy-like, no NaN).
    p.top_p = 1.0;
    p.temperature = 0.0;
    at::Tensor l4 = at::tensor({0.1f, 0.3f, 0.2f}).reshape({1, 3});
    const at::Tensor t0 = s1::logits_to_probs(l4, at::Tensor(), p);
    BOOST_TEST(!t0.isnan().any().item<bool>());
    BOOST_TEST(t0[0][1].item<float>() == 1.0f);
}

BOOST_AUTO_TEST_CASE(stop_rules_and_kept_tokens) {
    auto m = tiny_model(11);
    const at::Tensor phones = ids({1, 5, 7, 2, 9});
    const at::Tensor prompt = ids({3, 17, 21});
    s1::DecodeOptions o;
    o.sampling.top_k = 1;
    o.sampling.repetition_penalty = 1.0;
    o.min_steps = 1000;  // EOS impossible: the early-stop cap decides
    o.early_stop_num = 4;
    auto r = s1::infer_panel(*m, phones, at::Tensor(), prompt, o);
    BOOST_TEST(std::string(s1::to_string(r.stop)) == "early_stop_num");
    BOOST_TEST(r.generated.size(1) == 5);  // stops when more than 4 were generated, keeping the last
    BOOST_TEST(r.idx == 4);
    BOOST_TEST(r.kept.size(1) == 4);      // upstream quirk: y[:, -idx:] drops the first generated token
    BOOST_TEST(r.kept.equal(r.generated.slice(1, 1)));
    BOOST_TEST(r.y.slice(1, 0, 3).equal(prompt));

    o.early_stop_num = -1;
    o.max_steps = 6;
    r = s1::infer_panel(*m, phones, at::Tensor(), prompt, o);
    BOOST_TEST(std::string(s1::to_string(r.stop)) == "max_steps");
    BOOST_TEST(r.steps == 6);
    BOOST_TEST(r.generated.size(1) == 6);

    // Reference-free: idx 0 and everything is kept.
    r = s1::infer_panel(*m, phones, at::Tensor(), at::Tensor(), o);
    BOOST_TEST(r.idx == 0);
    BOOST_TEST(r.kept.equal(r.y));
    BOOST_TEST(r.generated.size(1) == 6);

    // Never EOS before min_steps; a model forced to say EOS stops right after.
    {
        torch::NoGradGuard g;
        auto named = m->named_parameters(true);
        // Last LayerNorm outputs its bias (ones); only the EOS row of the head is non-zero.
        named["h.layers.1.norm2.weight"].zero_();
        named["h.layers.1.norm2.bias"].fill_(1);
        named["ar_predict_layer.weight"].zero_();
        named["ar_predict_layer.weight"][40].fill_(1);
    }
    o.min_steps = 3;
    o.max_steps = 1500;
    r = s1::infer_panel(*m, phones, at::Tensor(), prompt, o);
    BOOST_TEST(std::string(s1::to_string(r.stop)) == "eos");
    BOOST_TEST(r.steps == 4);
    BOOST_TEST(r.step_tokens.back() == 40);
    BOOST_TEST(r.generated.size(1) == 3);
    BOOST_TEST(r.eos_blocked_steps == std::vector<int64_t>({0, 1, 2}));
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_errors) {
    auto m = tiny_model();
    s1::DecodeOptions o;
    BOOST_CHECK_THROW(s1::infer_panel(*m, at::zeros({1, 0}, at::kLong), at::Tensor(), at::Tensor(), o), troupe::Error);
    BOOST_CHECK_THROW(s1::infer_panel(*m, ids({1, 99}), at::Tensor(), at::Tensor(), o), troupe::Error);
    BOOST_CHECK_THROW(s1::infer_panel(*m, ids({1, 2}), at::Tensor(), ids({40}), o), troupe::Error);  // EOS as prompt
    BOOST_CHECK_THROW(s1::infer_panel(*m, ids({1, 2}), at::zeros({1, 5, 2}), at::Tensor(), o), troupe::Error);
    s1::StateDict sd;
    for (const auto& p : m->named_parameters(true)) sd[p.key()] = p.value().detach().clone();
    sd.erase("ar_text_position.alpha");
    BOOST_CHECK_THROW(m->load_state(sd, "test"), troupe::Error);
    sd["ar_text_position.alpha"] = at::ones({2});
    BOOST_CHECK_THROW(m->load_state(sd, "test"), troupe::Error);
    sd["ar_text_position.alpha"] = at::ones({1});
    sd["extra.weight"] = at::ones({1});
    BOOST_CHECK_THROW(m->load_state(sd, "test"), troupe::Error);
    BOOST_CHECK_THROW(s1::load_s1("/nonexistent/s1.ckpt"), troupe::Error);
}
