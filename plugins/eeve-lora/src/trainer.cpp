#include "trainer.hpp"

#include "adapter.hpp"
#include "model.hpp"
#include "vocab.hpp"
#include "vocab_trainer.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

namespace fs = std::filesystem;

namespace troupe::llama {
namespace {

constexpr int64_t kIgnore = -100;

struct Example {
    std::vector<int64_t> ids;     // including BOS and the final EOS
    std::vector<int64_t> labels;  // = ids, with kIgnore where no loss is taken (the prompt)
};

double peak_rss_mb() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

std::string fill(std::string text, const std::string& key, const std::string& value) {
    for (size_t pos = 0; (pos = text.find(key, pos)) != std::string::npos; pos += value.size())
        text.replace(pos, key.size(), value);
    return text;
}

/// Reads examples from .jsonl (persona: prompt masked unless `learn_prompt`) or text (one per line).
std::vector<Example> read_examples(const std::vector<std::string>& files, const TrainRecipe& r, const Vocab& vocab,
                                   int64_t eos, bool learn_prompt) {
    std::vector<Example> out;
    for (const auto& file : files) {
        std::ifstream in(file);
        if (!in) throw Error(Errc::not_found, file + ": cannot open training data");
        const bool jsonl = fs::path(file).extension() == ".jsonl";
        std::string line;
        int64_t number = 0;
        while (std::getline(in, line)) {
            ++number;
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            Example e;
            if (jsonl) {
                nlohmann::json j;
                try {
                    j = nlohmann::json::parse(line);
                } catch (const std::exception& ex) {
                    throw Error(Errc::invalid_file, fmt::format("{}:{}: not valid JSON: {}", file, number, ex.what()));
                }
                for (const char* key : {"instruction", "input", "output"})
                    if (!j.contains(key) || !j[key].is_string())
                        throw Error(Errc::invalid_file, fmt::format("{}:{}: missing string field \"{}\"", file, number, key));
                if (!r.character.empty() && j.value("character", std::string()) != r.character) continue;
                std::string prompt = fill(fill(r.prompt_template, "{instruction}", j["instruction"].get<std::string>()),
                                          "{input}", j["input"].get<std::string>());
                std::vector<int64_t> prompt_ids = vocab.encode(prompt, true);
                e.ids = vocab.encode(prompt + j["output"].get<std::string>(), true);
                size_t common = 0;
                while (common < prompt_ids.size() && common < e.ids.size() && prompt_ids[common] == e.ids[common]) ++common;
                e.labels = e.ids;
                if (!learn_prompt) std::fill(e.labels.begin(), e.labels.begin() + int64_t(common), kIgnore);
            } else {
                e.ids = vocab.encode(line, true);
                e.labels = e.ids;
                e.labels[0] = kIgnore;  // BOS is never predicted
            }
            e.ids.push_back(eos);
            e.labels.push_back(eos);
            if (int64_t(e.ids.size()) > r.max_length) {
                e.ids.resize(size_t(r.max_length));
                e.labels.resize(size_t(r.max_length));
            }
            if (std::any_of(e.labels.begin() + 1, e.labels.end(), [](int64_t l) { return l != kIgnore; }))
                out.push_back(std::move(e));
            if (r.max_examples > 0 && int64_t(out.size()) >= r.max_examples) break;
        }
    }
    return out;
}

/// Right-padded batch: causal attention keeps padding invisible to real tokens.
std::pair<at::Tensor, at::Tensor> make_batch(const std::vector<const Example*>& batch, at::Device device) {
    size_t longest = 0;
    for (auto* e : batch) longest = std::max(longest, e->ids.size());
    at::Tensor ids = at::zeros({int64_t(batch.size()), int64_t(longest)}, at::kLong);
    at::Tensor labels = at::full({int64_t(batch.size()), int64_t(longest)}, kIgnore, at::kLong);
    auto ia = ids.accessor<int64_t, 2>();
    auto la = labels.accessor<int64_t, 2>();
    for (size_t b = 0; b < batch.size(); ++b)
        for (size_t t = 0; t < batch[b]->ids.size(); ++t) {
            ia[int64_t(b)][int64_t(t)] = batch[b]->ids[t];
            la[int64_t(b)][int64_t(t)] = batch[b]->labels[t];
        }
    return {ids.to(device), labels.to(device)};
}

/// Sum of token losses and the token count (next-token prediction).
std::pair<at::Tensor, int64_t> batch_loss(const Model& model, const Adapter* adapter, const at::Tensor& ids,
                                          const at::Tensor& labels) {
    const int64_t T = ids.size(1);
    at::Tensor logits = model.logits(ids.narrow(1, 0, T - 1), adapter);
    at::Tensor targets = labels.narrow(1, 1, T - 1).reshape({-1});
    at::Tensor loss = at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), targets, {},
                                             at::Reduction::Sum, kIgnore);
    return {loss, (targets != kIgnore).sum().item<int64_t>()};
}

