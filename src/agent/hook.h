/*
 * hook.h - the fail-open hook runner behind `mnemo hook <event> [--agent A]`.
 *
 * One run: read the agent's JSON on stdin, turn it into the normalized event (adapter.h), send
 * it to the worker in one request (POST /v1/hooks/{event} over $MNEMO_HOME/mnemo.sock, with
 * util/uhttp.h) and print what the agent accepts, with the context the worker returned. One
 * hard total deadline per event covers everything from the start of the run to the output;
 * whatever goes wrong (no worker, a stopped or slow worker, a locked database, malformed or
 * huge stdin, a non-2xx answer) ends in the agent's minimal output and exit status 0, with one
 * logfmt line in $MNEMO_HOME/logs/hooks.log. Nothing but the agent's output reaches stdout.
 *
 * Switches (environment; none needs a worker):
 *   MNEMO_DISABLED=1, MNEMO_INTERNAL=1  no-op (minimal output, stdin unread, no worker contact)
 *   .mnemo-ignore                       a file of that name in the working directory or any
 *                                       parent up to the git root (a directory holding .git) or
 *                                       the file system root: no-op for that project
 *   ignore_projects (config key, also   projects whose hooks are no-ops, named in
 *   MNEMO_IGNORE_PROJECTS)              $MNEMO_HOME/config.json: see
 *                                       mnemo_hook_ignored_project
 *
 * A post-tool-use of mnemo's own MCP tools (mnemo_hook_own_tool) is a no-op as well.
 *   MNEMO_HOOK_TIMEOUT_MS=N             the total deadline of every event, in ms (1..60000)
 *   MNEMO_AUTOSTART=0                   never start a worker (also the config key autostart,
 *                                       when the config table has it)
 *   MNEMO_PROJECT=P                     sent as the project (else the worker derives it from cwd)
 *
 * Autostart: when nothing listens on the socket (MNEMO_ECLOSED), the runner starts
 * `mnemo serve --daemon` fully detached (double fork, setsid, every descriptor closed and 0-2
 * on /dev/null, so the agent never waits on a pipe the worker inherited) and carries on
 * without a worker for this call. $MNEMO_HOME/autostart.stamp holds the time of the last
 * attempt; no new attempt is made within MNEMO_HOOK_AUTOSTART_GAP_MS of it, so a burst of
 * hooks starts one worker, not one each.
 *
 * Thread-safety: a runner is a whole process; mnemo_hook_run is called once from main's
 * thread (it forks). The helpers below have no shared state.
 */
#ifndef MNEMO_AGENT_HOOK_H
#define MNEMO_AGENT_HOOK_H

#include <stddef.h>
#include <stdint.h>

#include "agent/adapter.h"
#include "util/err.h"

/* Largest stdin read (bytes); a larger one is treated as malformed. */
#define MNEMO_HOOK_STDIN_MAX ((size_t)4 * 1024 * 1024)
/* Bytes of the transcript's end that are read for the last user and assistant texts. */
#define MNEMO_HOOK_TRANSCRIPT_TAIL (256 * 1024)
/* Largest last_user_message / last_assistant_message sent (bytes, cut at UTF-8). */
#define MNEMO_HOOK_MESSAGE_MAX (8 * 1024)
/* No autostart within this long after the previous attempt. */
#define MNEMO_HOOK_AUTOSTART_GAP_MS 10000
/* The per-project opt-out file. */
#define MNEMO_HOOK_IGNORE_FILE ".mnemo-ignore"
/* The hook log, inside $MNEMO_HOME; rotated to hooks.log.1 beyond MNEMO_HOOK_LOG_MAX bytes. */
#define MNEMO_HOOK_LOG_NAME   "hooks.log"
#define MNEMO_HOOK_LOG_MAX    (4 * 1024 * 1024)
#define MNEMO_HOOK_STAMP_NAME "autostart.stamp"

/*
 * The total deadline of event in ms: MNEMO_HOOK_TIMEOUT_MS when set and valid, else the
 * default (session-start 2000, user-prompt-submit 1000, post-tool-use 300, stop 1000,
 * subagent-stop 1000, session-end 800, pre-compact 800; each well under the agent's own
 * timeout: Claude Code gives SessionEnd hooks 1.5 s in total).
 */
int64_t mnemo_hook_timeout_ms(enum mnemo_hook_event event);

/*
 * When this process started, on the monotonic clock (mnemo_clock_mono_ns): the kernel's start
 * time of the process (/proc/self/stat, 10 ms ticks, rounded down: the deadline errs early), so
 * the time spent loading the binary counts against the deadline. Now when it cannot be read or
 * looks wrong (more than 2 s ago).
 */
