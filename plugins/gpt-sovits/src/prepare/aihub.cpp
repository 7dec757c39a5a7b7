#include "prepare/aihub.hpp"

#include "text/utf8.hpp"

#include <troupe/status.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace troupe::sovits::prepare {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Key names per field, in priority order (compared case-insensitively).
const char* const kTextKeys[] = {"TransLabelText", "LabelText", "OrgLabelText", "transcription", "transcript",
                                 "stt", "text", "script", "sentence", "form"};
const char* const kSpeakerKeys[] = {"SpeakerName", "speaker_id", "speakerId", "recorderId", "speaker",
                                    "speaker_name", "spk"};
const char* const kAudioKeys[] = {"FileName", "fileNm", "file_name", "filename", "wav", "wav_path", "wavPath",
                                  "audio", "audio_path", "audioPath", "file"};
const char* const kEmotionKeys[] = {"Emotion", "EmotionLabel", "emotion_label", "emotion_type", "감정"};

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Depth-first search for the first member named `key` whose value is a string (or, when
// allow_number, a number). Arrays with one element are looked into; arrays with several objects
// that hold the key make the label a multi-utterance one.
const json* find_key(const json& j, const std::string& key, bool allow_number, int depth, size_t& array_hits) {
    if (depth > 6) return nullptr;
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (lower(it.key()) != key) continue;
            if (it->is_string() || (allow_number && it->is_number_integer())) return &*it;
        }
        for (auto it = j.begin(); it != j.end(); ++it)
            if (it->is_structured())
                if (const json* hit = find_key(*it, key, allow_number, depth + 1, array_hits)) return hit;
    } else if (j.is_array()) {
        size_t with_key = 0;
        const json* first = nullptr;
        for (const json& item : j) {
            size_t ignored = 0;
            if (const json* hit = find_key(item, key, allow_number, depth + 1, ignored)) {
                ++with_key;
                if (!first) first = hit;
            }
        }
        if (with_key > 1) array_hits = std::max(array_hits, with_key);
        if (with_key == 1) return first;
    }
    return nullptr;
}