double learning_rate(const TrainRecipe& r, int64_t step, int64_t total) {
    const int64_t warmup = int64_t(std::ceil(r.warmup_ratio * double(total)));
    if (step < warmup) return r.learning_rate * double(step) / double(std::max<int64_t>(1, warmup));
    const double progress = double(step - warmup) / double(std::max<int64_t>(1, total - warmup));
    if (r.schedule == "linear") return r.learning_rate * std::max(0.0, 1.0 - progress);
    if (r.schedule == "constant") return r.learning_rate;
    return r.learning_rate * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
}

/// AdamW exactly as torch.optim.AdamW (decoupled weight decay), with its state kept for checkpoints.
class AdamW {
public:
    AdamW(std::vector<std::pair<std::string, at::Tensor>> params, const TrainRecipe& r) : params_(std::move(params)), r_(r) {
        for (auto& [name, p] : params_) {
            m_.push_back(at::zeros_like(p, at::TensorOptions().dtype(at::kFloat)));
            v_.push_back(at::zeros_like(p, at::TensorOptions().dtype(at::kFloat)));
        }
    }

    /// Clips gradients to max_grad_norm; returns the norm before clipping.
    double clip() {
        double total = 0;
        for (auto& [name, p] : params_)
            if (p.grad().defined()) total += p.grad().to(at::kFloat).pow(2).sum().item<double>();
        const double norm = std::sqrt(total);
        if (r_.max_grad_norm > 0 && norm > r_.max_grad_norm) {
            const double scale = r_.max_grad_norm / (norm + 1e-6);
            for (auto& [name, p] : params_)
                if (p.grad().defined()) p.mutable_grad().mul_(scale);
        }
        return norm;
    }

    void step(double lr) {
        c10::NoGradGuard no_grad;
        ++t_;
        const double bc1 = 1 - std::pow(r_.adam_beta1, double(t_)), bc2 = 1 - std::pow(r_.adam_beta2, double(t_));
        for (size_t i = 0; i < params_.size(); ++i) {
            at::Tensor& p = params_[i].second;
            if (!p.grad().defined()) continue;
            at::Tensor g = p.grad().to(at::kFloat);
            if (r_.weight_decay > 0) p.mul_(1 - lr * r_.weight_decay);
            m_[i].mul_(r_.adam_beta1).add_(g, 1 - r_.adam_beta1);
            v_[i].mul_(r_.adam_beta2).addcmul_(g, g, 1 - r_.adam_beta2);
            at::Tensor denom = (v_[i].sqrt() / std::sqrt(bc2)).add_(r_.adam_eps);
            p.add_((m_[i] / denom * (-lr / bc1)).to(p.scalar_type()));
        }
    }

    void zero_grad() {
        for (auto& [name, p] : params_)
            if (p.grad().defined()) p.mutable_grad() = at::Tensor();
    }

    void save(const std::string& path) const {
        std::vector<std::pair<std::string, at::Tensor>> tensors;
        for (size_t i = 0; i < params_.size(); ++i) {
            tensors.emplace_back("exp_avg." + params_[i].first, m_[i]);
            tensors.emplace_back("exp_avg_sq." + params_[i].first, v_[i]);
        }
        st::save(path, tensors, {{"step", std::to_string(t_)}});
    }

