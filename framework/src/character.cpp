#include <troupe/toml_reader.hpp>

#include <troupe/character.hpp>
#include <troupe/prompt.hpp>

#include <boost/filesystem.hpp>
#include <fmt/format.h>

namespace fs = boost::filesystem;

namespace troupe {

const char* to_string(SpeechLevel level) noexcept {
    switch (level) {
        case SpeechLevel::hasipsio: return "hasipsio";
        case SpeechLevel::haeyo: return "haeyo";
        case SpeechLevel::banmal: return "banmal";
        case SpeechLevel::mixed: return "mixed";
    }
    return "unknown";
}

namespace {

bool inside(const fs::path& path, const fs::path& dir) {
    auto p = path.begin();
    for (auto d = dir.begin(); d != dir.end(); ++d, ++p)
        if (p == path.end() || *p != *d) return false;
    return true;
}

bool is_path_key(const std::string& key) {
    auto ends = [&](const char* s) {
        std::string suffix(s);
        return key.size() >= suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return ends("dir") || ends("path") || ends("file") || ends("audio");
}

/// Resolves a manifest path inside the character folder (or an allowed directory).
std::string resolve(detail::TableReader& r, const std::string& key, const std::string& value, const fs::path& folder,
                    const std::vector<std::string>& allowed) {
    if (value.empty()) return {};
    fs::path p = fs::path(value).is_absolute() ? fs::path(value) : (folder / value);
    p = p.lexically_normal();
    if (inside(p, folder)) return p.string();
    for (const auto& dir : allowed)
        if (inside(p, fs::path(dir).lexically_normal())) return p.string();
    r.fail_key(key, "points outside the character folder (" + value +
                        "); allow the directory with [characters] allow_dirs in troupe.toml");
}

SamplingParams read_sampling(detail::TableReader& r) {
    SamplingParams s;
    s.greedy = r.boolean("greedy", s.greedy);
    s.temperature = float(r.number("temperature", s.temperature, 0.0, 5.0));
    s.top_k = int(r.integer("top_k", s.top_k, 0, 100000));
    s.top_p = float(r.number("top_p", s.top_p, 0.0, 1.0));
    s.repetition_penalty = float(r.number("repetition_penalty", s.repetition_penalty, 0.5, 3.0));
    s.seed = uint64_t(r.integer("seed", int64_t(s.seed), 0, INT64_MAX));
    s.max_new_tokens = int(r.integer("max_new_tokens", s.max_new_tokens, 1, 8192));
    r.reject_unknown();
    return s;
}

}  // namespace

Character load_character(const std::string& folder_in, const std::vector<std::string>& allowed_dirs) {
    const fs::path folder = fs::absolute(folder_in).lexically_normal();
    const std::string file = (folder / "character.toml").string();
    toml::table table = detail::parse_toml_file(file);
    detail::TableReader top(file, table);

    Character c;
    c.folder = folder.string();
    c.manifest_path = file;
    c.id = top.string("id", true);
    if (c.id != folder.filename().string())
        top.fail_key("id", "must equal the folder name '" + folder.filename().string() + "'");
    c.name = top.string("name", true);
    if (c.name.empty()) top.fail_key("name", "must not be empty");
    c.description = top.string("description");
    c.hooks_library = resolve(top, "hooks", top.string("hooks"), folder, allowed_dirs);

    const toml::table* persona = top.table("persona");
    if (!persona) top.fail_key("persona", "is required ([persona] with definition and speech_level)");
    {
        detail::TableReader r(file, *persona, "persona");
        c.persona = r.string("definition", true);
        if (c.persona.empty()) r.fail_key("definition", "must not be empty");
        std::string level = r.string("speech_level", true);
        if (level == "hasipsio") c.speech_level = SpeechLevel::hasipsio;
        else if (level == "haeyo") c.speech_level = SpeechLevel::haeyo;
        else if (level == "banmal") c.speech_level = SpeechLevel::banmal;
        else if (level == "mixed") c.speech_level = SpeechLevel::mixed;
        else r.fail_key("speech_level", "must be hasipsio, haeyo, banmal or mixed (got '" + level + "')");
        c.favoured_expressions = r.strings("favoured_expressions");
        c.banned_expressions = r.strings("banned_expressions");
        c.min_line_chars = int(r.integer("min_line_chars", c.min_line_chars, 1, 1000));
        c.max_line_chars = int(r.integer("max_line_chars", c.max_line_chars, 1, 1000));
        if (c.min_line_chars > c.max_line_chars) r.fail_key("max_line_chars", "must not be below min_line_chars");
        r.reject_unknown();
    }

    const toml::table* text = top.table("text");
    if (!text) top.fail_key("text", "is required ([text] with backend)");
    {
        detail::TableReader r(file, *text, "text");
        c.text_backend = r.string("backend", true);
        c.adapter = resolve(r, "adapter", r.string("adapter"), folder, allowed_dirs);
        c.prompt_template = r.string("prompt_template", false, prompt::character_template());
        if (c.prompt_template.find("{situation}") == std::string::npos)
            r.fail_key("prompt_template", "must contain {situation}");
        // Stop strings belong to the prompt format: the character's own, else what its template declares.
        c.stop_strings = r.has("stop") ? r.strings("stop") : prompt::stops_for(c.prompt_template);
        for (const auto& stop : c.stop_strings)
            if (stop.empty()) r.fail_key("stop", "must not contain an empty string");
        c.text_params = r.flat("params");
        for (auto& [k, v] : c.text_params)
            if (is_path_key(k)) v = resolve(r, "params." + k, v, folder, allowed_dirs);
        if (const toml::table* sampling = r.table("sampling")) {
            detail::TableReader s(file, *sampling, "text.sampling");
            c.sampling = read_sampling(s);
        }
        r.reject_unknown();
    }

    const toml::table* speech = top.table("speech");
    if (!speech) top.fail_key("speech", "is required ([speech] with backend)");
    {
        detail::TableReader r(file, *speech, "speech");
        c.speech_backend = r.string("backend", true);
        if (const toml::table* voice = r.table("voice")) {
            detail::TableReader v(file, *voice, "speech.voice");
            c.voice.reference_audio = resolve(v, "reference_audio", v.string("reference_audio"), folder, allowed_dirs);
            c.voice.reference_text = v.string("reference_text");
            for (auto& extra : v.strings("extra_references"))
                c.voice.extra_references.push_back(resolve(v, "extra_references", extra, folder, allowed_dirs));
            for (auto&& [k, node] : *voice) {
                std::string key(k.str());
                if (key == "reference_audio" || key == "reference_text" || key == "extra_references") continue;
                if (node.is_string()) c.voice.params[key] = std::string(*node.as_string());
                else if (node.is_integer()) c.voice.params[key] = std::to_string(node.as_integer()->get());
                else if (node.is_floating_point()) c.voice.params[key] = fmt::format("{}", node.as_floating_point()->get());
                else if (node.is_boolean()) c.voice.params[key] = node.as_boolean()->get() ? "true" : "false";
                else v.fail(node, "'speech.voice." + key + "' must be a string, number or boolean");
                if (is_path_key(key)) c.voice.params[key] = resolve(v, key, c.voice.params[key], folder, allowed_dirs);
            }
        }
        for (const toml::table* e : r.tables("emotions")) {
            detail::TableReader er(file, *e, "speech.emotions");
            VoiceEmotion emotion;
            emotion.emotion = er.string("emotion", true);
            emotion.reference_audio = resolve(er, "reference_audio", er.string("reference_audio", true), folder, allowed_dirs);
            emotion.reference_text = er.string("reference_text", true);
            er.reject_unknown();
            c.emotions.push_back(emotion);
        }
        r.reject_unknown();
    }

    if (const toml::table* eval = top.table("eval")) {
        detail::TableReader r(file, *eval, "eval");
        for (const toml::table* s : r.tables("scenarios")) {
            detail::TableReader sr(file, *s, "eval.scenarios");
            EvalScenario scenario;
            scenario.situation = sr.string("situation", true);
            scenario.action = sr.string("action");
            sr.reject_unknown();
            c.scenarios.push_back(scenario);
        }
        r.reject_unknown();
    }
    top.reject_unknown();
    return c;
}

namespace {
void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}
}  // namespace

std::string render_prompt(const Character& character, const std::string& situation, const std::string& action,
                          const std::string& history) {
    std::string out = character.prompt_template;
    std::string action_text = action.empty() ? std::string(prompt::kNoAction) : action;
    std::string persona = character.persona;
    replace_all(out, "{history}", history);
    replace_all(out, "{action}", action_text);
    replace_all(out, "{situation}", situation);
    replace_all(out, "{name}", character.name);
    replace_all(out, "{persona}", persona);
    return out;
}

}  // namespace troupe
