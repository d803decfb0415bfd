/**
 * Every example's exported program, run against its counterpart on
 * 127.0.0.1, port 0, asserting what the example is there to show.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as TestClock from "effect/TestClock"
import { Codec, WebSocket } from "../src/index.js"
import { echo } from "../examples/echo/echo.js"
import * as CloseStatusClient from "../examples/close-status/client.js"
import * as CrossOriginServer from "../examples/cross-origin/server.js"
import * as JsonClient from "../examples/json/client.js"
import * as JsonServer from "../examples/json/server.js"
import * as PingClient from "../examples/ping/client.js"
import * as RouterServer from "../examples/router/server.js"
import * as WriteOnlyServer from "../examples/write-only/server.js"
import { closePayload, connect, frame, rawServer, request, upgradeRequest } from "./util/raw.js"
import { serve } from "./util/server.js"
import { spawnTs } from "./util/spawn.js"
import { armed, waitFor } from "./util/wait.js"

/** What the examples log, instead of the console. */
const captureLogs = () => {
  const logs: Array<{ readonly level: string; readonly message: ReadonlyArray<unknown> }> = []
  const layer = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      logs.push({ level: logLevel.label, message: Array.isArray(message) ? message : [message] })
    })
  )
  return { logs, layer }
}

/** Builds a server example's Layer in the test's scope; yields its port. */
const start = <E, R>(layer: Layer.Layer<HttpServer.HttpServer | R, E>) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(layer)
    const { address } = Context.get(context, HttpServer.HttpServer)
    const port = address._tag === "TcpAddress" ? address.port : 0
    return { port, url: `ws://127.0.0.1:${port}` }
  })

const text = (payload: Uint8Array) => new TextDecoder().decode(payload)

