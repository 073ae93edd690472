/*
 * client.c - a small libcurl client of the worker over its Unix socket, for the CLI's data
 * commands, and the JSON helpers both of their paths print through.
 *
 * The socket is $MNEMO_HOME/mnemo.sock; only its owner can connect (the worker checks the
 * peer's uid), so no token is sent. Everything that means "no worker to talk to" comes back as
 * MNEMO_ECLOSED, the caller's cue to do the work through the library instead.
 */
#include "cli/client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/obs_json.h"
#include "service/worker.h"
#include "util/config.h"
#include "util/fs.h"

/* The worker's error codes by name, to turn {"error":{"code":"MNEMO_ENOTFOUND"}} back into
 * the code the library path would have returned. */
static const struct {
    const char *name;
    int code;
} rc_names[] = {
#define RC_NAME(name, value, msg, http) {"MNEMO_" #name, (value)},
    MNEMO_RC_TABLE(RC_NAME)
#undef RC_NAME
};

/* The answer being received. */
struct answer {
    char *data;
    size_t len, cap;
    int too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct answer *a = userdata;
    size_t n = size * nmemb;

    if (n > MNEMO_CLI_WORKER_MAX_ANSWER - a->len) {
        a->too_big = 1;
        return 0;
    }
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap != 0 ? a->cap : 16384;
        while (cap < a->len + n + 1)
            cap *= 2;
        char *p = realloc(a->data, cap);
        if (p == NULL)
            return 0;
        a->data = p;
        a->cap = cap;
    }
    memcpy(a->data + a->len, ptr, n);
    a->len += n;
    a->data[a->len] = '\0';
    return n;
}

