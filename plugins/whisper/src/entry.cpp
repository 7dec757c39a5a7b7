// The whisper plugin: a troupe::Transcriber over HF WhisperForConditionalGeneration folders.
#include "transcriber.hpp"

#include <troupe/plugin.hpp>

namespace troupe::whisper {

class WhisperModule final : public Module {
public:
    PluginKind kind() const noexcept override { return PluginKind::transcriber; }
    Status create(const Params& params, std::shared_ptr<Object>& out) noexcept override {
        return guard([&] { out = std::make_shared<WhisperTranscriber>(params); });
    }
};

}  // namespace troupe::whisper

TROUPE_PLUGIN_DEFINE(troupe::whisper::WhisperModule)
