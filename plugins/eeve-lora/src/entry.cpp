// The eeve-lora plugin: a troupe::TextBackend for Hugging Face Llama-architecture checkpoints with
// PEFT LoRA adapters (see text_backend.hpp for its parameters). Its commands are in cli/commands.cpp.
#include "text_backend.hpp"

#include <troupe/kit/module.hpp>

using EeveLoraModule = troupe::kit::SimpleModule<troupe::llama::LlamaTextBackend, troupe::PluginKind::text_backend>;
TROUPE_PLUGIN_DEFINE(EeveLoraModule)
