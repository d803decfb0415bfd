import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Codec, Json, WebSocket } from "../src/index.js"
import type { Conn } from "../src/Conn.js"
import { closePayload, connect, frame, rawServer } from "./util/raw.js"
import { serve } from "./util/server.js"

const Point = Schema.Struct({ x: Schema.Number, y: Schema.Number })

/** A schema whose encoded side differs from its type: proves encode/decode run. */
const Event = Schema.Struct({ at: Schema.DateFromString, n: Schema.NumberFromString })

/** A server that runs `handler` on its connection and hands the result to the test. */
const serveOnce = <A, E>(handler: (conn: Conn) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const result = yield* Deferred.make<Exit.Exit<A, E>>()
    const server = yield* serve((conn) => Effect.exit(handler(conn)).pipe(Effect.flatMap((exit) => Deferred.succeed(result, exit))))
    return { server, result: Deferred.await(result) }
  })

describe("Json.read", () => {
  it.scopedLive("decodes a text message and a binary message, with or without a trailing newline", () =>
    Effect.gen(function*() {
      const { result, server } = yield* serveOnce((conn) =>
        Effect.all([Json.read(conn, Point), Json.read(conn, Point), Json.read(conn, Event)])
      )
      const peer = yield* connect(server.port)
      peer.send(
        frame(1, `{"x":1,"y":2}`),
        frame(2, new TextEncoder().encode(`{"x":3,"y":4}\n`)),
        frame(1, `{"at":"2020-01-02T03:04:05.000Z","n":"42"}`)
      )
      const exit = yield* result
      expect(exit).toEqual(Exit.succeed([{ x: 1, y: 2 }, { x: 3, y: 4 }, { at: new Date("2020-01-02T03:04:05.000Z"), n: 42 }]))
      expect(peer.close).toBeUndefined()
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scopedLive("invalid JSON: JsonError, and the connection is closed with 1007", () =>
    Effect.gen(function*() {
      const { result, server } = yield* serveOnce((conn) => Json.read(conn, Point))
      const peer = yield* connect(server.port)
      peer.send(frame(1, `{"x":1,`))
      expect(yield* peer.awaitClose).toEqual([1007, "failed to unmarshal JSON"])
      peer.send(frame(8, closePayload(1007)))
      const exit = yield* result
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        expect(error).toBeInstanceOf(Json.JsonError)
        expect(error).toMatchObject({ _tag: "JsonError", reason: "Parse" })
        expect((error as Json.JsonError).cause).toBeInstanceOf(SyntaxError)
        expect((error as Json.JsonError).message).toMatch(/^failed to unmarshal JSON: /)
      }
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scopedLive("a schema mismatch: ParseError, and the connection is closed with 1007", () =>
    Effect.gen(function*() {
      const { result, server } = yield* serveOnce((conn) =>
        Json.read(conn, Point).pipe(
          Effect.catchTag("ParseError", (error) => Effect.succeed(`caught ${error.message}`))
        )
      )
      const peer = yield* connect(server.port)
      peer.send(frame(1, `{"x":1,"y":"2"}`))
      expect(yield* peer.awaitClose).toEqual([1007, "failed to unmarshal JSON"])
      peer.send(frame(8, closePayload(1007)))
      const exit = yield* result
      expect(Exit.isSuccess(exit) && exit.value).toMatch(/^caught .*Expected number, actual "2"/s)
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scopedLive("a closed connection fails with CloseError", () =>
    Effect.gen(function*() {
      const { result, server } = yield* serveOnce((conn) => Json.read(conn, Point))
      const peer = yield* connect(server.port)
      peer.send(frame(8, closePayload(4001, "done")))
      const exit = yield* result
      expect(exit).toEqual(Exit.fail(expect.objectContaining({ _tag: "CloseError", code: 4001, reason: "done" })))
    }).pipe(Effect.provide(Codec.layerJs)))
})

describe("Json.write", () => {
  it.scopedLive("sends the encoded value as one text frame of JSON.stringify's output", () =>
    Effect.gen(function*() {
      const server = yield* rawServer()
      const { conn } = yield* WebSocket.dial(server.url)
      const peer = yield* server.peers
      yield* Json.write(conn, Event, { at: new Date("2020-01-02T03:04:05.000Z"), n: 7 })
      yield* Json.write(conn, Schema.String, "hi")
      yield* peer.until(() => peer.frames.length === 2)
      expect(peer.frames.map((f) => [f.opcode, f.fin, new TextDecoder().decode(f.payload)])).toEqual([
        [1, true, `{"at":"2020-01-02T03:04:05.000Z","n":"7"}`],
        [1, true, `"hi"`]
      ])
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scopedLive("a value that does not encode sends nothing and leaves the connection open", () =>
    Effect.gen(function*() {
      const server = yield* rawServer()
      const { conn } = yield* WebSocket.dial(server.url)
      const peer = yield* server.peers
      const Positive = Schema.Number.pipe(Schema.positive())
      const refused = yield* Effect.flip(Json.write(conn, Positive, -1))
      expect(refused._tag).toBe("ParseError")
      const bigint = yield* Effect.flip(Json.write(conn, Schema.Unknown, 1n))
      expect(bigint).toMatchObject({ _tag: "JsonError", reason: "Stringify" })
      const nothing = yield* Effect.flip(Json.write(conn, Schema.Undefined, undefined))
      expect(nothing).toMatchObject({ _tag: "JsonError", reason: "Stringify" })
      yield* Json.write(conn, Positive, 1)
      yield* peer.until(() => peer.frames.length === 1)
      expect(peer.frames.map((f) => new TextDecoder().decode(f.payload))).toEqual(["1"])
      expect(peer.close).toBeUndefined()
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scopedLive("the two-argument form is a sender; a closed connection fails with CloseError", () =>
    Effect.gen(function*() {
      const server = yield* serve((conn) => Stream.runForEach(Json.messages(conn, Point), Json.write(conn, Point)))
      const { conn } = yield* WebSocket.dial(server.url)
      const send = Json.write(conn, Point)
      yield* Effect.forEach([{ x: 1, y: 1 }, { x: 2, y: 4 }], send)
      expect([yield* Json.read(conn, Point), yield* Json.read(conn, Point)]).toEqual([{ x: 1, y: 1 }, { x: 2, y: 4 }])
      yield* conn.close(1000)
      expect(yield* Effect.flip(send({ x: 0, y: 0 }))).toMatchObject({ _tag: "CloseError", code: 1000 })
    }).pipe(Effect.provide(Codec.layerJs)))
})

describe("Json.messages", () => {
  it.scopedLive("decodes every message and ends on a normal close", () =>
    Effect.gen(function*() {
      const { result, server } = yield* serveOnce((conn) => Stream.runCollect(Json.messages(conn, Point)))
      const peer = yield* connect(server.port)
      peer.send(...[1, 2, 3, 4, 5].map((i) => frame(1, JSON.stringify({ x: i, y: i * i }))), frame(8, closePayload(1000)))
      const exit = yield* result
      expect(Exit.map(exit, Chunk.toReadonlyArray)).toEqual(
        Exit.succeed([1, 2, 3, 4, 5].map((i) => ({ x: i, y: i * i })))
      )
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scopedLive("a bad message: the values before it, then the error and a 1007 close", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      const { result, server } = yield* serveOnce((conn) =>
        Stream.runForEach(Json.messages(conn, Point), (p) => Effect.sync(() => seen.push(p.x)))
      )
      const peer = yield* connect(server.port)
      // in one write, so the server usually finds them queued together
      peer.send(frame(1, `{"x":1,"y":0}`), frame(1, `{"x":2,"y":0}`), frame(1, `{"x":3}`), frame(1, `{"x":4,"y":0}`))
      expect(yield* peer.awaitClose).toEqual([1007, "failed to unmarshal JSON"])
      peer.send(frame(8, closePayload(1007)))
      const exit = yield* result
      expect(seen).toEqual([1, 2])
      expect(exit).toEqual(Exit.fail(expect.objectContaining({ _tag: "ParseError" })))
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scopedLive("an abnormal close fails the stream with CloseError", () =>
    Effect.gen(function*() {
      const { result, server } = yield* serveOnce((conn) => Stream.runCollect(Json.messages(conn, Point)))
      const peer = yield* connect(server.port)
      peer.send(frame(1, `{"x":1,"y":0}`), frame(8, closePayload(4000, "app")))
      const exit = yield* result
      expect(exit).toEqual(Exit.fail(expect.objectContaining({ _tag: "CloseError", code: 4000 })))
    }).pipe(Effect.provide(Codec.layerJs)))
})
