// text_backend.hpp — troupe::TextBackend over troupe_llama: one base model, any number of named
// PEFT adapters chosen per request (or merged copies when adapter.merge = true).
//
// Params (plugin.toml [defaults], troupe.toml, character): model.dir (required), device
// (cpu|cuda|cuda:N), dtype (float32|bfloat16|float16; default from config.json), quantize
// (none|nf4), nf4.double_quant (true), threads (CPU intra-op threads, 0 = LibTorch default),
// adapter.merge (false), add_bos (true), utf8_guard (true: mask byte tokens that would break UTF-8;
// false samples every id as transformers does, e.g. to compare with its reference output).
#pragma once

#include "adapter.hpp"
#include "decode_session.hpp"
#include "model.hpp"
#include "utf8_guard.hpp"
#include "vocab.hpp"

#include <troupe/plugin.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace troupe::llama {

class LlamaTextBackend final : public TextBackend, public BatchTextBackend {
public:
    explicit LlamaTextBackend(const Params& params);
    std::string describe() const noexcept override;
    Status load_adapter(const std::string& name, const std::string& dir) noexcept override;
    Status generate(const TextRequest& request, TextResult& result, TokenSink sink, void* sink_user) noexcept override;
    /// One batch over the base model, each request with its own adapter (llama::generate_batch).
    /// With adapter.merge on, requests are run one by one (merged copies are separate models).
    Status generate_batch(const std::vector<TextRequest>& requests, std::vector<TextResult>& results) noexcept override;

private:
    const Adapter* find_adapter(const std::string& name) const;  // null for ""; throws not_found
    struct Loaded {
        std::string dir;
        std::shared_ptr<Adapter> adapter;
        std::shared_ptr<Model> merged;  // when adapter.merge is on
    };
    Model model_;
    std::unique_ptr<Vocab> vocab_;
    std::unique_ptr<Utf8Guard> utf8_;  // sampled text stays valid UTF-8 (null: utf8_guard = false)
    bool add_bos_ = true;
    bool merge_ = false;
    std::map<std::string, Loaded> adapters_;
    std::map<std::pair<const Model*, const Adapter*>, std::unique_ptr<DecodeSession>> sessions_;  // CUDA only
    std::mutex mutex_;  // one generation at a time; adapters map
};

}  // namespace troupe::llama