    void load(const std::string& path) {
        st::File f = st::File::open(path);
        for (size_t i = 0; i < params_.size(); ++i) {
            m_[i].copy_(f.tensor("exp_avg." + params_[i].first));
            v_[i].copy_(f.tensor("exp_avg_sq." + params_[i].first));
        }
        t_ = std::stoll(f.metadata().at("step"));
    }

private:
    std::vector<std::pair<std::string, at::Tensor>> params_;
    const TrainRecipe& r_;
    std::vector<at::Tensor> m_, v_;
    int64_t t_ = 0;
};

void write_report(const TrainRecipe& r, const TrainSummary& s) {
    // loss.svg: train (blue) and valid (orange) loss against step
    const double W = 640, H = 360, L = 56, B = 40, T = 16, R = 16;
    double max_loss = 0, min_loss = 1e9;
    for (auto& e : s.log) {
        max_loss = std::max({max_loss, e.loss, e.valid_loss});
        min_loss = std::min(min_loss, e.loss);
        if (e.valid_loss >= 0) min_loss = std::min(min_loss, e.valid_loss);
    }
    if (s.log.empty()) max_loss = 1, min_loss = 0;
    min_loss = std::max(0.0, std::floor(min_loss));
    max_loss = std::ceil(max_loss);
    const double steps = double(std::max<int64_t>(1, s.total_steps));
    auto x = [&](double step) { return L + (W - L - R) * step / steps; };
    auto y = [&](double loss) { return T + (H - T - B) * (1 - (loss - min_loss) / std::max(1e-9, max_loss - min_loss)); };
    std::string svg = fmt::format(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-family='sans-serif' font-size='11'>\n"
        "<rect width='100%' height='100%' fill='white'/>\n<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n"
        "<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n",
        W, H, L, H - B, W - R, H - B, L, T, L, H - B);
    for (int k = 0; k <= 4; ++k) {
        double v = min_loss + (max_loss - min_loss) * k / 4;
        svg += fmt::format("<text x='{}' y='{}' text-anchor='end'>{:.2f}</text>\n", L - 4, y(v) + 4, v);
        svg += fmt::format("<text x='{}' y='{}' text-anchor='middle'>{}</text>\n", x(steps * k / 4), H - B + 14,
                           int64_t(steps * k / 4));
    }
    std::string train_pts, valid_pts;
    for (auto& e : s.log) {
        train_pts += fmt::format("{:.1f},{:.1f} ", x(double(e.step)), y(e.loss));
        if (e.valid_loss >= 0) valid_pts += fmt::format("{:.1f},{:.1f} ", x(double(e.step)), y(e.valid_loss));
    }
    svg += fmt::format("<polyline fill='none' stroke='#1f77b4' stroke-width='1.5' points='{}'/>\n", train_pts);
    svg += fmt::format("<polyline fill='none' stroke='#ff7f0e' stroke-width='2' points='{}'/>\n", valid_pts);
    svg += fmt::format("<text x='{}' y='{}'>train loss</text><text x='{}' y='{}' fill='#ff7f0e'>valid loss</text>\n",
                       W - 150, T + 10, W - 80, T + 10);
    svg += fmt::format("<text x='{}' y='{}' text-anchor='middle'>step</text>\n</svg>\n", (W + L) / 2, H - 6);
    std::ofstream(r.output_dir + "/loss.svg") << svg;

    std::ofstream md(r.output_dir + "/report.md");
    md << fmt::format("# Training report ({})\n\n", r.mode == TrainRecipe::Mode::lora ? "LoRA SFT" : "base model");
    md << fmt::format("| | |\n|---|---|\n| recipe | {} |\n| steps | {} of {} |\n| final train loss | {:.4f} |\n",
                      r.recipe_path, s.steps, s.total_steps, s.final_train_loss);
    md << fmt::format("| final valid loss | {} |\n", s.final_valid_loss >= 0 ? fmt::format("{:.4f}", s.final_valid_loss) : "n/a");
    md << fmt::format("| training tokens/s | {:.0f} |\n| wall time | {:.1f} s |\n| peak memory (RSS) | {:.0f} MiB |\n",
                      s.tokens_per_second, s.seconds, s.peak_rss_mb);
    md << fmt::format("| device / dtype | {} / {} |\n\n![loss curves](loss.svg)\n", r.device, r.dtype);
}

}  // namespace

