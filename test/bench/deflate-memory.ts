/**
 * Server memory per idle compressed connection (permessage-deflate with
 * context takeover, windows of 15 bits), after one message each way.
 *
 *   npx tsx test/bench/deflate-memory.ts [--conns 2000] [--size 1024] [--impls ours-js,ours-wasm,ws,ours-plain]
 *
 * Each server runs in its own process (started with --expose-gc). The
 * driver opens raw connections that offer `permessage-deflate;
 * client_max_window_bits`, sends one compressed 1 KiB JSON-like message and
 * waits for the (compressed) echo, and keeps them open. After a warm-up
 * batch and after each of 5 batches, the server collects garbage and
 * reports its memory; the least-squares slope over the batches is the cost
 * of one connection (one GC returning start-up garbage mid-way would skew a
 * before/after difference, less so a slope). Columns: RSS, V8's external
 * and ArrayBuffer memory, and for the Wasm codec its linear memory.
 * `ours-plain` is our server without compression, for reference.
 *
 * Not a test: it prints a table.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"
import * as zlib from "node:zlib"
import { numberFlag, parseArgs } from "./child.js"
import { dialRaw } from "../conformance/peer.js"
import type { RawConn } from "../conformance/peer.js"
import { encodeFrame, Op } from "../conformance/wire.js"
import { jsonLike } from "../support/jsonLike.js"

const { flags } = parseArgs(process.argv.slice(2))
const KiB = 1024

interface Report {
  readonly rss: number
  readonly external: number
  readonly arrayBuffers: number
  readonly heapUsed: number
  readonly linear: number
}

// ---------------------------------------------------------------------------
// The server child

const serve = async (impl: string): Promise<void> => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("run the server child with --expose-gc")
  let report = (): number => 0
  const server = Http.createServer((_req, res) => res.writeHead(404).end())
  if (impl === "ws") {
    const { WebSocketServer } = await import("ws")
    // ws's defaults, as its users get them (threshold 1024, zlib's default level and memLevel).
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: {} })
    server.on("upgrade", (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on("error", () => {})
        ws.on("message", (d, isBinary) => ws.send(d as Buffer, { binary: isBinary }))
      }))
  } else {
    const Effect = await import("effect/Effect")
    const Layer = await import("effect/Layer")
    const ManagedRuntime = await import("effect/ManagedRuntime")
    const Codec = await import("../../src/Codec.js")
    const { makeWasmCodec } = await import("../../src/internal/wasmCodec.js")
    const WebSocket = await import("../../src/WebSocket.js")
    const { echo } = await import("../../examples/echo/echo.js")
    const wasm = impl === "ours-wasm" ? makeWasmCodec() : undefined
    if (wasm !== undefined) report = () => wasm.exports.memory.buffer.byteLength
    const runtime = ManagedRuntime.make(wasm === undefined ? Codec.layerJs : Layer.succeed(Codec.Codec, wasm))
    const compression = impl === "ours-plain" ? "disabled" : "context-takeover"
    server.on("upgrade", (request: Http.IncomingMessage, socket, head: Buffer) => {
      runtime.runFork(
        WebSocket.accept({ request, socket, head }, { compression }).pipe(Effect.flatMap(echo), Effect.scoped, Effect.ignore)
      )
    })
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  console.log(`listening ws://127.0.0.1:${(server.address() as AddressInfo).port}/`)
  const lines = readline.createInterface({ input: process.stdin })
  lines.on("line", async () => {
    for (let k = 0; k < 4; k++) {
      gc()
      await new Promise((resolve) => setImmediate(resolve))
    }
    const m = process.memoryUsage()
    const r: Report = { rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers, heapUsed: m.heapUsed, linear: report() }
    console.log(JSON.stringify(r))
  })
  lines.on("close", () => process.exit(0))
}

// ---------------------------------------------------------------------------
// The driver

class Child {
  private readonly waiting: Array<(line: string) => void> = []
  private constructor(readonly proc: ChildProcess) {
    readline.createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on("line", (line) => this.waiting.shift()?.(line))
  }

  static async start(impl: string): Promise<{ child: Child; url: string }> {
    const self = fileURLToPath(import.meta.url)
    const proc = spawn(process.execPath, ["--expose-gc", "--import", "tsx", self, "--serve", impl], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    const child = new Child(proc)
    const line = await child.next()
    const url = /^listening (\S+)/.exec(line)?.[1]
    if (url === undefined) throw new Error(`server ${impl} said: ${line}`)
    return { child, url }
  }

  next(): Promise<string> {
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  async memory(): Promise<Report> {
    const p = this.next()
    this.proc.stdin?.write("mem\n")
    return JSON.parse(await p) as Report
  }

  stop(): void {
    this.proc.stdin?.end()
  }
}

const message = jsonLike(numberFlag(flags, "size", 1024), 7)
// The first message of a context-takeover stream needs no history: one compressed frame serves every connection.
const compressed = (() => {
  const z = zlib.deflateRawSync(message, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
  return z.subarray(0, z.length - 4)
})()

/** Opens `n` connections (`parallel` at a time), each sending one message and waiting for its echo. */
const openMany = async (url: string, n: number, compress: boolean, parallel = 50): Promise<Array<RawConn>> => {
  const out: Array<RawConn> = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next++ < n) {
      const hs = await dialRaw(url, compress ? { headers: { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" } } : {})
      const conn = hs.conn
      if (conn === undefined) throw new Error(`handshake answered ${hs.response?.status ?? "nothing"}`)
      if (compress && !(hs.response?.headers["sec-websocket-extensions"] ?? "").includes("permessage-deflate")) {
        throw new Error("permessage-deflate was not agreed")
      }
      await conn.write(encodeFrame({ opcode: Op.Text, payload: compress ? compressed : message, rsv: compress ? 4 : 0 }, true))
      if (!(await conn.waitFor(() => conn.completed > 0, 10_000))) throw new Error("no echo")
      out.push(conn)
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  return out
}

const slope = (points: ReadonlyArray<readonly [number, number]>): number => {
  const mx = points.reduce((s, p) => s + p[0], 0) / points.length
  const my = points.reduce((s, p) => s + p[1], 0) / points.length
  return points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0) / points.reduce((s, p) => s + (p[0] - mx) ** 2, 0)
}

const measure = async (impl: string, conns: number): Promise<Record<keyof Report, number>> => {
  const { child, url } = await Child.start(impl)
  const all: Array<RawConn> = []
  try {
    const compress = impl !== "ours-plain"
    all.push(...(await openMany(url, 100, compress)))
    const points: Array<[number, Report]> = [[0, await child.memory()]]
    const batches = 5
    for (let i = 1; i <= batches; i++) {
      all.push(...(await openMany(url, conns / batches, compress)))
      points.push([(conns * i) / batches, await child.memory()])
    }
    const per = (k: keyof Report) => slope(points.map(([n, r]) => [n, r[k]] as const)) / KiB
    return { rss: per("rss"), external: per("external"), arrayBuffers: per("arrayBuffers"), heapUsed: per("heapUsed"), linear: per("linear") }
  } finally {
    for (const c of all) c.destroy()
    child.stop()
  }
}

const main = async (): Promise<void> => {
  const conns = numberFlag(flags, "conns", 2000)
  const impls = (flags.get("impls") ?? "ours-js,ours-wasm,ws,ours-plain").split(",")
  console.log(`Server memory per idle connection, KiB (slope over 5 batches of ${conns / 5}), after one ${message.length}-byte message each way`)
  console.log(`${"server".padEnd(12)} ${"rss".padStart(8)} ${"external".padStart(9)} ${"arrayBuf".padStart(9)} ${"heapUsed".padStart(9)} ${"wasm mem".padStart(9)}`)
  for (const impl of impls) {
    const r = await measure(impl, conns)
    const f = (v: number) => v.toFixed(1).padStart(9)
    console.log(`${impl.padEnd(12)} ${r.rss.toFixed(1).padStart(8)} ${f(r.external)} ${f(r.arrayBuffers)} ${f(r.heapUsed)} ${impl === "ours-wasm" ? f(r.linear) : "        -"}`)
  }
}

const serveImpl = flags.get("serve")
if (serveImpl !== undefined) void serve(serveImpl)
else
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e)
      process.exit(1)
    }
  )
