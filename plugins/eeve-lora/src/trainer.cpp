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
                const auto who = j.find("character");
                if (who != j.end() && !who->is_string())
                    throw Error(Errc::invalid_file, fmt::format("{}:{}: \"character\" must be a string", file, number));
                if (!r.character.empty() && (who == j.end() || who->get<std::string>() != r.character)) continue;
                const std::string instruction = j["instruction"].get<std::string>();
                std::string prompt = fill(fill(fill(r.prompt_template, "{persona}", instruction), "{instruction}", instruction),
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

/// What training changes and saves: the model (and tokenizer) for `base`, the adapter over a frozen
/// model for `lora`.
struct Trainee {
    std::optional<Vocab> vocab;
    std::optional<Model> model;
    std::optional<Adapter> adapter;
    std::string tokenizer_json;  // base: written next to the weights
};

LoadOptions load_options(const TrainRecipe& r) {
    LoadOptions load;
    load.device = r.device;
    load.dtype = r.dtype;
    load.quantize = r.quantize;
    return load;
}

/// lora: the base model and its tokenizer, and a new adapter (or the one to resume).
Trainee load_lora(const TrainRecipe& r) {
    Trainee t;
    t.model.emplace(Model::load(r.base_model, load_options(r)));
    t.vocab.emplace(Vocab::load(r.base_model));
    AdapterConfig ac;
    ac.r = r.lora_r;
    ac.lora_alpha = r.lora_alpha;
    ac.use_rslora = r.use_rslora;
    ac.target_modules = r.target_modules;
    ac.base_model = r.base_model;
    t.adapter.emplace(r.resume_from.empty() ? Adapter::create(*t.model, ac, r.seed) : Adapter::load(r.resume_from, *t.model));
    t.adapter->set_requires_grad(true);
    return t;
}

/// base: the tokenizer.json given, the checkpoint's, or one trained (BPE) on the training data.
std::string base_tokenizer_json(const TrainRecipe& r, const std::function<void(const std::string&)>& log) {
    std::string json;
    if (!r.tokenizer.empty() || !r.resume_from.empty()) {
        const std::string file = !r.tokenizer.empty()
                                     ? (fs::is_directory(r.tokenizer) ? r.tokenizer + "/tokenizer.json" : r.tokenizer)
                                     : r.resume_from + "/tokenizer.json";
        std::ifstream in(file);
        json.assign(std::istreambuf_iterator<char>(in), {});
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
        bpe.add_text(fill(r.prompt_template, "{persona}", "{instruction}"));  // the text troupe-mini was trained on
        json = bpe.train();
        log(fmt::format("tokenizer: {} pieces ({} merges) from {} lines in {:.1f} s", bpe.stats().vocab_size,
                        bpe.stats().merges, bpe.stats().lines, bpe.stats().seconds));
    }
    if (json.empty()) throw Error(Errc::invalid_file, r.recipe_path + ": no tokenizer.json could be read");
    return json;
}

/// base: the tokenizer, then the model to resume or a new one of the recipe's shape.
Trainee load_base(const TrainRecipe& r, const std::function<void(const std::string&)>& log) {
    Trainee t;
    t.tokenizer_json = base_tokenizer_json(r, log);
    t.vocab.emplace(Vocab::from_json_text(t.tokenizer_json, r.output_dir + "/tokenizer.json"));
    if (!r.resume_from.empty()) {
        t.model.emplace(Model::load(r.resume_from, load_options(r)));
        t.model->own_weights();
        return t;
    }
    LlamaConfig c;
    c.vocab_size = t.vocab->size();
    c.hidden_size = r.hidden_size;
    c.intermediate_size = r.intermediate_size;
    c.num_layers = r.num_layers;
    c.num_heads = r.num_heads;
    c.num_kv_heads = r.num_kv_heads;
    c.head_dim = r.hidden_size / r.num_heads;
    c.rms_norm_eps = 1e-5;
    c.rope_theta = r.rope_theta;
    c.max_position_embeddings = r.max_position_embeddings;
    c.bos_token_id = t.vocab->bos_id() >= 0 ? t.vocab->bos_id() : 1;
    c.eos_token_ids = {t.vocab->eos_id() >= 0 ? t.vocab->eos_id() : 2};
    t.model.emplace(Model::create(c, load_options(r), r.seed));
    return t;
}

/// The tensors the optimizer updates: the adapter's, or every weight of the model.
std::vector<std::pair<std::string, at::Tensor>> trainable_parameters(Trainee& t) {
    std::vector<std::pair<std::string, at::Tensor>> params;
    if (t.adapter) {
        auto tensors = t.adapter->parameters();
        for (size_t i = 0; i < tensors.size(); ++i) params.emplace_back(std::to_string(i), tensors[i]);
        return params;
    }
    for (auto& [name, w] : t.model->named_weights()) {
        w.requires_grad_(true);
        params.emplace_back(name, w);
    }
    return params;
}

nlohmann::json log_json(const TrainLogEntry& e) {
    return {{"step", e.step}, {"epoch", e.epoch}, {"loss", e.loss}, {"learning_rate", e.learning_rate},
            {"grad_norm", e.grad_norm}, {"valid_loss", e.valid_loss}};
}

/// One training run: the loop's state and its steps (shuffle, step, validate, log, checkpoint).
class TrainRun {
public:
    TrainRun(const TrainRecipe& r, Trainee& t, std::vector<Example> train_set, std::vector<Example> valid_set,
             const std::function<void(const std::string&)>& log)
        : r_(r), t_(t), train_(std::move(train_set)), valid_(std::move(valid_set)), log_(log),
          optimizer_(trainable_parameters(t), r) {
        per_step_ = r.batch_size * r.grad_accum;
        steps_per_epoch_ = (int64_t(train_.size()) + per_step_ - 1) / per_step_;
        summary_.total_steps = r.max_steps > 0 ? r.max_steps : steps_per_epoch_ * r.epochs;
        summary_.output_dir = r.output_dir;
    }

    void describe(int64_t parameters) const {
        log_(fmt::format("{} training examples, {} valid; {} steps ({} per epoch, {} examples per step); {} parameters "
                         "trained",
                         train_.size(), valid_.size(), summary_.total_steps, steps_per_epoch_, per_step_, parameters));
    }

    /// Continues from a checkpoint: optimizer state, step and the log so far.
    void resume(const std::string& dir) {
        optimizer_.load(dir + "/optimizer.safetensors");
        auto state = nlohmann::json::parse(std::ifstream(dir + "/trainer_state.json"));
        step_ = state.at("step").get<int64_t>();
        for (auto& e : state.at("log")) {
            TrainLogEntry entry;
            entry.step = e.at("step");
            entry.epoch = e.at("epoch");
            entry.loss = e.at("loss");
            entry.learning_rate = e.at("learning_rate");
            entry.grad_norm = e.at("grad_norm");
            entry.valid_loss = e.value("valid_loss", -1.0);
            summary_.log.push_back(entry);
        }
        log_(fmt::format("resumed from {} at step {}", dir, step_));
    }

    TrainSummary run(const std::function<bool()>& should_stop) {
        jsonl_.open(r_.output_dir + "/train_log.jsonl", std::ios::trunc);
        for (auto& e : summary_.log) jsonl_ << log_json(e).dump() << "\n";
        const auto start = std::chrono::steady_clock::now();
        const int64_t total = summary_.total_steps;
        while (step_ < total) {
            if (should_stop && should_stop()) {
                save_checkpoint(fmt::format("{}/checkpoint-{}", r_.output_dir, step_));
                summary_.interrupted = true;
                log_(fmt::format("interrupted: saved {}", summary_.last_checkpoint));
                break;
            }
            const double lr = learning_rate(r_, step_, total);
            const auto [loss, grad_norm] = train_step(lr);
            ++step_;
            running_ += loss;
            ++running_count_;
            const bool last = step_ == total;
            const bool do_eval = last || (r_.eval_every > 0 && step_ % r_.eval_every == 0);
            if (do_eval || step_ % std::max<int64_t>(1, r_.log_every) == 0) log_step(lr, grad_norm, do_eval);
            if (r_.save_every > 0 && step_ % r_.save_every == 0 && !last)
                save_checkpoint(fmt::format("{}/checkpoint-{}", r_.output_dir, step_));
        }
        summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return finish();
    }

private:
    /// The examples of the current step, in the epoch's shuffled order (the same however training was
    /// resumed), split into grad_accum micro-batches; `tokens` counts the labelled tokens.
    std::vector<std::vector<const Example*>> step_batches(int64_t& tokens) {
        const int64_t epoch = step_ / steps_per_epoch_;
        if (epoch != order_epoch_) {
            order_.resize(train_.size());
            for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
            std::mt19937_64 rng(r_.seed * 7919 + uint64_t(epoch));
            std::shuffle(order_.begin(), order_.end(), rng);
            order_epoch_ = epoch;
        }
        const int64_t first = (step_ % steps_per_epoch_) * per_step_;
        std::vector<std::vector<const Example*>> micro(size_t(r_.grad_accum));
        tokens = 0;
        for (int64_t k = 0; k < per_step_ && first + k < int64_t(order_.size()); ++k) {
            const Example* e = &train_[order_[size_t(first + k)]];
            micro[size_t(k / r_.batch_size)].push_back(e);
            for (size_t i = 1; i < e->labels.size(); ++i) tokens += e->labels[i] != kIgnore;
        }
        return micro;
    }

    /// Forward, backward and an optimizer step; returns (mean token loss, gradient norm).
    std::pair<double, double> train_step(double lr) {
        int64_t step_tokens = 0;
        double step_loss = 0;
        for (auto& batch : step_batches(step_tokens)) {
            if (batch.empty()) continue;
            auto [ids, labels] = make_batch(batch, t_.model->device());
            auto [loss, n] = batch_loss(*t_.model, t_.adapter ? &*t_.adapter : nullptr, ids, labels);
            (loss / double(std::max<int64_t>(1, step_tokens))).backward();
            step_loss += loss.item<double>();
            for (auto* e : batch) tokens_seen_ += int64_t(e->ids.size());
        }
        step_loss /= double(std::max<int64_t>(1, step_tokens));
        const double grad_norm = optimizer_.clip();
        optimizer_.step(lr);
        optimizer_.zero_grad();
        return {step_loss, grad_norm};
    }

    /// Mean token loss on the validation set (-1 without one).
    double validate() {
        if (valid_.empty()) return -1;
        c10::NoGradGuard no_grad;
        double sum = 0;
        int64_t tokens = 0;
        for (size_t i = 0; i < valid_.size(); i += size_t(r_.batch_size)) {
            std::vector<const Example*> batch;
            for (size_t k = i; k < std::min(valid_.size(), i + size_t(r_.batch_size)); ++k) batch.push_back(&valid_[k]);
            auto [ids, labels] = make_batch(batch, t_.model->device());
            auto [loss, n] = batch_loss(*t_.model, t_.adapter ? &*t_.adapter : nullptr, ids, labels);
            sum += loss.item<double>();
            tokens += n;
        }
        return tokens ? sum / double(tokens) : -1;
    }

    void log_step(double lr, double grad_norm, bool with_valid) {
        TrainLogEntry e;
        e.step = step_;
        e.epoch = double(step_) / double(steps_per_epoch_);
        e.loss = running_ / double(running_count_);
        e.learning_rate = lr;
        e.grad_norm = grad_norm;
        if (with_valid) e.valid_loss = validate();
        running_ = 0;
        running_count_ = 0;
        summary_.log.push_back(e);
        jsonl_ << log_json(e).dump() << "\n";
        jsonl_.flush();
        log_(fmt::format("epoch {:.2f} | step {}/{} | loss {:.4f} | lr {:.2e} | grad {:.2f}{}", e.epoch, step_,
                         summary_.total_steps, e.loss, lr, grad_norm,
                         e.valid_loss >= 0 ? fmt::format(" | valid {:.4f}", e.valid_loss) : std::string()));
    }

    void save_weights(const std::string& dir, at::ScalarType dtype) {
        if (t_.adapter) {
            t_.adapter->save(dir);
        } else {
            t_.model->save(dir, dtype);
            BpeTrainer::write_folder(t_.tokenizer_json, dir);
        }
    }

    void save_checkpoint(const std::string& dir) {
        fs::create_directories(dir);
        if (t_.adapter) t_.adapter->save(dir);
        else {
            t_.model->save(dir);
            BpeTrainer::write_folder(t_.tokenizer_json, dir);
        }
        optimizer_.save(dir + "/optimizer.safetensors");
        nlohmann::json entries = nlohmann::json::array();
        for (auto& e : summary_.log) entries.push_back(log_json(e));
        std::ofstream(dir + "/trainer_state.json")
            << nlohmann::json{{"step", step_}, {"total_steps", summary_.total_steps}, {"log", entries}}.dump(1);
        summary_.last_checkpoint = dir;
    }

    TrainSummary finish() {
        summary_.steps = step_;
        summary_.train_tokens = tokens_seen_;
        summary_.tokens_per_second = summary_.seconds > 0 ? double(tokens_seen_) / summary_.seconds : 0;
        summary_.peak_rss_mb = peak_rss_mb();
        for (auto it = summary_.log.rbegin(); it != summary_.log.rend(); ++it)
            if (summary_.final_valid_loss < 0 && it->valid_loss >= 0) summary_.final_valid_loss = it->valid_loss;
        if (!summary_.log.empty()) summary_.final_train_loss = summary_.log.back().loss;
        if (!summary_.interrupted) save_weights(r_.output_dir, parse_dtype(r_.save_dtype));
        write_report(r_, summary_);
        return summary_;
    }

    const TrainRecipe& r_;
    Trainee& t_;
    const std::vector<Example> train_, valid_;
    const std::function<void(const std::string&)>& log_;
    AdamW optimizer_;
    TrainSummary summary_;
    std::ofstream jsonl_;
    int64_t per_step_ = 1, steps_per_epoch_ = 1, step_ = 0, tokens_seen_ = 0, order_epoch_ = -1, running_count_ = 0;
    double running_ = 0;
    std::vector<size_t> order_;
};

}  // namespace

