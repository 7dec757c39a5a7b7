#!/usr/bin/env python3
"""Upstream GPT-SoVITS (PyTorch) doing the work sovits_bench does, on the same files; one JSON line.

Loads s1.ckpt / s2.pth as inference_webui.py does (change_gpt_weights / change_sovits_weights:
Text2SemanticDecoder from the ckpt config, SynthesizerTrn(**hps.model) with strict=False), then per
request and per segment of inputs.json, as get_tts_wav does it:
  S1  variant "naive":     Text2SemanticDecoder.infer_panel (= infer_panel_naive, KV cache grown with
                           torch.cat): the WebUI's path on CPU and with its CUDA-graph box unticked;
      variant "cudagraph": AR/models/t2s_model_cudagraph.CUDAGraphRunner (static KV cache, captured
                           decode step): the WebUI's default on CUDA GPUs (box ticked when supported).
      top_k 15, top_p 1, temperature 1, repetition_penalty 1.35 (infer_panel's default), zero BERT
      (Korean), early_stop_num = --tokens (the weights disable EOS, so every segment runs to it);
      naive keeps y[:, -idx:] as the WebUI does.
  S2  vq_model.decode(tokens, target phones, [reference spectrogram], speed=1) with noise_scale 0.5,
      divided by its peak when it exceeds 1, copied to the host.
torch.manual_seed(seed + segment) before each segment. The reference spectrogram is computed once,
outside the timings (the style vector is computed inside decode, as upstream does).
TF32 is off for matmuls and cuDNN, as Troupe runs.

usage: upstream_bench.py DIR [--device cuda] [--variant naive|cudagraph] [--half] [--tokens 128]
                         [--runs 3] [--top-k 15] [--segments N]
"""
import argparse
import json
import os
import resource
import sys
import time
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import upstream_env  # noqa: E402


