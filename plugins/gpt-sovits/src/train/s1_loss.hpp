// train/s1_loss.hpp — the S1 teacher-forced training forward and loss, as upstream's
// Text2SemanticDecoder.forward_old (AR/models/t2s_model.py, if_dpo false):
//
//   x = ar_text_embedding(phonemes) + bert_proj(bert^T) + alpha_text·pe
//   codes = semantic · (1 − pad); targets = [codes, 0] + EOS·[pad, 1]   (B, T+1)
//   y = targets[:, :-1] embedded + alpha_audio·pe
//   attention over [x | y]: text rows see text, audio rows see text and causal audio, and every
//   padded key column is blocked;
//   logits = ar_predict_layer(h[:, N−1:])   (the last text position predicts the first code)
//   loss = cross-entropy SUMMED over all B·(T+1) positions (padded positions, target EOS, included)
//   accuracy = top-3 over the positions whose target is not EOS (torchmetrics micro, ignore EOS).
//
// Quirk kept by default: the text padding mask is make_pad_mask_left (the FIRST N − N_i text columns
// of item i are blocked) although collate pads on the RIGHT, so a shorter item attends to its
// padding and not to its first phonemes. `fix_text_padding_mask` blocks the padded (right) columns.
#pragma once

#include "train/collate.hpp"

#include <ATen/Tensor.h>

namespace troupe::sovits::s1 {
class Text2SemanticDecoderImpl;
}

namespace troupe::sovits::train {

struct S1LossOptions {
    bool fix_text_padding_mask = false;  // opt-in correction of upstream's left mask on right padding
    int64_t top_k = 3;                   // upstream's accuracy metric
};

struct S1LossOutput {
    at::Tensor loss;             // () float32, the summed cross-entropy (backward from this)
    at::Tensor ce_per_position;  // (B, T+1) detached
    at::Tensor targets;          // (B, T+1) int64
    at::Tensor top_hit;          // (B, T+1) bool: target among the top-k logits
    at::Tensor attn_blocked;     // (B, L, L) bool, true = blocked (the same for every head)
    at::Tensor logits;           // (B, T+1, vocab) detached
    double accuracy = 0;         // hits / non-EOS targets (0 when there are none)
};

/// Runs the forward on `batch` (on the model's device) and returns the loss with autograd attached.
S1LossOutput s1_loss(s1::Text2SemanticDecoderImpl& model, const S1Batch& batch, const S1LossOptions& options = {});

/// The (B, N + T, N + T) attention block mask of a batch (true = blocked), as forward_old builds it.
at::Tensor s1_attention_blocked(const at::Tensor& phoneme_ids_len, int64_t N, const at::Tensor& semantic_ids_len, int64_t T,
                                bool fix_text_padding_mask);

}  // namespace troupe::sovits::train
