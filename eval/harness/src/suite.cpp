#include <troupe/eval/suite.hpp>

#include <troupe/status.hpp>

#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
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

std::string resolve(const std::string& suite_path, const std::string& p) {
    if (p.empty() || fs::path(p).is_absolute()) return p;
    std::string root = source_dir();
    std::error_code ec;  // a name the file system refuses (too long, …) is simply not there
    if (!root.empty() && fs::exists(fs::path(root) / p, ec)) return (fs::path(root) / p).lexically_normal().string();
    fs::path beside = fs::path(suite_path).parent_path() / p;
    if (fs::exists(beside, ec)) return beside.lexically_normal().string();
    // neither exists: keep it under the repository root so the "absent" message names a clear path
    return ((root.empty() ? fs::path(suite_path).parent_path() : fs::path(root)) / p).lexically_normal().string();
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
            out = n->value<double>().value();
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
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        throw Error(Errc::invalid_file, where(path, e.source()) + ": " + std::string(e.description()));
    }
    Suite s;
    s.path = fs::absolute(path).lexically_normal().string();
    s.name = fs::path(path).stem().string();
    Reader top{path, root, {}};
    top.get("name", s.name);
    top.get("description", s.description);
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
        r.reject_unknown("text.");
        if (s.repeats < 1) fail(path, *t, "text.repeats must be at least 1");
        s.persona_dataset = resolve(path, s.persona_dataset);
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
                if (!ids.insert(v.id).second) fail(path, e, "duplicate voice sentence id '" + v.id + "'");
                if (v.kind.empty()) v.kind = "short";
                s.sentences.push_back(v);
            }
        }
        r.reject_unknown("voice.");
    }
    if (const toml::table* t = top.sub("scorers")) {
        Reader r{path, *t, {}};
        r.get("transcriber", s.transcriber);
        r.get("speaker_encoder", s.speaker_encoder);
        r.get("quality", s.quality);
        r.get("similarity_calibration", s.similarity_calibration);
        r.reject_unknown("scorers.");
        s.similarity_calibration = resolve(path, s.similarity_calibration);
    }
    if (const toml::table* t = top.sub("copy")) {
        Reader r{path, *t, {}};
        r.get("training", s.copy_training);
        r.get("threshold", s.copy_threshold);
        r.reject_unknown("copy.");
        s.copy_training = resolve(path, s.copy_training);
    }
    top.reject_unknown("");
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

}  // namespace troupe::eval
