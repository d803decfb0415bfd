import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { Codec, WebSocket } from "../src/index.js"
import { echo } from "../examples/echo/echo.js"
import { serve } from "./util/server.js"

const sizes = [0, 1, 125, 126, 127, 65535, 65536, 4 * 1024 * 1024]

const pattern = (n: number): Uint8Array => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + (i >>> 8)) & 0xff
  return out
}

describe("our client and our server", () => {
  it.scopedLive("echo text and binary messages of every length class", () =>
    Effect.gen(function*() {
      const server = yield* serve(echo, { readLimit: 8 * 1024 * 1024 })
      const { conn } = yield* WebSocket.dial(server.url, { readLimit: 8 * 1024 * 1024 })
      for (const n of sizes) {
        const data = pattern(n)
        yield* conn.write("binary", data)
        const back = yield* conn.read
        expect(back.type).toBe("binary")
        expect([n, Buffer.compare(back.data, data), back.data.length, [...back.data.subarray(0, 8)], [...data.subarray(0, 8)]]).toEqual([n, 0, n, [...data.subarray(0, 8)], [...data.subarray(0, 8)]])
        const text = "é".repeat(n >> 1) + (n % 2 === 1 ? "a" : "")
        yield* conn.write("text", text)
        const t = yield* conn.read
        expect(t.type).toBe("text")
        expect(t.text).toBe(text)
      }
      yield* conn.close(1000, "bye")
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scopedLive("messages stream ends on a normal close", () =>
    Effect.gen(function*() {
      const server = yield* serve((conn) =>
        Effect.gen(function*() {
          for (let i = 0; i < 5; i++) yield* conn.write("text", `m${i}`)
          yield* conn.close(1000, "done")
        })
      )
      const { conn } = yield* WebSocket.dial(server.url)
      const got = yield* Stream.runCollect(conn.messages)
      expect(Chunk.toReadonlyArray(got).map((m) => m.text)).toEqual(["m0", "m1", "m2", "m3", "m4"])
      const closed = yield* conn.closed
      expect(closed.code).toBe(1000)
      expect(closed.reason).toBe("done")
      expect(closed.received).toBe(true)
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scopedLive("with a tracer installed, accept and dial run in spans named WebSocket.accept and WebSocket.dial", () => {
    const names: Array<string> = []
    return Effect.gen(function*() {
      const native = yield* Effect.tracer
      const tracer = Tracer.make({
        span: (name, ...rest) => {
          names.push(name)
          return native.span(name, ...rest)
        },
        context: (f) => f()
      })
      yield* Effect.gen(function*() {
        const server = yield* serve((conn) => conn.closed)
        const { conn } = yield* WebSocket.dial(server.url)
        yield* conn.close(1000)
      }).pipe(Effect.withTracer(tracer))
      expect(names).toContain("WebSocket.dial")
      expect(names).toContain("WebSocket.accept")
    }).pipe(Effect.provide(Codec.layerJs))
  })
})
