/**
 * The load generator: a lean raw-socket WebSocket client, the same for every
 * server. It performs handshakes itself, pre-builds masked frames (one mask
 * key per connection: RFC 6455 wants one per frame, servers cannot tell),
 * scans replies header-only and counts messages and bytes. It reads the
 * server's CPU time (/proc/PID/stat) and other processes' CPU over each timed
 * window.
 *
 *   node --import tsx test/bench/loadgen.ts --url ws://127.0.0.1:PORT [--server-pid PID]
 *        [--warmup MS] [--window MS] [--settle MS] [--retries N] [--max-other FRACTION] [--quiet-wait MS]
 *        ( --specs JSON | --mode echo|handshake|idle|tcp [--conns N] [--inflight N]
 *          [--size BYTES] [--deflate] [--parallel N] )
 *   node --import tsx test/bench/loadgen.ts --stdin      (the harness: one JSON `Job` per line)
 *
 * Prints one JSON line (a `Result`) per test on stdout.
 */
import { randomBytes } from "node:crypto"
import * as net from "node:net"
import { resolve } from "node:path"
import { createInterface } from "node:readline"
import { pathToFileURL } from "node:url"
import { performance } from "node:perf_hooks"
import * as zlib from "node:zlib"
import { jsonLike } from "../support/jsonLike.js"
import { numberFlag, parseArgs, percentile, sleep } from "./child.js"
import { cpuSeconds, otherCpu, rssBytes, snapshotOthers } from "./procstat.js"
import type { Snapshot } from "./procstat.js"
import {
  buildFrame,
  checkUpgrade,
  closePayload,
  FrameScanner,
  headerLength,
  newKey,
  Opcode,
  parseClose,
  parseUpgradeResponse,
  upgradeRequest,
  writeFrame,
  writeHeader
} from "./wire.js"

export type Spec =
  | {
    readonly mode: "echo"
    readonly label: string
    readonly conns: number
    /** Messages in flight per connection (1 = ping-pong). */
    readonly inflight: number
    readonly size: number
    /** permessage-deflate with JSON-like text instead of binary. */
    readonly deflate: boolean
  }
  | { readonly mode: "handshake"; readonly label: string; readonly parallel: number }
  | { readonly mode: "idle"; readonly label: string; readonly conns: number }
  | {
    /** Raw TCP echo (no WebSocket): `size`-byte units, `inflight` of them in flight. */
    readonly mode: "tcp"
    readonly label: string
    readonly size: number
    readonly inflight: number
  }

export interface Result {
  readonly label: string
  readonly mode: Spec["mode"]
  readonly ok: boolean
  readonly error?: string
  /** Length of the timed window, seconds. */
  readonly seconds: number
  /** Messages echoed, handshakes completed, or connections opened. */
  readonly count: number
  readonly rate: number
  /** Payload MB/s (10^6 B) in one direction; uncompressed size for deflate. */
  readonly mbps: number
  readonly rttP50Us?: number
  readonly rttP99Us?: number
  readonly compressedReplies?: number
  readonly kibPerConn?: number
  readonly serverCpuPct: number
  /** Server CPU µs per message / handshake / connection. */
  readonly serverUsPerOp: number
  readonly loadgenCpuPct: number
  /** Other processes' CPU over the window, % of one core. */
  readonly otherCpuPct: number
  readonly otherTop: string
  readonly attempts: number
}

interface Common {
  readonly host: string
  readonly port: number
  readonly path: string
  readonly serverPid: number
  readonly warmupMs: number
  readonly windowMs: number
  /** Idle mode: longest wait for the server's RSS to settle. */
  readonly settleMs: number
}

// ---------------------------------------------------------------------------
// Window measurement

interface Mark {
  readonly t: number
  readonly server: number
  readonly self: NodeJS.CpuUsage
  readonly others: Snapshot
  /** When the /proc scan happened (its midpoint): the scan is slow, so other processes get their own window. */
  readonly othersT: number
}

