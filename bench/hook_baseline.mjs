// hook_baseline.mjs - the Node.js hook bench_hook compares mnemo's against: it reads Claude
// Code's UserPromptSubmit JSON on stdin, makes the same one request mnemo's hook makes
// (POST /v1/hooks/user-prompt-submit over the worker's Unix socket) and prints the same
// additionalContext output. Only node's standard library, as a minimal real hook would.
import http from "node:http";

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  let ev = {};
  try {
    ev = JSON.parse(input);
  } catch {
    process.exit(0);
  }
  const body = JSON.stringify({
    agent: "claude",
    session_id: ev.session_id,
    cwd: ev.cwd,
    prompt: ev.prompt,
    ...(process.env.MNEMO_PROJECT ? { project: process.env.MNEMO_PROJECT } : {}),
  });
  const req = http.request(
    {
      socketPath: `${process.env.MNEMO_HOME}/mnemo.sock`,
      path: "/v1/hooks/user-prompt-submit",
      method: "POST",
      headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
      timeout: 1000,
    },
    (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (data += c));
      res.on("end", () => {
        try {
          const ctx = JSON.parse(data).context;
          if (ctx)
            process.stdout.write(JSON.stringify({
              hookSpecificOutput: { hookEventName: "UserPromptSubmit", additionalContext: ctx },
            }));
        } catch {}
        process.exit(0);
      });
    },
  );
  req.on("error", () => process.exit(0));
  req.on("timeout", () => { req.destroy(); process.exit(0); });
  req.end(body);
});
