// client.mjs - drives `mnemo mcp` with the official MCP TypeScript SDK client: connects over
// stdio (legacy initialize handshake, as Claude Code does), lists the tools and calls every one,
// printing each result as one JSON line. Exits 0 when every check passed, 1 otherwise.
// Environment: MNEMO_BIN (the mnemo binary), MNEMO_HOME (whose worker must be running).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const bin = process.env.MNEMO_BIN;
if (!bin || !process.env.MNEMO_HOME) {
  console.error("client.mjs: MNEMO_BIN and MNEMO_HOME must be set");
  process.exit(2);
}

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

function text(result) {
  return result.content.map((c) => c.text).join("\n");
}

function show(tool, result) {
  console.log(JSON.stringify({ tool, isError: result.isError === true, text: text(result),
                               structuredContent: result.structuredContent ?? null }));
}

async function main() {
  const transport = new StdioClientTransport({
    command: bin,
    args: ["mcp", "--project", "sdk_proj"],
    env: { ...process.env },
    stderr: "inherit",
  });
  const client = new Client({ name: "mnemo-sdk-test", version: "1.0.0" });
  await client.connect(transport);

  const info = client.getServerVersion();
  check(info && info.name === "mnemo", `serverInfo.name is mnemo (got ${JSON.stringify(info)})`);
  check(client.getServerCapabilities()?.tools !== undefined, "the server has the tools capability");
  console.log(JSON.stringify({ server: info, instructions: client.getInstructions() ?? null }));

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  console.log(JSON.stringify({ tools: names }));
  check(JSON.stringify(names) ===
        JSON.stringify(["search", "timeline", "get_observations", "save_memory", "memory_admin"]),
        `the five tools in order (got ${names})`);
  for (const t of tools) {
    check(t.inputSchema?.type === "object", `${t.name} has an object inputSchema`);
    check(t.annotations?.openWorldHint === false, `${t.name} says openWorldHint false`);
  }

  const calls = [];
  async function call(name, args, { error = false } = {}) {
    const r = await client.callTool({ name, arguments: args });
    show(name, r);
    check((r.isError === true) === error, `${name} ${error ? "fails" : "succeeds"}: ${text(r)}`);
    calls.push(name);
    return r;
  }

  const saved = await call("save_memory", {
    title: "pelican: the cache key includes the tenant id",
    narrative: "without it two tenants shared cached invoices",
    type: "bugfix",
    concepts: ["gotcha", "security"],
    files: ["src/cache/key.c"],
  });
  const id = saved.structuredContent.id;
  check(Number.isInteger(id) && id > 0, "save_memory returns an id");
  await call("save_memory", { title: "albatross: nightly job moved to 02:00 UTC", type: "change" });

  const found = await call("search", { query: "cache key tenant", limit: 5 });
  check(text(found).includes(`#${id} [bugfix] pelican`), "search lists the saved memory");

  const tl = await call("timeline", { anchor: id, depth_before: 2, depth_after: 2 });
  check(text(tl).includes(`> #${id} [`), "timeline marks the anchor");

  const got = await call("get_observations", { ids: [id] });
  check(got.structuredContent.observations[0].id === id, "get_observations returns the record");
  check(got.structuredContent.observations[0].provenance === "agent", "provenance is agent");

  for (const action of ["stats", "health", "checkpoint", "run_maintenance"]) {
    const r = await call("memory_admin", { action });
    check(typeof r.structuredContent === "object", `memory_admin ${action} answers an object`);
  }
  await call("timeline", { anchor: 987654321 }, { error: true });

  let unknown = null;
  try {
    await client.callTool({ name: "no_such_tool", arguments: {} });
  } catch (e) {
    unknown = e;
  }
  check(unknown && unknown.code === -32602, `an unknown tool is error -32602 (got ${unknown})`);

  await client.ping();
  await client.close();
  console.log(`OK ${calls.length} calls, ${new Set(calls).size} tools`);
}

main().catch((e) => {
  console.error(`client.mjs: ${e.stack || e}`);
  process.exit(1);
});
