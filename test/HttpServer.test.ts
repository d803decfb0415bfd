/**
 * accept inside @effect/platform's NodeHttpServer: the five hazards of
 * effect-integration.md §1.5, each with a test.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as Net from "node:net"
import { createHash, randomBytes } from "node:crypto"
import { Codec, WebSocket } from "../src/index.js"
import { echo } from "../examples/echo/echo.js"
import { connect, frame, request, upgradeRequest } from "./util/raw.js"
import { waitFor } from "./util/wait.js"

const route = <E>(handler: (conn: WebSocket.Conn) => Effect.Effect<unknown, E, Scope.Scope>) =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      "/ws",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const conn = yield* WebSocket.accept(request, { readLimit: 1 << 20 })
        yield* handler(conn)
        return HttpServerResponse.text("this must never reach the socket", { status: 418 })
      }).pipe(Effect.catchTag("HandshakeError", () => Effect.succeed(HttpServerResponse.empty({ status: 599 }))))
    )
  )

/** Serves `router` on 127.0.0.1 in a scope of its own, which the test may close. */
const start = <E>(router: HttpRouter.HttpRouter<E, Scope.Scope | Codec.Codec>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const server = yield* NodeHttpServer.make(() => WebSocket.prepareServer(Http.createServer()), {
      port: 0,
      host: "127.0.0.1"
    }).pipe(Scope.extend(scope))
    yield* server.serve(router).pipe(Scope.extend(scope), Effect.provide(Codec.layerJs))
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    return { port, scope }
  })

/** Every byte the peer sends until it closes TCP. */
const drain = (socket: Net.Socket) =>
  Effect.async<Buffer>((resume) => {
    const chunks: Array<Buffer> = []
    socket.on("data", (c: Buffer) => chunks.push(c))
    socket.on("close", () => resume(Effect.succeed(Buffer.concat(chunks))))
    socket.resume()
  })

describe("accept inside NodeHttpServer", () => {
  it.scopedLive("no HTTP response bytes reach the upgraded stream after the route returns", () =>
    Effect.gen(function*() {
      const { port } = yield* start(route((conn) => conn.write("text", "hello")))
      const res = yield* request(port, upgradeRequest().replace("GET /", "GET /ws"))
      expect(res.status).toBe(101)
      const bytes = Buffer.concat([res.rest, yield* drain(res.socket)])
      // exactly one frame: the text message, then nothing (closeNow ended the connection)
      expect([...bytes]).toEqual([0x81, 5, ...Buffer.from("hello")])
      expect(bytes.includes("HTTP/1.1")).toBe(false)
    }))

  it.scopedLive("bytes that came with the upgrade request are not lost", () =>
    Effect.gen(function*() {
      const { port } = yield* start(route((conn) => Effect.flatMap(conn.read, (m) => conn.write(m))))
      const key = randomBytes(16).toString("base64")
      const socket = Net.connect(port, "127.0.0.1")
      yield* Effect.addFinalizer(() => Effect.sync(() => socket.destroy()))
      const text = upgradeRequest({}, key).replace("GET /", "GET /ws")
      // the request and the first frame in one write
      socket.write(Buffer.concat([Buffer.from(text), frame(1, "pipelined")]))
      const bytes = yield* drain(socket)
      const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64")
      const head = bytes.subarray(0, bytes.indexOf("\r\n\r\n") + 4)
      expect(head.toString()).toContain(accept)
      const rest = bytes.subarray(head.length)
      expect([...rest]).toEqual([0x81, 9, ...Buffer.from("pipelined")])
    }))

  it.scopedLive("a peer reset during the route does not crash the process", () =>
    Effect.gen(function*() {
      let routes = 0
      const router = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/ws",
          Effect.gen(function*() {
            const n = routes++
            yield* Effect.sleep("50 millis") // the peer resets meanwhile
            // a refusal written by the platform into the reset socket is what used to crash
            if (n % 2 === 0) return HttpServerResponse.text("go away", { status: 401 })
            const request = yield* HttpServerRequest.HttpServerRequest
            const conn = yield* WebSocket.accept(request)
            yield* echo(conn)
            return HttpServerResponse.empty()
          }).pipe(Effect.catchAll(() => Effect.succeed(HttpServerResponse.empty())))
        )
      )
      const { port } = yield* start(router)
      for (let i = 0; i < 5; i++) {
        const socket = Net.connect(port, "127.0.0.1")
        socket.on("error", () => {})
        yield* Effect.async<void>((resume) => {
          socket.once("connect", () => {
            socket.write(upgradeRequest().replace("GET /", "GET /ws"), () => {
              socket.resetAndDestroy()
              resume(Effect.void)
            })
          })
        })
      }
      yield* waitFor(() => routes >= 5)
      yield* Effect.sleep("100 millis")
      // still serving
      const peer = yield* connect(port, {}).pipe(Effect.orElse(() => Effect.succeed(undefined)))
      expect(peer).toBeUndefined() // the raw connect targets "/", which is not routed: 404, not a crash
      const { conn } = yield* WebSocket.dial(`ws://127.0.0.1:${port}/ws`).pipe(Effect.provide(Codec.layerJs))
      yield* conn.write("text", "alive")
      expect((yield* conn.read).text).toBe("alive")
    }))

  it.scopedLive("server shutdown closes every connection with 1001 instead of hanging", () =>
    Effect.gen(function*() {
      const { port, scope } = yield* start(route((conn) => echo(conn)))
      const conns = yield* Effect.forEach([1, 2, 3], () =>
        WebSocket.dial(`ws://127.0.0.1:${port}/ws`).pipe(Effect.map((r) => r.conn), Effect.provide(Codec.layerJs)))
      for (const conn of conns) {
        yield* conn.write("text", "x")
        yield* conn.read
      }
      yield* Scope.close(scope, Exit.void).pipe(Effect.timeout("3 seconds"))
      for (const conn of conns) {
        const closed = yield* conn.closed
        expect([closed.code, closed.received]).toEqual([1001, true])
      }
    }))

  it.scopedLive("a plain request to a WebSocket route gets 426 through the platform's response", () =>
    Effect.gen(function*() {
      const { port } = yield* start(route(() => Effect.void))
      const res = yield* request(port, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
      expect(res.status).toBe(426)
      expect(res.head.toLowerCase()).toContain("upgrade: websocket")
    }))
})
