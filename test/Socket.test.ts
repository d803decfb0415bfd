import * as PlatformSocket from "@effect/platform/Socket"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import { Codec, WebSocket } from "../src/index.js"
import * as Socket from "../src/Socket.js"
import { echo } from "../examples/echo/echo.js"
import { serve } from "./util/server.js"
import { waitFor } from "./util/wait.js"

const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope | Codec.Codec>) => effect.pipe(Effect.provide(Codec.layerJs))

describe("toSocket", () => {
  it.scopedLive("runs an @effect/platform Socket handler over a connection, and ends with the close", () =>
    run(Effect.gen(function*() {
      const exits: Array<Exit.Exit<void, PlatformSocket.SocketError>> = []
      const server = yield* serve((conn) =>
        Effect.gen(function*() {
          const socket = Socket.toSocket(conn)
          const write = yield* socket.writer
          const exit = yield* Effect.exit(socket.runRaw((data) => (data === "bye" ? write(new PlatformSocket.CloseEvent(4000, "asked")) : write(data))))
          exits.push(exit)
        })
      )
      const { conn } = yield* WebSocket.dial(server.url)
      yield* conn.write("text", "hello")
      expect(yield* conn.read).toMatchObject({ type: "text", text: "hello" })
      yield* conn.write("binary", new Uint8Array([1, 2]))
      const binary = yield* conn.read
      expect([binary.type, [...binary.data]]).toEqual(["binary", [1, 2]])
      yield* conn.write("text", "bye")
      expect(yield* Effect.flip(conn.read)).toMatchObject({ _tag: "CloseError", code: 4000, reason: "asked" })
      const exit = yield* waitFor(() => exits[0])
      // 4000 is not a normal closure: run fails with the platform's close error
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(exit.cause).toMatchObject({ error: { reason: "Close", code: 4000, closeReason: "asked" } })

      const second = yield* WebSocket.dial(server.url)
      yield* second.conn.write("text", "x")
      yield* second.conn.read
      yield* second.conn.close(1000)
      expect(Exit.isSuccess(yield* waitFor(() => exits[1]))).toBe(true)
    })))

  it.scopedLive("run gives text as bytes; closeCodeIsError decides what counts as clean", () =>
    run(Effect.gen(function*() {
      const seen: Array<Uint8Array> = []
      const done = yield* Effect.makeLatch(false)
      let result: Exit.Exit<void, PlatformSocket.SocketError> | undefined
      const server = yield* serve((conn) =>
        Socket.toSocket(conn, { closeCodeIsError: (code) => code !== 4001 }).run((bytes) => {
          seen.push(bytes)
        }).pipe(Effect.exit, Effect.tap((e) => Effect.sync(() => (result = e))), Effect.zipRight(done.open))
      )
      const { conn } = yield* WebSocket.dial(server.url)
      yield* conn.write("text", "é")
      yield* conn.close(4001)
      yield* done.await
      expect(seen).toEqual([new Uint8Array([0xc3, 0xa9])])
      expect(result !== undefined && Exit.isSuccess(result)).toBe(true)
    })))
})

describe("toDuplex", () => {
  it.scopedLive("carries bytes through messages; ending it closes the connection with 1000", () =>
    run(Effect.gen(function*() {
      const server = yield* serve(echo, { readLimit: 1 << 20 })
      const { conn } = yield* WebSocket.dial(server.url, { readLimit: 1 << 20 })
      const duplex = yield* Socket.toDuplex(conn)
      const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1000 + i, i))
      const total = chunks.reduce((n, c) => n + c.length, 0)
      const parts: Array<Buffer> = []
      let ended = false
      duplex.on("data", (b: Buffer) => parts.push(b))
      duplex.on("end", () => (ended = true))
      for (const c of chunks) duplex.write(c)
      yield* waitFor(() => parts.reduce((n, p) => n + p.length, 0) === total)
      expect(Buffer.concat(parts).equals(Buffer.concat(chunks))).toBe(true)
      // a WebSocket has no half-close: ending the writable side is the close handshake
      duplex.end()
      expect(yield* conn.closed).toMatchObject({ code: 1000, received: true })
      yield* waitFor(() => ended)
    })))

  it.scopedLive("a message of the other type closes with 1003", () =>
    run(Effect.gen(function*() {
      const server = yield* serve((conn) => Effect.zipRight(conn.write("text", "not bytes"), conn.closed))
      const { conn } = yield* WebSocket.dial(server.url)
      const duplex = yield* Socket.toDuplex(conn, "binary")
      const error = yield* Effect.async<unknown>((resume) => {
        duplex.on("error", (e) => resume(Effect.succeed(e)))
        duplex.resume()
      })
      expect(error).toMatchObject({ _tag: "CloseError", code: 1003 })
      expect(yield* conn.closed).toMatchObject({ code: 1003 })
    })))
})
