// The wav2vec2-ctc plugin: a troupe::Transcriber over HF Wav2Vec2ForCTC folders.
#include "transcriber.hpp"

#include <troupe/plugin.hpp>

namespace troupe::w2v {

class Wav2Vec2CtcModule final : public Module {
public:
    PluginKind kind() const noexcept override { return PluginKind::transcriber; }
    Status create(const Params& params, std::shared_ptr<Object>& out) noexcept override {
        return guard([&] { out = std::make_shared<Wav2Vec2CtcTranscriber>(params); });
    }
};

}  // namespace troupe::w2v

TROUPE_PLUGIN_DEFINE(troupe::w2v::Wav2Vec2CtcModule)
