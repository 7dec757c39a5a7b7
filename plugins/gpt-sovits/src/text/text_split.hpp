// Long-text splitting as upstream GPT-SoVITS does it before G2P (TTS_infer_pack/
// text_segmentation_method.py and TextPreprocessor.pre_seg_text): cut methods cut0–cut5, merging of
// short pieces, terminal punctuation, and hard splits of pieces longer than 510 characters.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace troupe::sovits::text {

enum class CutMethod {
    cut0,       // no split
    cut1,       // every four sentences
    cut2,       // about 50 characters
    cut3,       // at 。
    cut4,       // at . (not between digits)
    cut5,       // at every punctuation mark (not a . between digits) — api_v2's default
    sentences,  // Troupe's default: after sentence-final marks . ? ! 。 ？ ！ … ~ (not a . between digits)
};

/// "cut0".."cut5", "sentences"; throws troupe::Error(invalid_argument) otherwise.
CutMethod parse_cut_method(std::string_view name);
const char* cut_method_name(CutMethod method);

/// Upstream's `splits`: ， 。 ？ ！ , . ? ! ~ : ： — …
bool is_split_char(char32_t c);

/// One cut method: the pieces joined by "\n", as upstream returns them.
std::string cut_text(std::string_view text, CutMethod method);

/// Collapses runs of ! ? … , . - to their first mark.
std::string replace_consecutive_punctuation(std::string_view text);

/// Concatenates consecutive pieces until each has at least `threshold` code points; a short tail joins
/// the previous piece.
std::vector<std::string> merge_short_text_in_array(const std::vector<std::string>& texts, size_t threshold);

/// Splits at punctuation into pieces of at most `max_len` code points (when possible).
std::vector<std::string> split_big_text(std::string_view text, size_t max_len = 510);

/// pre_seg_text: the segments synthesised one by one. `english` selects "." instead of "。" as the
/// added terminal mark. Throws troupe::Error(invalid_argument) when nothing speakable is left.
std::vector<std::string> pre_seg_text(std::string_view text, CutMethod method, bool english = false);

}  // namespace troupe::sovits::text
