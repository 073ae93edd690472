/*
 * project.c - project identity from the working directory: git top level by reading the
 * file system, named "<basename>_<6 hex of sha256(path)>". The rules are in project.h.
 */
#include "memory/project.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "memory/sha256.h"
#include "util/fs.h"
#include "util/strbuf.h"

/* Hex digits of the digest kept in a derived name. */
#define HASH_HEX 6

/*
 * Length of the well-formed UTF-8 sequence at s (n bytes available), or 0 when the bytes
 * there are not one (overlong forms, surrogates and code points past U+10FFFF included).
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return need;
}

/* True for C0 controls, DEL and (given the whole sequence) the C1 controls U+0080..U+009F. */
static int is_control(const unsigned char *s, size_t seq)
{
    if (seq == 1)
        return s[0] < 0x20 || s[0] == 0x7F;
    return seq == 2 && s[0] == 0xC2 && s[1] < 0xA0;
}

/* Checks a user-chosen name (rules in project.h). */
int mnemo_project_validate(const char *name, struct mnemo_err *err)
{
    if (!name || name[0] == '\0')
        return mnemo_err_set(err, MNEMO_EINVAL, "project name is empty");
    size_t len = strnlen(name, MNEMO_PROJECT_MAX + 1);
    if (len > MNEMO_PROJECT_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "project name is longer than %d bytes",
                             MNEMO_PROJECT_MAX);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "project name '%s' is not allowed", name);
    if (name[0] == ' ' || name[len - 1] == ' ')
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "project name '%s' must not begin or end with a space", name);
    const unsigned char *s = (const unsigned char *)name;
    for (size_t i = 0; i < len;) {
        size_t seq = utf8_seq_len(s + i, len - i);
        if (seq == 0)
            return mnemo_err_set(err, MNEMO_EINVAL, "project name is not valid UTF-8 (byte %zu)",
                                 i);
        if (is_control(s + i, seq))
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "project name contains a control character (byte %zu)", i);
        if (s[i] == '/')
            return mnemo_err_set(err, MNEMO_EINVAL, "project name '%s' contains '/'", name);
        i += seq;
    }
    return 0;
}

/* Derives "<basename>_<6 hex>" from an absolute path (rules in project.h). */
int mnemo_project_name_for_path(const char *abs_path, char *out, size_t size, struct mnemo_err *err)
{
    char base[MNEMO_PROJECT_BASENAME_MAX + 1];
    size_t blen = 0;

    if (out && size > 0)
        out[0] = '\0';
    if (!out || size == 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "no buffer for the project name");
    if (!abs_path || abs_path[0] != '/')
        return mnemo_err_set(err, MNEMO_EINVAL, "project path '%s' is not absolute",
                             abs_path ? abs_path : "(null)");

    size_t plen = strlen(abs_path);
    size_t end = plen;
    while (end > 1 && abs_path[end - 1] == '/')
        end--; /* "/a/b/" names the same directory as "/a/b" */
    size_t start = end;
    while (start > 0 && abs_path[start - 1] != '/')
        start--;

    /* Copy the last component, replacing what cannot go into JSON or a terminal unquoted. */
    const unsigned char *s = (const unsigned char *)abs_path;
    for (size_t i = start; i < end;) {
        size_t seq = utf8_seq_len(s + i, end - i);
        size_t take = seq == 0 ? 1 : seq;
        /* A leading space would fail mnemo_project_validate, which derived names also pass. */
        int bad = seq == 0 || is_control(s + i, seq) || (blen == 0 && s[i] == ' ');
        size_t add = bad ? 1 : take;
        if (blen + add > MNEMO_PROJECT_BASENAME_MAX)
            break; /* whole characters only */
        if (bad)
            base[blen++] = '_';
        else
            for (size_t k = 0; k < take; k++)
                base[blen++] = abs_path[i + k];
        i += take;
    }
    if (blen == 0) {
        memcpy(base, "root", 4); /* "/" has no last component */
        blen = 4;
    }
    base[blen] = '\0';

    uint8_t digest[MNEMO_SHA256_LEN];
    char hex[MNEMO_SHA256_HEX_LEN];
    mnemo_sha256(abs_path, end, digest);
    mnemo_sha256_hex(digest, hex);
    int n = snprintf(out, size, "%s_%.*s", base, HASH_HEX, hex);
    if (n < 0 || (size_t)n >= size) {
        out[0] = '\0';
        return mnemo_err_set(err, MNEMO_ETOOBIG, "project name needs %d bytes, buffer has %zu",
                             n + 1, size);
    }
    return 0;
}

/* realpath into a PATH_MAX buffer; 0, or the errno-derived code with errno left set. */
static int resolve(const char *path, char out[PATH_MAX])
{
    if (!realpath(path, out)) {
        out[0] = '\0';
        return errno == ENAMETOOLONG ? MNEMO_ETOOBIG : mnemo_fs_errno_rc(errno);
    }
    return 0;
}