/* True when MNEMO_NO_WORKER asks for the library path. */
static int worker_disabled(void)
{
    const char *v = getenv("MNEMO_NO_WORKER");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

int mnemo__cli_worker_call(struct mnemo_cli *cli, const char *method, const char *path,
                           const json_t *body, long *status, json_t **out, char **raw,
                           size_t *raw_len, struct mnemo_err *err)
{
    char sock[MNEMO_CLI_PATH_MAX + 32], url[8192];
    struct answer a = {0};
    struct curl_slist *headers = NULL;
    char *payload = NULL;
    CURL *h = NULL;
    int rc;

    *status = 0;
    if (out != NULL)
        *out = NULL;
    if (raw != NULL)
        *raw = NULL;
    if (raw_len != NULL)
        *raw_len = 0;
    if (worker_disabled()) {
        mnemo_log_write(cli->log, MNEMO_LOG_DEBUG, "MNEMO_NO_WORKER set; using the library", NULL);
        return mnemo_err_set(err, MNEMO_ECLOSED, "worker disabled by MNEMO_NO_WORKER");
    }
    if (mnemo__cli_home(cli) != 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "no mnemo home");
    int n = snprintf(sock, sizeof sock, "%s/%s", cli->home, MNEMO_WORKER_SOCKET_NAME);
    if (n < 0 || (size_t)n >= sizeof sock)
        return mnemo_err_set(err, MNEMO_ECLOSED, "socket path too long");
    if (!mnemo_fs_exists(sock)) {
        mnemo_log_write(cli->log, MNEMO_LOG_DEBUG, "no worker socket; using the library", NULL);
        return mnemo_err_set(err, MNEMO_ECLOSED, "no worker socket at '%s'", sock);
    }
    n = snprintf(url, sizeof url, "http://localhost%s", path);
    if (n < 0 || (size_t)n >= sizeof url)
        return mnemo_err_set(err, MNEMO_EINVAL, "request path too long");

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return mnemo_err_set(err, MNEMO_ENOMEM, "cannot initialise libcurl");
    h = curl_easy_init();
    if (h == NULL) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "cannot initialise libcurl");
        goto out;
    }
    /* POST and PATCH always carry a JSON body ("{}" when there is nothing to say): the
     * worker refuses a write without a JSON content type. */
    int with_body = strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0;
    if (with_body) {
        payload = body != NULL ? json_dumps(body, JSON_COMPACT) : strdup("{}");
        struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json");
        if (payload == NULL || l == NULL) {
            curl_slist_free_all(l);
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
            goto out;
        }
        headers = l;
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)MNEMO_CLI_WORKER_CONNECT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)MNEMO_CLI_WORKER_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");

    CURLcode cc = curl_easy_perform(h);
    curl_off_t connected = 0;
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connected);
    if (cc == CURLE_COULDNT_CONNECT || (cc == CURLE_OPERATION_TIMEDOUT && connected == 0)) {
        rc = mnemo_err_set(err, MNEMO_ECLOSED, "no worker listens on '%s'", sock);
        goto out;
    }
    if (cc == CURLE_WRITE_ERROR && a.too_big) {
        rc = mnemo_err_set(err, MNEMO_ETOOBIG, "the worker's answer is over %zu bytes",
                           MNEMO_CLI_WORKER_MAX_ANSWER);
        goto out;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = mnemo_err_set(err, MNEMO_ETIMEDOUT, "the worker did not answer %s %s within %d ms",
                           method, path, MNEMO_CLI_WORKER_TIMEOUT_MS);
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = mnemo_err_set(err, MNEMO_EIO, "request to the worker failed: %s",
                           curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (*status == 503) {
        /* Starting up, or stopping: the library can do the work meanwhile. */
        rc = mnemo_err_set(err, MNEMO_ECLOSED, "the worker is not ready");
        goto out;
    }
    if (out != NULL && a.len > 0) {
        char *ct = NULL;
        curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
        if (ct != NULL && strncmp(ct, "application/json", 16) == 0)
            *out = json_loadb(a.data, a.len, 0, NULL);
    }
    if (raw != NULL) {
        if (a.data == NULL) {
            a.data = calloc(1, 1);
            if (a.data == NULL) {
                json_decref(out != NULL ? *out : NULL);
                if (out != NULL)
                    *out = NULL;
                rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
                goto out;
            }
        }
        *raw = a.data;
        a.data = NULL;
        if (raw_len != NULL)
            *raw_len = a.len;
    }
    rc = 0;
    mnemo_log_write(cli->log, MNEMO_LOG_DEBUG, "worker answered", "method=%s path=%s status=%ld",
                    method, path, *status);
out:
    if (rc == MNEMO_ECLOSED)
        mnemo_log_write(cli->log, MNEMO_LOG_DEBUG, "no worker answered; using the library",
                        "reason=\"%s\"", err != NULL ? err->msg : "");
    free(a.data);
    free(payload);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    if (rc != 0)
        *status = 0;
    return rc;
}

/* The code named by an error answer (MNEMO_EIO when it names none we know). */
static int answer_code(const json_t *j, long status)
{
    const char *name = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    for (size_t i = 0; name != NULL && i < sizeof rc_names / sizeof rc_names[0]; i++) {
        if (strcmp(rc_names[i].name, name) == 0 && rc_names[i].code != 0)
            return rc_names[i].code;
    }
    return status == 404 ? MNEMO_ENOTFOUND : MNEMO_EIO;
}

int mnemo__cli_worker_json(struct mnemo_cli *cli, const char *method, const char *path,
                           const json_t *body, json_t **out, struct mnemo_err *err)
{
    long status = 0;
    json_t *j = NULL;

    *out = NULL;
    int rc = mnemo__cli_worker_call(cli, method, path, body, &status, &j, NULL, NULL, err);
    if (rc != 0)
        return rc;
    if (status >= 200 && status < 300) {
        if (j == NULL)
            return mnemo_err_set(err, MNEMO_EIO, "the worker's answer to %s %s is not JSON", method,
                                 path);
        *out = j;
        return 0;
    }
    rc = answer_code(j, status);
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    if (msg != NULL)
        mnemo_err_set(err, rc, "%s", msg);
    else
        mnemo_err_set(err, rc, "the worker answered %s %s with HTTP %ld", method, path, status);
    json_decref(j);
    return rc;
}

int mnemo__cli_query_add(char *path, size_t size, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(path);
    int n = snprintf(path + len, size - len, "%c%s=", strchr(path, '?') ? '&' : '?', key);
    if (n < 0 || (size_t)n >= size - len)
        return -1;
    len += (size_t)n;
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (len + (plain ? 1 : 3) >= size)
            return -1;
        if (plain) {
            path[len++] = (char)*p;
        } else {
            path[len++] = '%';
            path[len++] = hex[*p >> 4];
            path[len++] = hex[*p & 15];
        }
    }
    path[len] = '\0';
    return 0;
}

