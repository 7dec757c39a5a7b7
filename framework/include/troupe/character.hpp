// troupe/character.hpp — a character: persona, speech style, text and speech backends, voice, eval.
//
// Characters are folders `characters/<id>/` with a `character.toml` (see docs/howto-add-character.md).
// The manifest is untrusted input: unknown keys, wrong types and paths escaping the folder are
// errors with file:line:column.
#pragma once

#include <troupe/types.hpp>

#include <string>
#include <vector>

namespace troupe {

/// Korean speech levels used for style and for eval.
enum class SpeechLevel { hasipsio, haeyo, banmal, mixed };  // 하십시오체, 해요체, 반말, 섞임
const char* to_string(SpeechLevel level) noexcept;

struct EvalScenario {
    std::string situation;
    std::string action;  // the stage direction ([지문: …])
};

struct VoiceEmotion {
    std::string emotion;         // "" for the default voice
    std::string reference_audio; // absolute path
    std::string reference_text;
    std::string prompt_codes_file; // absolute path, may be empty: this reference's semantic codes (GPT-SoVITS)
};

struct Character {
    std::string id;            // folder name, ascii ("bujang")
    std::string name;          // display name ("부장")
    std::string description;
    std::string folder;        // absolute path of the character folder
    std::string manifest_path;

    // persona and style
    std::string persona;                   // instruction text for the text backend
    SpeechLevel speech_level = SpeechLevel::haeyo;
    std::vector<std::string> favoured_expressions;
    std::vector<std::string> banned_expressions;
    int min_line_chars = 50, max_line_chars = 90;

    // text
    std::string text_backend;              // plugin name
    Params text_params;                    // [text.params], paths resolved
    std::string adapter;                   // absolute path of the PEFT adapter folder, may be empty
    std::string prompt_template;           // with {persona} {situation} {action} {history}; default troupe/prompt.hpp
    std::vector<std::string> stop_strings; // [text] stop, else what the template declares ("###")
    SamplingParams sampling;

    // speech
    std::string speech_backend;
    Voice voice;                           // default voice
    std::vector<VoiceEmotion> emotions;    // per-emotion references

    // optional code
    std::string hooks_library;             // absolute path, may be empty

    std::vector<EvalScenario> scenarios;
};

/// A character folder that failed to load.
struct CharacterIssue {
    std::string path;     // file:line:column when known
    std::string message;
};

/// Parses and validates one character folder; throws Error(invalid_file) with file:line:col.
/// `allowed_dirs` lists absolute directories a path may point into besides the folder itself.
Character load_character(const std::string& folder, const std::vector<std::string>& allowed_dirs = {});

/// Fills the character's prompt template (troupe/request.hpp's make_text_request is the whole request).
std::string render_prompt(const Character& character, const std::string& situation, const std::string& action,
                          const std::string& history = {});

}  // namespace troupe
