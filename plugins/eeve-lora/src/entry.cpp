// The eeve-lora plugin: a troupe::TextBackend for Hugging Face Llama-architecture checkpoints with
// PEFT LoRA adapters (see text_backend.hpp for its parameters).
#include "text_backend.hpp"

#include <troupe/plugin.hpp>

namespace troupe::llama {

class EeveLoraModule final : public Module {
public:
    PluginKind kind() const noexcept override { return PluginKind::text_backend; }
    Status create(const Params& params, std::shared_ptr<Object>& out) noexcept override {
        return guard([&] { out = std::make_shared<LlamaTextBackend>(params); });
    }
};

}  // namespace troupe::llama

TROUPE_PLUGIN_DEFINE(troupe::llama::EeveLoraModule)