/* j[key] as an integer (0 when absent). */
static int64_t int_of(const json_t *j, const char *key)
{
    const json_t *v = json_object_get(j, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

int mnemo__cli_obs_from_json(const json_t *j, struct mnemo_obs *o, char *msg, size_t msg_size)
{
    if (mnemo_obs_from_json(j, 1, o, msg, msg_size) != 0)
        return -1;
    o->id = int_of(j, "id");
    o->session_id = int_of(j, "session_id");
    o->superseded_by = int_of(j, "superseded_by");
    o->importance = json_number_value(json_object_get(j, "importance"));
    const char *hash = json_string_value(json_object_get(j, "content_hash"));
    snprintf(o->content_hash, sizeof o->content_hash, "%s", hash != NULL ? hash : "");
    return 0;
}

int mnemo__cli_privacy_open(struct mnemo_cli *cli, struct mnemo_privacy **out,
                            struct mnemo_err *err)
{
    struct mnemo_config *c = NULL;
    struct mnemo_privacy *p = NULL;
    char path[MNEMO_CLI_PATH_MAX + 256];

    *out = NULL;
    if (mnemo__cli_home(cli) != 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "no mnemo home");
    int rc = mnemo_config_load(cli->home, cli->log, &c, err);
    if (rc == 0)
        rc = mnemo_privacy_new(&p, err);
    if (rc == 0) {
        const char *file = mnemo_config_str(c, "privacy.rules_file");
        if (file[0] != '\0') {
            int n = file[0] == '/' ? snprintf(path, sizeof path, "%s", file)
                                   : snprintf(path, sizeof path, "%s/%s", cli->home, file);
            if (n < 0 || (size_t)n >= sizeof path)
                rc = mnemo_err_set(err, MNEMO_EINVAL, "privacy.rules_file is too long");
            else
                rc = mnemo_privacy_load_rules_file(p, path, err);
        }
    }
    mnemo_config_free(c);
    if (rc != 0) {
        mnemo_privacy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int mnemo__cli_mem_open_config(struct mnemo_cli *cli, unsigned flags, struct mnemo_cli_mem *m)
{
    struct mnemo_err err;
    struct mnemo_config *c = NULL;

    mnemo_err_clear(&err);
    if (mnemo__cli_mem_open(cli, 0, m) != 0)
        return MNEMO_CLI_FAIL;
    int rc = 0;
    if (flags & MNEMO_CLI_MEM_PRIVACY)
        rc = mnemo__cli_privacy_open(cli, &m->priv, &err);
    if (rc == 0 && (flags & MNEMO_CLI_MEM_EMBED)) {
        rc = mnemo_config_load(cli->home, cli->log, &c, &err);
        if (rc == 0) {
            rc = mnemo_embed_open_config(c, cli->log, &m->emb, &err);
            mnemo_config_free(c);
            if (rc != 0) {
                mnemo__cli_mem_close(cli, m);
                return mnemo__cli_fail("embedder: %s", mnemo_err_text(&err, rc));
            }
        }
    }
    if (rc != 0) {
        mnemo__cli_mem_close(cli, m);
        return mnemo__cli_fail_err(NULL, &err, rc);
    }
    return 0;
}
