// e2e.mjs - mnemo end to end with the real Claude Code CLI (@anthropic-ai/claude-code, pinned in
// package-lock.json) talking to a scripted fake Anthropic API (fake_anthropic.mjs) on loopback.
//
// It does what a user does, in a throwaway HOME: start the worker (`mnemo start`), run
// `mnemo install claude --user`, then work with Claude Code in print mode in a git project:
//   1. session 1: the model writes deploy-notes.md with the Write tool; the PostToolUse hook
//      captures it and the worker's rules extractor turns it into an observation;
//   2. session 2: the model's first request must carry mnemo's session-start index
//      (<mnemo-context>) and the prompt's memories (<mnemo-memory>) naming deploy-notes.md; the
//      model then calls mnemo's MCP `search` tool, whose result must name the file too (and
//      whose own PostToolUse is not captured);
//   3. `claude mcp list` shows mnemo connected;
//   4. with the project named in the config key ignore_projects, a session gets no context and
//      leaves nothing behind;
//   5. `mnemo uninstall claude --user` restores the user's settings and `claude mcp list` no
//      longer shows mnemo;
//   6. the same install and uninstall with CLAUDE_CONFIG_DIR set: Claude Code reads them there;
//   7. with the worker stopped, the plugin folder (E2E_PLUGIN_DIR, loaded with --plugin-dir):
//      its first hook starts the worker, and capture and recall work as in 1 and 2.
// Every step has a timeout; on failure it prints the worker log, the hook log, the fake API's
// request log and the CLI's output, and exits 1. "E2E OK" on the last line means it passed.
//
// Environment: MNEMO_BIN (required, absolute), CLAUDE_BIN (default: the CLI installed next to
// this file by `npm ci`), E2E_PLUGIN_DIR (the plugin folder; step 7 is skipped without it),
// E2E_KEEP=1 keeps the temporary directory, E2E_VERBOSE=1 echoes every command and prints the
// context the model received. MNEMO_HOOK_TIMEOUT_MS, ASAN_OPTIONS and UBSAN_OPTIONS are passed on to every mnemo
// process (the ASan build's test sets them); sanitizer reports of any mnemo process (hooks and
// the MCP server included, whose stderr nobody reads) are written to files and fail the run.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describeRequests, startFakeAnthropic } from './fake_anthropic.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const VERBOSE = process.env.E2E_VERBOSE === '1';
const NOTES = 'deploy-notes.md';
const FACT = 'The staging database listens on port 6543 behind pgbouncer.';
const PLUGIN_NOTES = 'queue-notes.md';
const PLUGIN_FACT = 'The invoice queue retries a failed charge three times, an hour apart.';

// Deadlines: generous for a loaded CI machine running the ASan build, but a hang still ends.
const CMD_MS = 30000;
const CLAUDE_MS = 120000;
const DRAIN_MS = 60000;

class Failure extends Error {}

function fail(msg) {
    throw new Failure(msg);
}

function check(cond, msg) {
    if (!cond) fail(msg);
}

/**
 * Runs file with args; resolves {code, signal, stdout, stderr, ms}. The child gets its own
 * process group so a timeout kills whatever it started too (code is then 'timeout').
 */
