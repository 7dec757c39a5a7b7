#include <troupe/eval/runner.hpp>
#include <troupe/files.hpp>

#include <troupe/audio.hpp>
#include <troupe/request.hpp>
#include <troupe/eval/error_rate.hpp>
#include <troupe/eval/format.hpp>
#include <troupe/eval/journal.hpp>
#include <troupe/eval/line_length.hpp>
#include <troupe/eval/signal_checks.hpp>
#include <troupe/eval/speech_level.hpp>
#include <troupe/eval/util.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <cctype>
#include <unistd.h>

namespace fs = std::filesystem;
using nlohmann::json;

namespace troupe::eval {

std::string case_file_stem(const std::string& id) {
    std::string out;
    for (char c : id) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
    return out;
}

static json params_json(const Params& p) {
    json j = json::object();
    for (const auto& [k, v] : p) j[k] = v;
    return j;
}

std::string config_hash(const Suite& suite, const Host& host) {
    json j = suite.to_json();
    json chars = json::object();
    for (const Character& c : host.characters()) {
        json voice = params_json(c.voice.params);
        chars[c.id] = {{"persona", c.persona},
                       {"template", c.prompt_template},
                       {"text_backend", c.text_backend},
                       {"text_params", params_json(c.text_params)},
                       {"adapter", c.adapter},
                       {"sampling", {c.sampling.greedy, c.sampling.temperature, c.sampling.top_k, c.sampling.top_p,
                                     c.sampling.repetition_penalty, c.sampling.seed, c.sampling.max_new_tokens}},
                       {"speech_backend", c.speech_backend},
                       {"voice", voice},
                       {"reference", c.voice.reference_audio},
                       {"scenarios", c.scenarios.size()}};
    }
    j["characters"] = chars;
    // the data files the cases come from (a changed dataset must not be resumed into an old journal)
    for (const std::string& file : {suite.persona_dataset}) {
        std::ifstream in(file, std::ios::binary);
        if (in) j["data"][file] = sha256_hex(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
    }
    return sha256_hex(j.dump());
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Scorers {
    std::shared_ptr<Transcriber> transcriber;
    std::shared_ptr<SpeakerEncoder> speaker;
    std::vector<std::pair<std::string, std::shared_ptr<QualityEstimator>>> quality;
    json info = json::object();
};

// Resolves "auto"/name/"" to a created scorer; records what was used or why not.
template <class T>
std::shared_ptr<T> make_scorer(const Host& host, const std::string& wanted, PluginKind kind, json& info,
                               std::string* chosen_name = nullptr) {
    std::string name = wanted;
    if (name.empty() || name == "none") {
        info = {{"available", false}, {"reason", "disabled by the suite"}};
        return nullptr;
    }
    if (name == "auto") {
        // Prefer plugins with real model weights (whisper, wavlm-sv, …) over weight-free proxies, and skip a
        // candidate that cannot be created (e.g. its model path is not configured), saying why.
        name.clear();
        std::vector<const PluginRecord*> candidates;
        for (int pass = 0; pass < 2; ++pass)
            for (const auto& p : host.plugins()) {
                if (!p.ok || p.manifest.kind != kind) continue;
                const auto& caps = p.manifest.capabilities;
                const bool proxy = std::find(caps.begin(), caps.end(), "no-weights") != caps.end() ||
                                   std::find(caps.begin(), caps.end(), "proxy") != caps.end();
                if (proxy == (pass == 1)) candidates.push_back(&p);
            }
        std::string skipped;
        for (const PluginRecord* p : candidates) {
            try {
                auto object = host.create_as<T>(p->manifest.name, kind);
                info = {{"available", true}, {"plugin", p->manifest.name}, {"version", p->manifest.version},
                        {"capabilities", p->manifest.capabilities}, {"describe", object->describe()},
                        {"description", p->manifest.description}};
                if (!skipped.empty()) info["skipped"] = skipped;
                if (chosen_name) *chosen_name = p->manifest.name;
                return object;
            } catch (const Error& e) {
                skipped += (skipped.empty() ? "" : "; ") + std::string("'") + p->manifest.name + "': " + e.what();
            }
        }
        if (!candidates.empty()) {
            info = {{"available", false}, {"reason", "no " + std::string(to_string(kind)) + " plugin could be created: " + skipped}};
            return nullptr;
        }
        if (name.empty()) {
            std::string why = std::string("no ") + to_string(kind) + " plugin is loaded";
            for (const auto& p : host.plugins())
                if (!p.ok && p.manifest.kind == kind && !p.manifest.name.empty())
                    why += "; '" + p.manifest.name + "' failed at " + to_string(p.stage) + ": " + p.message;
            info = {{"available", false}, {"reason", why}};
            return nullptr;
        }
    }
    const PluginRecord* rec = host.find_plugin(name);
    if (!rec) {
        std::string why = "plugin '" + name + "' is not loaded";
        for (const auto& p : host.plugins())
            if (p.manifest.name == name) why = "plugin '" + name + "' failed at " + to_string(p.stage) + ": " + p.message;
        info = {{"available", false}, {"plugin", name}, {"reason", why}};
        return nullptr;
    }
    try {
        auto object = host.create_as<T>(name, kind);
        info = {{"available", true}, {"plugin", name}, {"version", rec->manifest.version},
                {"capabilities", rec->manifest.capabilities}, {"describe", object->describe()},
                {"description", rec->manifest.description}};
        if (chosen_name) *chosen_name = name;
        return object;
    } catch (const Error& e) {
        info = {{"available", false}, {"plugin", name}, {"reason", "cannot create '" + name + "': " + e.what()}};
        return nullptr;
    }
}

Scorers make_scorers(const Suite& suite, const Host& host) {
    Scorers s;
    json t, sp;
    s.transcriber = make_scorer<Transcriber>(host, suite.transcriber, PluginKind::transcriber, t);
    s.speaker = make_scorer<SpeakerEncoder>(host, suite.speaker_encoder, PluginKind::speaker_encoder, sp);
    s.info["transcriber"] = t;
    s.info["speaker_encoder"] = sp;
    json q = json::array();
    std::vector<std::string> names;
    for (const auto& n : suite.quality) {
        if (n == "auto") {
            for (const auto& p : host.plugins())
                if (p.ok && p.manifest.kind == PluginKind::quality_estimator) names.push_back(p.manifest.name);
            if (names.empty()) q.push_back({{"available", false}, {"reason", "no quality-estimator plugin is loaded"}});
        } else if (!n.empty() && n != "none") {
            names.push_back(n);
        }
    }
    for (const auto& n : names) {
        json info;
        auto est = make_scorer<QualityEstimator>(host, n, PluginKind::quality_estimator, info);
        q.push_back(info);
        if (est) s.quality.push_back({n, est});
    }
    s.info["quality"] = q;
    return s;
}

struct TextSlot {
    std::shared_ptr<TextBackend> backend;
    std::string error, adapter_name;
    bool warmed = false;
};
struct SpeechSlot {
    std::shared_ptr<SpeechBackend> backend;
    std::string error;
    bool warmed = false;
};

json signal_json(const SignalReport& r) {
    return {{"duration_s", r.duration_s}, {"speech_s", r.speech_s}, {"leading_silence_s", r.leading_silence_s},
            {"trailing_silence_s", r.trailing_silence_s}, {"longest_pause_s", r.longest_pause_s}, {"peak_db", r.peak_db},
            {"dc", r.dc}, {"clipped_fraction", r.clipped_fraction}, {"longest_clip_run", r.longest_clip_run},
            {"non_finite", r.non_finite}, {"end_rms_db", r.end_rms_db}, {"flags", r.flags}};
}

json counts_json(const EditCounts& c) {
    return {{"ref", c.ref}, {"hyp", c.hyp}, {"hits", c.hits}, {"sub", c.sub}, {"del", c.del}, {"ins", c.ins}};
}

class Runner {
public:
    Runner(const Suite& suite, const Host& host, const RunOptions& options)
        : suite_(suite), host_(host), options_(options) {}

    RunSummary run() {
        RunSummary summary;
        batch_size_ = options_.batch_size > 0 ? options_.batch_size : suite_.batch_size;
        if (batch_size_ < 1 || batch_size_ > kMaxBatchSize)
            throw Error(Errc::invalid_argument,
                        "the batch size is " + std::to_string(batch_size_) + "; it must be 1-" + std::to_string(kMaxBatchSize));
        check_suite(suite_, host_);
        std::vector<std::string> expand_notes;
        if (expand_cases(suite_, host_, expand_notes).empty())
            throw Error(Errc::invalid_file, suite_.path + ": the suite expands to no cases with the loaded characters" +
                                                (expand_notes.empty() ? std::string() : " (" + expand_notes.front() + ")"));
        fs::create_directories(options_.out_dir);
        fs::create_directories(fs::path(options_.out_dir) / "audio");
        // One run per folder at a time: a second one would append the same cases to the journal.
        DirLock lock(options_.out_dir, ".troupe-eval.lock", "troupe eval");
        std::string journal_path = (fs::path(options_.out_dir) / "cases.jsonl").string();
        if (options_.fresh && fs::exists(journal_path)) fs::remove(journal_path);
        std::string hash = config_hash(suite_, host_);
        journal_ = std::make_unique<Journal>(journal_path, hash, json{{"suite", suite_.name}, {"created", utc_now()}});
        if (journal_->truncated_bytes())
            summary.notes.push_back(journal_path + ": dropped a torn last line (" +
                                    std::to_string(journal_->truncated_bytes()) + " bytes, killed mid-write)");
        if (!journal_->dropped_lines().empty()) {
            std::string lines;
            for (size_t n : journal_->dropped_lines()) lines += (lines.empty() ? "" : ", ") + std::to_string(n);
            summary.notes.push_back(journal_path + ": dropped " + std::to_string(journal_->dropped_lines().size()) +
                                    " corrupt line(s) (line " + lines + "); the cases on the other lines are kept");
        }
        if (options_.retry_failed)
            journal_->drop_if([](const json& r) { return r.value("status", "") != "ok"; });

        std::vector<CaseSpec> cases = expand_cases(suite_, host_, summary.notes);
        summary.total = cases.size();
        scorers_ = make_scorers(suite_, host_);
        journal_->append_event({{"event", "run"}, {"started", utc_now()}, {"scorers", scorers_.info},
                                {"batch_size", batch_size_},
                                {"git_revision", git_revision(source_dir())}, {"pid", int(::getpid())}});
        size_t done = 0;
        for (size_t k = 0; k < cases.size(); ++k) {
            const CaseSpec& spec = cases[k];
            if (journal_->done(spec.id)) {
                if (!journaled_now_.count(spec.id)) ++summary.already_done;  // else: counted as run by its batch
                ++done;
                continue;
            }
            if (Host::interrupted()) { summary.interrupted = true; break; }
            if (options_.limit && summary.ran >= options_.limit) break;
            if (options_.progress) options_.progress(done, cases.size(), spec.id);
            if (spec.type == "text" && batch_size_ > 1) {
                const size_t budget = options_.limit ? std::min<size_t>(batch_size_, options_.limit - summary.ran) : batch_size_;
                if (run_text_batch(cases, k, budget, summary)) {
                    if (summary.interrupted) break;
                    --k;  // this case is journaled now: counted on the next pass
                    continue;
                }
            }
            json row = run_case(spec);
            if (Host::interrupted()) {  // a case cut short by Ctrl-C is not a result: rerun it on resume
                summary.interrupted = true;
                break;
            }
            record(row, summary);
            ++done;
        }
        if (options_.progress) options_.progress(done, cases.size(), "");
        journal_->append_event({{"event", "run_end"}, {"finished", utc_now()}, {"ran", summary.ran},
                                {"interrupted", summary.interrupted}});
        return summary;
    }

private:
    void record(const json& row, RunSummary& summary) {
        journal_->append(row);
        journaled_now_.insert(row.value("id", ""));
        ++summary.ran;
        if (row.value("status", "") != "ok") ++summary.failed;
    }

    static std::string text_key(const Character& c) { return c.text_backend + "|" + params_json(c.text_params).dump(); }

    /// Text cases generated together: the unfinished text cases from cases[first] on whose characters
    /// share cases[first]'s text backend, at most `budget` of them, in one generate_batch call. Each
    /// case is journaled when the batch returns (one whose request cannot be made, at once); a batch
    /// cut short by Ctrl-C journals nothing (summary.interrupted). Returns how many cases it took; 0
    /// when cases[first] is not batched (its backend lacks BatchTextBackend or failed to load).
    size_t run_text_batch(const std::vector<CaseSpec>& cases, size_t first, size_t budget, RunSummary& summary) {
        auto character = [&](const CaseSpec& spec) -> const Character* {
            try {
                return &host_.character(spec.character);
            } catch (const Error&) {
                return nullptr;
            }
        };
        const Character* c0 = character(cases[first]);
        if (!c0 || budget < 2) return 0;
        TextSlot& slot = text_slot(*c0);
        if (!slot.backend || !dynamic_cast<BatchTextBackend*>(slot.backend.get())) return 0;
        const std::string key = text_key(*c0);
        std::vector<const CaseSpec*> specs;
        std::vector<const Character*> characters;
        std::vector<json> rows;
        std::vector<TextRequest> requests;
        size_t taken = 0;
        for (size_t k = first; k < cases.size() && taken < budget; ++k) {
            const CaseSpec& spec = cases[k];
            if (spec.type != "text" || journal_->done(spec.id)) continue;
            const Character* c = character(spec);
            if (!c || text_key(*c) != key) continue;
            ++taken;
            json row = base_row(spec);
            try {
                requests.push_back(prepare_text(spec, *c, row));
            } catch (const std::exception& e) {  // a hook or adapter failure: this case alone fails
                row["status"] = "failed";
                row["error"] = e.what();
                row["finished"] = utc_now();
                record(row, summary);
                continue;
            }
            specs.push_back(&spec);
            characters.push_back(c);
            rows.push_back(std::move(row));
        }
        if (specs.empty()) return taken;
        std::vector<TextResult> results;
        const auto t0 = Clock::now();
        Status s = generate_batch(*slot.backend, requests, results);
        const double wall = since(t0);
        if (Host::interrupted()) {  // not results: the whole batch reruns on resume
            summary.interrupted = true;
            return taken;
        }
        if (!s || results.size() != specs.size()) {  // one bad request fails the batch: rerun them alone
            for (const CaseSpec* spec : specs) {
                json row = run_case(*spec);
                if (Host::interrupted()) {
                    summary.interrupted = true;
                    return taken;
                }
                record(row, summary);
            }
            return taken;
        }
        const double gpu = gpu_memory_mib();
        for (size_t i = 0; i < specs.size(); ++i) {
            json& row = rows[i];
            row["latency_s"] = wall;  // the time the case's line took to come back (its batch's)
            row["batch"] = {{"size", specs.size()}, {"index", i}, {"seconds_per_case", wall / double(specs.size())}};
            if (gpu >= 0) row["gpu_mib"] = gpu;
            try {
                score_text(*characters[i], results[i], row);
            } catch (const std::exception& e) {
                row["status"] = "failed";
                row["error"] = e.what();
            }
            row["finished"] = utc_now();
            record(row, summary);
        }
        return taken;
    }

    json base_row(const CaseSpec& s) {
        return {{"id", s.id}, {"type", s.type}, {"character", s.character}, {"group", s.group},
                {"source", s.source}, {"kind", s.kind}, {"seed", s.seed}};
    }

    json run_case(const CaseSpec& spec) {
        json row = base_row(spec);
        try {
            const Character& c = host_.character(spec.character);
            if (spec.type == "text") run_text(spec, c, row);
            else run_voice(spec, c, row);
        } catch (const std::exception& e) {
            row["status"] = "failed";
            row["error"] = e.what();
        }
        row["finished"] = utc_now();
        return row;
    }

    TextSlot& text_slot(const Character& c) {
        std::string key = c.text_backend + "|" + params_json(c.text_params).dump();
        auto it = text_.find(key);
        if (it == text_.end()) {
            TextSlot slot;
            auto t0 = Clock::now();
            try {
                slot.backend = host_.create_as<TextBackend>(c.text_backend, PluginKind::text_backend, c.text_params);
                journal_->append_event({{"event", "load"}, {"role", "text"}, {"plugin", c.text_backend},
                                        {"character", c.id}, {"seconds", since(t0)},
                                        {"describe", slot.backend->describe()}});
            } catch (const std::exception& e) {
                slot.error = std::string("text backend '") + c.text_backend + "' unavailable: " + e.what();
            }
            it = text_.emplace(key, std::move(slot)).first;
        }
        return it->second;
    }

    SpeechSlot& speech_slot(const Character& c) {
        auto it = speech_.find(c.speech_backend);
        if (it == speech_.end()) {
            SpeechSlot slot;
            auto t0 = Clock::now();
            try {
                slot.backend = host_.create_as<SpeechBackend>(c.speech_backend, PluginKind::speech_backend);
                journal_->append_event({{"event", "load"}, {"role", "speech"}, {"plugin", c.speech_backend},
                                        {"character", c.id}, {"seconds", since(t0)},
                                        {"describe", slot.backend->describe()}});
            } catch (const std::exception& e) {
                slot.error = std::string("speech backend '") + c.speech_backend + "' unavailable: " + e.what();
            }
            it = speech_.emplace(c.speech_backend, std::move(slot)).first;
        }
        return it->second;
    }

    /// The case's text request as `troupe say` makes it (template, stop strings, sampling, adapter,
    /// hooks), with its backend loaded, the adapter registered and the backend warmed up.
    TextRequest prepare_text(const CaseSpec& spec, const Character& c, json& row) {
        TextSlot& slot = text_slot(c);
        row["backend"] = c.text_backend;
        if (!slot.backend) throw Error(Errc::not_found, slot.error);
        if (!c.adapter.empty() && !adapters_.count(c.id + "|" + c.adapter)) {
            Status s = slot.backend->load_adapter(c.id, c.adapter);
            if (!s) throw Error(s.code(), "load_adapter(" + c.adapter + "): " + s.message());
            adapters_.insert(c.id + "|" + c.adapter);
        }
        RequestOptions ro;
        ro.seed = spec.seed;
        if (suite_.max_new_tokens > 0) ro.max_new_tokens = suite_.max_new_tokens;
        ro.greedy = suite_.greedy;
        const TextRequest request = make_text_request(host_, c, nullptr, {spec.situation, spec.action, {}}, ro);
        if (!slot.warmed) {  // first call of a backend: warm-up, reported apart from the latencies
            TextRequest warm = request;
            warm.sampling.max_new_tokens = std::min(8, request.sampling.max_new_tokens);
            TextResult ignored;
            auto t0 = Clock::now();
            Status s = slot.backend->generate(warm, ignored, nullptr, nullptr);
            journal_->append_event({{"event", "warmup"}, {"role", "text"}, {"plugin", c.text_backend},
                                    {"character", c.id}, {"seconds", since(t0)}, {"ok", s.ok()}});
            slot.warmed = true;
        }
        row["situation"] = spec.situation;
        row["action"] = spec.action;
        if (!spec.reference.empty()) row["reference"] = spec.reference;
        return request;
    }

    void run_text(const CaseSpec& spec, const Character& c, json& row) {
        const TextRequest request = prepare_text(spec, c, row);
        TextResult result;
        auto t0 = Clock::now();
        Status s = text_slot(c).backend->generate(request, result, nullptr, nullptr);
        row["latency_s"] = since(t0);
        double gpu = gpu_memory_mib();
        if (gpu >= 0) row["gpu_mib"] = gpu;
        if (!s) throw Error(s.code(), "generate: " + s.message());
        score_text(c, result, row);
    }

    /// The generated line into the row: the character's after_generate hook, format, length, levels.
    void score_text(const Character& c, TextResult& result, json& row) {
        Status s = finish_line(host_, c, result.text);  // the character's after_generate hook
        if (!s) throw Error(s.code(), s.message());
        row["text"] = result.text;
        row["stop"] = to_string(result.stop);
        row["new_tokens"] = result.token_ids.size();
        row["prompt_tokens"] = result.prompt_tokens;
        row["backend_seconds"] = result.seconds;
        FormatSpec fspec;
        fspec.speaker_tags = {c.name, c.id};
        FormatResult f = check_format(result.text, result.stop, fspec);
        row["format"] = {{"strict", f.strict()}, {"loose", f.loose()}, {"strict_reason", f.strict_reason},
                         {"loose_reason", f.loose_reason}};
        row["line"] = f.cleaned;
        LineLength len = line_length(f.cleaned);
        row["length"] = {{"with_spaces", len.with_spaces}, {"without_spaces", len.without_spaces}};
        json levels = json::array();
        for (const auto& sentence : split_sentences(f.cleaned)) levels.push_back(level_key(sentence_level(sentence)));
        row["levels"] = levels;
        row["status"] = "ok";
    }

    // speech (a text case's line), voice (a suite sentence) and enroll (reference or enrollment sentence)
    void run_voice(const CaseSpec& spec, const Character& c, json& row) {
        std::string text = spec.text;
        if (spec.type == "speech") {
            const json* dep = journal_->row(spec.depends_on);
            if (!dep || dep->value("status", "") != "ok" || dep->value("line", "").empty()) {
                row["status"] = "skipped";
                row["error"] = "its text case " + spec.depends_on + " produced no line";
                return;
            }
            text = dep->value("line", "");
        }
        row["text"] = text;
        Audio audio;
        if (spec.type == "enroll" && spec.source == "reference") {
            audio = read_wav(spec.text);
            row["reference_audio"] = spec.text;
        } else {
            SpeechSlot& slot = speech_slot(c);
            row["backend"] = c.speech_backend;
            if (!slot.backend) throw Error(Errc::not_found, slot.error);
            const SpeechRequest request = make_speech_request(c, text, {}, spec.seed);  // the default voice
            if (!slot.warmed) {
                SpeechRequest warm = request;
                warm.text = "안녕하세요.";
                Audio ignored;
                auto t0 = Clock::now();
                Status s = slot.backend->synthesize(warm, ignored);
                journal_->append_event({{"event", "warmup"}, {"role", "speech"}, {"plugin", c.speech_backend},
                                        {"character", c.id}, {"seconds", since(t0)}, {"ok", s.ok()}});
                slot.warmed = true;
            }
            bool rss_reset = reset_peak_rss();
            auto t0 = Clock::now();
            Status s = slot.backend->synthesize(request, audio);
            double wall = since(t0);
            row["synth_s"] = wall;
            row["peak_rss_mib"] = peak_rss_mib();
            row["peak_rss_scope"] = rss_reset ? "case" : "process";
            double gpu = gpu_memory_mib();
            if (gpu >= 0) row["gpu_mib"] = gpu;
            if (!s) {
                row["synthesized"] = false;
                throw Error(s.code(), "synthesize: " + s.message());
            }
            row["synthesized"] = true;
            row["rtf"] = audio.seconds() > 0 ? wall / audio.seconds() : -1;
        }
        row["audio_s"] = audio.seconds();
        row["sample_rate"] = audio.sample_rate;
        row["syllables"] = syllable_count(text);
        if (!audio.samples.empty() && spec.type != "enroll") {
            std::string wav = (fs::path(options_.out_dir) / "audio" / (case_file_stem(spec.id) + ".wav")).string();
            try {
                write_wav(wav, audio);
                row["wav"] = fs::relative(wav, options_.out_dir).string();
            } catch (const std::exception& e) {
                row["wav_error"] = e.what();
            }
        }
        SignalReport sig = check_signal(audio);
        row["signal"] = signal_json(sig);

        json errors = json::object();
        if (spec.type != "enroll" && scorers_.transcriber) {
            std::string hyp;
            Status s = scorers_.transcriber->transcribe(audio, hyp);
            if (s) {
                UtteranceErrors u = score_utterance(text, hyp);
                row["asr"] = {{"hypothesis", hyp}, {"ref_norm", u.ref_norm}, {"hyp_norm", u.hyp_norm},
                              {"chars", counts_json(u.chars)}, {"words", counts_json(u.words)},
                              {"cer", u.cer()}, {"wer", u.wer()}};
            } else {
                errors["transcriber"] = s.message();
            }
        }
        if (scorers_.speaker) {
            std::vector<float> e;
            Status s = scorers_.speaker->embed(audio, e);
            if (s) row["embedding"] = e;
            else errors["speaker_encoder"] = s.message();
        }
        if (spec.type != "enroll") {
            json q = json::object();
            for (auto& [name, est] : scorers_.quality) {
                QualityEstimate out;
                Status s = est->estimate(audio, out);
                if (s) q[name] = {{"score", out.score}, {"details", out.details}, {"method", out.method}};
                else errors["quality:" + name] = s.message();
            }
            if (!q.empty()) row["quality"] = q;
        }
        if (!errors.empty()) {
            row["scorer_errors"] = errors;
            row["status"] = "failed";
            row["error"] = "a scorer failed on this case: " + errors.begin().value().get<std::string>();
        } else {
            row["status"] = "ok";
        }
    }

    const Suite& suite_;
    const Host& host_;
    RunOptions options_;
    std::unique_ptr<Journal> journal_;
    Scorers scorers_;
    std::map<std::string, TextSlot> text_;
    std::map<std::string, SpeechSlot> speech_;
    std::set<std::string> adapters_;
    int batch_size_ = 1;
    std::set<std::string> journaled_now_;  // case ids journaled by this run
};

}  // namespace

RunSummary run_suite(const Suite& suite, const Host& host, const RunOptions& options) {
    Runner runner(suite, host, options);
    return runner.run();
}

}  // namespace troupe::eval
