// Plugin entry points of the speaker-mfcc speaker encoder (a weight-free proxy).
#include "mfcc_encoder.hpp"

#include <troupe/kit/module.hpp>

using MfccModule = troupe::kit::SimpleModule<troupe::speaker_mfcc::MfccEncoder, troupe::PluginKind::speaker_encoder>;
TROUPE_PLUGIN_DEFINE(MfccModule)
