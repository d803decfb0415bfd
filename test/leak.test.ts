/**
 * No leaks: 2,000 compressed connections per codec, our client against our
 * server in this process, each used (a few compressed messages each way)
 * and closed. Afterwards the memory is back to its level after the first
 * batch (GC-managed buffers; for the Wasm codec, linear memory and its
 * allocator's high-water mark, which only grow when freed contexts are not
 * reused), every handler fiber has ended, the server holds no socket, and
 * no timer or socket handle is left in the event loop.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "vitest"
import { echo } from "../examples/echo/echo.js"
import * as Codec from "../src/Codec.js"
import { makeWasmCodec } from "../src/internal/wasmCodec.js"
import * as WebSocket from "../src/WebSocket.js"
import { jsonLike } from "./support/jsonLike.js"
import { getGc } from "./util/gc.js"

const CONNECTIONS = 2000
/** Connections open at once; every batch opens all of them before using any. */
const BATCH = 50
const MESSAGES = 3


/** Collects, and lets ArrayBuffer memory be swept (that happens after the collection). */
const collect = async (gc: () => void): Promise<NodeJS.MemoryUsage> => {
  for (let k = 0; k < 4; k++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage()
}

/** Handles of the event loop by kind (sockets, servers, timers…). */
const handles = (): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) out[kind] = (out[kind] ?? 0) + 1
  delete out["Immediate"] // the collection loop's own
  return out
}

/** Polls until `pred` holds, at most `ms`; the caller asserts. */
const settle = async (pred: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms
  while (!pred() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 5))
}

const MiB = 1 << 20
const messages = Array.from({ length: MESSAGES }, (_, i) => new TextDecoder().decode(jsonLike(1500, 40 + i)))

interface Server {
  readonly url: string
  /** Handler fibers still running. */
  readonly live: () => number
  readonly connections: () => Promise<number>
  readonly close: () => Promise<void>
}

const startServer = async (runtime: ManagedRuntime.ManagedRuntime<Codec.Codec, never>): Promise<Server> => {
  let live = 0
  const server = Http.createServer((_req, res) => res.writeHead(404).end())
  server.on("upgrade", (request: Http.IncomingMessage, socket, head: Buffer) => {
    live++
    runtime.runFork(
      WebSocket.accept({ request, socket, head }, { compression: "context-takeover" }).pipe(
        Effect.flatMap(echo),
        Effect.scoped,
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => live--))
      )
    )
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    live: () => live,
    connections: () => new Promise((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n)))),
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}

/**
 * One batch: BATCH connections opened together, then each sends MESSAGES
 * compressed messages and reads their echoes, then all close. `during`
 * runs while all of them are open and used.
 */
const batch = (url: string, during: () => Promise<void>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const conns = yield* Effect.forEach(
        Array.from({ length: BATCH }),
        () => Effect.map(WebSocket.dial(url, { compression: "context-takeover" }), (r) => r.conn),
        { concurrency: "unbounded" }
      )
      yield* Effect.forEach(
        conns,
        (conn) =>
          Effect.forEach(messages, (m) =>
            Effect.zipRight(
              conn.write("text", m),
              Effect.flatMap(conn.read, (got) => (got.text === m ? Effect.void : Effect.dieMessage("echo differs")))
            ), { discard: true }),
        { concurrency: "unbounded", discard: true }
      )
      yield* Effect.promise(during)
      yield* Effect.forEach(conns, (conn) => conn.close(), { concurrency: "unbounded", discard: true })
    })
  )

const codecs: ReadonlyArray<readonly [string, () => { layer: Layer.Layer<Codec.Codec>; wasm?: ReturnType<typeof makeWasmCodec> }]> = [
  ["js", () => ({ layer: Codec.layerJs })],
  [
    "wasm",
    () => {
      // One instance shared by client and server, as an application provides the layer once.
      const wasm = makeWasmCodec()
      return { layer: Layer.succeed(Codec.Codec, wasm), wasm }
    }
  ]
]

const gc = getGc()

describe.skipIf(gc === undefined)("no leaks after 2,000 compressed connections", () => {
  for (const [name, make] of codecs) {
    it(`${name} codec: memory, fibers, sockets and timers back to their level after the first batch`, async () => {
      const collectNow = () => collect(gc as () => void)
      const { layer, wasm } = make()
      const runtime = ManagedRuntime.make(layer)
      const server = await startServer(runtime)
      const quiet = async (): Promise<void> => {
        await settle(() => server.live() === 0)
        expect(server.live()).toBe(0)
        // Sockets leave the server's count as their close events run.
        let n = await server.connections()
        for (const end = Date.now() + 3000; n > 0 && Date.now() < end; n = await server.connections()) {
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        expect(n).toBe(0)
      }
      try {
        // The first batch warms every pool and free list up.
        await runtime.runPromise(batch(server.url, async () => {}))
        await quiet()
        const before = await collectNow()
        const handlesBefore = handles()
        const wasmBefore = wasm === undefined ? undefined : { bytes: wasm.exports.memory.buffer.byteLength, top: wasm.exports.heapTop() }

        let held: NodeJS.MemoryUsage | undefined
        let wasmHeld = 0
        const batches = CONNECTIONS / BATCH - 1
        for (let b = 0; b < batches; b++) {
          const last = b === batches - 1
          await runtime.runPromise(
            batch(server.url, async () => {
              if (!last) return
              // With a batch open, the same measures must show its state: the test can fail.
              held = await collectNow()
              wasmHeld = wasm === undefined ? 0 : wasm.exports.heapTop()
            })
          )
          await quiet()
        }
        const after = await collectNow()
        await settle(() => JSON.stringify(handles()) === JSON.stringify(handlesBefore))
        expect(handles()).toEqual(handlesBefore)

        const grew = (m: NodeJS.MemoryUsage | undefined, k: "arrayBuffers" | "external" | "rss") => ((m?.[k] ?? 0) - before[k]) / MiB
        console.log(
          `${name} codec, ${CONNECTIONS} connections: after the last batch closed, arrayBuffers ${grew(after, "arrayBuffers").toFixed(2)} MiB, ` +
            `external ${grew(after, "external").toFixed(2)} MiB, rss ${grew(after, "rss").toFixed(1)} MiB over the level after the first batch; ` +
            `with ${BATCH} open: arrayBuffers +${grew(held, "arrayBuffers").toFixed(2)} MiB` +
            (wasm === undefined ? "" : `, linear memory ${(wasm.exports.memory.buffer.byteLength / MiB).toFixed(1)} MiB`)
        )
        if (wasm === undefined || wasmBefore === undefined) {
          // zlib state lives in ArrayBuffers: 50 open pairs hold 100 inflate windows of 32 KiB.
          expect(grew(held, "arrayBuffers")).toBeGreaterThan(2)
          expect(grew(after, "arrayBuffers")).toBeLessThan(1)
          expect(grew(after, "external")).toBeLessThan(1)
        } else {
          // Every context of the later batches came from the free lists.
          expect(wasmHeld).toBe(wasmBefore.top)
          expect(wasm.exports.heapTop()).toBe(wasmBefore.top)
          expect(wasm.exports.memory.buffer.byteLength).toBe(wasmBefore.bytes)
          expect(grew(after, "arrayBuffers")).toBeLessThan(1)
        }
      } finally {
        await server.close()
        await runtime.dispose()
      }
    }, 60_000)
  }
})
