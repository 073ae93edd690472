#!/usr/bin/env python3
"""Writes secrets.txt: FAKE secrets in every format the redactor knows, in realistic contexts.

Every value is generated here from a fixed seed; none is or was ever a real credential. Where
a format allows it the value carries FAKE/EXAMPLE so a reader sees at once that it is fake.

Line format (tab-separated):  <rule>\t<secret>\t<text>
  rule    the rule expected to fire ("[REDACTED:<rule>]" must appear in the output)
  secret  a substring of text that must be gone from the output
  text    the input; "\\n" stands for a newline (PEM blocks span lines)
Run:  python3 tests/data/privacy/gen_secrets.py > tests/data/privacy/secrets.txt
"""
import base64
import json
import random

rng = random.Random(20261127)
UP = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LO = "abcdefghijklmnopqrstuvwxyz"
DI = "0123456789"
ALNUM = UP + LO + DI
B64 = ALNUM + "+/"


def rnd(alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def mixed(n):
    """Random alphanumerics with at least one digit, upper and lower case letter."""
    while True:
        s = rnd(ALNUM, n)
        if any(c in DI for c in s) and any(c in UP for c in s) and any(c in LO for c in s):
            return s


def b64url(obj):
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


lines = []


def add(rule, secret, text):
    assert secret in text, (rule, secret)
    lines.append(f"{rule}\t{secret}\t{text}")


# AWS access key ids and secret access keys.
for prefix in ["AKIA", "ASIA", "AKIA", "ABIA", "ACCA"]:
    key = prefix + "FAKE" + rnd(UP + DI, 12)
    ctx = rng.choice(["aws_access_key_id = {}", "export AWS_ACCESS_KEY_ID={}",
                      '{{"AccessKeyId": "{}", "Expiration": "2026-01-01T00:00:00Z"}}',
                      "the CI job leaked {} in its log", "AWS_ACCESS_KEY_ID: {}"])
    add("aws_access_key", key, ctx.format(key))
add("aws_access_key", "AKIAIOSFODNN7EXAMPLE", "aws_access_key_id=AKIAIOSFODNN7EXAMPLE")
for ctx in ["aws_secret_access_key = {}", "export AWS_SECRET_ACCESS_KEY={}",
            '"SecretAccessKey": "{}",', "AWS_SECRET_ACCESS_KEY: '{}'", "aws_secret_key={}"]:
    sec = "FAKE" + rnd(B64, 36)
    add("aws_secret_key", sec, ctx.format(sec))
add("aws_secret_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

# GitHub, GitLab.
for prefix in ["ghp_", "gho_", "ghs_", "ghu_", "ghr_", "ghp_"]:
    tok = prefix + "FAKE" + mixed(32)
    ctx = rng.choice(["GITHUB_TOKEN={}", "git clone https://x-access-token:{}@github.com/acme/app.git",
                      "token: {}", "Authorization: token {}", "use {} for the release job"])
    add("github_token" if "x-access-token" not in ctx else "github_token", tok, ctx.format(tok))
for _ in range(3):
    tok = "github_pat_11FAKE" + mixed(16) + "_" + mixed(59)
    add("github_token", tok, f"export GH_TOKEN={tok}")
for prefix in ["glpat-", "glpat-", "glpat-", "gldt-", "glptt-"]:
    tok = prefix + "FAKE" + rnd(ALNUM + "_-", 16)
    add("gitlab_token", tok, f'gitlab_token: "{tok}"' if prefix == "glpat-" else f"deploy with {tok} now")

# Slack.
for kind in "abposr":
    tok = f"xox{kind}-" + rnd(DI, 12) + "-" + rnd(DI, 13) + "-FAKE" + rnd(LO + DI, 20)
    add("slack_token", tok, rng.choice(["SLACK_BOT_TOKEN={}", "slack token {} rotated", "'{}'"]).format(tok))
for kind in ["services", "services", "workflows"]:
    path = f"{kind}/T0FAKE{rnd(UP + DI, 5)}/B0FAKE{rnd(UP + DI, 5)}/{mixed(24)}"
    url = "https://hooks.slack.com/" + path
    add("slack_webhook", path, f"SLACK_WEBHOOK_URL={url}")

# Stripe.
for prefix in ["sk_live_", "rk_live_", "sk_test_", "sk_live_", "rk_test_"]:
    key = prefix + "FAKE" + mixed(24)
    add("stripe_key", key, rng.choice(["stripe.api_key = '{}'", "STRIPE_SECRET_KEY={}", "key {} in the dashboard"]).format(key))

# Anthropic, OpenAI.
for _ in range(4):
    key = "sk-ant-api03-FAKE" + rnd(ALNUM + "_-", 89) + "AA"
    add("anthropic_key", key, rng.choice(["ANTHROPIC_API_KEY={}", "client = Anthropic(api_key=\"{}\")", "x-api-key: {}"]).format(key))
key = "sk-ant-admin01-FAKE" + rnd(ALNUM + "_-", 80) + "AA"
add("anthropic_key", key, f"admin key: {key}")
for kind in ["proj", "proj", "svcacct", "admin"]:
    key = f"sk-{kind}-FAKE" + rnd(ALNUM + "_-", 60) + "T3BlbkFJ" + rnd(ALNUM + "_-", 60)
    add("openai_key", key, rng.choice(["OPENAI_API_KEY={}", "openai.api_key = \"{}\"", "export OPENAI_KEY={}"]).format(key))
for _ in range(3):
    key = "sk-FAKE" + mixed(16) + "T3BlbkFJ" + mixed(20)
    add("openai_key", key, f"OPENAI_API_KEY={key}")

# Google, npm.
for _ in range(5):
    key = "AIzaSyFAKE" + rnd(ALNUM + "_-", 29)
    add("google_api_key", key, rng.choice(["GOOGLE_API_KEY={}", "https://maps.googleapis.com/maps/api/js?key={}", "\"apiKey\": \"{}\","]).format(key))
for _ in range(5):
    tok = "npm_FAKE" + mixed(32)
    add("npm_token", tok, rng.choice(["//registry.npmjs.org/:_authToken={}", "NPM_TOKEN={}", "npm token {} expires soon"]).format(tok))

# JWTs.
for i in range(5):
    hdr = b64url({"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"})
    body = b64url({"sub": f"fake-user-{i}", "iat": 1700000000 + i, "name": "Fake Person"})
    sig = rnd(ALNUM + "_-", 43)
    jwt = f"{hdr}.{body}.{sig}"
    add("jwt", jwt, rng.choice(["id_token={}", "cookie: session={}; Path=/", "decoded {} for debugging",
                                "Authorization: Bearer {}"]).format(jwt))

# PEM private keys: the whole block goes, so the first body line must be gone.
for label in ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY",
              "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY", "PGP PRIVATE KEY BLOCK"]:
    body = ["FAKE" + rnd(B64, 60)] + [rnd(B64, 64) for _ in range(rng.randint(3, 6))] + [rnd(B64, 20) + "=="]
    block = f"-----BEGIN {label}-----\\n" + "\\n".join(body) + f"\\n-----END {label}-----"
    add("private_key", body[0], f"key.pem contains:\\n{block}\\ndone")
body = "FAKE" + rnd(B64, 60)
add("private_key", body, f"truncated output: -----BEGIN RSA PRIVATE KEY-----\\n{body}\\n{rnd(B64, 64)}")

# URLs with passwords.
for scheme, user, host in [("postgres", "app", "db.internal.example:5432/app"),
                           ("mysql", "root", "10.0.0.12:3306/shop"), ("redis", "", "cache.example.net:6379/0"),
                           ("mongodb+srv", "svc_reader", "cluster0.example.mongodb.net/prod"),
                           ("amqp", "guest_fake", "mq.example.org:5672/%2F"),
                           ("https", "deploy", "git.example.com/acme/app.git")]:
    pw = "Fk" + mixed(14)
    url = f"{scheme}://{user}:{pw}@{host}"
    add("url_password", pw, rng.choice(["DATABASE_URL={}", "connecting to {}", "url: \"{}\""]).format(url))

# Authorization headers.
for _ in range(4):
    tok = mixed(40)
    add("bearer_token", tok, rng.choice(["Authorization: Bearer {}", "curl -H \"Authorization: Bearer {}\" https://api.example.com/v1/me",
                                         "headers = {{'Authorization': 'Bearer {}'}}"]).format(tok))
add("bearer_token", "FAKEx9Zq2LmT8vPw.Rk4Nc7Yh", "bearer FAKEx9Zq2LmT8vPw.Rk4Nc7Yh")
for userpass in ["fakeuser:Fk93kdL2pq", "admin:hunter2-fake", "ci:Zx8Qw2Lm7Np4"]:
    b = base64.b64encode(userpass.encode()).decode()
    add("basic_auth", b, rng.choice(["Authorization: Basic {}", "-H 'Authorization: Basic {}'"]).format(b))
for scheme in ["ApiKey", "Token", "SharedKey"]:
    tok = mixed(32)
    add("authorization_header", tok, f"Authorization: {scheme} {tok}")
tok = rnd("0123456789abcdef", 40)
add("authorization_header", tok, f"Proxy-Authorization: {tok}")

# Generic assignments with random values.
for ctx in ['password = "{}"', "DB_PASSWORD={}", '"client_secret": "{}",', "secret_key: {}",
            "api_key => '{}'", 'pwd := "{}"', "token: {}", "passwd={}", "access_key = {}",
            "auth_token = '{}'", '"apiKey": "{}"', "SECRET={}", "export SESSION_SECRET=\"{}\"",
            "app.config['SECRET_KEY'] = '{}'", "credentials: {}", "private_key = \"{}\"",
            "MYSQL_ROOT_PASSWORD: {}", "signing_key={}", "$password = '{}';", "set -x TOKEN {}"]:
    if ctx.startswith("set -x"):
        continue
    val = mixed(rng.randint(16, 32)) if rng.random() < 0.6 else mixed(10) + rng.choice("!@#%^*-_+") + mixed(8)
    add("generic_secret", val, ctx.format(val))

# Inside JSON strings (hook payloads are JSON): escaped quotes around keys and values.
val = mixed(20)
add("generic_secret", val, '{"tool_input": {"command": "export API_KEY=\\"%s\\" && ./run.sh"}}' % val)
val = mixed(18)
add("generic_secret", val, '"{\\"password\\": \\"%s\\", \\"user\\": \\"dev\\"}"' % val)
val = mixed(24)
add("generic_secret", val, '{"output": "DB_PASSWORD=%s\\\\tDEBUG=1"}' % val)
b = base64.b64encode(b"fakeuser:Qz7Lm2Xp9Kd").decode()
add("basic_auth", b, '"{\\"Authorization\\": \\"Basic %s\\"}"' % b)
tok = mixed(36)
add("authorization_header", tok, '"{\\"authorization\\": \\"ApiKey %s\\"}"' % tok)
sec = "FAKE" + rnd(B64, 36)
add("aws_secret_key", sec, '{"env": "aws_secret_access_key=\\"%s\\""}' % sec)

print("# FAKE secrets for the redaction tests, generated by gen_secrets.py (seeded); none is real.")
print("# rule<TAB>secret<TAB>text, \\n in text is a newline.")
for line in lines:
    print(line)
