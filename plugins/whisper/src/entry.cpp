// The whisper plugin: a troupe::Transcriber over HF WhisperForConditionalGeneration folders.
#include "transcriber.hpp"

#include <troupe/kit/module.hpp>

using ScorerModule = troupe::kit::SimpleModule<troupe::whisper::WhisperTranscriber, troupe::PluginKind::transcriber>;
TROUPE_PLUGIN_DEFINE(ScorerModule)
