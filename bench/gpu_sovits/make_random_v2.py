#!/usr/bin/env python3
"""Random GPT-SoVITS v2 weights with the FULL upstream configs, written in the user formats, plus the
benchmark inputs. Upstream's own classes build the models (exact state_dict keys, upstream init).

  s1.ckpt     torch.save dict {"weight": OrderedDict("model.*" fp16), "config": s1longer-v2 + the
              keys s1_train adds, "info": "GPT-e15"} (as s1_train.py my_model_ckpt / my_save).
  s2.pth      {"weight": {key: fp16, no enc_q.*}, "config": utils.HParams(s2.json + the keys the
              WebUI's s2 training adds), "info": ...} (as process_ckpt.savee / my_save).
  ref.wav     4 s synthetic voiced reference, 32 kHz mono int16.
  inputs.json prompt codes, prompt phones, one target phone list per segment.

EOS is disabled in the weights, so every decode (Troupe and upstream alike) runs to early_stop_num:
the last layer's norm2 has weight[0] = 0, bias[0] = 4, so hidden[0] == 4 at every position; column 0
of ar_predict_layer is zeroed and the EOS row is -10 * e_0, so the EOS logit is exactly -40 while the
other logits are O(1): EOS is never the argmax nor inside the top-k.

usage: make_random_v2.py OUT_DIR [--segments 4] [--seed 0]
"""
import argparse
import json
import math
import os
import shutil
import struct
import sys
import time
import wave
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import upstream_env  # noqa: E402


def my_save(obj, path):
    # process_ckpt.my_save: torch.save to "<time()>.pth" (the zip's entry prefix), then move.
    import torch
    tmp = "%s.pth" % time.time()
    torch.save(obj, tmp)
    shutil.move(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--segments", type=int, default=4)
    ap.add_argument("--target-phones", type=int, default=40)
    ap.add_argument("--prompt-phones", type=int, default=30)
    ap.add_argument("--prompt-codes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    d = upstream_env.install()
    import torch

    os.makedirs(a.out, exist_ok=True)
    out = os.path.abspath(a.out)
    torch.manual_seed(a.seed)

    # ---- S1 --------------------------------------------------------------------------------
    from AR.models.t2s_model import Text2SemanticDecoder

    config = upstream_env.load_s1_config(d)
    # What s1_train.py / the WebUI's training tab add to the yaml before saving.
    config["train"].update({"if_save_every_weights": True, "if_save_latest": True, "if_dpo": False,
                            "half_weights_save_dir": "GPT_weights_v2", "exp_name": "bench"})
    config["pretrained_s1"] = "GPT_SoVITS/pretrained_models/gsv-v2final-pretrained/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"
    config["train_semantic_path"] = "logs/bench/6-name2semantic.tsv"
    config["train_phoneme_path"] = "logs/bench/2-name2text.txt"
    config["output_dir"] = "logs/bench/logs_s1_v2"
    m = config["model"]
    assert (m["n_layer"], m["hidden_dim"], m["head"], m["phoneme_vocab_size"], m["vocab_size"]) == (24, 512, 16, 732, 1025), m
    s1 = Text2SemanticDecoder(config, norm_first=False, top_k=config["inference"]["top_k"]).eval()
    sd = s1.state_dict()
    last = m["n_layer"] - 1
    eos = m["EOS"]
    with torch.no_grad():
        sd[f"h.layers.{last}.norm2.weight"][0] = 0.0
        sd[f"h.layers.{last}.norm2.bias"][0] = 4.0
        w = sd["ar_predict_layer.weight"]
        w[:, 0] = 0.0
        w[eos] = 0.0
        w[eos, 0] = -10.0
    weight = OrderedDict(("model." + k, v.half()) for k, v in sd.items())
    n1 = sum(v.numel() for k, v in sd.items())
    my_save({"weight": weight, "config": config, "info": "GPT-e15"}, os.path.join(out, "s1.ckpt"))

    # ---- S2 --------------------------------------------------------------------------------
    import utils  # upstream GPT_SoVITS/utils.py (HParams)
    from module.models import SynthesizerTrn

    hp = json.load(open(os.path.join(d, "GPT_SoVITS", "configs", "s2.json")))
    hp["data"]["exp_dir"] = "logs/bench"
    hp["model"]["version"] = "v2"
    hp.update({"save_weight_dir": "SoVITS_weights_v2", "name": "bench", "version": "v2",
               "pretrain": None, "resume_step": None})
    hps = utils.HParams(**hp)
    s2 = SynthesizerTrn(hps.data.filter_length // 2 + 1, hps.train.segment_size // hps.data.hop_length,
                        n_speakers=hps.data.n_speakers, **hps.model).eval()
    with torch.no_grad():
        # Upstream's quantizer init (k-means) leaves the codebook zero until trained; give it rows.
        cb = s2.quantizer.vq.layers[0]._codebook
        cb.embed.normal_()
        cb.embed_avg.copy_(cb.embed)
        cb.inited.fill_(1)
    sd2 = s2.state_dict()
    w2 = {k: v.half() for k, v in sd2.items() if "enc_q" not in k}
    n2 = sum(v.numel() for v in w2.values())
    my_save({"weight": w2, "config": hps, "info": "8epoch_96iteration"}, os.path.join(out, "s2.pth"))

    # ---- inputs ------------------------------------------------------------------------------
    g = torch.Generator().manual_seed(a.seed + 1)
    korean = list(range(324, 353))  # jamo, 停, 空 (symbols_v2 ids)
    def phones(n):
        ids = [korean[i] for i in torch.randint(0, len(korean), (n - 1,), generator=g).tolist()]
        return ids + [3]  # "."
    inputs = {
        "prompt_codes": torch.randint(0, 1024, (a.prompt_codes,), generator=g).tolist(),
        "prompt_phones": phones(a.prompt_phones),
        "segments": [phones(a.target_phones) for _ in range(a.segments)],
        "reference": "ref.wav",
    }
    json.dump(inputs, open(os.path.join(out, "inputs.json"), "w"))
    rate, n = 32000, 4 * 32000
    with wave.open(os.path.join(out, "ref.wav"), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        frames = bytearray()
        for i in range(n):
            t = i / rate
            f0 = 140 + 20 * math.sin(2 * math.pi * 0.5 * t)
            env = 0.5 + 0.5 * math.sin(2 * math.pi * 3 * t) ** 2
            s = sum(math.sin(2 * math.pi * f0 * h * t) / h for h in range(1, 8))
            frames += struct.pack("<h", int(max(-1, min(1, 0.25 * env * s)) * 32767))
        f.writeframes(bytes(frames))
    print(json.dumps({"s1_params": n1, "s2_stored_values": n2, "out": out}))


if __name__ == "__main__":
    main()
