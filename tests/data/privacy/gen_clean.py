#!/usr/bin/env python3
"""Writes the clean corpus under clean/: ordinary code, config and prose with no secret in it.

The redaction test counts every "[REDACTED:" it finds here as a false positive. The text mixes
hand-written snippets (the templates below) with seeded random fill: identifiers, UUIDs, git
SHAs, hex digests, base64 of plain text, URLs without passwords, placeholder passwords in
config files, and code that names tokens and passwords without containing any.
Run:  python3 tests/data/privacy/gen_clean.py   (rewrites clean/*.txt deterministically)
"""
import base64
import hashlib
import os
import random
import uuid

rng = random.Random(4242)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "clean")

WORDS = ("account user order invoice payment session cache queue worker handler request response "
         "config loader parser token_count batch record index search result buffer stream socket "
         "client server router module package build release deploy metric counter timer event "
         "message channel report profile setting option feature project branch commit review "
         "schema table column migration backup snapshot checksum digest limit offset page cursor").split()
PROSE = [
    "The migration runs in a single transaction so that a crash leaves the schema unchanged.",
    "We rotate the signing keys every ninety days; the runbook explains how to do it safely.",
    "Tokens are validated by the gateway before the request reaches any service.",
    "Never commit credentials: the secret manager injects them at deploy time.",
    "Passwords are hashed with argon2id and a per-user salt, never stored in plain text.",
    "The cache key combines the tenant id and the normalised query string.",
    "If the access token has expired, the client refreshes it once and retries the call.",
    "Authentication failures are logged without the submitted password.",
    "The API key header is optional for public endpoints and required for writes.",
    "Set the password in your local .env file; the template ships with a placeholder.",
    "Our tokenizer splits identifiers on case changes and underscores.",
    "Each worker keeps a small buffer and flushes it when the batch is full.",
    "The author of the change added a regression test for the empty-input case.",
    "Keyboard shortcuts: press Ctrl+K to search and Ctrl+Shift+P for commands.",
    "Performance improved by roughly forty percent after the index was rebuilt.",
    "Please review the pull request before Friday; the release branch freezes then.",
    "A monkey-patched clock makes the retry tests deterministic.",
    "The private key never leaves the hardware security module.",
    "Secrets: see the vault path documented in the operations handbook.",
    "Use the bearer scheme for service-to-service calls and cookies for browsers.",
]


def ident():
    n = rng.randint(1, 3)
    return "_".join(rng.choice(WORDS) for _ in range(n))


def camel():
    parts = [rng.choice(WORDS).replace("_", "") for _ in range(rng.randint(1, 3))]
    return parts[0] + "".join(p.capitalize() for p in parts[1:])


def sha1():
    return hashlib.sha1(str(rng.random()).encode()).hexdigest()


def sha256():
    return hashlib.sha256(str(rng.random()).encode()).hexdigest()


def uid():
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def b64text():
    return base64.b64encode(" ".join(rng.choice(PROSE) for _ in range(2)).encode()).decode()


def url():
    host = rng.choice(["api.example.com", "docs.python.org", "github.com", "registry.npmjs.org",
                       "localhost:8080", "127.0.0.1:37777", "cdn.example.net", "pkg.go.dev"])
    path = "/".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
    q = f"?page={rng.randint(1, 50)}&sort={rng.choice(WORDS)}" if rng.random() < 0.3 else ""
    return f"{rng.choice(['https', 'http'])}://{host}/{path}{q}"


def num():
    return str(rng.randint(0, 100000))


def fill(t):
    out = t
    for key, fn in [("{id}", ident), ("{Id}", camel), ("{sha}", sha1), ("{sha256}", sha256),
                    ("{uuid}", uid), ("{b64}", b64text), ("{url}", url), ("{n}", num),
                    ("{prose}", lambda: rng.choice(PROSE))]:
        while key in out:
            out = out.replace(key, fn(), 1)
    return out


