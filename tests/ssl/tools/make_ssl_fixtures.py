#!/usr/bin/env python3
"""Makes extra fixture sets for the SSL conformance tests (tests/ssl) in the layout of
../shared/conformance/{audio,hubert,wav2vec2-ctc}, with configurations the shared set does not cover,
and a torchaudio resampling reference. Needs torch, torchaudio, transformers, safetensors, numpy
(the GPU machine's image has them). Usage: make_ssl_fixtures.py OUT_DIR

OUT_DIR/<variant>/{audio,hubert,wav2vec2-ctc}/...  (run the conformance tests with TROUPE_CONFORMANCE_DIR=OUT_DIR/<variant>)
OUT_DIR/torchaudio_resample.{safetensors,json}
"""
import json, os, sys

import numpy as np
import torch
import torchaudio
from safetensors.torch import save_file, load_file
from transformers import (HubertConfig, HubertModel, Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor,
                          Wav2Vec2ForCTC)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from fixture_common import make_wave, save_cases, write_wav

torch.set_num_threads(1)

VARIANTS = {
    # HuBERT with every switch flipped from the shared set; wav2vec2 in the "base" (group norm, post-LN) layout.
    "variant-a": dict(
        seed=11, audio=[(0.8, 150.0), (1.13, 95.0)],
        hubert=dict(hidden_size=40, num_hidden_layers=3, num_attention_heads=5, intermediate_size=72,
                    conv_dim=[24, 24, 24, 24, 24], conv_kernel=[10, 3, 3, 3, 2], conv_stride=[5, 2, 2, 2, 2],
                    conv_bias=True, feat_extract_norm="layer", do_stable_layer_norm=True, feat_proj_layer_norm=False,
                    conv_pos_batch_norm=True, num_conv_pos_embeddings=15, num_conv_pos_embedding_groups=5,
                    hidden_act="gelu_new", feat_extract_activation="gelu"),
        ctc=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                 conv_dim=[16, 16, 16, 16, 16, 16, 16], conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2],
                 conv_bias=False, feat_extract_norm="group", do_stable_layer_norm=False,
                 num_conv_pos_embeddings=12, num_conv_pos_embedding_groups=4, hidden_act="gelu", feat_extract_activation="gelu"),
        vocab="latin_pad_last"),
    # HuBERT post-LN with layer-norm convs and no projection norm; wav2vec2 stable with relu convs and odd kernel.
    "variant-b": dict(
        seed=23, audio=[(0.5, 210.0), (0.77, 120.0), (1.6, 180.0)],
        hubert=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                    conv_dim=[16, 20, 20, 20, 20, 20, 20], conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2],
                    conv_bias=False, feat_extract_norm="layer", do_stable_layer_norm=False, feat_proj_layer_norm=False,
                    conv_pos_batch_norm=False, num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=2,
                    hidden_act="relu", feat_extract_activation="gelu"),
        ctc=dict(hidden_size=24, num_hidden_layers=3, num_attention_heads=3, intermediate_size=40,
                 conv_dim=[16, 16, 16, 16, 16, 16, 16], conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2],
                 conv_bias=True, feat_extract_norm="layer", do_stable_layer_norm=True,
                 num_conv_pos_embeddings=9, num_conv_pos_embedding_groups=3, hidden_act="gelu", feat_extract_activation="relu"),
        vocab="latin"),
}


def make_audio(dirname, seed, specs):
    os.makedirs(dirname, exist_ok=True)
    rng = np.random.default_rng(seed)
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                  return_attention_mask=False)
    tensors, inputs = {}, []
    for i, (sec, f0) in enumerate(specs):
        pcm = make_wave(rng, sec, f0)
        n = int(pcm.shape[0])
        name = f"wave{i}"
        write_wav(os.path.join(dirname, name + ".wav"), pcm)
        waveform = torch.from_numpy(pcm.astype(np.float32) / 32768.0)
        iv = fe(waveform.numpy(), sampling_rate=16000, return_tensors="pt").input_values
        tensors[name + ".waveform"] = waveform
        tensors[name + ".input_values"] = iv.float()
        inputs.append(dict(name=name, num_samples=n, wav=pcm))
    save_file(tensors, os.path.join(dirname, "inputs.safetensors"))
    return inputs, fe


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "masked_spec_embed" in name:
                continue
            if name.endswith("original0") or name.endswith("weight_g"):
                p.copy_(torch.rand(p.shape, generator=g) * 1.5 + 0.5)
            elif p.dim() == 1 and "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.2 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)


