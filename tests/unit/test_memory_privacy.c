/*
 * test_memory_privacy.c - stripping, UTF-8 repair, the entropy gate, rule management, bounds,
 * and the two corpora: every fake secret caught, false positives on ordinary text counted.
 */
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>

#include "memory/privacy.h"

/* tests/data/privacy, found from this file's path so ctest works from any build directory. */
static void data_path(const char *name, char *buf, size_t size)
{
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    int dir_len = slash ? (int)(slash - file) : 1;
    snprintf(buf, size, "%.*s/../data/privacy/%s", dir_len, slash ? file : ".", name);
}

static int setup(void **state)
{
    struct mnemo_privacy *p = NULL;
    struct mnemo_err err = {0};
    if (mnemo_privacy_new(&p, &err) != 0) {
        print_error("mnemo_privacy_new: %s\n", err.msg);
        return -1;
    }
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    mnemo_privacy_free(*state);
    return 0;
}

/* Cleans a NUL-terminated string and returns the result text (caller frees). */
static char *clean_str(struct mnemo_privacy *p, const char *in, struct mnemo_privacy_result *res)
{
    struct mnemo_err err = {0};
    int rc = mnemo_privacy_clean(p, in, strlen(in), res, &err);
    if (rc != 0)
        fail_msg("clean failed: %s", err.msg);
    char *text = res->text;
    res->text = NULL;
    return text;
}

static void assert_clean_equals(struct mnemo_privacy *p, const char *in, const char *want)
{
    struct mnemo_privacy_result res;
    char *got = clean_str(p, in, &res);
    assert_string_equal(got, want);
    free(got);
}

static void test_memory_privacy_strips_private_blocks(void **state)
{
    assert_clean_equals(*state, "keep <private>drop me</private> this", "keep  this");
    assert_clean_equals(*state, "a <PRIVATE note=\"x > y\">line1\nline2</Private > b", "a  b");
    assert_clean_equals(*state, "x<private>1</private>y<private>2</private>z", "xyz");
    assert_clean_equals(*state, "self <private/> closing", "self  closing");
    assert_clean_equals(*state, "<privateer>ahoy</privateer>", "<privateer>ahoy</privateer>");
}

static void test_memory_privacy_wholly_private_prompt_is_flagged(void **state)
{
    struct mnemo_privacy_result res;
    char *got = clean_str(*state, "\n  <private>the whole prompt</private> \n\t", &res);
    assert_string_equal(got, "");
    assert_true(res.wholly_private);
    assert_int_equal(res.n_stripped, 1);
    free(got);

    got = clean_str(*state, "   \n ", &res);
    assert_string_equal(got, "");
    assert_false(res.wholly_private);
    free(got);

    got = clean_str(*state, "<private>a</private> visible", &res);
    assert_false(res.wholly_private);
    assert_string_equal(got, "visible");
    free(got);
}

static void test_memory_privacy_unclosed_private_hides_the_rest(void **state)
{
    assert_clean_equals(*state, "keep this <private>but not\nany of this ghp_x", "keep this");
    assert_clean_equals(*state, "keep <private attr=\"never closed", "keep");
    struct mnemo_privacy_result res;
    char *got = clean_str(*state, "<private>everything after", &res);
    assert_true(res.wholly_private);
    assert_string_equal(got, "");
    free(got);
}

static void test_memory_privacy_nested_private_blocks_are_removed_whole(void **state)
{
    assert_clean_equals(*state, "a <private>x <private>y</private> z</private> b", "a  b");
    assert_clean_equals(*state, "stray </private> closer", "stray  closer");
    assert_clean_equals(*state, "a <private>x <private>y</private> still hidden", "a");
}

