/* troupe/plugin_command.h — plugin commands: the C-shaped entry point through which a plugin adds
 * subcommands to `troupe` (plugin API version 2).
 *
 * A plugin declares its commands in plugin.toml, so `troupe --help` can list them without opening any
 * library:
 *
 *     [[commands]]
 *     name = "lm generate"          # one or two words: "<group> <command>" or a single "<command>"
 *     summary = "prompt → continuation, streamed or as JSON"
 *
 * and exports one function for all of them:
 *
 *     int troupe_plugin_run_command(const troupe_command_context* context);
 *
 * `troupe lm generate --model M --prompt P` then loads the plugin that declares "lm generate" (the
 * same loaded plugin `troupe say` uses, found through --plugin-path, $TROUPE_PLUGIN_PATH, troupe.toml
 * and the build/install directory), and calls the entry point with context->command = "lm generate"
 * and argv = {"--model", "M", "--prompt", "P"}. The return value is the process exit code
 * (docs/cli.md: 0 ok, 1 ran but failed, 2 usage, 3 invalid file, 4 not found, 5 unsupported,
 * 6 backend failure, 130 interrupted). No exception may leave the function.
 *
 * The first word is a group ("lm", "tts", "train", "voice", "bench"): several plugins may add commands
 * to one group (`train lora` from eeve-lora, `train s1` from gpt-sovits), and `troupe train --help`
 * lists the union of them with the plugin each comes from. The same full name declared by two plugins,
 * a name that is both a command and a group, or a name of a core command (say, scene, eval, ...) is a
 * clash: the later plugin fails at the manifest stage and `troupe plugins` names both.
 *
 * Plugins normally do not implement this by hand: the plugin kit's TROUPE_PLUGIN_COMMANDS(table)
 * (troupe/kit/command.hpp) exports it, wraps the context in troupe::kit::CommandContext, turns
 * exceptions into exit codes and prints errors as "troupe <command>: error: …".
 *
 * This header is C: the context holds only plain values, C strings and function pointers, and new
 * fields are only ever appended (check `size` before reading one the host may not have).
 */
#ifndef TROUPE_PLUGIN_COMMAND_H
#define TROUPE_PLUGIN_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels of troupe_command_context.log and .log_level (the values of troupe::LogLevel). */
enum troupe_log_level {
    TROUPE_LOG_DEBUG = 0,
    TROUPE_LOG_INFO = 1,
    TROUPE_LOG_WARN = 2,
    TROUPE_LOG_ERROR = 3
};

/* What the host gives a command for the duration of one call. Every pointer stays valid until the
 * entry point returns; strings are UTF-8 and NUL-terminated. */
typedef struct troupe_command_context {
    uint32_t size;                   /* sizeof(troupe_command_context) as the host compiled it */
    uint32_t api_version;            /* the host's TROUPE_PLUGIN_API_VERSION */

    const char* command;             /* the declared name that matched: "lm generate" */
    int argc;                        /* the arguments after the command's words */
    const char* const* argv;         /* argv[argc] is NULL */

    /* global options of the troupe command line */
    int json;                        /* --json: machine-readable output on stdout */
    int quiet;                       /* -q: warnings and errors only, no progress */
    int log_level;                   /* enum troupe_log_level: -v gives DEBUG, -q WARN */

    const char* plugin_name;         /* "eeve-lora" */
    const char* plugin_dir;          /* absolute folder of the plugin's plugin.toml */

    /* The plugin's resolved parameters, as Module::create would get them: plugin.toml [defaults] <
     * troupe.toml [plugin.<name>], plus "host.data_dir" (where relative data paths resolve). */
    size_t param_count;
    const char* const* param_keys;   /* dotted keys ("model.dir"), sorted */
    const char* const* param_values;

    /* Directories user files may point into besides a character's folder (troupe.toml
     * [characters] allow_dirs), absolute. */
    size_t allow_dir_count;
    const char* const* allow_dirs;

    /* Host services. Pass `host` back as the first argument. */
    void* host;
    /* Logs through the host's logger (stderr, filtered by the log level). */
    void (*log)(void* host, int level, const char* message);
    /* Nonzero once the user pressed Ctrl-C; long loops stop and return 130. */
    int (*cancel_requested)(void* host);
    /* The absolute folder of the character with this id or display name, or NULL when there is none
     * or its character.toml is invalid (last_error says which). */
    const char* (*character_folder)(void* host, const char* id_or_name);
    /* Why the last callback that could fail returned NULL. */
    const char* (*last_error)(void* host);
} troupe_command_context;

/* The optional entry point of plugin API version 2 (required when plugin.toml declares commands). */
typedef int troupe_plugin_run_command_fn(const troupe_command_context* context);

#ifdef __cplusplus
}
#endif

#endif /* TROUPE_PLUGIN_COMMAND_H */
