// Plugin entry points of the signal-quality estimator (a failure detector, not a MOS).
#include "signal_quality.hpp"

namespace troupe::signal_quality {
namespace {

class SignalQualityModule final : public Module {
public:
    PluginKind kind() const noexcept override { return PluginKind::quality_estimator; }
    Status create(const Params& params, std::shared_ptr<Object>& out) noexcept override {
        return guard([&] { out = std::make_shared<SignalQuality>(params); });
    }
};

}  // namespace
}  // namespace troupe::signal_quality

TROUPE_PLUGIN_DEFINE(troupe::signal_quality::SignalQualityModule)
