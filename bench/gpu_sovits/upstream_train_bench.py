#!/usr/bin/env python3
"""Upstream GPT-SoVITS v2 fine-tuning steps, timed (the counterpart of train_bench.cpp). Prints one JSON line.

No Lightning: the driver reproduces what s1_train.py's Lightning loop runs per micro-batch
(Text2SemanticLightningModule.training_step: forward_old, manual_backward, ScaledAdam + the locked
WarmupCosineLRSchedule stepping when batch_idx > 0 and batch_idx % 4 == 0) and what s2_train.py's
train_and_evaluate runs per batch (D step, G step, same losses, AdamW in its param groups), importing
upstream's own modules: the model, dataset + bucket sampler + collate, ScaledAdam, the schedule,
SynthesizerTrn / MultiPeriodDiscriminator, mel_processing, losses, module/data_utils' loader, sampler
and collate. Differences, all in upstream's favour: no Lightning/DDP overhead, DataLoader without
workers but batches prefetched only as needed, losses read to the host once at the end.

  upstream_train_bench.py s1 --data DIR --pretrained S1.ckpt [--device cuda] [--batch 8] [--steps 12]
                          [--warmup 2] [--dropout 0.1] [--amp] [--first-loss]
  upstream_train_bench.py s2 --data DIR --pretrained S2G.pth --pretrained-d S2D.pth [--device cuda]
                          [--batch 4] [--steps 12] [--warmup 2] [--amp]
  upstream_train_bench.py s2-load --pretrained TROUPE_EXPORT.pth   (the inference load of a Troupe S2 export)

--amp: fp16 autocast + GradScaler (the WebUI's choice on GPUs: S1 precision 16-mixed, S2 fp16_run).
--first-loss: the loss of the first micro-batch only (cross-load: --pretrained a Troupe export, dropout 0).
"""
import argparse
import json
import math
import os
import sys
import time
import types
import wave
from typing import Optional

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import upstream_env  # noqa: E402

os.environ.setdefault("version", "v2")


def stubs():
    import numpy as np
    import torch
    import torch.nn.functional as F

    def mod(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    if not upstream_env._have("pandas"):  # AR/data/dataset.py: pd.read_csv(tsv).iloc[i, j] only
        class _DF:
            def __init__(self, rows):
                self.rows = rows
                self.iloc = self

            def __getitem__(self, ij):
                return self.rows[ij[0]][ij[1]]

            def __len__(self):
                return len(self.rows)

        def read_csv(path, delimiter="\t", encoding="utf-8"):
            lines = open(path, encoding=encoding).read().strip("\n").split("\n")[1:]
            return _DF([ln.split(delimiter) for ln in lines])

        mod("pandas", read_csv=read_csv)
    if not upstream_env._have("matplotlib"):  # AR/modules/lr_schedulers.py imports pyplot (plots only)
        mod("matplotlib")
        sys.modules["matplotlib"].pyplot = mod("matplotlib.pyplot")

    def load_audio(path, sr):  # tools/my_utils.load_audio (ffmpeg): float32 samples in [-1, 1]
        with wave.open(path) as f:
            assert f.getframerate() == sr and f.getsampwidth() == 2 and f.getnchannels() == 1, path
            return np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float32) / 32768.0

    mod("tools")
    sys.modules["tools"].my_utils = mod("tools.my_utils", load_audio=load_audio)
    lib = sys.modules.get("librosa")
    if lib is not None and getattr(lib, "__file__", None) is None:  # upstream_env's stub: the mel losses need a filter bank
        lib.filters.mel = slaney_mel
    if torch.__version__.startswith("1."):  # Debian 1.13 (CPU check here): helpers the training MHA path uses
        F._none_or_dtype = lambda x: None if x is None else x.dtype

        def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
            if mask is not None and mask.dtype == torch.bool:
                mask = torch.zeros_like(mask, dtype=target_type).masked_fill_(mask, float("-inf"))
            return mask

        F._canonical_mask = _canonical_mask
        packed = F._in_projection_packed  # 1.13 returns chunks (views) that the patched MHA then .view()s

        def _in_projection_packed(*args, **kw):
            return tuple(t.contiguous() for t in packed(*args, **kw))

        F._in_projection_packed = _in_projection_packed

        F.scaled_dot_product_attention = _sdpa_train


