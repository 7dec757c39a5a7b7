// troupe lm tokenize|forward|generate: the Llama backend (troupe_llama) from the command line, served by
// the eeve-lora plugin.
#include "lm_commands.hpp"

#include "adapter.hpp"
#include "generator.hpp"
#include "utf8_guard.hpp"
#include "model.hpp"
#include "vocab.hpp"

#include <troupe/kit/file.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace troupe::llama::cli {
namespace po = boost::program_options;
using kit::parse_options;
using kit::print_json;
using kit::read_file;

namespace {

struct ModelOptions {
    std::string model, adapter, device = "cpu", dtype, quantize = "none";
    bool merge = false;
    void add(po::options_description& o, bool with_adapter = true) {
        o.add_options()("model", po::value(&model)->required(), "HF model folder (config.json, safetensors, tokenizer.json)")(
            "device", po::value(&device)->default_value("cpu"), "cpu | cuda | cuda:N")(
            "dtype", po::value(&dtype), "float32 | bfloat16 | float16 (default: config.json)")(
            "quantize", po::value(&quantize)->default_value("none"), "none | nf4");
        if (with_adapter)
            o.add_options()("adapter", po::value(&adapter), "PEFT LoRA adapter folder")(
                "merge", po::bool_switch(&merge), "fold the adapter into the weights instead of applying it unmerged");
    }
    llama::Model load(std::unique_ptr<llama::Adapter>& ad) const {
        llama::LoadOptions lo;
        lo.device = device;
        lo.dtype = dtype;
        lo.quantize = quantize;
        llama::Model m = llama::Model::load(model, lo);
        if (!adapter.empty()) {
            ad = std::make_unique<llama::Adapter>(llama::Adapter::load(adapter, m));
            if (merge) {
                m = m.merged(*ad);
                ad.reset();
            }
        } else if (merge) {
            throw Error(Errc::invalid_argument, "--merge needs --adapter");
        }
        return m;
    }
};

std::vector<int64_t> parse_ids(const std::string& text) {
    std::vector<int64_t> ids;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != item.size())
            throw Error(Errc::invalid_argument, fmt::format("--ids: \"{}\" is not an integer", item));
        ids.push_back(v);
    }
    if (ids.empty()) throw Error(Errc::invalid_argument, "--ids is empty");
    return ids;
}

class VocabDecoder final : public llama::TokenDecoder {
public:
    explicit VocabDecoder(const llama::Vocab& v) : dec_(v) {}
    std::string push(int64_t id) override { return dec_.push(id); }
    std::string flush() override { return dec_.flush(); }

private:
    llama::IncrementalDecoder dec_;
};

}  // namespace

std::string default_bench_model() {
    const char* env = std::getenv("TROUPE_CONFORMANCE_DIR");
    const std::string root = env && *env ? env : std::string(TROUPE_SOURCE_DIR) + "/../shared/conformance";
    return root + "/llama-lora/base";
}

int tokenize(const std::vector<std::string>& args, const CommandContext& ctx) {
    po::options_description options("troupe lm tokenize options");
    std::string model, text_file, text;
    bool no_bos = false;
    options.add_options()("model", po::value(&model)->required(), "model folder holding tokenizer.json")(
        "text-file", po::value(&text_file), "UTF-8 text to encode (bytes as they are)")(
        "text", po::value(&text), "text given inline instead of --text-file")(
        "no-bos", po::bool_switch(&no_bos), "do not add the BOS token");
    po::variables_map vm;
    if (!parse_options("troupe lm tokenize --model DIR --text-file F [--json]", options, args, vm)) return 0;
    if (text_file.empty() == !vm.count("text"))
        throw Error(Errc::invalid_argument, "give exactly one of --text-file or --text");
    if (!text_file.empty()) text = read_file(text_file);
    const llama::Vocab vocab = llama::Vocab::load(std::filesystem::path(model));
    const std::vector<int64_t> ids = vocab.encode(text, !no_bos);
    if (ctx.json) {
        print_json(nlohmann::json{{"ids", ids}}.dump());
    } else {
        for (size_t i = 0; i < ids.size(); ++i) fmt::print("{}{}", i ? " " : "", ids[i]);
        fmt::print("\n");
    }
    return 0;
}

