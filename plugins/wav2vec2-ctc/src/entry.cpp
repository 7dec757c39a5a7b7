// The wav2vec2-ctc plugin: a troupe::Transcriber over HF Wav2Vec2ForCTC folders.
#include "transcriber.hpp"

#include <troupe/kit/module.hpp>

using Wav2Vec2CtcModule = troupe::kit::SimpleModule<troupe::w2v::Wav2Vec2CtcTranscriber, troupe::PluginKind::transcriber>;
TROUPE_PLUGIN_DEFINE(Wav2Vec2CtcModule)