function run(file, args, { cwd, env, timeoutMs = CMD_MS, input } = {}) {
    if (VERBOSE) console.log(`$ ${[file, ...args].join(' ')}  (cwd ${cwd ?? process.cwd()})`);
    return new Promise((resolve) => {
        const t0 = Date.now();
        const child = spawn(file, args, { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        let timedOut = false;
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.stdin.on('error', () => {});
        child.stdin.end(input ?? '');
        const timer = setTimeout(() => {
            timedOut = true;
            try {
                process.kill(-child.pid, 'SIGKILL');
            } catch {}
        }, timeoutMs);
        const done = (code, signal) => {
            clearTimeout(timer);
            resolve({ code: timedOut ? 'timeout' : code, signal, stdout, stderr, ms: Date.now() - t0 });
        };
        child.on('error', (e) => {
            stderr += String(e);
            done(-1, null);
        });
        child.on('close', done);
    });
}

function show(r) {
    return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''} after ${r.ms} ms\n` +
        `--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
}

// GET/POST on the worker's Unix socket; resolves {status, json}.
function workerCall(sock, method, urlPath, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
        const req = http.request({ socketPath: sock, method, path: urlPath, timeout: timeoutMs }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => {
                try {
                    resolve({ status: res.statusCode, json: JSON.parse(body) });
                } catch {
                    resolve({ status: res.statusCode, json: null, text: body });
                }
            });
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timed out`)));
        req.on('error', reject);
        req.end();
    });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value or timeoutMs passes (then fails with what).
async function waitFor(what, timeoutMs, fn) {
    const end = Date.now() + timeoutMs;
    let last;
    for (;;) {
        try {
            last = await fn();
            if (last) return last;
        } catch (e) {
            last = e;
        }
        if (Date.now() > end) fail(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
        await sleep(100);
    }
}

function readOr(file, fallback = '(missing)') {
    try {
        return fs.readFileSync(file, 'utf8');
    } catch {
        return fallback;
    }
}

// The native CLI binary installed by npm; the postinstall copies it over a small stub.
function findClaude() {
    if (process.env.CLAUDE_BIN) return process.env.CLAUDE_BIN;
    const pkg = path.join(HERE, 'node_modules', '@anthropic-ai', 'claude-code');
    const exe = path.join(pkg, 'bin', 'claude.exe');
    if (fs.existsSync(exe) && fs.statSync(exe).size > 1024 * 1024) return exe;
    // Install scripts not run (npm --ignore-scripts): the platform package holds the binary.
    const plat = path.join(HERE, 'node_modules', '@anthropic-ai',
        `claude-code-${process.platform}-${process.arch}`, 'claude');
    if (fs.existsSync(plat)) return plat;
    fail(`no Claude Code binary in ${pkg} (run npm ci in ${HERE}, or set CLAUDE_BIN)`);
}

// The system prompt and every message of a Messages request, as one string to search.
function requestText(body) {
    return JSON.stringify({ system: body?.system, messages: body?.messages });
}

function lastIsToolResult(body) {
    const last = body?.messages?.at(-1);
    return Array.isArray(last?.content) && last.content.some((c) => c.type === 'tool_result');
}

function toolResultText(body) {
    const last = body?.messages?.at(-1);
    const r = (last?.content ?? []).find((c) => c.type === 'tool_result');
    if (!r) return '';
    return typeof r.content === 'string' ? r.content : JSON.stringify(r.content);
}

// The first user turn's text: where a print-mode prompt lands.
function promptOf(body) {
    const first = body?.messages?.find((m) => m.role === 'user');
    if (!first) return '';
    return typeof first.content === 'string' ? first.content : JSON.stringify(first.content);
}

async function main() {
    const mnemo = process.env.MNEMO_BIN;
    check(mnemo && path.isAbsolute(mnemo) && fs.existsSync(mnemo), `MNEMO_BIN must name the mnemo binary (got '${mnemo}')`);
    const claude = findClaude();
    const pluginDir = process.env.E2E_PLUGIN_DIR;

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnemo-cc-'));
    const home = path.join(tmp, 'home');
    const mnemoHome = path.join(home, '.mnemo'); // the default for this HOME: not set anywhere
    const sock = path.join(mnemoHome, 'mnemo.sock');
    const proj = path.join(home, 'src', 'billing-api');
    const proj2 = path.join(home, 'src', 'invoice-queue');
    const sanDir = path.join(tmp, 'sanitizer');
    fs.mkdirSync(proj, { recursive: true, mode: 0o700 });
    fs.mkdirSync(proj2, { recursive: true, mode: 0o700 });
    fs.mkdirSync(sanDir);

    // A clean environment: nothing of the developer's Claude Code, Anthropic or mnemo setup
    // (a run inside a Claude Code session would otherwise pass CLAUDECODE and friends on).
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (/^(CLAUDE|ANTHROPIC_|MNEMO_|XDG_CONFIG_HOME$)/.test(k)) continue;
        env[k] = v;
    }
    Object.assign(env, {
        HOME: home,
        // Never the developer's dashboard port: the socket is all the test needs.
        MNEMO_TCP_LISTEN: 'off',
        DISABLE_TELEMETRY: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_ERROR_REPORTING: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        ANTHROPIC_API_KEY: 'dummy-e2e-key',
        // As root, --dangerously-skip-permissions is refused outside a declared sandbox.
        IS_SANDBOX: '1',
        GIT_CONFIG_NOSYSTEM: '1',
    });
    if (process.env.MNEMO_HOOK_TIMEOUT_MS) env.MNEMO_HOOK_TIMEOUT_MS = process.env.MNEMO_HOOK_TIMEOUT_MS;
    if (process.env.ASAN_OPTIONS) env.ASAN_OPTIONS = `${process.env.ASAN_OPTIONS}:log_path=${sanDir}/asan`;
    if (process.env.UBSAN_OPTIONS) env.UBSAN_OPTIONS = `${process.env.UBSAN_OPTIONS}:log_path=${sanDir}/ubsan`;

    // The model, scripted per session by the marker that starts the prompt: one tool call, then
    // a final text once the tool's result is back.
    const write = (dir, file, fact) => ({ name: 'Write', input: { file_path: path.join(dir, file), content: `# Notes\n\n${fact}\n` } });
    const scripts = {
        'E2E-S1': { tool: write(proj, NOTES, FACT), answer: `Wrote ${NOTES} with the staging database port.` },
        'E2E-S2': { tool: { name: 'mcp__mnemo__search', input: { query: 'staging database port' } }, answer: 'The staging database listens on port 6543.' },
        'E2E-S3': { tool: write(proj, NOTES, FACT), answer: `Wrote ${NOTES} again.` },
        'E2E-P1': { tool: write(proj2, PLUGIN_NOTES, PLUGIN_FACT), answer: `Wrote ${PLUGIN_NOTES}.` },
        'E2E-P2': { tool: { name: 'mcp__plugin_mnemo_mnemo__search', input: { query: 'invoice queue retries' } }, answer: 'Three retries, an hour apart.' },
    };
    const seen = Object.fromEntries(Object.keys(scripts).map((k) => [k, []]));
    seen.other = [];
    const respond = (body) => {
        const prompt = promptOf(body);
        const marker = Object.keys(scripts).find((m) => prompt.includes(`${m}:`));
        if (marker === undefined) {
            // Anything else the CLI asks (a title, a summary, a quota probe): a short answer.
            seen.other.push(body);
            return { content: [{ type: 'text', text: 'OK.' }] };
        }
        seen[marker].push(body);
        const sc = scripts[marker];
        if (lastIsToolResult(body)) return { content: [{ type: 'text', text: sc.answer }] };
        return { content: [{ type: 'text', text: `Using ${sc.tool.name}.` }, { type: 'tool_use', ...sc.tool }] };
    };
    const api = await startFakeAnthropic({ respond });
    env.ANTHROPIC_BASE_URL = api.url;

    const outputs = [];
    const mn = async (args, opts = {}) => {
        const r = await run(mnemo, args, { cwd: proj, env, ...opts });
        outputs.push([`mnemo ${args.join(' ')}`, r]);
        return r;
    };
    const cl = async (args, opts = {}) => {
        const r = await run(claude, args, { cwd: proj, env, timeoutMs: CLAUDE_MS, ...opts });
        outputs.push([`claude ${args.join(' ')}`, r]);
        return r;
    };
    const stats = async () => (await workerCall(sock, 'GET', '/v1/stats')).json;
    const steps = [];
    const step = async (name, fn) => {
        const t0 = Date.now();
        await fn();
        steps.push(`${name} ${Date.now() - t0} ms`);
        console.log(`ok - ${name} (${Date.now() - t0} ms)`);
    };

    // One print-mode session of marker's script in dir; checks that the model's tool ran.
    const session = async (marker, prompt, dir, extra = [], extraEnv = {}) => {
        const r = await cl(['-p', `${marker}: ${prompt}`, '--dangerously-skip-permissions', ...extra],
            { cwd: dir, env: { ...env, ...extraEnv } });
        check(r.code === 0, `claude ${marker}: ${show(r)}`);
        check(seen[marker].some(lastIsToolResult),
            `${marker}: the CLI did not send the tool's result back (requests: ${seen[marker].length}): ${show(r)}`);
        check(r.stdout.includes(scripts[marker].answer), `${marker} did not end with the scripted answer: ${show(r)}`);
        return r;
    };
    // Waits until the worker has done every event of `events` more than `before` appended.
    const drained = async (before, events) => {
        await waitFor('the capture queue to drain', DRAIN_MS, async () => {
            const s = await stats();
            return s && s.events_appended >= before.events_appended + events && s.queue?.pending === 0;
        });
        const s = await stats();
        check(s.queue?.failed === 0 && s.capture?.dead_lettered === 0,
            `capture failed: ${JSON.stringify({ queue: s.queue, capture: s.capture })}`);
    };
    // The checks of a session that should find file in mnemo's memory: the first request
    // carries both blocks naming it, and the MCP tool's answer names it.
    const recalled = (marker, file) => {
        const first = requestText(seen[marker][0]);
        const ctx = first.match(/<mnemo-context>[\s\S]*?<\/mnemo-context>/);
        check(ctx, `${marker}'s first request holds no <mnemo-context> (SessionStart) block`);
        check(ctx[0].includes(file), `the session-start index does not name ${file}: ${ctx[0]}`);
        const mem = first.match(/<mnemo-memory>[\s\S]*?<\/mnemo-memory>/);
        check(mem, `${marker}'s first request holds no <mnemo-memory> (UserPromptSubmit) block`);
        check(mem[0].includes(file), `the prompt's memories do not name ${file}: ${mem[0]}`);
        const tool = scripts[marker].tool.name;
        const prefix = tool.slice(0, -'search'.length);
        for (const t of ['search', 'timeline', 'get_observations', 'save_memory', 'memory_admin'])
            check(first.includes(`${prefix}${t}`), `the model was not told about mnemo's MCP tool ${prefix}${t}`);
        const result = toolResultText(seen[marker].find(lastIsToolResult));
        if (VERBOSE) console.log(`${ctx[0]}\n${mem[0]}\n${tool} -> ${result}`);
        check(result.includes(file), `${tool} answered without ${file}: ${result.slice(0, 2000)}`);
    };

    let ok = false;
    try {
        await step('git projects', async () => {
            for (const dir of [proj, proj2]) {
                for (const args of [['init', '-q'], ['config', 'user.email', 'e2e@example.invalid'], ['config', 'user.name', 'e2e']]) {
                    const r = await run('git', args, { cwd: dir, env });
                    check(r.code === 0, `git ${args.join(' ')}: ${show(r)}`);
                }
            }
        });

        // The user's own settings, which install must keep and uninstall give back.
        const settingsPath = path.join(home, '.claude', 'settings.json');
        const userHookLog = path.join(tmp, 'user-hook.log');
        const userSettings = JSON.stringify({
            env: { E2E_USER_SETTING: 'kept' },
            hooks: {
                Stop: [{ hooks: [{ type: 'command', command: `echo user-stop-hook >> '${userHookLog}'` }] }],
            },
        }, null, 2) + '\n';
        fs.mkdirSync(path.dirname(settingsPath), { recursive: true, mode: 0o700 });
        fs.writeFileSync(settingsPath, userSettings);

        await step('mnemo start', async () => {
            const r = await mn(['start']);
            check(r.code === 0, `mnemo start: ${show(r)}`);
            await waitFor('the worker to be ready', CMD_MS, async () => {
                const h = await workerCall(sock, 'GET', '/v1/health');
                return h.status === 200 && h.json?.ready === true;
            });
        });

        await step('mnemo install claude --user', async () => {
            const r = await mn(['install', 'claude', '--user']);
            check(r.code === 0, `install: ${show(r)}`);
            const settings = JSON.parse(fs.readFileSync(settingsPath, 'utf8'));
            check(settings.env?.E2E_USER_SETTING === 'kept', `install dropped the user's env: ${JSON.stringify(settings)}`);
            for (const ev of ['SessionStart', 'UserPromptSubmit', 'PostToolUse', 'Stop', 'SessionEnd']) {
                const cmds = (settings.hooks?.[ev] ?? []).flatMap((g) => g.hooks ?? []).map((h) => h.command);
                check(cmds.some((c) => c.includes(mnemo) && c.includes(' hook ')),
                    `settings.json has no mnemo ${ev} hook running ${mnemo}: ${JSON.stringify(settings.hooks?.[ev])}`);
            }
            check((settings.hooks?.Stop ?? []).flatMap((g) => g.hooks).some((h) => h.command.includes('user-stop-hook')),
                `install dropped the user's Stop hook: ${JSON.stringify(settings.hooks?.Stop)}`);
            const cj = JSON.parse(fs.readFileSync(path.join(home, '.claude.json'), 'utf8'));
            const srv = cj.mcpServers?.mnemo;
            check(srv?.command === mnemo && JSON.stringify(srv.args) === '["mcp"]',
                `~/.claude.json mcpServers.mnemo is not '${mnemo} mcp': ${JSON.stringify(srv)}`);
        });

        await step('session 1: a Write tool call is captured', async () => {
            const before = await stats();
            await session('E2E-S1', `write our deploy notes (staging database port) to ${NOTES}`, proj);
            check(readOr(path.join(proj, NOTES)).includes(FACT), `the Write tool did not write ${NOTES}`);
            check(readOr(userHookLog, '').includes('user-stop-hook'), "the user's own Stop hook did not run next to mnemo's");
            // PostToolUse, Stop and SessionEnd.
            await drained(before, 3);
            const r = await mn(['search', 'staging database port', '--json']);
            check(r.code === 0, `mnemo search: ${show(r)}`);
            const hits = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
            check(hits.some((h) => h.title?.includes(NOTES)), `no observation names ${NOTES}: ${r.stdout}`);
            // The session itself: one prompt, ended by the SessionEnd hook.
            const sessions = (await workerCall(sock, 'GET', '/v1/sessions?limit=10')).json?.sessions ?? [];
            const s1 = sessions.find((s) => s.agent === 'claude' && s.cwd === proj);
            check(s1 && s1.status === 'completed' && s1.prompt_count === 1,
                `session 1 is not recorded as one completed prompt: ${JSON.stringify(sessions)}`);
        });

        await step('session 2: the memory reaches the model; the MCP search tool answers', async () => {
            const before = await stats();
            await session('E2E-S2', 'which port does the staging database use?', proj);
            recalled('E2E-S2', NOTES);
            // Stop and SessionEnd only: the call of mnemo's own tool is not captured (its answer
            // is memories already stored), and it came before Stop, so it would be in by now.
            await drained(before, 2);
            const after = await stats();
            check(after.events_appended === before.events_appended + 2,
                `session 2 appended ${after.events_appended - before.events_appended} events, not 2 (Stop, SessionEnd)`);
        });

        await step('claude mcp list: mnemo connected', async () => {
            const r = await cl(['mcp', 'list'], { timeoutMs: 60000 });
            check(r.code === 0, `claude mcp list: ${show(r)}`);
            check(/^mnemo: .*mcp.* - [✓✔] Connected\s*$/m.test(r.stdout), `mnemo is not connected: ${show(r)}`);
        });

        await step('ignore_projects: a listed project gets no context and nothing is captured', async () => {
            const before = await stats();
            const r = await mn(['config', 'set', 'ignore_projects', path.basename(proj)]);
            check(r.code === 0, `mnemo config set: ${show(r)}`);
            await session('E2E-S3', 'write the notes again', proj);
            const text = seen['E2E-S3'].map(requestText).join('\n');
            check(!text.includes('<mnemo-context>') && !text.includes('<mnemo-memory>'),
                'an ignored project still got mnemo context');
            await sleep(500); // a hook that wrongly went ahead would have appended by now
            const after = await stats();
            const counts = (s) => [s.events_appended, s.sessions, s.prompts];
            check(JSON.stringify(counts(after)) === JSON.stringify(counts(before)),
                `an ignored project was captured (events, sessions, prompts): ${counts(before)} -> ${counts(after)}`);
            const u = await mn(['config', 'set', 'ignore_projects', '']);
            check(u.code === 0, `mnemo config set: ${show(u)}`);
        });

        await step('mnemo uninstall claude --user', async () => {
            const r = await mn(['uninstall', 'claude', '--user']);
            check(r.code === 0, `uninstall: ${show(r)}`);
            const now = readOr(settingsPath);
            check(now === userSettings, `settings.json is not the user's again:\n${now}\n(expected)\n${userSettings}`);
            const cj = JSON.parse(readOr(path.join(home, '.claude.json'), '{}'));
            check(cj.mcpServers?.mnemo === undefined, `~/.claude.json still has mnemo: ${JSON.stringify(cj.mcpServers)}`);
            const l = await cl(['mcp', 'list'], { timeoutMs: 60000 });
            check(!/^mnemo:/m.test(l.stdout), `claude mcp list still shows mnemo: ${show(l)}`);
        });

        await step('CLAUDE_CONFIG_DIR: install and uninstall follow the moved configuration', async () => {
            const cfg = path.join(tmp, 'claude-config');
            const cenv = { ...env, CLAUDE_CONFIG_DIR: cfg };
            const r = await mn(['install', 'claude', '--user'], { env: cenv });
            check(r.code === 0, `install with CLAUDE_CONFIG_DIR: ${show(r)}`);
            check(fs.existsSync(path.join(cfg, 'settings.json')) && fs.existsSync(path.join(cfg, '.claude.json')),
                `install did not write into CLAUDE_CONFIG_DIR: ${show(r)}`);
            const l = await cl(['mcp', 'list'], { env: cenv, timeoutMs: 60000 });
            check(/^mnemo: .*mcp.* - [✓✔] Connected\s*$/m.test(l.stdout), `mnemo is not connected: ${show(l)}`);
            const u = await mn(['uninstall', 'claude', '--user'], { env: cenv });
            check(u.code === 0, `uninstall with CLAUDE_CONFIG_DIR: ${show(u)}`);
            check(!fs.existsSync(path.join(cfg, 'settings.json')), `uninstall left ${cfg}/settings.json: ${show(u)}`);
            const cj = JSON.parse(readOr(path.join(cfg, '.claude.json'), '{}'));
            check(cj.mcpServers?.mnemo === undefined, `${cfg}/.claude.json still has mnemo`);
        });

        // The plugin folder instead of install: its hooks and MCP server find the binary
        // through bin/mnemo-exec ($MNEMO_BIN here, as nothing is installed). No worker runs:
        // the first hook starts one, which must be up before the session's tool call.
        if (pluginDir) {
            await step('plugin (--plugin-dir), worker started by a hook: captured, recalled, MCP tool answers', async () => {
                const r = await mn(['stop']);
                check(r.code === 0, `mnemo stop: ${show(r)}`);
                check(!fs.existsSync(sock) || !(await workerCall(sock, 'GET', '/v1/health').catch(() => null)),
                    'the worker still answers after mnemo stop');
                const plug = ['--plugin-dir', pluginDir];
                const penv = { MNEMO_BIN: mnemo };
                const before = { events_appended: 0 }; // a new worker counts from 0
                await session('E2E-P1', `note how the invoice queue retries in ${PLUGIN_NOTES}`, proj2, plug, penv);
                check(readOr(path.join(mnemoHome, 'logs', 'hooks.log'), '').includes('autostart: launched'),
                    'no hook started the worker');
                check(readOr(path.join(proj2, PLUGIN_NOTES)).includes(PLUGIN_FACT), `the Write tool did not write ${PLUGIN_NOTES}`);
                await drained(before, 3);
                await session('E2E-P2', 'how often does the invoice queue retry?', proj2, plug, penv);
                recalled('E2E-P2', PLUGIN_NOTES);
            });
        } else {
            console.log('skip - plugin (--plugin-dir): E2E_PLUGIN_DIR is not set');
        }

        await step('no sanitizer reports, no hook failures', async () => {
            const reports = fs.readdirSync(sanDir);
            check(reports.length === 0, `sanitizer reports:\n${reports.map((f) => readOr(path.join(sanDir, f))).join('\n')}`);
            // The hook that started the worker could not also use it: that one line is expected.
            const lines = readOr(path.join(mnemoHome, 'logs', 'hooks.log'), '').split('\n');
            const starters = lines.filter((l) => l.includes('autostart: launched')).map((l) => l.match(/ pid=\d+ /)?.[0]);
            const warn = lines.filter((l) => l.includes('level=warn') &&
                !(l.includes('rc=MNEMO_ECLOSED') && starters.includes(l.match(/ pid=\d+ /)?.[0])));
            check(warn.length === 0, `hooks failed:\n${warn.join('\n')}`);
            check(api.unexpected.length === 0, `unexpected API requests:\n${describeRequests(api.unexpected)}`);
        });
        ok = true;
    } catch (e) {
        console.log(`not ok - ${e instanceof Failure ? e.message : e?.stack ?? e}`);
    } finally {
        await mn(['stop']).catch(() => {});
        await api.close();
    }

    if (!ok) {
        const logs = path.join(mnemoHome, 'logs');
        if (!fs.existsSync(path.join(logs, 'hooks.log'))) console.log('==== hooks.log: none (no hook failed)');
        for (const f of fs.existsSync(logs) ? fs.readdirSync(logs) : []) {
            console.log(`==== ${path.join(logs, f)} (last 60 lines)`);
            console.log(readOr(path.join(logs, f)).split('\n').slice(-60).join('\n'));
        }
        console.log(`==== fake Anthropic API requests\n${describeRequests(api.requests)}`);
        for (const [cmd, r] of outputs.slice(-6)) console.log(`==== ${cmd}: ${show(r)}`);
        for (const f of fs.existsSync(sanDir) ? fs.readdirSync(sanDir) : []) console.log(`==== ${f}\n${readOr(path.join(sanDir, f))}`);
        console.log(`(temporary directory ${tmp}${process.env.E2E_KEEP === '1' ? ' kept' : ''})`);
    }
    if (process.env.E2E_KEEP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
    if (!ok) process.exit(1);
    console.log(`E2E OK: ${steps.join('; ')}`);
}

main().catch((e) => {
    console.log(`not ok - ${e?.stack ?? e}`);
    process.exit(1);
});