const excluded = (serverPid: number): ReadonlySet<number> => new Set([process.pid, process.ppid, serverPid])

const scan = (serverPid: number): { others: Snapshot; othersT: number } => {
  const t0 = performance.now()
  const others = snapshotOthers(excluded(serverPid))
  return { others, othersT: (t0 + performance.now()) / 2 }
}

/** Start of a window: the slow /proc scan first, then the fast readings. */
const markStart = (serverPid: number): Mark => {
  const o = scan(serverPid)
  return { ...o, self: process.cpuUsage(), server: cpuSeconds(serverPid), t: performance.now() }
}

/** End of a window: the fast readings first, then the slow /proc scan. */
const markEnd = (serverPid: number): Mark => {
  const t = performance.now()
  const server = cpuSeconds(serverPid)
  const self = process.cpuUsage()
  return { t, server, self, ...scan(serverPid) }
}

interface Window {
  readonly seconds: number
  readonly serverCpu: number
  readonly loadgenCpuPct: number
  readonly otherCpuPct: number
  readonly otherTop: string
}

const windowOf = (a: Mark, b: Mark): Window => {
  const seconds = (b.t - a.t) / 1000
  const self = (b.self.user - a.self.user + b.self.system - a.self.system) / 1e6
  const other = otherCpu(a.others, b.others)
  return {
    seconds,
    serverCpu: b.server - a.server,
    loadgenCpuPct: (self / seconds) * 100,
    otherCpuPct: (other.seconds / ((b.othersT - a.othersT) / 1000)) * 100,
    otherTop: other.top
  }
}

const result = (
  spec: Spec,
  w: Window,
  count: number,
  payloadBytes: number,
  extra: Partial<Result> = {}
): Result =>
  count === 0
    ? failed(spec, `nothing completed within the ${w.seconds.toFixed(2)} s window (other processes: ${w.otherCpuPct.toFixed(0)} % of a core)`)
    : ({
  label: spec.label,
  mode: spec.mode,
  ok: true,
  seconds: w.seconds,
  count,
  rate: count / w.seconds,
  mbps: payloadBytes / w.seconds / 1e6,
  serverCpuPct: (w.serverCpu / w.seconds) * 100,
  serverUsPerOp: count > 0 ? (w.serverCpu / count) * 1e6 : Number.NaN,
  loadgenCpuPct: w.loadgenCpuPct,
  otherCpuPct: w.otherCpuPct,
  otherTop: w.otherTop,
  attempts: 1,
  ...extra
})

const failed = (spec: Spec, error: string): Result => ({
  label: spec.label,
  mode: spec.mode,
  ok: false,
  error,
  seconds: 0,
  count: 0,
  rate: Number.NaN,
  mbps: Number.NaN,
  serverCpuPct: Number.NaN,
  serverUsPerOp: Number.NaN,
  loadgenCpuPct: Number.NaN,
  otherCpuPct: Number.NaN,
  otherTop: "",
  attempts: 1
})

// ---------------------------------------------------------------------------
// Connections

interface Opened {
  readonly socket: net.Socket
  readonly rest: Uint8Array
  readonly extensions: string
}

const HANDSHAKE_TIMEOUT_MS = 10_000