std::string value_string(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

bool has_digit_or_latin(char32_t c) { return (c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z'); }

size_t foreign_count(std::u32string_view s) {
    return size_t(std::count_if(s.begin(), s.end(), has_digit_or_latin));
}

bool is_space(char32_t c) { return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || c == U'\v' || c == U'\f' || c == 0x3000 || c == 0xA0; }

// Folder kind from its name: 'L' label / 'S' source, split letter 'T'/'V', and the shared suffix.
struct FolderKey {
    char split = 0, kind = 0;
    std::string suffix;
};
bool folder_key(const fs::path& p, FolderKey& key) {
    const std::string name = p.filename().string();
    if (name.size() < 4 || name[2] != '_') return false;
    const char a = char(std::toupper(static_cast<unsigned char>(name[0])));
    const char b = char(std::toupper(static_cast<unsigned char>(name[1])));
    if ((a != 'T' && a != 'V') || (b != 'L' && b != 'S')) return false;
    key = {a, b, name.substr(3)};
    return true;
}

std::string stem_key(const fs::path& rel) { return (rel.parent_path() / rel.stem()).generic_string(); }

}  // namespace

DualTranscript parse_dual_transcript(std::string_view name) {
    if (name == "pronounced") return DualTranscript::pronounced;
    if (name == "first") return DualTranscript::first;
    if (name == "second") return DualTranscript::second;
    throw Error(Errc::invalid_argument, fmt::format("unknown dual-transcript choice '{}' (pronounced, first, second)", name));
}

bool is_audio_file(std::string_view path) {
    const std::string ext = lower(fs::path(std::string(path)).extension().string());
    return ext == ".wav" || ext == ".flac" || ext == ".ogg" || ext == ".mp3";
}

LabelFields read_label_fields(const json& label, const std::string& file) {
    if (!label.is_object()) throw Error(Errc::invalid_file, file + ": the label is not a JSON object");
    LabelFields f;
    size_t multi = 0;
    const json* text = nullptr;
    for (const char* key : kTextKeys)
        if ((text = find_key(label, lower(key), false, 0, multi))) break;
    if (multi > 1 && !text)
        throw Error(Errc::invalid_file, fmt::format("{}: the label holds {} utterances (segments of one recording); "
                                                    "one label per audio file is needed", file, multi));
    if (!text)
        throw Error(Errc::invalid_file,
                    file + ": no transcript found (looked for TransLabelText, LabelText, OrgLabelText, "
                           "transcription, transcript, stt, text, script, sentence, form)");
    f.text = text->get<std::string>();
    size_t ignored = 0;
    for (const char* key : kSpeakerKeys)
        if (const json* v = find_key(label, lower(key), true, 0, ignored)) {
            f.speaker = value_string(*v);
            break;
        }
    for (const char* key : kAudioKeys)
        if (const json* v = find_key(label, lower(key), false, 0, ignored)) {
            f.audio = v->get<std::string>();
            break;
        }
    for (const char* key : kEmotionKeys)
        if (const json* v = find_key(label, lower(key), false, 0, ignored)) {
            f.emotion = clean_transcript(v->get<std::string>());  // one line, trimmed
            break;
        }
    return f;
}

std::string clean_transcript(std::string_view text_in, DualTranscript dual) {
    const std::u32string s = text::utf8_to_u32(text_in);
    std::u32string out;
    for (size_t i = 0; i < s.size();) {
        // (A)/(B)
        if (s[i] == U'(') {
            const size_t a_end = s.find(U')', i + 1);
            if (a_end != std::u32string::npos && a_end + 2 < s.size() && s[a_end + 1] == U'/' && s[a_end + 2] == U'(') {
                const size_t b_end = s.find(U')', a_end + 3);
                if (b_end != std::u32string::npos) {
                    const std::u32string_view all(s);
                    const std::u32string_view a = all.substr(i + 1, a_end - i - 1);
                    const std::u32string_view b = all.substr(a_end + 3, b_end - a_end - 3);
                    std::u32string_view pick = b;
                    if (dual == DualTranscript::first) pick = a;
                    else if (dual == DualTranscript::pronounced && foreign_count(a) < foreign_count(b)) pick = a;
                    out.append(pick);
                    i = b_end + 1;
                    continue;
                }
            }
        }
        // noise tags "b/", "l/", "o/", "n/", "u/" at the start of a word
        if ((i == 0 || is_space(s[i - 1])) && i + 1 < s.size() && s[i + 1] == U'/' &&
            std::u32string_view(U"blonu").find(s[i]) != std::u32string_view::npos) {
            i += 2;
            continue;
        }
        out.push_back(s[i]);
        ++i;
    }
    std::u32string collapsed;
    for (char32_t c : out) {
        if (is_space(c)) {
            if (!collapsed.empty() && collapsed.back() != U' ') collapsed.push_back(U' ');
        } else {
            collapsed.push_back(c);
        }
    }
    while (!collapsed.empty() && collapsed.back() == U' ') collapsed.pop_back();
    return text::u32_to_utf8(collapsed);
}

namespace {

/// The label folders (TL_*/VL_*), audio folders (TS_*/VS_*) and unextracted archives under a root.
struct Folders {
    std::vector<std::pair<FolderKey, fs::path>> labels, sources;
    std::vector<fs::path> archives;
    fs::path walk_root;
    bool only_root = false;  // the root is itself a label folder: scan just that one
};

Folders find_folders(const fs::path& root) {
    std::error_code ec;
    Folders f;
    FolderKey rootkey;
    f.walk_root = root;
    if (folder_key(root, rootkey) && rootkey.kind == 'L') {
        f.walk_root = root.parent_path();
        f.only_root = true;
    }
    for (auto it = fs::recursive_directory_iterator(f.walk_root, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        const fs::path p = it->path();
        FolderKey key;
        if (it->is_directory(ec) && folder_key(p, key)) {
            if (key.kind == 'L') {
                if (!f.only_root || p == root) f.labels.push_back({key, p});
            } else {
                f.sources.push_back({key, p});
            }
            it.disable_recursion_pending();  // not looking inside them for more
        } else if (it->is_regular_file(ec) && lower(p.extension().string()) == ".zip" && folder_key(p.stem(), key)) {
            f.archives.push_back(p);
        }
    }
    std::sort(f.labels.begin(), f.labels.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    std::sort(f.sources.begin(), f.sources.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    std::sort(f.archives.begin(), f.archives.end());
    return f;
}

std::vector<fs::path> files_with_extension(const fs::path& dir, const char* extension) {
    std::error_code ec;
    std::vector<fs::path> out;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->is_regular_file(ec) && lower(it->path().extension().string()) == extension) out.push_back(it->path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// The audio files of one source folder, by relative stem, file name and stem.
struct AudioIndex {
    std::map<std::string, std::vector<fs::path>> by_rel_stem, by_name, by_stem;

    static const std::vector<fs::path>* lookup(const std::map<std::string, std::vector<fs::path>>& m, const std::string& k) {
        auto it = m.find(k);
        return it == m.end() ? nullptr : &it->second;
    }
    /// The one file in `v`, or an empty path (with `why` set when there are several).
    static fs::path unique_or(const std::vector<fs::path>* v, std::string& why, const std::string& what) {
        if (!v || v->empty()) return {};
        if (v->size() > 1) {
            why = fmt::format("{} audio files match {}: {}, {}", v->size(), what, (*v)[0].string(), (*v)[1].string());
            return {};
        }
        return v->front();
    }
};

AudioIndex index_audio(const fs::path& source_dir, size_t& audio_files) {
    std::error_code ec;
    AudioIndex index;
    for (auto it = fs::recursive_directory_iterator(source_dir, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (!it->is_regular_file(ec) || !is_audio_file(it->path().string())) continue;
        const fs::path rel = it->path().lexically_relative(source_dir);
        index.by_rel_stem[stem_key(rel)].push_back(it->path());
        index.by_name[it->path().filename().string()].push_back(it->path());
        index.by_stem[it->path().stem().string()].push_back(it->path());
        ++audio_files;
    }
    return index;
}

/// The audio file of a label (`rel` is the label's path in its folder): the file the label names, else
/// the one with the label's path or name. Empty with `why` set when there is none or several.
fs::path find_audio(const LabelFields& f, const fs::path& rel, const fs::path& source_dir, const AudioIndex& index,
                    std::string& why) {
    fs::path audio;
    if (!f.audio.empty()) {
        const fs::path named = fs::path(f.audio).filename();
        const bool has_ext = is_audio_file(named.string());
        const std::string rel_stem = stem_key(rel.parent_path() / named);
        if (has_ext && fs::is_regular_file(source_dir / rel.parent_path() / named)) audio = source_dir / rel.parent_path() / named;
        if (audio.empty() && !has_ext)
            audio = AudioIndex::unique_or(AudioIndex::lookup(index.by_rel_stem, rel_stem), why, "'" + f.audio + "'");
        if (audio.empty() && why.empty())
            audio = has_ext ? AudioIndex::unique_or(AudioIndex::lookup(index.by_name, named.string()), why, "'" + f.audio + "'")
                            : AudioIndex::unique_or(AudioIndex::lookup(index.by_stem, named.string()), why, "'" + f.audio + "'");
        if (audio.empty() && why.empty())
            why = fmt::format("the audio file '{}' named by the label is not in {}", f.audio, source_dir.string());
        return audio;
    }
    audio = AudioIndex::unique_or(AudioIndex::lookup(index.by_rel_stem, stem_key(rel)), why, "the label's path");
    if (audio.empty() && why.empty())
        audio = AudioIndex::unique_or(AudioIndex::lookup(index.by_stem, rel.stem().string()), why, "the label's name");
    if (audio.empty() && why.empty()) why = fmt::format("no audio file named {}.* in {}", rel.stem().string(), source_dir.string());
    return audio;
}

/// Reads one label file (a UTF-8 BOM allowed); throws json::exception when it is not JSON.
json read_label_json(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    std::string content = buf.str();
    if (content.rfind("\xEF\xBB\xBF", 0) == 0) content.erase(0, 3);
    return json::parse(content);
}

/// The labels of one label folder against its audio folder: entries, and a problem for each label
/// refused and each audio file left without a label.
void scan_label_folder(const fs::path& label_dir, const std::vector<fs::path>& label_files, const fs::path& source_dir,
                       const AihubOptions& options, std::set<std::string>& used_audio, AihubScan& scan) {
    const AudioIndex index = index_audio(source_dir, scan.audio_files);
    std::set<std::string> claimed;  // audio of refused labels (reported with the label, not as orphans)
    for (const fs::path& lf : label_files) {
        const std::string file = lf.string();
        auto refuse = [&](const std::string& reason) {
            scan.problems.push_back({file, "labels", reason});
            if (auto* same = AudioIndex::lookup(index.by_rel_stem, stem_key(lf.lexically_relative(label_dir))))
                for (const fs::path& p : *same) claimed.insert(p.string());
        };
        json j;
        try {
            j = read_label_json(lf);
        } catch (const json::exception& e) {
            refuse(fmt::format("invalid JSON: {}", e.what()));
            continue;
        }
        LabelFields f;
        std::string text;
        try {
            f = read_label_fields(j, file);
            text = clean_transcript(f.text, options.dual);
        } catch (const Error& e) {
            std::string msg = e.what();
            if (msg.rfind(file + ": ", 0) == 0) msg.erase(0, file.size() + 2);
            refuse(msg);
            continue;
        }
        if (const std::string problem = list_field_problem(text); !problem.empty()) {
            refuse(fmt::format("transcript {}", problem));
            continue;
        }
        std::string why;
        const fs::path audio = find_audio(f, lf.lexically_relative(label_dir), source_dir, index, why);
        if (audio.empty()) {
            scan.problems.push_back({file, "labels", why});
            continue;
        }
        if (!used_audio.insert(audio.string()).second) {
            scan.problems.push_back({file, "labels", fmt::format("the audio {} is already used by another label", audio.string())});
            continue;
        }
        std::string speaker = f.speaker.empty() ? options.default_speaker : f.speaker;
        if (speaker.empty()) speaker = lf.parent_path().filename().string();
        // The list format cannot carry '|' or line breaks in the speaker: replace them.
        for (char& c : speaker)
            if (c == '|' || c == '\n' || c == '\r' || c == '\t') c = '_';
        scan.entries.push_back({audio.string(), speaker, options.language, text, file, f.emotion});
    }
    for (const auto& [name, paths] : index.by_name)
        for (const fs::path& p : paths)
            if (!used_audio.count(p.string()) && !claimed.count(p.string()))
                scan.problems.push_back({p.string(), "labels", "audio file without a label"});
}

}  // namespace

AihubScan scan_aihub(const std::string& root_in, const AihubOptions& options) {
    std::error_code ec;
    fs::path root = fs::absolute(fs::path(root_in), ec).lexically_normal();
    if (!fs::is_directory(root)) throw Error(Errc::not_found, root_in + ": no such folder");
    AihubScan scan;
    const Folders folders = find_folders(root);
    if (folders.labels.empty()) {
        std::string hint = folders.archives.empty()
                               ? ""
                               : fmt::format(" ({} TS_/TL_ .zip archives found: extract them first)", folders.archives.size());
        throw Error(Errc::not_found, fmt::format("{}: no label folder (TL_*/VL_*) found{}", root_in, hint));
    }
    for (const fs::path& a : folders.archives) {
        fs::path extracted = a.parent_path() / a.stem();
        if (!fs::is_directory(extracted))
            scan.problems.push_back({a.string(), "labels", "archive not extracted (extract it beside itself to use it)"});
    }
    scan.label_folders = folders.labels.size();
    scan.source_folders = folders.sources.size();

    std::set<fs::path> matched_sources;
    std::set<std::string> used_audio;
    for (const auto& label_folder : folders.labels) {
        // Not a structured binding: lambdas below may use label_dir (C++17 forbids capturing those; clang refuses).
        const FolderKey& key = label_folder.first;
        const fs::path& label_dir = label_folder.second;
        std::vector<fs::path> candidates;
        for (const auto& [skey, sdir] : folders.sources)
            if (skey.split == key.split && skey.suffix == key.suffix) candidates.push_back(sdir);
        const std::string want = fmt::format("{}S_{}", key.split, key.suffix);
        const std::vector<fs::path> label_files = files_with_extension(label_dir, ".json");
        scan.labels += label_files.size();
        if (candidates.size() != 1) {
            const std::string why = candidates.empty()
                ? fmt::format("no audio folder {} found under {}", want, folders.walk_root.string())
                : fmt::format("{} audio folders named {} (ambiguous): {}, {}", candidates.size(), want,
                              candidates[0].string(), candidates[1].string());
            for (const fs::path& lf : label_files) scan.problems.push_back({lf.string(), "labels", why});
            if (label_files.empty()) scan.problems.push_back({label_dir.string(), "labels", why});
            continue;
        }
        matched_sources.insert(candidates.front());
        scan_label_folder(label_dir, label_files, candidates.front(), options, used_audio, scan);
    }
    for (const auto& [key, sdir] : folders.sources)
        if (!matched_sources.count(sdir) && !folders.only_root)
            scan.problems.push_back({sdir.string(), "labels",
                                     fmt::format("audio folder without a label folder {}L_{}", key.split, key.suffix)});
    return scan;
}

}  // namespace troupe::sovits::prepare