/* Writes "<dir>/<name>" into out (PATH_MAX); -1 when it does not fit. */
static int join(const char *dir, const char *name, char out[PATH_MAX])
{
    int n = strcmp(dir, "/") == 0 ? snprintf(out, PATH_MAX, "/%s", name)
                                  : snprintf(out, PATH_MAX, "%s/%s", dir, name);
    return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* Cuts path (absolute, resolved, no trailing '/') to its parent; "/" stays "/". */
static void to_parent(char *path)
{
    char *slash = strrchr(path, '/');
    if (!slash || slash == path) {
        path[0] = '/';
        path[1] = '\0';
    } else {
        *slash = '\0';
    }
}

/* The last component of a resolved absolute path. */
static const char *last_component(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/*
 * Reads a one-line git pointer file (".git" or "commondir") and resolves the path it holds,
 * relative paths against base, into out. prefix is the required leading text ("gitdir:" or
 * ""). Returns 0, or -1 for anything unreadable, malformed or unresolvable: the caller falls
 * back instead of failing, so the reason is not kept.
 */
static int read_pointer(const char *file, const char *prefix, const char *base, char out[PATH_MAX])
{
    char *text = NULL;
    size_t len = 0;
    char joined[PATH_MAX];
    int rc = -1;

    if (mnemo_fs_read_all(file, MNEMO_PROJECT_GITFILE_MAX, &text, &len, NULL) != 0)
        return -1;
    if (strlen(text) != len)
        goto out; /* a NUL inside: not a pointer file */
    size_t plen = strlen(prefix);
    if (strncmp(text, prefix, plen) != 0)
        goto out;
    char *p = text + plen;
    while (*p == ' ' || *p == '\t')
        p++;
    char *end = p + strlen(p);
    while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    if (*p == '\0' || strchr(p, '\n'))
        goto out;
    if (p[0] == '/') {
        if (strlen(p) >= PATH_MAX)
            goto out;
        memcpy(joined, p, strlen(p) + 1);
    } else if (join(base, p, joined) != 0) {
        goto out;
    }
    if (resolve(joined, out) == 0)
        rc = 0;
out:
    free(text);
    return rc;
}

/*
 * The top level for a ".git" file found in dir (rules in project.h). Always succeeds: every
 * failure to follow the pointers falls back to dir itself.
 */
static void top_from_gitfile(const char *dir, const char *gitfile, char top[PATH_MAX])
{
    char gitdir[PATH_MAX], file[PATH_MAX], common[PATH_MAX];

    memcpy(top, dir, strlen(dir) + 1);
    if (read_pointer(gitfile, "gitdir:", dir, gitdir) != 0)
        return;
    if (join(gitdir, "commondir", file) != 0 || !mnemo_fs_exists(file))
        return; /* submodule or separated git dir: this directory is the top level */
    if (read_pointer(file, "", gitdir, common) != 0)
        return;
    if (strcmp(last_component(common), ".git") == 0) {
        memcpy(top, common, strlen(common) + 1);
        to_parent(top); /* the main repository's working tree */
    } else if (!strstr(common, "/.git/modules/")) {
        memcpy(top, common, strlen(common) + 1); /* a bare repository's worktrees share it */
    }
    /* A submodule's worktree keeps its own directory (top is still dir). */
}

/* Finds the top level of cwd (rules in project.h). */
int mnemo_project_toplevel(const char *cwd, char *out, size_t size, struct mnemo_err *err)
{
    char dir[PATH_MAX], gitpath[PATH_MAX], top[PATH_MAX];
    struct stat st;

    if (out && size > 0)
        out[0] = '\0';
    if (!out || size == 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "no buffer for the project top level");
    if (!cwd || cwd[0] == '\0')
        return mnemo_err_set(err, MNEMO_EINVAL, "working directory is empty");
    if (strnlen(cwd, PATH_MAX) >= PATH_MAX)
        return mnemo_err_set(err, MNEMO_ETOOBIG, "working directory is longer than %d bytes",
                             PATH_MAX - 1);
    int rc = resolve(cwd, dir);
    if (rc != 0) {
        char why[128];
        return mnemo_err_set(err, rc, "cannot resolve working directory '%s': %s", cwd,
                             strerror_r(errno, why, sizeof why));
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return mnemo_err_set(err, MNEMO_EINVAL, "working directory '%s' is not a directory", cwd);

    /* Without a repository the resolved working directory is the top level. */
    memcpy(top, dir, strlen(dir) + 1);
    for (;;) {
        if (join(dir, ".git", gitpath) == 0 && stat(gitpath, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                memcpy(top, dir, strlen(dir) + 1);
                break;
            }
            if (S_ISREG(st.st_mode)) {
                top_from_gitfile(dir, gitpath, top);
                break;
            }
            /* Anything else called .git (a fifo, a socket) is not a repository: keep going. */
        }
        if (strcmp(dir, "/") == 0)
            break;
        to_parent(dir);
    }

    size_t tlen = strlen(top);
    if (tlen >= size)
        return mnemo_err_set(err, MNEMO_ETOOBIG,
                             "project top level needs %zu bytes, buffer has %zu", tlen + 1, size);
    memcpy(out, top, tlen + 1);
    return 0;
}

/* The project identity of cwd, or the validated override. */
int mnemo_project_identify(const char *cwd, const char *override, char *out, size_t size,
                           struct mnemo_err *err)
{
    char top[PATH_MAX];

    if (out && size > 0)
        out[0] = '\0';
    if (!out || size == 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "no buffer for the project name");
    if (override && override[0] != '\0') {
        int rc = mnemo_project_validate(override, err);
        if (rc != 0)
            return rc;
        size_t len = strlen(override);
        if (len >= size)
            return mnemo_err_set(err, MNEMO_ETOOBIG, "project name needs %zu bytes, buffer has %zu",
                                 len + 1, size);
        memcpy(out, override, len + 1);
        return 0;
    }
    int rc = mnemo_project_toplevel(cwd, top, sizeof top, err);
    if (rc != 0)
        return rc;
    return mnemo_project_name_for_path(top, out, size, err);
}
