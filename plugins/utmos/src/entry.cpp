// The utmos plugin: a troupe::QualityEstimator with SpeechMOS' UTMOS22 strong learner.
#include "estimator.hpp"

#include <troupe/kit/module.hpp>

using ScorerModule = troupe::kit::SimpleModule<troupe::utmos::UtmosEstimator, troupe::PluginKind::quality_estimator>;
TROUPE_PLUGIN_DEFINE(ScorerModule)
