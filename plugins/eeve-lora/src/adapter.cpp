#include "adapter.hpp"

#include "arch.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <regex>
#include <sys/stat.h>

namespace troupe::llama {

namespace {

using json = nlohmann::json;

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
    throw Error(Errc::unsupported, fmt::format("{}: {}", path, what));
}

bool non_empty(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return false;
    if (it->is_object() || it->is_array() || it->is_string()) return !it->empty();
    if (it->is_boolean()) return it->get<bool>();
    return true;
}

bool targets(const AdapterConfig& c, const std::string& module) {
    if (!c.target_regex.empty()) {
        if (c.target_regex == "all-linear") return true;
        try {
            return std::regex_match(module, std::regex(c.target_regex));
        } catch (const std::regex_error&) {
            return true;  // a Python-only regex: trust the file's tensor names
        }
    }
    for (const std::string& t : c.target_modules) {
        if (module == t) return true;
        if (module.size() > t.size() && module.compare(module.size() - t.size(), t.size(), t) == 0 &&
            module[module.size() - t.size() - 1] == '.')
            return true;
    }
    return false;
}

}  // namespace

double AdapterConfig::scaling() const {
    return use_rslora ? lora_alpha / std::sqrt(static_cast<double>(r)) : lora_alpha / static_cast<double>(r);
}

AdapterConfig parse_adapter_config(const std::string& text, const std::string& path) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw Error(Errc::invalid_file, fmt::format("{}: malformed JSON ({})", path, e.what()));
    }
    if (!j.is_object()) throw Error(Errc::invalid_file, fmt::format("{}: expected a JSON object", path));
    auto bad = [&](const std::string& what) { throw Error(Errc::invalid_file, fmt::format("{}: {}", path, what)); };
    if (auto it = j.find("peft_type"); it != j.end() && !(it->is_string() && it->get<std::string>() == "LORA"))
        refuse(path, fmt::format("peft_type {} is not LORA", it->dump()));
    if (non_empty(j, "use_dora")) refuse(path, "DoRA adapters (use_dora: true) are not supported");
    if (non_empty(j, "modules_to_save"))
        refuse(path, "modules_to_save (fully trained extra modules) is not supported; retrain without it");
    if (non_empty(j, "rank_pattern")) refuse(path, "a non-empty rank_pattern is not supported");
    if (non_empty(j, "alpha_pattern")) refuse(path, "a non-empty alpha_pattern is not supported");
    if (non_empty(j, "fan_in_fan_out")) refuse(path, "fan_in_fan_out: true is not supported (Llama uses nn.Linear)");
    if (non_empty(j, "layer_replication")) refuse(path, "layer_replication is not supported");
    if (non_empty(j, "lora_bias")) refuse(path, "lora_bias: true is not supported");
    if (auto it = j.find("bias"); it != j.end() && !it->is_null() && !(it->is_string() && it->get<std::string>() == "none"))
        refuse(path, fmt::format("bias {} is not supported (only \"none\")", it->dump()));

    AdapterConfig c;
    auto r = j.find("r");
    if (r == j.end() || !r->is_number_integer() || r->get<int64_t>() <= 0) bad("\"r\" must be a positive integer");
    c.r = r->get<int64_t>();
    auto a = j.find("lora_alpha");
    if (a == j.end() || !a->is_number()) bad("\"lora_alpha\" must be a number");
    c.lora_alpha = a->get<double>();
    if (auto it = j.find("use_rslora"); it != j.end() && !it->is_null()) {
        if (!it->is_boolean()) bad("\"use_rslora\" must be true or false");
        c.use_rslora = it->get<bool>();
    }
    auto t = j.find("target_modules");
    if (t == j.end() || t->is_null()) bad("missing \"target_modules\"");
    if (t->is_string()) {
        c.target_regex = t->get<std::string>();
    } else if (t->is_array()) {
        for (const auto& s : *t) {
            if (!s.is_string()) bad("\"target_modules\" must hold strings");
            c.target_modules.push_back(s.get<std::string>());
        }
    } else {
        bad("\"target_modules\" must be a list or a string");
    }
    if (auto it = j.find("base_model_name_or_path"); it != j.end() && it->is_string()) c.base_model = it->get<std::string>();
    return c;
}

