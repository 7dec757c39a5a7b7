#!/usr/bin/env python3
"""Loads a base model + a Troupe-trained PEFT adapter with transformers/peft and compares the logits
with `troupe lm forward` (unmerged, and merged with --merge). Prints JSON; exit 1 if over tolerance.
usage: peft_crosscheck.py BASE ADAPTER IDS TROUPE_LOGITS TROUPE_MERGED_LOGITS"""
import json, sys
import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

base, adapter, ids_text, unmerged_file, merged_file = sys.argv[1:6]
ids = torch.tensor([[int(x) for x in ids_text.split(",")]])
model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32, attn_implementation="eager")
model = PeftModel.from_pretrained(model, adapter).eval()
with torch.no_grad():
    reference = model(ids).logits[0]
result = {"peft_adapter_config": json.load(open(f"{adapter}/adapter_config.json"))}
for name, path in (("unmerged", unmerged_file), ("merged", merged_file)):
    ours = load_file(path)["logits"]
    result[f"{name}_max_abs_diff"] = (reference - ours).abs().max().item()
with torch.no_grad():
    with model.disable_adapter():
        result["adapter_effect_max_abs"] = (model(ids).logits[0] - reference).abs().max().item()
result["pass"] = result["unmerged_max_abs_diff"] <= 1e-4 and result["merged_max_abs_diff"] <= 1e-4 \
    and result["adapter_effect_max_abs"] > 1e-3
print(json.dumps(result, ensure_ascii=False))
sys.exit(0 if result["pass"] else 1)