/** Connects and performs the opening handshake. */
export const openWs = (c: Pick<Common, "host" | "port" | "path">, extensions?: string): Promise<Opened> =>
  new Promise((resolve, reject) => {
    const key = newKey()
    const socket = net.connect({ host: c.host, port: c.port })
    socket.setNoDelay(true)
    let buf: Uint8Array = new Uint8Array(0)
    const timer = setTimeout(() => fail(new Error("handshake timed out")), HANDSHAKE_TIMEOUT_MS)
    const cleanup = () => {
      clearTimeout(timer)
      socket.off("data", onData)
      socket.off("error", fail)
      socket.off("close", onClose)
    }
    const fail = (e: Error) => {
      cleanup()
      socket.destroy()
      reject(e)
    }
    const onClose = () => fail(new Error("connection closed during the handshake"))
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      const res = parseUpgradeResponse(buf)
      if (res === undefined) return
      const problem = checkUpgrade(res, key)
      if (problem !== undefined) return fail(new Error(`handshake refused: ${problem}`))
      cleanup()
      // Our listeners are attached synchronously by the caller's continuation,
      // before the next I/O callback can deliver more data.
      resolve({ socket, rest: res.rest, extensions: res.headers.get("sec-websocket-extensions") ?? "" })
    }
    socket.on("data", onData)
    socket.on("error", fail)
    socket.on("close", onClose)
    socket.on("connect", () => socket.write(upgradeRequest(`${c.host}:${c.port}`, c.path, key, extensions)))
  })

