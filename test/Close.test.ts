import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as TestServices from "effect/TestServices"
import { Codec, WebSocket } from "../src/index.js"
import type { Conn } from "../src/Conn.js"
import { closePayload, connect, frame, rawServer } from "./util/raw.js"
import { serve } from "./util/server.js"
import { armed, waitFor } from "./util/wait.js"

describe("close handshake timeouts (TestClock)", () => {
  it.scoped("client: our close waits 5 s for the peer's close frame, then drops the connection", () =>
    Effect.gen(function*() {
      const server = yield* rawServer()
      const { conn } = yield* WebSocket.dial(server.url)
      const peer = yield* server.peers
      const closing = yield* Effect.fork(conn.close(1000, "bye"))
      yield* peer.until(() => peer.close !== undefined)
      expect(peer.close).toEqual([1000, "bye"])
      yield* armed
      yield* TestClock.adjust("4999 millis")
      expect(Option.isNone(yield* Fiber.poll(closing))).toBe(true)
      expect(peer.ended).toBe(false)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(closing)
      yield* peer.awaitTcpClose
      expect(yield* conn.closed).toMatchObject({ code: 1006, reason: "close handshake timed out" })
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scoped("server: the same with the roles swapped, and a configured timeout", () =>
    Effect.gen(function*() {
      let serverConn: Conn | undefined
      const server = yield* serve((conn) => {
        serverConn = conn
        return Effect.never
      }, { closeTimeout: Duration.seconds(2) })
      const peer = yield* connect(server.port)
      const conn = yield* waitFor(() => serverConn)
      const closing = yield* Effect.fork(conn.close(4000, "app"))
      yield* peer.until(() => peer.close !== undefined)
      yield* armed
      yield* TestClock.adjust("1999 millis")
      expect(Option.isNone(yield* Fiber.poll(closing))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(closing)
      yield* peer.awaitTcpClose
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scoped("a peer that answers in time ends the wait at once", () =>
    Effect.gen(function*() {
      const server = yield* rawServer()
      const { conn } = yield* WebSocket.dial(server.url)
      const peer = yield* server.peers
      const closing = yield* Effect.fork(conn.close(1000))
      yield* peer.until(() => peer.close !== undefined)
      peer.send(frame(8, closePayload(1000), { mask: false }))
      yield* Fiber.join(closing)
      expect(yield* conn.closed).toMatchObject({ code: 1000, received: true })
      yield* peer.awaitTcpClose
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scoped("a close frame that cannot be written within 5 s drops the connection", () =>
    Effect.gen(function*() {
      const server = yield* rawServer()
      const { conn } = yield* WebSocket.dial(server.url)
      const peer = yield* server.peers
      peer.socket.pause() // the peer stops reading: our socket fills up
      const big = new Uint8Array(1024 * 1024)
      let written = 0
      yield* Effect.fork(Effect.forever(Effect.tap(conn.write("binary", big), () => Effect.sync(() => written++))))
      // the peer's kernel buffers fill within a few writes; then the writes wait for a 'drain' that never comes
      yield* waitFor(() => written > 0)
      yield* TestServices.provideLive(Effect.sleep("300 millis"))
      const closing = yield* Effect.fork(conn.close(1000))
      yield* armed
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(closing)
      expect(yield* conn.closed).toMatchObject({ code: 1006 })
      expect(peer.close).toBeUndefined()
    }).pipe(Effect.provide(Codec.layerJs)))
})
