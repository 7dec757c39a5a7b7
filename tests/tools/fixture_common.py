"""Shared pieces of the Python fixture generators (tests/{whisper,wavlm-sv,utmos,ssl}/tools/make_*_fixtures.py):
the synthetic voiced test audio, 16-bit 16 kHz WAV files, the common arguments (OUT_DIR, --name, --seed,
--audio), the OUT_DIR/<name>/{model,audio} layout and the cases.safetensors + cases.json pair.

Only numpy is needed to import it (safetensors is imported where the cases are saved). A generator finds it with
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
"""
import json, os, wave

import numpy as np

RATE = 16000


def write_wav(path, pcm):
    """Writes int16 samples as a mono 16-bit 16 kHz WAV file."""
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(RATE); w.writeframes(pcm.astype("<i2").tobytes())


def make_wave(rng, sec, f0, drift="rise"):
    """A voice-like test signal of `sec` seconds as int16: 8 harmonics of `f0` with random phases, 5 Hz vibrato,
    a pitch drift ("rise": +20 % per second; "wobble": ±10 % at 0.3 Hz), 3.5 Hz amplitude modulation and a
    little noise. Draws from `rng` in a fixed order (8 phases, then the noise), so a seed fixes the signal."""
    n = int(round(RATE * sec)); t = np.arange(n) / float(RATE)
    glide = (1 + 0.2 * t) if drift == "rise" else (1 + 0.1 * np.sin(2 * np.pi * 0.3 * t))
    f = f0 * (1 + 0.05 * np.sin(2 * np.pi * 5 * t)) * glide
    ph = 2 * np.pi * np.cumsum(f) / float(RATE)
    x = sum((0.4 / h) * np.sin(h * ph + rng.uniform(0, 6.28)) for h in range(1, 9))
    x = x * (0.55 + 0.45 * np.sin(2 * np.pi * 3.5 * t)) + 0.01 * rng.standard_normal(n)
    return np.clip(np.round(x * 0.45 * 32767), -32768, 32767).astype(np.int16)


def audio_specs(spec):
    """"0.9:150,1.37:210" -> [(0.9, 150.0), (1.37, 210.0)]: seconds and f0 of each input."""
    return [tuple(map(float, s.split(":"))) for s in spec.split(",")]


def add_common_args(parser, name, seed):
    """OUT_DIR, --name (the fixture set's folder) and --seed."""
    parser.add_argument("out"); parser.add_argument("--name", default=name)
    parser.add_argument("--seed", type=int, default=seed)


def add_audio_arg(parser, default):
    """--audio: seconds:f0 of each input (a separate call: where it is added fixes its place in vars(args),
    which utmos' cases.json records)."""
    parser.add_argument("--audio", default=default, help="seconds:f0 of each input, comma-separated")


def fixture_dirs(out, name):
    """Creates OUT_DIR/<name>/{model,audio}; returns (root, model dir, audio dir)."""
    root = os.path.join(out, name); md = os.path.join(root, "model"); ad = os.path.join(root, "audio")
    os.makedirs(md, exist_ok=True); os.makedirs(ad, exist_ok=True)
    return root, md, ad


def save_cases(folder, tensors, meta, ensure_ascii=True):
    """Writes folder/cases.safetensors (the golden tensors) and folder/cases.json (the cases, indented by 1)."""
    from safetensors.torch import save_file
    save_file(tensors, os.path.join(folder, "cases.safetensors"))
    with open(os.path.join(folder, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=ensure_ascii, indent=1, default=str)
