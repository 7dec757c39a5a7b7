// train/s1_export.hpp — S1 weights in upstream's export format, the file s1_train.py's checkpoint
// callback writes and every GPT-SoVITS inference path loads:
//   {"weight": OrderedDict("model.<name>" → fp16 tensor, in named_parameters() order),
//    "config": the training config dict, "info": "GPT-e<epoch>"}
// written as a torch.save zip, atomically (temporary file, then rename).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace troupe::sovits::s1 {
class Text2SemanticDecoderImpl;
struct S1Config;
}

namespace troupe::sovits::train {

/// Writes the model's parameters (half precision) with `config` and `info`.
void export_s1_checkpoint(const std::string& path, const s1::Text2SemanticDecoderImpl& model, const nlohmann::json& config,
                          const std::string& info);

/// `base` (the pretrained checkpoint's config, may be empty) with its model/data/inference entries set
/// from `model` (what the weights are) and `train` merged into its "train" section, as the WebUI
/// writes the config it trains with.
nlohmann::json export_config(const nlohmann::json& base, const s1::S1Config& model, const nlohmann::json& train);

}  // namespace troupe::sovits::train
