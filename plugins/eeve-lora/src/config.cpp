#include "config.hpp"

#include <troupe/status.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace troupe::llama {
namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw Error(Errc::invalid_file, fmt::format("{}: {}", path, what));
}

json parse_json(const std::string& text, const std::string& path) {
    try {
        json j = json::parse(text);
        if (!j.is_object()) fail(path, "expected a JSON object at the top level");
        return j;
    } catch (const json::exception& e) {
        fail(path, fmt::format("malformed JSON ({})", e.what()));
    }
}

int64_t get_int(const json& j, const char* key, const std::string& path, std::optional<int64_t> fallback = {}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        if (fallback) return *fallback;
        fail(path, fmt::format("missing key \"{}\"", key));
    }
    if (!it->is_number_integer()) fail(path, fmt::format("\"{}\" must be an integer", key));
    int64_t v = it->get<int64_t>();
    return v;
}

double get_double(const json& j, const char* key, const std::string& path, std::optional<double> fallback = {}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        if (fallback) return *fallback;
        fail(path, fmt::format("missing key \"{}\"", key));
    }
    if (!it->is_number()) fail(path, fmt::format("\"{}\" must be a number", key));
    return it->get<double>();
}

bool get_bool(const json& j, const char* key, const std::string& path, bool fallback) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(path, fmt::format("\"{}\" must be true or false", key));
    return it->get<bool>();
}

void add_ids(const json& j, const char* key, const std::string& path, std::vector<int64_t>& out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    auto add = [&](const json& v) {
        if (!v.is_number_integer()) fail(path, fmt::format("\"{}\" must be an integer or a list of integers", key));
        int64_t id = v.get<int64_t>();
        if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    };
    if (it->is_array()) {
        for (const auto& v : *it) add(v);
    } else {
        add(*it);
    }
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

bool LlamaConfig::is_eos(int64_t id) const {
    return std::find(eos_token_ids.begin(), eos_token_ids.end(), id) != eos_token_ids.end();
}

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(Errc::not_found, fmt::format("{}: cannot open file", path));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw Error(Errc::invalid_file, fmt::format("{}: read error", path));
    return ss.str();
}

