/**
 * The dashboard server's contract: a taken port moves to the next free one
 * (and init says so), `init()` prints the address, `includeDashboard: false`
 * starts none, a token guards a dashboard bound beyond loopback, the JSON
 * API validates its query, and server-sent events stream status and logs.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { DashboardServer, type LiveFeed } from "../../src/dashboard/server.js";
import type { StateSource } from "../../src/dashboard/state-source.js";
import * as ray from "../../src/index.js";
import { state as threadState } from "../../src/core/runtime/global-state.js";
import { DriverRuntime } from "../../src/core/runtime/runtime.js";

function occupy(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error("no port"));
        return;
      }
      resolve({ server, port: address.port });
    });
  });
}

function observation() {
  const backend = threadState.backend;
  assert.ok(backend instanceof DriverRuntime);
  return backend.observation;
}

test("a taken port moves the dashboard to the next free one", { timeout: 60_000 }, async () => {
  const { server, port } = await occupy();
  try {
    await ray.init({ numCpus: 1, dashboardPort: port });
    const url = observation()?.dashboardUrl;
    assert.ok(url !== undefined);
    const used = Number(new URL(url).port);
    assert.ok(used > port, `expected a port after ${port}, got ${used}`);
    const status = (await (await fetch(`${url}/api/status`)).json()) as ray.ClusterStatus;
    assert.equal(status.nodes[0]?.cpus, 1);
  } finally {
    await ray.shutdown();
    server.close();
  }
});

test("includeDashboard: false serves nothing but keeps ray.state; recordState: false turns it off", { timeout: 60_000 }, async () => {
  await ray.init({ numCpus: 1, includeDashboard: false });
  try {
    assert.equal(observation()?.dashboardUrl, undefined);
    const ping = ray.remote(() => "pong", { name: "ping" });
    await ray.get(ping.remote());
    assert.equal((await ray.state.listTasks({ filter: { name: "ping" } })).total, 1);
  } finally {
    await ray.shutdown();
  }
  await ray.init({ numCpus: 1, recordState: false });
  try {
    assert.equal(observation(), undefined);
    await assert.rejects(async () => ray.state.listTasks(), /recordState: false/);
  } finally {
    await ray.shutdown();
  }
});

test("init() prints the dashboard's address on stderr", { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "rayts-init-"));
  const script = path.join(dir, "main.mts");
  writeFileSync(script, `import * as ray from ${JSON.stringify(path.resolve("src/index.ts"))};\nawait ray.init({ numCpus: 1, dashboardPort: 0 });\nawait ray.shutdown();\n`);
  try {
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- execFile's error is an Error, typed as an Omit of one
      execFile(process.execPath, ["--import", "tsx", script], (error, out, err) => (error ? reject(error) : resolve({ stdout: out, stderr: err })));
    });
    assert.match(stderr, /^View the rayts dashboard at http:\/\/127\.0\.0\.1:\d+$/m);
    assert.doesNotMatch(stdout, /dashboard/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a dashboard bound beyond loopback requires a token", async () => {
  await assert.rejects(ray.init({ dashboardHost: "0.0.0.0" }), /Expected `dashboardToken` when `dashboardHost` is not a loopback address/);
  assert.equal(ray.isInitialized(), false);
  const source = { status: async () => ({}) } as unknown as StateSource;
  const feed: LiveFeed = { subscribe: () => () => undefined };
  const server = new DashboardServer(source, feed, { host: "127.0.0.1", port: 0, token: "s3cret" });
  await server.listen();
  try {
    assert.equal((await fetch(`${server.url}/api/status`)).status, 401);
    assert.equal((await fetch(`${server.url}/api/status`, { headers: { authorization: "Bearer wrong" } })).status, 401);
    assert.equal((await fetch(`${server.url}/api/status`, { headers: { authorization: "Bearer s3cret" } })).status, 200);
    assert.equal((await fetch(`${server.url}/api/status?token=s3cret`)).status, 200);
  } finally {
    await server.close();
  }
});

test("the JSON API checks its query and names unknown routes", { timeout: 60_000 }, async () => {
  await ray.init({ numCpus: 1, dashboardPort: 0 });
  try {
    const url = observation()?.dashboardUrl;
    const bad = await fetch(`${url}/api/tasks?limit=zero`);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /`limit`.*"zero"/);
    const field = await fetch(`${url}/api/actors?classname=A`);
    assert.equal(field.status, 400);
    assert.match(((await field.json()) as { error: string }).error, /Unknown filter field `classname` of actors; expected one of `actorId`/);
    assert.equal((await fetch(`${url}/api/actors?className=A`)).status, 200);
    const unknown = await fetch(`${url}/api/frobs`);
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { error: string }).error, /unknown API frobs/);
    assert.equal((await fetch(`${url}/api/tasks/999999999`)).status, 404);
    // Names every object inherits are no routes either, and a malformed id is the caller's error.
    for (const route of ["toString", "constructor", "__proto__", "hasOwnProperty?x=1", "valueOf"]) {
      const inherited = await fetch(`${url}/api/${route}`);
      assert.equal(inherited.status, 404, route);
      assert.match(((await inherited.json()) as { error: string }).error, /unknown API/, route);
    }
    for (const file of ["/vendor/toString", "/vendor/constructor", "/vendor/__proto__"]) assert.equal((await fetch(`${url}${file}`)).status, 404, file);
    const malformed = await fetch(`${url}/api/tasks/%ZZ`);
    assert.equal(malformed.status, 400);
    assert.match(((await malformed.json()) as { error: string }).error, /task id/);
    for (const file of ["/", "/app.js", "/app.css", "/vendor/preact.mjs", "/vendor/hooks.mjs", "/vendor/htm.mjs", "/vendor/uplot.mjs", "/vendor/uplot.css"]) {
      assert.equal((await fetch(`${url}${file}`)).status, 200, file);
    }
  } finally {
    await ray.shutdown();
  }
});

test("server-sent events stream the status at once and log lines as they are printed", { timeout: 60_000 }, async () => {
  await ray.init({ numCpus: 1, dashboardPort: 0 });
  try {
    const url = observation()?.dashboardUrl;
    const controller = new AbortController();
    const response = await fetch(`${url}/events`, { signal: controller.signal });
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const nextEvent = async (kind: string): Promise<unknown> => {
      for (;;) {
        const match = new RegExp(`event: ${kind}\\ndata: (.*)\\n\\n`).exec(buffer);
        if (match !== null) {
          buffer = buffer.slice((match.index ?? 0) + match[0].length);
          return JSON.parse(match[1] as string);
        }
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before a ${kind} event`);
        buffer += decoder.decode(value, { stream: true });
      }
    };
    const status = (await nextEvent("status")) as ray.ClusterStatus;
    assert.equal(status.nodes.length, 1);
    const speak = ray.remote(() => console.log("streamed line"), { name: "speak" });
    await ray.get(speak.remote());
    const line = (await nextEvent("log")) as ray.LogLine;
    assert.match(line.text, /streamed line$/);
    controller.abort();
  } finally {
    await ray.shutdown();
  }
});
