/**
 * Pings a server 5 times and logs each round-trip time: coder/websocket's
 * ping example.
 *
 * `closeRead` is what the seed needs for pongs to be read at all. Here the
 * connection always reads control frames, so pings work without it; it
 * still says "no data expected": a data message closes with 1008.
 *
 *   npm run echo:server
 *   npx tsx examples/ping/client.ts [URL]   (default ws://127.0.0.1:8080)
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { pathToFileURL } from "node:url"
import { Codec, StatusCode, WebSocket } from "../../src/index.js"

/** Pings `url` `count` times, one after the other; yields the round-trip times. */
export const program = (url: string, count = 5) =>
  Effect.gen(function*() {
    const { conn } = yield* WebSocket.dial(url)
    yield* conn.closeRead
    const rtts = yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => i + 1),
      (n) => Effect.tap(conn.ping, (rtt) => Effect.logInfo(`ping ${n}: ${Duration.toMillis(rtt).toFixed(3)} ms`))
    )
    yield* conn.close(StatusCode.NormalClosure)
    return rtts
  }).pipe(Effect.scoped, Effect.timeout("1 minute"))

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  program(process.argv[2] ?? "ws://127.0.0.1:8080").pipe(Effect.provide(Codec.layer), NodeRuntime.runMain)
}
