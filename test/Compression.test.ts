/**
 * permessage-deflate over real sockets: our client and server in every
 * mode, ws with perMessageDeflate in both roles, the frames on the wire,
 * inflation limits and corrupt input, and resources after many connections.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { AddressInfo } from "node:net"
import { createHash } from "node:crypto"
import { constants, deflateRawSync, inflateRawSync } from "node:zlib"
import { type PerMessageDeflateOptions, WebSocket as WsClient, WebSocketServer } from "ws"
import { Codec, type Extension, WebSocket } from "../src/index.js"
import { echo } from "../examples/echo/echo.js"
import { closePayload, connect, frame, rawServer } from "./util/raw.js"
import { serve } from "./util/server.js"

const codecs: ReadonlyArray<readonly [string, Layer.Layer<Codec.Codec>]> = [["js", Codec.layerJs], ["wasm", Codec.layerWasm]]

const json = (n: number): string => {
  let s = ""
  for (let i = 0; s.length < n; i++) s += JSON.stringify({ id: i, name: `user${i % 17}`, tags: ["a", "b", i % 5], ok: i % 3 === 0 })
  return s.slice(0, n)
}

const sizes = [0, 1, 127, 128, 600, 16 * 1024, 200 * 1024]

const acceptFor = (key: string) => createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64")

/** A compressed frame payload inflated by node:zlib, with the tail RFC 7692 strips put back. */
const inflated = (payload: Uint8Array) =>
  inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }).toString()