def _sdpa_train(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attn_mask: Optional[torch.Tensor] = None,
                dropout_p: float = 0.0, is_causal: bool = False) -> torch.Tensor:
    """F.scaled_dot_product_attention (PyTorch 2.0+) for the 1.13 CPU check: bool (True = attend) or additive masks."""
    s = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(float(q.size(-1)))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            s = s.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            s = s + attn_mask
    return torch.matmul(torch.nn.functional.dropout(torch.softmax(s, -1), dropout_p), v)


def slaney_mel(sr, n_fft, n_mels=128, fmin=0.0, fmax=None, **_):
    """librosa.filters.mel (htk=False, norm='slaney'), for machines without librosa."""
    import numpy as np
    fmax = fmax if fmax is not None else sr / 2.0

    def hz_to_mel(f):
        f = np.asanyarray(f, dtype=np.float64)
        lin = f / (200.0 / 3)
        log_t = f >= 1000.0
        return np.where(log_t, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), lin)

    def mel_to_hz(m):
        m = np.asanyarray(m, dtype=np.float64)
        lin = (200.0 / 3) * m
        return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), lin)

    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, len(fftfreqs)))
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2: n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


def amp_ctx(a, dev):
    import contextlib
    import torch
    return torch.autocast(dev.type, dtype=torch.float16) if a.amp else contextlib.nullcontext()


def amp_off(a, dev):
    import contextlib
    import torch
    return torch.autocast(dev.type, enabled=False) if a.amp else contextlib.nullcontext()


def grad_scaler(dev, enabled):
    import torch
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler(dev.type, enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)


class Clock:
    def __init__(self, dev):
        self.dev, self.at = dev, {}

    def mark(self, steps):
        import torch
        if steps not in self.at:
            if self.dev.type == "cuda":
                torch.cuda.synchronize(self.dev)
            self.at[steps] = time.time()

    def rate(self, warm, last):
        return (last - warm) / (self.at[last] - self.at[warm]) if warm in self.at and last in self.at and last > warm else 0.0


def vram(dev):
    import torch
    return torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else 0.0


