// Plugin entry points of the signal-quality estimator (a failure detector, not a MOS).
#include "signal_quality.hpp"

#include <troupe/kit/module.hpp>

using SignalQualityModule =
    troupe::kit::SimpleModule<troupe::signal_quality::SignalQuality, troupe::PluginKind::quality_estimator>;
TROUPE_PLUGIN_DEFINE(SignalQualityModule)
