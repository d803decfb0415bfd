import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Http from "node:http"
import { Codec, WebSocket } from "../src/index.js"
import type { HandshakeError } from "../src/Errors.js"
import { request, upgradeRequest } from "./util/raw.js"
import { listen, serve } from "./util/server.js"
import { waitFor } from "./util/wait.js"

const rejected = (
  name: string,
  text: string,
  status: number,
  headers: ReadonlyArray<string> = [],
  options: WebSocket.AcceptOptions = {}
) =>
  it.scopedLive(name, () =>
    Effect.gen(function*() {
      const errors: Array<HandshakeError> = []
      const server = yield* serve(() => Effect.void, { ...options, onHandshakeError: (e) => errors.push(e) })
      const res = yield* request(server.port, text)
      expect(res.status).toBe(status)
      for (const h of headers) expect(res.head.toLowerCase()).toContain(h.toLowerCase())
      const error = yield* waitFor(() => errors[0])
      expect(error).toMatchObject({ _tag: "HandshakeError", status })
    }).pipe(Effect.provide(Codec.layerJs)))

describe("accept: every refused handshake gets its HTTP status and a HandshakeError", () => {
  rejected(
    "HTTP/1.0 → 426",
    upgradeRequest().replace("HTTP/1.1", "HTTP/1.0"),
    426
  )
  rejected(
    "Upgrade not websocket → 426",
    upgradeRequest({ Upgrade: "h2c" }),
    426,
    ["upgrade: websocket"]
  )
  rejected("POST → 405, checked after the upgrade headers", upgradeRequest().replace("GET", "POST"), 405)
  rejected("version 12 → 400 with Sec-WebSocket-Version: 13", upgradeRequest({ "Sec-WebSocket-Version": "12" }), 400, [
    "sec-websocket-version: 13"
  ])
  rejected("missing key → 400", upgradeRequest({ "Sec-WebSocket-Key": "" }), 400)
  rejected("a key of 15 bytes → 400", upgradeRequest({}, Buffer.alloc(15).toString("base64")), 400)
  rejected(
    "two key lines → 400",
    upgradeRequest().replace("\r\n\r\n", `\r\nSec-WebSocket-Key: ${Buffer.alloc(16).toString("base64")}\r\n\r\n`),
    400
  )
  rejected("a foreign origin → 403", upgradeRequest({ Origin: "https://evil.example" }), 403)
  rejected(
    "an origin outside the patterns → 403",
    upgradeRequest({ Origin: "https://other.example" }),
    403,
    [],
    { originPatterns: ["*.example.com"] }
  )
})

describe("accept: what passes", () => {
  const accepted = (name: string, headers: Record<string, string>, options: WebSocket.AcceptOptions, check: (head: string) => void) =>
    it.scopedLive(name, () =>
      Effect.gen(function*() {
        const server = yield* serve((conn) => conn.close(), options)
        const res = yield* request(server.port, upgradeRequest(headers))
        expect(res.status).toBe(101)
        check(res.head.toLowerCase())
      }).pipe(Effect.provide(Codec.layerJs)))

  accepted("no Origin header", {}, {}, () => {})
  accepted("the request's own host as origin", { Origin: "http://127.0.0.1", Host: "127.0.0.1" }, {}, () => {})
  accepted("an origin matching a pattern", { Origin: "https://a.example.com" }, { originPatterns: ["*.example.com"] }, () => {})
  accepted("any origin with insecureSkipVerify", { Origin: "https://evil.example" }, { insecureSkipVerify: true }, () => {})
  accepted(
    "subprotocol in the server's order, client's spelling",
    { "Sec-WebSocket-Protocol": "Chat, superchat" },
    { subprotocols: ["superchat", "chat"] },
    (head) => expect(head).toContain("sec-websocket-protocol: superchat")
  )
  accepted(
    "no common subprotocol still connects, without the header",
    { "Sec-WebSocket-Protocol": "other" },
    { subprotocols: ["chat"] },
    (head) => expect(head).not.toContain("sec-websocket-protocol")
  )
  accepted(
    "case-insensitive subprotocol match returns the client's spelling",
    { "Sec-WebSocket-Protocol": "CHAT" },
    { subprotocols: ["chat"] },
    (head) => expect(head).toContain("sec-websocket-protocol: CHAT".toLowerCase())
  )
})

describe("accept: bounded handshakes", () => {
  it.scopedLive("a request head over 16 KiB is refused with 431 before any upgrade", () =>
    Effect.gen(function*() {
      let upgrades = 0
      const server = yield* serve(() => Effect.sync(() => upgrades++))
      const res = yield* request(server.port, upgradeRequest({ "X-Padding": "x".repeat(20_000) }))
      expect(res.status).toBe(431)
      expect(upgrades).toBe(0)
    }).pipe(Effect.provide(Codec.layerJs)))
})

describe("accept: one request, one connection", () => {
  it.scopedLive("running the same accept effect a second time dies instead of touching the taken socket", () =>
    Effect.gen(function*() {
      const server = Http.createServer()
      const accepted = yield* Deferred.make<Effect.Effect<WebSocket.Conn, unknown, never>>()
      server.on("upgrade", (req: Http.IncomingMessage, socket, head: Buffer) => {
        Deferred.unsafeDone(accepted, Exit.succeed(
          Effect.scoped(WebSocket.accept({ request: req, socket, head })).pipe(Effect.provide(Codec.layerJs))
        ))
      })
      const port = yield* listen(server)
      const res = yield* Effect.fork(request(port, upgradeRequest()))
      const once = yield* Deferred.await(accepted)
      yield* once
      expect((yield* Fiber.join(res)).status).toBe(101)
      const again = yield* Effect.exit(once)
      expect(Exit.isFailure(again) && Cause.isDie(again.cause)).toBe(true)
      if (Exit.isFailure(again)) expect(Cause.pretty(again.cause)).toContain("accepted only once")
    }))
})
