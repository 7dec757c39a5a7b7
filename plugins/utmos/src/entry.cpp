// The utmos plugin: a troupe::QualityEstimator with SpeechMOS' UTMOS22 strong learner.
#include "estimator.hpp"

#include <troupe/plugin.hpp>

namespace troupe::utmos {

class UtmosModule final : public Module {
public:
    PluginKind kind() const noexcept override { return PluginKind::quality_estimator; }
    Status create(const Params& params, std::shared_ptr<Object>& out) noexcept override {
        return guard([&] { out = std::make_shared<UtmosEstimator>(params); });
    }
};

}  // namespace troupe::utmos

TROUPE_PLUGIN_DEFINE(troupe::utmos::UtmosModule)