static void test_memory_privacy_strips_system_and_own_tags(void **state)
{
    const char *in =
        "start\n"
        "<system-reminder priority=\"high\">\nremember\n</system-reminder>\n"
        "<task-notification id='1'>done</task-notification>"
        "<relevant-memory>m</relevant-memory>"
        "<user-prompt-submit-hook>h</user-prompt-submit-hook>"
        "<persisted-output path=\"/tmp/x\">big</persisted-output>"
        "<available-deferred-tools>t</available-deferred-tools>"
        "<fast_mode_info>f</fast_mode_info>"
        "<antml_thinking>hmm</antml_thinking>"
        "<antml_function_calls>\n<invoke/>\n</antml_function_calls>\n\n\n\n"
        "<" MNEMO_PRIVACY_CONTEXT_TAG " v=\"1\">old memories</" MNEMO_PRIVACY_CONTEXT_TAG ">"
        "<" MNEMO_PRIVACY_MEMORY_TAG ">one</" MNEMO_PRIVACY_MEMORY_TAG ">\n"
        "end";
    struct mnemo_privacy_result res;
    char *got = clean_str(*state, in, &res);
    assert_string_equal(got, "start\n\nend");
    assert_int_equal(res.n_stripped, 11);
    assert_false(res.wholly_private);
    free(got);
    /* An unclosed system tag is left as text (only <private> fails closed). */
    assert_clean_equals(*state, "a <system-reminder> b", "a <system-reminder> b");
    /* Three or more newlines collapse to two; two stay. */
    assert_clean_equals(*state, "a\n\n\n\n\nb\n\nc\r\n\r\n\r\nd", "a\n\nb\n\nc\n\nd");
}

static void test_memory_privacy_secret_hidden_by_tags_never_survives(void **state)
{
    const char *key = "ghp_FAKE0123456789abcdefghijklmnopqrstuv";
    struct mnemo_privacy_result res;
    /* Split by a private block: the halves meet after stripping and are redacted together. */
    char *got = clean_str(
        *state, "tok ghp_FAKE012345678<private>x</private>9abcdefghijklmnopqrstuv end", &res);
    assert_null(strstr(got, key));
    assert_null(strstr(got, "9abcdefghijklmnopqrstuv"));
    assert_non_null(strstr(got, "[REDACTED:github_token]"));
    free(got);
    /* Starting outside and running into a private block: the private part is gone. */
    got =
        clean_str(*state, "tok ghp_FAKE01<private>23456789abcdefghijklmnopqrstuv</private>", &res);
    assert_null(strstr(got, "23456789abcdefghijklmnopqrstuv"));
    free(got);
    /* Inside a stripped tag, with attributes. */
    got = clean_str(
        *state,
        "a <system-reminder x=\"1\">ghp_FAKE0123456789abcdefghijklmnopqrstuv</system-reminder> b",
        &res);
    assert_string_equal(got, "a  b");
    free(got);
    /* Inside an unclosed private block. */
    got = clean_str(*state, "a <private>AKIAFAKE1234567890AB", &res);
    assert_string_equal(got, "a");
    free(got);
}

static void test_memory_privacy_utf8_repair_replaces_invalid_bytes(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
         "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"a\xff"
         "b",
         3,
         "a\xef\xbf\xbd"
         "b"},
        {"\x80", 1, "\xef\xbf\xbd"},
        {"over\xc0\xaf", 6, "over\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xe0\x80\xaf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"sur\xed\xa0\x80", 6, "sur\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"big\xf4\x90\x80\x80", 7, "big\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"cut\xe2\x82", 5, "cut\xef\xbf\xbd\xef\xbf\xbd"},
        {"n\0u\0l", 5, "nul"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        size_t out_len = 0;
        bool repaired = false;
        struct mnemo_err err = {0};
        assert_int_equal(
            mnemo_privacy_utf8_repair(cases[i].in, cases[i].len, &out, &out_len, &repaired, &err),
            0);
        assert_int_equal(out_len, strlen(cases[i].want));
        assert_memory_equal(out, cases[i].want, out_len);
        assert_int_equal(repaired, i != 0);
        json_t *js = json_stringn(out, out_len);
        assert_non_null(js); /* jansson accepts only valid UTF-8 */
        json_decref(js);
        free(out);
    }
}

static void test_memory_privacy_clean_output_is_valid_utf8(void **state)
{
    const char in[] =
        "bad \xff\xfe <private>\xc0</private> nul\0 and AKIAFAKE1234567890AB \xed\xbf\xbf";
    struct mnemo_privacy_result res;
    struct mnemo_err err = {0};
    assert_int_equal(mnemo_privacy_clean(*state, in, sizeof in - 1, &res, &err), 0);
    assert_true(res.utf8_repaired);
    assert_int_equal(strlen(res.text), res.len);
    assert_non_null(strstr(res.text, "[REDACTED:aws_access_key]"));
    json_t *js = json_stringn(res.text, res.len);
    assert_non_null(js);
    json_decref(js);
    mnemo_privacy_result_release(&res);
    assert_null(res.text);
}

