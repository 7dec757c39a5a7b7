#!/usr/bin/env python3
"""Makes WavLM speaker-verification conformance fixtures (tests/wavlm-sv) with transformers' WavLMForXVector:
tiny random-weight models of the real architecture (the wavlm-base-plus-sv layout: post-LN encoder, group-norm
conv, gated relative position bias, weighted layer sum, TDNN x-vector head; and a large/stable-LN variant), 16 kHz
inputs and golden outputs: input values, every hidden state, the layer-weighted sum, the TDNN output, the pooled
statistics, the x-vector embeddings, the logits, and the cosine similarities between every pair of inputs.

Needs torch, transformers, safetensors, numpy. Run on the CPU (CUDA hidden).
Usage: make_wavlm_sv_fixtures.py OUT_DIR [--seed N] [--hidden 32] [--layers 2] [--heads 4] [--variant base|stable]
       [--name base]
OUT_DIR/<name>/{model/, audio/*.wav, cases.safetensors, cases.json}
"""
import argparse, os, sys

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMForXVector

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from fixture_common import add_audio_arg, add_common_args, audio_specs, fixture_dirs, make_wave, save_cases, write_wav

torch.set_num_threads(1)


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "masked_spec_embed" in name:
                continue
            if name.endswith("original0") or name.endswith("weight_g"):
                p.copy_(torch.rand(p.shape, generator=g) * 1.5 + 0.5)
            elif p.dim() == 1 and "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif "layer_weights" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "rel_attn_embed" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)


def main():
    p = argparse.ArgumentParser()
    add_common_args(p, "base", 5)
    p.add_argument("--variant", choices=["base", "stable"], default="base")
    p.add_argument("--hidden", type=int, default=32); p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4); p.add_argument("--ffn", type=int, default=48)
    add_audio_arg(p, "0.9:150,1.37:210,0.6:120")
    a = p.parse_args()

    root, md, ad = fixture_dirs(a.out, a.name)
    base = a.variant == "base"
    cfg = WavLMConfig(
        hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=a.heads, intermediate_size=a.ffn,
        conv_dim=[16] * 7, conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2],
        conv_bias=not base, feat_extract_norm="group" if base else "layer", do_stable_layer_norm=not base,
        feat_extract_activation="gelu", hidden_act="gelu", num_conv_pos_embeddings=16 if base else 12,
        num_conv_pos_embedding_groups=4, num_buckets=32 if base else 20, max_bucket_distance=60 if base else 40,
        use_weighted_layer_sum=True, tdnn_dim=[24, 24, 24, 24, 40], tdnn_kernel=[5, 3, 3, 1, 1],
        tdnn_dilation=[1, 2, 3, 1, 1], xvector_output_dim=16, num_labels=3)
    cfg._attn_implementation = "eager"
    torch.manual_seed(a.seed)
    model = WavLMForXVector(cfg).eval()
    randomize(model, a.seed + 1)
    model.save_pretrained(md)
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=not base,
                                  return_attention_mask=True)
    fe.save_pretrained(md)

    rng = np.random.default_rng(a.seed)
    out, cases, embs = {}, [], []
    for i, (sec, f0) in enumerate(audio_specs(a.audio)):
        pcm = make_wave(rng, sec, f0)
        name = f"wave{i}"
        write_wav(os.path.join(ad, name + ".wav"), pcm)
        x = pcm.astype(np.float32) / 32768.0
        iv = fe(x, sampling_rate=16000, return_tensors="pt").input_values.float()
        trace = {}
        hooks = [model.projector.register_forward_hook(lambda m, i_, o: trace.__setitem__("projector", o.detach().clone())),
                 model.tdnn[-1].register_forward_hook(lambda m, i_, o: trace.__setitem__("tdnn", o.detach().clone())),
                 model.feature_extractor.register_forward_hook(
                     lambda m, i_, o: trace.__setitem__("statistics", i_[0].detach().clone()))]
        with torch.no_grad():
            res = model(iv, output_hidden_states=True)
        for h in hooks: h.remove()
        hs = res.hidden_states
        w = F.softmax(model.layer_weights, dim=-1)
        weighted = (torch.stack(hs, dim=1) * w.view(-1, 1, 1)).sum(dim=1)
        tensors = {"input_values": iv[0], "embeddings": res.embeddings[0], "logits": res.logits[0],
                   "weighted_sum": weighted[0], **{k: v[0] for k, v in trace.items()}}
        for j, h in enumerate(hs):
            tensors[f"hidden_state{j}"] = h[0]
        for k, t in tensors.items():
            out[f"{name}.{k}"] = t.contiguous()
        embs.append(res.embeddings[0])
        cases.append(dict(name=name, wav=f"audio/{name}.wav", num_samples=int(pcm.shape[0]),
                          num_frames=int(hs[0].shape[1]), num_hidden_states=len(hs),
                          tensors=sorted(f"{name}.{k}" for k in tensors)))
    e = F.normalize(torch.stack(embs), dim=-1)
    sims = (e @ e.T).tolist()
    pairs = [dict(a=cases[i]["name"], b=cases[j]["name"], cosine=float(F.cosine_similarity(embs[i], embs[j], dim=-1)))
             for i in range(len(embs)) for j in range(i + 1, len(embs))]
    meta = dict(description=f"tiny random-weight WavLMForXVector ({a.variant} layout)",
                transformers=transformers.__version__, torch=torch.__version__, seed=a.seed,
                model_config=cfg.to_dict(), cases=cases, cosine_matrix=sims, pairs=pairs,
                tensors={k: list(t.shape) for k, t in out.items()})
    save_cases(root, out, meta)
    print(a.name, "done", pairs)


if __name__ == "__main__":
    main()