LlamaConfig parse_config(const std::string& config_text, const std::string& generation_text,
                         const std::string& path) {
    const json j = parse_json(config_text, path);
    LlamaConfig c;
    if (auto it = j.find("model_type"); it != j.end() && it->is_string()) {
        const std::string mt = it->get<std::string>();
        if (mt != "llama" && mt != "mistral")
            throw Error(Errc::unsupported, fmt::format("{}: model_type \"{}\" is not a Llama-architecture model", path, mt));
    }
    c.vocab_size = get_int(j, "vocab_size", path);
    c.hidden_size = get_int(j, "hidden_size", path);
    c.intermediate_size = get_int(j, "intermediate_size", path);
    c.num_layers = get_int(j, "num_hidden_layers", path);
    c.num_heads = get_int(j, "num_attention_heads", path);
    c.num_kv_heads = get_int(j, "num_key_value_heads", path, c.num_heads);
    if (c.vocab_size <= 0 || c.hidden_size <= 0 || c.intermediate_size <= 0 || c.num_layers <= 0 ||
        c.num_heads <= 0 || c.num_kv_heads <= 0)
        fail(path, "sizes must be positive");
    if (c.num_heads % c.num_kv_heads != 0)
        fail(path, fmt::format("num_attention_heads {} is not a multiple of num_key_value_heads {}", c.num_heads,
                               c.num_kv_heads));
    if (j.contains("head_dim") && !j["head_dim"].is_null()) {
        c.head_dim = get_int(j, "head_dim", path);
    } else {
        if (c.hidden_size % c.num_heads != 0) fail(path, "hidden_size is not a multiple of num_attention_heads");
        c.head_dim = c.hidden_size / c.num_heads;
    }
    if (c.head_dim <= 0 || c.head_dim % 2 != 0) fail(path, "head_dim must be positive and even");
    c.rms_norm_eps = get_double(j, "rms_norm_eps", path, 1e-6);
    c.max_position_embeddings = get_int(j, "max_position_embeddings", path, 2048);
    c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", path, false);
    c.attention_bias = get_bool(j, "attention_bias", path, false);
    c.mlp_bias = get_bool(j, "mlp_bias", path, false);

    // RoPE: transformers >= 5 writes rope_parameters {rope_theta, rope_type}; older files a top-level
    // rope_theta and rope_scaling (null for plain Llama).
    c.rope_theta = get_double(j, "rope_theta", path, 10000.0);
    auto check_rope_type = [&](const json& obj, const char* where) {
        for (const char* k : {"rope_type", "type"}) {
            auto t = obj.find(k);
            if (t != obj.end() && t->is_string() && t->get<std::string>() != "default")
                throw Error(Errc::unsupported, fmt::format("{}: {} type \"{}\" is not supported (only default RoPE)",
                                                           path, where, t->get<std::string>()));
        }
    };
    if (auto it = j.find("rope_parameters"); it != j.end() && !it->is_null()) {
        if (!it->is_object()) fail(path, "\"rope_parameters\" must be an object");
        c.rope_theta = get_double(*it, "rope_theta", path, c.rope_theta);
        check_rope_type(*it, "rope_parameters");
    }
    if (auto it = j.find("rope_scaling"); it != j.end() && !it->is_null()) {
        if (!it->is_object()) fail(path, "\"rope_scaling\" must be an object or null");
        check_rope_type(*it, "rope_scaling");
    }
    if (c.rope_theta <= 0) fail(path, "rope_theta must be positive");
    if (auto it = j.find("hidden_act"); it != j.end() && it->is_string() && it->get<std::string>() != "silu")
        throw Error(Errc::unsupported, fmt::format("{}: hidden_act \"{}\" is not supported (only silu)", path,
                                                   it->get<std::string>()));
    if (auto it = j.find("pretraining_tp"); it != j.end() && it->is_number_integer() && it->get<int64_t>() != 1)
        throw Error(Errc::unsupported, fmt::format("{}: pretraining_tp != 1 is not supported", path));
    for (const char* k : {"torch_dtype", "dtype"})
        if (auto it = j.find(k); it != j.end() && it->is_string()) c.torch_dtype = it->get<std::string>();
    c.bos_token_id = get_int(j, "bos_token_id", path, -1);
    c.pad_token_id = get_int(j, "pad_token_id", path, -1);
    add_ids(j, "eos_token_id", path, c.eos_token_ids);

    if (auto it = j.find("quantization_config"); it != j.end() && it->is_object()) {
        QuantizationConfig q;
        const json& qj = *it;
        if (auto m = qj.find("quant_method"); m != qj.end() && m->is_string()) q.method = m->get<std::string>();
        q.load_in_4bit = get_bool(qj, "load_in_4bit", path, false);
        if (auto m = qj.find("bnb_4bit_quant_type"); m != qj.end() && m->is_string()) q.quant_type = m->get<std::string>();
        q.double_quant = get_bool(qj, "bnb_4bit_use_double_quant", path, false);
        if (auto m = qj.find("bnb_4bit_compute_dtype"); m != qj.end() && m->is_string())
            q.compute_dtype = m->get<std::string>();
        if (auto m = qj.find("llm_int8_skip_modules"); m != qj.end() && m->is_array())
            for (const auto& s : *m)
                if (s.is_string()) q.skip_modules.push_back(s.get<std::string>());
        if (q.method != "bitsandbytes" || !q.load_in_4bit || q.quant_type != "nf4")
            throw Error(Errc::unsupported,
                        fmt::format("{}: quantization_config is not bitsandbytes 4-bit NF4 (method \"{}\", type \"{}\")",
                                    path, q.method, q.quant_type));
        c.quantization = q;
    }

    if (!generation_text.empty()) {
        const std::string gpath = path.substr(0, path.rfind('/') + 1) + "generation_config.json";
        const json g = parse_json(generation_text, gpath);
        add_ids(g, "eos_token_id", gpath, c.eos_token_ids);
        if (c.bos_token_id < 0) c.bos_token_id = get_int(g, "bos_token_id", gpath, -1);
    }
    return c;
}

LlamaConfig load_config(const std::string& dir) {
    const std::string path = dir + "/config.json";
    const std::string gen_path = dir + "/generation_config.json";
    std::string gen;
    if (file_exists(gen_path)) gen = read_text_file(gen_path);
    LlamaConfig c = parse_config(read_text_file(path), gen, path);
    c.dir = dir;
    return c;
}

}  // namespace troupe::llama
