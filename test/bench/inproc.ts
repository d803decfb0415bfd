/**
 * The library's own cost per echoed message, without the network: one
 * server-side connection over an in-memory Duplex, fed pre-built masked
 * frames in batches (`inflight` frames per batch, cut into `chunk`-byte
 * reads like a socket's), each batch pushed once the previous one's replies
 * were all written. For development (profiling, before/after of an
 * optimisation), not for the report: the kernel's share is left out.
 *
 *   npx tsx test/bench/inproc.ts [--handler stream|messages|read] [--size 16] [--inflight 64]
 *        [--chunk 65536] [--codec js|wasm] [--seconds 3] [--deflate]
 */
import { randomBytes } from "node:crypto"
import { Duplex } from "node:stream"
import { performance } from "node:perf_hooks"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { Codec } from "../../src/index.js"
import type { Conn } from "../../src/Conn.js"
import * as internal from "../../src/internal/conn.js"
import { echo } from "../../examples/echo/echo.js"
import { numberFlag, parseArgs } from "./child.js"
import { deflatePool } from "./loadgen.js"
import { FrameScanner, headerLength, Opcode, writeFrame } from "./wire.js"

const { flags } = parseArgs(process.argv.slice(2))
const handlerName = flags.get("handler") ?? "stream"
const size = numberFlag(flags, "size", 16)
const inflight = numberFlag(flags, "inflight", 64)
const chunkSize = numberFlag(flags, "chunk", 65536)
const seconds = numberFlag(flags, "seconds", 3)
const codecName = flags.get("codec") ?? "js"
const deflate = flags.has("deflate")

/** A socket stand-in: writes are counted and dropped, reads are pushed by the driver. */
class FakeSocket extends Duplex {
  readonly scanner = new FrameScanner()
  onWritten: () => void = () => {}
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.scanner.push(chunk)
    cb()
    this.onWritten()
  }
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (e?: Error | null) => void): void {
    for (const c of chunks) this.scanner.push(c.chunk)
    cb()
    this.onWritten()
  }
  setNoDelay(): void {}
}

const handlers: Record<string, (conn: Conn) => Effect.Effect<unknown, unknown>> = {
  stream: echo,
  messages: (conn) => Stream.runForEach(conn.messages, (m) => conn.write(m)),
  read: (conn) => Effect.forever(Effect.flatMap(conn.read, (m) => conn.write(m))),
  // variants that isolate one part of the streaming echo
  "gen-read": (conn) =>
    Effect.gen(function*() {
      for (;;) {
        const m = yield* conn.read
        yield* conn.write(m)
      }
    }),
  "reader-write": (conn) =>
    Effect.gen(function*() {
      for (;;) {
        const { pull, type } = yield* conn.reader
        const chunks = yield* pull
        yield* pull
        yield* conn.write(type, Chunk.unsafeHead(chunks))
      }
    }),
  "read-withWriter": (conn) =>
    Effect.gen(function*() {
      for (;;) {
        const m = yield* conn.read
        yield* conn.withWriter(m.type, (w) => Effect.zipRight(w.write(m.data), w.close))
      }
    })
}

interface AllocNode {
  readonly callFrame: { functionName: string; url: string; lineNumber: number }
  readonly selfSize: number
  readonly children: ReadonlyArray<AllocNode>
}