Adapter Adapter::load(const std::string& dir, const Model& model) {
    const std::string cfg_path = dir + "/adapter_config.json";
    if (!exists(cfg_path)) throw Error(Errc::not_found, fmt::format("{}: no adapter_config.json (not a PEFT adapter folder)", dir));
    Adapter ad;
    ad.dir_ = dir;
    ad.config_ = parse_adapter_config(read_text_file(cfg_path), cfg_path);
    const std::string st_path = dir + "/adapter_model.safetensors";
    if (!exists(st_path)) {
        if (exists(dir + "/adapter_model.bin"))
            refuse(dir + "/adapter_model.bin",
                   "pickled PyTorch adapters are not read; save the adapter with safe_serialization=True "
                   "(adapter_model.safetensors)");
        throw Error(Errc::not_found, fmt::format("{}: missing", st_path));
    }
    const st::File file = st::File::open(st_path);
    ad.by_linear_.assign(model.linear_count(), LoraWeights{});
    ad.modules_.assign(model.linear_count(), std::string());
    const double scaling = ad.config_.scaling();
    static const std::regex key_re(R"(^(.+)\.lora_([AB])(\.[A-Za-z0-9_\-]+)?\.weight$)");
    for (const std::string& name : file.names()) {
        auto fail = [&](const std::string& what) {
            throw Error(Errc::invalid_file, fmt::format("{}: tensor \"{}\": {}", st_path, name, what));
        };
        if (name.find("lora_magnitude_vector") != std::string::npos) refuse(st_path, "DoRA magnitude vectors are not supported");
        if (name.find("lora_embedding_") != std::string::npos) refuse(st_path, "LoRA on embeddings is not supported");
        const std::string prefix = arch::kPeftPrefix;
        if (name.rfind(prefix, 0) != 0) fail(fmt::format("does not start with \"{}\"", prefix));
        const std::string rest = name.substr(prefix.size());
        std::smatch m;
        if (!std::regex_match(rest, m, key_re))
            refuse(st_path, fmt::format("tensor \"{}\" is not a LoRA A/B weight (modules_to_save, biases or "
                                        "trained embeddings are not supported)",
                                        name));
        const std::string module = m[1].str();
        const bool is_a = m[2].str() == "A";
        const int64_t index = model.linear_index(module);
        if (index < 0) fail(fmt::format("module \"{}\" is not a linear layer of the base model", module));
        if (!ad.config_.target_modules.empty() || !ad.config_.target_regex.empty())
            if (!targets(ad.config_, module)) fail(fmt::format("module \"{}\" is not in target_modules", module));
        const Linear& lin = model.linear(index);
        at::Tensor t = file.tensor(name);
        const std::vector<int64_t> want = is_a ? std::vector<int64_t>{ad.config_.r, lin.in}
                                               : std::vector<int64_t>{lin.out, ad.config_.r};
        if (t.sizes().vec() != want)
            fail(fmt::format("shape [{}] does not match r={} and the layer ({} -> {}); expected [{}]",
                             fmt::join(t.sizes().vec(), ", "), ad.config_.r, lin.in, lin.out, fmt::join(want, ", ")));
        if (!at::isFloatingType(t.scalar_type())) fail("not a floating-point tensor");
        LoraWeights& lw = ad.by_linear_[index];
        (is_a ? lw.A : lw.B) = t.to(model.device(), at::kFloat, /*non_blocking=*/false, /*copy=*/true);
        lw.scaling = scaling;
        ad.modules_[index] = module;
    }
    int64_t count = 0;
    for (int64_t i = 0; i < model.linear_count(); ++i) {
        LoraWeights& lw = ad.by_linear_[i];
        if (lw.A.defined() != lw.B.defined())
            throw Error(Errc::invalid_file, fmt::format("{}: module \"{}\" has lora_{} but not lora_{}", st_path,
                                                        ad.modules_[i], lw.A.defined() ? "A" : "B",
                                                        lw.A.defined() ? "B" : "A"));
        count += lw.A.defined();
    }
    if (count == 0) throw Error(Errc::invalid_file, fmt::format("{}: no LoRA weights", st_path));
    return ad;
}

