/**
 * Profiles one echo server under one load, for development:
 *
 *   npx tsx test/bench/profile.ts --server ours|ours-wasm|ws-bu|ws-js|tcp [--script FILE] [--server-args '…']
 *        [--conns 1] [--inflight 64] [--size 16] [--deflate] [--mode echo|handshake|idle]
 *        [--window MS] [--warmup MS] [--repeat N] [--prof] [--top 30]
 *
 * Starts the server pinned to CPU 1 (with `node --cpu-prof` when `--prof`),
 * runs the load generator pinned to CPU 0 `repeat` times, prints each result
 * (rate, server µs per op), then stops the server and prints the profile's
 * heaviest functions by self time. The profile covers the whole life of the
 * server (start-up included): use a window long enough to dominate it.
 */
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { buildOurs } from "./build.js"
import { numberFlag, parseArgs, sleep } from "./child.js"
import type { Result, Spec } from "./loadgen.js"
import { clockTicks, otherCpu, snapshotOthers, threadTicks } from "./procstat.js"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const { flags } = parseArgs(process.argv.slice(2))
const serverId = flags.get("server") ?? "ours"
const prof = flags.has("prof")
const top = numberFlag(flags, "top", 30)

const servers: Record<string, { script: string; args: Array<string>; env: Record<string, string> }> = {
  ours: { script: "test/bench/.build/ours-server.mjs", args: ["--codec", "js"], env: {} },
  "ours-wasm": { script: "test/bench/.build/ours-server.mjs", args: ["--codec", "wasm"], env: {} },
  "ours-tsx": { script: "examples/echo/server.ts", args: ["--codec", "js"], env: {} },
  "ws-bu": { script: "test/bench/servers/ws-echo.ts", args: [], env: {} },
  "ws-js": { script: "test/bench/servers/ws-echo.ts", args: [], env: { WS_NO_BUFFER_UTIL: "1" } },
  tcp: { script: "test/bench/servers/tcp-echo.ts", args: [], env: {} }
}
const def = servers[serverId]
if (def === undefined) throw new Error(`unknown --server ${serverId}`)
const script = flags.get("script") ?? def.script
const extra = (flags.get("server-args") ?? "").split(" ").filter((s) => s !== "")
const deflate = flags.has("deflate")
/** --quiet S: before each load, wait up to S seconds for other processes to use < 10 % of a core. */
const quietMs = numberFlag(flags, "quiet", 0) * 1000

const waitQuiet = async (serverPid: number, maxMs: number): Promise<void> => {
  const deadline = Date.now() + maxMs
  const ex = new Set([process.pid, serverPid])
  while (Date.now() < deadline) {
    const a = snapshotOthers(ex)
    await sleep(300)
    if (otherCpu(a, snapshotOthers(ex)).seconds < 0.03) return
  }
  console.log(`(not quiet after ${maxMs / 1000} s)`)
}

const freePort = (): Promise<number> =>
  new Promise((ok) => {
    const s = net.createServer()
    s.listen(0, "127.0.0.1", () => {
      const a = s.address()
      s.close(() => ok(typeof a === "object" && a !== null ? a.port : 0))
    })
  })

const canPin = spawnSync("taskset", ["-c", "0", "true"]).status === 0
const pinned = (cpu: number, argv: Array<string>): [string, Array<string>] =>
  canPin ? ["taskset", ["-c", String(cpu), ...argv]] : [argv[0] ?? "node", argv.slice(1)]

