// Sampling keeps text valid UTF-8: the Utf8Guard mask on a tiny synthetic vocabulary, and the
// embedded model (models/troupe-mini + a character adapter) sampled hot over many seeds, with and
// without the guard (without it, broken byte runs do occur: that is what the guard is for).
#define BOOST_TEST_MODULE llama_utf8
#include <boost/test/unit_test.hpp>

#include "adapter.hpp"
#include "generator.hpp"
#include "model.hpp"
#include "sampler.hpp"
#include "utf8.hpp"
#include "utf8_guard.hpp"
#include "vocab.hpp"

#include <ATen/ATen.h>

#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace ll = troupe::llama;
namespace fs = std::filesystem;

namespace {
// Synthetic vocabulary: id 0 = EOS, id 1 = "a", then the 256 byte tokens (id 2 + b).
ll::Utf8Guard tiny_guard() {
    std::vector<int16_t> bytes(2 + 256, -1);
    for (int b = 0; b < 256; ++b) bytes[2 + b] = static_cast<int16_t>(b);
    return ll::Utf8Guard(std::move(bytes));
}
int64_t byte_id(int b) { return 2 + b; }

const std::string kReplacement = "\xEF\xBF\xBD";

bool clean(const std::string& s) {
    return ll::utf8::first_invalid(s) == std::string::npos && s.find(kReplacement) == std::string::npos;
}
}  // namespace

BOOST_AUTO_TEST_CASE(mask_on_a_synthetic_vocab) {
    const ll::Utf8Guard g = tiny_guard();
    ll::Utf8Guard::State s;
    // Nothing pending: text, EOS, ASCII and lead bytes are allowed; continuation and C0/C1/F5+ are not.
    BOOST_CHECK(g.allowed(s, 0) && g.allowed(s, 1) && g.allowed(s, byte_id('x')));
    BOOST_CHECK(g.allowed(s, byte_id(0xC2)) && g.allowed(s, byte_id(0xEA)) && g.allowed(s, byte_id(0xF4)));
    for (int b : {0x80, 0xBF, 0xC0, 0xC1, 0xF5, 0xFF}) BOOST_CHECK_MESSAGE(!g.allowed(s, byte_id(b)), b);
    // A 3-byte lead needs 3 tokens of budget.
    BOOST_CHECK(!g.allowed(s, byte_id(0xEA), 2) && g.allowed(s, byte_id(0xEA), 3) && g.allowed(s, byte_id(0xC3), 2));
    // "한" = ED 95 9C: after ED the next byte is 80..9F only; text and EOS are masked meanwhile.
    g.accept(s, byte_id(0xED));
    BOOST_CHECK(s.pending());
    BOOST_CHECK(!g.allowed(s, 0) && !g.allowed(s, 1) && !g.allowed(s, byte_id('a')) && !g.allowed(s, byte_id(0xA0)));
    BOOST_CHECK(g.allowed(s, byte_id(0x95)));
    std::vector<float> logits(258, 1.0f);
    g.mask(s, 10, logits);
    int finite = 0;
    for (size_t id = 0; id < logits.size(); ++id)
        if (logits[id] != -std::numeric_limits<float>::infinity()) {
            ++finite;
            BOOST_CHECK(id >= byte_id(0x80) && id <= byte_id(0x9F));
        }
    BOOST_CHECK_EQUAL(finite, 0x20);
    g.accept(s, byte_id(0x95));
    BOOST_CHECK(s.pending() && g.allowed(s, byte_id(0xBF)) && !g.allowed(s, byte_id(0xC0)));
    g.accept(s, byte_id(0x9C));
    BOOST_CHECK(!s.pending() && g.allowed(s, 0));
    // F0 needs 90..BF next; F4 needs 80..8F.
    g.accept(s, byte_id(0xF0));
    BOOST_CHECK(!g.allowed(s, byte_id(0x8F)) && g.allowed(s, byte_id(0x90)));
    s = {};
    g.accept(s, byte_id(0xF4));
    BOOST_CHECK(g.allowed(s, byte_id(0x8F)) && !g.allowed(s, byte_id(0x90)));

    // The sampler: a hot byte that would break the sequence is never drawn, greedy or sampled.
    troupe::SamplingParams p;
    p.greedy = true;
    p.repetition_penalty = 1.0f;
    ll::Sampler greedy(p, &g);
    at::Tensor t = at::zeros({258});
    t[byte_id(0xEA)] = 10.0f;
    t[byte_id(0xBF)] = 1.0f;
    BOOST_CHECK_EQUAL(greedy.next(t, {}), byte_id(0xEA));
    BOOST_CHECK_EQUAL(greedy.next(t, {}), byte_id(0xBF));  // the argmax (EA) is masked: best continuation
    t[byte_id(0x80)] = 5.0f;
    t[0] = 20.0f;  // EOS while incomplete is masked
    BOOST_CHECK_EQUAL(greedy.next(t, {}), byte_id(0x80));
    BOOST_CHECK(!greedy.utf8_state().pending());
    p.greedy = false;
    p.temperature = 5.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    for (uint64_t seed = 0; seed < 50; ++seed) {
        p.seed = seed;
        ll::Sampler hot(p, &g);
        std::string bytes;
        at::Tensor flat = at::zeros({258});
        for (int step = 0; step < 12; ++step) {
            const int64_t id = hot.next(flat, {}, 12 - step);
            if (id == 0) break;
            bytes += id == 1 ? std::string("a") : std::string(1, static_cast<char>(id - 2));
        }
        BOOST_CHECK_MESSAGE(clean(bytes), "seed " << seed);
    }
}