TrainSummary train(const TrainRecipe& r, const std::function<void(const std::string&)>& log,
                   const std::function<bool()>& should_stop) {
    if (r.output_dir.empty()) throw Error(Errc::invalid_argument, r.recipe_path + ": [output] dir is required");
    if (r.train_files.empty()) throw Error(Errc::invalid_argument, r.recipe_path + ": [data] train lists no files");
    fs::create_directories(r.output_dir);
    const bool lora = r.mode == TrainRecipe::Mode::lora;
    Trainee trainee = lora ? load_lora(r) : load_base(r, log);
    const int64_t eos =
        trainee.model->config().eos_token_ids.empty() ? 2 : trainee.model->config().eos_token_ids.front();

    std::vector<Example> train_set = read_examples(r.train_files, r, *trainee.vocab, eos, !lora);
    std::vector<Example> valid_set = read_examples(r.valid_files, r, *trainee.vocab, eos, !lora);
    if (train_set.empty())
        throw Error(Errc::invalid_argument, r.recipe_path + ": no training examples (check [data] and character)");
    int64_t parameters = 0;
    for (auto& [name, p] : trainable_parameters(trainee)) parameters += p.numel();

    TrainRun run(r, trainee, std::move(train_set), std::move(valid_set), log);
    run.describe(parameters);
    if (!r.resume_from.empty()) run.resume(r.resume_from);
    return run.run(should_stop);
}

}  // namespace troupe::llama
