// fake_anthropic.mjs - a small scripted stand-in for the Anthropic Messages API, on loopback.
//
// Claude Code 2.1.332 in print mode only calls streaming `POST /v1/messages?beta=true` when
// ANTHROPIC_BASE_URL points here (as observed, with DISABLE_TELEMETRY, DISABLE_AUTOUPDATER and
// CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC set), but this server also answers non-streaming calls
// and `POST /v1/messages/count_tokens`, so a newer CLI that makes them still gets sensible
// answers. Anything else is answered 404 in the API's error shape and recorded as unexpected.
//
// The test scripts the model: `respond(body, info)` gets every Messages request (parsed JSON)
// and returns the assistant turn as {content: [{type: "text", text} | {type: "tool_use", name,
// input, id?}], stop_reason?}. Every request is kept in `requests` (with the full body) so the
// test can look at exactly what the CLI sent.
//
// Usage from a test:
//   const api = await startFakeAnthropic({respond});   // api.url, api.requests, api.close()
// Standalone (manual debugging): `node fake_anthropic.mjs` answers every turn with text.

import http from 'node:http';
import { pathToFileURL } from 'node:url';

// Largest request body read (the CLI's system prompt plus tool schemas are a few hundred KB).
const BODY_MAX = 32 * 1024 * 1024;

let nextId = 1;
const newId = (prefix) => `${prefix}_e2e${String(nextId++).padStart(6, '0')}`;

// Rough token count for usage numbers: the CLI only displays them.
const tokensOf = (value) => Math.max(1, Math.ceil(JSON.stringify(value ?? '').length / 4));

// The assistant message the script returns, made whole: ids, stop reason, usage.
function completeTurn(body, turn) {
    const content = (turn?.content ?? [{ type: 'text', text: 'OK.' }]).map((b) =>
        b.type === 'tool_use'
            ? { type: 'tool_use', id: b.id ?? newId('toolu'), name: b.name, input: b.input ?? {} }
            : { type: 'text', text: String(b.text ?? '') });
    const stop = turn?.stop_reason ??
        (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
    return {
        id: newId('msg'),
        type: 'message',
        role: 'assistant',
        model: body?.model ?? 'claude-fake',
        content,
        stop_reason: stop,
        stop_sequence: null,
        usage: {
            input_tokens: tokensOf(body?.messages),
            output_tokens: tokensOf(content),
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
        },
    };
}

function sse(res, event, data) {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

// Streams msg as the API does: message_start, per block start/delta(s)/stop, message_delta,
// message_stop. Tool input goes out as input_json_delta pieces, text as text_delta pieces.
function streamTurn(res, msg) {
    res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'request-id': newId('req'),
    });
    sse(res, 'message_start', {
        type: 'message_start',
        message: { ...msg, content: [], stop_reason: null, usage: { ...msg.usage, output_tokens: 1 } },
    });
    msg.content.forEach((b, index) => {
        if (b.type === 'tool_use') {
            sse(res, 'content_block_start', {
                type: 'content_block_start',
                index,
                content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} },
            });
            const json = JSON.stringify(b.input);
            const half = Math.ceil(json.length / 2);
            for (const part of [json.slice(0, half), json.slice(half)]) {
                if (part.length > 0) {
                    sse(res, 'content_block_delta', {
                        type: 'content_block_delta',
                        index,
                        delta: { type: 'input_json_delta', partial_json: part },
                    });
                }
            }
        } else {
            sse(res, 'content_block_start', {
                type: 'content_block_start',
                index,
                content_block: { type: 'text', text: '' },
            });
            const words = b.text.match(/\S+\s*|\s+/g) ?? [''];
            for (let i = 0; i < words.length; i += 8) {
                sse(res, 'content_block_delta', {
                    type: 'content_block_delta',
                    index,
                    delta: { type: 'text_delta', text: words.slice(i, i + 8).join('') },
                });
            }
        }
        sse(res, 'content_block_stop', { type: 'content_block_stop', index });
    });
    sse(res, 'message_delta', {
        type: 'message_delta',
        delta: { stop_reason: msg.stop_reason, stop_sequence: null },
        usage: { output_tokens: msg.usage.output_tokens },
    });
    sse(res, 'message_stop', { type: 'message_stop' });
    res.end();
}