/** Opens `n` connections, `concurrency` handshakes at a time. */
const openMany = async (
  c: Common,
  n: number,
  concurrency: number,
  extensions?: string
): Promise<Array<Opened>> => {
  const out: Array<Opened> = []
  let next = 0
  let error: unknown = undefined
  const worker = async () => {
    while (next < n && error === undefined) {
      next++
      try {
        const o = await openWs(c, extensions)
        o.socket.on("error", () => {})
        out.push(o)
      } catch (e) {
        error = e
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker))
  if (error !== undefined) {
    for (const o of out) o.socket.destroy()
    throw error
  }
  return out
}

// ---------------------------------------------------------------------------
// Pre-built frames

/** Consecutive pre-built frames, sent cyclically. */
interface Pool {
  readonly buf: Buffer
  /** Frame boundaries: frame i is buf[offsets[i], offsets[i + 1]). */
  readonly offsets: Int32Array | Float64Array
  readonly count: number
}

const poolOf = (frames: ReadonlyArray<Uint8Array>): Pool => {
  const total = frames.reduce((s, f) => s + f.length, 0)
  const buf = Buffer.allocUnsafe(total)
  const offsets = new Float64Array(frames.length + 1)
  let o = 0
  frames.forEach((f, i) => {
    offsets[i] = o
    buf.set(f, o)
    o += f.length
  })
  offsets[frames.length] = o
  return { buf, offsets, count: frames.length }
}

/** `count` copies of one masked binary frame of `size` random bytes (the random bytes are shared by all connections). */
const randomPayloads = new Map<number, Buffer>()

/** `size` random bytes, the same for every connection. */
const sharedPayload = (size: number): Buffer => {
  let payload = randomPayloads.get(size)
  if (payload === undefined) {
    payload = randomBytes(size)
    randomPayloads.set(size, payload)
  }
  return payload
}

/** From this size on, binary frames are sent as header + shared payload (two writes, corked). */
const LARGE_MESSAGE = 64 * 1024

/** The header of a masked binary frame of `size` bytes, mask key included. */
export const maskedHeader = (size: number, maskKey: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(headerLength(size, true))
  writeHeader(out, 0, Opcode.Binary, size, { maskKey })
  return out
}

export const binaryPool = (size: number, count: number, maskKey: Uint8Array): Pool => {
  const payload = sharedPayload(size)
  const frameLen = headerLength(size, true) + size
  const buf = Buffer.allocUnsafe(frameLen * count)
  // The random bytes go on the wire as they are: the server unmasks them into other random bytes.
  writeFrame(buf, 0, Opcode.Binary, payload, { maskKey, premasked: true })
  for (let i = 1; i < count; i++) buf.copy(buf, i * frameLen, 0, frameLen)
  const offsets = new Float64Array(count + 1)
  for (let i = 0; i <= count; i++) offsets[i] = i * frameLen
  return { buf, offsets, count }
}

/** JSON-like text (the tests' generator): what the deflate rows send. */
export { jsonLike } from "../support/jsonLike.js"

/** Compresses one message on its own (no context takeover) and strips the 00 00 FF FF tail. */
const deflateMessage = (data: Uint8Array): Uint8Array => {
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
  return out.subarray(0, out.length - 4)
}

const compressedCache = new Map<string, Uint8Array>()

/** Distinct compressed text frames: at least `min` of them and ≥ 128 KiB of text. */
export const deflatePool = (size: number, min: number, maskKey: Uint8Array): Pool => {
  const count = Math.max(min, Math.ceil((128 * 1024) / size))
  const frames: Array<Uint8Array> = []
  for (let i = 0; i < count; i++) {
    const id = `${size}/${i}`
    let payload = compressedCache.get(id)
    if (payload === undefined) {
      payload = deflateMessage(jsonLike(size, i + 1))
      compressedCache.set(id, payload)
    }
    frames.push(buildFrame(Opcode.Text, payload, { maskKey, rsv1: true }))
  }
  return poolOf(frames)
}

// ---------------------------------------------------------------------------
// Echo

/** Total bytes in flight across all connections is capped, or 50 × 64 × 1 MiB would be 3.2 GiB. */
export const MAX_INFLIGHT_BYTES = 128 * 1024 * 1024

export const effectiveInflight = (conns: number, inflight: number, size: number): number =>
  Math.max(1, Math.min(inflight, Math.floor(MAX_INFLIGHT_BYTES / (conns * size))))

const runEcho = async (spec: Extract<Spec, { mode: "echo" }>, c: Common): Promise<Result> => {
  const inflight = effectiveInflight(spec.conns, spec.inflight, spec.size)
  const offer = spec.deflate ? "permessage-deflate; client_no_context_takeover" : undefined
  const opened = await openMany(c, spec.conns, 50, offer)
  let error: string | undefined
  let stopping = false
  let recording = false
  let messages = 0
  let compressed = 0
  const rtt = new Float64Array(spec.inflight === 1 ? 1 << 20 : 0)
  let rttN = 0

  const conns = opened.map((o) => {
    if (spec.deflate && !/permessage-deflate/.test(o.extensions)) {
      error = `server did not accept permessage-deflate (Sec-WebSocket-Extensions: "${o.extensions}")`
    }
    const key = randomBytes(4)
    // Large binary messages: a per-connection header and the shared payload, so 50 connections
    // do not need 50 copies of 1 MiB frames. Small ones: one contiguous buffer, one write per batch.
    const large = !spec.deflate && spec.size >= LARGE_MESSAGE
    const pool = spec.deflate
      ? deflatePool(spec.size, inflight, key)
      : large
      ? undefined
      : binaryPool(spec.size, inflight, key)
    const largeHeader = large ? maskedHeader(spec.size, key) : undefined
    const largePayload = large ? sharedPayload(spec.size) : undefined
    const scanner = new FrameScanner()
    scanner.expectOpcode = spec.deflate ? Opcode.Text : Opcode.Binary
    if (!spec.deflate) scanner.expectLength = spec.size
    scanner.onControl = (opcode, payload) => {
      if (opcode === Opcode.Close) {
        const { code, reason } = parseClose(payload)
        error ??= `server closed the connection: ${code} ${reason}`
      }
    }
    let next = 0
    let sentAt = 0
    const socket = o.socket
    const send = (n: number) => {
      if (spec.inflight === 1) sentAt = performance.now()
      if (pool === undefined) {
        if (largeHeader === undefined || largePayload === undefined) return
        socket.cork()
        for (let i = 0; i < n; i++) {
          socket.write(largeHeader)
          socket.write(largePayload)
        }
        socket.uncork()
        return
      }
      while (n > 0) {
        const take = Math.min(n, pool.count - next)
        socket.write(pool.buf.subarray(pool.offsets[next], pool.offsets[next + take]))
        next = (next + take) % pool.count
        n -= take
      }
    }
    const onData = (chunk: Uint8Array) => {
      const done = scanner.push(chunk)
      if (done === 0) return
      if (scanner.error !== undefined) {
        error ??= scanner.error
        return
      }
      if (recording) {
        messages += done
        if (rttN < rtt.length) rtt[rttN++] = performance.now() - sentAt
      }
      if (!stopping) send(done)
    }
    socket.on("data", onData)
    socket.on("close", () => {
      if (!stopping) error ??= "connection closed by the server"
    })
    socket.on("error", (e) => {
      if (!stopping) error ??= `socket error: ${e.message}`
    })
    return {
      socket,
      start: () => {
        if (o.rest.length > 0) onData(o.rest)
        send(inflight)
      },
      scanner
    }
  })
  try {
    if (error !== undefined) return failed(spec, error)
    for (const conn of conns) conn.start()
    await sleep(c.warmupMs)
    if (error !== undefined) return failed(spec, error)
    const a = markStart(c.serverPid)
    recording = true
    await sleep(c.windowMs)
    recording = false
    const b = markEnd(c.serverPid)
    if (error !== undefined) return failed(spec, error)
    for (const conn of conns) compressed += conn.scanner.compressedMessages
    const sorted = rtt.subarray(0, rttN).sort()
    const w = windowOf(a, b)
    return result(spec, w, messages, messages * spec.size, {
      ...(spec.inflight === 1 ? { rttP50Us: percentile(sorted, 50) * 1000, rttP99Us: percentile(sorted, 99) * 1000 } : {}),
      ...(spec.deflate ? { compressedReplies: compressed } : {})
    })
  } finally {
    stopping = true
    for (const conn of conns) conn.socket.destroy()
  }
}

// ---------------------------------------------------------------------------
// Handshakes: open + close handshake + disconnect, `parallel` at a time

/** One full connection lifetime; resolves when the TCP connection is closed. */
const oneLifetime = async (c: Common, closeFrame: Uint8Array): Promise<void> => {
  const o = await openWs(c)
  const socket = o.socket
  await new Promise<void>((resolve, reject) => {
    const scanner = new FrameScanner()
    let gotClose = false
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(gotClose ? "server did not close the TCP connection" : "no close frame from the server"))
    }, 5000)
    scanner.onControl = (opcode) => {
      if (opcode === Opcode.Close) gotClose = true
    }
    // The server closes TCP first (RFC 6455 §7.1.1); node then ends our side.
    socket.on("data", (chunk: Uint8Array) => scanner.push(chunk))
    socket.on("error", () => {})
    socket.on("close", () => {
      clearTimeout(timer)
      if (gotClose) resolve()
      else reject(new Error("connection closed without a close frame"))
    })
    if (o.rest.length > 0) scanner.push(o.rest)
    socket.write(closeFrame)
  })
}

