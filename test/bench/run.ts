/**
 * `npm run bench [-- OPTIONS]`: echo servers (ws pure JS, ws + bufferutil,
 * ours) under the same load generator, client rows, the TCP ceiling and
 * micro-benchmarks (masking, UTF-8, and the Wasm codec's deflate/inflate
 * against node:zlib from wasm-micro.ts), all in one run; prints a markdown table and writes it to
 * test/bench/results/latest.md (raw samples in latest.json).
 *
 * Options:
 *   --quick            one run, short windows, fewer rows (< 60 s)
 *   --runs N           runs per row (default 3; order of servers rotated per run)
 *   --window S         timed window per measurement, seconds (default 0.5; quick 0.3)
 *   --warmup S         warm-up before each window, seconds (default 0.2; quick 0.15)
 *   --server-warmup S  unmeasured load on each freshly started server or client process before its
 *                      first measurement, so that V8 has optimized its code (default 1.5; quick 0.3)
 *   --only PATTERN     only rows whose "section row" matches (regex, case-insensitive)
 *   --servers LIST     only these columns: ws-js, ws-bu, ours (both codecs), ours-js, ours-wasm, tcp-data, tcp-pipe
 *   --codec js|wasm    only this Codec layer for our server (default: a column for each; quick: js)
 *   --idle-conns N     idle-memory connections (default 5000; quick 1000)
 *   --retries N        re-measure when other processes used > 25 % of a core (default 2; quick 0)
 *   --quiet-wait S     before each measurement, wait up to S s for other processes to go quiet (default 2; quick 0)
 *   --extra-budget S   total time the whole run may spend on quiet waits and re-measurements (default 60; quick 0)
 *   --out FILE         markdown output (default test/bench/results/latest.md)
 *   --list             print the rows and exit
 */
import type { ChildProcess } from "node:child_process"
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { buildClients, buildOurs, CLIENTS_BUILT, OURS_BUILT } from "./build.js"
import { numberFlag, parseArgs } from "./child.js"
import type { ClientResult, ClientRow } from "./clients.js"
import type { Job, Result, Spec } from "./loadgen.js"
import { effectiveInflight } from "./loadgen.js"
import type { MicroResult } from "./micro.js"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const BENCH = "test/bench"
/** Our echo server (examples/echo/server.ts) bundled with the library into plain JavaScript: see build.ts. */
const OURS_SERVER = OURS_BUILT
const LARGE_READ_LIMIT = 16 * 1024 * 1024

// ---------------------------------------------------------------------------
// Options

const { flags } = parseArgs(process.argv.slice(2))
const quick = flags.has("quick")
const opts = {
  quick,
  runs: numberFlag(flags, "runs", quick ? 1 : 3),
  warmupMs: numberFlag(flags, "warmup", quick ? 0.15 : 0.2) * 1000,
  serverWarmupMs: numberFlag(flags, "server-warmup", quick ? 0.3 : 1.5) * 1000,
  windowMs: numberFlag(flags, "window", quick ? 0.3 : 0.5) * 1000,
  only: flags.has("only") ? new RegExp(flags.get("only") ?? "", "i") : undefined,
  servers: flags.has("servers") ? new Set((flags.get("servers") ?? "").split(",")) : undefined,
  codec: flags.get("codec"),
  idleConns: numberFlag(flags, "idle-conns", quick ? 1000 : 5000),
  retries: numberFlag(flags, "retries", quick ? 0 : 2),
  quietWaitMs: numberFlag(flags, "quiet-wait", quick ? 0 : 2) * 1000,
  /** Idle memory: longest wait for the server's RSS to settle. */
  settleMs: quick ? 500 : 2000,
  maxOther: 0.25,
  /** Left of the whole run's time for quiet waits and re-measurements; spent as the run goes. */
  extraBudgetMs: numberFlag(flags, "extra-budget", quick ? 0 : 60) * 1000,
  sampleMs: quick ? 8 : 20,
  out: resolve(root, flags.get("out") ?? `${BENCH}/results/latest.md`)
}

// ---------------------------------------------------------------------------
// Child processes: every one is tracked and killed when we exit, however we exit.

const children = new Set<ChildProcess>()

