/*
 * project.h - project identity: which project a working directory belongs to.
 *
 * A project is named after the top level of the git repository that holds the working
 * directory, "<basename>_<first 6 hex digits of sha256(absolute path)>" (e.g. "mnemo_3f9a1c"),
 * so two folders with the same basename in different places never share memories, and every
 * subdirectory and every worktree of one repository shares one identity. Outside git the
 * working directory itself is named the same way. The repository is found by reading the
 * file system alone; git is never run (a hook has milliseconds, and git may be missing).
 *
 * How the top level is found, walking up from the resolved working directory to "/":
 * - a ".git" directory: the directory holding it is the top level;
 * - a ".git" file "gitdir: <path>" (relative paths are relative to the file's directory):
 *   - when <path> has a "commondir" file it is a linked worktree (git worktree add); the
 *     common directory is the main repository's ".git", whose parent is the top level, so
 *     every worktree maps to its main repository. A worktree of a bare repository maps to
 *     the bare repository's directory (all its worktrees share it); a worktree of a
 *     submodule maps to the worktree's own directory;
 *   - otherwise it is a submodule (gitdir under ".git/modules/") or a separated git dir
 *     (git init --separate-git-dir): the directory holding the ".git" file is the top level,
 *     so a submodule keeps memories of its own, apart from its superproject;
 *   - a ".git" file that cannot be read or parsed, or whose gitdir or commondir does not
 *     resolve, falls back to the directory holding the ".git" file: identity must not fail
 *     because of a half-deleted worktree, and that directory is what the user is working in.
 * Every path is resolved with realpath, so symbolic links (and loops among them, which
 * realpath rejects) cannot give one repository two identities.
 *
 * Thread-safety: every function is safe from any thread (no shared state; only the
 * thread-safe realpath, stat and read are used).
 * Errors: 0 or a negative enum mnemo_rc with detail in the optional struct mnemo_err.
 */
#ifndef MNEMO_MEMORY_PROJECT_H
#define MNEMO_MEMORY_PROJECT_H

#include <stddef.h>

#include "util/err.h"

/* The longest project identity in bytes; an override longer than this is rejected. */
#define MNEMO_PROJECT_MAX 128
/* A buffer that holds any project identity and its NUL. */
#define MNEMO_PROJECT_SIZE (MNEMO_PROJECT_MAX + 1)
/*
 * A derived name keeps at most this many bytes of the basename (cut at a UTF-8 character
 * boundary), so "<basename>_<6 hex>" always fits MNEMO_PROJECT_MAX; the hash still tells
 * apart two long names that share a prefix.
 */
#define MNEMO_PROJECT_BASENAME_MAX 100
/* The largest .git or commondir file read; real ones hold one short line. */
#define MNEMO_PROJECT_GITFILE_MAX 4096

/*
 * The identity of the project that cwd belongs to, written into out (size bytes, at least
 * MNEMO_PROJECT_SIZE is always enough).
 *
 * override is the user's explicit choice (the CLI and hooks pass the MNEMO_PROJECT
 * environment variable; the library never reads the environment itself, so tests and the
 * worker can name projects without touching process-global state). NULL or "" means no
 * override. A non-empty override is validated with mnemo_project_validate and, when valid,
 * returned as it is, without looking at cwd.
 *
 * cwd (borrowed) may be relative, in which case it is resolved against the process's
 * working directory. Returns 0; MNEMO_EINVAL for a NULL or empty cwd, a cwd that is not a
 * directory, NULL out or an invalid override; MNEMO_ENOTFOUND or MNEMO_EACCES when cwd
 * cannot be resolved; MNEMO_ETOOBIG when a path passes PATH_MAX or out is too small.
 * out is "" on failure.
 */
int mnemo_project_identify(const char *cwd, const char *override, char *out, size_t size,
                           struct mnemo_err *err);

/*
 * The absolute, resolved top level that cwd's identity is derived from (the rules above),
 * written into out (size bytes; PATH_MAX is always enough). Same returns as
 * mnemo_project_identify; out is "" on failure.
 */
int mnemo_project_toplevel(const char *cwd, char *out, size_t size, struct mnemo_err *err);

/*
 * The identity of an absolute path taken as it is (no git lookup, no realpath): its last
 * component, with control characters, invalid UTF-8 and a leading space replaced by '_'
 * (so every derived name passes mnemo_project_validate) and cut to
 * MNEMO_PROJECT_BASENAME_MAX bytes ("root" for "/"), then '_' and the first 6 hex digits
 * of the SHA-256 of the whole path. Returns 0, MNEMO_EINVAL (NULL or relative path, NULL
 * out) or MNEMO_ETOOBIG (out too small); out is "" on failure.
 */
int mnemo_project_name_for_path(const char *abs_path, char *out, size_t size,
                                struct mnemo_err *err);

/*
 * Checks a user-chosen project name: 1..MNEMO_PROJECT_MAX bytes of valid UTF-8 with no
 * control characters (C0, DEL or C1), no '/', not "." or "..", and no leading or trailing
 * space, because the name reaches file names, JSON and terminal tables. Returns 0 or
 * MNEMO_EINVAL saying which rule failed.
 */
int mnemo_project_validate(const char *name, struct mnemo_err *err);

#endif