static void test_memory_privacy_entropy_gate(void **state)
{
    assert_true(mnemo_privacy_entropy("aaaaaaaa", 8) < 0.001);
    assert_true(mnemo_privacy_entropy("abcd", 4) > 1.999 &&
                mnemo_privacy_entropy("abcd", 4) < 2.001);
    assert_true(mnemo_privacy_entropy("0123456789abcdef", 16) > 3.999);
    assert_false(mnemo_privacy_looks_secret("changeme", 8));
    assert_false(mnemo_privacy_looks_secret("Xk9mQ2v", 7)); /* too short */
    assert_false(mnemo_privacy_looks_secret("password_confirmation", 21));
    assert_false(mnemo_privacy_looks_secret("${DB_PASSWORD}", 14));
    assert_false(mnemo_privacy_looks_secret("550e8400-e29b-41d4-a716-446655440000", 36));
    assert_true(mnemo_privacy_looks_secret("Xk9mQ2vL7pR4wZ8t", 16));

    assert_clean_equals(*state, "password = \"changeme\"", "password = \"changeme\"");
    assert_clean_equals(*state, "token = get_token()", "token = get_token()");
    assert_clean_equals(*state, "api_key = os.environ[\"API_KEY\"]",
                        "api_key = os.environ[\"API_KEY\"]");
    assert_clean_equals(*state,
                        "if token == \"Xk9mQ2vL7pR4wZ8t\":", "if token == \"Xk9mQ2vL7pR4wZ8t\":");
    assert_clean_equals(*state, "api_key = \"Xk9mQ2vL7pR4wZ8t\"",
                        "api_key = \"[REDACTED:generic_secret]\"");
    assert_clean_equals(*state, "{\"password\": \"Tr0ub4dor&3Zq\"}",
                        "{\"password\": \"[REDACTED:generic_secret]\"}");
}

static void test_memory_privacy_keeps_url_user_and_host(void **state)
{
    assert_clean_equals(*state, "postgres://app:Fk9Zq2LmT8vPw@db.example.com:5432/app",
                        "postgres://app:[REDACTED:url_password]@db.example.com:5432/app");
    assert_clean_equals(*state, "see https://example.com:8080/a?b=c",
                        "see https://example.com:8080/a?b=c");
}

static void test_memory_privacy_redacts_pem_blocks_whole(void **state)
{
    /* Inside a JSON string, with escaped newlines: the block goes, the rest of the object stays. */
    assert_clean_equals(*state,
                        "{\"key\": \"-----BEGIN PRIVATE KEY-----\\nMIIFAKEabc+/def=\\nQRS\\n"
                        "-----END PRIVATE KEY-----\\n\", \"other\": \"kept\"}",
                        "{\"key\": \"[REDACTED:private_key]\\n\", \"other\": \"kept\"}");
    /* Real newlines, an encrypted key's headers, and text after the block. */
    assert_clean_equals(
        *state,
        "before\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
        "DEK-Info: AES-128-CBC,00FAKE\n\nMIIEFAKE\n-----END RSA PRIVATE KEY-----\nafter",
        "before\n[REDACTED:private_key]\nafter");
    /* A block cut off before its END line loses its body. */
    assert_clean_equals(*state, "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIFAKE\nAwEHoUQDQgAE",
                        "[REDACTED:private_key]");
}

/* Inputs built to make a backtracking matcher rescan the text once per position: every call
 * finishes quickly (the rules are anchored and bounded so that the work stays linear). */