class Attr(dict):
    # inference_webui.DictToAttrRecursive
    def __init__(self, d):
        super().__init__(d)
        for k, v in d.items():
            self[k] = Attr(v) if isinstance(v, dict) else v

    def __getattr__(self, k):
        return self[k]

    def __setattr__(self, k, v):
        self[k] = Attr(v) if isinstance(v, dict) else v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--variant", default="naive", choices=["naive", "cudagraph"])
    ap.add_argument("--half", action="store_true", help="fp16 weights and activations (the WebUI's is_half on CUDA)")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--top-k", type=int, default=15)
    ap.add_argument("--segments", type=int, default=0, help="use only the first N segments (0: all)")
    a = ap.parse_args()
    upstream_env.install()
    import torch
    from AR.models.t2s_model import Text2SemanticDecoder
    from module.mel_processing import spectrogram_torch
    from module.models import SynthesizerTrn

    dev = torch.device(a.device)
    dtype = torch.float16 if a.half else torch.float32
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    inp = json.load(open(os.path.join(a.dir, "inputs.json")))
    segments = inp["segments"][: a.segments or None]
    s1_path, s2_path = os.path.join(a.dir, "s1.ckpt"), os.path.join(a.dir, "s2.pth")

    t = time.perf_counter()
    dict_s1 = torch.load(s1_path, map_location="cpu", weights_only=False)
    config = dict_s1["config"]
    hz, max_sec = 50, config["data"]["max_sec"]
    runner = None
    if a.variant == "naive":
        t2s = Text2SemanticDecoder(config, top_k=config["inference"]["top_k"])
        t2s.load_state_dict({k[len("model."):]: v for k, v in dict_s1["weight"].items()})
        t2s = t2s.to(dtype).to(dev).eval()
    else:
        from AR.models.t2s_model_cudagraph import CUDAGraphRunner
        runner = CUDAGraphRunner(CUDAGraphRunner.load_decoder(s1_path), dev, dtype)
    dict_s2 = torch.load(s2_path, map_location="cpu", weights_only=False)
    hps = Attr(json.loads(json.dumps(dict_s2["config"], default=lambda o: o.__dict__)))  # utils.HParams
    hps.model.semantic_frame_rate = "25hz"
    hps.model.version = "v2"
    vq = SynthesizerTrn(hps.data.filter_length // 2 + 1, hps.train.segment_size // hps.data.hop_length,
                        n_speakers=hps.data.n_speakers, **hps.model)
    del vq.enc_q
    vq.load_state_dict(dict_s2["weight"], strict=False)
    vq = vq.to(dtype).to(dev).eval()
    sync()
    load_s = time.perf_counter() - t

    # Reference spectrogram (get_spepc) from the 16-bit WAV.
    with wave.open(os.path.join(a.dir, inp["reference"])) as f:
        assert f.getframerate() == hps.data.sampling_rate and f.getnchannels() == 1 and f.getsampwidth() == 2
        raw = f.readframes(f.getnframes())
    audio = torch.frombuffer(bytearray(raw), dtype=torch.int16).float().unsqueeze(0) / 32768.0
    maxx = audio.abs().max()
    if maxx > 1:
        audio /= min(2, maxx)
    refer = spectrogram_torch(audio, hps.data.filter_length, hps.data.sampling_rate, hps.data.hop_length,
                              hps.data.win_length, center=False).to(dtype).to(dev)
    prompt = torch.LongTensor(inp["prompt_codes"]).unsqueeze(0).to(dev)
    phones1 = inp["prompt_phones"]

    def s1_decode(phones2, n_tokens):
        all_ids = torch.LongTensor(phones1 + phones2).to(dev).unsqueeze(0)
        all_len = torch.tensor([all_ids.shape[-1]]).to(dev)
        bert = torch.zeros((1024, all_ids.shape[-1]), dtype=dtype).to(dev).unsqueeze(0)
        if runner is None:
            pred, idx = t2s.infer_panel(all_ids, all_len, prompt, bert, top_k=a.top_k, top_p=1, temperature=1,
                                        early_stop_num=n_tokens)
            return pred[:, -idx:].unsqueeze(0), pred.shape[1] - prompt.shape[1]
        from AR.models.structs_cudagraph import T2SRequest
        req = T2SRequest([all_ids.squeeze(0)], all_len, prompt, [bert.squeeze(0)], valid_length=1, top_k=a.top_k,
                         top_p=1, temperature=1, early_stop_num=n_tokens, use_cuda_graph=True)
        res = runner.generate(req)
        if res.exception is not None:
            print(res.traceback, file=sys.stderr)
            raise RuntimeError("CUDA Graph T2S inference failed")
        pred = res.result[0].unsqueeze(0).unsqueeze(0)
        return pred, pred.shape[-1]

    def run(n_tokens, seed):
        r = {"s1": 0.0, "s2": 0.0, "first_audio": 0.0, "audio_s": 0.0, "s1_tokens": 0, "s2_tokens": 0}
        with torch.no_grad():
            sync()
            t0 = time.perf_counter()
            for i, phones2 in enumerate(segments):
                torch.manual_seed(seed + i)
                ta = time.perf_counter()
                pred, generated = s1_decode(phones2, n_tokens)
                sync()
                tb = time.perf_counter()
                out = vq.decode(pred, torch.LongTensor(phones2).to(dev).unsqueeze(0), [refer], speed=1)[0][0]
                peak = torch.abs(out).max()
                if peak > 1:
                    out = out / peak
                wav = out.float().cpu()
                tc = time.perf_counter()
                if i == 0:
                    r["first_audio"] = tc - t0
                    r["first_tokens"] = pred.flatten()[:16].tolist()
                    r["first_rms"] = float(wav.pow(2).mean().sqrt())
                r["s1"] += tb - ta
                r["s2"] += tc - tb
                r["s1_tokens"] += int(generated)
                r["s2_tokens"] += int(pred.shape[-1])
                r["audio_s"] += wav.numel() / hps.data.sampling_rate
            r["total"] = time.perf_counter() - t0
        return r

    run(16, 1)
    run(a.tokens, 7)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    best = min((run(a.tokens, 1234) for _ in range(a.runs)), key=lambda r: r["total"])
    peak_vram = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else 0.0
    variant = "infer_panel (naive, torch.cat KV cache)" if a.variant == "naive" else "CUDAGraphRunner"
    print(json.dumps({
        "impl": "upstream", "variant": variant, "device": a.device, "dtype": str(dtype).replace("torch.", ""),
        "torch": torch.__version__, "segments": len(segments), "tokens_per_segment": a.tokens, "load_s": load_s,
        "s1_tokens": best["s1_tokens"], "s2_tokens": best["s2_tokens"], "s1_s": best["s1"],
        "s1_tokens_per_s": best["s1_tokens"] / best["s1"], "s2_s": best["s2"], "total_s": best["total"],
        "audio_s": best["audio_s"], "rtf": best["total"] / best["audio_s"], "first_audio_s": best["first_audio"],
        "peak_vram_mib": peak_vram, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "first_tokens": best.get("first_tokens", []), "first_audio_rms": best.get("first_rms", 0.0),
        "webui_early_stop_num": hz * max_sec,
    }))


if __name__ == "__main__":
    main()
