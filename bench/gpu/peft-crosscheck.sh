#!/usr/bin/env bash
# On the GPU machine, after bench/gpu/build.sh: train a LoRA adapter with `troupe train lora` on a small
# base model and check that transformers+peft load it and give the same logits as Troupe (≤ 1e-4, fp32).
# usage: bash bench/gpu/peft-crosscheck.sh TROUPE_BIN BASE_MODEL_DIR PERSONA_JSONL
set -euo pipefail
troupe=$1 base=$2 data=$3
work=$(mktemp -d)
cat > $work/lora.toml <<TOML
[model]
base = "$base"
device = "cpu"
[data]
train = ["$data"]
character = "bujang"
max_length = 128
max_examples = 64
[lora]
r = 4
alpha = 8
target_modules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
[train]
epochs = 1
batch_size = 8
learning_rate = 5e-3
log_every = 4
[output]
dir = "$work/adapter"
TOML
$troupe -q train lora --config $work/lora.toml
ids=1,5,9,33,120,7,250,64,300,2,18,77
$troupe lm forward --model $base --adapter $work/adapter --ids $ids --out $work/unmerged.safetensors
$troupe lm forward --model $base --adapter $work/adapter --merge --ids $ids --out $work/merged.safetensors
python3 "$(dirname "$0")/peft_crosscheck.py" $base $work/adapter $ids $work/unmerged.safetensors $work/merged.safetensors
