/*
 * err.c - result-code names, messages and HTTP statuses, and the caller's error buffer.
 *
 * Everything here is generated from MNEMO_RC_TABLE so a code's name, text and status cannot
 * drift apart. Nothing allocates, so these are safe to call on out-of-memory paths.
 */
#include "util/err.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <string.h>

struct rc_info {
    int code;
    const char *name;
    const char *message;
    int http_status;
};

static const struct rc_info rc_table[] = {
#define MNEMO_RC_INFO(name, value, msg, http) {(value), "MNEMO_" #name, (msg), (http)},
    MNEMO_RC_TABLE(MNEMO_RC_INFO)
#undef MNEMO_RC_INFO
};

/* The table entry for rc, or NULL for a code mnemo never returns. */
static const struct rc_info *rc_lookup(int rc)
{
    for (size_t i = 0; i < sizeof rc_table / sizeof rc_table[0]; i++) {
        if (rc_table[i].code == rc)
            return &rc_table[i];
    }
    return NULL;
}

/* Static text for a code; "unknown error" for codes not in the table. */
const char *mnemo_strerror(int rc)
{
    const struct rc_info *info = rc_lookup(rc);
    return info ? info->message : "unknown error";
}

/* The code's name ("MNEMO_ETIMEDOUT"); "MNEMO_EUNKNOWN" for codes not in the table. */
const char *mnemo_rcname(int rc)
{
    const struct rc_info *info = rc_lookup(rc);
    return info ? info->name : "MNEMO_EUNKNOWN";
}

/* The HTTP status for a code; 500 for codes not in the table. */
int mnemo_rc_http_status(int rc)
{
    const struct rc_info *info = rc_lookup(rc);
    return info ? info->http_status : 500;
}

/* Resets err to "no error". err may be NULL. */
void mnemo_err_clear(struct mnemo_err *err)
{
    if (!err)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}

/* Records code and a formatted message in err (may be NULL); returns code. */
int mnemo_err_set(struct mnemo_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    mnemo_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

/* va_list form of mnemo_err_set. */
int mnemo_err_vset(struct mnemo_err *err, int code, const char *fmt, va_list ap)
{
    /*
     * Formatting goes through a scratch buffer because callers wrap an inner failure with
     * mnemo_err_set(err, rc, "cannot open store: %s", err->msg), and formatting straight into
     * err->msg would read and write the same bytes.
     */
    char tmp[MNEMO_ERR_MSG_MAX];
    int n;
    size_t len;

    if (!err)
        return code;
    err->code = code;
    if (!fmt) {
        snprintf(err->msg, sizeof err->msg, "%s", mnemo_strerror(code));
        return code;
    }
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    if (n < 0) {
        snprintf(err->msg, sizeof err->msg, "%s", mnemo_strerror(code));
        return code;
    }
    len = (size_t)n;
    if (len >= sizeof tmp)
        len = mnemo_utf8_cut(tmp, sizeof tmp - 1);
    memcpy(err->msg, tmp, len);
    err->msg[len] = '\0';
    return code;
}

/* err->msg when set, else the code's static text. Borrowed from err or static storage. */
const char *mnemo_err_text(const struct mnemo_err *err, int rc)
{
    if (err && err->msg[0] != '\0')
        return err->msg;
    return mnemo_strerror(rc);
}
