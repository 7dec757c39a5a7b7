// troupe/prompt.hpp — the prompt format the embedded model and the persona adapters are trained on,
// shared by the host's request path (troupe/request.hpp) and the eeve-lora trainer, so that a
// character is prompted exactly as its adapter was trained. Header-only, no dependencies.
//
//     ### Instruction:
//     {persona}
//
//     ### Input:
//     상황: {situation} [지문: {action}]
//
//     ### Response:
//
// The model writes the response and then, having learnt the format, starts the next "###" section:
// "###" is the stop string this template declares.
#pragma once

#include <string>
#include <vector>

namespace troupe::prompt {

/// The Alpaca-style template with the persona ("instruction" in the training data) and the input.
inline constexpr const char* kTemplate = "### Instruction:\n{persona}\n\n### Input:\n{input}\n\n### Response:\n";
/// The input of a character's line: the situation and the stage direction ([지문: …]).
inline constexpr const char* kInput = "상황: {situation} [지문: {action}]";
/// What the input's {action} reads when there is no stage direction.
inline constexpr const char* kNoAction = "없음";
/// The stop string of templates made of "###" sections.
inline constexpr const char* kSectionStop = "###";

/// Replaces every `{key}` in `text` with `value`.
inline std::string fill(std::string text, const std::string& key, const std::string& value) {
    const std::string token = "{" + key + "}";
    for (size_t pos = 0; (pos = text.find(token, pos)) != std::string::npos; pos += value.size())
        text.replace(pos, token.size(), value);
    return text;
}

/// The default template of a character: kTemplate with kInput in place of {input}.
inline std::string character_template() { return fill(kTemplate, "input", kInput); }

/// The stop strings a template declares: "###" for templates made of "###" sections, else none.
inline std::vector<std::string> stops_for(const std::string& template_text) {
    if (template_text.find(std::string(kSectionStop) + " ") != std::string::npos) return {kSectionStop};
    return {};
}

}  // namespace troupe::prompt
