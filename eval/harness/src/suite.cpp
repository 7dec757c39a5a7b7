#include <troupe/eval/suite.hpp>

#include <troupe/paths.hpp>
#include <troupe/status.hpp>
#include <troupe/text.hpp>
#include <troupe/toml_reader.hpp>

#include <fmt/format.h>

#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

namespace fs = std::filesystem;

namespace troupe::eval {
namespace {

std::string where(const std::string& path, const toml::source_region& r) {
    return path + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

[[noreturn]] void fail(const std::string& path, const toml::node& node, const std::string& message) {
    throw Error(Errc::invalid_file, where(path, node.source()) + ": " + message);
}

/// A path the suite names: relative to the repository root when it exists there, else to the suite's
/// folder; resolved (symlinks followed) and confined to those two folders.
std::string resolve(const std::string& suite_path, const toml::node* node, const std::string& key, const std::string& p) {
    if (p.empty()) return p;
    const std::string root = source_dir();
    std::error_code ec;  // a name the file system refuses (too long, …) is simply not there
    const std::string suite_dir = fs::absolute(suite_path).parent_path().lexically_normal().string();
    std::string base = suite_dir;
    if (!fs::path(p).is_absolute() && !root.empty() && fs::exists(fs::path(root) / p, ec)) base = root;
    else if (!fs::path(p).is_absolute() && !fs::exists(fs::path(suite_dir) / p, ec) && !root.empty()) base = root;
    std::vector<std::string> allowed = {suite_dir};
    if (!root.empty()) allowed.push_back(root);
    const std::optional<std::string> resolved = confine_path(p, base, allowed);
    if (!resolved) {
        const std::string message = key + " = \"" + p + "\" resolves to " + resolve_path(p, base) +
                                    ", outside the suite's folder and the repository";
        if (node) fail(suite_path, *node, message);
        throw Error(Errc::invalid_file, suite_path + ": " + message);
    }
    return *resolved;
}

/// Limits of a suite (docs/cli.md, "Limits").
constexpr int kMaxRepeats = 100;
constexpr size_t kMaxSentences = 1000, kMaxEnrollment = 100, kMaxSentenceChars = 1000;
constexpr int kMaxNewTokens = 8192;
constexpr size_t kMaxCases = 100000;

void check_range(const std::string& path, const toml::table& t, const char* key, double v, double lo, double hi,
                 const std::string& prefix, bool lo_open = false) {
    if ((lo_open ? v > lo : v >= lo) && v <= hi) return;
    const toml::node* n = t.get(key);
    const std::string message = fmt::format("{}{} must be {} {} and at most {} (got {})", prefix, key,
                                            lo_open ? "above" : "at least", lo, hi, v);
    if (n) fail(path, *n, message);
    fail(path, t, message);
}

struct Reader {
    const std::string& path;
    const toml::table& table;
    std::set<std::string> known;

    template <class T>
    void get(const char* key, T& out) {
        known.insert(key);
        const toml::node* n = table.get(key);
        if (!n) return;
        if constexpr (std::is_same_v<T, bool>) {
            if (!n->is_boolean()) fail(path, *n, std::string(key) + " must be true or false");
            out = n->as_boolean()->get();
        } else if constexpr (std::is_same_v<T, std::string>) {
            if (!n->is_string()) fail(path, *n, std::string(key) + " must be a string");
            out = n->as_string()->get();
        } else if constexpr (std::is_same_v<T, double>) {
            if (!n->is_number()) fail(path, *n, std::string(key) + " must be a number");
            // An integer too large for an exact double has no value<double>() in toml++: convert it
            // here (the range check that follows rejects it with its place).
            out = n->is_integer() ? static_cast<double>(n->as_integer()->get()) : n->as_floating_point()->get();
        } else if constexpr (std::is_integral_v<T>) {
            if (!n->is_integer() || n->as_integer()->get() < 0) fail(path, *n, std::string(key) + " must be a non-negative integer");
            out = T(n->as_integer()->get());
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            if (n->is_string()) { out = {n->as_string()->get()}; return; }
            if (!n->is_array()) fail(path, *n, std::string(key) + " must be an array of strings");
            out.clear();
            for (const auto& e : *n->as_array()) {
                if (!e.is_string()) fail(path, e, std::string(key) + " must hold strings only");
                out.push_back(e.as_string()->get());
            }
        }
    }
    const toml::table* sub(const char* key) {
        known.insert(key);
        const toml::node* n = table.get(key);
        if (!n) return nullptr;
        if (!n->is_table()) fail(path, *n, std::string(key) + " must be a table");
        return n->as_table();
    }
    void reject_unknown(const std::string& prefix) {
        for (const auto& [k, v] : table)
            if (!known.count(std::string(k.str())))
                fail(path, v, "unknown key '" + prefix + std::string(k.str()) + "'");
    }
};

}  // namespace

nlohmann::json Suite::to_json() const {
    nlohmann::json sentences_json = nlohmann::json::array();
    for (const auto& s : sentences) sentences_json.push_back({{"id", s.id}, {"text", s.text}, {"kind", s.kind}});
    return {{"name", name},
            {"description", description},
            {"text", {{"enabled", text}, {"characters", text_characters}, {"character_scenarios", character_scenarios},
                      {"persona_dataset", persona_dataset}, {"persona_required", persona_required},
                      {"repeats", repeats}, {"seed", seed}, {"greedy", greedy}, {"max_new_tokens", max_new_tokens},
                      {"speak_lines", speak_lines}, {"latency_limit_s", latency_limit_s}}},
            {"voice", {{"characters", voice_characters}, {"sentences", sentences_json}, {"enrollment", enrollment},
                       {"long_form_min_s", long_form_min_s}}},
            {"scorers", {{"transcriber", transcriber}, {"speaker_encoder", speaker_encoder}, {"quality", quality},
                         {"similarity_calibration", similarity_calibration}}},
            {"copy", {{"training", copy_training}, {"threshold", copy_threshold}}}};
}

Suite load_suite(const std::string& path) {
    std::error_code exists_ec;
    if (!fs::exists(path, exists_ec)) throw Error(Errc::not_found, "suite file not found: " + path);
    toml::table root = detail::parse_toml_file(path);  // folder, size and syntax errors with file:line:col
    Suite s;
    s.path = fs::absolute(path).lexically_normal().string();
    s.name = fs::path(path).stem().string();
    Reader top{path, root, {}};
    top.get("name", s.name);
    top.get("description", s.description);
    // The name becomes the default output folder out/eval/<name>: one safe path component.
    if (!is_safe_file_name(s.name)) {
        const std::string message = "name '" + s.name +
                                    "' must be 1-100 ASCII letters, digits, '-', '_' or '.', not starting with '.' "
                                    "(it names the output folder)";
        if (const toml::node* n = root.get("name")) fail(path, *n, message);
        throw Error(Errc::invalid_file, path + ": " + message);
    }
    if (const toml::table* t = top.sub("text")) {
        s.text = true;
        Reader r{path, *t, {}};
        r.get("enabled", s.text);
        r.get("characters", s.text_characters);
        r.get("character_scenarios", s.character_scenarios);
        r.get("persona_dataset", s.persona_dataset);
        r.get("persona_required", s.persona_required);
        r.get("repeats", s.repeats);
        r.get("seed", s.seed);
        r.get("greedy", s.greedy);
        r.get("max_new_tokens", s.max_new_tokens);
        r.get("speak_lines", s.speak_lines);
        r.get("latency_limit_s", s.latency_limit_s);
        r.get("batch_size", s.batch_size);
        r.reject_unknown("text.");
        check_range(path, *t, "repeats", s.repeats, 1, kMaxRepeats, "text.");
        check_range(path, *t, "max_new_tokens", s.max_new_tokens, 0, kMaxNewTokens, "text.");
        check_range(path, *t, "latency_limit_s", s.latency_limit_s, 0, 3600, "text.", true);
        check_range(path, *t, "batch_size", s.batch_size, 1, kMaxBatchSize, "text.");
        if (s.seed > uint64_t(INT64_MAX)) fail(path, *t, "text.seed is too large");
        s.persona_dataset = resolve(path, t->get("persona_dataset"), "text.persona_dataset", s.persona_dataset);
    }
    if (const toml::table* t = top.sub("voice")) {
        Reader r{path, *t, {}};
        r.get("characters", s.voice_characters);
        r.get("enrollment", s.enrollment);
        r.get("long_form_min_s", s.long_form_min_s);
        r.known.insert("sentences");
        if (const toml::node* n = t->get("sentences")) {
            if (!n->is_array_of_tables()) fail(path, *n, "voice.sentences must be [[voice.sentences]] tables");
            std::set<std::string> ids;
            for (const auto& e : *n->as_array()) {
                const toml::table& st = *e.as_table();
                VoiceSentence v;
                Reader sr{path, st, {}};
                sr.get("id", v.id);
                sr.get("text", v.text);
                sr.get("kind", v.kind);
                sr.reject_unknown("voice.sentences.");
                if (v.id.empty() || v.text.empty()) fail(path, e, "each voice sentence needs an id and a text");
                // The id names the case's audio file (audio/<character>_voice-<id>.wav): one safe name,
                // so that two sentences can never share (and overwrite) a file.
                if (!is_safe_file_name(v.id) || v.id.size() > 64)
                    fail(path, e, "voice sentence id '" + v.id + "' must be 1-64 ASCII letters, digits, '-', '_' or '.', not starting with '.'");
                if (!ids.insert(v.id).second) fail(path, e, "duplicate voice sentence id '" + v.id + "'");
                if (v.kind.empty()) v.kind = "short";
                if (utf8_length(v.text) > kMaxSentenceChars)
                    fail(path, e, fmt::format("voice sentence '{}' is longer than {} characters", v.id, kMaxSentenceChars));
                s.sentences.push_back(v);
                if (s.sentences.size() > kMaxSentences)
                    fail(path, e, fmt::format("at most {} [[voice.sentences]]", kMaxSentences));
            }
        }
        r.reject_unknown("voice.");
        check_range(path, *t, "long_form_min_s", s.long_form_min_s, 0, 3600, "voice.", true);
        if (s.enrollment.size() > kMaxEnrollment)
            fail(path, *t, fmt::format("voice.enrollment must have at most {} sentences", kMaxEnrollment));
        for (const auto& e : s.enrollment)
            if (e.empty() || utf8_length(e) > kMaxSentenceChars)
                fail(path, *t, fmt::format("voice.enrollment sentences must be 1-{} characters", kMaxSentenceChars));
    }
    if (const toml::table* t = top.sub("scorers")) {
        Reader r{path, *t, {}};
        r.get("transcriber", s.transcriber);
        r.get("speaker_encoder", s.speaker_encoder);
        r.get("quality", s.quality);
        r.get("similarity_calibration", s.similarity_calibration);
        r.reject_unknown("scorers.");
        s.similarity_calibration =
            resolve(path, t->get("similarity_calibration"), "scorers.similarity_calibration", s.similarity_calibration);
    }
    if (const toml::table* t = top.sub("copy")) {
        Reader r{path, *t, {}};
        r.get("training", s.copy_training);
        r.get("threshold", s.copy_threshold);
        r.reject_unknown("copy.");
        check_range(path, *t, "threshold", s.copy_threshold, 0, 1, "copy.");
        s.copy_training = resolve(path, t->get("training"), "copy.training", s.copy_training);
    }
    top.reject_unknown("");
    if (!(s.text && (s.character_scenarios || !s.persona_dataset.empty())) && s.sentences.empty() && s.enrollment.empty())
        throw Error(Errc::invalid_file, path + ": the suite has no cases: enable [text] (character scenarios or a "
                                               "persona_dataset) or add [[voice.sentences]] or voice.enrollment");
    return s;
}

namespace {

// "상황: … [지문: …]" → situation, action
void split_input(const std::string& input, std::string& situation, std::string& action) {
    std::string s = input;
    const std::string tag = "상황:";
    if (s.rfind(tag, 0) == 0) s = s.substr(tag.size());
    auto open = s.find("[지문:");
    if (open != std::string::npos) {
        auto close = s.find(']', open);
        action = s.substr(open + std::string("[지문:").size(), close == std::string::npos ? std::string::npos : close - open - std::string("[지문:").size());
        s = s.substr(0, open);
    }
    auto trim = [](std::string x) {
        size_t b = x.find_first_not_of(" \t\n"), e = x.find_last_not_of(" \t\n");
        return b == std::string::npos ? std::string() : x.substr(b, e - b + 1);
    };
    situation = trim(s);
    action = trim(action);
}

bool wanted(const std::vector<std::string>& list, const Character& c) {
    if (list.empty()) return true;
    for (const auto& w : list)
        if (w == c.id || w == c.name) return true;
    return false;
}

}  // namespace

std::vector<CaseSpec> expand_cases(const Suite& suite, const Host& host, std::vector<std::string>& notes) {
    std::vector<CaseSpec> cases;
    auto known = [&](const std::vector<std::string>& list) {
        for (const auto& w : list) {
            bool found = false;
            for (const auto& c : host.characters()) found |= (c.id == w || c.name == w);
            if (!found) notes.push_back("character '" + w + "' named by the suite is not loaded; skipped");
        }
    };
    auto add_text = [&](const Character& c, const std::string& base, const std::string& group, const std::string& situation,
                        const std::string& action, const std::string& reference, const std::string& source) {
        for (int r = 0; r < suite.repeats; ++r) {
            if (cases.size() >= kMaxCases)
                throw Error(Errc::invalid_file, fmt::format("{}: the suite expands to more than {} cases; lower text.repeats "
                                                            "or split the persona dataset",
                                                            suite.path, kMaxCases));
            CaseSpec t;
            t.id = base + (suite.repeats > 1 ? "/r" + std::to_string(r) : "");
            t.type = "text";
            t.character = c.id;
            t.group = group;
            t.situation = situation;
            t.action = action;
            t.reference = reference;
            t.source = source;
            t.seed = c.sampling.seed + suite.seed + uint64_t(r);
            cases.push_back(t);
            if (suite.speak_lines) {
                CaseSpec sp = t;
                sp.id = t.id + "/speech";
                sp.type = "speech";
                sp.depends_on = t.id;
                cases.push_back(sp);
            }
        }
    };
    if (suite.text) {
        known(suite.text_characters);
        if (suite.character_scenarios)
            for (const Character& c : host.characters()) {
                if (!wanted(suite.text_characters, c)) continue;
                if (c.scenarios.empty()) notes.push_back(c.id + " has no [[eval.scenarios]]");
                for (size_t i = 0; i < c.scenarios.size(); ++i)
                    add_text(c, c.id + "/scenario-" + std::to_string(i + 1), c.scenarios[i].situation, c.scenarios[i].situation,
                             c.scenarios[i].action, "", "scenario");
            }
        if (!suite.persona_dataset.empty()) {
            std::ifstream in(suite.persona_dataset);
            if (!in) {
                std::string msg = "persona dataset not found: " + suite.persona_dataset;
                if (suite.persona_required) throw Error(Errc::not_found, msg);
                notes.push_back(msg + " (persona cases skipped)");
            } else {
                std::string line;
                size_t lineno = 0;
                while (std::getline(in, line)) {
                    ++lineno;
                    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
                    nlohmann::json j;
                    try {
                        j = nlohmann::json::parse(line);
                    } catch (const std::exception& e) {
                        throw Error(Errc::invalid_file, suite.persona_dataset + ":" + std::to_string(lineno) + ": " + e.what());
                    }
                    std::string who = j.value("character", ""), input = j.value("input", ""), output = j.value("output", "");
                    std::string group = j.value("situation_id", input);
                    const Character* c = nullptr;
                    for (const auto& ch : host.characters())
                        if (ch.id == who || ch.name == who) c = &ch;
                    if (!c) {
                        notes.push_back(suite.persona_dataset + ":" + std::to_string(lineno) + ": character '" + who + "' not loaded; skipped");
                        continue;
                    }
                    if (!wanted(suite.text_characters, *c)) continue;
                    std::string situation, action;
                    split_input(input, situation, action);
                    add_text(*c, c->id + "/persona-" + std::to_string(lineno), group, situation, action, output, "persona");
                }
            }
        }
    }
    if (!suite.sentences.empty() || !suite.enrollment.empty()) {
        known(suite.voice_characters);
        for (const Character& c : host.characters()) {
            if (!wanted(suite.voice_characters, c)) continue;
            // enrollment from the character's reference audio, when it has any
            std::vector<std::string> references;
            if (!c.voice.reference_audio.empty()) references.push_back(c.voice.reference_audio);
            for (const auto& r : c.voice.extra_references) references.push_back(r);
            for (const auto& e : c.emotions)
                if (!e.reference_audio.empty()) references.push_back(e.reference_audio);
            for (size_t i = 0; i < references.size(); ++i) {
                CaseSpec e;
                e.id = c.id + "/reference-" + std::to_string(i + 1);
                e.type = "enroll";
                e.character = c.id;
                e.text = references[i];
                e.source = "reference";
                e.group = "enroll";
                cases.push_back(e);
            }
            for (size_t i = 0; i < suite.enrollment.size(); ++i) {
                CaseSpec e;
                e.id = c.id + "/enroll-" + std::to_string(i + 1);
                e.type = "enroll";
                e.character = c.id;
                e.text = suite.enrollment[i];
                e.source = "enroll";
                e.group = "enroll";
                cases.push_back(e);
            }
            for (const auto& s : suite.sentences) {
                CaseSpec v;
                v.id = c.id + "/voice-" + s.id;
                v.type = "voice";
                v.character = c.id;
                v.text = s.text;
                v.kind = s.kind;
                v.group = s.kind;
                v.source = "voice";
                cases.push_back(v);
            }
        }
    }
    return cases;
}

void check_suite(const Suite& suite, const Host& host) {
    auto check = [&](const std::string& key, const std::string& name, PluginKind kind) {
        if (name.empty() || name == "auto" || name == "none") return;
        for (const auto& p : host.plugins()) {
            if (p.manifest.name != name) continue;
            const bool manifest_read = !(p.stage == LoadStage::manifest && !p.message.empty());
            if (manifest_read && p.manifest.kind != kind)
                throw Error(Errc::invalid_file, fmt::format("{}: scorers.{} = '{}' is a {} plugin, not a {}", suite.path, key,
                                                            name, to_string(p.manifest.kind), to_string(kind)));
            return;  // loaded, or failed: a failed scorer is reported as unavailable in the results
        }
        std::string known;
        for (const auto& p : host.plugins())
            if (!(p.stage == LoadStage::manifest && !p.message.empty()) && p.manifest.kind == kind) known += (known.empty() ? "" : ", ") + p.manifest.name;
        throw Error(Errc::not_found, fmt::format("{}: scorers.{} = '{}' is no plugin (known {} plugins: {})", suite.path, key,
                                                 name, to_string(kind), known.empty() ? "none" : known));
    };
    check("transcriber", suite.transcriber, PluginKind::transcriber);
    check("speaker_encoder", suite.speaker_encoder, PluginKind::speaker_encoder);
    for (const auto& q : suite.quality) check("quality", q, PluginKind::quality_estimator);
}

}  // namespace troupe::eval
