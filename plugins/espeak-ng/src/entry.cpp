// Plugin entry points of the espeak-ng speech backend.
#include "espeak_voice.hpp"

namespace troupe::espeak {
namespace {

class EspeakModule final : public Module {
public:
    PluginKind kind() const noexcept override { return PluginKind::speech_backend; }
    Status create(const Params& params, std::shared_ptr<Object>& out) noexcept override {
        return guard([&] {
            auto it = params.find("language");
            out = std::make_shared<EspeakVoice>(it == params.end() ? "ko" : it->second);
        });
    }
};

}  // namespace
}  // namespace troupe::espeak

TROUPE_PLUGIN_DEFINE(troupe::espeak::EspeakModule)
