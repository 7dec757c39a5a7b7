# Writes small torch.save-like archives (stored zip, pickled dict with tensors and a custom
# HParams class) with plain Python: fake `torch` / `utils` modules stand in for the real ones.
# Usage: python3 make_pickles.py OUT_DIR  (also writes fuzz seeds to ./corpus)
import sys, types, pickle, io, zipfile, collections, struct
torch = types.ModuleType('torch'); utils = types.ModuleType('torch._utils')
sys.modules['torch'] = torch; sys.modules['torch._utils'] = utils
class FloatStorage: pass
FloatStorage.__module__='torch'; FloatStorage.__qualname__='FloatStorage'
torch.FloatStorage = FloatStorage
class HalfStorage: pass
HalfStorage.__module__='torch'; HalfStorage.__qualname__='HalfStorage'; torch.HalfStorage=HalfStorage
def _rebuild_tensor_v2(*a): pass
_rebuild_tensor_v2.__module__='torch._utils'; utils._rebuild_tensor_v2=_rebuild_tensor_v2; torch._utils=utils
class Storage:
    def __init__(s, key, n, t): s.key, s.n, s.t = key, n, t
class T:
    def __init__(s, st, off, size, stride): s.a=(st, off, size, stride, False, collections.OrderedDict())
    def __reduce__(s): return (_rebuild_tensor_v2, s.a)
utilsmod = types.ModuleType('utils'); sys.modules['utils']=utilsmod
class HParams:
    def __init__(s, **kw): s.__dict__.update(kw)
HParams.__module__='utils'; utilsmod.HParams=HParams
class P(pickle.Pickler):
    def persistent_id(s, o):
        if isinstance(o, Storage): return ('storage', o.t, o.key, 'cpu', o.n)
        return None
s0 = Storage('0', 6, FloatStorage); s1 = Storage('1', 4, HalfStorage)
obj = collections.OrderedDict(weight=collections.OrderedDict([('a.w', T(s0, 0, (2,3), (3,1))), ('a.b', T(s1, 1, (3,), (1,))), ('a.t', T(s0, 0, (3,2), (1,3)))]),
    config=HParams(train=HParams(lr=1e-4, betas=[0.8, 0.99], seg=b'\x00\xff'), model={'n': 3, 'k': (1, 2), 's': {1, 2}}), info='GPT-e1')
buf = io.BytesIO(); P(buf, protocol=2).dump(obj); pkl = buf.getvalue()
open('corpus/pkl_small', 'wb').write(b'\x00' + pkl)
def archive(pkl):
    zb = io.BytesIO()
    with zipfile.ZipFile(zb, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', pkl); z.writestr('archive/byteorder', 'little')
        z.writestr('archive/data/0', struct.pack('<6f', *range(6))); z.writestr('archive/data/1', struct.pack('<4e', 1, 2, 3, 4))
    return zb.getvalue()
open('corpus/zip_small', 'wb').write(b'\x01' + archive(pkl))
import os
out = sys.argv[1] if len(sys.argv) > 1 else None
if out:
    open(os.path.join(out, 'protocol2.ckpt'), 'wb').write(archive(pkl))
    b4 = io.BytesIO(); P(b4, protocol=4).dump(obj)
    open(os.path.join(out, 'protocol4.ckpt'), 'wb').write(archive(b4.getvalue()))
import zipfile as Z
conformance = os.environ.get('TROUPE_CONFORMANCE_DIR', os.path.join(os.path.dirname(__file__), '../../../../shared/conformance'))
z = Z.ZipFile(os.path.join(conformance, 'gpt-sovits/models/s1.ckpt'))
n = [i for i in z.namelist() if i.endswith('data.pkl')][0]
open('corpus/pkl_s1', 'wb').write(b'\x00' + z.read(n))
buf = io.BytesIO(); P(buf, protocol=4).dump(obj); open('corpus/pkl_p4', 'wb').write(b'\x00' + buf.getvalue())
buf = io.BytesIO(); P(buf, protocol=0).dump(obj); open('corpus/pkl_p0', 'wb').write(b'\x00' + buf.getvalue())