for (const [codecName, codec] of codecs) {
  const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope | Codec.Codec>) => effect.pipe(Effect.provide(codec))

  describe(`permessage-deflate, ${codecName} codec`, () => {
    const modes: ReadonlyArray<[Extension.CompressionMode | Extension.CompressionOptions, Extension.CompressionMode | Extension.CompressionOptions]> = [
      ["context-takeover", "context-takeover"],
      ["no-context-takeover", "context-takeover"],
      ["context-takeover", "no-context-takeover"],
      [{ mode: "context-takeover", serverMaxWindowBits: 9 }, { mode: "context-takeover", clientMaxWindowBits: 10 }],
      [{ mode: "context-takeover", level: 6, threshold: 0 }, { mode: "context-takeover", serverMaxWindowBits: 12, clientMaxWindowBits: 8 }]
    ]
    for (const [serverMode, clientMode] of modes) {
      it.scopedLive(`our client (${JSON.stringify(clientMode)}) ↔ our server (${JSON.stringify(serverMode)})`, () =>
        run(Effect.gen(function*() {
          const server = yield* serve(echo, { compression: serverMode, readLimit: 1 << 20 })
          const { conn } = yield* WebSocket.dial(server.url, { compression: clientMode, readLimit: 1 << 20 })
          expect(conn.extensions).toMatch(/^permessage-deflate/)
          for (const n of sizes) {
            const text = json(n)
            yield* conn.write("text", text)
            expect((yield* conn.read).text).toBe(text)
            const bin = new Uint8Array(n).map((_, i) => (i * 7) & 0xff)
            yield* conn.write("binary", bin)
            expect(Buffer.compare((yield* conn.read).data, bin)).toBe(0)
          }
          // a compressed message written in fragments
          yield* conn.withWriter("text", (w) => Effect.forEach([json(300), json(5), json(4000)], w.write, { discard: true }))
          expect((yield* conn.read).text).toBe(json(300) + json(5) + json(4000))
          yield* conn.close()
        })))
    }

    it.scopedLive("RSV1 on the first frame of a compressed message only; short messages and control frames uncompressed", () =>
      Effect.gen(function*() {
        const server = yield* rawServer((key, head) => {
          expect(head.toLowerCase()).toContain("sec-websocket-extensions: permessage-deflate")
          const accept = acceptFor(key)
          return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`
        })
        yield* Effect.fork(run(Effect.gen(function*() {
          const { conn } = yield* WebSocket.dial(server.url, { compression: "context-takeover" })
          yield* conn.write("text", "short")
          yield* conn.write("text", json(1000))
          yield* conn.withWriter("binary", (w) => Effect.zipRight(w.write(new Uint8Array(500)), w.write(new Uint8Array(500))))
          yield* conn.ping
          yield* conn.closed
        })))
        const peer = yield* server.peers
        yield* peer.until(() => peer.frames.length >= 5)
        peer.send(frame(10, peer.frames[4].payload, { mask: false }))
        expect(peer.frames.map((f) => [f.opcode, f.rsv1, f.fin])).toEqual([
          [1, false, true],
          [1, true, true],
          [2, true, false],
          [0, false, true],
          [9, false, true]
        ])
        expect(inflated(peer.frames[1].payload)).toBe(json(1000))
        peer.send(frame(8, closePayload(1000), { mask: false }))
      }))

    it.scopedLive("the read limit counts inflated bytes: a small bomb closes with 1009", () =>
      run(Effect.gen(function*() {
        const errors: Array<unknown> = []
        const server = yield* serve((conn) => Effect.flip(conn.read).pipe(Effect.tap((e) => Effect.sync(() => errors.push(e)))), {
          compression: "context-takeover"
        })
        const peer = yield* connect(server.port, { "Sec-WebSocket-Extensions": "permessage-deflate" })
        // 64 MiB of zeros deflate to about 64 KB
        const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }).subarray(0, -4)
        expect(bomb.length).toBeLessThan(100_000)
        peer.send(frame(2, bomb, { rsv: 4 }))
        expect((yield* peer.awaitClose)[0]).toBe(1009)
        expect(errors[0]).toMatchObject({ _tag: "MessageTooBig", limit: 32768 })
      })))

    it.scopedLive("a corrupt deflate stream closes with 1007", () =>
      run(Effect.gen(function*() {
        const server = yield* serve((conn) => conn.read, { compression: "context-takeover" })
        const peer = yield* connect(server.port, { "Sec-WebSocket-Extensions": "permessage-deflate" })
        peer.send(frame(1, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x12]), { rsv: 4 }))
        expect((yield* peer.awaitClose)[0]).toBe(1007)
      })))

    it.scopedLive("RSV1 on a continuation frame is a protocol error", () =>
      run(Effect.gen(function*() {
        const server = yield* serve((conn) => conn.read, { compression: "context-takeover" })
        const peer = yield* connect(server.port, { "Sec-WebSocket-Extensions": "permessage-deflate" })
        peer.send(frame(1, "a", { fin: false }), frame(0, "b", { rsv: 4 }))
        expect((yield* peer.awaitClose)[0]).toBe(1002)
      })))
  })

  describe(`ws perMessageDeflate interop, ${codecName} codec`, () => {
    const combos: ReadonlyArray<PerMessageDeflateOptions> = [
      {},
      { serverNoContextTakeover: true },
      { clientNoContextTakeover: true },
      { serverNoContextTakeover: true, clientNoContextTakeover: true },
      { serverMaxWindowBits: 9 },
      { clientMaxWindowBits: 9 },
      { serverMaxWindowBits: 15, clientMaxWindowBits: 11 }
    ]
    for (const combo of combos) {
      it.scopedLive(`ws client ${JSON.stringify(combo)} → our server`, () =>
        run(Effect.gen(function*() {
          const server = yield* serve(echo, { compression: "context-takeover", readLimit: 1 << 20 })
          const ws = new WsClient(server.url, { perMessageDeflate: { ...combo, threshold: 0 } })
          yield* Effect.addFinalizer(() => Effect.sync(() => ws.terminate()))
          yield* Effect.async<void>((resume) => {
            ws.once("open", () => resume(Effect.void))
          })
          expect(ws.extensions).toMatch(/permessage-deflate/)
          for (const n of [0, 10, 1000, 70_000, 300_000]) {
            const text = json(n)
            const back = yield* Effect.async<string>((resume) => {
              ws.once("message", (d: Buffer) => resume(Effect.succeed(d.toString())))
              ws.send(text)
            })
            expect(back).toBe(text)
          }
        })))

      it.scopedLive(`our client → ws server ${JSON.stringify(combo)}`, () =>
        run(Effect.gen(function*() {
          const wss = yield* Effect.acquireRelease(
            Effect.async<WebSocketServer>((resume) => {
              const s: WebSocketServer = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: { ...combo, threshold: 0 } }, () =>
                resume(Effect.succeed(s)))
            }),
            (s) => Effect.async<void>((resume) => {
              for (const c of s.clients) c.terminate()
              s.close(() => resume(Effect.void))
            })
          )
          wss.on("connection", (c) => c.on("message", (d, isBinary) => c.send(d, { binary: isBinary })))
          const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`
          const { conn } = yield* WebSocket.dial(url, { compression: "context-takeover", readLimit: 1 << 20 })
          expect(conn.extensions).toMatch(/permessage-deflate/)
          for (const n of [0, 10, 1000, 70_000, 300_000]) {
            const text = json(n)
            yield* conn.write("text", text)
            expect((yield* conn.read).text).toBe(text)
          }
          yield* conn.close()
        })))
    }
  })
}
