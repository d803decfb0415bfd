/**
 * Client bench: our client vs the ws client against the same server.
 *
 *   node --import tsx test/bench/clients.ts --impl ws|ours-js|ours-wasm --url ws://127.0.0.1:PORT
 *        ( --rows JSON | [--size BYTES] [--inflight N] ) [--warmup MS] [--window MS] [--server-pid PID]
 *        [--process-warmup MS]
 *
 * `--process-warmup`: before the first row, every row runs unmeasured for a
 * share of this time, so that V8 has optimized the client's code.
 *
 * For each row, on a fresh connection, echoes binary messages through the
 * server with `inflight` in flight and prints one JSON line (`ClientResult`):
 * messages/s and the client's own CPU per message, which is what separates
 * clients.
 */
import { randomBytes } from "node:crypto"
import { performance } from "node:perf_hooks"
import * as Effect from "effect/Effect"
import WebSocket from "ws"
import { Codec, WebSocket as Ours } from "../../src/index.js"
import { exitWithParent, numberFlag, parseArgs, percentile, sleep } from "./child.js"
import { cpuSeconds, otherCpu, snapshotOthers } from "./procstat.js"

export interface ClientResult {
  readonly impl: string
  readonly label: string
  readonly ok: boolean
  readonly skipped?: string
  readonly error?: string
  readonly seconds: number
  readonly count: number
  readonly rate: number
  readonly mbps: number
  readonly rttP50Us?: number
  readonly rttP99Us?: number
  readonly clientCpuPct: number
  readonly clientUsPerMsg: number
  readonly serverUsPerMsg: number
  readonly otherCpuPct: number
  readonly otherTop: string
}

interface State {
  recording: boolean
  stop: boolean
  count: number
  sentAt: number
  error: string | undefined
  readonly rtt: Float64Array
  rttN: number
}

const onReply = (s: State, ok: boolean, what: string) => {
  if (!ok) s.error ??= what
  if (s.recording) {
    s.count++
    if (s.rttN < s.rtt.length) s.rtt[s.rttN++] = performance.now() - s.sentAt
  }
}

const runWs = async (url: string, payload: Buffer, inflight: number, s: State): Promise<() => Promise<void>> => {
  const ws = new WebSocket(url, { perMessageDeflate: false })
  await new Promise<void>((resolve, reject) => {
    ws.once("open", resolve)
    ws.once("error", reject)
  })
  ws.on("error", (e) => (s.error ??= e.message))
  ws.on("message", (data, isBinary) => {
    const len = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength
    onReply(s, isBinary && len === payload.length, `bad reply (binary ${isBinary}, ${len} B)`)
    if (!s.stop) {
      s.sentAt = performance.now()
      ws.send(payload, { binary: true })
    }
  })
  s.sentAt = performance.now()
  for (let i = 0; i < inflight; i++) ws.send(payload, { binary: true })
  return () =>
    new Promise<void>((resolve) => {
      ws.once("close", () => resolve())
      ws.close(1000)
      setTimeout(() => {
        ws.terminate()
        resolve()
      }, 2000)
    })
}

const runOurs = async (
  url: string,
  payload: Buffer,
  inflight: number,
  s: State,
  codec: "js" | "wasm"
): Promise<() => Promise<void>> => {
  let opened: () => void = () => {}
  const ready = new Promise<void>((resolve) => (opened = resolve))
  const program = Effect.gen(function*() {
    const { conn } = yield* Ours.dial(url, { readLimit: -1 })
    opened()
    s.sentAt = performance.now()
    for (let i = 0; i < inflight; i++) yield* conn.write("binary", payload)
    while (!s.stop) {
      const msg = yield* conn.read
      onReply(s, msg.type === "binary" && msg.data.length === payload.length, `bad reply (${msg.type}, ${msg.data.length} B)`)
      s.sentAt = performance.now()
      yield* conn.write("binary", payload)
    }
    yield* conn.close(1000, "")
  }).pipe(Effect.scoped, Effect.provide(codec === "wasm" ? Codec.layerWasm : Codec.layerJs))
  const done = Effect.runPromise(program).catch((e: unknown) => {
    s.error ??= String(e)
    opened()
  })
  await ready
  if (s.error !== undefined) throw new Error(s.error)
  return () => Promise.race([done, sleep(5000)])
}

