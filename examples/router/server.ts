/**
 * WebSocket routes in an @effect/platform `HttpRouter`, next to plain HTTP
 * ones, served by `NodeHttpServer`.
 *
 *   GET /       a plain text page
 *   GET /echo   a WebSocket echo (examples/echo); a plain GET gets 426
 *
 * The `http.Server` goes through `WebSocket.prepareServer`, which keeps the
 * bytes a client sends right behind its upgrade request and guards against
 * resets before the route runs. Each connection lives in its route's scope:
 * when the server stops, every connection is closed with 1001.
 *
 *   npx tsx examples/router/server.ts [PORT]
 *   curl http://127.0.0.1:8080/
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { createServer } from "node:http"
import { pathToFileURL } from "node:url"
import { Codec, WebSocket } from "../../src/index.js"
import { echo } from "../echo/echo.js"

/**
 * A route handler that accepts the request as a WebSocket and runs `handler`
 * on it. A refused handshake has been answered by `accept` already.
 */
const websocket = <E>(handler: (conn: WebSocket.Conn) => Effect.Effect<unknown, E, Scope.Scope>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const conn = yield* WebSocket.accept(request)
    yield* handler(conn)
    return HttpServerResponse.empty()
  }).pipe(
    Effect.catchAll((error) => Effect.as(Effect.logWarning(String(error)), HttpServerResponse.empty()))
  )

export const router = HttpRouter.empty.pipe(
  HttpRouter.get("/", HttpServerResponse.text("a WebSocket echo is on /echo\n")),
  HttpRouter.get("/echo", websocket(echo))
)

/** The server as a Layer; it also provides the `HttpServer`, whose address tells the port. */
export const ServerLive = (options: { readonly host?: string; readonly port: number }) =>
  HttpServer.serve(router).pipe(
    HttpServer.withLogAddress,
    Layer.provideMerge(NodeHttpServer.layerServer(() => WebSocket.prepareServer(createServer()), options)),
    Layer.provide(Codec.layer)
  )

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  ServerLive({ host: "127.0.0.1", port: Number(process.argv[2] ?? 8080) }).pipe(Layer.launch, NodeRuntime.runMain)
}