const killAll = () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
  }
  children.clear()
}
process.on("exit", killAll)
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, stopping children\n`)
    killAll()
    process.exit(sig === "SIGINT" ? 130 : 143)
  })
}
process.on("uncaughtException", (e) => {
  process.stderr.write(`bench: ${e.stack ?? e.message}\n`)
  killAll()
  process.exit(1)
})

const canPin = os.cpus().length >= 2 && spawnSync("taskset", ["-c", "0", "true"]).status === 0

/** Runs a TypeScript file with node + tsx, pinned to `cpu` when possible; the pid is node's own. */
const spawnTs = (
  script: string,
  args: ReadonlyArray<string>,
  cpu: number | undefined,
  env: Record<string, string | undefined> = {}
): ChildProcess => {
  // TypeScript through tsx; our bundled server (.mjs) runs as plain JavaScript
  const nodeArgs = script.endsWith(".mjs") ? [script, ...args] : ["--import", "tsx", script, ...args]
  const [cmd, argv] = canPin && cpu !== undefined
    ? ["taskset", ["-c", String(cpu), process.execPath, ...nodeArgs]] as const
    : [process.execPath, nodeArgs] as const
  const fullEnv: Record<string, string | undefined> = { ...process.env, BENCH_CHILD: "1", ...env }
  for (const k of Object.keys(fullEnv)) if (fullEnv[k] === undefined) delete fullEnv[k]
  const child = spawn(cmd, argv, { cwd: root, env: fullEnv, stdio: ["pipe", "pipe", "pipe"] })
  children.add(child)
  child.on("exit", () => children.delete(child))
  return child
}

/** Collects stdout lines and the last few KiB of stderr. */
const collect = (child: ChildProcess, onLine: (line: string) => void): { stderr: () => string } => {
  let err = ""
  let out = ""
  child.stdout?.setEncoding("utf8")
  child.stdout?.on("data", (d: string) => {
    out += d
    let nl: number
    while ((nl = out.indexOf("\n")) >= 0) {
      onLine(out.slice(0, nl))
      out = out.slice(nl + 1)
    }
  })
  child.stderr?.setEncoding("utf8")
  child.stderr?.on("data", (d: string) => {
    err = (err + d).slice(-4096)
  })
  return { stderr: () => err.trim() }
}

const waitExit = (child: ChildProcess, ms: number): Promise<number | null> =>
  new Promise((resolve_) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve_(child.exitCode)
    const t = setTimeout(() => {
      child.kill("SIGKILL")
    }, ms)
    child.once("exit", (code) => {
      clearTimeout(t)
      resolve_(code)
    })
  })

const freePort = (): Promise<number> =>
  new Promise((resolve_, reject) => {
    const s = net.createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const a = s.address()
      const port = a !== null && typeof a === "object" ? a.port : 0
      s.close(() => resolve_(port))
    })
  })

// ---------------------------------------------------------------------------
// Servers

interface ServerArgs {
  readonly readLimit?: number
  readonly compression?: string
}

interface ServerDef {
  readonly id: string
  readonly label: string
  readonly script: string
  readonly env: Record<string, string | undefined>
  readonly args: (a: ServerArgs) => Array<string>
  /** Why it cannot run, or undefined. */
  readonly unavailable: () => string | undefined
}

const echoArgs = (a: ServerArgs) => [
  ...(a.readLimit !== undefined ? ["--read-limit", String(a.readLimit)] : []),
  ...(a.compression !== undefined ? ["--compression", a.compression] : [])
]

const WS_JS: ServerDef = {
  id: "ws-js",
  label: "ws (pure JS)",
  script: `${BENCH}/servers/ws-echo.ts`,
  env: { WS_NO_BUFFER_UTIL: "1" },
  args: echoArgs,
  unavailable: () => undefined
}
const WS_BU: ServerDef = {
  id: "ws-bu",
  label: "ws + bufferutil",
  script: `${BENCH}/servers/ws-echo.ts`,
  env: { WS_NO_BUFFER_UTIL: undefined },
  args: echoArgs,
  unavailable: () => undefined
}
/** Why our server could not be built, once main has tried. */
let oursBuildError: string | undefined = "not built yet"
const oursServer = (codec: "js" | "wasm"): ServerDef => ({
  id: `ours-${codec}`,
  label: `ours (${codec})`,
  script: OURS_SERVER,
  env: {},
  args: (a) => [...echoArgs(a), "--codec", codec],
  unavailable: () => oursBuildError ?? (existsSync(join(root, OURS_SERVER)) ? undefined : `${OURS_SERVER} is missing`)
})
const codecs: ReadonlyArray<"js" | "wasm"> = opts.codec === "js" || opts.codec === "wasm"
  ? [opts.codec]
  : opts.codec !== undefined
  ? (() => {
    throw new Error(`--codec ${opts.codec}: expected js or wasm`)
  })()
  : opts.quick
  ? ["js"]
  : ["js", "wasm"]
/** Our server, one column per Codec layer. */
const OURS: ReadonlyArray<ServerDef> = codecs.map(oursServer)
const TCP_DATA: ServerDef = {
  id: "tcp-data",
  label: "net.Socket 'data' → write",
  script: `${BENCH}/servers/tcp-echo.ts`,
  env: {},
  args: () => [],
  unavailable: () => undefined
}
const TCP_PIPE: ServerDef = {
  id: "tcp-pipe",
  label: "net.Socket pipe(socket)",
  script: `${BENCH}/servers/tcp-echo.ts`,
  env: {},
  args: () => ["--pipe"],
  unavailable: () => undefined
}

interface Server {
  readonly child: ChildProcess
  readonly pid: number
  readonly url: string
  readonly stderr: () => string
}

const startServer = async (def: ServerDef, a: ServerArgs): Promise<Server> => {
  const port = await freePort()
  const child = spawnTs(def.script, ["--host", "127.0.0.1", "--port", String(port), ...def.args(a)], 1, def.env)
  let onLine: (line: string) => void = () => {}
  const io = collect(child, (line) => onLine(line))
  return new Promise<Server>((resolve_, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer)
      child.kill("SIGKILL")
      const err = io.stderr()
      reject(new Error(`${def.label} did not start: ${why}${err === "" ? "" : `; stderr: ${err.slice(-600)}`}`))
    }
    const timer = setTimeout(() => fail("no `listening` line within 30 s"), 30_000)
    child.once("exit", (code, signal) => fail(`exited (${code ?? signal}) before listening`))
    child.once("error", (e) => fail(e.message))
    onLine = (line) => {
      const m = /listening ((?:ws|tcp):\/\/\S+)/.exec(line)
      if (m === null || child.pid === undefined) return
      clearTimeout(timer)
      child.removeAllListeners("exit")
      onLine = () => {}
      resolve_({ child, pid: child.pid, url: m[1] ?? "", stderr: io.stderr })
    }
  })
}

const stopServer = async (s: Server): Promise<void> => {
  s.child.kill("SIGTERM")
  await waitExit(s.child, 3000)
}

// ---------------------------------------------------------------------------
// Rows

const KiB = 1024
const MiB = 1024 * 1024
const sizeLabel = (n: number) => n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} B`