Adapter Adapter::create(const Model& model, const AdapterConfig& config, uint64_t seed) {
    if (config.r <= 0) throw Error(Errc::invalid_argument, "LoRA rank must be positive");
    Adapter ad;
    ad.config_ = config;
    ad.by_linear_.assign(model.linear_count(), LoraWeights{});
    ad.modules_.assign(model.linear_count(), std::string());
    at::Generator gen = at::detail::createCPUGenerator(seed);
    for (int64_t i = 0; i < model.linear_count(); ++i) {
        const Linear& lin = model.linear(i);
        if (!targets(config, lin.module)) continue;
        const double bound = 1.0 / std::sqrt(static_cast<double>(lin.in));
        LoraWeights& lw = ad.by_linear_[i];
        lw.A = (at::rand({config.r, lin.in}, gen, at::TensorOptions().dtype(at::kFloat)) * (2 * bound) - bound)
                   .to(model.device());
        lw.B = at::zeros({lin.out, config.r}, at::TensorOptions().dtype(at::kFloat).device(model.device()));
        lw.scaling = config.scaling();
        ad.modules_[i] = lin.module;
    }
    if (ad.adapted_count() == 0) throw Error(Errc::invalid_argument, "LoRA target_modules match no linear layer");
    return ad;
}

void Adapter::save(const std::string& dir) const {
    json j = {{"peft_type", "LORA"},
              {"task_type", "CAUSAL_LM"},
              {"base_model_name_or_path", config_.base_model.empty() ? json(nullptr) : json(config_.base_model)},
              {"r", config_.r},
              {"lora_alpha", config_.lora_alpha},
              {"lora_dropout", 0.0},
              {"use_rslora", config_.use_rslora},
              {"use_dora", false},
              {"bias", "none"},
              {"fan_in_fan_out", false},
              {"modules_to_save", nullptr},
              {"rank_pattern", json::object()},
              {"alpha_pattern", json::object()},
              {"init_lora_weights", true},
              {"inference_mode", true}};
    if (!config_.target_regex.empty())
        j["target_modules"] = config_.target_regex;
    else
        j["target_modules"] = config_.target_modules;
    {
        const std::string path = dir + "/adapter_config.json";
        std::ofstream out(path);
        out << j.dump(2) << "\n";
        if (!out) throw Error(Errc::runtime, fmt::format("{}: cannot write", path));
    }
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (size_t i = 0; i < by_linear_.size(); ++i) {
        if (!by_linear_[i].defined()) continue;
        const std::string base = std::string(arch::kPeftPrefix) + modules_[i];
        tensors.emplace_back(base + ".lora_A.weight", by_linear_[i].A.detach().to(at::kCPU));
        tensors.emplace_back(base + ".lora_B.weight", by_linear_[i].B.detach().to(at::kCPU));
    }
    st::save(dir + "/adapter_model.safetensors", tensors);
}

const LoraWeights* Adapter::for_linear(int64_t index) const {
    if (index < 0 || index >= static_cast<int64_t>(by_linear_.size())) return nullptr;
    return by_linear_[index].defined() ? &by_linear_[index] : nullptr;
}

std::vector<at::Tensor> Adapter::parameters() const {
    std::vector<at::Tensor> out;
    for (const LoraWeights& lw : by_linear_)
        if (lw.defined()) {
            out.push_back(lw.A);
            out.push_back(lw.B);
        }
    return out;
}

void Adapter::set_requires_grad(bool on) {
    for (LoraWeights& lw : by_linear_)
        if (lw.defined()) {
            lw.A.set_requires_grad(on);
            lw.B.set_requires_grad(on);
        }
}

int64_t Adapter::adapted_count() const {
    int64_t n = 0;
    for (const LoraWeights& lw : by_linear_) n += lw.defined();
    return n;
}

}  // namespace troupe::llama