def s1(a):
    import torch
    from AR.data.bucket_sampler import DistributedBucketSampler
    from AR.data.dataset import Text2SemanticDataset
    from AR.models.t2s_model import Text2SemanticDecoder
    from AR.modules.lr_schedulers import WarmupCosineLRSchedule
    from AR.modules.optim import ScaledAdam

    dev = torch.device(a.device)
    torch.set_float32_matmul_precision("high")  # s1_train.py
    torch.manual_seed(1234)
    ck = torch.load(a.pretrained, map_location="cpu", **({"weights_only": False} if "weights_only" in torch.load.__code__.co_varnames else {}))
    config = ck["config"]
    model = Text2SemanticDecoder(config=config, top_k=3)
    # Text2SemanticLightningModule.load_state_dict(ckpt["weight"]) of "model."-prefixed keys (strict)
    model.load_state_dict({k[len("model."):]: v for k, v in ck["weight"].items()}, strict=True)
    if type(model.ar_accuracy_metric).forward is torch.nn.Module.forward:  # upstream_env's torchmetrics stub
        class Top3(torch.nn.Module):  # MulticlassAccuracy(top_k=3, average="micro", ignore_index=EOS)
            def forward(self, logits, targets):
                hit = (logits.topk(3, dim=1).indices == targets.unsqueeze(1)).any(1)
                valid = targets != model.EOS
                return (hit & valid).sum().float() / valid.sum().clamp(min=1).float()

        model.ar_accuracy_metric = Top3()
    model = model.float().to(dev).train()
    if a.dropout != 0.1:
        for m in model.modules():
            if isinstance(m, torch.nn.Dropout):
                m.p = a.dropout
            if hasattr(m, "dropout") and isinstance(getattr(m, "dropout"), float):
                m.dropout = a.dropout
    opt = ScaledAdam(model.parameters(), lr=0.01, betas=(0.9, 0.95), clipping_scale=2.0,
                     parameters_names=[[n for n, _ in model.named_parameters()]], show_dominant_parameters=False,
                     clipping_update_period=1000)
    o = config["optimizer"]
    sched = WarmupCosineLRSchedule(opt, init_lr=o["lr_init"], peak_lr=o["lr"], end_lr=o["lr_end"],
                                   warmup_steps=o["warmup_steps"], total_steps=o["decay_steps"])
    ds = Text2SemanticDataset(phoneme_path=os.path.join(a.data, "2-name2text.txt"),
                              semantic_path=os.path.join(a.data, "6-name2semantic.tsv"),
                              max_sec=config["data"]["max_sec"], pad_val=config["data"]["pad_val"])
    bs = max(min(a.batch, len(ds) // 4), 1)  # AR/data/data_module.py
    sampler = DistributedBucketSampler(ds, num_replicas=1, rank=0, batch_size=bs)
    loader = torch.utils.data.DataLoader(ds, batch_size=bs, sampler=sampler, collate_fn=ds.collate, num_workers=0)
    scaler = grad_scaler(dev, True) if a.amp else None
    clock, losses, steps, epoch = Clock(dev), [], 0, 0
    torch.cuda.reset_peak_memory_stats(dev) if dev.type == "cuda" else None
    t0 = time.time()
    target = 1 if a.first_loss else a.steps
    while steps < target:
        sampler.set_epoch(epoch)  # Lightning sets the sampler's epoch
        for batch_idx, b in enumerate(loader):
            with amp_ctx(a, dev):
                loss, acc = model.forward_old(b["phoneme_ids"].to(dev), b["phoneme_ids_len"].to(dev), b["semantic_ids"].to(dev),
                                              b["semantic_ids_len"].to(dev), b["bert_feature"].to(dev))
            losses.append(loss.detach())
            if a.first_loss:
                steps = target
                break
            (scaler.scale(loss) if scaler else loss).backward()
            if batch_idx > 0 and batch_idx % 4 == 0:
                if scaler:
                    scaler.step(opt)
                    scaler.update()
                else:
                    opt.step()
                opt.zero_grad()
                sched.step()
                steps += 1
                clock.mark(steps)
                if steps >= target:
                    break
        epoch += 1
    res = {"impl": "upstream", "stage": "s1", "device": a.device, "dtype": "fp16-autocast" if a.amp else "float32",
           "batch": bs, "steps": steps, "losses": [float(x) for x in losses], "wall_s": time.time() - t0,
           "peak_vram_mib": vram(dev), "torch": torch.__version__}
    if not a.first_loss:
        res.update(timed_steps=a.steps - a.warmup, steps_per_s=clock.rate(a.warmup, a.steps))
    return res


def s2(a):
    import torch
    import torch.nn.functional as F
    from module import commons
    from module.data_utils import DistributedBucketSampler, TextAudioSpeakerCollate, TextAudioSpeakerLoader
    from module.losses import discriminator_loss, feature_loss, generator_loss, kl_loss
    from module.mel_processing import mel_spectrogram_torch, spec_to_mel_torch
    from module.models import MultiPeriodDiscriminator, SynthesizerTrn

    dev = torch.device(a.device)
    torch.manual_seed(1234)
    wo = {"weights_only": False} if "weights_only" in torch.load.__code__.co_varnames else {}
    ck = torch.load(a.pretrained, map_location="cpu", **wo)
    hps = ck["config"]
    hps.data.exp_dir = a.data
    ds = TextAudioSpeakerLoader(hps.data, version=hps.model.version)
    sampler = DistributedBucketSampler(ds, a.batch, [32, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400,
                                                     1500, 1600, 1700, 1800, 1900], num_replicas=1, rank=0, shuffle=True)
    loader = torch.utils.data.DataLoader(ds, num_workers=0, shuffle=False, collate_fn=TextAudioSpeakerCollate(version=hps.model.version),
                                         batch_sampler=sampler)
    net_g = SynthesizerTrn(hps.data.filter_length // 2 + 1, hps.train.segment_size // hps.data.hop_length,
                           n_speakers=hps.data.n_speakers, **hps.model).to(dev)
    net_d = MultiPeriodDiscriminator(hps.model.use_spectral_norm, version=hps.model.version).to(dev)
    print(net_g.load_state_dict(ck["weight"], strict=False), file=sys.stderr)
    net_d.load_state_dict(torch.load(a.pretrained_d, map_location="cpu", **wo)["weight"])
    te_p = list(map(id, net_g.enc_p.text_embedding.parameters()))
    et_p = list(map(id, net_g.enc_p.encoder_text.parameters()))
    mrte_p = list(map(id, net_g.enc_p.mrte.parameters()))
    base = filter(lambda p: id(p) not in te_p + et_p + mrte_p and p.requires_grad, net_g.parameters())
    lr, low = hps.train.learning_rate, hps.train.learning_rate * hps.train.text_low_lr_rate
    optim_g = torch.optim.AdamW([{"params": base, "lr": lr}, {"params": net_g.enc_p.text_embedding.parameters(), "lr": low},
                                 {"params": net_g.enc_p.encoder_text.parameters(), "lr": low},
                                 {"params": net_g.enc_p.mrte.parameters(), "lr": low}], lr, betas=hps.train.betas, eps=hps.train.eps)
    optim_d = torch.optim.AdamW(net_d.parameters(), lr, betas=hps.train.betas, eps=hps.train.eps)
    sg = torch.optim.lr_scheduler.ExponentialLR(optim_g, gamma=hps.train.lr_decay, last_epoch=-1)
    sd = torch.optim.lr_scheduler.ExponentialLR(optim_d, gamma=hps.train.lr_decay, last_epoch=-1)
    sg.step()
    sd.step()  # s2_train.py: `for _ in range(epoch_str)` before the first epoch
    scaler = grad_scaler(dev, a.amp)
    net_g.train()
    net_d.train()
    clock, lg, ld, steps, epoch = Clock(dev), [], [], 0, 1
    torch.cuda.reset_peak_memory_stats(dev) if dev.type == "cuda" else None
    t0 = time.time()
    d = hps.data
    while steps < a.steps:
        sampler.set_epoch(epoch)
        for ssl, ssl_lengths, spec, spec_lengths, y, y_lengths, text, text_lengths in loader:
            spec, spec_lengths, y, y_lengths = spec.to(dev), spec_lengths.to(dev), y.to(dev), y_lengths.to(dev)
            ssl = ssl.to(dev)
            ssl.requires_grad = False
            text, text_lengths = text.to(dev), text_lengths.to(dev)
            with amp_ctx(a, dev):
                y_hat, kl_ssl, ids_slice, x_mask, z_mask, (z, z_p, m_p, logs_p, m_q, logs_q), _ = net_g(ssl, spec, spec_lengths, text, text_lengths)
                mel = spec_to_mel_torch(spec, d.filter_length, d.n_mel_channels, d.sampling_rate, d.mel_fmin, d.mel_fmax)
                y_mel = commons.slice_segments(mel, ids_slice, hps.train.segment_size // d.hop_length)
                y_hat_mel = mel_spectrogram_torch(y_hat.squeeze(1), d.filter_length, d.n_mel_channels, d.sampling_rate,
                                                  d.hop_length, d.win_length, d.mel_fmin, d.mel_fmax)
                y = commons.slice_segments(y, ids_slice * d.hop_length, hps.train.segment_size)
                y_d_hat_r, y_d_hat_g, _, _ = net_d(y, y_hat.detach())
                with amp_off(a, dev):
                    loss_disc, _, _ = discriminator_loss(y_d_hat_r, y_d_hat_g)
            optim_d.zero_grad()
            scaler.scale(loss_disc).backward()
            scaler.unscale_(optim_d)
            commons.clip_grad_value_(net_d.parameters(), None)
            scaler.step(optim_d)
            with amp_ctx(a, dev):
                y_d_hat_r, y_d_hat_g, fmap_r, fmap_g = net_d(y, y_hat)
                with amp_off(a, dev):
                    loss_mel = F.l1_loss(y_mel, y_hat_mel) * hps.train.c_mel
                    loss_kl = kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * hps.train.c_kl
                    loss_fm = feature_loss(fmap_r, fmap_g)
                    loss_gen, _ = generator_loss(y_d_hat_g)
                    loss_gen_all = loss_gen + loss_fm + loss_mel + kl_ssl * 1 + loss_kl
            optim_g.zero_grad()
            scaler.scale(loss_gen_all).backward()
            scaler.unscale_(optim_g)
            commons.clip_grad_value_(net_g.parameters(), None)
            scaler.step(optim_g)
            scaler.update()
            lg.append(loss_gen_all.detach())
            ld.append(loss_disc.detach())
            steps += 1
            clock.mark(steps)
            if steps >= a.steps:
                break
        sg.step()
        sd.step()
        epoch += 1
    return {"impl": "upstream", "stage": "s2", "device": a.device, "dtype": "fp16-autocast" if a.amp else "float32",
            "batch": a.batch, "steps": steps, "losses_g": [float(x) for x in lg], "losses_d": [float(x) for x in ld],
            "wall_s": time.time() - t0, "timed_steps": a.steps - a.warmup, "steps_per_s": clock.rate(a.warmup, a.steps),
            "peak_vram_mib": vram(dev), "torch": torch.__version__}


def s2_load(a):
    """The inference side (inference_webui / TTS.py change_sovits_weights): torch.load, the HParams config,
    SynthesizerTrn(**hps.model), load_state_dict(weight, strict=False): only enc_q may be missing."""
    import torch
    from module.models import SynthesizerTrn
    ck = torch.load(a.pretrained, map_location="cpu", **({"weights_only": False} if "weights_only" in torch.load.__code__.co_varnames else {}))
    hps = ck["config"]
    net_g = SynthesizerTrn(hps.data.filter_length // 2 + 1, hps.train.segment_size // hps.data.hop_length,
                           n_speakers=hps.data.n_speakers, **hps.model)
    r = net_g.load_state_dict(ck["weight"], strict=False)
    bad_missing = [k for k in r.missing_keys if not k.startswith("enc_q.")]
    ok = not bad_missing and not r.unexpected_keys
    return {"stage": "s2-load", "file": a.pretrained, "info": ck.get("info"), "ok": ok, "missing_non_enc_q": bad_missing[:5],
            "unexpected": r.unexpected_keys[:5], "dtypes": sorted({str(v.dtype) for v in ck["weight"].values()}),
            "version": getattr(hps.model, "version", None)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["s1", "s2", "s2-load"])
    ap.add_argument("--data")
    ap.add_argument("--pretrained", required=True)
    ap.add_argument("--pretrained-d")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--amp", action="store_true")
    ap.add_argument("--first-loss", action="store_true")
    a = ap.parse_args()
    upstream_env.install()
    stubs()
    r = {"s1": s1, "s2": s2, "s2-load": s2_load}[a.stage](a)
    print(json.dumps(r))


if __name__ == "__main__":
    main()