static void test_memory_privacy_adversarial_input_stays_linear(void **state)
{
    static const char *const units[] = {"-eyJ",
                                        "sk-ant-",
                                        "sk-proj-",
                                        "authorization:",
                                        "-----BEGIN RSA PRIVATE KEY-----\n!\n",
                                        "<system-reminder>x",
                                        "<private>",
                                        "token=",
                                        "a://a:",
                                        "password = ",
                                        "<<</",
                                        "aws_secret_key="};
    size_t n = MNEMO_PRIVACY_MAX_INPUT;
    char *buf = malloc(n);
    assert_non_null(buf);
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t ul = strlen(units[u]);
        for (size_t i = 0; i < n; i++)
            buf[i] = units[u][i % ul];
        int64_t t0 = tu_now_ms();
        struct mnemo_privacy_result res;
        struct mnemo_err err = {0};
        assert_int_equal(mnemo_privacy_clean(*state, buf, n, &res, &err), 0);
        int64_t ms = tu_now_ms() - t0;
        if (ms > 10000)
            fail_msg("'%s' x %zu took %lld ms", units[u], n / ul, (long long)ms);
        mnemo_privacy_result_release(&res);
    }
    free(buf);
}

static void test_memory_privacy_add_rule_validates_and_extends(void **state)
{
    struct mnemo_privacy *p = *state;
    struct mnemo_err err = {0};
    struct mnemo_privacy_rule bad = {"acme_token", "acme_(\\d+", 0, 0, NULL};
    assert_int_equal(mnemo_privacy_add_rule(p, &bad, &err), MNEMO_EINVAL);
    assert_non_null(strstr(err.msg, "offset 9"));
    assert_non_null(strstr(err.msg, "missing closing parenthesis"));
    struct mnemo_privacy_rule bad_name = {"Acme Token", "acme_[0-9]+", 0, 0, NULL};
    assert_int_equal(mnemo_privacy_add_rule(p, &bad_name, &err), MNEMO_EINVAL);
    struct mnemo_privacy_rule bad_group = {"acme_token", "acme_([0-9]+)", 2, 0, NULL};
    assert_int_equal(mnemo_privacy_add_rule(p, &bad_group, &err), MNEMO_EINVAL);
    assert_non_null(strstr(err.msg, "group 2"));
    struct mnemo_privacy_rule empty = {"acme_token", "x*", 0, 0, NULL};
    assert_int_equal(mnemo_privacy_add_rule(p, &empty, &err), MNEMO_EINVAL);
    struct mnemo_privacy_rule dup = {"jwt", "jwt_[0-9]+", 0, 0, NULL};
    assert_int_equal(mnemo_privacy_add_rule(p, &dup, &err), MNEMO_EINVAL);

    size_t before = mnemo_privacy_rule_count(p);
    struct mnemo_privacy_rule bad_kw = {"acme_token", "acme_[0-9]+", 0, 0, "acme||x"};
    assert_int_equal(mnemo_privacy_add_rule(p, &bad_kw, &err), MNEMO_EINVAL);
    assert_non_null(strstr(err.msg, "keywords"));
    struct mnemo_privacy_rule good = {"acme_token", "\\bacme_([0-9a-f]{16})\\b", 1, 0, "ACME_"};
    assert_int_equal(mnemo_privacy_add_rule(p, &good, &err), 0);
    assert_int_equal(mnemo_privacy_rule_count(p), before + 1);
    assert_string_equal(mnemo_privacy_rule_name(p, before), "acme_token");
    struct mnemo_privacy_result res;
    char *got = clean_str(p, "id acme_0123456789abcdef and acme_fedcba9876543210.", &res);
    assert_string_equal(got, "id acme_[REDACTED:acme_token] and acme_[REDACTED:acme_token].");
    assert_int_equal(res.rule_hits[before], 2);
    assert_int_equal(res.n_redactions, 2);
    free(got);

    /* The table is bounded. */
    char name[32];
    int rc = 0;
    for (int i = 0; i < MNEMO_PRIVACY_MAX_RULES + 1 && rc == 0; i++) {
        snprintf(name, sizeof name, "filler_%d", i);
        struct mnemo_privacy_rule r = {name, "zzfiller\\d{40}", 0, 0, NULL};
        rc = mnemo_privacy_add_rule(p, &r, &err);
    }
    assert_int_equal(rc, MNEMO_ETOOBIG);
    assert_int_equal(mnemo_privacy_rule_count(p), MNEMO_PRIVACY_MAX_RULES);
}

