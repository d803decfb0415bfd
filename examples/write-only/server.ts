/**
 * A write-only server: coder/websocket's write-only example. Each
 * connection gets a JSON `Tick` every 30 seconds until the peer closes.
 *
 * `closeRead` keeps reading in the background, so a close (or ping) from
 * the peer is still answered, and a data message, which this server does
 * not expect, closes the connection with 1008. The ticks come from a
 * `Schedule` on the Effect `Clock`, so a test drives them with `TestClock`.
 *
 *   npx tsx examples/write-only/server.ts [PORT] [SECONDS]   (defaults 8080, 30)
 *   npm run echo:client -- ws://127.0.0.1:8080               (echoes the ticks back: 1008)
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import { pathToFileURL } from "node:url"
import { Codec, Json, StatusCode, WebSocket } from "../../src/index.js"

export const Tick = Schema.Struct({ tick: Schema.Number, text: Schema.String })

/** Writes a `Tick` every `interval` until the connection closes, then closes it with 1000. */
export const writeTicks = (conn: WebSocket.Conn, interval: Duration.DurationInput) =>
  Effect.gen(function*() {
    yield* conn.closeRead
    // like a Go ticker: the first tick after one interval; the count is the schedule's output
    const ticks = Stream.fromSchedule(Schedule.spaced(interval)).pipe(
      Stream.runForEach((tick) => Json.write(conn, Tick, { tick, text: "hi" }))
    )
    // the peer's close ends the ticks at once, not at the next failed write
    yield* Effect.raceFirst(ticks, conn.closed)
    yield* conn.close(StatusCode.NormalClosure)
  })

export const app = (interval: Duration.DurationInput) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const conn = yield* WebSocket.accept(request)
    yield* writeTicks(conn, interval)
    return HttpServerResponse.empty()
  }).pipe(
    Effect.catchAll((error) => Effect.as(Effect.logWarning(error.message), HttpServerResponse.empty()))
  )

/**
 * The server as a Layer; it also provides the `HttpServer`, whose address
 * tells the port. The handler runs as a route: routes are interruptible, so
 * a timeout or a server shutdown (1001 to every connection) can stop it. A
 * bare app given to `HttpServer.serve` runs uninterruptibly.
 */
export const ServerLive = (options: {
  readonly host?: string
  readonly port: number
  readonly interval?: Duration.DurationInput
}) =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/", app(options.interval ?? "30 seconds")),
    HttpServer.serve(),
    HttpServer.withLogAddress,
    Layer.provideMerge(
      NodeHttpServer.layerServer(() => WebSocket.prepareServer(createServer()), { host: options.host, port: options.port })
    ),
    Layer.provide(Codec.layer)
  )

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  ServerLive({
    host: "127.0.0.1",
    port: Number(process.argv[2] ?? 8080),
    interval: Duration.seconds(Number(process.argv[3] ?? 30))
  }).pipe(Layer.launch, NodeRuntime.runMain)
}