int64_t mnemo_hook_process_start_ns(void);

/* What one run needs; everything borrowed. */
struct mnemo_hook_run {
    enum mnemo_agent agent;
    enum mnemo_hook_event event;
    int64_t start_ns; /* mnemo_hook_process_start_ns() */
    int in_fd;        /* the agent's JSON (stdin) */
    int out_fd;       /* the agent reads this (stdout) */
};

/* Runs one hook as described above. Always returns 0: the exit status of a hook. */
int mnemo_hook_run(const struct mnemo_hook_run *run);

/*
 * Resolves mnemo's home like the CLI does: $MNEMO_HOME when set and non-empty, else
 * $HOME/.mnemo, else the password database's home + "/.mnemo". Returns 0 or MNEMO_ETOOBIG /
 * MNEMO_ENOTFOUND.
 */
int mnemo_hook_home(char *buf, size_t size);

/*
 * True when dir (absolute) or a parent up to the first one holding .git (included) or "/"
 * holds MNEMO_HOOK_IGNORE_FILE.
 */
int mnemo_hook_ignored(const char *dir);

/*
 * True when dir (absolute) belongs to a project named in list, the value of the config key
 * ignore_projects: entries separated by commas (blanks around each ignored), each either
 *   - an absolute path, or one starting with "~/" (home, may be NULL, is put in front): dir
 *     is that directory or lies under it (compared as given and with symbolic links
 *     resolved), or
 *   - a name: the folder name of dir's project (the nearest directory from dir up that holds
 *     .git, else dir itself), or project (the MNEMO_PROJECT override; may be NULL).
 * A relative path (a name with a '/') names nothing. Reads the file system only.
 */
int mnemo_hook_ignored_project(const char *dir, const char *list, const char *home,
                               const char *project);

/*
 * True when tool_name (may be NULL) is one of mnemo's own MCP tools as the agent names it
 * (mcp__mnemo__search, or mcp__plugin_mnemo_mnemo__search from the plugin folder). The runner
 * does not capture their post-tool-use: the answers are memories already stored, and an
 * extractor that read them (the LLM one) would store them again with every recall.
 */
int mnemo_hook_own_tool(const char *tool_name);

/*
 * The last user text and last assistant text of a Claude Code transcript (JSON Lines: objects
 * with "type":"user"|"assistant" and "message":{"content": a string or [{type:"text",text}]}),
 * reading at most its last MNEMO_HOOK_TRANSCRIPT_TAIL bytes and stopping at deadline_ns. *user
 * and *assistant (malloc'd, at most MNEMO_HOOK_MESSAGE_MAX bytes, cut at UTF-8) are NULL when
 * none was found. Lines that are not such objects are skipped. Returns 0, MNEMO_ENOTFOUND,
 * MNEMO_EINVAL (not a regular file), MNEMO_ETIMEDOUT (what was found so far is kept), MNEMO_EIO
 * or MNEMO_ENOMEM.
 */
int mnemo_hook_transcript_tail(const char *path, int64_t deadline_ns, char **user, char **assistant,
                               struct mnemo_err *err);

/*
 * Appends one logfmt line to home/logs/hooks.log: ts, event, agent, rc name, elapsed_ms and
 * msg. Never blocks and never fails the hook: every error is ignored.
 */
void mnemo_hook_log(const char *home, enum mnemo_hook_event event, enum mnemo_agent agent, int rc,
                    int64_t elapsed_ms, const char *msg);

/*
 * Starts `<exe> serve --daemon` for home, detached, unless autostart is off or the breaker
 * stamp says an attempt was made in the last MNEMO_HOOK_AUTOSTART_GAP_MS. Does not wait for the
 * worker. Returns 0 when a start was launched, MNEMO_EBUSY when the breaker held it back,
 * MNEMO_EACCES when autostart is off, or an error of the stamp or fork.
 */
int mnemo_hook_autostart(const char *home, struct mnemo_err *err);

/*
 * The whole `mnemo hook <event> [--agent A]` command: argv[0] is "hook". Parses the arguments
 * and runs the hook (mnemo_hook_run) from start_ns (mnemo_hook_process_start_ns(), taken as
 * early as the caller can). A misconfigured hook (bad option, unknown event or agent, missing
 * or extra argument) says so on stderr and in the hook log, prints nothing on stdout and still
 * returns 0: a typo in an agent's settings never blocks a prompt. Does not handle --help (the
 * caller prints the help it owns). Always returns 0, the exit status of a hook. Ignores SIGPIPE
 * for the rest of the process.
 */
int mnemo_hook_main(int argc, char **argv, int64_t start_ns);

#endif