type Section = "echo" | "handshake" | "idle" | "deflate" | "tcp" | "clients" | "mask" | "utf8"

const selected = (section: Section, row: string) => opts.only === undefined || opts.only.test(`${section} ${row}`)

/** Quick rows are named "CONNS pp|pipe SIZE", e.g. "1 pipe 16". */
const echoSpecs = (deflate: boolean, sizes: ReadonlyArray<number>, quickRows: ReadonlyArray<string>): Array<Spec> => {
  const out: Array<Spec> = []
  for (const conns of [1, 50]) {
    for (const pipelined of [false, true]) {
      for (const size of sizes) {
        const eff = pipelined ? effectiveInflight(conns, 64, size) : 1
        const mode = pipelined ? `pipelined${eff === 64 ? "" : ` (${eff} in flight)`}` : "ping-pong"
        const label = `${conns} conn${conns > 1 ? "s" : ""} ${mode} ${sizeLabel(size)}`
        if (opts.quick && !quickRows.includes(`${conns} ${pipelined ? "pipe" : "pp"} ${size}`)) continue
        out.push({ mode: "echo", label, conns, inflight: pipelined ? 64 : 1, size, deflate })
      }
    }
  }
  return out
}

interface LoadGroup {
  readonly name: string
  readonly columns: ReadonlyArray<ServerDef>
  readonly serverArgs: ServerArgs
  readonly specs: ReadonlyArray<Spec>
}

const sectionOf = (s: Spec): Section => s.mode === "echo" ? (s.deflate ? "deflate" : "echo") : s.mode

const QUICK_ECHO = ["1 pp 16", "1 pipe 16", "1 pipe 65536", "50 pipe 1024", "50 pipe 1048576"]

// One server process per group and column. Idle memory comes first, on the fresh server.
const allGroups: ReadonlyArray<LoadGroup> = [
  {
    name: "idle memory, echo of small messages, handshakes",
    columns: [WS_JS, WS_BU, ...OURS],
    serverArgs: {},
    specs: [
      { mode: "idle", label: `${opts.idleConns} idle connections`, conns: opts.idleConns },
      ...echoSpecs(false, [16, 1024], QUICK_ECHO),
      { mode: "handshake", label: "handshakes, 50 in parallel", parallel: 50 }
    ]
  },
  {
    name: "echo of large messages",
    columns: [WS_JS, WS_BU, ...OURS],
    serverArgs: { readLimit: LARGE_READ_LIMIT },
    specs: echoSpecs(false, [64 * KiB, MiB], QUICK_ECHO)
  },
  {
    name: "permessage-deflate",
    columns: [WS_BU, ...OURS],
    serverArgs: { compression: "context-takeover", readLimit: LARGE_READ_LIMIT },
    specs: echoSpecs(true, [1024, 64 * KiB], ["1 pipe 1024"])
  },
  {
    name: "TCP ceiling",
    columns: opts.quick ? [TCP_DATA] : [TCP_DATA, TCP_PIPE],
    serverArgs: {},
    specs: [
      { mode: "tcp", label: "1 conn stream, 64 KiB writes, 64 in flight", size: 64 * KiB, inflight: 64 },
      ...(opts.quick ? [] : [{ mode: "tcp", label: "1 conn ping-pong 16 B", size: 16, inflight: 1 } satisfies Spec])
    ]
  }
]
const loadGroups: ReadonlyArray<LoadGroup> = allGroups.map((g) => ({
  ...g,
  columns: g.columns.filter((c) =>
    opts.servers === undefined || opts.servers.has(c.id) || (c.id.startsWith("ours-") && opts.servers.has("ours"))
  ),
  specs: g.specs.filter((s) => selected(sectionOf(s), s.label))
}))

/** The ws client, and ours under each Codec layer. */
const CLIENT_IMPLS: ReadonlyArray<string> = ["ws", ...codecs.map((c) => `ours-${c}`)]
const clientRows: ReadonlyArray<ClientRow> = ([
  { label: "1 conn ping-pong 16 B", size: 16, inflight: 1 },
  { label: "1 conn pipelined 16 B", size: 16, inflight: 64 },
  { label: "1 conn pipelined 1 KiB", size: 1024, inflight: 64 },
  { label: "1 conn pipelined 64 KiB", size: 64 * KiB, inflight: 64 }
] as const).filter((r) => (!opts.quick || r.label === "1 conn pipelined 16 B") && selected("clients", r.label))

const microGroups = (["mask", "utf8"] as const).filter((g) => selected(g, "micro"))
/** The Wasm codec's deflate/inflate against node:zlib's sync calls (wasm-micro.ts), once per bench. */
const wasmDeflateMicro = opts.only === undefined || opts.only.test("wasm-deflate micro")

