#!/usr/bin/env python3
"""Random weights with EEVE-Korean-10.8B's exact config (48 layers, hidden 4096, 32/8 heads,
FFN 14336, vocab 40960) saved as an HF folder, plus an r=16 / alpha=32 PEFT LoRA adapter on
q/k/v/o/gate/up/down. Uses transformers/peft when present (so the folders are exactly what they
write), otherwise writes the same files with safetensors alone.

usage: make_eeve_random.py OUT_DIR [--layers N] [--dtype bfloat16]
"""
import argparse
import json
import os

import torch

EEVE = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
    "intermediate_size": 14336, "num_hidden_layers": 48, "num_attention_heads": 32,
    "num_key_value_heads": 8, "hidden_act": "silu", "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "rope_scaling": None, "attention_bias": False,
    "attention_dropout": 0.0, "mlp_bias": False, "pretraining_tp": 1, "tie_word_embeddings": False,
    "vocab_size": 40960, "bos_token_id": 1, "eos_token_id": 32000, "torch_dtype": "bfloat16",
    "use_cache": True,
}
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=48)
    ap.add_argument("--dtype", default="bfloat16")
    args = ap.parse_args()
    cfg = dict(EEVE, num_hidden_layers=args.layers, torch_dtype=args.dtype)
    dtype = getattr(torch, args.dtype)
    base, adapter = os.path.join(args.out, "base"), os.path.join(args.out, "adapter")
    os.makedirs(base, exist_ok=True)
    os.makedirs(adapter, exist_ok=True)
    from safetensors.torch import save_file
    g = torch.Generator().manual_seed(0)
    H, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = H // cfg["num_attention_heads"]
    kv = cfg["num_key_value_heads"] * hd
    shapes = {"q_proj": (H, H), "k_proj": (kv, H), "v_proj": (kv, H), "o_proj": (H, H),
              "gate_proj": (F, H), "up_proj": (F, H), "down_proj": (H, F)}
    paths = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
             "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}

    def rnd(*shape, std):
        return (torch.randn(*shape, generator=g) * std).to(dtype)

    # one shard per 8 layers keeps peak host memory low
    weight_map, shard, shard_id, n_shards = {}, {}, 1, (args.layers + 7) // 8 + 1
    def flush():
        nonlocal shard, shard_id
        name = f"model-{shard_id:05d}-of-{n_shards:05d}.safetensors"
        save_file(shard, os.path.join(base, name), metadata={"format": "pt"})
        for k in shard:
            weight_map[k] = name
        shard, shard_id = {}, shard_id + 1
    shard["model.embed_tokens.weight"] = rnd(V, H, std=1.0)
    shard["lm_head.weight"] = rnd(V, H, std=H ** -0.5)
    shard["model.norm.weight"] = torch.ones(H, dtype=dtype)
    flush()
    lora = {}
    for i in range(args.layers):
        p = f"model.layers.{i}."
        shard[p + "input_layernorm.weight"] = torch.ones(H, dtype=dtype)
        shard[p + "post_attention_layernorm.weight"] = torch.ones(H, dtype=dtype)
        for t, (o, inn) in shapes.items():
            shard[f"{p}{paths[t]}.{t}.weight"] = rnd(o, inn, std=inn ** -0.5)
            key = f"base_model.model.{p}{paths[t]}.{t}"
            lora[key + ".lora_A.weight"] = (torch.randn(16, inn, generator=g) * inn ** -0.5).float()
            lora[key + ".lora_B.weight"] = (torch.randn(o, 16, generator=g) * 0.01).float()
        if (i + 1) % 8 == 0 or i + 1 == args.layers:
            flush()
    total = sum(os.path.getsize(os.path.join(base, f)) for f in set(weight_map.values()))
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map},
              open(os.path.join(base, "model.safetensors.index.json"), "w"), indent=2)
    json.dump(cfg, open(os.path.join(base, "config.json"), "w"), indent=2)
    json.dump({"bos_token_id": 1, "eos_token_id": 2}, open(os.path.join(base, "generation_config.json"), "w"))
    save_file(lora, os.path.join(adapter, "adapter_model.safetensors"), metadata={"format": "pt"})
    json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 16, "lora_alpha": 32,
               "lora_dropout": 0.0, "target_modules": TARGETS, "bias": "none", "use_rslora": False,
               "use_dora": False, "modules_to_save": None, "rank_pattern": {}, "alpha_pattern": {},
               "fan_in_fan_out": False, "base_model_name_or_path": None, "inference_mode": True},
              open(os.path.join(adapter, "adapter_config.json"), "w"), indent=2)
    print(f"wrote {base} ({total / 1e9:.2f} GB) and {adapter}")


if __name__ == "__main__":
    main()
