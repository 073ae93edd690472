/*
 * privacy_rules.c - the built-in redaction rules, as data.
 *
 * Shapes follow the gitleaks default configuration (reference/security.md §6): prefix-anchored
 * rules for token formats that announce themselves, and one generic keyword-assignment rule kept
 * honest by the entropy gate. Order matters: the redactor applies the rules one after another
 * to the output of the previous one, so specific rules come first and a later rule never
 * re-redacts an earlier marker (the gate and the matcher skip "[REDACTED:" text). Anthropic keys
 * ("sk-ant-") must precede the OpenAI rule ("sk-"), JWTs and named tokens must precede the
 * header rules that would otherwise swallow them under a vaguer name.
 *
 * The entropy gate that keeps the generic rules from flagging code and placeholders lives
 * here too: it is part of what a rule means.
 */
#include "memory/privacy.h"

#include <string.h>

/* A value followed by something that can end a token in code, config or prose. */
#define END_OF_TOKEN "(?![A-Za-z0-9_-])"

static const struct mnemo_privacy_rule builtin_rules[] = {
    /* The whole PEM block, any key type: the BEGIN line, every line of key material (base64
     * and "Proc-Type:"-style headers; a literal "\n" separates lines inside JSON strings) up
     * to a line starting "-----", then the END line when there is one. A block whose END is
     * missing (truncated tool output) still loses its body. Everything is possessive and no
     * line may start "-----", so a text full of BEGIN lines is scanned once, not once per
     * BEGIN. */
    {"private_key",
     "-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
     "(?:(?:\\s|\\\\[nr])++(?!-----)[A-Za-z0-9+/=:,. -]++)*+"
     "(?:(?:\\s|\\\\[nr])*+-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
     0, 0, "PRIVATE KEY"},
    /* Three base64url segments, the header a JSON object ("eyJ" is base64 for '{"').
     * Rules whose token class holds '-' start only where a token can start (the lookbehind),
     * so "-eyJ-eyJ-..." is scanned once rather than once per "eyJ". */
    {"jwt", "(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]*", 0, 0,
     "eyJ"},
    {"aws_access_key", "\\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}" END_OF_TOKEN, 0, 0,
     "AKIA|ASIA|ABIA|ACCA|A3T"},
    /* 40 base64 characters assigned to something called an AWS secret (access) key. */
    {"aws_secret_key",
     "(?:aws[\\w.-]{0,20}secret|secret[\\w.-]{0,4}access[\\w.-]{0,4}key)[\\w.-]{0,20}"
     "\\\\?[\"']?\\s*(?::=|=>|=|:)\\s*\\\\?[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
     1, MNEMO_PRIVACY_RULE_CASELESS, "aws|access"},
    {"github_token",
     "\\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244})" END_OF_TOKEN, 0, 0,
     "ghp_|gho_|ghs_|ghu_|ghr_|github_pat_"},
    {"gitlab_token", "\\bgl(?:pat|dt|ptt|rt|soat|ft|imt|cbt)-[A-Za-z0-9_-]{20,64}" END_OF_TOKEN, 0,
     0, "glpat-|gldt-|glptt-|glrt-|glsoat-|glft-|glimt-|glcbt-"},
    /* The host stays readable; the path is the credential. */
    {"slack_webhook",
     "https://hooks\\.slack(?:-gov)?\\.com/((?:services|workflows|triggers)/[A-Za-z0-9_/+-]{20,512})",
     1, 0, "hooks.slack"},
    {"slack_token", "\\bxox[abposr]-[A-Za-z0-9-]{10,250}", 0, 0, "xox"},
    {"stripe_key", "\\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}(?![A-Za-z0-9])", 0, 0,
     "_live_|_test_"},
    {"anthropic_key", "(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}", 0, 0, "sk-ant-"},
    {"openai_key",
     "(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{32,}" END_OF_TOKEN
     ")",
     0, 0, "sk-"},
    {"google_api_key", "\\bAIza[0-9A-Za-z_-]{35}" END_OF_TOKEN, 0, 0, "AIza"},
    {"npm_token", "\\bnpm_[A-Za-z0-9]{36}(?![A-Za-z0-9])", 0, 0, "npm_"},
    /* scheme://user:password@host keeps scheme, user and host. The match starts at "://"
     * (a literal PCRE2 finds with memchr) and looks back for a scheme character. The password
     * may hold '@' (greedy, then back to the last '@' before a host character). */
    {"url_password",
     "(?<=[A-Za-z0-9+.-])://[^\\s:@/?#\"'<>]{0,128}:([^\\s/?#\"'<>]{1,256})"
     "@(?=[A-Za-z0-9.\\[_-])",
     1, 0, "://"},
    {"bearer_token", "\\bbearer\\s+([A-Za-z0-9._~+/-]{8,2048}=*)", 1,
     MNEMO_PRIVACY_RULE_CASELESS | MNEMO_PRIVACY_RULE_ENTROPY, "bearer"},
    /* base64(user:password) can be short and plain, so no entropy gate. */
    {"basic_auth",
     "\\bauthorization\\\\?[\"']?\\s*[:=]\\s*\\\\?[\"']?basic\\s+([A-Za-z0-9+/]{6,4096}={0,2})", 1,
     MNEMO_PRIVACY_RULE_CASELESS, "basic"},
    {"authorization_header",
     "\\bauthorization\\\\?[\"']?\\s*[:=]\\s*\\\\?[\"']?"
     "(?:(?:token|apikey|api-key|digest|hmac|sharedkey|sso-key|key)\\s+)?([^\\s\"',;:]{8,1024})",
     1, MNEMO_PRIVACY_RULE_CASELESS | MNEMO_PRIVACY_RULE_ENTROPY, "authorization"},
    /* A keyword in the name, an assignment (=, :, :=, =>; not ==, ::, ://; a bare ':' only
     * after a quoted key or before a space, so "image:tag" and "host:port" are not
     * assignments), then a quoted or bare value on the same line. The branch reset (?|...)
     * makes every value form capture group 1. A bare value must end where a token ends, so
     * calls such as `token = get_token()` never match. Quotes may be backslash-escaped: hook
     * payloads are JSON, where a command line reads `API_KEY=\"...\"`. Each quantifier is
     * followed by characters its class excludes, so making it possessive changes no match and
     * saves the backtracking on inputs like "token=token=token=". */
    {"generic_secret",
     "(?:secret|token|passw(?:or)?d|pwd|api[_-]?key|access[_-]?key|private[_-]?key"
     "|client[_-]?secret|auth(?!or(?!i))|credential|key)[\\w.-]{0,20}+"
     "(?:\\\\?[\"']\\]?[ \\t]*(?::=|=>|=(?![=>~])|:(?![:/]))"
     "|\\]?[ \\t]*(?::=|=>|=(?![=>~])|:(?=[ \\t])))[ \\t]*"
     "(?|\"([^\"\\r\\n]{8,256}+)\"|\\\\\"([^\"\\\\\\r\\n]{8,256}+)\\\\\""
     "|'([^'\\r\\n]{8,256}+)'|`([^`\\r\\n]{8,256}+)`"
     "|([^\\s\"'`;,()\\[\\]{}<>\\\\]{8,256}+)(?=[\\s\"'`;,)\\]}\\\\]|$))",
     1, MNEMO_PRIVACY_RULE_CASELESS | MNEMO_PRIVACY_RULE_ENTROPY, NULL},
};

