/**
 * A client that expects the server to disconnect it with
 * StatusNormalClosure: coder/websocket's `CloseStatus` example.
 *
 * It reads, and the read fails with `CloseError` once the server closes:
 * a 1000 is the expected ending, any other status (or a message) is a
 * failure. `catchTag` is the typed way to look at the close; where only a
 * `Cause` or an unknown error is at hand, `closeStatus` gives its status
 * (-1 when it is not a close), like Go's `websocket.CloseStatus(err)`.
 *
 * Try it against the cross-origin example, which closes every connection
 * it accepts with 1000:
 *
 *   npx tsx examples/cross-origin/server.ts
 *   npx tsx examples/close-status/client.ts [URL]   (default ws://127.0.0.1:8080)
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { pathToFileURL } from "node:url"
import { Codec, StatusCode, WebSocket } from "../../src/index.js"

/** The connection did not end the way we expected. */
export class UnexpectedEnding extends Data.TaggedError("UnexpectedEnding")<{
  /** The close status we got instead, or -1 when a message came (as `closeStatus` says of non-close errors). */
  readonly status: number
  readonly cause: unknown
}> {
  override get message(): string {
    return `expected to be disconnected with StatusNormalClosure but got: ${
      this.status === -1 ? "a message" : StatusCode.name(this.status)
    }`
  }
}

/** Dials `url` and succeeds with the close once the server disconnects us with 1000. */
export const program = (url: string) =>
  Effect.gen(function*() {
    const { conn } = yield* WebSocket.dial(url)
    const { type } = yield* conn.reader
    return yield* new UnexpectedEnding({ status: -1, cause: `a ${type} message` })
  }).pipe(
    Effect.catchTag("CloseError", (error) =>
      error.code === StatusCode.NormalClosure
        ? Effect.as(Effect.logInfo(`disconnected: ${error.message}`), error)
        : Effect.fail(new UnexpectedEnding({ status: error.code, cause: error }))),
    Effect.scoped,
    Effect.timeout("1 minute")
  )

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  program(process.argv[2] ?? "ws://127.0.0.1:8080").pipe(Effect.provide(Codec.layer), NodeRuntime.runMain)
}
