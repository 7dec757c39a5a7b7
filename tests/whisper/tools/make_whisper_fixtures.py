#!/usr/bin/env python3
"""Makes Whisper conformance fixtures (tests/whisper) with transformers' WhisperForConditionalGeneration:
a tiny random-weight model of the real architecture (multilingual layout: <|startoftranscript|>, language,
task and <|notimestamps|> special tokens, a small byte-level BPE tokenizer saved in HF format), inputs and
golden outputs: log-mel features, encoder output, decoder logits per step (teacher-forced on the greedy
path), greedy and beam-5 token ids and texts, and a long input transcribed by consecutive windows.

Needs torch, transformers, safetensors, numpy (the GPU machine's image). Run on the CPU (CUDA hidden).
Usage: make_whisper_fixtures.py OUT_DIR [--seed N] [--mels 80] [--d-model 32] [--heads 4] [--enc-layers 2]
       [--dec-layers 2] [--ffn 64] [--chunk-seconds 3] [--max-new-tokens 20] [--shard] [--name v80]

OUT_DIR/<name>/model/              the HF folder (config.json, generation_config.json, tokenizer files,
                                   preprocessor_config.json, model.safetensors or shards)
OUT_DIR/<name>/audio/*.wav         16-bit 16 kHz inputs
OUT_DIR/<name>/cases.safetensors   tensors, named "<case>.<what>"
OUT_DIR/<name>/cases.json          the cases: token ids, texts, tensor names, the settings used
"""
import argparse, json, os, sys

import numpy as np
import torch
import transformers
from transformers import GenerationConfig, WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from fixture_common import add_audio_arg, add_common_args, audio_specs, fixture_dirs, make_wave, save_cases, write_wav

torch.set_num_threads(1)

LANGS = ["en", "zh", "de", "es", "ru", "ko", "fr", "ja"]
KOREAN_WORDS = ["안녕", "하세요", "감사", "합니다", "음성", "인식", "테스트", "목소리", "정말", "좋아요"]
LATIN_WORDS = ["the", "and", "ing", "hello", "voice"]


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map (as in openai/whisper and HF)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def build_vocab():
    """A byte-level BPE vocabulary: the 256 byte symbols, merges building Korean words (with and without a
    leading space) and a few Latin ones; then the Whisper special tokens in the multilingual order."""
    b2u = bytes_to_unicode()
    vocab, merges = {}, []
    for b in range(256):
        vocab[b2u[b]] = len(vocab)

    def add_word(word):
        syms = [b2u[b] for b in word.encode("utf-8")]
        while len(syms) > 1:
            a, b = syms[0], syms[1]
            merged = a + b
            if merged not in vocab:
                merges.append((a, b)); vocab[merged] = len(vocab)
            syms = [merged] + syms[2:]

    for w in KOREAN_WORDS:
        add_word(w); add_word(" " + w)
    for w in LATIN_WORDS:
        add_word(w); add_word(" " + w)
    regular = len(vocab)
    specials = ["<|endoftext|>", "<|startoftranscript|>"] + [f"<|{l}|>" for l in LANGS] + \
               ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]
    for s in specials:
        vocab[s] = len(vocab)
    timestamps = [f"<|{i * 0.02:.2f}|>" for i in range(31)]
    for s in timestamps:
        vocab[s] = len(vocab)
    return vocab, merges, regular, specials, timestamps, b2u


