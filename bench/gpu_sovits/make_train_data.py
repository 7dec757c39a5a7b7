#!/usr/bin/env python3
"""Training-benchmark inputs for train_bench.sh, next to make_random_v2.py's weights:

  OUT/data/         a `troupe tts prepare` folder: 2-name2text.txt (v2 Korean phones), 6-name2semantic.tsv
                    (25 Hz codes), 4-cnhubert/<name>.pt (torch.save of a (1, SSL, 2*codes) float tensor,
                    50 Hz as HuBERT gives), 5-wav32k/<name> (32 kHz 16-bit mono, 640 samples per frame).
                    Durations spread over [--min-sec, --max-sec] so the S1 sampler makes several buckets.
  OUT/s2G_train.pth the S2 generator WITH enc_q (what training starts from: upstream's s2G2333k.pth has it),
                    fp16, HParams config — the weights of MODEL/s2.pth plus a seeded enc_q.
  OUT/s2D.pth       a seeded upstream MultiPeriodDiscriminator (v2), fp16 (as s2D2333k.pth).

Every model comes from upstream's own classes (upstream_env.py), so Troupe and upstream start from the
same weights. usage: make_train_data.py MODEL_DIR OUT [--items 48] [--min-sec 2] [--max-sec 8] [--seed 0]
"""
import argparse
import json
import math
import os
import sys
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import upstream_env  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--items", type=int, default=48)
    ap.add_argument("--min-sec", type=float, default=2.0)
    ap.add_argument("--max-sec", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    upstream_env.install()
    import torch
    from text.symbols2 import symbols

    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed + 7)
    data = os.path.join(a.out, "data")
    for sub in ("4-cnhubert", "5-wav32k"):
        os.makedirs(os.path.join(data, sub), exist_ok=True)
    s2 = torch.load(os.path.join(a.model, "s2.pth"), map_location="cpu", weights_only=False)
    hps = s2["config"]
    ssl_dim = s2["weight"]["ssl_proj.weight"].shape[1]
    korean = [i for i, s in enumerate(symbols) if len(s) == 1 and 0x3131 <= ord(s) <= 0x318E]
    assert korean, "no Korean jamo in the v2 symbol table"
    texts, sems = [], ["item_name\tsemantic_audio"]
    for i in range(a.items):
        name = "u%03d.wav" % i
        sec = a.min_sec + (a.max_sec - a.min_sec) * i / max(1, a.items - 1)
        codes = int(sec * 25)
        n_ph = max(4, int(sec * 9))  # 9 phones/s: inside upstream's [3, 25]
        ph = [symbols[korean[j]] for j in torch.randint(0, len(korean), (n_ph,), generator=g).tolist()]
        texts.append("%s\t%s\t%s\t%s" % (name, " ".join(ph), " ".join(["1"] * n_ph), "벤치마크"))
        sems.append("%s\t%s" % (name, " ".join(str(c) for c in torch.randint(0, 1024, (codes,), generator=g).tolist())))
        torch.save(torch.randn(1, ssl_dim, 2 * codes, generator=g), os.path.join(data, "4-cnhubert", name + ".pt"))
        n = 2 * codes * hps.data.hop_length
        t = torch.arange(n, dtype=torch.float64) / hps.data.sampling_rate
        f0 = 110 + 5 * i
        v = 0.3 * torch.sin(2 * math.pi * f0 * t) * (0.6 + 0.4 * torch.sin(2 * math.pi * 2 * t)) + 0.05 * torch.randn(n, generator=g).double()
        pcm = (v.clamp(-1, 1) * 32767).to(torch.int16)
        with wave.open(os.path.join(data, "5-wav32k", name), "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(hps.data.sampling_rate)
            f.writeframes(pcm.numpy().astype("<i2").tobytes())
    open(os.path.join(data, "2-name2text.txt"), "w", encoding="utf-8").write("\n".join(texts) + "\n")
    open(os.path.join(data, "6-name2semantic.tsv"), "w", encoding="utf-8").write("\n".join(sems) + "\n")

    # S2 generator with enc_q, and a discriminator (upstream classes, seeded init)
    from module.models import MultiPeriodDiscriminator, SynthesizerTrn

    net_g = SynthesizerTrn(hps.data.filter_length // 2 + 1, hps.train.segment_size // hps.data.hop_length,
                           n_speakers=hps.data.n_speakers, **hps.model)
    sd = net_g.state_dict()
    for k, v in s2["weight"].items():
        sd[k].copy_(v.float())
    torch.save({"weight": {k: v.half() for k, v in sd.items()}, "config": hps, "info": "pretrained"},
               os.path.join(a.out, "s2G_train.pth"))
    net_d = MultiPeriodDiscriminator(hps.model.use_spectral_norm, version=hps.model.version)
    torch.save({"weight": {k: v.half() for k, v in net_d.state_dict().items()}, "info": "pretrained"},
               os.path.join(a.out, "s2D.pth"))
    print(json.dumps({"items": a.items, "data": data, "g_keys": len(sd), "d_params": sum(v.numel() for v in net_d.state_dict().values())}))


if __name__ == "__main__":
    main()