static void test_memory_privacy_bounds_input_size(void **state)
{
    struct mnemo_privacy_result res;
    struct mnemo_err err = {0};
    size_t n = MNEMO_PRIVACY_MAX_INPUT + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'a', n);
    assert_int_equal(mnemo_privacy_clean(*state, big, n, &res, &err), MNEMO_ETOOBIG);
    assert_null(res.text);
    char *out = NULL;
    assert_int_equal(mnemo_privacy_utf8_repair(big, n, &out, NULL, NULL, &err), MNEMO_ETOOBIG);
    assert_null(out);
    /* Exactly at the limit is accepted, and trailing spaces are trimmed. */
    memset(big + n - 11, ' ', 10);
    assert_int_equal(mnemo_privacy_clean(*state, big, n - 1, &res, &err), 0);
    assert_int_equal(res.len, n - 11);
    mnemo_privacy_result_release(&res);
    free(big);
    assert_int_equal(mnemo_privacy_clean(*state, NULL, 3, &res, &err), MNEMO_EINVAL);
    assert_int_equal(mnemo_privacy_clean(*state, NULL, 0, &res, &err), 0);
    assert_string_equal(res.text, "");
    mnemo_privacy_result_release(&res);
}

/*
 * Random bytes and random fragments of tags, secrets and assignments: every call succeeds,
 * and the output is valid UTF-8 without NULs (jansson accepts it).
 */
static void test_memory_privacy_survives_random_input(void **state)
{
    static const char *const pieces[] = {"<private>",
                                         "</private>",
                                         "<private",
                                         "<system-reminder a='>'>",
                                         "</system-reminder>",
                                         "<mnemo-context>",
                                         "</mnemo-context",
                                         "-----BEGIN RSA PRIVATE KEY-----",
                                         "\n\n\n",
                                         "password = \"",
                                         "token: ",
                                         "AKIA",
                                         "ghp_",
                                         "eyJ",
                                         "://u:",
                                         "@h",
                                         "Bearer ",
                                         "\xff",
                                         "\xed\xa0\x80",
                                         "sk-ant-",
                                         "=>",
                                         "'",
                                         "\"",
                                         "[REDACTED:",
                                         "]",
                                         " ",
                                         "\0"};
    uint32_t seed = 12345;
    char buf[2048];
    for (int round = 0; round < 3000; round++) {
        size_t n = 0;
        while (n < sizeof buf - 64) {
            seed = seed * 1103515245u + 12345u;
            uint32_t r = seed >> 8;
            if (r % 3 == 0) {
                const char *piece = pieces[(r / 3) % (sizeof pieces / sizeof pieces[0])];
                size_t plen = piece[0] ? strlen(piece) : 1;
                memcpy(buf + n, piece, plen);
                n += plen;
            } else {
                buf[n++] = (char)(r % 2 ? (r >> 4) & 0xff : 'a' + (r >> 4) % 62);
            }
            if ((r >> 20) % 97 == 0)
                break;
        }
        struct mnemo_privacy_result res;
        struct mnemo_err err = {0};
        assert_int_equal(mnemo_privacy_clean(*state, buf, n, &res, &err), 0);
        assert_int_equal(strlen(res.text), res.len);
        json_t *js = json_stringn(res.text, res.len);
        assert_non_null(js);
        json_decref(js);
        mnemo_privacy_result_release(&res);
    }
}

/* Undoes the "\n" escapes of secrets.txt in place. */
static void unescape_newlines(char *s)
{
    char *o = s;
    for (char *i = s; *i; i++) {
        if (i[0] == '\\' && i[1] == 'n') {
            *o++ = '\n';
            i++;
        } else {
            *o++ = *i;
        }
    }
    *o = '\0';
}

static void test_memory_privacy_redacts_every_fake_secret(void **state)
{
    char path[1024];
    data_path("secrets.txt", path, sizeof path);
    size_t len = 0;
    char *data = tu_file_read(path, 1 << 22, &len);
    assert_non_null(data);
    int lines = 0, missed = 0;
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *rule = line, *secret = strchr(rule, '\t');
        assert_non_null(secret);
        *secret++ = '\0';
        char *text = strchr(secret, '\t');
        assert_non_null(text);
        *text++ = '\0';
        unescape_newlines(text);
        char marker[64];
        snprintf(marker, sizeof marker, "[REDACTED:%s]", rule);
        struct mnemo_privacy_result res;
        char *got = clean_str(*state, text, &res);
        lines++;
        if (!strstr(got, marker) || strstr(got, secret)) {
            missed++;
            print_message("missed (%s): %s\n  -> %s\n", rule, text, got);
        }
        free(got);
    }
    print_message("secret corpus: %d lines, %d missed\n", lines, missed);
    assert_true(lines >= 100);
    assert_int_equal(missed, 0);
    free(data);
}