// ---------------------------------------------------------------------------
// Samples

interface Sample {
  readonly run: number
  readonly ok: boolean
  /** Why there is no value: "skipped: …" or "error: …". */
  readonly note?: string
  readonly v: Readonly<Record<string, number>>
}

const samples = new Map<string, Array<Sample>>()
const keyOf = (section: string, row: string, column: string) => `${section} | ${row} | ${column}`
const record = (section: string, row: string, column: string, s: Sample) => {
  const k = keyOf(section, row, column)
  const list = samples.get(k) ?? []
  list.push(s)
  samples.set(k, list)
}

const numbers = (o: object): Record<string, number> => {
  const v: Record<string, number> = {}
  for (const [k, x] of Object.entries(o)) if (typeof x === "number" && Number.isFinite(x)) v[k] = x
  return v
}

let maxOther = { pct: 0, top: "" }
const noteOther = (pct: number, top: string) => {
  if (Number.isFinite(pct) && pct > maxOther.pct) maxOther = { pct, top }
}

const fmt = (x: number): string => {
  if (!Number.isFinite(x)) return "–"
  const a = Math.abs(x)
  if (a >= 100_000) return `${(x / 1000).toFixed(0)}k`
  if (a >= 10_000) return `${(x / 1000).toFixed(1)}k`
  if (a >= 100) return x.toFixed(0)
  if (a >= 10) return x.toFixed(1)
  if (a >= 1) return x.toFixed(2)
  return x.toPrecision(2)
}

