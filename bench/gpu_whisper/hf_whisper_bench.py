#!/usr/bin/env python3
"""transformers' Whisper generate on the same synthetic audio as whisper_bench (30 s windows, batched, greedy or
beam, forced Korean/transcribe/no timestamps). Prints one JSON line.
Usage: hf_whisper_bench.py MODEL_DIR SECONDS DEVICE DTYPE MAX_NEW_TOKENS BEAMS BATCH RUNS"""
import json, sys, time

import numpy as np
import torch
from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration


def main():
    d, seconds, device, dtype, max_new, beams, batch, runs = sys.argv[1:9]
    seconds, max_new, beams, batch, runs = float(seconds), int(max_new), int(beams), int(batch), int(runs)
    dt = getattr(torch, dtype)
    fe = WhisperFeatureExtractor.from_pretrained(d)
    model = WhisperForConditionalGeneration.from_pretrained(d, torch_dtype=dt).to(device).eval()
    n = int(seconds * 16000)
    rng = np.random.default_rng(1)
    wav = (0.3 * np.sin(2 * np.pi * 180.0 * np.arange(n) / 16000.0) + rng.normal(0, 0.01, n)).astype(np.float32)
    windows = [wav[i:i + fe.n_samples] for i in range(0, n, fe.n_samples)]

    def run():
        tokens = 0
        for i in range(0, len(windows), batch):
            feats = fe(windows[i:i + batch], sampling_rate=16000, return_tensors="pt").input_features.to(device, dt)
            with torch.no_grad():
                out = model.generate(input_features=feats, language="ko", task="transcribe", return_timestamps=False,
                                     num_beams=beams, do_sample=False, max_new_tokens=max_new)
            seqs = out if torch.is_tensor(out) else out["sequences"]
            tokens += int((seqs[:, 4:] != model.generation_config.eos_token_id).sum()) if seqs.shape[1] > 4 else 0
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return tokens

    run()
    best, tokens = 1e30, 0
    for _ in range(runs):
        t0 = time.perf_counter(); tokens = run(); best = min(best, time.perf_counter() - t0)
    print(json.dumps(dict(impl="transformers", audio_s=seconds, wall_s=round(best, 3), x_realtime=round(seconds / best, 1),
                          tokens=tokens, tokens_per_s=round(tokens / best, 1), device=device, dtype=dtype, beams=beams,
                          batch=batch, transformers=__import__("transformers").__version__, torch=torch.__version__)))


if __name__ == "__main__":
    main()
