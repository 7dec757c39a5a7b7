// Restricted unpickler and zip reader: hand-built pickles and archives, hostile ones included.
#define BOOST_TEST_MODULE torch_checkpoint
#include <boost/test/unit_test.hpp>

#include <troupe/status.hpp>
#include <troupe/torch/torch_checkpoint.hpp>
#include <troupe/torch/zip_reader.hpp>

#include "../common/torch_save_writer.hpp"

#include <ATen/Functions.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <string>
#include <vector>

using troupe::Error;
namespace pt = troupe::pt;

namespace {

using P = troupe::test::PickleWriter;

pt::Pickle load(const P& p) {
    auto v = p.bytes();
    return pt::unpickle(v.data(), v.size(), "test.pkl");
}

bool error_mentions(const Error& e, const std::string& what) {
    return std::string(e.what()).find(what) != std::string::npos;
}

std::vector<uint8_t> make_zip(const std::vector<std::pair<std::string, std::string>>& files) {
    const std::string zip = troupe::test::stored_zip(files);
    return {zip.begin(), zip.end()};
}

// data.pkl of {"weight": {"w": tensor(storage "0", offset, size, stride)}} with a FloatStorage of `numel`.
std::string tensor_pickle(int numel, int offset, std::vector<int> size, std::vector<int> stride) {
    P p;
    p.op('}').str("weight").op('}').str("w");
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.mark();
    p.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").i4(numel).op('t').op('Q');
    p.i4(offset);
    p.mark(); for (int s : size) p.i4(s); p.op('t');
    p.mark(); for (int s : stride) p.i4(s); p.op('t');
    p.op('\x89');
    p.global("collections", "OrderedDict").op(')').op('R');
    p.op('t').op('R');
    p.op('s').op('s').stop();
    return p.b;
}

std::string floats(int n) {
    std::string s(size_t(n) * 4, '\0');
    for (int i = 0; i < n; ++i) {
        float f = float(i) + 0.5f;
        std::memcpy(&s[size_t(i) * 4], &f, 4);
    }
    return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(plain_containers) {
    P p;
    p.op('}').op('q').raw(std::string(1, '\0'));
    p.mark();
    p.str("a").i1(7);
    p.str("neg").i4(-5);
    p.str("f").op('G').raw(std::string("\x3f\xf8\x00\x00\x00\x00\x00\x00", 8));  // 1.5
    p.str("l").op(']').mark().str("x").op('N').op('\x88').op('e');
    p.str("t").i1(1).i1(2).op('\x86');
    p.str("big").op('\x8a').raw(std::string("\x05\x00\x00\x00\x00\x01", 6));  // LONG1, 5 bytes: 2^32
    p.str("b").global("_codecs", "encode").str("\xc3\xbf" "A").str("latin1").op('\x86').op('R');
    p.op('u').stop();
    auto pk = load(p);
    const auto& r = pk.root();
    BOOST_TEST(r.is_dict());
    BOOST_TEST(r.at("a").as_int() == 7);
    BOOST_TEST(r.at("neg").as_int() == -5);
    BOOST_TEST(r.at("f").as_double() == 1.5);
    BOOST_TEST(r.at("l").items().size() == 3u);
    BOOST_TEST(r.at("l").items()[0]->as_string() == "x");
    BOOST_TEST(r.at("l").items()[1]->is_none());
    BOOST_TEST(r.at("l").items()[2]->as_bool());
    BOOST_TEST(r.at("t").items()[1]->as_int() == 2);
    BOOST_TEST(r.at("big").as_int() == (int64_t(1) << 32));
    BOOST_TEST(r.at("b").as_string() == std::string("\xff" "A"));
    const auto j = pt::to_json(r);
    BOOST_TEST(j["a"] == 7);
    BOOST_TEST(j["l"][0] == "x");
}

BOOST_AUTO_TEST_CASE(custom_class_is_inert_data) {
    // utils.HParams() via NEWOBJ + BUILD with its __dict__, nested (as GPT-SoVITS's s2 config).
    P p;
    p.op('}').str("config");
    p.global("utils", "HParams").op('q').raw(std::string(1, '\x01')).op(')').op('\x81');
    p.op('}').mark();
    p.str("lr").op('G').raw(std::string("\x3f\x1a\x36\xe2\xeb\x1c\x43\x2d", 8));  // 1e-4
    p.str("model").op('h').raw(std::string(1, '\x01')).op(')').op('\x81').op('}').str("hidden").i1(32).op('s').op('b');
    p.op('u').op('b');
    p.op('s').stop();
    auto pk = load(p);
    const auto& cfg = pk.root().at("config");
    BOOST_TEST(cfg.is_object());
    BOOST_TEST(cfg.class_name() == "utils.HParams");
    BOOST_TEST(cfg.at("lr").as_double() == 1e-4);
    BOOST_TEST(cfg.at("model").at("hidden").as_int() == 32);
    const auto j = pt::to_json(cfg);
    BOOST_TEST(j["model"]["hidden"] == 32);
}

BOOST_AUTO_TEST_CASE(refuses_os_system) {
    P p;
    p.global("os", "system").str("echo pwned").op('\x85').op('R').stop();
    try {
        load(p);
        BOOST_FAIL("os.system was accepted");
    } catch (const Error& e) {
        BOOST_TEST((e.code() == troupe::Errc::invalid_file));
        BOOST_TEST(error_mentions(e, "os.system"));
    }
    for (auto [m, n] : std::vector<std::pair<std::string, std::string>>{
             {"posix", "system"}, {"subprocess", "Popen"}, {"builtins", "eval"}, {"__builtin__", "exec"},
             {"builtins", "getattr"}, {"torch", "__builtins__"}, {"copyreg", "add_extension"}, {"os.path", "join"}}) {
        P q;
        q.global(m, n).stop();
        BOOST_CHECK_THROW(load(q), Error);
    }
    // STACK_GLOBAL (protocol 4) goes through the same check.
    P s;
    s.str("builtins").str("eval").op('\x93').stop();
    BOOST_CHECK_THROW(load(s), Error);
}

BOOST_AUTO_TEST_CASE(refuses_reduce_of_unknown_callable) {
    P p;
    p.global("mymodule", "evil").str("x").op('\x85').op('R').stop();
    try {
        load(p);
        BOOST_FAIL("REDUCE of an unknown callable was accepted");
    } catch (const Error& e) {
        BOOST_TEST(error_mentions(e, "mymodule.evil"));
    }
    // A class may be instantiated inertly with NEWOBJ, but never called with REDUCE.
    P q;
    q.global("utils", "HParams").op(')').op('R').stop();
    BOOST_CHECK_THROW(load(q), Error);
    // REDUCE of a non-global (e.g. a string) is refused.
    P r;
    r.str("os.system").op(')').op('R').stop();
    BOOST_CHECK_THROW(load(r), Error);
}

BOOST_AUTO_TEST_CASE(refuses_malformed) {
    const std::vector<std::string> bad = {
        std::string("\x80\x02\xff.", 4),          // unknown opcode
        std::string("\x80\x02X\xff\xff\x00\x00" "ab.", 10),  // string longer than the input
        std::string("\x80\x02", 2),              // no STOP
        std::string("\x80\x02.", 3),             // STOP on an empty stack
        std::string("\x80\x02NN.", 5),           // two values left
        std::string("\x80\x02h\x05.", 5),        // memo key never stored
        std::string("\x80\x02" "a.", 4),          // APPEND on empty stack
        std::string("\x80\x02NNa.", 6),          // APPEND to None
        std::string("\x80\x02" "e.", 4),          // APPENDS without MARK
        std::string("\x80\x09N.", 4),            // unknown protocol
        std::string("\x80\x02(X\x01\x00\x00\x00kNu.", 13),  // SETITEMS on nothing
        std::string("\x80\x02(X\x01\x00\x00\x00kQ.", 12),  // persistent id without an archive
        std::string("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00.", 14),  // 9-byte integer
        std::string("\x80\x02\x82\x01.", 5),     // EXT1 (extension registry) refused
    };
    for (const auto& s : bad) {
        std::vector<uint8_t> v(s.begin(), s.end());
        BOOST_CHECK_THROW(pt::unpickle(v.data(), v.size(), "bad.pkl"), Error);
    }
}

BOOST_AUTO_TEST_CASE(cycles_do_not_crash) {
    // l = []; l.append(l)
    const std::string s("\x80\x02]q\x00h\x00" "a.", 9);
    std::vector<uint8_t> v(s.begin(), s.end());
    auto pk = pt::unpickle(v.data(), v.size(), "cycle.pkl");
    BOOST_TEST(pk.root().items().size() == 1u);
    BOOST_TEST(pk.root().items()[0] == &pk.root());
    BOOST_CHECK_THROW(pt::to_json(pk.root()), Error);
}

BOOST_AUTO_TEST_CASE(checkpoint_archive) {
    const auto zip = make_zip({{"archive/data.pkl", tensor_pickle(6, 1, {2, 2}, {2, 1})},
                               {"archive/byteorder", "little"},
                               {"archive/data/0", floats(6)}});
    auto ck = pt::Checkpoint::from_bytes(zip.data(), zip.size(), "mem.ckpt");
    BOOST_TEST(ck.prefix() == "archive");
    BOOST_TEST(ck.version_tag() == "");
    const auto sd = ck.state_dict("weight");
    BOOST_REQUIRE(sd.count("w"));
    const auto w = sd.at("w");
    BOOST_TEST(w.sizes().vec() == std::vector<int64_t>({2, 2}));
    BOOST_TEST(w[0][0].item<float>() == 1.5f);
    BOOST_TEST(w[1][1].item<float>() == 4.5f);

    // GPT-SoVITS version tag over "PK".
    auto tagged = zip;
    tagged[0] = '0';
    tagged[1] = '5';
    auto ck2 = pt::Checkpoint::from_bytes(tagged.data(), tagged.size(), "tagged.pth");
    BOOST_TEST(ck2.version_tag() == "05");
    BOOST_TEST(ck2.state_dict().at("w").equal(w));
}

BOOST_AUTO_TEST_CASE(checkpoint_refuses_out_of_bounds) {
    // Storage claims more elements than its record holds.
    auto z1 = make_zip({{"a/data.pkl", tensor_pickle(100, 0, {2}, {1})}, {"a/data/0", floats(6)}});
    BOOST_CHECK_THROW(pt::Checkpoint::from_bytes(z1.data(), z1.size(), "big.ckpt"), Error);
    // A view reading past its storage.
    auto z2 = make_zip({{"a/data.pkl", tensor_pickle(6, 3, {2, 2}, {2, 1})}, {"a/data/0", floats(6)}});
    BOOST_CHECK_THROW(pt::Checkpoint::from_bytes(z2.data(), z2.size(), "view.ckpt"), Error);
    // Negative stride / offset.
    auto z3 = make_zip({{"a/data.pkl", tensor_pickle(6, 0, {2}, {-1})}, {"a/data/0", floats(6)}});
    BOOST_CHECK_THROW(pt::Checkpoint::from_bytes(z3.data(), z3.size(), "neg.ckpt"), Error);
    // Missing storage record.
    auto z4 = make_zip({{"a/data.pkl", tensor_pickle(6, 0, {2}, {1})}});
    BOOST_CHECK_THROW(pt::Checkpoint::from_bytes(z4.data(), z4.size(), "nostorage.ckpt"), Error);
    // Big-endian archives are refused.
    auto z5 = make_zip({{"a/data.pkl", tensor_pickle(6, 0, {2}, {1})}, {"a/byteorder", "big"}, {"a/data/0", floats(6)}});
    BOOST_CHECK_THROW(pt::Checkpoint::from_bytes(z5.data(), z5.size(), "be.ckpt"), Error);
}

BOOST_AUTO_TEST_CASE(zip_refuses_truncation_and_garbage) {
    const auto zip = make_zip({{"archive/data.pkl", tensor_pickle(6, 0, {6}, {1})}, {"archive/data/0", floats(6)}});
    for (size_t cut : {size_t(0), size_t(3), size_t(21), zip.size() / 2, zip.size() - 1}) {
        std::vector<uint8_t> t(zip.begin(), zip.begin() + long(cut));
        BOOST_CHECK_THROW(pt::Checkpoint::from_bytes(t.data(), t.size(), "cut.ckpt"), Error);
    }
    // Flip each byte of the headers in turn: never a crash, either an error or a readable archive.
    for (size_t i = 0; i < zip.size(); i += 7) {
        auto m = zip;
        m[i] ^= 0xA5;
        try {
            auto ck = pt::Checkpoint::from_bytes(m.data(), m.size(), "flip.ckpt");
            (void)ck.root();
        } catch (const Error&) {
        }
    }
    std::vector<uint8_t> junk(100, 0x42);
    BOOST_CHECK_THROW(pt::Checkpoint::from_bytes(junk.data(), junk.size(), "junk.ckpt"), Error);
    BOOST_CHECK_THROW(pt::Checkpoint::open("/nonexistent/x.ckpt"), Error);
}

// Archives written by Python's own pickler (protocols 2 and 4) with stand-in torch/utils modules:
// tests/torch_checkpoint/data/make_pickles.py.
BOOST_AUTO_TEST_CASE(python_written_archives) {
    for (const char* file : {"protocol2.ckpt", "protocol4.ckpt"}) {
        BOOST_TEST_CONTEXT(file) {
            const auto ck = pt::Checkpoint::open(std::string(TROUPE_SOURCE_DIR) + "/tests/torch_checkpoint/data/" + file);
            BOOST_TEST(ck.prefix() == "archive");
            const auto sd = ck.state_dict("weight");
            BOOST_REQUIRE(sd.size() == 3u);
            const at::Tensor w = sd.at("a.w"), b = sd.at("a.b"), t = sd.at("a.t");
            BOOST_TEST(w.sizes().vec() == std::vector<int64_t>({2, 3}));
            BOOST_TEST(w.equal(at::arange(6, at::kFloat).reshape({2, 3})));
            BOOST_TEST((b.scalar_type() == at::kHalf));
            BOOST_TEST(b.to(at::kFloat).equal(at::tensor({2.0f, 3.0f, 4.0f})));
            // A strided view sharing a.w's storage: t[i][j] = storage[i + 3j].
            BOOST_TEST(t.equal(at::arange(6, at::kFloat).reshape({2, 3}).t()));
            BOOST_TEST(t.data_ptr() == w.data_ptr());
            const auto& cfg = ck.root().at("config");
            BOOST_TEST(cfg.class_name() == "utils.HParams");
            BOOST_TEST(cfg.at("train").at("lr").as_double() == 1e-4);
            BOOST_TEST(cfg.at("train").at("betas").items()[1]->as_double() == 0.99);
            BOOST_TEST(cfg.at("train").at("seg").as_string() == std::string("\x00\xff", 2));
            BOOST_TEST(cfg.at("model").at("n").as_int() == 3);
            BOOST_TEST(cfg.at("model").at("k").items().size() == 2u);
            BOOST_TEST(cfg.at("model").at("s").items().size() == 2u);
            BOOST_TEST(ck.root().at("info").as_string() == "GPT-e1");
            const auto j = pt::to_json(cfg);
            BOOST_TEST(j["model"]["n"] == 3);
            BOOST_TEST(j["train"]["betas"][0] == 0.8);
        }
    }
}
