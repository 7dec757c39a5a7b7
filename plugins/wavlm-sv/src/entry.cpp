// The wavlm-sv plugin: a troupe::SpeakerEncoder over HF WavLMForXVector folders.
#include "speaker_encoder.hpp"

#include <troupe/kit/module.hpp>

using ScorerModule = troupe::kit::SimpleModule<troupe::wavlm::WavlmSpeakerEncoder, troupe::PluginKind::speaker_encoder>;
TROUPE_PLUGIN_DEFINE(ScorerModule)
