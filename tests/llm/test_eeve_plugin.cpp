// The eeve-lora plugin through the host: greedy generation with and without a named adapter
// reproduces the reference continuations; adapter errors come back as Status values.
#define BOOST_TEST_MODULE eeve_plugin
#include <boost/test/unit_test.hpp>

#include "fixture.hpp"

#include <troupe/host.hpp>
#include <troupe/plugin.hpp>

using namespace llm_test;
using json = nlohmann::json;

namespace {
troupe::HostOptions options() {
    troupe::HostOptions o;
    o.plugin_paths = {std::string(TROUPE_BINARY_DIR) + "/plugins"};
    o.log_level = troupe::LogLevel::warn;
    return o;
}
bool collect(void* user, const std::string& piece) {
    *static_cast<std::string*>(user) += piece;
    return true;
}
}  // namespace

BOOST_AUTO_TEST_CASE(generate_through_the_host) {
    troupe::Host host(options());
    const fs::path fx = fixture_dir();
    // The reference continuations are transformers' (some end in broken byte runs, U+FFFD): no guard.
    auto backend = host.create_as<troupe::TextBackend>(
        "eeve-lora", troupe::PluginKind::text_backend,
        {{"model.dir", (fx / "base").string()}, {"quantize", "none"}, {"utf8_guard", "false"}});
    BOOST_REQUIRE(backend);
    BOOST_CHECK(backend->load_adapter("persona", (fx / "adapter").string()).ok());
    BOOST_CHECK(backend->load_adapter("persona", (fx / "adapter").string()).ok());  // same again: no-op
    const json cases = load_json(fx / "cases.json");
    for (const json& p : cases.at("prompts")) {
        for (const char* which : {"greedy_base", "greedy_adapted"}) {
            troupe::TextRequest req;
            req.prompt = p.at("text").get<std::string>();
            req.adapter = std::string(which) == "greedy_adapted" ? "persona" : "";
            req.sampling.greedy = true;
            req.sampling.repetition_penalty = 1.0f;
            req.sampling.max_new_tokens = cases.at("generation").at("max_new_tokens").get<int>();
            troupe::TextResult res;
            std::string streamed;
            const troupe::Status s = backend->generate(req, res, &collect, &streamed);
            BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
            BOOST_CHECK(json(res.token_ids) == p.at(which).at("new_ids"));
            BOOST_CHECK_EQUAL(res.text, p.at(which).at("text").get<std::string>());
            BOOST_CHECK_EQUAL(streamed, res.text);
            BOOST_CHECK_EQUAL(res.prompt_tokens, static_cast<int>(p.at("input_ids").size()));
        }
    }
    troupe::TextRequest req;
    req.prompt = "### Instruction:\n부장\n\n### Response:\n";
    req.adapter = "nobody";
    troupe::TextResult res;
    troupe::Status s = backend->generate(req, res, nullptr, nullptr);
    BOOST_CHECK(s.code() == troupe::Errc::not_found);
    s = backend->load_adapter("broken", (fx / "base").string());  // a model folder, not an adapter
    BOOST_CHECK(!s.ok());
    BOOST_TEST_MESSAGE(s.message());
    req.adapter.clear();
    req.prompt.clear();
    BOOST_CHECK(backend->generate(req, res, nullptr, nullptr).code() == troupe::Errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(batch_of_adapters_through_the_host) {
    troupe::Host host(options());
    const fs::path fx = fixture_dir();
    auto backend = host.create_as<troupe::TextBackend>("eeve-lora", troupe::PluginKind::text_backend,
                                                       {{"model.dir", (fx / "base").string()}, {"quantize", "none"}});
    BOOST_REQUIRE(backend);
    BOOST_REQUIRE(backend->load_adapter("persona", (fx / "adapter").string()).ok());
    BOOST_CHECK(dynamic_cast<troupe::BatchTextBackend*>(backend.get()) != nullptr);
    const json cases = load_json(fx / "cases.json");
    std::vector<troupe::TextRequest> reqs;
    for (const json& p : cases.at("prompts"))
        for (const char* adapter : {"persona", ""}) {
            troupe::TextRequest req;
            req.prompt = p.at("text").get<std::string>();
            req.adapter = adapter;
            req.sampling.greedy = true;
            req.sampling.repetition_penalty = 1.0f;
            req.sampling.max_new_tokens = 4 + static_cast<int>(reqs.size()) * 3;
            reqs.push_back(req);
        }
    std::vector<troupe::TextResult> batched;
    const troupe::Status s = troupe::generate_batch(*backend, reqs, batched);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
    BOOST_REQUIRE_EQUAL(batched.size(), reqs.size());
    for (size_t i = 0; i < reqs.size(); ++i) {
        troupe::TextResult alone;
        BOOST_REQUIRE(backend->generate(reqs[i], alone, nullptr, nullptr).ok());
        BOOST_CHECK_MESSAGE(alone.token_ids == batched[i].token_ids, "request " << i);
        BOOST_CHECK_EQUAL(alone.text, batched[i].text);
    }
    reqs[0].adapter = "nobody";
    BOOST_CHECK(troupe::generate_batch(*backend, reqs, batched).code() == troupe::Errc::not_found);
}

BOOST_AUTO_TEST_CASE(missing_model_dir_is_an_error) {
    troupe::Host host(options());
    BOOST_CHECK_THROW(host.create_as<troupe::TextBackend>("eeve-lora", troupe::PluginKind::text_backend,
                                                          {{"model.dir", "/nonexistent/model"}}),
                      troupe::Error);
}
