import { NodeRuntime } from "@effect/platform-node"
import { Duration, Effect } from "effect"
import { Codec, StatusCode, WebSocket } from "effect-websocket"

const main = Effect.gen(function*() {
  const { conn } = yield* WebSocket.dial("ws://127.0.0.1:8081", { subprotocols: ["echo"] })
  yield* conn.write("text", "hello")
  const reply = yield* conn.read
  yield* Effect.log(`got ${reply.type} message: ${reply.text}`)
  const rtt = yield* conn.ping
  yield* Effect.log(`ping took ${Duration.format(rtt)}`)
  yield* conn.close(StatusCode.NormalClosure, "bye")
})

NodeRuntime.runMain(main.pipe(Effect.scoped, Effect.provide(Codec.layer)))