/* See privacy.h. */
size_t mnemo_privacy_builtin_rules(const struct mnemo_privacy_rule **rules)
{
    *rules = builtin_rules;
    return sizeof builtin_rules / sizeof builtin_rules[0];
}

/* ---------------------------------------------------------------------------------------- */
/* Entropy gate                                                                             */
/* ---------------------------------------------------------------------------------------- */

/*
 * log2 of a positive integer without libm (the library links no math library): the exponent
 * from the bit length, the mantissa m in [1, 2) through ln(m) = 2 atanh((m-1)/(m+1)), whose
 * series converges fast because the argument is at most 1/3 (error below 1e-12 after 12
 * terms, far finer than the 3.5-bit gate needs).
 */
static double log2_count(size_t n)
{
    int e = 0;
    while ((n >> e) > 1)
        e++;
    double m = (double)n / (double)((size_t)1 << e);
    double z = (m - 1.0) / (m + 1.0), z2 = z * z, term = z, sum = 0.0;
    for (int k = 1; k <= 25; k += 2) {
        sum += term / k;
        term *= z2;
    }
    return e + 2.0 * sum / 0.69314718055994530942;
}

/* See privacy.h. */
double mnemo_privacy_entropy(const char *s, size_t len)
{
    size_t counts[256] = {0};
    if (!s || len == 0)
        return 0.0;
    for (size_t i = 0; i < len; i++)
        counts[(unsigned char)s[i]]++;
    /* H = log2(len) - (1/len) * sum(c * log2(c)) over the byte counts c. */
    double acc = 0.0;
    for (size_t c = 0; c < 256; c++)
        if (counts[c] > 1)
            acc += (double)counts[c] * log2_count(counts[c]);
    double h = log2_count(len) - acc / (double)len;
    return h < 0.0 ? 0.0 : h;
}

