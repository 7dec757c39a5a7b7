"""Loads an S1 checkpoint exported by `troupe train s1` the way upstream's inference does
(torch.load(..., weights_only=False) -> config["data"]["max_sec"], Text2SemanticDecoder(config)
.load_state_dict(weight) strictly, after the Lightning "model." prefix) and with torch.load's
weights_only unpickler, then runs upstream's teacher-forced training forward (forward_old) on the
batches of the gpt-sovits-train fixture and prints loss / top-3 accuracy / logits checksum as JSON,
so they can be compared with Troupe's numbers for the same file (test_s1_train_conformance prints
the ones it computes).

usage: python3 bench/gpu_sovits/s1_crossload.py CKPT [--fixture DIR] [--device cuda] [--load-only]
  upstream code from .gpu/upstream (bench/gpu_sovits/fetch-upstream.sh) or $SOVITS_UPSTREAM.
"""
import argparse
import json
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import upstream_env  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dt = {"F32": torch.float32, "F16": torch.float16, "I64": torch.int64, "BOOL": torch.bool}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:e]), dtype=dt[v["dtype"]]) if e > b else torch.empty(0, dtype=dt[v["dtype"]])
        out[k] = t.reshape(v["shape"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("--fixture", default=os.path.join(upstream_env.ROOT, "..", "shared", "conformance", "gpt-sovits-train"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--load-only", action="store_true", help="stop after the strict load (torch 1.13: its MHA lacks what forward_old needs)")
    a = ap.parse_args()
    upstream_env.install()
    import torch.nn.functional as F
    if torch.__version__.startswith("1."):  # torch 1.13 (the dev machine's CPU check): the two helpers the training MHA path uses
        def _none_or_dtype(x):
            return None if x is None else x.dtype

        def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
            if mask is not None and mask.dtype == torch.bool:
                mask = torch.zeros_like(mask, dtype=target_type).masked_fill_(mask, float("-inf"))
            return mask

        F._none_or_dtype, F._canonical_mask = _none_or_dtype, _canonical_mask
    from AR.models.t2s_model import Text2SemanticDecoder

    has_wo = "weights_only" in torch.load.__code__.co_varnames
    try:  # torch.load's restricted unpickler (1.13's lacks BINFLOAT: upstream's own files fail there too)
        torch.load(a.ckpt, map_location="cpu", weights_only=True)
        safe = "ok"
    except Exception as e:  # noqa: BLE001
        safe = "failed: %s" % str(e).splitlines()[-1][-80:] if has_wo else "n/a"
    d = torch.load(a.ckpt, map_location="cpu", **({"weights_only": False} if has_wo else {}))
    config = d["config"]
    max_sec = config["data"]["max_sec"]
    weight = d["weight"]
    assert all(k.startswith("model.") for k in weight), "keys without the Lightning model. prefix"
    model = Text2SemanticDecoder(config=config, top_k=3)
    model.load_state_dict({k[len("model."):]: v for k, v in weight.items()}, strict=True)
    model = model.float().to(a.device).train()
    for m in model.modules():  # the fixture's recorded steps run with every dropout off
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
        if hasattr(m, "dropout") and isinstance(getattr(m, "dropout"), float):
            m.dropout = 0.0
    res = {"ckpt": a.ckpt, "info": d.get("info"), "max_sec": max_sec, "weights_only_load": safe,
           "strict_load": "ok", "dtypes": sorted({str(v.dtype) for v in weight.values()}),
           "parameters": sum(v.numel() for v in weight.values()), "batches": []}
    if a.load_only:
        print(json.dumps(res, indent=1))
        return

    class Top3(torch.nn.Module):  # torchmetrics MulticlassAccuracy(top_k=3, micro, ignore_index=EOS)
        def forward(self, logits, targets):
            hit = (logits.topk(3, dim=1).indices == targets.unsqueeze(1)).any(1)
            valid = targets != model.EOS
            return (hit & valid).sum().float() / valid.sum().clamp(min=1).float()

    model.ar_accuracy_metric = Top3()
    cases = json.load(open(os.path.join(a.fixture, "cases.json")))["s1"]
    with torch.no_grad():
        for b in cases["batches"]:
            t = read_safetensors(os.path.join(a.fixture, b["file"]))
            B, N = t["phoneme_ids"].shape
            bert = torch.zeros(B, 1024, N)
            for i in b.get("bert_items", []):
                f = t["bert_feature_item%d" % i].float()
                bert[i, :, : f.shape[1]] = f
            loss, acc = model.forward_old(t["phoneme_ids"].to(a.device), t["phoneme_ids_len"].to(a.device),
                                          t["semantic_ids"].to(a.device), t["semantic_ids_len"].to(a.device),
                                          bert.to(a.device))
            res["batches"].append({"file": b["file"], "loss": float(loss), "top_3_acc": float(acc)})
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
