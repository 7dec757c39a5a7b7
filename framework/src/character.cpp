#include <troupe/toml_reader.hpp>

#include <troupe/character.hpp>
#include <troupe/paths.hpp>
#include <troupe/prompt.hpp>
#include <troupe/text.hpp>

#include <boost/filesystem.hpp>
#include <fmt/format.h>

#include <cctype>

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

/// What a manifest path must name, checked after it is resolved.
enum class Need { file, folder, anything };

/// Resolves a manifest path (relative to the character folder, symlinks followed) and checks that
/// it stays inside the folder or an allowed directory and names an existing file or folder.
std::string resolve(detail::TableReader& r, const std::string& key, const std::string& value, const fs::path& folder,
                    const std::vector<std::string>& allowed, Need need = Need::anything) {
    if (value.empty()) return {};
    const std::optional<std::string> p = confine_path(value, folder.string(), allowed);
    if (!p)
        r.fail_key(key, "points outside the character folder (" + value + " resolves to " +
                            resolve_path(value, folder.string()) +
                            "); allow the directory with [characters] allow_dirs in troupe.toml");
    boost::system::error_code ec;
    const fs::file_status st = fs::status(*p, ec);
    if (!fs::exists(st)) r.fail_key(key, "names " + value + ", which does not exist");
    if (need == Need::folder && !fs::is_directory(st)) r.fail_key(key, "names " + value + ", which is not a folder");
    if (need == Need::file && !fs::is_regular_file(st)) r.fail_key(key, "names " + value + ", which is not a file");
    return *p;
}

bool ascii_id(const std::string& id) {
    if (id.empty() || id.size() > 64) return false;
    for (char ch : id)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_')) return false;
    return std::isalnum(static_cast<unsigned char>(id[0])) != 0;
}

/// Size limits of a character manifest (docs/cli.md, "Limits").
constexpr size_t kMaxPersonaChars = 4000, kMaxTemplateChars = 4000, kMaxNameChars = 100, kMaxListItems = 100,
                 kMaxSituationChars = 2000;

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
    // The folder itself resolved, so paths inside it compare against where it really is.
    const fs::path folder = resolve_path(folder_in, fs::current_path().string());
    const std::string file = (folder / "character.toml").string();
    toml::table table = detail::parse_toml_file(file);
    detail::TableReader top(file, table);

    Character c;
    c.folder = folder.string();
    c.manifest_path = file;
    c.id = top.string("id", true);
    if (!ascii_id(c.id))
        top.fail_key("id", "must be 1-64 ASCII letters, digits, '-' or '_', starting with a letter or digit (got '" +
                               c.id + "')");
    if (c.id != fs::path(folder_in).lexically_normal().filename().string() && c.id != folder.filename().string())
        top.fail_key("id", "must equal the folder name '" + folder.filename().string() + "'");
    c.name = top.string("name", true);
    if (c.name.empty()) top.fail_key("name", "must not be empty");
    if (utf8_length(c.name) > kMaxNameChars) top.fail_key("name", fmt::format("must be at most {} characters", kMaxNameChars));
    c.description = top.string("description");
    c.hooks_library = resolve(top, "hooks", top.string("hooks"), folder, allowed_dirs, Need::folder);
    if (!c.hooks_library.empty() && !fs::is_regular_file(fs::path(c.hooks_library) / "plugin.toml"))
        top.fail_key("hooks", "names a folder without a plugin.toml (" + c.hooks_library + ")");

    const toml::table* persona = top.table("persona");
    if (!persona) top.fail_key("persona", "is required ([persona] with definition and speech_level)");
    {
        detail::TableReader r(file, *persona, "persona");
        c.persona = r.string("definition", true);
        if (c.persona.empty()) r.fail_key("definition", "must not be empty");
        if (utf8_length(c.persona) > kMaxPersonaChars)
            r.fail_key("definition", fmt::format("is {} characters; at most {} fit a prompt", utf8_length(c.persona),
                                                 kMaxPersonaChars));
        std::string level = r.string("speech_level", true);
        if (level == "hasipsio") c.speech_level = SpeechLevel::hasipsio;
        else if (level == "haeyo") c.speech_level = SpeechLevel::haeyo;
        else if (level == "banmal") c.speech_level = SpeechLevel::banmal;
        else if (level == "mixed") c.speech_level = SpeechLevel::mixed;
        else r.fail_key("speech_level", "must be hasipsio, haeyo, banmal or mixed (got '" + level + "')");
        c.favoured_expressions = r.strings("favoured_expressions");
        c.banned_expressions = r.strings("banned_expressions");
        if (c.favoured_expressions.size() > kMaxListItems)
            r.fail_key("favoured_expressions", fmt::format("must have at most {} entries", kMaxListItems));
        if (c.banned_expressions.size() > kMaxListItems)
            r.fail_key("banned_expressions", fmt::format("must have at most {} entries", kMaxListItems));
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
        c.adapter = resolve(r, "adapter", r.string("adapter"), folder, allowed_dirs, Need::folder);
        c.prompt_template = r.string("prompt_template", false, prompt::character_template());
        if (utf8_length(c.prompt_template) > kMaxTemplateChars)
            r.fail_key("prompt_template", fmt::format("must be at most {} characters", kMaxTemplateChars));
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
            c.voice.reference_audio =
                resolve(v, "reference_audio", v.string("reference_audio"), folder, allowed_dirs, Need::file);
            c.voice.reference_text = v.string("reference_text");
            for (auto& extra : v.strings("extra_references"))
                c.voice.extra_references.push_back(resolve(v, "extra_references", extra, folder, allowed_dirs, Need::file));
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
            emotion.reference_audio =
                resolve(er, "reference_audio", er.string("reference_audio", true), folder, allowed_dirs, Need::file);
            emotion.reference_text = er.string("reference_text", true);
            if (const std::string codes = er.string("prompt_codes_file"); !codes.empty())
                emotion.prompt_codes_file = resolve(er, "prompt_codes_file", codes, folder, allowed_dirs, Need::file);
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
            if (utf8_length(scenario.situation) > kMaxSituationChars || utf8_length(scenario.action) > kMaxSituationChars)
                sr.fail_key("situation",
                            fmt::format("situation and action must be at most {} characters each", kMaxSituationChars));
            sr.reject_unknown();
            c.scenarios.push_back(scenario);
        }
        if (c.scenarios.size() > kMaxListItems)
            r.fail_key("scenarios", fmt::format("must have at most {} entries", kMaxListItems));
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