/** Allocated bytes by function (self), heaviest first. */
const printAlloc = (root: AllocNode) => {
  const by = new Map<string, number>()
  let total = 0
  const walk = (n: AllocNode) => {
    const f = n.callFrame
    const k = `${f.functionName || "(anon)"} ${f.url.replace(/^.*node_modules\//, "").replace(/^.*\/(src|test|examples)\//, "$1/")}:${f.lineNumber + 1}`
    by.set(k, (by.get(k) ?? 0) + n.selfSize)
    total += n.selfSize
    for (const c of n.children) walk(c)
  }
  walk(root)
  console.log(`allocated (sampled) ${(total / 1e6).toFixed(1)} MB`)
  for (const [k, v] of [...by.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
    console.log(`${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
  }
}

let ops = 0
const main = async () => {
  const handler = handlers[handlerName]
  if (handler === undefined) throw new Error(`unknown --handler ${handlerName}`)
  const socket = new FakeSocket()
  const key = randomBytes(4)
  let input: Buffer
  if (deflate) {
    // the load generator's messages: distinct JSON-like text, each compressed on its own (client_no_context_takeover)
    const pool = deflatePool(size, inflight, key)
    input = Buffer.from(pool.buf.subarray(0, pool.offsets[inflight]))

  } else {
    const payload = randomBytes(size)
    const frameLen = headerLength(size, true) + size
    input = Buffer.allocUnsafe(frameLen * inflight)
    for (let i = 0; i < inflight; i++) writeFrame(input, i * frameLen, Opcode.Binary, payload, { maskKey: key, premasked: true })
  }
  const codec = codecName === "wasm" ? Codec.layerWasm : Codec.layerJs
  const compression = deflate
    ? {
      deflate: { windowBits: 15, noContextTakeover: false, level: 1 },
      inflate: { windowBits: 15, noContextTakeover: true },
      threshold: 128
    }
    : undefined
  const program = Effect.gen(function*() {
    const c = yield* Codec.Codec
    const conn = yield* internal.make({
      role: "server",
      socket,
      head: new Uint8Array(0),
      codec: c,
      subprotocol: "",
      extensions: "",
      compression,
      readLimit: 16 * 1024 * 1024,
      closeTimeout: "5 seconds" as never,
      maxBufferedBytes: 1024 * 1024,
      onPing: undefined,
      onPong: undefined
    })
    return yield* handler(conn)
  }).pipe(
    Effect.scoped,
    Effect.provide(codec),
    // --ops: count the Effect operations the runtime evaluates (RuntimeFlags.OpSupervision)
    (e) =>
      flags.has("ops")
        // the run loop calls the tracer's `context` once per operation
        ? Effect.flatMap(Effect.tracer, (t) =>
          Effect.withTracer(
            e,
            Tracer.make({
              span: (...args) => t.span(...args),
              context: (f) => {
                ops++
                return f()
              }
            })
          ))
        : e
  )
  Effect.runFork(program).addObserver((exit) => {
    console.error("connection ended:", exit)
    process.exit(1)
  })
  await new Promise((r) => setTimeout(r, 50))

  let batches = 0
  let midSnapshot = false
  const runBatch = (): Promise<void> =>
    new Promise((resolve) => {
      const target = socket.scanner.messages + inflight
      socket.onWritten = () => {
        if (midSnapshot && socket.scanner.messages >= target - inflight / 2) {
          midSnapshot = false
          void import("node:v8").then((v8) => console.log("mid-batch snapshot", v8.writeHeapSnapshot()))
        }
        if (socket.scanner.messages >= target) {
          socket.onWritten = () => {}
          resolve()
        }
      }
      // the connection unmasks in place: compressed input must be fresh every time (random binary needs not)
      const data = deflate ? Buffer.from(input) : input
      for (let o = 0; o < data.length; o += chunkSize) socket.push(data.subarray(o, Math.min(data.length, o + chunkSize)))
    })
  const runFor = async (ms: number) => {
    const end = performance.now() + ms
    let n = 0
    while (performance.now() < end) {
      await runBatch()
      n++
    }
    return n
  }
  await runFor(500) // warm-up
  // --alloc: sample every allocation site (collected objects included) over the timed run
  const inspector = flags.has("alloc") ? await import("node:inspector") : undefined
  const session = inspector === undefined ? undefined : new inspector.Session()
  const post = (method: string, params?: object) =>
    new Promise<unknown>((ok, fail) => session?.post(method, params ?? {}, (e, r) => (e ? fail(e) : ok(r))))
  if (session !== undefined) {
    session.connect()
    await post("HeapProfiler.startSampling", {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: flags.get("alloc") !== "survivors",
      includeObjectsCollectedByMinorGC: flags.get("alloc") !== "survivors"
    })
  }
  const ops0 = ops
  if (flags.has("mid-heap")) setTimeout(() => (midSnapshot = true), seconds * 500)
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  batches = await runFor(seconds * 1000)
  const t1 = performance.now()
  const c1 = process.cpuUsage()
  if (session !== undefined) {
    const { profile } = (await post("HeapProfiler.stopSampling")) as { profile: { head: AllocNode } }
    printAlloc(profile.head)
  }
  const msgs = batches * inflight
  if (flags.has("ops")) {
    console.log(`${((ops - ops0) / msgs).toFixed(1)} Effect ops per message`)
  }
  const cpu = (c1.user - c0.user + c1.system - c0.system) / 1e6
  console.log(
    `${handlerName} ${codecName} ${size} B ×${inflight}: ${(msgs / ((t1 - t0) / 1000)).toFixed(0)} msg/s, ${
      ((cpu / msgs) * 1e6).toFixed(2)
    } µs CPU/msg, ${((((t1 - t0) / 1000) / msgs) * 1e6).toFixed(2)} µs wall/msg`
  )
  if (flags.has("heap")) {
    const v8 = await import("node:v8")
    console.log(v8.writeHeapSnapshot(flags.get("heap") || undefined))
  }
  process.exit(0)
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
