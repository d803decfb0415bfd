/**
 * Accepts cross-origin WebSockets from example.com only: coder/websocket's
 * cross-origin example. Each accepted connection is closed at once with
 * StatusNormalClosure, "cross origin WebSocket accepted".
 *
 * What `originPatterns: ["example.com"]` lets through, for a server reached
 * as 127.0.0.1:8080:
 *
 *   no Origin header (not a browser)      101: nothing to protect
 *   Origin: http://127.0.0.1:8080         101: the request's own host always is
 *   Origin: https://example.com           101: the pattern matches the host (any scheme)
 *   Origin: https://chat.example.com      403: a pattern without "*." is one host
 *   Origin: https://example.com:8443      403: the port is part of the host
 *   Origin: https://evil.com, null        403
 *
 *   npx tsx examples/cross-origin/server.ts [PORT]
 *   curl -i http://127.0.0.1:8080 -H "Connection: Upgrade" -H "Upgrade: websocket" \
 *     -H "Sec-WebSocket-Version: 13" -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" \
 *     -H "Origin: https://evil.com"
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
import { Codec, StatusCode, WebSocket } from "../../src/index.js"

/**
 * Never use `"*"` to allow every origin: that opens the server to
 * cross-site WebSocket hijacking. `insecureSkipVerify: true` says so openly.
 */
export const acceptOptions: WebSocket.AcceptOptions = { originPatterns: ["example.com"] }

export const app = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const conn = yield* WebSocket.accept(request, acceptOptions)
  yield* conn.close(StatusCode.NormalClosure, "cross origin WebSocket accepted")
  return HttpServerResponse.empty()
}).pipe(
  // accept has already answered (403 for a foreign origin); log why
  Effect.catchTag("HandshakeError", (error) =>
    Effect.as(Effect.logWarning(`${error.status ?? "no"} response: ${error.message}`), HttpServerResponse.empty()))
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
