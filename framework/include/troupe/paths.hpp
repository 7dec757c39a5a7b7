// troupe/paths.hpp — the path rules for everything a user's file names (docs/paths.md).
//
// A path named by a character, a scene, a suite or troupe.toml is taken relative to the file that
// names it (absolute paths as written), then resolved: `..` and every symlink along the existing
// part of the path are followed, and the *resolved* path is what is checked and used. A character's
// paths must resolve inside the character folder or a directory listed in troupe.toml's
// `[characters] allow_dirs` (itself resolved), so a symlink inside a folder cannot lead out of it.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace troupe {

/// `value` made absolute against `base` (a directory) and resolved: `.`/`..` removed and every
/// symlink of the existing leading part followed (boost weakly_canonical). "" stays "".
std::string resolve_path(const std::string& value, const std::string& base);

/// True when `path` is `dir` or lies below it, both compared after resolve_path.
bool path_within(const std::string& path, const std::string& dir);

/// The resolved `value` (see resolve_path) when it lies within `base` or one of `allowed`;
/// std::nullopt when it leads anywhere else.
std::optional<std::string> confine_path(const std::string& value, const std::string& base,
                                        const std::vector<std::string>& allowed = {});

/// True for parameter keys that name files or folders: keys ending in `dir`, `path`, `file` or
/// `audio` (`model.dir`, `reference_audio`, `prompt_codes_file`). Only these keys may name files.
bool is_path_key(const std::string& key);

/// True when `name` is usable as one path component of an output file: 1–100 bytes of ASCII
/// letters, digits, '-', '_' and '.', not starting with '.' (so never "..", never a slash).
bool is_safe_file_name(const std::string& name);

}  // namespace troupe
