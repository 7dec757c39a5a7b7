#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets to tests/fuzz/corpus/<target>/ (small files,
committed). Seeds come from the repository's own files where they are small (manifests, scenes,
suites, persona lines) and are synthesised otherwise. Run from anywhere: python3 tests/fuzz/make_seeds.py
(needs only the Python standard library; the checkpoint seeds come from tests/torch_checkpoint/data)."""
import io, json, os, shutil, struct, subprocess, sys, tempfile, wave, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
OUT = os.path.join(HERE, 'corpus')


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def read(rel):
    with open(os.path.join(ROOT, rel), 'rb') as f:
        return f.read()


def ls(rel):
    return sorted(os.listdir(os.path.join(ROOT, rel)))


def safetensors(tensors, metadata=None):
    header, blobs, off = {}, b'', 0
    if metadata:
        header['__metadata__'] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [off, off + len(raw)]}
        blobs += raw
        off += len(raw)
    h = json.dumps(header, separators=(',', ':')).encode()
    return struct.pack('<Q', len(h)) + h + blobs


def wav(rate, channels, width, frames):
    b = io.BytesIO()
    with wave.open(b, 'wb') as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(bytes((i * 37) % 256 for i in range(frames * channels * width)))
    return b.getvalue()


def float_wav(rate, frames):
    data = b''.join(struct.pack('<f', ((i % 50) - 25) / 25.0) for i in range(frames))
    fmt = struct.pack('<HHIIHH', 3, 1, rate, rate * 4, 4, 32)
    body = b'WAVE' + b'fmt ' + struct.pack('<I', len(fmt)) + fmt + b'data' + struct.pack('<I', len(data)) + data
    return b'RIFF' + struct.pack('<I', len(body)) + body


def http_seeds():
    """fuzz_http_requests: byte 0 selects the route (see the target), then a valid request of it."""
    t = 'fuzz_http_requests'
    chat = {'model': 'minji', 'messages': [{'role': 'system', 'content': 'x'},
                                            {'role': 'user', 'content': '회식 자리에서 건배사를 부탁받았다'}]}
    put(t, 'chat-min', '\x00' + json.dumps(chat, ensure_ascii=False))
    chat.update({'stream': True, 'stream_options': {'include_usage': True}, 'temperature': 0.7, 'top_p': 0.9,
                 'max_tokens': 64, 'seed': 7, 'stop': ['\n', '끝'], 'n': 1, 'troupe': {'action': '웃으며', 'seed': 3}})
    chat['messages'].append({'role': 'user', 'content': [{'type': 'text', 'text': '파트'}, {'type': 'text', 'text': '둘'}]})
    put(t, 'chat-full', '\x00' + json.dumps(chat, ensure_ascii=False))
    put(t, 'speech', '\x01' + json.dumps({'model': 'tts-1', 'voice': 'minji', 'input': '안녕하세요', 'response_format': 'pcm',
                                            'speed': 1.25, 'emotion': 'happy', 'seed': 1}, ensure_ascii=False))
    tts = {'text': '안녕하세요', 'text_lang': 'ko', 'ref_audio_path': 'voices/a.wav', 'prompt_lang': 'ko',
           'prompt_text': '참고', 'media_type': 'wav', 'text_split_method': 'cut5', 'streaming_mode': 1, 'top_k': 5,
           'top_p': 1, 'temperature': 1, 'speed_factor': 0.9, 'seed': -1, 'character': 'minji', 'emotion': 'sad'}
    put(t, 'tts-post', '\x02' + json.dumps(tts, ensure_ascii=False))
    put(t, 'tts-get', '\x03text=안녕&text_lang=ko&media_type=raw&streaming_mode=true&top_k=15&speed_factor=1.1&seed=3')
    scene = read('scenes/' + [f for f in ls('scenes') if f.endswith('.toml')][0]).decode()
    put(t, 'scene-toml', b'\x04\x00' + scene.encode())
    put(t, 'scene-json', '\x04\x01' + json.dumps({'title': '회식', 'cast': ['minji', 'jiho'], 'seed': 1, 'pause_seconds': 0.3,
                                                    'beats': [{'speaker': 'minji', 'situation': '건배'},
                                                              {'speaker': 'jiho', 'line': '네!', 'emotion': None}]},
                                                   ensure_ascii=False))
    put(t, 'scene-script', '\x04\x01' + json.dumps({'script': scene}, ensure_ascii=False))
    put(t, 'last-event-id', '\x0542')


def main():
    if sys.argv[1:] == ['fuzz_http_requests']:  # only this target's seeds (the others unchanged)
        return http_seeds()
    http_seeds()
    shutil.rmtree(OUT, ignore_errors=True)
    # Host TOML readers: '0' + plugin.toml, '1' + troupe.toml (the target's selector byte).
    for p in ls('plugins'):
        if os.path.exists(os.path.join(ROOT, 'plugins', p, 'plugin.toml')):
            put('fuzz_host_toml', 'plugin-' + p, b'0' + read(f'plugins/{p}/plugin.toml'))
    put('fuzz_host_toml', 'troupe-full', '1[plugins]\npaths = ["/opt/troupe-plugins", "rel"]\n'
        '[characters]\npaths = ["my-characters"]\nallow_dirs = ["/data/voices"]\n'
        '[plugin.eeve-lora]\nmodel.dir = "/models/EEVE"\nquantize = "nf4"\n[plugin.gpt-sovits]\ndevice = "cpu"\nspeed = 1.0\n')
    put('fuzz_host_toml', 'troupe-empty', '1')
    # Characters (the cast), scenes, suites.
    for c in ls('characters'):
        f = f'characters/{c}/character.toml'
        if os.path.exists(os.path.join(ROOT, f)):
            put('fuzz_character', c, read(f).replace(f'id = "{c}"'.encode(), b'id = "fuzzchar"'))
    for s in ls('scenes'):
        if s.endswith('.toml'):
            put('fuzz_scene', s, read(f'scenes/{s}'))
    for s in ls('eval/suites'):
        if s.endswith('.toml'):
            put('fuzz_eval_suite', s, read(f'eval/suites/{s}'))
    put('fuzz_eval_suite', 'fixture-suite.toml', read('tests/eval/fixtures/suite.toml'))
    # Eval journal.
    put('fuzz_eval_journal', 'journal.jsonl',
        '{"type":"header","config_hash":"abc","suite":"seed"}\n'
        '{"type":"event","event":"run","started":"2026-12-06T00:00:00Z"}\n'
        '{"id":"text/bujang/0","type":"text","character":"bujang","line":"좋아","latency_s":0.5}\n'
        '{"id":"text/bujang/0","type":"text","character":"bujang","line":"다시","latency_s":0.4}\n'
        '{"id":"voice/sinip/1","type":"voice","wer":0.1}\n{"id":"torn", "ty')
    # Persona JSONL: a few real lines of the dataset, plus bad ones.
    lines = read('datasets/persona/valid.jsonl').decode().splitlines()[:3]
    put('fuzz_persona_jsonl', 'valid3.jsonl', '\n'.join(lines) + '\n')
    put('fuzz_persona_jsonl', 'mixed.jsonl', lines[0] + '\n\n{"instruction": 1}\nnot json\n'
        '{"instruction": "a", "input": "상황: x", "output": " y ", "character": "bujang", "situation_id": "s1"}\n' + lines[0] + '\n')
    # AI Hub labels.
    put('fuzz_aihub_label', 'nested.json', json.dumps({'파일정보': {'FileName': 'a_0001.wav'}, '화자정보': {'SpeakerName': 'S01'},
        '전사정보': {'TransLabelText': '(2시)/(두 시)에 b/ 만나요 l/', 'OrgLabelText': '2시에 만나요'}}, ensure_ascii=False))
    put('fuzz_aihub_label', 'flat.json', '\ufeff{"text": "안녕하세요\\n반갑습니다", "speaker": "spk1", "wav": "x.wav"}')
    put('fuzz_aihub_label', 'segments.json', json.dumps({'utterances': [{'text': '하나'}, {'text': '둘'}]}, ensure_ascii=False))
    # list.txt
    put('fuzz_list_txt', 'list.txt', 'wavs/a.wav|spk1|ko|안녕하세요.\n/abs/b.wav|spk2|KO|반갑습니다\n\nbad line\n'
        'c.wav|s|EN|hello|extra\nd.wav|s|yue|你好\r\n')
    # WAV input.
    put('fuzz_wav', 'pcm16-mono.wav', wav(16000, 1, 2, 64))
    put('fuzz_wav', 'pcm16-stereo.wav', wav(22050, 2, 2, 32))
    put('fuzz_wav', 'pcm8.wav', wav(8000, 1, 1, 64))
    put('fuzz_wav', 'pcm24.wav', wav(32000, 1, 3, 32))
    put('fuzz_wav', 'float32.wav', float_wav(44100, 32))
    # safetensors header.
    put('fuzz_safetensors_header', 'two.safetensors', safetensors(
        {'a.weight': ('F32', [2, 2], bytes(16)), 'b': ('BF16', [3], bytes(6))}, {'format': 'pt'}))
    put('fuzz_safetensors_header', 'scalar.safetensors', safetensors({'s': ('I64', [], bytes(8)), 'e': ('F16', [0, 4], b'')}))
    # safetensors index (the target writes shards a.safetensors / b.safetensors holding w.a / w.b).
    put('fuzz_safetensors_index', 'index.json', json.dumps({'metadata': {'total_size': 16},
        'weight_map': {'w.a': 'a.safetensors', 'w.b': 'b.safetensors'}}))
    put('fuzz_safetensors_index', 'missing.json', json.dumps({'weight_map': {'w.c': 'a.safetensors'}}))
    # Pickle checkpoints: the seeds of tests/torch_checkpoint/data/make_pickles.py.
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, 'corpus'))
        subprocess.run([sys.executable, os.path.join(ROOT, 'tests/torch_checkpoint/data/make_pickles.py')],
                       cwd=tmp, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in sorted(os.listdir(os.path.join(tmp, 'corpus'))):
            data = open(os.path.join(tmp, 'corpus', name), 'rb').read()
            if len(data) <= 16384:
                put('fuzz_torch_checkpoint', name, data)
    for ck in ('protocol2.ckpt', 'protocol4.ckpt'):
        put('fuzz_torch_checkpoint', ck, b'1' + read(f'tests/torch_checkpoint/data/{ck}'))
    # Tokenizer: '0' + tokenizer.json (a small one), '1' + text for the target's built-in tokenizer.
    tok = {'added_tokens': [{'id': 0, 'content': '<unk>', 'special': True, 'normalized': False}],
           'normalizer': None,
           'pre_tokenizer': {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'first', 'split': False},
           'decoder': {'type': 'Sequence', 'decoders': [{'type': 'Replace', 'pattern': {'String': '\u2581'}, 'content': ' '},
                                                        {'type': 'ByteFallback'}, {'type': 'Fuse'}]},
           'model': {'type': 'BPE', 'byte_fallback': True, 'fuse_unk': True,
                     'vocab': {'<unk>': 0, '<0x41>': 1, '\u2581': 2, '가': 3, '나': 4, '가나': 5},
                     'merges': [['가', '나']]}}
    put('fuzz_vocab', 'tokenizer.json', '0' + json.dumps(tok, ensure_ascii=False))
    put('fuzz_vocab', 'text-ko', '1가나 ab</s>녕 \u2581\n')
    put('fuzz_vocab', 'text-bytes', b'1\xeb\x85\x95ab\xed\x9e\xa3')
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print(f'seeds: {sum(len(fs) for _, _, fs in os.walk(OUT))} files, {total} bytes in {OUT}')


if __name__ == '__main__':
    main()
