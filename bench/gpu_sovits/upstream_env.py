"""Puts the extracted upstream GPT-SoVITS code (.gpu/upstream/GPT_SoVITS, see fetch-upstream.sh) on
sys.path and stubs the third-party modules that S1/S2 *inference* never uses (training metrics, the
v3 DiT, librosa's mel filters, einops when absent). Upstream files are never edited.
"""
import math
import os
import sys
import types
from typing import Optional

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def upstream_dir():
    d = os.environ.get("SOVITS_UPSTREAM", os.path.join(ROOT, ".gpu", "upstream"))
    code = os.path.join(d, "GPT_SoVITS")
    if not os.path.isdir(os.path.join(code, "AR")):
        sys.exit(f"no upstream code in {d}: run bench/gpu_sovits/fetch-upstream.sh on the dev machine")
    return d


def _sdpa_formula(q: "torch.Tensor", k: "torch.Tensor", v: "torch.Tensor",
                  attn_mask: "Optional[torch.Tensor]" = None) -> "torch.Tensor":
    # Bool masks only (True = attend), as upstream's inference calls use; TorchScript-compatible.
    s = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(float(q.size(-1)))
    if attn_mask is not None:
        s = s.masked_fill(attn_mask.logical_not(), float("-inf"))
    return torch.matmul(torch.softmax(s, -1), v)


def _module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def _have(name):
    try:
        __import__(name)
        return True
    except Exception:
        return False


def install():
    d = upstream_dir()
    code = os.path.join(d, "GPT_SoVITS")
    if code not in sys.path:
        sys.path.insert(0, code)
    import torch
    import torch.nn.functional as F

    # Older PyTorch (Debian's 1.13, for CPU runs on the dev machine): the training-only MHA patch
    # imports private helpers that appeared later, and inference calls F.scaled_dot_product_attention
    # (2.0+), given here by its plain formula. Never used with the GPU machine's PyTorch 2.x.
    for name in ("_canonical_mask", "_none_or_dtype"):
        if not hasattr(F, name):
            setattr(F, name, lambda *a, **k: (_ for _ in ()).throw(RuntimeError("training-only path")))
    if not hasattr(F, "scaled_dot_product_attention"):
        F.scaled_dot_product_attention = _sdpa_formula

    # torchmetrics: Text2SemanticDecoder builds a MulticlassAccuracy for the training loss only
    # (its state is not in the state_dict).
    if not _have("torchmetrics"):
        class MulticlassAccuracy(torch.nn.Module):
            def __init__(self, *a, **k):
                super().__init__()

        _module("torchmetrics")
        _module("torchmetrics.classification", MulticlassAccuracy=MulticlassAccuracy)
    # tqdm: upstream wraps the decode loop in tqdm(range(1500)).
    if not _have("tqdm"):
        def tqdm(it=None, *a, **k):
            return it
        tqdm.write = lambda s, *a, **k: print(s, file=sys.stderr)
        _module("tqdm", tqdm=tqdm)
    # f5_tts (the v3/v4 CFM DiT) is imported by module/models.py but unused by v2.
    class DiT(torch.nn.Module):
        def __init__(self, *a, **k):
            raise RuntimeError("DiT (v3/v4) is not part of this benchmark")

    _module("f5_tts")
    _module("f5_tts.model", DiT=DiT)
    # librosa: mel filters (mel_processing) and audio loading (utils) — neither is used here.
    if not _have("librosa"):
        def _no(*a, **k):
            raise RuntimeError("librosa is stubbed in this benchmark")
        lib = _module("librosa", load=_no)
        lib.filters = _module("librosa.filters", mel=_no)
    # einops: core_vq rearranges (b d n) <-> (b n d) and flattens (... d).
    if not _have("einops"):
        def rearrange(x, pattern, **k):
            p = " ".join(pattern.split())
            if p in ("b d n -> b n d", "b n d -> b d n"):
                return x.transpose(1, 2)
            if p == "... d -> (...) d":
                return x.reshape(-1, x.shape[-1])
            raise NotImplementedError(pattern)

        def repeat(*a, **k):
            raise NotImplementedError("einops.repeat is stubbed (k-means init only)")

        _module("einops", rearrange=rearrange, repeat=repeat)
    if not _have("packaging"):
        class _V(tuple):
            def __new__(cls, s):
                return tuple.__new__(cls, tuple(int(p) for p in s.split("+")[0].split(".")[:3] if p.isdigit()))

        _module("packaging")
        _module("packaging.version", parse=_V, Version=_V)
        sys.modules["packaging"].version = sys.modules["packaging.version"]
    return d


def load_s1_config(d):
    import json
    j = os.path.join(d, "s1longer-v2.json")
    if os.path.exists(j):
        return json.load(open(j))
    import yaml
    return yaml.safe_load(open(os.path.join(d, "GPT_SoVITS", "configs", "s1longer-v2.yaml")))
