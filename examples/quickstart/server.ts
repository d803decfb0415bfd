import { NodeRuntime } from "@effect/platform-node"
import { Effect, FiberSet, Stream } from "effect"
import * as Http from "node:http"
import { Codec, WebSocket } from "effect-websocket"

// Echo every message back, until the client closes.
const handle = (upgrade: WebSocket.NodeUpgrade) =>
  Effect.gen(function*() {
    const conn = yield* WebSocket.accept(upgrade, { subprotocols: ["echo"] })
    yield* conn.messages.pipe(Stream.runForEach((message) => conn.write(message)))
  }).pipe(Effect.scoped, Effect.catchAll(Effect.logError))

const main = Effect.gen(function*() {
  const run = yield* FiberSet.makeRuntime<Codec.Codec>()
  const server = Http.createServer()
  server.on("upgrade", (request, socket, head) => run(handle({ request, socket, head })))
  yield* Effect.acquireRelease(
    Effect.async<void, Error>((resume) => {
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(8081, "127.0.0.1", () => resume(Effect.void))
    }),
    () => Effect.sync(() => server.close())
  )
  yield* Effect.log("listening on ws://127.0.0.1:8081")
  yield* Effect.never
})

NodeRuntime.runMain(main.pipe(Effect.scoped, Effect.provide(Codec.layer)))