const started = Date.now()
const progress = (msg: string) =>
  process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s ${msg}\n`)

// ---------------------------------------------------------------------------
// Runners

const runLoadGroup = async (g: LoadGroup, run: number) => {
  if (g.specs.length === 0) return
  const cols = rotate(g.columns, run)
  for (const def of cols) {
    const why = def.unavailable()
    if (why !== undefined) {
      for (const s of g.specs) record(sectionOf(s), s.label, def.id, { run, ok: false, note: `skipped: ${why}`, v: {} })
      progress(`  ${def.label}: skipped (${why})`)
      continue
    }
    let server: Server
    try {
      server = await startServer(def, g.serverArgs)
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e)
      for (const s of g.specs) record(sectionOf(s), s.label, def.id, { run, ok: false, note: `error: ${msg}`, v: {} })
      progress(`  ${def.label}: ${msg}`)
      continue
    }
    try {
      const done = new Set<string>()
      const perSpecMs = (opts.warmupMs + opts.windowMs + opts.quietWaitMs) * (opts.retries + 1) + 30_000
      const job: Job = {
        url: server.url,
        serverPid: server.pid,
        warmupMs: opts.warmupMs,
        windowMs: opts.windowMs,
        settleMs: opts.settleMs,
        retries: opts.retries,
        maxOther: opts.maxOther,
        quietWaitMs: opts.quietWaitMs,
        extraBudgetMs: Math.max(0, opts.extraBudgetMs),
        serverWarmupMs: opts.serverWarmupMs,
        specs: g.specs
      }
      const failure = await loadgen.run(job, perSpecMs * g.specs.length, (r) => {
        const spec = g.specs.find((x) => x.label === r.label)
        if (spec === undefined) return
        done.add(r.label)
        record(sectionOf(spec), r.label, def.id, {
          run,
          ok: r.ok,
          ...(r.ok ? {} : { note: `error: ${r.error ?? "unknown"}` }),
          v: numbers(r)
        })
        noteOther(r.otherCpuPct, r.otherTop)
        progress(`  ${def.label.padEnd(16)} ${r.label.padEnd(44)} ${describe(r)}`)
      })
      const missing = g.specs.filter((s) => !done.has(s.label))
      if (missing.length > 0) {
        const why = failure ?? "load generator gave no result"
        for (const s of missing) record(sectionOf(s), s.label, def.id, { run, ok: false, note: `error: ${why}`, v: {} })
        progress(`  ${def.label}: ${why}`)
      }
      if (server.child.exitCode !== null || server.child.signalCode !== null) {
        progress(`  ${def.label}: the server died during the run; stderr: ${server.stderr().slice(-400)}`)
      }
    } finally {
      await stopServer(server)
    }
  }
}

/**
 * The load generator: one long-lived process pinned to CPU 0 that takes one
 * job (server + tests) at a time on stdin, so its start-up is paid once.
 */
class Loadgen {
  private child: ChildProcess | undefined
  private io: { stderr: () => string } | undefined
  private onLine: (line: string) => void = () => {}

  private ensure(): ChildProcess {
    if (this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null) return this.child
    const child = spawnTs(`${BENCH}/loadgen.ts`, ["--stdin"], 0)
    this.io = collect(child, (line) => this.onLine(line))
    this.child = child
    return child
  }

  /** Runs a job; resolves with undefined, or why it stopped early. */
  run(job: Job, timeoutMs: number, onResult: (r: Result) => void): Promise<string | undefined> {
    const child = this.ensure()
    return new Promise((resolve_) => {
      const finish = (why: string | undefined) => {
        clearTimeout(timer)
        child.off("exit", onExit)
        this.onLine = () => {}
        resolve_(why)
      }
      const onExit = (code: number | null) =>
        finish(`load generator exited (${code ?? "killed"})${this.io?.stderr() ? `: ${this.io.stderr().slice(-400)}` : ""}`)
      const timer = setTimeout(() => {
        child.kill("SIGKILL")
        finish(`load generator timed out after ${timeoutMs / 1000} s`)
      }, timeoutMs)
      this.onLine = (line) => {
        if (!line.startsWith("{")) return
        const r = JSON.parse(line) as Result | { done: true; extraMs: number }
        if ("done" in r) {
          opts.extraBudgetMs -= r.extraMs
          finish(undefined)
        } else {
          onResult(r)
        }
      }
      child.once("exit", onExit)
      child.stdin?.write(JSON.stringify(job) + "\n")
    })
  }

  async stop(): Promise<void> {
    if (this.child === undefined) return
    this.child.stdin?.end()
    await waitExit(this.child, 5000)
  }
}

const loadgen = new Loadgen()

const describe = (r: Result): string => {
  if (!r.ok) return `ERROR ${r.error ?? ""}`
  const main = r.mode === "idle"
    ? `${fmt(r.kibPerConn ?? Number.NaN)} KiB/conn`
    : r.mode === "handshake"
    ? `${fmt(r.rate)}/s`
    : `${fmt(r.rate)} msg/s ${fmt(r.mbps)} MB/s`
  return `${main}  server ${fmt(r.serverUsPerOp)} µs/op ${fmt(r.serverCpuPct)}%  loadgen ${fmt(r.loadgenCpuPct)}%  other ${
    fmt(r.otherCpuPct)
  }%${r.attempts > 1 ? ` (attempt ${r.attempts})` : ""}`
}

const runClients = async (run: number) => {
  if (clientRows.length === 0) return
  if (opts.servers !== undefined && !opts.servers.has(WS_BU.id)) return
  let server: Server
  try {
    server = await startServer(WS_BU, {})
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e)
    for (const r of clientRows) for (const impl of CLIENT_IMPLS) record("clients", r.label, impl, { run, ok: false, note: `error: ${msg}`, v: {} })
    return
  }
  try {
    for (const impl of rotate(CLIENT_IMPLS, run)) {
      // bundled like our server, so that neither client pays for tsx
      const child = spawnTs(oursBuildError === undefined ? CLIENTS_BUILT : `${BENCH}/clients.ts`, [
        "--impl", impl,
        "--url", server.url,
        "--server-pid", String(server.pid),
        "--warmup", String(opts.warmupMs),
        "--window", String(opts.windowMs),
        "--process-warmup", String(opts.serverWarmupMs),
        "--rows", JSON.stringify(clientRows)
      ], 0)
      const done = new Set<string>()
      const io = collect(child, (line) => {
        if (!line.startsWith("{")) return
        const r = JSON.parse(line) as ClientResult
        done.add(r.label)
        record("clients", r.label, impl, {
          run,
          ok: r.ok,
          ...(r.ok ? {} : { note: r.skipped !== undefined ? `skipped: ${r.skipped}` : `error: ${r.error ?? "unknown"}` }),
          v: numbers(r)
        })
        noteOther(r.otherCpuPct, r.otherTop)
        progress(`  ${(impl + " client").padEnd(16)} ${r.label.padEnd(44)} ${
          r.ok
            ? `${fmt(r.rate)} msg/s  client ${fmt(r.clientUsPerMsg)} µs/msg ${fmt(r.clientCpuPct)}%  other ${fmt(r.otherCpuPct)}%`
            : r.skipped ?? `ERROR ${r.error ?? ""}`
        }`)
      })
      const code = await waitExit(child, clientRows.length * (opts.warmupMs + opts.windowMs + 10_000) + opts.serverWarmupMs + 20_000)
      const missing = clientRows.filter((r) => !done.has(r.label))
      if (missing.length > 0) {
        const why = `client bench exited (${code ?? "killed"}): ${io.stderr().slice(-400)}`
        for (const r of missing) record("clients", r.label, impl, { run, ok: false, note: `error: ${why}`, v: {} })
        progress(`  ${impl} client: ${why}`)
      }
    }
  } finally {
    await stopServer(server)
  }
}

const runMicro = async (group: "mask" | "utf8", run: number) => {
  const child = spawnTs(`${BENCH}/micro.ts`, ["--group", group, "--sample-ms", String(opts.sampleMs)], undefined)
  let n = 0
  const io = collect(child, (line) => {
    if (!line.startsWith("{")) return
    const r = JSON.parse(line) as MicroResult
    n++
    const row = r.input === undefined ? r.impl : `${r.impl} [${r.input}]`
    record(group, row, String(r.size), {
      run,
      ok: r.skipped === undefined,
      ...(r.skipped === undefined ? {} : { note: `skipped: ${r.skipped}` }),
      v: numbers(r)
    })
  })
  const code = await waitExit(child, 120_000)
  progress(`  micro ${group}: ${n} figures${code === 0 ? "" : `, exited ${code}: ${io.stderr().slice(-400)}`}`)
}

/** The permessage-deflate table of wasm-micro.ts (its own medians over interleaved rounds), or why it is missing. */
let wasmDeflateTable = ""
const runWasmDeflateMicro = async () => {
  const child = spawnTs(`${BENCH}/wasm-micro.ts`, opts.quick ? ["--quick"] : [], 0)
  const lines: Array<string> = []
  const io = collect(child, (line) => lines.push(line))
  const code = await waitExit(child, 300_000)
  const text = lines.join("\n")
  const start = text.indexOf("## permessage-deflate")
  const end = text.indexOf("\n## ", start + 1)
  wasmDeflateTable = code === 0 && start >= 0
    ? text.slice(text.indexOf("\n", start) + 1, end < 0 ? undefined : end).trim()
    : `(wasm-micro.ts exited ${code}: ${io.stderr().slice(-400)})`
  progress(`  micro wasm-deflate: ${code === 0 ? "done" : `exited ${code}`}`)
}

function rotate<T>(xs: ReadonlyArray<T>, by: number): Array<T> {
  const n = xs.length
  return n === 0 ? [] : xs.map((_, i) => xs[(i + by) % n] as T)
}

// ---------------------------------------------------------------------------
// Report

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  if (n === 0) return Number.NaN
  return n % 2 === 1 ? (s[(n - 1) / 2] ?? Number.NaN) : ((s[n / 2 - 1] ?? 0) + (s[n / 2] ?? 0)) / 2
}

const values = (section: string, row: string, col: string, key: string): Array<number> =>
  (samples.get(keyOf(section, row, col)) ?? []).flatMap((s) => s.ok && s.v[key] !== undefined ? [s.v[key] as number] : [])

const noteFor = (section: string, row: string, col: string): string | undefined =>
  (samples.get(keyOf(section, row, col)) ?? []).find((s) => !s.ok)?.note

const notes = new Map<string, number>()
const footnote = (text: string): string => {
  if (!notes.has(text)) notes.set(text, notes.size + 1)
  return `[${notes.get(text)}]`
}

/** "median (min–max)" of one value over runs, or skipped/error with a footnote. */
const cell = (section: string, row: string, col: string, key: string, unit = ""): string => {
  const xs = values(section, row, col, key)
  if (xs.length === 0) {
    const n = noteFor(section, row, col)
    if (n === undefined) return "–"
    return `${n.startsWith("skipped") ? "skipped" : "error"} ${footnote(n)}`
  }
  const range = xs.length > 1 ? ` (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : ""
  // Only throughput-like figures are bounded by a saturated load generator.
  const bound = ["rate", "mbps", "serverUsPerOp", "rttP50Us", "rttP99Us"].includes(key) &&
      values(section, row, col, "loadgenCpuPct").some((p) => p >= 90)
    ? " †"
    : ""
  return `${fmt(median(xs))}${range}${unit}${bound}`
}