const runHandshakes = async (spec: Extract<Spec, { mode: "handshake" }>, c: Common): Promise<Result> => {
  let stop = false
  let recording = false
  let count = 0
  let error: string | undefined
  const worker = async () => {
    const closeFrame = buildFrame(Opcode.Close, closePayload(1000), { maskKey: randomBytes(4) })
    while (!stop && error === undefined) {
      try {
        await oneLifetime(c, closeFrame)
        if (recording) count++
      } catch (e) {
        error ??= e instanceof Error ? e.message : String(e)
      }
    }
  }
  const workers = Array.from({ length: spec.parallel }, worker)
  await sleep(c.warmupMs)
  const a = markStart(c.serverPid)
  recording = true
  await sleep(c.windowMs)
  recording = false
  const b = markEnd(c.serverPid)
  stop = true
  await Promise.all(workers)
  if (error !== undefined) return failed(spec, error)
  return result(spec, windowOf(a, b), count, 0)
}

// ---------------------------------------------------------------------------
// Idle connections: the server's RSS growth

const stableRss = async (pid: number, maxMs: number): Promise<number> => {
  let last = rssBytes(pid)
  const deadline = performance.now() + maxMs
  while (performance.now() < deadline) {
    await sleep(250)
    const now = rssBytes(pid)
    if (Math.abs(now - last) < last * 0.002) return now
    last = now
  }
  return last
}

