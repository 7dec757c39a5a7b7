// train/s2_export.hpp — the SoVITS weights file upstream's process_ckpt.savee writes after every
// saved epoch of s2_train.py, and that every GPT-SoVITS inference path (upstream's and Troupe's S2
// loader) reads:
//   OrderedDict{"weight": {state_dict key → fp16 tensor, enc_q.* left out},
//               "config": utils.HParams(hps) (nested HParams for data/model/train),
//               "info": "<epoch>epoch_<steps>iteration"}
// as a torch.save zip, written atomically (temporary file, then rename).
#pragma once

#include <troupe/torch/torch_save.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace troupe::sovits::s2 {
class SynthesizerImpl;
}

namespace troupe::sovits::train {

/// Writes `g`'s state dict (parameters and buffers in PyTorch's state_dict order, minus enc_q.*) in
/// half precision with `hps` as an HParams config and the info string.
void export_s2_weights(const std::string& path, const s2::SynthesizerImpl& g, const nlohmann::json& hps, int64_t epoch,
                       int64_t steps);

/// A JSON object as upstream's utils.HParams: objects become nested HParams, the rest plain values.
pt::SaveValue hparams_value(const nlohmann::json& hps);

}  // namespace troupe::sovits::train
