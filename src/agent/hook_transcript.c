/*
 * hook_transcript.c - the last user and assistant texts of a Claude Code transcript (hook.h).
 *
 * Transcripts grow to many megabytes and are written by the agent while the hook runs, so
 * only the tail is read, the first (likely partial) line of the tail is dropped, and the file
 * is opened non-blocking and must be a regular file (a FIFO named as a transcript would hang
 * the hook). Lines are parsed one at a time with a deadline check between them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/hook.h"
#include "util/clock.h"
#include "util/strbuf.h"

/* Appends s[0..n) to sb, as much as fits (the head is what is kept; keep() mends the cut). */
static int append_bounded(struct mnemo_strbuf *sb, const char *s, size_t n)
{
    size_t room = sb->max > sb->len ? sb->max - sb->len : 0;
    if (n > room)
        n = room;
    return n == 0 ? 0 : mnemo_strbuf_append(sb, s, n);
}

/* The text of a message's content: a string, or its "text" blocks joined by newlines. */
static int content_text(const json_t *content, struct mnemo_strbuf *sb)
{
    if (json_is_string(content))
        return append_bounded(sb, json_string_value(content), json_string_length(content));
    if (!json_is_array(content))
        return 0;
    size_t i;
    const json_t *block;
    json_array_foreach(content, i, block)
    {
        const char *type = json_string_value(json_object_get(block, "type"));
        const json_t *text = json_object_get(block, "text");
        if (type == NULL || strcmp(type, "text") != 0 || !json_is_string(text))
            continue;
        int rc = sb->len > 0 ? append_bounded(sb, "\n", 1) : 0;
        if (rc == 0)
            rc = append_bounded(sb, json_string_value(text), json_string_length(text));
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Replaces *slot with a bounded copy of sb's text when sb holds some. */
static int keep(char **slot, struct mnemo_strbuf *sb)
{
    if (sb->len == 0)
        return 0;
    size_t len = mnemo_utf8_cut(sb->data, sb->len);
    char *copy = strndup(sb->data, len);
    if (copy == NULL)
        return MNEMO_ENOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

/* One JSONL line: updates *user / *assistant when it is a message with text. */
static int scan_line(const char *line, size_t len, char **user, char **assistant)
{
    json_t *j = json_loadb(line, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return 0;
    }
    const char *type = json_string_value(json_object_get(j, "type"));
    char **slot = NULL;
    if (type != NULL && strcmp(type, "user") == 0)
        slot = user;
    else if (type != NULL && strcmp(type, "assistant") == 0)
        slot = assistant;
    int rc = 0;
    if (slot != NULL) {
        struct mnemo_strbuf sb;
        mnemo_strbuf_init(&sb, MNEMO_HOOK_MESSAGE_MAX);
        rc = content_text(json_object_get(json_object_get(j, "message"), "content"), &sb);
        if (rc == 0)
            rc = keep(slot, &sb);
        mnemo_strbuf_release(&sb);
    }
    json_decref(j);
    return rc;
}

int mnemo_hook_transcript_tail(const char *path, int64_t deadline_ns, char **user, char **assistant,
                               struct mnemo_err *err)
{
    struct stat st;
    int rc = 0;

    *user = NULL;
    *assistant = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return mnemo_err_set(err, errno == ENOENT ? MNEMO_ENOTFOUND : MNEMO_EIO,
                             "cannot open transcript '%s': %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return mnemo_err_set(err, MNEMO_EINVAL, "transcript '%s' is not a regular file", path);
    }
    off_t off =
        st.st_size > MNEMO_HOOK_TRANSCRIPT_TAIL ? st.st_size - MNEMO_HOOK_TRANSCRIPT_TAIL : 0;
    size_t want = (size_t)(st.st_size - off);
    char *buf = malloc(want + 1);
    if (buf == NULL) {
        close(fd);
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(fd, buf + got, want - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* truncated meanwhile: use what was read */
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';

    size_t pos = 0;
    if (off > 0) {
        /* The tail starts inside a line unless the byte before it ends one: drop that part. */
        const char *nl = memchr(buf, '\n', got);
        pos = nl != NULL ? (size_t)(nl - buf) + 1 : got;
    }
    while (pos < got && rc == 0) {
        if (mnemo_deadline_left_ns(deadline_ns) <= 0) {
            rc = mnemo_err_set(err, MNEMO_ETIMEDOUT, "transcript not read before the deadline");
            break;
        }
        const char *nl = memchr(buf + pos, '\n', got - pos);
        size_t end = nl != NULL ? (size_t)(nl - buf) : got;
        if (end > pos)
            rc = scan_line(buf + pos, end - pos, user, assistant);
        pos = end + 1;
    }
    free(buf);
    if (rc == MNEMO_ENOMEM)
        rc = mnemo_err_set(err, rc, "out of memory");
    return rc;
}
