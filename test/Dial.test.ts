import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Net from "node:net"
import { Codec, WebSocket } from "../src/index.js"
import { echo } from "../examples/echo/echo.js"
import { listen, serve } from "./util/server.js"
import { rawServer } from "./util/raw.js"
import { armed } from "./util/wait.js"

const dialError = (url: string, options: WebSocket.DialOptions = {}) =>
  Effect.flip(WebSocket.dial(url, options)).pipe(Effect.provide(Codec.layerJs))

/** The accept header a correct server would send for `key`. */
const accepted = (key: string) =>
  `Sec-WebSocket-Accept: ${createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64")}\r\n`

describe("dial", () => {
  it.scopedLive("refuses URLs of other schemes", () =>
    Effect.gen(function*() {
      const error = yield* dialError("ftp://127.0.0.1/")
      expect(error.message).toContain("unexpected url scheme")
    }))

  it.scopedLive("accepts http: URLs as ws:", () =>
    Effect.gen(function*() {
      const server = yield* serve(echo).pipe(Effect.provide(Codec.layerJs))
      const { conn, response } = yield* WebSocket.dial(`http://127.0.0.1:${server.port}`).pipe(Effect.provide(Codec.layerJs))
      expect(response.status).toBe(101)
      yield* conn.write("text", "hi")
      expect((yield* conn.read).text).toBe("hi")
    }))

  it.scopedLive("a refused handshake carries status, headers and at most 1024 bytes of body", () =>
    Effect.gen(function*() {
      const server = Http.createServer()
      server.on("upgrade", (_req, socket) => {
        const body = "x".repeat(3000)
        socket.end(`HTTP/1.1 403 Forbidden\r\nX-Why: nope\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
      })
      const port = yield* listen(server)
      const error = yield* dialError(`ws://127.0.0.1:${port}/`)
      expect(error.status).toBe(403)
      expect(error.headers?.["x-why"]).toBe("nope")
      expect(error.body?.length).toBe(1024)
      expect(error.message).toContain("101 but got 403")
    }))

  const refusal = (name: string, respond: (key: string, head: string) => string, message: RegExp, options: WebSocket.DialOptions = {}) =>
    it.scopedLive(name, () =>
      Effect.gen(function*() {
        const server = yield* rawServer(respond)
        const error = yield* dialError(server.url, options)
        expect(error._tag).toBe("HandshakeError")
        expect(error.message).toMatch(message)
      }))

  refusal(
    "a 101 without Upgrade",
    (key) => `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n${accepted(key)}\r\n`,
    /upgrade/i
  )
  refusal(
    "a wrong Sec-WebSocket-Accept",
    () => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n`,
    /accept/i
  )
  refusal(
    "a subprotocol that was not offered",
    (key) =>
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${accepted(key)}Sec-WebSocket-Protocol: other\r\n\r\n`,
    /protocol/i,
    { subprotocols: ["chat"] }
  )
  refusal(
    "an extension that was not offered",
    (key) =>
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${accepted(key)}Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
    /extension/i
  )

  it.scopedLive("a response head over maxHeaderSize is refused", () =>
    Effect.gen(function*() {
      const server = yield* rawServer((key) =>
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${accepted(key)}X-Padding: ${
          "x".repeat(20_000)
        }\r\n\r\n`
      )
      const error = yield* dialError(server.url)
      expect(error.message).toMatch(/header/i)
      const small = yield* dialError(server.url, { maxHeaderSize: 100 })
      expect(small._tag).toBe("HandshakeError")
    }))

  it.scoped("the handshake timeout runs on the Effect clock", () =>
    Effect.gen(function*() {
      // a server that accepts TCP and never answers
      const sockets: Array<Net.Socket> = []
      const server = Net.createServer((s) => sockets.push(s))
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => {
          server.listen(0, "127.0.0.1", () => resume(Effect.void))
        }),
        () => Effect.async<void>((resume) => {
          for (const s of sockets) s.destroy()
          server.close(() => resume(Effect.void))
        })
      )
      const port = (server.address() as Net.AddressInfo).port
      const fiber = yield* Effect.fork(dialError(`ws://127.0.0.1:${port}/`, { handshakeTimeout: "10 seconds" }))
      yield* armed
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error.message).toMatch(/timed out/)
    }))

  it.scopedLive("sends user headers, lets the handshake's own headers win, and honours a Host override", () =>
    Effect.gen(function*() {
      const seen: Array<Http.IncomingHttpHeaders> = []
      const server = yield* serve(echo, {}).pipe(Effect.provide(Codec.layerJs))
      server.server.prependListener("upgrade", (req: Http.IncomingMessage) => seen.push(req.headers))
      const { conn } = yield* WebSocket.dial(server.url, {
        headers: { "X-Token": "secret", "Sec-WebSocket-Version": "8", Upgrade: "h2c" },
        host: "example.test:1234",
        subprotocols: ["a", "b"]
      }).pipe(Effect.provide(Codec.layerJs))
      yield* conn.close()
      expect(seen[0]["x-token"]).toBe("secret")
      expect(seen[0]["sec-websocket-version"]).toBe("13")
      expect(seen[0].upgrade).toBe("websocket")
      expect(seen[0].host).toBe("example.test:1234")
      expect(seen[0]["sec-websocket-protocol"]).toBe("a, b")
    }))

  it.scopedLive("connects through a custom http.Agent", () =>
    Effect.gen(function*() {
      const server = yield* serve(echo).pipe(Effect.provide(Codec.layerJs))
      let created = 0
      class CountingAgent extends Http.Agent {
        override createConnection(...args: Parameters<Http.Agent["createConnection"]>) {
          created++
          return super.createConnection(...args)
        }
      }
      const { conn } = yield* WebSocket.dial(server.url, { agent: new CountingAgent() }).pipe(Effect.provide(Codec.layerJs))
      yield* conn.write("text", "via agent")
      expect((yield* conn.read).text).toBe("via agent")
      expect(created).toBe(1)
    }))

  it.scopedLive("wss: with TLS options", () =>
    Effect.gen(function*() {
      const cert = readFileSync(new URL("./fixtures/cert.pem", import.meta.url))
      const key = readFileSync(new URL("./fixtures/key.pem", import.meta.url))
      const server = Https.createServer({ cert, key })
      const run = yield* FiberSet.makeRuntime<Codec.Codec>()
      server.on("upgrade", (request: Http.IncomingMessage, socket, head: Buffer) => {
        run(WebSocket.accept({ request, socket, head }).pipe(Effect.flatMap(echo), Effect.scoped, Effect.ignore))
      })
      const port = yield* listen(server)
      const untrusted = yield* dialError(`wss://127.0.0.1:${port}/`)
      expect(untrusted.message).toMatch(/self.signed|certificate/i)
      const { conn } = yield* WebSocket.dial(`wss://127.0.0.1:${port}/`, { tls: { ca: cert } }).pipe(
        Effect.provide(Codec.layerJs)
      )
      yield* conn.write("binary", new Uint8Array(30_000).fill(9))
      expect((yield* conn.read).data.length).toBe(30_000)
      yield* conn.close()
    }).pipe(Effect.provide(Codec.layerJs)))
})