/** "msg/s · MB/s", or one skipped/error note. */
const rateCell = (section: string, row: string, col: string): string =>
  values(section, row, col, "rate").length === 0
    ? cell(section, row, col, "rate")
    : `${cell(section, row, col, "rate")} · ${cell(section, row, col, "mbps", " MB/s")}`

/** Median over runs of the per-run ratio a/b. */
const ratio = (section: string, row: string, a: string, b: string, key: string): string => {
  const sa = samples.get(keyOf(section, row, a)) ?? []
  const sb = samples.get(keyOf(section, row, b)) ?? []
  const rs: Array<number> = []
  for (const x of sa) {
    const y = sb.find((s) => s.run === x.run)
    const vx = x.v[key]
    const vy = y?.v[key]
    if (x.ok && y?.ok === true && vx !== undefined && vy !== undefined && vy !== 0) rs.push(vx / vy)
  }
  return rs.length === 0 ? "–" : `${median(rs).toFixed(2)}×`
}

const maxOf = (section: string, row: string, cols: ReadonlyArray<string>, key: string): string => {
  const xs = cols.flatMap((c) => values(section, row, c, key))
  return xs.length === 0 ? "–" : `${fmt(Math.max(...xs))}%`
}

const rowsOf = (section: string): Array<string> => {
  const out: Array<string> = []
  for (const k of samples.keys()) {
    const [s, r] = k.split(" | ")
    if (s === section && r !== undefined && !out.includes(r)) out.push(r)
  }
  // Echo rows in the issue's order: connections, then ping-pong before pipelined, then size.
  const order = (row: string): number => {
    const m = /^(\d+) conns? (ping-pong|pipelined).* (\d+) (B|KiB|MiB)$/.exec(row)
    if (m === null) return Number.NaN
    const bytes = Number(m[3]) * (m[4] === "MiB" ? MiB : m[4] === "KiB" ? KiB : 1)
    return Number(m[1]) * 1e12 + (m[2] === "pipelined" ? 1e11 : 0) + bytes
  }
  return out.every((r) => Number.isFinite(order(r))) ? out.sort((a, b) => order(a) - order(b)) : out
}

const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n")