int forward(const std::vector<std::string>& args, const CommandContext& ctx) {
    po::options_description options("troupe lm forward options");
    ModelOptions mo;
    mo.add(options);
    std::string ids_text, out;
    options.add_options()("ids", po::value(&ids_text)->required(), "comma-separated token ids, e.g. 1,5,9")(
        "out", po::value(&out)->required(), "output safetensors file (float32 \"logits\" [n, vocab])");
    po::variables_map vm;
    if (!parse_options("troupe lm forward --model DIR [--adapter DIR] [--merge] --ids 1,5,9 --out F", options, args, vm))
        return 0;
    const std::vector<int64_t> ids = parse_ids(ids_text);
    std::unique_ptr<llama::Adapter> adapter;
    const llama::Model model = mo.load(adapter);
    c10::InferenceMode guard;
    llama::ForwardOptions fo;
    fo.adapter = adapter.get();
    at::Tensor logits = model.forward(at::tensor(ids, at::kLong), fo).squeeze(0).to(at::kCPU, at::kFloat).contiguous();
    st::save(out, {{"logits", logits}});
    if (ctx.json)
        print_json(nlohmann::json{{"out", out}, {"shape", logits.sizes().vec()}, {"model", model.describe()}}.dump());
    else if (!ctx.quiet)
        fmt::print(stderr, "wrote {} (logits [{}, {}])\n", out, logits.size(0), logits.size(1));
    return 0;
}

int generate(const std::vector<std::string>& args, const CommandContext& ctx) {
    po::options_description options("troupe lm generate options");
    ModelOptions mo;
    mo.add(options);
    std::string prompt_file, prompt;
    std::vector<std::string> stops;
    SamplingParams sp;
    sp.repetition_penalty = 1.0f;
    int64_t seed = 0;
    bool no_bos = false, any_bytes = false;
    options.add_options()("prompt-file", po::value(&prompt_file), "prompt text (bytes as they are, template applied)")(
        "prompt", po::value(&prompt), "prompt given inline instead of --prompt-file")(
        "max-new-tokens", po::value(&sp.max_new_tokens)->default_value(128), "token limit")(
        "greedy", po::bool_switch(&sp.greedy), "greedy decoding (argmax)")(
        "temperature", po::value(&sp.temperature)->default_value(0.8f), "sampling temperature")(
        "top-k", po::value(&sp.top_k)->default_value(50), "top-k (0 = off)")(
        "top-p", po::value(&sp.top_p)->default_value(0.95f), "top-p")(
        "repetition-penalty", po::value(&sp.repetition_penalty)->default_value(1.0f), "repetition penalty (1 = off)")(
        "seed", po::value(&seed)->default_value(0), "sampling seed")(
        "stop", po::value(&stops)->composing(), "stop string (repeatable), e.g. ###")(
        "no-bos", po::bool_switch(&no_bos), "do not add the BOS token")(
        "any-bytes", po::bool_switch(&any_bytes), "sample byte tokens freely (text may hold U+FFFD; default: keep it valid UTF-8)");
    po::variables_map vm;
    if (!parse_options("troupe lm generate --model DIR [--adapter DIR] --prompt-file F --max-new-tokens N [--greedy] [--json]",
                       options, args, vm))
        return 0;
    if (prompt_file.empty() == !vm.count("prompt"))
        throw Error(Errc::invalid_argument, "give exactly one of --prompt-file or --prompt");
    if (!prompt_file.empty()) prompt = read_file(prompt_file);
    if (prompt.empty()) throw Error(Errc::invalid_argument, "the prompt is empty");
    sp.seed = static_cast<uint64_t>(seed);
    std::unique_ptr<llama::Adapter> adapter;
    const llama::Model model = mo.load(adapter);
    const llama::Vocab vocab = llama::Vocab::load(std::filesystem::path(mo.model));
    const std::vector<int64_t> ids = vocab.encode(prompt, !no_bos);
    llama::GenerateOptions go;
    go.sampling = sp;
    go.stop_strings = stops;
    const llama::Utf8Guard utf8 = llama::Utf8Guard::for_vocab(vocab);
    if (!any_bytes) go.utf8 = &utf8;
    VocabDecoder decoder(vocab);
    llama::StreamFn stream;
    if (!ctx.json)
        stream = [](const std::string& piece) {
            fmt::print("{}", piece);
            std::fflush(stdout);
            return true;
        };
    const llama::Generation g = llama::generate(model, ids, adapter.get(), go, &decoder, stream);
    if (ctx.json) {
        print_json(nlohmann::json{{"ids", g.ids},
                                  {"text", g.text},
                                  {"stop", to_string(g.stop)},
                                  {"prompt_tokens", g.prompt_tokens},
                                  {"prefill_seconds", g.prefill_seconds},
                                  {"decode_seconds", g.decode_seconds}}
                       .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
        fmt::print("\n");
        if (!ctx.quiet)
            fmt::print(stderr, "({} prompt tokens, {} new, stop: {}, {:.1f} tok/s)\n", g.prompt_tokens, g.ids.size(),
                       to_string(g.stop), g.decode_seconds > 0 ? g.ids.size() / g.decode_seconds : 0.0);
    }
    return 0;
}

}  // namespace troupe::llama::cli