static void test_memory_privacy_false_positives_on_clean_corpus(void **state)
{
    char dir[1024];
    data_path("clean", dir, sizeof dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    long lines = 0, fps = 0;
    size_t bytes = 0;
    char *files[64];
    size_t lens[64], nfiles = 0;
    while ((de = readdir(d)) != NULL && nfiles < 64) {
        if (de->d_name[0] == '.')
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        files[nfiles] = tu_file_read(path, MNEMO_PRIVACY_MAX_INPUT, &lens[nfiles]);
        assert_non_null(files[nfiles]);
        for (size_t i = 0; i < lens[nfiles]; i++)
            lines += files[nfiles][i] == '\n';
        bytes += lens[nfiles];
        struct mnemo_privacy_result res;
        struct mnemo_err err = {0};
        assert_int_equal(mnemo_privacy_clean(*state, files[nfiles], lens[nfiles], &res, &err), 0);
        for (const char *m = strstr(res.text, "[REDACTED:"); m; m = strstr(m + 1, "[REDACTED:")) {
            const char *bol = m, *eol = strchr(m, '\n');
            while (bol > res.text && bol[-1] != '\n')
                bol--;
            print_message("false positive in %s: %.*s\n", de->d_name,
                          (int)(eol ? eol - bol : (long)strlen(bol)), bol);
            fps++;
        }
        mnemo_privacy_result_release(&res);
        nfiles++;
    }
    closedir(d);

    /* Throughput of the whole pipeline over the corpus, repeated for a stable reading. */
    int64_t t0 = tu_now_ms(), elapsed = 0;
    size_t done = 0;
    while (elapsed < 500) {
        for (size_t i = 0; i < nfiles; i++) {
            struct mnemo_privacy_result res;
            assert_int_equal(mnemo_privacy_clean(*state, files[i], lens[i], &res, NULL), 0);
            mnemo_privacy_result_release(&res);
        }
        done += bytes;
        elapsed = tu_now_ms() - t0;
    }
    size_t jit = 0, nrules = mnemo_privacy_rule_count(*state);
    for (size_t i = 0; i < nrules; i++)
        jit += mnemo_privacy_rule_jit(*state, i);
    print_message("rules: %zu, JIT-compiled: %zu\n", nrules, jit);
    print_message("clean corpus: %zu files, %ld lines, %zu bytes, %ld false positives; "
                  "throughput %.1f MB/s\n",
                  nfiles, lines, bytes, fps, (double)done / 1e6 / ((double)elapsed / 1000.0));
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    assert_true(lines >= 10000);
    assert_true(fps * 10000 <= lines);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_privacy_strips_private_blocks),
        cmocka_unit_test(test_memory_privacy_wholly_private_prompt_is_flagged),
        cmocka_unit_test(test_memory_privacy_unclosed_private_hides_the_rest),
        cmocka_unit_test(test_memory_privacy_nested_private_blocks_are_removed_whole),
        cmocka_unit_test(test_memory_privacy_strips_system_and_own_tags),
        cmocka_unit_test(test_memory_privacy_secret_hidden_by_tags_never_survives),
        cmocka_unit_test(test_memory_privacy_utf8_repair_replaces_invalid_bytes),
        cmocka_unit_test(test_memory_privacy_clean_output_is_valid_utf8),
        cmocka_unit_test(test_memory_privacy_entropy_gate),
        cmocka_unit_test(test_memory_privacy_keeps_url_user_and_host),
        cmocka_unit_test(test_memory_privacy_bounds_input_size),
        cmocka_unit_test(test_memory_privacy_survives_random_input),
        cmocka_unit_test(test_memory_privacy_redacts_pem_blocks_whole),
        cmocka_unit_test(test_memory_privacy_adversarial_input_stays_linear),
        cmocka_unit_test(test_memory_privacy_redacts_every_fake_secret),
        cmocka_unit_test(test_memory_privacy_false_positives_on_clean_corpus),
        /* Last: it fills the shared redactor's rule table. */
        cmocka_unit_test(test_memory_privacy_add_rule_validates_and_extends),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
