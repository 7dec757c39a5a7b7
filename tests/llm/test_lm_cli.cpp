// `troupe lm` end to end on the conformance model: tokenize gives the reference ids, forward writes
// the reference logits, generate --greedy reproduces every reference continuation (ids and text).
#define BOOST_TEST_MODULE lm_cli
#include <boost/test/unit_test.hpp>

#include "fixture.hpp"

#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <cstdio>

using namespace llm_test;
using json = nlohmann::json;

namespace {

std::string quote(const std::string& s) { return "'" + s + "'"; }

// Runs the troupe CLI; returns (exit status, stdout).
std::pair<int, std::string> run_troupe(const std::string& args) {
    const std::string cmd = fmt::format("{}/bin/troupe {} 2>/dev/null", TROUPE_BINARY_DIR, args);
    FILE* p = popen(cmd.c_str(), "r");
    BOOST_REQUIRE(p);
    std::string out;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

BOOST_AUTO_TEST_CASE(generate_tokenize_forward_match_reference) {
    const fs::path fx = fixture_dir();
    const json cases = load_json(fx / "cases.json");
    const fs::path dir = scratch("cli");
    const std::string base = quote((fx / "base").string()), adapter = quote((fx / "adapter").string());
    int n = 0;
    for (const json& p : cases.at("prompts")) {
        const fs::path prompt = dir / fmt::format("prompt{}.txt", n++);
        {
            std::ofstream out(prompt, std::ios::binary);
            out << p.at("text").get<std::string>();
        }
        auto [rc, out] = run_troupe(fmt::format("lm tokenize --model {} --text-file {} --json", base, quote(prompt.string())));
        BOOST_REQUIRE_EQUAL(rc, 0);
        BOOST_CHECK(json::parse(out).at("ids") == p.at("input_ids"));
        for (const char* which : {"greedy_base", "greedy_adapted"}) {
            const json& ref = p.at(which);
            const bool adapted = std::string(which) == "greedy_adapted";
            auto [rc2, out2] = run_troupe(fmt::format("lm generate --model {} {} --prompt-file {} --max-new-tokens {} --greedy --any-bytes --json",
                                                  base, adapted ? "--adapter " + adapter : "", quote(prompt.string()),
                                                  cases.at("generation").at("max_new_tokens").get<int>()));
            BOOST_REQUIRE_EQUAL(rc2, 0);
            const json g = json::parse(out2);
            BOOST_CHECK_MESSAGE(g.at("ids") == ref.at("new_ids"), which << " ids differ: " << g.at("ids").dump());
            BOOST_CHECK_EQUAL(g.at("text").get<std::string>(), ref.at("text").get<std::string>());
            BOOST_CHECK_EQUAL(g.at("stop").get<std::string>(), ref.value("stopped_at_eos", false) ? "eos" : "length");
        }
    }
    // forward: the first prompt's logits, unmerged and merged
    const troupe::st::File tensors = troupe::st::File::open((fx / "cases.safetensors").string());
    const json& p0 = cases.at("prompts").at(0);
    const std::vector<int64_t> ids = p0.at("input_ids").get<std::vector<int64_t>>();
    std::string prefix;
    for (auto& [name, info] : cases.at("tensors").items())
        if (name.size() > 10 && name.substr(name.size() - 10) == ".input_ids") {
            at::Tensor t = tensors.tensor(name).flatten();
            if (std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()) == ids)
                prefix = name.substr(0, name.size() - 10);
        }
    BOOST_REQUIRE(!prefix.empty());
    for (const char* merge : {"", "--merge"}) {
        const fs::path out = dir / "logits.safetensors";
        auto [rc, text] = run_troupe(fmt::format("lm forward --model {} --adapter {} {} --ids {} --out {}", base, adapter, merge,
                                             fmt::join(ids, ","), quote(out.string())));
        BOOST_REQUIRE_EQUAL(rc, 0);
        at::Tensor logits = troupe::st::File::open(out.string()).tensor("logits");
        BOOST_CHECK_EQUAL(logits.dim(), 2);
        at::Tensor ref = tensors.tensor(prefix + ".logits_adapted");
        BOOST_CHECK_LE((logits.flatten() - ref.flatten()).abs().max().item<double>(), 1e-4);
    }
    // bad input is an error exit, not a crash
    auto [rc, out] = run_troupe(fmt::format("lm forward --model {} --ids 1,x --out {}", base, quote((dir / "x").string())));
    BOOST_CHECK_EQUAL(rc, 2);
    auto [rc2, out2] = run_troupe(fmt::format("lm generate --model {} --prompt-file {} --json", quote(dir.string()),
                                          quote((dir / "prompt0.txt").string())));
    BOOST_CHECK(rc2 != 0 && rc2 != -1);
}

BOOST_AUTO_TEST_CASE(bench_reports_throughput) {
    auto [rc, out] = run_troupe("bench lm --prompt-tokens 16 --new-tokens 8 --repeats 1 --json");
    BOOST_REQUIRE_EQUAL(rc, 0);
    const json j = json::parse(out);
    BOOST_CHECK_GT(j.at("prefill_tokens_per_second").get<double>(), 0);
    BOOST_CHECK_GT(j.at("decode_tokens_per_second").get<double>(), 0);
    BOOST_CHECK_GT(j.at("peak_rss_mib").get<double>(), 0);
}

BOOST_AUTO_TEST_CASE(bench_reports_batched_adapters) {
    auto [rc, out] = run_troupe("bench lm --prompt-tokens 16 --new-tokens 8 --repeats 1 --batch 3 --adapters 2 --json");
    BOOST_REQUIRE_EQUAL(rc, 0);
    const json j = json::parse(out);
    BOOST_CHECK_EQUAL(j.at("batch").get<int>(), 3);
    BOOST_CHECK_GT(j.at("batch_decode_tokens_per_second").get<double>(), 0);
    BOOST_CHECK_GT(j.at("batch1_decode_tokens_per_second").get<double>(), 0);
}