export interface ClientRow {
  readonly label: string
  readonly size: number
  readonly inflight: number
}

const main = async () => {
  exitWithParent()
  const { flags } = parseArgs(process.argv.slice(2))
  const impl = flags.get("impl") ?? "ws"
  const url = flags.get("url") ?? "ws://127.0.0.1:8080/"
  const warmupMs = numberFlag(flags, "warmup", 300)
  const windowMs = numberFlag(flags, "window", 1000)
  const processWarmupMs = numberFlag(flags, "process-warmup", 0)
  const serverPid = numberFlag(flags, "server-pid", 0)
  const rowsJson = flags.get("rows")
  const rows: ReadonlyArray<ClientRow> = rowsJson !== undefined
    ? (JSON.parse(rowsJson) as Array<ClientRow>)
    : [{ label: "", size: numberFlag(flags, "size", 16), inflight: numberFlag(flags, "inflight", 1) }]
  const emit = (r: ClientResult) => process.stdout.write(JSON.stringify(r) + "\n")
  const empty = (label: string) => ({
    impl,
    label,
    seconds: 0,
    count: 0,
    rate: Number.NaN,
    mbps: Number.NaN,
    clientCpuPct: Number.NaN,
    clientUsPerMsg: Number.NaN,
    serverUsPerMsg: Number.NaN,
    otherCpuPct: Number.NaN,
    otherTop: ""
  })
  const open = (size: number, inflight: number, s: State) =>
    impl === "ws"
      ? runWs(url, randomBytes(size), inflight, s)
      : runOurs(url, randomBytes(size), inflight, s, impl === "ours-wasm" ? "wasm" : "js")
  if (processWarmupMs > 0) {
    for (const { size, inflight } of rows) {
      const s: State = { recording: false, stop: false, count: 0, sentAt: 0, error: undefined, rtt: new Float64Array(0), rttN: 0 }
      try {
        const finish = await open(size, inflight, s)
        await sleep(processWarmupMs / rows.length)
        s.stop = true
        await finish()
      } catch {
        // a failing row reports itself below
      }
    }
  }
  for (const { label, size, inflight } of rows) {
    const s: State = {
      recording: false,
      stop: false,
      count: 0,
      sentAt: 0,
      error: undefined,
      rtt: new Float64Array(inflight === 1 ? 1 << 20 : 0),
      rttN: 0
    }
    try {
      const finish = await open(size, inflight, s)
      await sleep(warmupMs)
      const ex = new Set([process.pid, process.ppid, serverPid])
      const s0 = performance.now()
      const o0 = snapshotOthers(ex)
      const c0 = process.cpuUsage()
      const srv0 = cpuSeconds(serverPid)
      const t0 = performance.now()
      s.recording = true
      await sleep(windowMs)
      s.recording = false
      const t1 = performance.now()
      const srv1 = cpuSeconds(serverPid)
      const c1 = process.cpuUsage()
      const o1 = snapshotOthers(ex)
      const s1 = performance.now()
      s.stop = true
      await finish()
      if (s.error !== undefined) throw new Error(s.error)
      const seconds = (t1 - t0) / 1000
      const self = (c1.user - c0.user + c1.system - c0.system) / 1e6
      const other = otherCpu(o0, o1)
      const sorted = s.rtt.subarray(0, s.rttN).sort()
      emit({
        impl,
        label,
        ok: true,
        seconds,
        count: s.count,
        rate: s.count / seconds,
        mbps: (s.count * size) / seconds / 1e6,
        ...(inflight === 1 ? { rttP50Us: percentile(sorted, 50) * 1000, rttP99Us: percentile(sorted, 99) * 1000 } : {}),
        clientCpuPct: (self / seconds) * 100,
        clientUsPerMsg: (self / s.count) * 1e6,
        serverUsPerMsg: ((srv1 - srv0) / s.count) * 1e6,
        otherCpuPct: (other.seconds / ((s1 - s0) / 1000)) * 100,
        otherTop: other.top
      })
    } catch (e) {
      emit({ ...empty(label), ok: false, error: e instanceof Error ? e.message : String(e) })
    }
    await sleep(100)
  }
  process.exit(0)
}

main().catch((e: unknown) => {
  process.stderr.write(`clients: ${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
