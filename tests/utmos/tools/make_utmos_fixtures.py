#!/usr/bin/env python3
"""Makes UTMOS22 conformance fixtures (tests/utmos) with SpeechMOS' own model code (tarepan/SpeechMOS,
speechmos/utmos22: UTMOS22Strong and its fairseq-style Wav2Vec2Model). The code is not in this repository:
fetch it and put the `speechmos` package in tests/utmos/tools/third_party/ (or pass --speechmos DIR).

The real checkpoint is wav2vec2-base sized (768 wide, 12 layers, 12 heads); the fixture is a tiny random-weight
model built from the same classes with the same structure (7 convs with the base strides, group norm on the
first, post-LN transformer with 12 heads, weight-normed positional conv with 16 groups, domain and judge
embeddings, BLSTM, 2-layer projection), saved as a state dict the way SpeechMOS ships it (torch.save), plus
the same tensors as safetensors. Golden outputs: the SSL output, the BLSTM output, the frame scores and the
utterance score of every input.

Usage: make_utmos_fixtures.py OUT_DIR [--seed N] [--hidden 48] [--layers 2] [--ffn 64] [--name tiny]
OUT_DIR/<name>/{model/utmos22_strong_tiny.pt, model/utmos22_strong_tiny.safetensors, audio/*.wav,
               cases.safetensors, cases.json}
"""
import argparse, os, sys

import numpy as np
import torch
from torch import nn
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from fixture_common import add_audio_arg, add_common_args, audio_specs, fixture_dirs, make_wave, save_cases, write_wav

torch.set_num_threads(1)


def build_tiny(a):
    from speechmos.utmos22.strong.model import UTMOS22Strong
    from speechmos.utmos22 import fairseq_alt as fa

    m = UTMOS22Strong()  # the full-size module, then every size-bearing part replaced by a tiny one
    w2v = m.wav2vec2
    conv = [(a.conv, 10, 5)] + [(a.conv, 3, 2)] * 4 + [(a.conv, 2, 2)] * 2
    w2v.feature_extractor = fa.ConvFeatureExtractionModel(conv_layers=conv)
    w2v.layer_norm = nn.LayerNorm(a.conv)
    w2v.post_extract_proj = nn.Linear(a.conv, a.hidden)
    enc = w2v.encoder
    enc.pos_conv = nn.Sequential(
        nn.utils.weight_norm(nn.Conv1d(a.hidden, a.hidden, kernel_size=a.pos_kernel, padding=a.pos_kernel // 2,
                                       groups=16), name="weight", dim=2),
        fa.SamePad(a.pos_kernel), nn.GELU())
    enc.layer_norm = nn.LayerNorm(a.hidden)
    enc.layers = nn.ModuleList([fa.TransformerSentenceEncoderLayer(
        embedding_dim=a.hidden, ffn_embedding_dim=a.ffn, num_attention_heads=12, activation_fn="gelu", dropout=0.1,
        attention_dropout=0.1, activation_dropout=0.0, layer_norm_first=False) for _ in range(a.layers)])
    w2v.mask_emb = nn.Parameter(torch.zeros(a.hidden))
    m.domain_emb = nn.Parameter(torch.zeros(1, a.emb), requires_grad=False)
    m.judge_emb = nn.Parameter(torch.zeros(1, a.emb), requires_grad=False)
    m.blstm = nn.LSTM(input_size=a.hidden + 2 * a.emb, hidden_size=a.rnn, batch_first=True, bidirectional=True)
    m.projection = nn.Sequential(nn.Linear(2 * a.rnn, a.proj), nn.ReLU(), nn.Linear(a.proj, 1))
    return m.eval()


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight_g"):
                p.copy_(torch.rand(p.shape, generator=g) * 1.5 + 0.5)
            elif p.dim() == 1 and ("norm" in name or "conv_layers.0.2" in name) and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name in ("domain_emb", "judge_emb"):
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)


def main():
    p = argparse.ArgumentParser()
    add_common_args(p, "tiny", 3)
    p.add_argument("--speechmos", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "third_party"))
    p.add_argument("--conv", type=int, default=16); p.add_argument("--hidden", type=int, default=48)
    p.add_argument("--layers", type=int, default=2); p.add_argument("--ffn", type=int, default=64)
    p.add_argument("--pos-kernel", type=int, default=16); p.add_argument("--emb", type=int, default=8)
    p.add_argument("--rnn", type=int, default=16); p.add_argument("--proj", type=int, default=24)
    add_audio_arg(p, "0.8:150,1.31:210,2.05:120")
    a = p.parse_args()
    sys.path.insert(0, a.speechmos)

    root, md, ad = fixture_dirs(a.out, a.name)
    torch.manual_seed(a.seed)
    model = build_tiny(a)
    randomize(model, a.seed + 1)
    sd = model.state_dict()
    torch.save(sd, os.path.join(md, "utmos22_strong_tiny.pt"))
    save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(md, "utmos22_strong_tiny.safetensors"))

    rng = np.random.default_rng(a.seed)
    out, cases = {}, []
    for i, (sec, f0) in enumerate(audio_specs(a.audio)):
        pcm = make_wave(rng, sec, f0)
        name = f"wave{i}"
        write_wav(os.path.join(ad, name + ".wav"), pcm)
        wave_t = torch.from_numpy(pcm.astype(np.float32) / 32768.0).unsqueeze(0)
        trace = {}
        hooks = [model.wav2vec2.register_forward_hook(lambda m, i_, o: trace.__setitem__("ssl", o.detach().clone())),
                 model.wav2vec2.feature_extractor.register_forward_hook(
                     lambda m, i_, o: trace.__setitem__("conv_features", o.detach().clone())),
                 model.blstm.register_forward_hook(lambda m, i_, o: trace.__setitem__("blstm", o[0].detach().clone())),
                 model.projection.register_forward_hook(
                     lambda m, i_, o: trace.__setitem__("frame_scores", o.detach().clone()))]
        with torch.no_grad():
            score = model(wave_t, 16000)
        for h in hooks: h.remove()
        tensors = {"waveform": wave_t[0], "score": score, **{k: v[0] for k, v in trace.items()}}
        for k, t in tensors.items():
            out[f"{name}.{k}"] = t.contiguous()
        cases.append(dict(name=name, wav=f"audio/{name}.wav", num_samples=int(pcm.shape[0]),
                          num_frames=int(trace["ssl"].shape[1]), score=float(score[0]),
                          tensors=sorted(f"{name}.{k}" for k in tensors)))
    meta = dict(description="tiny random-weight UTMOS22Strong (SpeechMOS model code, sizes reduced)",
                torch=torch.__version__, seed=a.seed, sizes={k: v for k, v in vars(a).items() if k not in ('out', 'speechmos')},  # no machine paths
                heads=12, cases=cases,
                state_dict={k: list(v.shape) for k, v in sd.items()},
                tensors={k: list(t.shape) for k, t in out.items()})
    save_cases(root, out, meta)
    print(a.name, "done", [c["score"] for c in cases])


if __name__ == "__main__":
    main()