def capture(model, base):
    traces, hooks = {}, []
    def hook(key):
        def f(_m, _i, out):
            traces[key] = (out[0] if isinstance(out, tuple) else out).detach().clone()
        return f
    hooks.append(base.feature_extractor.register_forward_hook(hook("trace.conv_features")))
    hooks.append(base.feature_projection.register_forward_hook(hook("trace.feature_projection")))
    hooks.append(base.encoder.pos_conv_embed.register_forward_hook(hook("trace.pos_conv_embed")))
    hooks.append(base.encoder.layer_norm.register_forward_hook(hook("trace.encoder_layer_norm")))
    for i, layer in enumerate(base.encoder.layers):
        hooks.append(layer.register_forward_hook(hook(f"trace.encoder_layer{i}")))
    return traces, hooks


def input_entry(inp, frames, tensor_names):
    n = inp["name"]
    return dict(name=n, num_samples=inp["num_samples"], num_frames=frames, wav_file=f"../audio/{n}.wav",
                input_tensors=dict(waveform=f"../audio/inputs.safetensors:{n}.waveform",
                                   input_values=f"../audio/inputs.safetensors:{n}.input_values"),
                tensors=sorted(tensor_names))


def make_hubert(root, v, inputs, fe):
    d = os.path.join(root, "hubert"); os.makedirs(d, exist_ok=True)
    torch.manual_seed(v["seed"])
    cfg = HubertConfig(**v["hubert"])
    cfg._attn_implementation = "eager"
    model = HubertModel(cfg).eval()
    randomize(model, v["seed"] + 1)
    model.save_pretrained(os.path.join(d, "model"))
    fe.save_pretrained(os.path.join(d, "model"))
    st = load_file(os.path.join(d, "model", "model.safetensors"))
    legacy = {k.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1", "weight_v"): t
              for k, t in st.items()}
    save_file(legacy, os.path.join(d, "model_legacy_weight_norm_names.safetensors"))
    audio = load_file(os.path.join(root, "audio", "inputs.safetensors"))
    out, entries = {}, []
    for inp in inputs:
        traces, hooks = capture(model, model)
        with torch.no_grad():
            h = model(audio[inp["name"] + ".input_values"]).last_hidden_state
        for hk in hooks: hk.remove()
        names = {}
        names["last_hidden_state"] = h
        names.update(traces)
        for k, t in names.items():
            out[f"{inp['name']}.{k}"] = t.contiguous()
        entries.append(input_entry(inp, h.shape[1], [f"{inp['name']}.{k}" for k in names]))
    cases = dict(description="variant HubertModel", model_config=cfg.to_dict(),
                 feature_extractor=json.load(open(os.path.join(d, "model", "preprocessor_config.json"))),
                 inputs=entries, tensors={k: dict(shape=list(t.shape), dtype="float32") for k, t in out.items()})
    save_cases(d, out, cases, ensure_ascii=False)


def make_vocab(kind):
    letters = list("abcdefghijklmnopqrstuvwxyz'")
    if kind == "latin_pad_last":
        syms = ["<s>", "</s>", "<unk>", "|"] + letters + ["<pad>"]
    else:
        syms = ["<pad>", "<s>", "</s>", "<unk>", "|"] + letters
    return {s: i for i, s in enumerate(syms)}


