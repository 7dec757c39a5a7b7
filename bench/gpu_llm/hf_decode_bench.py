#!/usr/bin/env python3
"""transformers + peft batch-1 decode tok/s on the same folders Troupe reads (the reference side of
gpu_llm_bench.sh). Prints one JSON line.

usage: hf_decode_bench.py BASE ADAPTER [--prompt-tokens 64] [--new-tokens 128] [--nf4] [--merge] [--compiled]

--merge     merge the adapter into the base weights (peft merge_and_unload) before decoding
--compiled  the best stock transformers path: a static KV cache with generate()'s own compilation
            (cache_implementation="static", CompileConfig(mode="reduce-overhead")); two warm-up
            generations of the full length first, so compilation and CUDA-graph capture are not timed
"""
import argparse
import json
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("adapter")
    ap.add_argument("--prompt-tokens", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--nf4", action="store_true")
    ap.add_argument("--merge", action="store_true")
    ap.add_argument("--compiled", action="store_true")
    args = ap.parse_args()
    from transformers import AutoModelForCausalLM
    from peft import PeftModel
    kw = {"dtype": torch.bfloat16, "device_map": "cuda"}
    if args.nf4:
        from transformers import BitsAndBytesConfig
        kw["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                       bnb_4bit_use_double_quant=True,
                                                       bnb_4bit_compute_dtype=torch.bfloat16)
    try:
        model = AutoModelForCausalLM.from_pretrained(args.base, **kw)
    except TypeError:
        kw["torch_dtype"] = kw.pop("dtype")
        model = AutoModelForCausalLM.from_pretrained(args.base, **kw)
    model = PeftModel.from_pretrained(model, args.adapter).eval()
    if args.merge:
        model = model.merge_and_unload().eval()
    V = model.config.vocab_size
    ids = (torch.arange(args.prompt_tokens) * 7919 % (V - 3) + 3).unsqueeze(0).cuda()
    gen = dict(do_sample=False, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
               eos_token_id=None, pad_token_id=0)
    if args.compiled:
        from transformers import CompileConfig
        gen.update(cache_implementation="static", compile_config=CompileConfig(mode="reduce-overhead"))
    with torch.inference_mode():
        model.generate(ids, **dict(gen, max_new_tokens=8, min_new_tokens=8))  # warm-up
        if args.compiled:  # compilation and graph capture at the timed length
            for _ in range(2):
                model.generate(ids, **gen)
        torch.cuda.synchronize()
        t = time.perf_counter()
        model(ids)
        torch.cuda.synchronize()
        prefill = time.perf_counter() - t
        best = 1e30
        for _ in range(2):
            torch.cuda.synchronize()
            t = time.perf_counter()
            out = model.generate(ids, **gen)
            torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t)
    n = out.shape[1] - ids.shape[1]
    variant = ("static cache, compiled" if args.compiled else "eager") + (", adapter merged" if args.merge else ", adapter unmerged")
    print(json.dumps({"impl": "transformers+peft", "variant": variant, "nf4": args.nf4, "new_tokens": n,
                      "decode_tokens_per_second": n / max(best - prefill, 1e-9),
                      "prefill_tokens_per_second": args.prompt_tokens / prefill,
                      "peak_gpu_gib": torch.cuda.max_memory_allocated() / 2**30,
                      "gpu": torch.cuda.get_device_name()}))


if __name__ == "__main__":
    main()
