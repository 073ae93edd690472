/*
 * hook_ignore.c - what hooks leave alone: the config list of projects whose hooks do nothing
 * (hook.h, config key ignore_projects: a user who cannot or will not put a .mnemo-ignore file
 * into a repository, a client's code or a shared checkout, names it once in config.json
 * instead), and calls of mnemo's own MCP tools.
 *
 * Matching reads the file system only (realpath and the .git lookup), like the .mnemo-ignore
 * walk: the hook has milliseconds and must not ask the worker whether to talk to it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/hook.h"

/* Copies s without its trailing slashes ("/" stays "/") into buf. 0, or -1 when too long. */
static int copy_path(char *buf, size_t size, const char *s, size_t n)
{
    while (n > 1 && s[n - 1] == '/')
        n--;
    if (n >= size)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return 0;
}

/* True when dir is root or lies under it (both absolute, without trailing slashes). */
static int is_under(const char *dir, const char *root)
{
    size_t n = strlen(root);
    if (strcmp(root, "/") == 0)
        return 1;
    return strncmp(dir, root, n) == 0 && (dir[n] == '\0' || dir[n] == '/');
}

/*
 * The folder name of dir's project: the last component of the nearest directory, from dir up
 * to "/", that holds .git (a directory, or the file of a worktree or submodule); dir's own
 * name outside any repository. dir is absolute without trailing slashes.
 */
static void project_folder(const char *dir, char *name, size_t size)
{
    char path[PATH_MAX], probe[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s", dir);
    size_t len = strlen(path);
    for (;;) {
        snprintf(probe, sizeof probe, "%s/.git", len == 1 ? "" : path);
        if (access(probe, F_OK) == 0)
            break;
        char *slash = strrchr(path, '/');
        if (len == 1 || slash == NULL) {
            snprintf(path, sizeof path, "%s", dir); /* no repository: dir itself */
            break;
        }
        len = slash == path ? 1 : (size_t)(slash - path);
        path[len] = '\0';
        if (len == 1)
            path[0] = '/';
    }
    const char *base = strrchr(path, '/');
    snprintf(name, size, "%s", base != NULL && base[1] != '\0' ? base + 1 : path);
}

/* Whether the one entry e (n bytes, trimmed) names dir (as given) or real (dir resolved). */
static int entry_matches(const char *e, size_t n, const char *dir, const char *real,
                         const char *home, const char *project, char *folder, size_t folder_size)
{
    char path[PATH_MAX], resolved[PATH_MAX];

    if (e[0] == '/' || (e[0] == '~' && (n == 1 || e[1] == '/'))) {
        if (e[0] == '~') {
            if (home == NULL || home[0] != '/')
                return 0;
            char joined[PATH_MAX * 2];
            int k = snprintf(joined, sizeof joined, "%s%.*s", home, (int)(n - 1), e + 1);
            if (k < 0 || (size_t)k >= sizeof joined ||
                copy_path(path, sizeof path, joined, (size_t)k) != 0)
                return 0;
        } else if (copy_path(path, sizeof path, e, n) != 0) {
            return 0;
        }
        if (is_under(dir, path) || is_under(real, path))
            return 1;
        /* A listed path behind a symbolic link names where it points. */
        return realpath(path, resolved) != NULL && is_under(real, resolved);
    }
    if (memchr(e, '/', n) != NULL)
        return 0; /* a relative path: relative to what? it names nothing */
    if (project != NULL && strlen(project) == n && memcmp(project, e, n) == 0)
        return 1;
    if (folder[0] == '\0')
        project_folder(real, folder, folder_size);
    return strlen(folder) == n && memcmp(folder, e, n) == 0;
}

int mnemo_hook_ignored_project(const char *dir, const char *list, const char *home,
                               const char *project)
{
    char given[PATH_MAX], real[PATH_MAX], folder[PATH_MAX] = "";

    if (dir == NULL || dir[0] != '/' || list == NULL ||
        copy_path(given, sizeof given, dir, strlen(dir)) != 0)
        return 0;
    if (realpath(given, real) == NULL)
        snprintf(real, sizeof real, "%s", given);
    for (const char *p = list; *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *e = p;
        while (n > 0 && (*e == ' ' || *e == '\t')) {
            e++;
            n--;
        }
        while (n > 0 && (e[n - 1] == ' ' || e[n - 1] == '\t'))
            n--;
        if (n > 0 && entry_matches(e, n, given, real, home, project, folder, sizeof folder))
            return 1;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return 0;
}

int mnemo_hook_own_tool(const char *tool_name)
{
    /* mcp__<server>__<tool>: the server installed as "mnemo", or the plugin's server "mnemo"
     * of plugin "mnemo" (Claude Code names plugin servers plugin_<plugin>_<server>). */
    static const char *const prefixes[] = {"mcp__mnemo__", "mcp__plugin_mnemo_mnemo__"};
    if (tool_name == NULL)
        return 0;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(tool_name, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}