const runIdle = async (spec: Extract<Spec, { mode: "idle" }>, c: Common): Promise<Result> => {
  if (!Number.isFinite(rssBytes(c.serverPid))) return failed(spec, "cannot read the server's RSS (/proc)")
  // A first batch warms the server's accept path so lazy set-up is not billed per connection.
  const warm = await openMany(c, 100, 50)
  const all = [...warm]
  try {
    // RSS after each of 5 batches; the least-squares slope is per connection. One GC that
    // returns start-up garbage mid-way would ruin a before/after difference, less so a slope.
    const points: Array<[number, number]> = [[0, await stableRss(c.serverPid, c.settleMs)]]
    const a = markStart(c.serverPid)
    const batches = 5
    let opened = 0
    for (let i = 1; i <= batches; i++) {
      const n = Math.round((spec.conns * i) / batches) - opened
      all.push(...(await openMany(c, n, 100)))
      opened += n
      await sleep(Math.min(200, c.settleMs / 4))
      points.push([opened, await stableRss(c.serverPid, c.settleMs / 2)])
    }
    const b = markEnd(c.serverPid)
    const mx = points.reduce((s, p) => s + p[0], 0) / points.length
    const my = points.reduce((s, p) => s + p[1], 0) / points.length
    const slope = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0) /
      points.reduce((s, p) => s + (p[0] - mx) ** 2, 0)
    let closed = 0
    for (const o of all) if (o.socket.destroyed) closed++
    if (closed > 0) return failed(spec, `${closed} idle connections were closed by the server`)
    return result(spec, windowOf(a, b), spec.conns, 0, { kibPerConn: slope / 1024 })
  } finally {
    for (const o of all) o.socket.destroy()
  }
}

// ---------------------------------------------------------------------------
// Raw TCP echo: the ceiling

const runTcp = async (spec: Extract<Spec, { mode: "tcp" }>, c: Common): Promise<Result> => {
  const socket = net.connect({ host: c.host, port: c.port })
  socket.setNoDelay(true)
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve)
    socket.once("error", reject)
  })
  let error: string | undefined
  let stopping = false
  let recording = false
  let received = 0
  let units = 0
  let counted = 0
  let sentAt = 0
  const rtt = new Float64Array(spec.inflight === 1 ? 1 << 20 : 0)
  let rttN = 0
  const chunk = randomBytes(spec.size)
  const send = (n: number) => {
    if (spec.inflight === 1) sentAt = performance.now()
    socket.cork()
    for (let i = 0; i < n; i++) socket.write(chunk)
    socket.uncork()
  }
  socket.on("data", (d: Uint8Array) => {
    received += d.length
    const done = Math.floor(received / spec.size) - units
    if (done === 0) return
    units += done
    if (recording) {
      counted += done
      if (rttN < rtt.length) rtt[rttN++] = performance.now() - sentAt
    }
    if (!stopping) send(done)
  })
  socket.on("error", (e) => {
    if (!stopping) error ??= e.message
  })
  socket.on("close", () => {
    if (!stopping) error ??= "connection closed by the server"
  })
  try {
    send(spec.inflight)
    await sleep(c.warmupMs)
    const a = markStart(c.serverPid)
    recording = true
    await sleep(c.windowMs)
    recording = false
    const b = markEnd(c.serverPid)
    if (error !== undefined) return failed(spec, error)
    const sorted = rtt.subarray(0, rttN).sort()
    return result(spec, windowOf(a, b), counted, counted * spec.size,
      spec.inflight === 1 ? { rttP50Us: percentile(sorted, 50) * 1000, rttP99Us: percentile(sorted, 99) * 1000 } : {})
  } finally {
    stopping = true
    socket.destroy()
  }
}

// ---------------------------------------------------------------------------

