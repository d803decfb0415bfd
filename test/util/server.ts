/**
 * Test servers on 127.0.0.1: a Node http.Server whose upgrades run a handler
 * on the accepted connection, all within the caller's scope.
 */
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type { Codec } from "../../src/Codec.js"
import type { Conn } from "../../src/Conn.js"
import { type AcceptOptions, accept } from "../../src/WebSocket.js"
import type { HandshakeError } from "../../src/Errors.js"

export interface TestServer {
  readonly url: string
  readonly port: number
  readonly server: Http.Server
}

export const listen = (server: Http.Server): Effect.Effect<number, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
    }),
    () =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  )

/**
 * Serves WebSocket connections; `handler` runs in the connection's scope.
 * `onError` sees handshake failures.
 */
export const serve = <E>(
  handler: (conn: Conn) => Effect.Effect<unknown, E, Scope.Scope>,
  options: AcceptOptions & { readonly onHandshakeError?: (error: HandshakeError) => void } = {}
): Effect.Effect<TestServer, never, Scope.Scope | Codec> =>
  Effect.gen(function*() {
    const run = yield* FiberSet.makeRuntime<Codec>()
    const server = Http.createServer((_req, res) => {
      res.writeHead(404)
      res.end()
    })
    server.on("upgrade", (request: Http.IncomingMessage, socket, head: Buffer) => {
      run(
        accept({ request, socket, head }, options).pipe(
          Effect.tapError((error) => Effect.sync(() => options.onHandshakeError?.(error))),
          Effect.flatMap(handler),
          Effect.scoped,
          Effect.ignore
        )
      )
    })
    const port = yield* listen(server)
    return { url: `ws://127.0.0.1:${port}`, port, server }
  })
