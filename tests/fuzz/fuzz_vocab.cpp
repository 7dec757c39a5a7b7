// libFuzzer target for the tokenizer: the input is a tokenizer.json (first byte 0) or text to
// encode with a small fixed tokenizer (first byte 1). Loading either succeeds or throws
// troupe::Error; whatever loads must encode, decode and stream without crashing, and streaming
// must equal decode().
#include "vocab.hpp"

#include <troupe/status.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

using troupe::llama::IncrementalDecoder;
using troupe::llama::Vocab;

namespace {

const char* kSmallTokenizer = R"({"added_tokens":[
 {"id":0,"content":"<unk>","special":true,"normalized":false},
 {"id":1,"content":"<s>","special":true,"normalized":false},
 {"id":2,"content":"</s>","special":true,"normalized":false}],
 "normalizer":null,
 "pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false},
 "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},
   {"Sequence":{"id":"A","type_id":0}}],"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}},
 "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},
   {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
 "model":{"type":"BPE","byte_fallback":true,"fuse_unk":true,"vocab":{"<unk>":0,"<s>":1,"</s>":2,
   "<0xEB>":3,"<0x85>":4,"<0x95>":5,"<0x0A>":6,"▁":7,"가":8,"나":9,"▁가":10,"가나":11,"a":12,"b":13,"ab":14},
   "merges":[["▁","가"],["가","나"],["a","b"]]}})";

void exercise(const Vocab& v, const std::string& text) {
    std::vector<int64_t> ids;
    try {
        ids = v.encode(text, true);
    } catch (const troupe::Error&) {
        return;  // not UTF-8
    }
    ids.push_back(3);
    ids.push_back(v.size());
    for (bool eager : {false, true}) {
        IncrementalDecoder dec(v, true, eager);
        std::string out;
        for (int64_t id : ids) out += dec.push(id);
        out += dec.flush();
        if (!eager && out != v.decode(ids)) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] % 2 == 0) {
        try {
            const Vocab v = Vocab::from_json_text(body, "fuzz");
            exercise(v, "가나 ab</s>녕\n");
        } catch (const troupe::Error&) {
        }
    } else {
        static const Vocab small = Vocab::from_json_text(kSmallTokenizer, "small");
        exercise(small, body);
    }
    return 0;
}
