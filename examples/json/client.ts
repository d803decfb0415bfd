/**
 * Dials a server, writes one JSON message and closes: coder/websocket's
 * "write one JSON message" example.
 *
 *   npx tsx examples/json/server.ts
 *   npx tsx examples/json/client.ts [URL] [TEXT]    (default ws://127.0.0.1:8080 hi)
 *
 * An empty TEXT is no `Greeting` (`text` is a NonEmptyString): the write
 * fails with a `ParseError` before anything is sent.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { pathToFileURL } from "node:url"
import { Codec, Json, StatusCode, WebSocket } from "../../src/index.js"
import { Greeting } from "./greeting.js"

/** Sends one greeting to `url`; the connection ends with the scope. */
export const program = (url: string, text = "hi") =>
  Effect.gen(function*() {
    const { conn } = yield* WebSocket.dial(url)
    const now = yield* Clock.currentTimeMillis
    yield* Json.write(conn, Greeting, { text, sentAt: new Date(now) })
    yield* conn.close(StatusCode.NormalClosure)
  }).pipe(Effect.scoped, Effect.timeout("1 minute"))

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  program(process.argv[2] ?? "ws://127.0.0.1:8080", process.argv[3]).pipe(Effect.provide(Codec.layer), NodeRuntime.runMain)
}
