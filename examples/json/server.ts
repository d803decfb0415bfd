/**
 * Reads one JSON message, then closes: coder/websocket's first example.
 *
 * Each connection is accepted inside an @effect/platform HTTP server, reads
 * one `Greeting` (decoded with its Schema; invalid JSON or a mismatch closes
 * the connection with 1007), logs it and closes with StatusNormalClosure.
 *
 *   npx tsx examples/json/server.ts [PORT]     (default 8080)
 *   npx tsx examples/json/client.ts ws://127.0.0.1:8080
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createServer } from "node:http"
import { pathToFileURL } from "node:url"
import { Codec, Json, StatusCode, WebSocket } from "../../src/index.js"
import { Greeting } from "./greeting.js"

/** The route handler: the connection lives in the request's scope. */
export const app = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const conn = yield* WebSocket.accept(request)
  // a read that times out is interrupted cleanly; the scope's end then drops the connection
  const greeting = yield* Json.read(conn, Greeting).pipe(Effect.timeout("10 seconds"))
  yield* Effect.logInfo("received", greeting)
  yield* conn.close(StatusCode.NormalClosure)
  // never sent: accept took the socket over
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
export const ServerLive = (options: { readonly host?: string; readonly port: number }) =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/", app),
    HttpServer.serve(),
    HttpServer.withLogAddress,
    Layer.provideMerge(NodeHttpServer.layerServer(() => WebSocket.prepareServer(createServer()), options)),
    Layer.provide(Codec.layer)
  )

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  ServerLive({ host: "127.0.0.1", port: Number(process.argv[2] ?? 8080) }).pipe(Layer.launch, NodeRuntime.runMain)
}