C = [
    "static int {id}_init(struct {id} *s, size_t cap)\n{\n    s->data = calloc(cap, sizeof *s->data);\n    if (!s->data)\n        return -ENOMEM;\n    s->cap = cap;\n    return 0;\n}\n",
    "/* {prose} */\nint {id}(const char *token, size_t len)\n{\n    if (len > MAX_TOKEN_LEN)\n        return -1;\n    return memcmp(token, \"BEGIN\", 5) == 0;\n}\n",
    "    const char *password = getenv(\"DB_PASSWORD\");\n    if (!password)\n        password = \"\";\n",
    "    char key[64];\n    snprintf(key, sizeof key, \"%s:%d\", prefix, id);\n",
    "#define {id}_MAX {n}\n#define {id}_SHA \"{sha}\"\n",
    "    for (size_t i = 0; i < n; i++)\n        total += {id}[i].count;\n",
    "    rc = sqlite3_prepare_v2(db, \"SELECT id, token_hash FROM sessions WHERE id = ?\", -1, &stmt, NULL);\n",
    "    struct {id} *tok = next_token(lexer);\n    if (tok->kind == TOKEN_EOF)\n        break;\n",
]
PY = [
    "def {id}(self, token=None):\n    \"\"\"{prose}\"\"\"\n    if token is None:\n        token = self.get_token()\n    return self._client.get(\"{url}\", headers=self._headers(token))\n",
    "    api_key = os.environ[\"API_KEY\"]\n    password = getpass.getpass(\"Password: \")\n",
    "    self.secret = secret\n    self.token_count = token_count + 1\n",
    "    cache_key = f\"{prefix}:{user_id}\"\n    value = cache.get(cache_key)\n",
    "REQUEST_ID = \"{uuid}\"\nCOMMIT = \"{sha}\"\n",
    "    password_field = \"password_confirmation\"\n    secret_name = \"db-credentials\"\n",
    "    digest = hashlib.sha256(data).hexdigest()  # e.g. {sha256}\n",
    "    max_tokens = {n}\n    tokens = tokenizer.encode(text)\n",
    "class {Id}(Base):\n    __tablename__ = \"{id}\"\n    id = Column(Integer, primary_key=True)\n    sort_key = Column(String, default=\"created_at\")\n",
    "    logger.info(\"loaded %d rows from %s\", len(rows), \"{url}\")\n",
    "    payload = base64.b64decode(\"{b64}\")\n",
    "    if not check_password(user, password):\n        raise AuthError(\"invalid credentials\")\n",
]
JS = [
    "export async function {Id}(req, res) {\n  const token = req.headers.authorization;\n  const user = await verifyToken(token);\n  res.json({ id: user.id, name: user.name });\n}\n",
    "const apiKey = process.env.API_KEY;\nconst secretKey = config.get('secretKey');\n",
    "  fetch('{url}', { headers: { Authorization: `Bearer ${token}` } })\n",
    "  const {Id} = useMemo(() => compute({Id}), [{Id}]);\n",
    "  \"integrity\": \"sha512-{b64}\",\n",
    "  const id = '{uuid}';\n  const etag = '\"{sha}\"';\n",
    "  token = jwt.sign(payload, secret, { expiresIn: '1h' });\n",
    "// {prose}\nmodule.exports = { {Id}, {Id} };\n",
]
GO = [
    "func (s *{Id}) {Id}(ctx context.Context, token string) error {\n\tif token == \"\" {\n\t\treturn ErrNoToken\n\t}\n\treturn s.store.Save(ctx, token)\n}\n",
    "\ttoken, err := auth.GenerateToken(user)\n\tif err != nil {\n\t\treturn err\n\t}\n",
    "type {Id} struct {\n\tToken    string `json:\"token\"`\n\tPassword string `json:\"password,omitempty\"`\n}\n",
    "\tkey := fmt.Sprintf(\"%s/%d\", bucket, id)\n",
    "\tconst defaultURL = \"{url}\"\n",
]
SH = [
    "export DATABASE_URL=\"postgres://localhost:5432/{id}\"\nexport GITHUB_TOKEN=\"$(gh auth token)\"\n",
    "curl -sS -H \"Authorization: Bearer $TOKEN\" {url}\n",
    "git log --oneline | head -n {n}\n# {sha} fix the {id} parser\n",
    "read -rsp 'Password: ' password\necho\n",
    "docker run --rm -e POSTGRES_PASSWORD=\"$POSTGRES_PASSWORD\" postgres:16\n",
    "sha256sum dist/{id}.tar.gz  # {sha256}\n",
]
YAML = [
    "database:\n  host: db.internal\n  port: 5432\n  user: app\n  password: changeme\n",
    "env:\n  - name: API_TOKEN\n    valueFrom:\n      secretKeyRef:\n        name: api-credentials\n        key: token\n",
    "steps:\n  - uses: actions/checkout@v4\n  - run: make test\n    env:\n      GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n",
    "auth:\n  password: \"{{ vault_db_password }}\"\n  token_ttl: 3600\n  secret_ref: projects/acme/secrets/db-password/versions/latest\n",
    "image: registry.example.com/{id}:{sha}\nreplicas: 3\n",
    "author: Jane Doe\nlicense: MIT\nversion: 1.{n}.0\n",
    "password: your-password-here\napi_key: <your-api-key>\nsecret: REPLACE_ME\n",
]
JSON = [
    "{\"id\": \"{uuid}\", \"type\": \"{id}\", \"count\": {n}, \"url\": \"{url}\"}\n",
    "{\"password\": \"\", \"token\": null, \"remember\": true}\n",
    "{\"commit\": \"{sha}\", \"tree\": \"{sha}\", \"author\": \"dev@example.com\"}\n",
    "{\"checksum\": \"{sha256}\", \"size\": {n}}\n",
    "{\"data\": \"{b64}\", \"encoding\": \"base64\"}\n",
    "{\"tokens\": {n}, \"max_tokens\": 4096, \"model\": \"example-small\"}\n",
]
INI = [
    "[database]\nhost = localhost\nuser = app\npassword = password\n",
    "DB_PASSWORD=changeme\nSECRET_KEY=dev\nDEBUG=true\n",
    "# {prose}\nAPI_KEY=\nTOKEN=\n",
    "session_secret = ${SESSION_SECRET}\npassword = %(db_password)s\n",
]
RUST = [
    "pub fn {id}(token: &str) -> Result<Claims, AuthError> {\n    let key = DecodingKey::from_secret(secret.as_ref());\n    decode::<Claims>(token, &key, &Validation::default()).map_err(AuthError::from)\n}\n",
    "let password_hash = argon2.hash_password(password.as_bytes(), &salt)?.to_string();\n",
    "    let api_key = std::env::var(\"API_KEY\").expect(\"API_KEY must be set\");\n",
]
JAVA = [
    "    @Value(\"${app.jwt.secret}\")\n    private String jwtSecret;\n",
    "    String token = request.getHeader(\"Authorization\");\n    if (token != null && token.startsWith(\"Bearer \")) {\n        token = token.substring(7);\n    }\n",
    "    private static final String TOKEN_PREFIX = \"Bearer \";\n    private static final long TOKEN_VALIDITY_MS = {n}L;\n",
]
DOCS = [
    "Pass the header `Authorization: Bearer <token>` with every request.\n",
    "Run `curl -u user:password {url}` to try it locally.\n",
    "Set `OPENAI_API_KEY` in your shell before running the examples.\n",
    "| key | type | default |\n|-----|------|---------|\n| token_ttl | int | 3600 |\n| password_min_length | int | 12 |\n",
    "The response contains `access_token`, `token_type` and `expires_in`.\n",
    "Example: `postgres://localhost/{id}` or `redis://cache:6379/0`.\n",
]
TERRAFORM = [
    "resource \"aws_secretsmanager_secret\" \"{id}\" {\n  name       = \"prod/{id}-password\"\n  kms_key_id = \"arn:aws:kms:us-east-1:{n}:key/{uuid}\"\n}\n",
    "  secret_arn = \"arn:aws:secretsmanager:eu-west-1:{n}:secret:prod/{id}-Ab12Cd\"\n",
    "variable \"db_password\" {\n  type      = string\n  sensitive = true\n}\n",
    "  password = var.db_password\n  token    = data.vault_generic_secret.{id}.data[\"token\"]\n",
]
COMPOSE = [
    "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: example\n      POSTGRES_USER: app\n",
    "  {id}:\n    build: .\n    ports:\n      - \"8080:8080\"\n    environment:\n      - API_KEY=${API_KEY}\n",
    "FROM python:3.12-slim\nENV PIP_NO_CACHE_DIR=1\nARG GITHUB_TOKEN\nRUN pip install -r requirements.txt\n",
    ".button { color: #1a2b3c; background: #fefefe; }\n",
    "very_long_identifier_name_for_the_token_refresh_interval_in_milliseconds = 30000\n",
    "primary_key_column_name_for_the_{id}_table = \"{id}_id\"\n",
]
LOG = [
    "2026-11-27T10:{n}Z INFO {id} request_id={uuid} status=200 path=/{id}\n",
    "commit {sha}\nAuthor: Dev Example <dev@example.com>\n\n    {prose}\n",
    "{sha256}  {id}.bin\n",
    "WARN token refresh failed for session {uuid}; retrying in {n} ms\n",
]


