// Plugin entry points of the espeak-ng speech backend.
#include "espeak_voice.hpp"

#include <troupe/kit/module.hpp>

using EspeakModule = troupe::kit::SimpleModule<troupe::espeak::EspeakVoice, troupe::PluginKind::speech_backend>;
TROUPE_PLUGIN_DEFINE(EspeakModule)