namespace {
struct Embedded {
    fs::path root = fs::path(TROUPE_SOURCE_DIR);
    ll::Model model = ll::Model::load((root / "models" / "troupe-mini").string());
    ll::Vocab vocab = ll::Vocab::load(root / "models" / "troupe-mini");
    ll::Adapter adapter = ll::Adapter::load((root / "characters" / "bujang" / "adapter").string(), model);
};

class Decoder final : public ll::TokenDecoder {
public:
    explicit Decoder(const ll::Vocab& v) : dec_(v) {}
    std::string push(int64_t id) override { return dec_.push(id); }
    std::string flush() override { return dec_.flush(); }

private:
    ll::IncrementalDecoder dec_;
};

// How many of `seeds` hot generations come out with broken UTF-8.
int broken_lines(const Embedded& e, const ll::Utf8Guard* guard, int seeds) {
    const std::vector<int64_t> prompt = e.vocab.encode("### Instruction:\n회의 준비는 어떻게 돼 가?\n\n### Response:\n");
    int broken = 0;
    for (int seed = 0; seed < seeds; ++seed) {
        ll::GenerateOptions o;
        o.sampling.temperature = 2.0f;
        o.sampling.top_k = 0;
        o.sampling.top_p = 1.0f;
        o.sampling.repetition_penalty = 1.0f;
        o.sampling.max_new_tokens = 12;
        o.sampling.seed = static_cast<uint64_t>(seed);
        o.utf8 = guard;
        Decoder dec(e.vocab);
        std::string streamed;
        const ll::Generation g = ll::generate(e.model, prompt, seed % 4 == 3 ? nullptr : &e.adapter, o, &dec,
                                              [&](const std::string& piece) {
                                                  streamed += piece;
                                                  return true;
                                              });
        const bool ok = clean(g.text) && clean(streamed) && clean(e.vocab.decode(g.ids));
        if (!ok) ++broken;
        if (guard) BOOST_CHECK_MESSAGE(ok, "seed " << seed << ": " << g.text);
    }
    return broken;
}
}  // namespace

BOOST_AUTO_TEST_CASE(embedded_model_hot_sampling_stays_valid_utf8) {
    const Embedded e;
    const ll::Utf8Guard guard = ll::Utf8Guard::for_vocab(e.vocab);
    BOOST_REQUIRE(guard.active());
    // Without the guard about one generation in eight breaks (26 of 200 when this was written).
    const int without = broken_lines(e, nullptr, 80);
    BOOST_TEST_MESSAGE("without the guard " << without << " of 80 hot generations had broken UTF-8");
    BOOST_WARN_GT(without, 0);  // the test provokes the failure the guard prevents
    BOOST_CHECK_EQUAL(broken_lines(e, &guard, 200), 0);
}