TrainSummary train(const TrainRecipe& r, const std::function<void(const std::string&)>& log,
                   const std::function<bool()>& should_stop) {
    if (r.output_dir.empty()) throw Error(Errc::invalid_argument, r.recipe_path + ": [output] dir is required");
    if (r.train_files.empty()) throw Error(Errc::invalid_argument, r.recipe_path + ": [data] train lists no files");
    fs::create_directories(r.output_dir);
    const bool lora = r.mode == TrainRecipe::Mode::lora;

    // Tokenizer and model.
    std::optional<Vocab> vocab;
    std::optional<Model> model;
    std::optional<Adapter> adapter;
    std::string tokenizer_json;
    LoadOptions load;
    load.device = r.device;
    load.dtype = r.dtype;
    load.quantize = r.quantize;
    if (lora) {
        model.emplace(Model::load(r.base_model, load));
        vocab.emplace(Vocab::load(r.base_model));
        AdapterConfig ac;
        ac.r = r.lora_r;
        ac.lora_alpha = r.lora_alpha;
        ac.use_rslora = r.use_rslora;
        ac.target_modules = r.target_modules;
        ac.base_model = r.base_model;
        adapter.emplace(r.resume_from.empty() ? Adapter::create(*model, ac, r.seed) : Adapter::load(r.resume_from, *model));
        adapter->set_requires_grad(true);
    } else {
        if (!r.tokenizer.empty()) {
            std::ifstream in(fs::is_directory(r.tokenizer) ? r.tokenizer + "/tokenizer.json" : r.tokenizer);
            tokenizer_json.assign(std::istreambuf_iterator<char>(in), {});
        } else if (!r.resume_from.empty()) {
            std::ifstream in(r.resume_from + "/tokenizer.json");
            tokenizer_json.assign(std::istreambuf_iterator<char>(in), {});
        } else {
            BpeTrainerOptions bo;
            bo.vocab_size = r.vocab_size;
            BpeTrainer bpe(bo);
            for (const auto& file : r.train_files) {
                if (fs::path(file).extension() != ".jsonl") {
                    bpe.add_file(file);
                    continue;
                }
                std::ifstream in(file);
                std::string line;
                while (std::getline(in, line)) {
                    auto j = nlohmann::json::parse(line, nullptr, false);
                    if (j.is_discarded()) continue;
                    for (const char* key : {"instruction", "input", "output"})
                        if (j.contains(key) && j[key].is_string()) bpe.add_text(j[key].get<std::string>());
                }
            }
            bpe.add_text(r.prompt_template);
            tokenizer_json = bpe.train();
            log(fmt::format("tokenizer: {} pieces ({} merges) from {} lines in {:.1f} s", bpe.stats().vocab_size,
                            bpe.stats().merges, bpe.stats().lines, bpe.stats().seconds));
        }
        if (tokenizer_json.empty()) throw Error(Errc::invalid_file, r.recipe_path + ": no tokenizer.json could be read");
        vocab.emplace(Vocab::from_json_text(tokenizer_json, r.output_dir + "/tokenizer.json"));
        if (!r.resume_from.empty()) {
            model.emplace(Model::load(r.resume_from, load));
            model->own_weights();
        } else {
            LlamaConfig c;
            c.vocab_size = vocab->size();
            c.hidden_size = r.hidden_size;
            c.intermediate_size = r.intermediate_size;
            c.num_layers = r.num_layers;
            c.num_heads = r.num_heads;
            c.num_kv_heads = r.num_kv_heads;
            c.head_dim = r.hidden_size / r.num_heads;
            c.rms_norm_eps = 1e-5;
            c.rope_theta = r.rope_theta;
            c.max_position_embeddings = r.max_position_embeddings;
            c.bos_token_id = vocab->bos_id() >= 0 ? vocab->bos_id() : 1;
            c.eos_token_ids = {vocab->eos_id() >= 0 ? vocab->eos_id() : 2};
            model.emplace(Model::create(c, load, r.seed));
        }
    }
    const int64_t eos = model->config().eos_token_ids.empty() ? 2 : model->config().eos_token_ids.front();

    std::vector<std::pair<std::string, at::Tensor>> params;
    if (lora) {
        auto tensors = adapter->parameters();
        for (size_t i = 0; i < tensors.size(); ++i) params.emplace_back(std::to_string(i), tensors[i]);
    } else {
        for (auto& [name, t] : model->named_weights()) {
            t.requires_grad_(true);
            params.emplace_back(name, t);
        }
    }

    const std::vector<Example> train_set = read_examples(r.train_files, r, *vocab, eos, !lora);
    const std::vector<Example> valid_set = read_examples(r.valid_files, r, *vocab, eos, !lora);
    if (train_set.empty()) throw Error(Errc::invalid_argument, r.recipe_path + ": no training examples (check [data] and character)");
    const int64_t per_step = r.batch_size * r.grad_accum;
    const int64_t steps_per_epoch = (int64_t(train_set.size()) + per_step - 1) / per_step;
    const int64_t total = r.max_steps > 0 ? r.max_steps : steps_per_epoch * r.epochs;
    log(fmt::format("{} training examples, {} valid; {} steps ({} per epoch, {} examples per step); {} parameters trained",
                    train_set.size(), valid_set.size(), total, steps_per_epoch, per_step,
                    [&] { int64_t n = 0; for (auto& [k, p] : params) n += p.numel(); return n; }()));

    AdamW optimizer(params, r);
    TrainSummary summary;
    summary.total_steps = total;
    summary.output_dir = r.output_dir;
    int64_t step = 0;
    if (!r.resume_from.empty()) {
        optimizer.load(r.resume_from + "/optimizer.safetensors");
        auto state = nlohmann::json::parse(std::ifstream(r.resume_from + "/trainer_state.json"));
        step = state.at("step").get<int64_t>();
        for (auto& e : state.at("log")) {
            TrainLogEntry entry;
            entry.step = e.at("step");
            entry.epoch = e.at("epoch");
            entry.loss = e.at("loss");
            entry.learning_rate = e.at("learning_rate");
            entry.grad_norm = e.at("grad_norm");
            entry.valid_loss = e.value("valid_loss", -1.0);
            summary.log.push_back(entry);
        }
        log(fmt::format("resumed from {} at step {}", r.resume_from, step));
    }

    auto validate = [&]() -> double {
        if (valid_set.empty()) return -1;
        c10::NoGradGuard no_grad;
        double sum = 0;
        int64_t tokens = 0;
        for (size_t i = 0; i < valid_set.size(); i += size_t(r.batch_size)) {
            std::vector<const Example*> batch;
            for (size_t k = i; k < std::min(valid_set.size(), i + size_t(r.batch_size)); ++k) batch.push_back(&valid_set[k]);
            auto [ids, labels] = make_batch(batch, model->device());
            auto [loss, n] = batch_loss(*model, lora ? &*adapter : nullptr, ids, labels);
            sum += loss.item<double>();
            tokens += n;
        }
        return tokens ? sum / double(tokens) : -1;
    };

    auto save_checkpoint = [&](const std::string& dir) {
        fs::create_directories(dir);
        if (lora) {
            adapter->save(dir);
        } else {
            model->save(dir);
            BpeTrainer::write_folder(tokenizer_json, dir);
        }
        optimizer.save(dir + "/optimizer.safetensors");
        nlohmann::json entries = nlohmann::json::array();
        for (auto& e : summary.log)
            entries.push_back({{"step", e.step}, {"epoch", e.epoch}, {"loss", e.loss}, {"learning_rate", e.learning_rate},
                               {"grad_norm", e.grad_norm}, {"valid_loss", e.valid_loss}});
        std::ofstream(dir + "/trainer_state.json") << nlohmann::json{{"step", step}, {"total_steps", total}, {"log", entries}}.dump(1);
        summary.last_checkpoint = dir;
    };

    std::ofstream jsonl(r.output_dir + "/train_log.jsonl", std::ios::trunc);
    for (auto& e : summary.log)
        jsonl << nlohmann::json{{"step", e.step}, {"epoch", e.epoch}, {"loss", e.loss}, {"learning_rate", e.learning_rate},
                                {"grad_norm", e.grad_norm}, {"valid_loss", e.valid_loss}}.dump() << "\n";

    const auto start = std::chrono::steady_clock::now();
    int64_t tokens_seen = 0;
    std::vector<size_t> order;
    int64_t order_epoch = -1;
    double running = 0;
    int64_t running_count = 0;
    while (step < total) {
        if (should_stop && should_stop()) {
            save_checkpoint(fmt::format("{}/checkpoint-{}", r.output_dir, step));
            summary.interrupted = true;
            log(fmt::format("interrupted: saved {}", summary.last_checkpoint));
            break;
        }
        const int64_t epoch = step / steps_per_epoch;
        if (epoch != order_epoch) {  // the same shuffled order for an epoch, however training was resumed
            order.resize(train_set.size());
            for (size_t i = 0; i < order.size(); ++i) order[i] = i;
            std::mt19937_64 rng(r.seed * 7919 + uint64_t(epoch));
            std::shuffle(order.begin(), order.end(), rng);
            order_epoch = epoch;
        }
        const int64_t first = (step % steps_per_epoch) * per_step;
        std::vector<std::vector<const Example*>> micro(size_t(r.grad_accum));
        int64_t step_tokens = 0;
        for (int64_t k = 0; k < per_step && first + k < int64_t(order.size()); ++k) {
            const Example* e = &train_set[order[size_t(first + k)]];
            micro[size_t(k / r.batch_size)].push_back(e);
            for (size_t t = 1; t < e->labels.size(); ++t) step_tokens += e->labels[t] != kIgnore;
        }
        double step_loss = 0;
        for (auto& batch : micro) {
            if (batch.empty()) continue;
            auto [ids, labels] = make_batch(batch, model->device());
            auto [loss, n] = batch_loss(*model, lora ? &*adapter : nullptr, ids, labels);
            (loss / double(std::max<int64_t>(1, step_tokens))).backward();
            step_loss += loss.item<double>();
            for (auto* e : batch) tokens_seen += int64_t(e->ids.size());
        }
        step_loss /= double(std::max<int64_t>(1, step_tokens));
        const double grad_norm = optimizer.clip();
        const double lr = learning_rate(r, step, total);
        optimizer.step(lr);
        optimizer.zero_grad();
        ++step;
        running += step_loss;
        ++running_count;

        const bool last = step == total;
        const bool do_eval = last || (r.eval_every > 0 && step % r.eval_every == 0);
        if (do_eval || step % std::max<int64_t>(1, r.log_every) == 0) {
            TrainLogEntry e;
            e.step = step;
            e.epoch = double(step) / double(steps_per_epoch);
            e.loss = running / double(running_count);
            e.learning_rate = lr;
            e.grad_norm = grad_norm;
            if (do_eval) e.valid_loss = validate();
            running = 0;
            running_count = 0;
            summary.log.push_back(e);
            jsonl << nlohmann::json{{"step", e.step}, {"epoch", e.epoch}, {"loss", e.loss}, {"learning_rate", e.learning_rate},
                                    {"grad_norm", e.grad_norm}, {"valid_loss", e.valid_loss}}.dump() << "\n";
            jsonl.flush();
            log(fmt::format("epoch {:.2f} | step {}/{} | loss {:.4f} | lr {:.2e} | grad {:.2f}{}", e.epoch, step, total,
                            e.loss, lr, grad_norm,
                            e.valid_loss >= 0 ? fmt::format(" | valid {:.4f}", e.valid_loss) : std::string()));
        }
        if (r.save_every > 0 && step % r.save_every == 0 && !last)
            save_checkpoint(fmt::format("{}/checkpoint-{}", r.output_dir, step));
    }

    summary.steps = step;
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    summary.train_tokens = tokens_seen;
    summary.tokens_per_second = summary.seconds > 0 ? double(tokens_seen) / summary.seconds : 0;
    summary.peak_rss_mb = peak_rss_mb();
    for (auto it = summary.log.rbegin(); it != summary.log.rend(); ++it)
        if (summary.final_valid_loss < 0 && it->valid_loss >= 0) summary.final_valid_loss = it->valid_loss;
    if (!summary.log.empty()) summary.final_train_loss = summary.log.back().loss;
    if (!summary.interrupted) {
        if (lora) {
            adapter->save(r.output_dir);
        } else {
            model->save(r.output_dir, parse_dtype(r.save_dtype));
            BpeTrainer::write_folder(tokenizer_json, r.output_dir);
        }
    }
    write_report(r, summary);
    return summary;
}

}  // namespace troupe::llama
