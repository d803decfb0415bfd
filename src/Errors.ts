/**
 * The errors of a WebSocket connection. Each has its own tag, so
 * `Effect.catchTag("CloseError", …)` and friends work.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Option from "effect/Option"
import * as StatusCode from "./StatusCode.js"

/**
 * The connection is closed, or closing. `code` is the close status:
 * the peer's when `received` is true, ours when we closed or failed the
 * connection (e.g. 1002 for a protocol violation, with the violation as
 * `reason`), and 1006 when the transport ended without a close frame
 * (`cause` then holds the transport's error, if any).
 *
 * @since 0.1.0
 * @category errors
 */
export class CloseError extends Data.TaggedError("CloseError")<{
  readonly code: number
  readonly reason: string
  /** Whether `code` and `reason` came in the peer's close frame. */
  readonly received: boolean
  readonly cause?: unknown
}> {
  override get message(): string {
    const who = this.received ? "received close frame" : "connection closed"
    return `${who}: status = ${StatusCode.name(this.code)} and reason = ${JSON.stringify(this.reason)}`
  }
}

/**
 * The opening handshake failed. When an HTTP response was involved,
 * `status`, `headers` and up to 1024 bytes of `body` describe it (for
 * `accept`: the response we sent; for `dial`: the one we received).
 *
 * @since 0.1.0
 * @category errors
 */
export class HandshakeError extends Data.TaggedError("HandshakeError")<{
  readonly message: string
  readonly status?: number | undefined
  readonly headers?: Readonly<Record<string, string | ReadonlyArray<string> | undefined>> | undefined
  readonly body?: Uint8Array | undefined
  readonly cause?: unknown
}> {}

/**
 * A message exceeded the read limit (see `setReadLimit`). The connection is
 * closed with 1009.
 *
 * @since 0.1.0
 * @category errors
 */
export class MessageTooBig extends Data.TaggedError("MessageTooBig")<{
  /** The limit in effect for the message, in bytes. */
  readonly limit: number
}> {
  override get message(): string {
    return `read limited at ${this.limit + 1} bytes`
  }
}

/**
 * The close status carried by `error`: the code of a `CloseError` (also when
 * it is found inside a `Cause`), or -1 for anything else.
 *
 * @since 0.1.0
 * @category utils
 */
export const closeStatus = (error: unknown): number => {
  if (error instanceof CloseError) return error.code
  if (Cause.isCause(error)) {
    const found = Cause.find(error, (e) =>
      e._tag === "Fail" && e.error instanceof CloseError ? Option.some(e.error.code) : Option.none()
    )
    return Option.getOrElse(found, () => -1)
  }
  return -1
}