def save_tokenizer(md, vocab, merges, regular, specials, timestamps):
    """vocab.json + merges.txt + added_tokens.json + tokenizer.json (the `tokenizers` JSON layout)."""
    reg = {k: v for k, v in vocab.items() if v < regular}
    json.dump(reg, open(os.path.join(md, "vocab.json"), "w", encoding="utf-8"), ensure_ascii=False)
    with open(os.path.join(md, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    added = {s: vocab[s] for s in specials + timestamps}
    json.dump(added, open(os.path.join(md, "added_tokens.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [dict(id=vocab[s], content=s, single_word=False, lstrip=False, rstrip=False,
                              normalized=False, special=(s in specials)) for s in specials + timestamps],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": reg,
                  "merges": [f"{a} {b}" for a, b in merges]},
    }
    json.dump(tok, open(os.path.join(md, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)
    json.dump(dict(bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                   unk_token="<|endoftext|>", additional_special_tokens=specials[1:]),
              open(os.path.join(md, "special_tokens_map.json"), "w"), indent=1)
    json.dump(dict(tokenizer_class="WhisperTokenizer", model_max_length=1024, add_prefix_space=False,
                   bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                   unk_token="<|endoftext|>", errors="replace"),
              open(os.path.join(md, "tokenizer_config.json"), "w"), indent=1)


def decode_ids(ids, inv, regular, b2u):
    """The reference text decode: regular tokens only (every special and timestamp token dropped), byte-level
    symbols mapped back to bytes, UTF-8 with replacement (as HF's errors='replace')."""
    u2b = {u: b for b, u in b2u.items()}
    data = bytearray()
    for i in ids:
        if i < regular:
            data.extend(u2b[c] for c in inv[i])
    return data.decode("utf-8", errors="replace")


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embed_positions" in name and "encoder" in name:
                continue  # the encoder's sinusoidal table, as HF initialises it
            if p.dim() == 1 and "layer_norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)


def build_model(a, vocab, regular, specials, seed):
    sot, eot = vocab["<|startoftranscript|>"], vocab["<|endoftext|>"]
    nots = vocab["<|notimestamps|>"]
    # As the real generation configs: task/other special tokens suppressed, a few regular ones too; the
    # language tokens are not in the list (HF's real lists leave them out), so they can be generated.
    suppress = [1, 2, 7, 8, 9] + [vocab[s] for s in ("<|translate|>", "<|transcribe|>", "<|startoflm|>",
                                                     "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>")]
    space = vocab[bytes_to_unicode()[32]]
    begin_suppress = [space, eot]
    cfg = WhisperConfig(vocab_size=len(vocab), num_mel_bins=a.mels, d_model=a.d_model,
                        encoder_layers=a.enc_layers, decoder_layers=a.dec_layers,
                        encoder_attention_heads=a.heads, decoder_attention_heads=a.heads,
                        encoder_ffn_dim=a.ffn, decoder_ffn_dim=a.ffn,
                        max_source_positions=a.chunk_seconds * 50, max_target_positions=a.max_target_positions,
                        pad_token_id=eot, bos_token_id=eot, eos_token_id=eot, decoder_start_token_id=sot,
                        suppress_tokens=suppress, begin_suppress_tokens=begin_suppress,
                        activation_function="gelu", scale_embedding=False, tie_word_embeddings=True)
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(cfg).eval()
    randomize(model, seed + 1)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot, eos_token_id=eot, pad_token_id=eot, bos_token_id=eot,
        max_length=a.max_target_positions, suppress_tokens=suppress, begin_suppress_tokens=begin_suppress,
        no_timestamps_token_id=nots, prev_sot_token_id=vocab["<|startofprev|>"],
        lang_to_id={f"<|{l}|>": vocab[f"<|{l}|>"] for l in LANGS},
        task_to_id={"translate": vocab["<|translate|>"], "transcribe": vocab["<|transcribe|>"]},
        is_multilingual=True, max_initial_timestamp_index=50, alignment_heads=[[a.dec_layers - 1, 0]],
        return_timestamps=False)
    return model, cfg


def tokens_after_prompt(seq, prompt, eot):
    """HF returns the generated ids with or without the decoder prompt depending on the version: strip the
    prompt if present, then cut at the first end-of-text (the padding after it)."""
    s = list(seq)
    if s[:len(prompt)] == prompt:
        s = s[len(prompt):]
    out = []
    for t in s:
        if t == eot:
            return out, True
        out.append(t)
    return out, False


def generate(model, feats, beams, max_new):
    with torch.no_grad():
        g = model.generate(input_features=feats, language="ko", task="transcribe", return_timestamps=False,
                           num_beams=beams, do_sample=False, max_new_tokens=max_new, length_penalty=1.0,
                           return_dict_in_generate=True, output_scores=True)
    seqs = g["sequences"] if isinstance(g, dict) or hasattr(g, "keys") else g
    scores = g.get("sequences_scores") if hasattr(g, "get") else None
    return seqs, scores


def processed_gap(logits, step, suppress, begin_suppress):
    """top1 - top2 of the processed logits at one greedy step (how robust the argmax is)."""
    x = logits.clone()
    x[suppress] = -float("inf")
    if step == 0:
        x[begin_suppress] = -float("inf")
    top = x.topk(2).values
    return float(top[0] - top[1])


def main():
    p = argparse.ArgumentParser()
    add_common_args(p, "v80", 7)
    p.add_argument("--mels", type=int, default=80); p.add_argument("--d-model", type=int, default=32)
    p.add_argument("--heads", type=int, default=4); p.add_argument("--enc-layers", type=int, default=2)
    p.add_argument("--dec-layers", type=int, default=2); p.add_argument("--ffn", type=int, default=64)
    p.add_argument("--chunk-seconds", type=int, default=3); p.add_argument("--max-new-tokens", type=int, default=20)
    p.add_argument("--max-target-positions", type=int, default=64)
    p.add_argument("--shard", action="store_true", help="save the weights as several safetensors shards")
    add_audio_arg(p, "1.1:140,2.3:190,3.0:110")
    p.add_argument("--long-seconds", type=float, default=7.4)
    a = p.parse_args()

    root, md, ad = fixture_dirs(a.out, a.name)
    vocab, merges, regular, specials, timestamps, b2u = build_vocab()
    inv = {i: s for s, i in vocab.items()}
    save_tokenizer(md, vocab, merges, regular, specials, timestamps)
    sot, eot = vocab["<|startoftranscript|>"], vocab["<|endoftext|>"]
    prompt = [sot, vocab["<|ko|>"], vocab["<|transcribe|>"], vocab["<|notimestamps|>"]]

    fe = WhisperFeatureExtractor(feature_size=a.mels, sampling_rate=16000, hop_length=160,
                                 chunk_length=a.chunk_seconds, n_fft=400, padding_value=0.0)
    fe.save_pretrained(md)

    rng = np.random.default_rng(a.seed)
    waves = []
    for i, (sec, f0) in enumerate(audio_specs(a.audio)):
        waves.append((f"wave{i}", make_wave(rng, sec, f0, drift="wobble")))
    long_wave = ("long0", make_wave(rng, a.long_seconds, 160.0, drift="wobble"))
    for name, pcm in waves + [long_wave]:
        write_wav(os.path.join(ad, name + ".wav"), pcm)

    def features(pcm):
        x = pcm.astype(np.float32) / 32768.0
        return fe(x, sampling_rate=16000, return_tensors="pt").input_features.float()

    # Choose the model (seed) and an end-of-text bias so that the greedy decodes are robust (no near-ties) and
    # some of them end with <|endoftext|> before the token limit (so the stop logic is exercised).
    chosen = None
    for attempt in range(30):
        seed = a.seed * 100 + attempt
        model, cfg = build_model(a, vocab, regular, specials, seed)
        e = model.model.decoder.embed_tokens.weight[eot].detach().clone()
        for bias in (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0):
            with torch.no_grad():
                model.model.decoder.layer_norm.bias.copy_(model.model.decoder.layer_norm.bias)
            state = {k: v.clone() for k, v in model.state_dict().items()}
            with torch.no_grad():
                model.model.decoder.layer_norm.bias.add_(bias * e / e.dot(e))
            ended, lengths, gap = 0, [], 1e9
            for name, pcm in waves:
                seqs, _ = generate(model, features(pcm), 1, a.max_new_tokens)
                toks, ok = tokens_after_prompt(seqs[0].tolist(), prompt, eot)
                ended += ok; lengths.append(len(toks))
                with torch.no_grad():
                    lg = model(input_features=features(pcm),
                               decoder_input_ids=torch.tensor([prompt + toks])).logits[0, len(prompt) - 1:]
                for s in range(lg.shape[0]):
                    gap = min(gap, processed_gap(lg[s], s, cfg.suppress_tokens, cfg.begin_suppress_tokens))
            model.load_state_dict(state)
            if ended >= 1 and ended < len(waves) + 1 and max(lengths) >= 3 and gap > 2e-3:
                with torch.no_grad():
                    model.model.decoder.layer_norm.bias.add_(bias * e / e.dot(e))
                chosen = (seed, bias, gap)
                break
        if chosen:
            break
    if not chosen:
        raise SystemExit("no seed gave robust greedy decodes")
    seed, bias, gap = chosen
    print(f"{a.name}: seed {seed}, end-of-text bias {bias}, min greedy gap {gap:.4g}")
    model.save_pretrained(md, max_shard_size="60KB" if a.shard else "10GB")
    model.generation_config.save_pretrained(md)

    # The HF tokenizer's decode, when this transformers can build one from the folder (recorded, not required).
    hf_tok = None
    try:
        from transformers import AutoTokenizer
        hf_tok = AutoTokenizer.from_pretrained(md)
    except Exception as ex:  # noqa: BLE001
        print("HF tokenizer not built from the folder:", ex)

    out, cases = {}, []
    enc_hook = {}
    for name, pcm in waves:
        feats = features(pcm)
        out[f"{name}.input_features"] = feats[0].contiguous()
        with torch.no_grad():
            enc = model.model.encoder(feats).last_hidden_state
        out[f"{name}.encoder_output"] = enc[0].contiguous()
        case = dict(name=name, wav=f"audio/{name}.wav", num_samples=int(pcm.shape[0]))
        for label, beams in (("greedy", 1), ("beam5", 5)):
            seqs, scores = generate(model, feats, beams, a.max_new_tokens)
            raw = seqs[0].tolist()
            toks, ended = tokens_after_prompt(raw, prompt, eot)
            with torch.no_grad():
                lg = model(input_features=feats, decoder_input_ids=torch.tensor([prompt + toks])).logits[0]
            # logits[s] predicts generated token s (the first from the last prompt token); one more row when
            # the decode stopped on end-of-text (the row that chose it).
            steps = lg[len(prompt) - 1:len(prompt) - 1 + len(toks) + (1 if ended else 0)]
            out[f"{name}.{label}.step_logits"] = steps.contiguous()
            text = decode_ids(toks, inv, regular, b2u)
            entry = dict(raw_sequence=raw, tokens=toks, ended_with_eot=ended, text=text,
                         step_logits=f"{name}.{label}.step_logits")
            if scores is not None:
                entry["sequence_score"] = float(scores[0])
            if hf_tok is not None:
                try:
                    entry["hf_decode"] = hf_tok.decode(raw, skip_special_tokens=True)
                except Exception as ex:  # noqa: BLE001
                    entry["hf_decode_error"] = str(ex)
            case[label] = entry
        # The batch path: all short inputs at once give the same ids.
        cases.append(case)
    with torch.no_grad():
        batch = torch.cat([features(pcm) for _, pcm in waves])
        bseqs, _ = generate(model, batch, 1, a.max_new_tokens)
    batch_ok = all(tokens_after_prompt(bseqs[i].tolist(), prompt, eot)[0] == cases[i]["greedy"]["tokens"]
                   for i in range(len(waves)))

    # Long input: consecutive windows of chunk_length seconds, each transcribed on its own (greedy).
    name, pcm = long_wave
    n = fe.n_samples
    windows = []
    for w, start in enumerate(range(0, pcm.shape[0], n)):
        piece = pcm[start:start + n]
        feats = features(piece)
        out[f"{name}.window{w}.input_features"] = feats[0].contiguous()
        seqs, _ = generate(model, feats, 1, a.max_new_tokens)
        toks, ended = tokens_after_prompt(seqs[0].tolist(), prompt, eot)
        windows.append(dict(start_sample=start, num_samples=int(piece.shape[0]), tokens=toks, ended_with_eot=ended,
                            text=decode_ids(toks, inv, regular, b2u),
                            input_features=f"{name}.window{w}.input_features"))
    long_case = dict(name=name, wav=f"audio/{name}.wav", num_samples=int(pcm.shape[0]), windows=windows,
                     text=" ".join(w["text"].strip() for w in windows if w["text"].strip()))

    # The mel filters and window the front end uses (for a direct check of the C++ filter bank).
    out["mel_filters"] = torch.from_numpy(np.asarray(fe.mel_filters, dtype=np.float32)).contiguous()
    meta = dict(description="tiny random-weight WhisperForConditionalGeneration (multilingual layout)",
                transformers=transformers.__version__, torch=torch.__version__, seed=seed, eot_bias=bias,
                min_greedy_gap=gap, language="ko", task="transcribe", prompt=prompt, max_new_tokens=a.max_new_tokens,
                num_beams=5, length_penalty=1.0, batch_greedy_equal=batch_ok, sharded=a.shard,
                n_samples=fe.n_samples, nb_max_frames=fe.nb_max_frames, cases=cases, long=long_case,
                special_ids=dict(sot=sot, eot=eot, ko=vocab["<|ko|>"], transcribe=vocab["<|transcribe|>"],
                                 notimestamps=vocab["<|notimestamps|>"], first_timestamp=vocab[timestamps[0]]),
                tensors={k: list(t.shape) for k, t in out.items()})
    save_cases(root, out, meta, ensure_ascii=False)
    print(a.name, "done:", [c["greedy"]["tokens"] for c in cases], "beam:", [c["beam5"]["tokens"] for c in cases])


if __name__ == "__main__":
    main()