describe("examples/json", () => {
  it.scopedLive("the client's greeting reaches the server, which logs it and closes with 1000", () =>
    Effect.gen(function*() {
      const { layer, logs } = captureLogs()
      const server = yield* start(JsonServer.ServerLive({ host: "127.0.0.1", port: 0 }).pipe(Layer.provide(layer)))
      yield* JsonClient.program(server.url, "hello from the test")
      // the server logs once its read returned
      const received = yield* waitFor(() => logs.find((l) => l.message[0] === "received"))
      expect(received.message[1]).toEqual({ text: "hello from the test", sentAt: expect.any(Date) })
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scopedLive("the server answers one JSON message with a 1000 close, and invalid JSON with 1007", () =>
    Effect.gen(function*() {
      const { layer } = captureLogs()
      const server = yield* start(JsonServer.ServerLive({ host: "127.0.0.1", port: 0 }).pipe(Layer.provide(layer)))
      const good = yield* connect(server.port)
      good.send(frame(1, `{"text":"hi","sentAt":"2024-05-06T07:08:09.000Z"}`))
      expect(yield* good.awaitClose).toEqual([1000, ""])
      const bad = yield* connect(server.port)
      bad.send(frame(1, `{"text":""}`)) // NonEmptyString, and no sentAt
      expect(yield* bad.awaitClose).toEqual([1007, "failed to unmarshal JSON"])
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scopedLive("the client sends one text message of the encoded greeting, then a 1000 close", () =>
    Effect.gen(function*() {
      const server = yield* rawServer()
      const client = yield* Effect.fork(JsonClient.program(server.url))
      const peer = yield* server.peers
      yield* peer.until(() => peer.close !== undefined)
      peer.send(frame(8, closePayload(1000), { mask: false }))
      yield* client
      const [message, close] = peer.frames
      expect(message.opcode).toBe(1)
      expect(JSON.parse(text(message.payload))).toEqual({ text: "hi", sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) })
      expect(close.opcode).toBe(8)
      expect(peer.close).toEqual([1000, ""])
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scoped("the server drops a client that sends nothing for 10 s, without a close frame (CloseNow)", () =>
    Effect.gen(function*() {
      const { layer } = captureLogs()
      const server = yield* start(JsonServer.ServerLive({ host: "127.0.0.1", port: 0 }).pipe(Layer.provide(layer)))
      const peer = yield* connect(server.port)
      yield* armed
      yield* TestClock.adjust("10 seconds")
      yield* peer.awaitTcpClose
      expect(peer.close).toBeUndefined()
    }).pipe(Effect.provide(Codec.layerJs)))
})

describe("examples/close-status", () => {
  it.scopedLive("succeeds when the server disconnects it with 1000", () =>
    Effect.gen(function*() {
      const { layer } = captureLogs()
      const server = yield* start(CrossOriginServer.ServerLive({ host: "127.0.0.1", port: 0 }).pipe(Layer.provide(layer)))
      const closed = yield* CloseStatusClient.program(server.url)
      expect([closed.code, closed.reason, closed.received]).toEqual([1000, "cross origin WebSocket accepted", true])
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scopedLive("fails with the status when the server closes with anything else, or with -1 on a message", () =>
    Effect.gen(function*() {
      const server = yield* rawServer()
      const goingAway = yield* Effect.fork(CloseStatusClient.program(server.url))
      const first = yield* server.peers
      first.send(frame(8, closePayload(1001), { mask: false }))
      const error = yield* Effect.flip(goingAway)
      expect(error).toBeInstanceOf(CloseStatusClient.UnexpectedEnding)
      expect(error).toMatchObject({ status: 1001 })

      const message = yield* Effect.fork(CloseStatusClient.program(server.url))
      const second = yield* server.peers
      second.send(frame(1, "surprise", { mask: false }))
      expect(yield* Effect.flip(message)).toMatchObject({ _tag: "UnexpectedEnding", status: -1 })
    }).pipe(Effect.provide(Codec.layerJs)))
})

describe("examples/ping", () => {
  it.scopedLive("pings 5 times, each answered, logging 5 round-trip times", () =>
    Effect.gen(function*() {
      const { layer, logs } = captureLogs()
      let pings = 0
      const server = yield* serve(echo, {
        onPingReceived: () => {
          pings++
          return true
        }
      })
      const rtts = yield* PingClient.program(server.url).pipe(Effect.provide(layer))
      expect(rtts.length).toBe(5)
      expect(rtts.every(Duration.isDuration)).toBe(true)
      expect(pings).toBe(5)
      expect(logs.map((l) => String(l.message[0]).replace(/:.*/, ""))).toEqual(["ping 1", "ping 2", "ping 3", "ping 4", "ping 5"])
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scopedLive("fails with the CloseError when the connection drops before a pong", () =>
    Effect.gen(function*() {
      const server = yield* rawServer() // a raw peer never answers pings
      const fiber = yield* Effect.fork(PingClient.program(server.url))
      const peer = yield* server.peers
      yield* peer.until(() => peer.frames.some((f) => f.opcode === 9))
      peer.socket.destroy()
      expect(yield* Effect.flip(fiber)).toMatchObject({ _tag: "CloseError", code: 1006 })
    }).pipe(Effect.provide(Codec.layerJs)))
})

describe("examples/cross-origin", () => {
  const statusFor = (url: string, origin: string | undefined) =>
    WebSocket.dial(url, origin === undefined ? {} : { headers: { Origin: origin } }).pipe(
      Effect.flatMap(({ conn }) => Effect.map(conn.closed, (closed) => [101, closed.code, closed.reason] as const)),
      Effect.catchTag("HandshakeError", (error) => Effect.succeed([error.status, undefined, undefined] as const)),
      Effect.scoped
    )

  it.scopedLive("101 for no Origin, the request's own host and example.com; 403 for the rest", () =>
    Effect.gen(function*() {
      const { layer, logs } = captureLogs()
      const server = yield* start(CrossOriginServer.ServerLive({ host: "127.0.0.1", port: 0 }).pipe(Layer.provide(layer)))
      const accepted = [101, 1000, "cross origin WebSocket accepted"]
      const cases: Array<[string | undefined, ReadonlyArray<unknown>]> = [
        [undefined, accepted],
        [`http://127.0.0.1:${server.port}`, accepted],
        ["https://example.com", accepted],
        ["http://EXAMPLE.com", accepted],
        ["https://chat.example.com", [403, undefined, undefined]],
        ["https://example.com:8443", [403, undefined, undefined]],
        ["https://evil.com", [403, undefined, undefined]],
        ["null", [403, undefined, undefined]]
      ]
      for (const [origin, expected] of cases) {
        expect([origin, ...(yield* statusFor(server.url, origin))]).toEqual([origin, ...expected])
      }
      expect(logs.filter((l) => l.level === "WARN").length).toBe(4)
    }).pipe(Effect.provide(Codec.layerJs)))
})

describe("examples/write-only (TestClock)", () => {
  it.scoped("a tick every 30 s until the peer closes; the peer's close is answered", () =>
    Effect.gen(function*() {
      const { layer } = captureLogs()
      const server = yield* start(WriteOnlyServer.ServerLive({ host: "127.0.0.1", port: 0 }).pipe(Layer.provide(layer)))
      const peer = yield* connect(server.port)
      const data = () => peer.frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(text(f.payload)))
      yield* armed
      yield* TestClock.adjust("29 seconds")
      // a ping's pong comes after anything the server wrote before it
      peer.send(frame(9, "probe"))
      yield* peer.until(() => peer.frames.some((f) => f.opcode === 10))
      expect(data()).toEqual([])
      yield* TestClock.adjust("1 second")
      yield* peer.until(() => data().length === 1)
      yield* armed
      yield* TestClock.adjust("30 seconds")
      yield* peer.until(() => data().length === 2)
      expect(data()).toEqual([{ tick: 0, text: "hi" }, { tick: 1, text: "hi" }])
      peer.send(frame(8, closePayload(1000)))
      expect(yield* peer.awaitClose).toEqual([1000, ""])
      yield* peer.awaitTcpClose
    }).pipe(Effect.provide(Codec.layerJs)))

  it.scoped("a data message from the peer closes the connection with 1008 (closeRead)", () =>
    Effect.gen(function*() {
      const { layer } = captureLogs()
      const server = yield* start(WriteOnlyServer.ServerLive({ host: "127.0.0.1", port: 0 }).pipe(Layer.provide(layer)))
      const peer = yield* connect(server.port)
      yield* armed
      peer.send(frame(1, "not expected"))
      expect(yield* peer.awaitClose).toEqual([1008, "unexpected data message"])
    }).pipe(Effect.provide(Codec.layerJs)))
})

describe("examples/router", () => {
  it.scopedLive("serves a plain route, a WebSocket echo route, and 426 for a plain GET of it", () =>
    Effect.gen(function*() {
      const { layer } = captureLogs()
      const server = yield* start(RouterServer.ServerLive({ host: "127.0.0.1", port: 0 }).pipe(Layer.provide(layer)))
      const page = yield* request(server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
      expect(page.status).toBe(200)
      const { conn } = yield* WebSocket.dial(`${server.url}/echo`)
      yield* conn.write("text", "through the router")
      const back = yield* conn.read
      expect([back.type, back.text]).toEqual(["text", "through the router"])
      yield* conn.close(1000)
      expect((yield* conn.closed).code).toBe(1000)
      const plain = yield* request(server.port, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
      expect(plain.status).toBe(426)
      const elsewhere = yield* request(server.port, upgradeRequest().replace("GET /", "GET /nowhere"))
      expect(elsewhere.status).toBe(404)
    }).pipe(Effect.provide(Codec.layerJs)))
})

describe("the examples' command lines", () => {
  // one server and one client through tsx, as a user runs them; the other
  // entry points have the same two lines
  it.scopedLive("json: the server listens on the given port, the client exits 0, SIGINT stops the server", () =>
    Effect.gen(function*() {
      const server = yield* spawnTs("examples/json/server.ts", "0")
      const address = yield* waitFor(() =>
        /Listening on http:\/\/(127\.0\.0\.1:\d+)/.exec(server.output.text)?.[1] ?? server.child.exitCode !== null
      )
      expect(typeof address).toBe("string")
      const client = yield* spawnTs("examples/json/client.ts", `ws://${String(address)}`, "from the command line")
      expect([yield* client.exited, client.output.text]).toEqual([0, ""])
      yield* waitFor(() => server.output.text.includes("received"))
      expect(server.output.text).toContain("text: 'from the command line'")
      server.child.kill("SIGINT")
      expect(yield* server.exited).toBe(0)
    }), 120_000)
})
