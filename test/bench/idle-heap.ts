/**
 * JS heap per idle connection, by constructor, from V8 heap snapshots: our
 * echo server (examples/echo, JS codec) or ws, with N raw-socket clients in a
 * child process. Also the Effect baseline: what a fiber, and a fiber with its
 * own Scope, cost before any connection state. For development:
 *
 *   node --expose-gc --import tsx test/bench/idle-heap.ts ours|ws|fibers [N=2000]
 */
import { fork } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync, unlinkSync } from "node:fs"
import * as Net from "node:net"
import * as v8 from "node:v8"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Runtime from "effect/Runtime"
import { WebSocketServer } from "ws"
import { portOf, serve } from "../../examples/echo/echo.js"
import { Codec } from "../../src/index.js"

const [which = "ours", count = "2000"] = process.argv.slice(2)
const N = Number(count)

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: Array<string>; readonly node_types: [Array<string>] } }
  readonly nodes: Array<number>
  readonly strings: Array<string>
}
type Sizes = Map<string, { n: number; size: number }>

const gc = (): void => (globalThis as { gc?: () => void }).gc?.()

/** Self sizes of every heap object, summed by constructor (closures and internals by kind). */
const heapByName = (): Sizes => {
  gc()
  const file = v8.writeHeapSnapshot()
  const snap = JSON.parse(readFileSync(file, "utf8")) as Snapshot
  unlinkSync(file)
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const step = fields.length
  const iType = fields.indexOf("type")
  const iName = fields.indexOf("name")
  const iSize = fields.indexOf("self_size")
  const out: Sizes = new Map()
  const nodes = snap.nodes
  for (let i = 0; i < nodes.length; i += step) {
    const type = types[nodes[i + iType]] ?? "?"
    const name = type === "object" ? snap.strings[nodes[i + iName]] ?? "?" : type === "closure" ? "(closure)" : `(${type})`
    const e = out.get(name) ?? { n: 0, size: 0 }
    e.n++
    e.size += nodes[i + iSize]
    out.set(name, e)
  }
  return out
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms))

if (which === "clients") {
  // child: N upgraded, idle connections; tells the parent when they are all open
  const port = Number(process.argv[3])
  const total = Number(process.argv[4])
  const sockets: Array<Net.Socket> = []
  const one = () =>
    new Promise<void>((ok, fail) => {
      const s = Net.connect(port, "127.0.0.1", () =>
        s.write(
          `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`
        ))
      s.once("data", (d: Buffer) => (d.toString("latin1").startsWith("HTTP/1.1 101") ? ok() : fail(new Error("refused"))))
      s.on("error", fail)
      sockets.push(s)
    })
  for (let i = 0; i < total; i += 50) await Promise.all(Array.from({ length: Math.min(50, total - i) }, one))
  process.send?.("ready")
} else {
  const openClients = (port: number) =>
    new Promise<() => void>((ok, fail) => {
      const child = fork(new URL(import.meta.url).pathname, ["clients", String(port), String(N)], {
        execArgv: ["--import", "tsx"]
      })
      child.on("message", () => ok(() => child.kill()))
      child.on("exit", (code) => (code !== 0 && code !== null ? fail(new Error(`clients exited ${code}`)) : undefined))
    })

  const report = (label: string, before: Sizes, after: Sizes, unit = "connection") => {
    let total = 0
    const rows: Array<[string, number, number]> = []
    for (const [name, a] of after) {
      const b = before.get(name) ?? { n: 0, size: 0 }
      total += a.size - b.size
      rows.push([name, (a.n - b.n) / N, (a.size - b.size) / N])
    }
    rows.sort((x, y) => y[2] - x[2])
    console.log(`${label}: ${(total / N).toFixed(0)} B of JS heap per ${unit}`)
    for (const [name, n, size] of rows.slice(0, 20)) {
      console.log(`${size.toFixed(0).padStart(7)} B ${n.toFixed(2).padStart(6)}×  ${name}`)
    }
  }

  if (which === "fibers") {
    // Effect's own share: what an idle fiber costs, bare and with a Scope of its own
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const run = yield* FiberSet.makeRuntime<never>()
      const runtime = yield* Effect.runtime<never>()
      const variants: ReadonlyArray<[string, () => void]> = [
        ["Runtime.runFork(Effect.never)", () => Runtime.runFork(runtime)(Effect.never)],
        ["FiberSet run(Effect.never)", () => run(Effect.never)],
        ["FiberSet run(Effect.scoped(never) + ignore)", () => run(Effect.ignore(Effect.scoped(Effect.zipRight(Effect.void, Effect.never))))]
      ]
      for (const [label, start] of variants) {
        const before = heapByName()
        for (let i = 0; i < N; i++) start()
        yield* Effect.promise(() => sleep(50))
        report(label, before, heapByName(), "fiber")
      }
    })))
  } else {
    let port: number
    if (which === "ws") {
      const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false })
      await new Promise((ok) => wss.on("listening", ok))
      port = (wss.address() as Net.AddressInfo).port
    } else {
      port = await new Promise<number>((ok) => {
        Effect.runFork(
          Effect.gen(function*() {
            ok(portOf(yield* serve({ host: "127.0.0.1", port: 0 })))
            return yield* Effect.never
          }).pipe(Effect.scoped, Effect.provide(Codec.layerJs))
        )
      })
    }
    // a first batch, closed, so that lazily built code and pools are in the baseline
    ;(await openClients(port))()
    await sleep(1500)
    const before = heapByName()
    const stop = await openClients(port)
    await sleep(1000)
    report(which, before, heapByName())
    stop()
  }
  process.exit(0)
}