const machine = (): Array<string> => {
  let cpu = os.cpus()[0]?.model ?? "unknown"
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))
    if (m?.[1] !== undefined) cpu = m[1].trim()
  } catch {
    // not Linux: os.cpus() is enough
  }
  return [
    `- Date: ${new Date().toISOString()}`,
    `- Command: \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).map(quote).join(" ")}` : ""}\``,
    `- CPU: ${cpu}; ${os.cpus().length} cores; ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM; ${os.type()} ${os.release()}`,
    `- Node ${process.version}; ws ${pkgVersion("ws")}, bufferutil ${pkgVersion("bufferutil")}`,
    `- Pinning: ${canPin ? "load generator on CPU 0, server on CPU 1 (taskset)" : "none (taskset unavailable or < 2 cores)"}`,
    `- ${opts.runs} run(s); warm-up ${opts.warmupMs / 1000} s, window ${opts.windowMs / 1000} s; each server and client process first ` +
    `warmed for ${opts.serverWarmupMs / 1000} s (unmeasured) so that V8 has optimized its code; server order rotated every run; ` +
    (opts.retries > 0
      ? `re-measured up to ${opts.retries}× when other processes used > ${opts.maxOther * 100} % of a core ` +
        `(time budget for that left at the end: ${Math.max(0, opts.extraBudgetMs / 1000).toFixed(0)} s)`
      : "no re-measurement"),
    `- Our server is examples/echo/server.ts bundled with the library (esbuild, ${OURS_SERVER}) and run by plain \`node\`, ` +
    `as an application would run compiled code; ws is plain JavaScript from node_modules`,
    `- Servers, load generator and clients are separate processes (\`node --import tsx\` for TypeScript); ` +
    `the load generator reuses one mask key per connection and reads replies header-only`,
    `- Other processes' CPU, worst window: ${fmt(maxOther.pct)} % of a core${maxOther.top === "" ? "" : ` (busiest: ${maxOther.top})`}`
  ]
}

