// Plugin entry points of the speaker-mfcc speaker encoder (a weight-free proxy).
#include "mfcc_encoder.hpp"

namespace troupe::speaker_mfcc {
namespace {

class MfccModule final : public Module {
public:
    PluginKind kind() const noexcept override { return PluginKind::speaker_encoder; }
    Status create(const Params& params, std::shared_ptr<Object>& out) noexcept override {
        return guard([&] { out = std::make_shared<MfccEncoder>(params); });
    }
};

}  // namespace
}  // namespace troupe::speaker_mfcc

TROUPE_PLUGIN_DEFINE(troupe::speaker_mfcc::MfccModule)
