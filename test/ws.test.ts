/**
 * Interop with the `ws` package in both roles: echo, subprotocols, close
 * codes and reasons.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { AddressInfo } from "node:net"
import { WebSocket as WsClient, WebSocketServer } from "ws"
import { Codec, WebSocket } from "../src/index.js"
import { echo } from "../examples/echo/echo.js"
import { serve } from "./util/server.js"

const opened = (url: string, protocols?: Array<string>) =>
  Effect.acquireRelease(
    Effect.async<WsClient, Error>((resume) => {
      const ws = new WsClient(url, protocols)
      ws.once("open", () => resume(Effect.succeed(ws)))
      ws.once("error", (e) => resume(Effect.fail(e)))
    }),
    (ws) => Effect.sync(() => ws.terminate())
  )

const nextMessage = (ws: WsClient) =>
  Effect.async<{ data: Buffer; isBinary: boolean }>((resume) => {
    ws.once("message", (data: Buffer, isBinary: boolean) => resume(Effect.succeed({ data, isBinary })))
  })

const closeEvent = (ws: WsClient) =>
  Effect.async<{ code: number; reason: string }>((resume) => {
    ws.once("close", (code: number, reason: Buffer) => resume(Effect.succeed({ code, reason: reason.toString() })))
  })

const wsServer = (options: ConstructorParameters<typeof WebSocketServer>[0] = {}) =>
  Effect.acquireRelease(
    Effect.async<WebSocketServer>((resume) => {
      const wss: WebSocketServer = new WebSocketServer({ port: 0, host: "127.0.0.1", ...options }, () => resume(Effect.succeed(wss)))
    }),
    (wss) => Effect.async<void>((resume) => {
      for (const c of wss.clients) c.terminate()
      wss.close(() => resume(Effect.void))
    })
  ).pipe(Effect.map((wss) => ({ wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` })))

const sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20]

const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope | Codec.Codec>) => effect.pipe(Effect.provide(Codec.layerJs))

describe("ws client → our server", () => {
  it.scopedLive("echoes text and binary", () =>
    run(Effect.gen(function*() {
      const server = yield* serve(echo, { readLimit: 2 << 20 })
      const ws = yield* opened(server.url)
      for (const n of sizes) {
        const bin = Buffer.alloc(n, 7)
        ws.send(bin)
        const back = yield* nextMessage(ws)
        expect(back.isBinary).toBe(true)
        expect(back.data.equals(bin)).toBe(true)
        const text = "ü".repeat(n >> 1)
        ws.send(text)
        const t = yield* nextMessage(ws)
        expect(t.isBinary).toBe(false)
        expect(t.data.toString()).toBe(text)
      }
    })))

  it.scopedLive("subprotocol and close in both directions", () =>
    run(Effect.gen(function*() {
      const server = yield* serve((conn) =>
        Effect.gen(function*() {
          const m = yield* conn.read
          if (m.text === "close me") yield* conn.close(4002, `bye ${conn.subprotocol}`)
          else yield* conn.write(m).pipe(Effect.andThen(echo(conn)))
        }), { subprotocols: ["v2", "v1"] })
      const ws = yield* opened(server.url, ["v1", "v2"])
      expect(ws.protocol).toBe("v2")
      ws.send("close me")
      expect(yield* closeEvent(ws)).toEqual({ code: 4002, reason: "bye v2" })

      const ws2 = yield* opened(server.url)
      ws2.send("hello")
      yield* nextMessage(ws2)
      ws2.close(3999, "from ws")
      expect(yield* closeEvent(ws2)).toEqual({ code: 3999, reason: "from ws" })
    })))
})

describe("our client → ws server", () => {
  it.scopedLive("echoes text and binary", () =>
    run(Effect.gen(function*() {
      const { url, wss } = yield* wsServer()
      wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })))
      const { conn } = yield* WebSocket.dial(url, { readLimit: 2 << 20 })
      for (const n of sizes) {
        const bin = new Uint8Array(n).fill(3)
        yield* conn.write("binary", bin)
        const back = yield* conn.read
        expect(back.type).toBe("binary")
        expect(Buffer.compare(back.data, bin)).toBe(0)
        const text = "ß".repeat(n >> 1)
        yield* conn.write("text", text)
        const t = yield* conn.read
        expect([t.type, t.text === text]).toEqual(["text", true])
      }
      yield* conn.close(1000, "done")
    })))

  it.scopedLive("subprotocol, our close and theirs", () =>
    run(Effect.gen(function*() {
      const closes: Array<[number, string]> = []
      const { url, wss } = yield* wsServer({ handleProtocols: (protocols) => (protocols.has("b") ? "b" : false) })
      wss.on("connection", (ws) => {
        ws.on("close", (code, reason) => closes.push([code, reason.toString()]))
        ws.on("message", (data) => {
          if (data.toString() === "close") ws.close(4100, "ws says bye")
        })
      })
      const first = yield* WebSocket.dial(url, { subprotocols: ["a", "b"] })
      expect(first.conn.subprotocol).toBe("b")
      yield* first.conn.close(4200, "we say bye")
      expect(yield* first.conn.closed).toMatchObject({ code: 4200, received: true })

      const second = yield* WebSocket.dial(url)
      yield* second.conn.write("text", "close")
      const error = yield* Effect.flip(second.conn.read)
      expect(error).toMatchObject({ _tag: "CloseError", code: 4100, reason: "ws says bye", received: true })
      yield* Effect.sleep("50 millis")
      expect(closes).toContainEqual([4200, "we say bye"])
      expect(closes).toContainEqual([4100, "ws says bye"])
    })))
})