function sendJson(res, status, value) {
    const text = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req') });
    res.end(text);
}

function apiError(res, status, type, message) {
    sendJson(res, status, { type: 'error', error: { type, message } });
}

function readBody(req) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        let size = 0;
        req.on('data', (c) => {
            size += c.length;
            if (size > BODY_MAX) {
                reject(new Error(`request body over ${BODY_MAX} bytes`));
                req.destroy();
                return;
            }
            chunks.push(c);
        });
        req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        req.on('error', reject);
    });
}

/**
 * Starts the server on 127.0.0.1 and a free port. respond(body, {index}) scripts the model; it
 * may throw, which answers 500 (recorded) so a broken script shows up in the CLI's output.
 * Resolves to {url, port, requests, unexpected, close}.
 */
export async function startFakeAnthropic({ respond }) {
    const requests = [];
    const unexpected = [];
    const server = http.createServer(async (req, res) => {
        const rec = {
            at: new Date().toISOString(),
            method: req.method,
            url: req.url,
            headers: {
                'anthropic-beta': req.headers['anthropic-beta'],
                'anthropic-version': req.headers['anthropic-version'],
                'user-agent': req.headers['user-agent'],
            },
            body: null,
            reply: null,
        };
        requests.push(rec);
        try {
            const raw = await readBody(req);
            const path = (req.url ?? '').split('?')[0];
            if (raw.length > 0) {
                try {
                    rec.body = JSON.parse(raw);
                } catch {
                    rec.body = raw;
                }
            }
            if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
                rec.reply = 'count_tokens';
                sendJson(res, 200, { input_tokens: tokensOf(rec.body?.messages) });
                return;
            }
            if (req.method === 'POST' && path === '/v1/messages' && typeof rec.body === 'object') {
                const turn = completeTurn(rec.body, await respond(rec.body, { index: requests.length - 1 }));
                rec.reply = turn;
                if (rec.body.stream) streamTurn(res, turn);
                else sendJson(res, 200, turn);
                return;
            }
            unexpected.push(rec);
            rec.reply = '404';
            apiError(res, 404, 'not_found_error', `fake API: no route for ${req.method} ${req.url}`);
        } catch (e) {
            rec.reply = `500: ${e?.stack ?? e}`;
            unexpected.push(rec);
            if (!res.headersSent) apiError(res, 500, 'api_error', `fake API: ${e?.message ?? e}`);
            else res.end();
        }
    });
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address();
    return {
        port,
        url: `http://127.0.0.1:${port}`,
        requests,
        unexpected,
        close: () =>
            new Promise((resolve) => {
                server.closeAllConnections?.();
                server.close(() => resolve());
            }),
    };
}

/** One line per request, for failure reports: method, url, model, messages, what was answered. */
export function describeRequests(requests) {
    return requests
        .map((r, i) => {
            const b = typeof r.body === 'object' && r.body !== null ? r.body : {};
            const reply = typeof r.reply === 'object' && r.reply !== null
                ? r.reply.content.map((c) => (c.type === 'tool_use' ? `tool_use ${c.name}` : 'text')).join('+')
                : r.reply;
            return `#${i} ${r.at} ${r.method} ${r.url} model=${b.model ?? '-'} stream=${!!b.stream} ` +
                `messages=${b.messages?.length ?? 0} tools=${b.tools?.length ?? 0} -> ${reply}`;
        })
        .join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
    const api = await startFakeAnthropic({
        respond: () => ({ content: [{ type: 'text', text: 'Hello from the fake Anthropic API.' }] }),
    });
    console.log(`fake Anthropic API on ${api.url} (Ctrl-C stops it)`);
    process.on('SIGINT', async () => {
        console.log(describeRequests(api.requests));
        await api.close();
        process.exit(0);
    });
}