def write(name, templates, target_lines):
    lines = 0
    with open(os.path.join(OUT, name), "w") as f:
        while lines < target_lines:
            text = fill(rng.choice(templates))
            f.write(text + "\n")
            lines += text.count("\n") + 1


def write_prose(name, target_lines):
    lines = 0
    with open(os.path.join(OUT, name), "w") as f:
        while lines < target_lines:
            f.write(f"## {camel()} {ident().replace('_', ' ')}\n\n")
            for _ in range(rng.randint(2, 5)):
                f.write(" ".join(rng.choice(PROSE) for _ in range(rng.randint(1, 3))) + "\n")
            f.write(f"\nSee {url()} for details (commit {sha1()[:12]}).\n\n")
            lines += 12


os.makedirs(OUT, exist_ok=True)
write("code_c.txt", C, 1800)
write("code_python.txt", PY, 1800)
write("code_js.txt", JS, 1500)
write("code_go.txt", GO, 1500)
write("shell.txt", SH, 900)
write("config_yaml.txt", YAML, 1200)
write("data_json.txt", JSON, 900)
write("config_ini.txt", INI, 700)
write("logs.txt", LOG, 1000)
write("code_rust_java.txt", RUST + JAVA, 900)
write("docs_and_compose.txt", DOCS + COMPOSE, 900)
write("terraform.txt", TERRAFORM, 600)
write_prose("prose.md", 1200)