/** Waits (up to `maxMs`) until other processes use less than `maxOther` of a core. */
const waitQuiet = async (serverPid: number, maxOther: number, maxMs: number): Promise<void> => {
  const deadline = performance.now() + maxMs
  while (performance.now() < deadline) {
    const a = markStart(serverPid)
    await sleep(200)
    const w = windowOf(a, markEnd(serverPid))
    if (w.otherCpuPct < maxOther * 100) return
  }
}

export const runSpec = async (spec: Spec, c: Common): Promise<Result> => {
  try {
    switch (spec.mode) {
      case "echo":
        return await runEcho(spec, c)
      case "handshake":
        return await runHandshakes(spec, c)
      case "idle":
        return await runIdle(spec, c)
      case "tcp":
        return await runTcp(spec, c)
    }
  } catch (e) {
    return failed(spec, e instanceof Error ? e.message : String(e))
  }
}

const specFromFlags = (flags: ReadonlyMap<string, string>): Spec => {
  const mode = flags.get("mode") ?? "echo"
  const conns = numberFlag(flags, "conns", 1)
  const inflight = numberFlag(flags, "inflight", 1)
  const size = numberFlag(flags, "size", 16)
  switch (mode) {
    case "echo":
      return { mode, label: `echo ${conns}×${inflight}×${size}`, conns, inflight, size, deflate: flags.has("deflate") }
    case "handshake":
      return { mode, label: "handshakes", parallel: numberFlag(flags, "parallel", 50) }
    case "idle":
      return { mode, label: "idle", conns: numberFlag(flags, "conns", 5000) }
    case "tcp":
      return { mode, label: `tcp ${inflight}×${size}`, size, inflight }
    default:
      throw new Error(`unknown --mode ${mode}`)
  }
}

/** One batch of tests against one server. */
export interface Job {
  readonly url: string
  readonly serverPid: number
  readonly warmupMs: number
  readonly windowMs: number
  readonly settleMs: number
  /** Re-measure up to this many times when other processes used more than `maxOther` of a core. */
  readonly retries: number
  readonly maxOther: number
  /** Before each test, wait up to this long for other processes to go quiet. */
  readonly quietWaitMs: number
  /** Wall time this job may spend on quiet waits and re-measurements in total. */
  readonly extraBudgetMs: number
  /**
   * Load the server this long, unmeasured, before its first echo or handshake
   * test: a server just started runs 2-3× slower for its first second or two
   * (V8 has not optimized its code yet), which would count against whichever
   * server has the most code to warm.
   */
  readonly serverWarmupMs?: number
  readonly specs: ReadonlyArray<Spec>
}

/** A few of the job's echo and handshake tests, briefly, their results dropped. */
const warmServer = async (job: Job, common: Common): Promise<void> => {
  const total = job.serverWarmupMs ?? 0
  if (total <= 0) return
  const echoes = job.specs.filter((s) => s.mode === "echo")
  // the paths that differ: one connection ping-pong, many pipelined, the largest messages, handshakes
  const picks = new Set<Spec>()
  const first = echoes.find((s) => s.conns === 1 && s.inflight === 1) ?? echoes[0]
  if (first !== undefined) picks.add(first)
  const many = echoes.find((s) => s.conns > 1 && s.inflight > 1)
  if (many !== undefined) picks.add(many)
  const largest = echoes.reduce<Spec | undefined>((a, s) => (a === undefined || (a.mode === "echo" && s.size > a.size) ? s : a), undefined)
  if (largest !== undefined) picks.add(largest)
  const handshake = job.specs.find((s) => s.mode === "handshake")
  if (handshake !== undefined) picks.add(handshake)
  if (picks.size === 0) return
  const each = total / picks.size
  for (const spec of picks) {
    await runSpec(spec, { ...common, warmupMs: Math.max(0, each - 50), windowMs: 50 })
    await sleep(50)
  }
}