def make_ctc(root, v, inputs, fe):
    d = os.path.join(root, "wav2vec2-ctc"); md = os.path.join(d, "model"); os.makedirs(md, exist_ok=True)
    vocab = make_vocab(v["vocab"])
    with open(os.path.join(d, "vocab_tmp.json"), "w") as f:
        json.dump(vocab, f, ensure_ascii=False)
    tok = Wav2Vec2CTCTokenizer(os.path.join(d, "vocab_tmp.json"), unk_token="<unk>", pad_token="<pad>",
                               word_delimiter_token="|", bos_token="<s>", eos_token="</s>")
    os.remove(os.path.join(d, "vocab_tmp.json"))
    audio = load_file(os.path.join(root, "audio", "inputs.safetensors"))
    for attempt in range(40):
        seed = v["seed"] * 100 + attempt
        torch.manual_seed(seed)
        cfg = Wav2Vec2Config(vocab_size=len(vocab), pad_token_id=vocab["<pad>"], **v["ctc"])
        cfg._attn_implementation = "eager"
        model = Wav2Vec2ForCTC(cfg).eval()
        randomize(model, seed + 1)
        # Make the greedy decode non-trivial: sharper letter logits, then shift the blank and the word delimiter
        # so that about 40 % / 15 % of the frames pick them.
        with torch.no_grad():
            model.lm_head.weight.mul_(4.0)
            hs = [model.wav2vec2(audio[i["name"] + ".input_values"]).last_hidden_state[0] for i in inputs]
            logits_all = model.lm_head(torch.cat(hs))
            for sym, share in (("<pad>", 0.4), ("|", 0.15)):
                k = vocab[sym]
                others = torch.cat([logits_all[:, :k], logits_all[:, k + 1:]], dim=1).max(dim=1).values
                model.lm_head.bias[k] += torch.quantile(others - logits_all[:, k], share) + 0.01
                logits_all = model.lm_head(torch.cat(hs))
        results, gap = [], 1e9
        for inp in inputs:
            traces, hooks = capture(model, model.wav2vec2)
            with torch.no_grad():
                logits = model(audio[inp["name"] + ".input_values"]).logits
            for hk in hooks: hk.remove()
            top2 = logits[0].topk(2, dim=-1).values
            gap = min(gap, float((top2[:, 0] - top2[:, 1]).min()))
            results.append((inp, logits, traces))
        if gap > 2e-3:
            break
    model.save_pretrained(md); fe.save_pretrained(md); tok.save_pretrained(md)
    inv = {i: s for s, i in vocab.items()}
    out, entries = {}, []
    for inp, logits, traces in results:
        n = inp["name"]
        ids = logits[0].argmax(-1)
        out[f"{n}.logits"] = logits.contiguous(); out[f"{n}.argmax_ids"] = ids.contiguous()
        for k, t in traces.items(): out[f"{n}.{k}"] = t.contiguous()
        a = ids.tolist()
        collapsed = [x for i, x in enumerate(a) if i == 0 or x != a[i - 1]]
        no_pad = [x for x in collapsed if x != vocab["<pad>"]]
        text = "".join(" " if inv[x] == "|" else inv[x] for x in no_pad)
        top2 = logits[0].topk(2, dim=-1).values
        e = input_entry(inp, logits.shape[1], [f"{n}.logits", f"{n}.argmax_ids"] + [f"{n}.{k}" for k in traces])
        e.update(argmax_ids=a, collapsed_ids=collapsed, ids_without_pad=no_pad, greedy_text=text,
                 greedy_text_stripped=text.strip(), hf_tokenizer_decode=tok.decode(a),
                 min_top1_minus_top2_logit=float((top2[:, 0] - top2[:, 1]).min()))
        entries.append(e)
    cases = dict(description="variant Wav2Vec2ForCTC", model_config=cfg.to_dict(), feature_extractor=fe.to_dict(),
                 vocab=vocab, blank_id=vocab["<pad>"], word_delimiter="|", inputs=entries,
                 tensors={k: dict(shape=list(t.shape)) for k, t in out.items()})
    save_cases(d, out, cases, ensure_ascii=False)


def make_resample_ref(out_dir):
    g = torch.Generator().manual_seed(5)
    pairs = [(44100, 16000), (48000, 16000), (22050, 16000), (16000, 32000), (32000, 16000), (8000, 16000),
             (24000, 32000), (16000, 22050), (11025, 16000)]
    tensors, meta = {}, []
    for i, (a, b) in enumerate(pairs):
        n = int(a * 0.1) + i  # odd lengths too
        t = torch.arange(n, dtype=torch.float64) / a
        x = (0.3 * torch.sin(2 * torch.pi * 440 * t) + 0.2 * torch.sin(2 * torch.pi * 0.4 * min(a, b) * t)
             + 0.1 * torch.randn(n, generator=g, dtype=torch.float64)).float()
        y = torchaudio.functional.resample(x, a, b)
        tensors[f"case{i}.input"] = x.contiguous(); tensors[f"case{i}.output"] = y.contiguous()
        meta.append(dict(name=f"case{i}", from_rate=a, to_rate=b, samples=n, output_samples=int(y.numel())))
    save_file(tensors, os.path.join(out_dir, "torchaudio_resample.safetensors"))
    json.dump(dict(torchaudio=torchaudio.__version__, method="torchaudio.functional.resample defaults", cases=meta),
              open(os.path.join(out_dir, "torchaudio_resample.json"), "w"), indent=1)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, v in VARIANTS.items():
        root = os.path.join(out, name)
        inputs, fe = make_audio(os.path.join(root, "audio"), v["seed"], v["audio"])
        make_hubert(root, v, inputs, fe)
        make_ctc(root, v, inputs, fe)
        print(name, "done")
    make_resample_ref(out)
    print("versions: torch", torch.__version__, "torchaudio", torchaudio.__version__)


if __name__ == "__main__":
    main()