const main = async () => {
  if (script === def.script && script.endsWith(".mjs")) buildOurs()
  const port = await freePort()
  const profDir = prof ? mkdtempSync(join(tmpdir(), "ews-prof-")) : ""
  const nodeArgs = [
    ...(prof ? ["--cpu-prof", "--cpu-prof-dir", profDir, "--cpu-prof-interval", "200"] : []),
    ...(script.endsWith(".ts") ? ["--import", "tsx"] : []),
    ...(script.endsWith(".mjs") ? ["--enable-source-maps"] : []),
    script,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    ...def.args,
    ...(deflate ? ["--compression", "context-takeover"] : []),
    "--read-limit",
    String(16 * 1024 * 1024),
    ...extra
  ]
  const [cmd, argv] = pinned(1, [process.execPath, ...nodeArgs])
  const server = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...def.env }, stdio: ["ignore", "pipe", "inherit"] })
  await new Promise<void>((ok, fail) => {
    server.stdout.setEncoding("utf8")
    server.stdout.on("data", (d: string) => {
      if (d.includes("listening")) ok()
    })
    server.once("exit", (c) => fail(new Error(`server exited ${c}`)))
  })
  const mode = flags.get("mode") ?? "echo"
  const conns = numberFlag(flags, "conns", 1)
  const inflight = numberFlag(flags, "inflight", 64)
  const size = numberFlag(flags, "size", 16)
  const spec: Spec = mode === "handshake"
    ? { mode, label: "handshakes", parallel: 50 }
    : mode === "idle"
    ? { mode, label: "idle", conns: numberFlag(flags, "conns", 5000) }
    : { mode: "echo", label: `${conns}x${inflight}x${size}${deflate ? " deflate" : ""}`, conns, inflight, size, deflate }
  const repeat = numberFlag(flags, "repeat", 1)
  const warmup = numberFlag(flags, "warmup", 500)
  // Monotonic µs, the clock of V8's profile timestamps: only samples inside the loads count.
  const spans: Array<[number, number]> = []
  let ops = 0
  let opSeconds = 0
  for (let i = 0; i < repeat; i++) {
    if (quietMs > 0) await waitQuiet(server.pid ?? 0, quietMs)
    const t0 = Number(process.hrtime.bigint() / 1000n)
    const [lc, la] = pinned(0, [
      process.execPath,
      "--import",
      "tsx",
      "test/bench/loadgen.ts",
      "--url",
      `ws://127.0.0.1:${port}/`,
      "--server-pid",
      String(server.pid),
      "--warmup",
      String(numberFlag(flags, "warmup", 500)),
      "--window",
      String(numberFlag(flags, "window", 2000)),
      "--settle",
      "2000",
      "--specs",
      JSON.stringify([spec])
    ])
    const threadsBefore = threadTicks(server.pid ?? 0)
    const out = spawnSync(lc, la, { cwd: root, encoding: "utf8" })
    const threadsAfter = threadTicks(server.pid ?? 0)
    // the load generator's start-up (~0.5 s) and warm-up, then its window, then the next connection's set-up
    spans.push([t0 + (warmup + 700) * 1000, Number(process.hrtime.bigint() / 1000n) - 300_000])
    for (const line of out.stdout.split("\n")) {
      if (!line.startsWith("{")) continue
      const r = JSON.parse(line) as Result
      if (!r.ok) console.log(`ERROR ${r.error}`)
      else {
        ops += r.count
        opSeconds += r.seconds
        console.log(
          `${serverId} ${spec.label}: ${r.rate.toFixed(0)} msg/s ${r.mbps.toFixed(1)} MB/s  server ${
            r.serverUsPerOp.toFixed(2)
          } µs/op ${r.serverCpuPct.toFixed(0)}%  loadgen ${r.loadgenCpuPct.toFixed(0)}%  other ${r.otherCpuPct.toFixed(0)}%${
            r.kibPerConn !== undefined ? `  ${r.kibPerConn.toFixed(2)} KiB/conn` : ""
          }`
        )
      }
    }
    if (out.status !== 0) console.log(out.stderr)
    // where the server's CPU went over the whole load (start-up and settling included): user vs kernel, main thread vs helpers
    const parts: Array<string> = []
    for (const [name, t] of threadsAfter) {
      const b = threadsBefore.get(name) ?? { user: 0, sys: 0 }
      const user = ((t.user - b.user) / clockTicks) * 1000
      const sys = ((t.sys - b.sys) / clockTicks) * 1000
      if (user + sys > 0) parts.push(`${name} ${user.toFixed(0)} user + ${sys.toFixed(0)} sys ms`)
    }
    console.log(`  server threads: ${parts.join(", ")}`)
  }
  server.kill("SIGINT")
  await new Promise((ok) => server.once("exit", ok))
  if (!prof) return
  await sleep(100)
  const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"))
  if (file === undefined) return console.log("no profile written")
  console.log(`profile: ${join(profDir, file)}`)
  // the profile's spans and the load generator's windows differ a little: per-op figures are approximate
  const profiled = spans.reduce((n, [a, b]) => n + (b - a) / 1e6, 0)
  summarize(join(profDir, file), spans, opSeconds > 0 ? (ops / opSeconds) * profiled : 0)
}

interface Node {
  readonly id: number
  readonly callFrame: { functionName: string; url: string; lineNumber: number }
  readonly children?: ReadonlyArray<number>
}

const summarize = (path: string, spans: ReadonlyArray<[number, number]>, opsProfiled: number) => {
  const p = JSON.parse(readFileSync(path, "utf8")) as {
    nodes: Array<Node>
    samples: Array<number>
    timeDeltas: Array<number>
    startTime: number
  }
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  let t = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] ?? 0
    const dt = p.timeDeltas[i] ?? 0
    t += dt
    if (!spans.some(([a, b]) => t >= a && t <= b)) continue
    self.set(id, (self.get(id) ?? 0) + dt)
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const byFn = new Map<string, number>()
  for (const [id, t] of self) {
    const n = byId.get(id)
    if (n === undefined) continue
    const f = n.callFrame
    const url = f.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/(src|examples|test)\//, "$1/")
    const key = `${f.functionName || "(anon)"} ${url}:${f.lineNumber + 1}`
    byFn.set(key, (byFn.get(key) ?? 0) + t)
  }
  const rows = [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
  console.log(`total ${(total / 1000).toFixed(0)} ms`)
  const perOp = (t: number) => (opsProfiled > 0 ? `${(t / opsProfiled).toFixed(2).padStart(8)} µs/op ` : "")
  console.log(`${perOp(total)} in all, ${perOp(total - (byFn.get("(idle) :0") ?? 0))} busy`)
  for (const [k, t] of rows) console.log(`${((t / total) * 100).toFixed(1).padStart(5)}% ${perOp(t)} ${k}`)
  // Coarse buckets by origin
  const buckets = new Map<string, number>()
  for (const [id, t] of self) {
    const n = byId.get(id)
    if (n === undefined) continue
    const u = n.callFrame.url
    const b = n.callFrame.functionName.startsWith("(")
      ? n.callFrame.functionName
      : u.includes("node_modules/effect")
      ? "effect"
      : u.includes("/src/")
      ? "ours"
      : u.includes("/examples/")
      ? "example"
      : u.startsWith("node:")
      ? "node"
      : u === ""
      ? "native"
      : "other"
    buckets.set(b, (buckets.get(b) ?? 0) + t)
  }
  console.log(
    [...buckets.entries()].sort((a, b) => b[1] - a[1]).map(([k, t]) => `${k} ${((t / total) * 100).toFixed(1)}%${opsProfiled > 0 ? ` (${(t / opsProfiled).toFixed(1)} µs/op)` : ""}`).join(", ")
  )
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
