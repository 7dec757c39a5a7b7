// Many adapters in one batch: Model::decode_rows (per-row adapters and positions) against each row
// decoded alone, and generate_batch against generate (identical greedy ids, rows that finish
// independently), on the embedded model with four character adapters and a base-model row.
// TROUPE_TEST_DEVICE=cuda runs both on the GPU.
#define BOOST_TEST_MODULE llama_batch
#include <boost/test/unit_test.hpp>

#include "device.hpp"

#include "adapter.hpp"
#include "generator.hpp"
#include "model.hpp"
#include "vocab.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace ll = troupe::llama;
namespace fs = std::filesystem;

namespace {
struct Embedded {
    fs::path root = fs::path(TROUPE_SOURCE_DIR);
    ll::Model model = ll::Model::load((root / "models" / "troupe-mini").string(), llm_test::test_load_options());
    ll::Vocab vocab = ll::Vocab::load(root / "models" / "troupe-mini");
    std::vector<std::unique_ptr<ll::Adapter>> adapters;
    Embedded() {
        for (const char* c : {"bujang", "daeri", "sinip", "timjang"})
            adapters.push_back(std::make_unique<ll::Adapter>(
                ll::Adapter::load((root / "characters" / c / "adapter").string(), model)));
    }
    // Rows: four adapters, the base model, and the first adapter again; prompts of different lengths.
    std::vector<const ll::Adapter*> row_adapters() const {
        return {adapters[0].get(), adapters[1].get(), nullptr, adapters[2].get(), adapters[3].get(), adapters[0].get()};
    }
    std::vector<std::vector<int64_t>> prompts() const {
        const char* texts[] = {"회의", "### Instruction:\n회의 준비는 어떻게 돼 가?\n\n### Response:\n",
                               "### Instruction:\n점심 뭐 먹을까요?\n\n### Response:\n", "안녕하세요 부장님",
                               "### Instruction:\n오늘 야근해야 하나요? 내일 발표가 있어서요.\n\n### Response:\n", "아"};
        std::vector<std::vector<int64_t>> out;
        for (const char* t : texts) out.push_back(vocab.encode(t));
        return out;
    }
};
}  // namespace

BOOST_AUTO_TEST_CASE(decode_rows_matches_each_row_alone) {
    const Embedded e;
    c10::InferenceMode guard;
    const auto adapters = e.row_adapters();
    const auto prompts = e.prompts();
    const int64_t B = static_cast<int64_t>(prompts.size()), steps = 4;
    int64_t capacity = 0;
    for (const auto& p : prompts) capacity = std::max<int64_t>(capacity, static_cast<int64_t>(p.size()) + steps);
    ll::KVCache batch = e.model.new_cache(B, capacity);
    std::vector<ll::KVCache> alone;
    std::vector<int64_t> next(B), pos(B);
    for (int64_t b = 0; b < B; ++b) {
        ll::KVCache view;
        for (size_t l = 0; l < batch.k.size(); ++l) {
            view.k.push_back(batch.k[l].narrow(0, b, 1));
            view.v.push_back(batch.v[l].narrow(0, b, 1));
        }
        view.capacity = capacity;
        ll::ForwardOptions fo;
        fo.adapter = adapters[b];
        fo.cache = &view;
        fo.last_only = true;
        next[b] = e.model.forward(at::tensor(prompts[b], at::kLong), fo).argmax().item<int64_t>();
        pos[b] = static_cast<int64_t>(prompts[b].size());
        alone.push_back(e.model.new_cache(1, capacity));
        fo.cache = &alone.back();
        e.model.forward(at::tensor(prompts[b], at::kLong), fo);
    }
    for (int64_t s = 0; s < steps; ++s) {
        const at::Tensor out = e.model.decode_rows(at::tensor(next, at::kLong).unsqueeze(1).to(e.model.device()),
                                                   at::tensor(pos, at::kLong).to(e.model.device()), batch, adapters);
        BOOST_REQUIRE_EQUAL(out.size(0), B);
        for (int64_t b = 0; b < B; ++b) {
            ll::ForwardOptions fo;
            fo.adapter = adapters[b];
            fo.cache = &alone[b];
            const at::Tensor ref = e.model.forward(at::tensor(std::vector<int64_t>{next[b]}, at::kLong), fo).view({-1});
            const double diff = (out[b] - ref).abs().max().item<double>();
            BOOST_CHECK_MESSAGE(diff < 1e-4, "row " << b << " step " << s << ": max |Δlogit| " << diff);
            BOOST_CHECK_EQUAL(out[b].argmax().item<int64_t>(), ref.argmax().item<int64_t>());
        }
        for (int64_t b = 0; b < B; ++b) {
            next[b] = out[b].argmax().item<int64_t>();
            ++pos[b];
        }
    }
}

BOOST_AUTO_TEST_CASE(generate_batch_matches_generate) {
    const Embedded e;
    const auto adapters = e.row_adapters();
    const auto prompts = e.prompts();
    std::vector<ll::BatchRow> rows;
    for (size_t b = 0; b < prompts.size(); ++b) {
        ll::BatchRow r;
        r.prompt = prompts[b];
        r.adapter = adapters[b];
        r.options.sampling.greedy = true;
        r.options.sampling.repetition_penalty = 1.0f;
        r.options.sampling.max_new_tokens = 6 + 3 * static_cast<int>(b);  // rows finish at different steps
        if (b == 1) r.options.stop_strings = {"다"};
        rows.push_back(r);
    }
    // Sampled rows too: the same seed gives the same draw alone and in the batch.
    rows[3].options.sampling.greedy = false;
    rows[3].options.sampling.seed = 7;
    struct Dec final : ll::TokenDecoder {
        explicit Dec(const ll::Vocab& v) : d(v) {}
        std::string push(int64_t id) override { return d.push(id); }
        std::string flush() override { return d.flush(); }
        ll::IncrementalDecoder d;
    };
    std::vector<std::unique_ptr<Dec>> decs;
    for (auto& r : rows) {
        decs.push_back(std::make_unique<Dec>(e.vocab));
        r.decoder = decs.back().get();
    }
    const std::vector<ll::Generation> got = ll::generate_batch(e.model, rows);
    BOOST_REQUIRE_EQUAL(got.size(), rows.size());
    for (size_t b = 0; b < rows.size(); ++b) {
        Dec d(e.vocab);
        const ll::Generation ref = ll::generate(e.model, rows[b].prompt, rows[b].adapter, rows[b].options, &d);
        BOOST_CHECK_MESSAGE(got[b].ids == ref.ids, "row " << b);
        BOOST_CHECK_EQUAL(got[b].text, ref.text);
        BOOST_CHECK(got[b].stop == ref.stop);
        BOOST_CHECK_EQUAL(got[b].prompt_tokens, ref.prompt_tokens);
    }
}