const quote = (arg: string): string => /^[\w.,:=\/-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`

const pkgVersion = (name: string): string => {
  try {
    return (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version?: string }).version ??
      "?"
  } catch {
    return "?"
  }
}

const report = (): string => {
  const out: Array<string> = ["# effect-websocket benchmark", "", ...machine(), ""]
  const wsCols = [WS_JS, WS_BU, ...OURS]
  const hdr = (cols: ReadonlyArray<ServerDef>) => ["row", ...cols.map((c) => c.label)]
  const ratioHdr = OURS.map((c) => `${c.label} / ws+bu`)
  const ratios = (section: string, r: string, key: string) => OURS.map((c) => ratio(section, r, c.id, WS_BU.id, key))
  const perOp = (section: string, r: string) =>
    [WS_BU, ...OURS].map((c) => cell(section, r, c.id, "serverUsPerOp")).join(" / ")
  const perOpHdr = `(${["ws+bu", ...OURS.map((c) => c.label)].join(" / ")})`

  const echoRows = rowsOf("echo")
  if (echoRows.length > 0) {
    out.push(
      "## Echo throughput (binary messages)",
      "",
      "msg/s and payload MB/s (10^6 B, one direction). Pipelined = 64 messages in flight per connection, fewer where",
      "noted (in-flight bytes capped at 128 MiB in total). † = the load generator used ≥ 90 % of its core: a lower bound.",
      "",
      table([...hdr(wsCols), ...ratioHdr], echoRows.map((r) => [
        r,
        ...wsCols.map((c) => rateCell("echo", r, c.id)),
        ...ratios("echo", r, "rate")
      ])),
      "",
      "### Server CPU per echoed message (µs, lower is better)",
      "",
      table(
        [...hdr(wsCols), ...ratioHdr, "load generator CPU", "other CPU, max"],
        echoRows.map((r) => [
          r,
          ...wsCols.map((c) => cell("echo", r, c.id, "serverUsPerOp")),
          ...ratios("echo", r, "serverUsPerOp"),
          maxOf("echo", r, wsCols.map((c) => c.id), "loadgenCpuPct"),
          maxOf("echo", r, wsCols.map((c) => c.id), "otherCpuPct")
        ])
      ),
      ""
    )
    const pp = echoRows.filter((r) => r.includes("ping-pong"))
    if (pp.length > 0) {
      out.push(
        "### Ping-pong round-trip time (µs, p50 / p99)",
        "",
        table(hdr(wsCols), pp.map((r) => [r, ...wsCols.map((c) => values("echo", r, c.id, "rttP50Us").length === 0 ? cell("echo", r, c.id, "rttP50Us") : `${cell("echo", r, c.id, "rttP50Us")} / ${cell("echo", r, c.id, "rttP99Us")}`)])),
        ""
      )
    }
  }
  for (const [section, title, key, unit] of [
    ["handshake", "## Handshakes per second (open + close handshake + disconnect)", "rate", ""],
    ["idle", "## Server memory per idle connection (KiB: slope of the server's RSS over 5 batches of connections)", "kibPerConn", ""]
  ] as const) {
    const rows = rowsOf(section)
    if (rows.length === 0) continue
    out.push(
      title,
      "",
      table([...hdr(wsCols), ...ratioHdr, `server µs per connection ${perOpHdr}`, "other CPU, max"], rows.map((r) => [
        r,
        ...wsCols.map((c) => cell(section, r, c.id, key, unit)),
        ...ratios(section, r, key),
        perOp(section, r),
        maxOf(section, r, wsCols.map((c) => c.id), "otherCpuPct")
      ])),
      ""
    )
  }
  const defl = rowsOf("deflate")
  if (defl.length > 0) {
    const cols = [WS_BU, ...OURS]
    out.push(
      "## permessage-deflate echo (JSON-like text, server context takeover)",
      "",
      "The load generator sends pre-compressed messages (client_no_context_takeover, ≥ 128 KiB of distinct text) and",
      "counts, rather than inflates, the replies. MB/s is of uncompressed text.",
      "",
      table(
        [...hdr(cols), ...ratioHdr, `server µs/msg ${perOpHdr}`, "other CPU, max"],
        defl.map((r) => [
          r,
          ...cols.map((c) => rateCell("deflate", r, c.id)),
          ...ratios("deflate", r, "rate"),
          perOp("deflate", r),
          maxOf("deflate", r, cols.map((c) => c.id), "otherCpuPct")
        ])
      ),
      ""
    )
  }
  const cl = rowsOf("clients")
  if (cl.length > 0) {
    out.push(
      "## Clients against the ws + bufferutil server",
      "",
      "msg/s, and the client's own CPU per message (µs).",
      "",
      table(
        [
          "row",
          ...CLIENT_IMPLS.map((c) => `${c} client`),
          ...CLIENT_IMPLS.slice(1).flatMap((c) => [`${c} / ws (msg/s)`, `${c} / ws (client µs/msg)`])
        ],
        cl.map((r) => [
          r,
          ...CLIENT_IMPLS.map((c) =>
            values("clients", r, c, "rate").length === 0
              ? cell("clients", r, c, "rate")
              : `${cell("clients", r, c, "rate")} · ${cell("clients", r, c, "clientUsPerMsg", " µs")}`
          ),
          ...CLIENT_IMPLS.slice(1).flatMap((c) => [
            ratio("clients", r, c, "ws", "rate"),
            ratio("clients", r, c, "ws", "clientUsPerMsg")
          ])
        ])
      ),
      ""
    )
  }
  const tcp = rowsOf("tcp")
  if (tcp.length > 0) {
    const cols = [TCP_DATA, TCP_PIPE].filter((c) => tcp.some((r) => samples.has(keyOf("tcp", r, c.id))))
    out.push(
      "## Loopback TCP ceiling (plain net.Socket echo server, same load generator and pinning)",
      "",
      table(
        hdr(cols),
        tcp.map((r) => [
          r,
          ...cols.map((c) =>
            r.includes("ping-pong")
              ? `${cell("tcp", r, c.id, "rate", " round trips/s")}`
              : `${cell("tcp", r, c.id, "mbps", " MB/s")}, server ${cell("tcp", r, c.id, "serverCpuPct", " %")}`
          )
        ])
      ),
      ""
    )
  }
  for (const [section, title] of [
    ["mask", "## Micro: masking (GB/s, in place, cache-hot)"],
    ["utf8", "## Micro: UTF-8 validation (GB/s)"]
  ] as const) {
    const rows = rowsOf(section)
    if (rows.length === 0) continue
    const sizes = [16, 1024, 64 * KiB, MiB]
    out.push(title, "", table(["implementation", ...sizes.map(sizeLabel)], rows.map((r) => [r, ...sizes.map((s) => cell(section, r, String(s), "gbps"))])), "")
  }
  if (wasmDeflateTable !== "") {
    out.push(
      "## Micro: Codec.layerWasm deflate and inflate against node:zlib's synchronous calls (test/bench/wasm-micro.ts)",
      "",
      wasmDeflateTable,
      ""
    )
  }
  if (notes.size > 0) {
    out.push("Notes:", "")
    for (const [text, n] of notes) out.push(`- [${n}] ${text.replace(/\s+/g, " ")}`)
    out.push("")
  }
  return out.join("\n")
}

// ---------------------------------------------------------------------------

const listRows = () => {
  for (const g of loadGroups) {
    for (const s of g.specs) process.stdout.write(`${sectionOf(s)} ${s.label}\n`)
  }
  for (const r of clientRows) process.stdout.write(`clients ${r.label}\n`)
  for (const m of microGroups) process.stdout.write(`${m} micro\n`)
  if (wasmDeflateMicro) process.stdout.write("wasm-deflate micro\n")
}

const main = async () => {
  if (flags.has("list")) return listRows()
  const t0 = Date.now()
  try {
    buildOurs()
    buildClients()
    oursBuildError = undefined
  } catch (e) {
    oursBuildError = `could not bundle ${OURS_SERVER}: ${e instanceof Error ? e.message : String(e)}`
  }
  progress(`bench: ${opts.quick ? "quick, " : ""}${opts.runs} run(s), pinning ${canPin ? "on" : "off"}`)
  for (let run = 0; run < opts.runs; run++) {
    progress(`run ${run + 1}/${opts.runs}`)
    for (const m of microGroups) await runMicro(m, run)
    for (const g of loadGroups) {
      if (g.specs.length === 0 || g.columns.length === 0) continue
      progress(` ${g.name}`)
      await runLoadGroup(g, run)
    }
    if (clientRows.length > 0) {
      progress(" clients")
      await runClients(run)
    }
  }
  if (wasmDeflateMicro) await runWasmDeflateMicro()
  await loadgen.stop()
  const md = report()
  process.stdout.write(md + "\n")
  mkdirSync(dirname(opts.out), { recursive: true })
  writeFileSync(opts.out, md + "\n")
  writeFileSync(opts.out.replace(/\.md$/, "") + ".json", JSON.stringify(Object.fromEntries(samples), null, 1))
  progress(`bench: ${((Date.now() - t0) / 1000).toFixed(0)} s; wrote ${relative(process.cwd(), opts.out)}`)
}

main().then(
  () => {
    killAll()
    process.exit(0)
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`)
    killAll()
    process.exit(1)
  }
)