static bool has_substr(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    return len >= n && memmem(s, len, needle, n) != NULL;
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_uuid(const char *s, size_t len)
{
    if (len != 36)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* local@domain.tld with a letters-only top-level domain. */
static bool is_email(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (!at || at == s)
        return false;
    const char *dom = at + 1, *endp = s + len;
    const char *dot = NULL;
    for (const char *q = dom; q < endp; q++) {
        if (*q == '@')
            return false;
        if (*q == '.')
            dot = q;
    }
    if (!dot || dot == dom || dot + 2 >= endp)
        return false;
    for (const char *q = dot + 1; q < endp; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
            return false;
    return true;
}

/*
 * Words, identifiers and paths without digits are code or prose (`= user.password`,
 * "password_confirmation", "your-token-here"), not generated secrets. A digit-free value still
 * counts as random when it has no separators and switches case often ("XkmQvLpRtZwY").
 */
static bool is_wordlike(const char *s, size_t len)
{
    bool separators = false;
    size_t switches = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
        if (c == '_' || c == '.' || c == '-' || c == '/')
            separators = true;
        else if (!upper && !lower)
            return false;
        if (i > 0) {
            unsigned char d = (unsigned char)s[i - 1];
            bool pu = d >= 'A' && d <= 'Z', pl = d >= 'a' && d <= 'z';
            if ((upper && pl) || (lower && pu))
                switches++;
        }
    }
    return separators || switches * 4 < len;
}

/* See privacy.h. */
bool mnemo_privacy_looks_secret(const char *v, size_t len)
{
    if (!v || len < MNEMO_PRIVACY_MIN_SECRET_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r' || v[i] == '\f' ||
            v[i] == '\v')
            return false;
    if (v[0] == '$' || v[0] == '%' || v[0] == '<' || v[0] == '{' || v[0] == '/' ||
        (v[0] == '~' && len > 1 && v[1] == '/') || (v[0] == '.' && len > 1 && v[1] == '/') ||
        (v[0] == '.' && len > 2 && v[1] == '.' && v[2] == '/'))
        return false;
    if (has_substr(v, len, "[REDACTED:") || has_substr(v, len, "${") || has_substr(v, len, "{{") ||
        (len > 4 && memcmp(v, "arn:", 4) == 0) || has_substr(v, len, "://") ||
        has_substr(v, len, "%s") || has_substr(v, len, "%("))
        return false;
    if (is_uuid(v, len) || is_email(v, len) || is_wordlike(v, len))
        return false;
    return mnemo_privacy_entropy(v, len) >= MNEMO_PRIVACY_MIN_ENTROPY;
}
