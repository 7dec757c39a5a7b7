// The wavlm-sv plugin: a troupe::SpeakerEncoder over HF WavLMForXVector folders.
#include "speaker_encoder.hpp"

#include <troupe/plugin.hpp>

namespace troupe::wavlm {

class WavlmSvModule final : public Module {
public:
    PluginKind kind() const noexcept override { return PluginKind::speaker_encoder; }
    Status create(const Params& params, std::shared_ptr<Object>& out) noexcept override {
        return guard([&] { out = std::make_shared<WavlmSpeakerEncoder>(params); });
    }
};

}  // namespace troupe::wavlm

TROUPE_PLUGIN_DEFINE(troupe::wavlm::WavlmSvModule)
