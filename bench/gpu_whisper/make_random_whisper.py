#!/usr/bin/env python3
"""A random-weight Whisper folder of a real size (default large-v3: d_model 1280, 32+32 layers, 20 heads,
128 mels, vocab 51866) in the HF layout, for timing only. Special tokens and tokenizer come from the fixture
generator (tests/whisper/tools/make_whisper_fixtures.py); <|endoftext|> is pushed far down so every decode
runs to max_new_tokens in both implementations (equal work). Usage: make_random_whisper.py OUT [--dtype float16]"""
import argparse, os, sys

import torch
from transformers import GenerationConfig, WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/whisper/tools"))
import make_whisper_fixtures as fx  # noqa: E402

SIZES = {"large-v3": dict(d_model=1280, encoder_layers=32, decoder_layers=32, encoder_attention_heads=20,
                          decoder_attention_heads=20, encoder_ffn_dim=5120, decoder_ffn_dim=5120, num_mel_bins=128),
         "small": dict(d_model=768, encoder_layers=12, decoder_layers=12, encoder_attention_heads=12,
                       decoder_attention_heads=12, encoder_ffn_dim=3072, decoder_ffn_dim=3072, num_mel_bins=80)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out"); p.add_argument("--size", default="large-v3", choices=list(SIZES))
    p.add_argument("--dtype", default="float16")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    vocab, merges, regular, specials, timestamps, _ = fx.build_vocab()
    fx.save_tokenizer(a.out, vocab, merges, regular, specials, timestamps)
    sot, eot = vocab["<|startoftranscript|>"], vocab["<|endoftext|>"]
    s = SIZES[a.size]
    cfg = WhisperConfig(vocab_size=51866, max_source_positions=1500, max_target_positions=448, pad_token_id=eot,
                        bos_token_id=eot, eos_token_id=eot, decoder_start_token_id=sot, suppress_tokens=[],
                        begin_suppress_tokens=[eot], activation_function="gelu", **s)
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        e = model.model.decoder.embed_tokens.weight[eot]
        model.model.decoder.layer_norm.bias.sub_(1e3 * e / e.dot(e))
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot, eos_token_id=eot, pad_token_id=eot, max_length=448, suppress_tokens=[],
        begin_suppress_tokens=[eot], no_timestamps_token_id=vocab["<|notimestamps|>"],
        lang_to_id={f"<|{l}|>": vocab[f"<|{l}|>"] for l in fx.LANGS},
        task_to_id={"translate": vocab["<|translate|>"], "transcribe": vocab["<|transcribe|>"]}, is_multilingual=True)
    model.to(getattr(torch, a.dtype)).save_pretrained(a.out)
    model.generation_config.save_pretrained(a.out)
    WhisperFeatureExtractor(feature_size=s["num_mel_bins"]).save_pretrained(a.out)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