/** Runs a job's tests, printing one `Result` line each; returns the wall time spent on quiet waits and retries. */
const runJob = async (job: Job): Promise<number> => {
  const url = new URL(job.url)
  const common: Common = {
    host: url.hostname,
    port: Number(url.port || 80),
    path: url.pathname + url.search,
    serverPid: job.serverPid,
    warmupMs: job.warmupMs,
    windowMs: job.windowMs,
    settleMs: job.settleMs
  }
  let extra = 0
  let refused: string | undefined
  let warmed = false
  for (const spec of job.specs) {
    // after the idle-memory test, which wants a fresh server
    if (!warmed && spec.mode !== "idle" && spec.mode !== "tcp") {
      warmed = true
      await warmServer(job, common)
    }
    // A server that refuses handshakes would make every later test wait for its timeout.
    if (refused !== undefined) {
      process.stdout.write(JSON.stringify(failed(spec, `not run: ${refused}`)) + "\n")
      continue
    }
    let r: Result | undefined
    for (let attempt = 1; attempt <= job.retries + 1; attempt++) {
      const t0 = performance.now()
      const wait = Math.min(job.quietWaitMs, job.extraBudgetMs - extra)
      if (wait > 0) await waitQuiet(common.serverPid, job.maxOther, wait)
      const t1 = performance.now()
      const this_ = await runSpec(spec, common)
      // The first attempt costs only its quiet wait; a re-measurement costs all of it.
      extra += (attempt > 1 ? performance.now() : t1) - t0
      // Keep the attempt least disturbed by other work.
      if (r === undefined || (this_.ok && (!r.ok || this_.otherCpuPct < r.otherCpuPct))) r = { ...this_, attempts: attempt }
      if (!this_.ok || this_.otherCpuPct <= job.maxOther * 100 || extra >= job.extraBudgetMs) break
      await sleep(100)
    }
    if (r !== undefined && !r.ok && /handshake|ECONNREFUSED/.test(r.error ?? "")) refused = r.error
    process.stdout.write(JSON.stringify(r) + "\n")
    // Let the server settle (closing connections, GC) before the next test.
    await sleep(100)
  }
  return Math.max(0, extra)
}

const main = async () => {
  const { flags } = parseArgs(process.argv.slice(2))
  if (flags.has("stdin")) {
    // Harness mode: one JSON `Job` per line, `{"done":true}` after each; exit at end of input.
    const rl = createInterface({ input: process.stdin })
    // Started by the harness: its death (stdin closed) ends us at once, even mid-job.
    if (process.env["BENCH_CHILD"] === "1") rl.on("close", () => process.exit(0))
    for await (const line of rl) {
      if (line.trim() === "") continue
      const extraMs = await runJob(JSON.parse(line) as Job)
      process.stdout.write(JSON.stringify({ done: true, extraMs }) + "\n")
    }
    process.exit(0)
  }
  const specsJson = flags.get("specs")
  await runJob({
    url: flags.get("url") ?? "ws://127.0.0.1:8080/",
    serverPid: numberFlag(flags, "server-pid", 0),
    warmupMs: numberFlag(flags, "warmup", 300),
    windowMs: numberFlag(flags, "window", 1000),
    settleMs: numberFlag(flags, "settle", 3000),
    retries: numberFlag(flags, "retries", 0),
    maxOther: numberFlag(flags, "max-other", 0.25),
    quietWaitMs: numberFlag(flags, "quiet-wait", 0),
    extraBudgetMs: numberFlag(flags, "extra-budget", 60_000),
    specs: specsJson !== undefined ? (JSON.parse(specsJson) as Array<Spec>) : [specFromFlags(flags)]
  })
  process.exit(0)
}

// the file name too: bundled into another entry point (inproc.ts), import.meta.url is that bundle's
if (
  process.argv[1] !== undefined && /loadgen\.[cm]?[jt]s$/.test(process.argv[1]) &&
  import.meta.url === pathToFileURL(resolve(process.argv[1])).href
) {
  main().catch((e: unknown) => {
    process.stderr.write(`loadgen: ${e instanceof Error ? e.stack : String(e)}\n`)
    process.exit(1)
  })
}
