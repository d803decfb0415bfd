/**
 * Adapters from a `Conn` to the stream-shaped interfaces other code
 * expects: an @effect/platform `Socket` (for `Socket.toChannel`, RPC
 * protocols and anything else built on it) and a Node `Duplex` (the
 * counterpart of coder/websocket's `NetConn`).
 *
 * @since 0.1.0
 */
import * as PlatformSocket from "@effect/platform/Socket"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Duplex } from "node:stream"
import type { Conn, MessageType, ReadError } from "./Conn.js"
import { CloseError } from "./Errors.js"
import * as StatusCode from "./StatusCode.js"

const toSocketError = (error: ReadError): PlatformSocket.SocketError =>
  error._tag === "CloseError"
    ? new PlatformSocket.SocketCloseError({ reason: "Close", code: error.code, closeReason: error.reason })
    : new PlatformSocket.SocketGenericError({ reason: "Read", cause: error })

/**
 * The connection as an @effect/platform `Socket`. `run` delivers every
 * message (text as UTF-8 bytes; `runRaw` gives text as strings) and ends
 * when the connection closes with a code for which `closeCodeIsError` is
 * false (default: 1000, 1001 and no status), else fails with a
 * `SocketCloseError`. The writer sends `Uint8Array`s as binary messages,
 * strings as text messages, and a `CloseEvent` as a close handshake.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toSocket = (
  conn: Conn,
  options?: { readonly closeCodeIsError?: ((code: number) => boolean) | undefined }
): PlatformSocket.Socket => {
  const closeCodeIsError = options?.closeCodeIsError ?? ((code: number) => !StatusCode.isNormal(code))
  const ended = (error: CloseError): Effect.Effect<void, PlatformSocket.SocketError> =>
    closeCodeIsError(error.code) ? Effect.fail(toSocketError(error)) : Effect.void

  const runRaw = <_, E = never, R = never>(
    handler: (_: string | Uint8Array) => Effect.Effect<_, E, R> | void,
    opts?: { readonly onOpen?: Effect.Effect<void> | undefined }
  ): Effect.Effect<void, PlatformSocket.SocketError | E, R> =>
    Effect.scoped(
      Effect.gen(function*() {
        // handlers run concurrently, as the platform's own sockets run them; a failing one fails `run`
        const handlers = yield* FiberSet.make<unknown, E>()
        const fork = yield* FiberSet.runtime(handlers)<R>()
        if (opts?.onOpen !== undefined) yield* opts.onOpen
        const reading = conn.messages.pipe(
          Stream.runForEach((message) =>
            Effect.sync(() => {
              const result = handler(message.type === "text" ? message.text : message.data)
              if (Effect.isEffect(result)) fork(result)
            })
          ),
          Effect.zipRight(conn.closed),
          Effect.flatMap(ended),
          Effect.catchTags({
            CloseError: ended,
            MessageTooBig: (error) => Effect.fail(toSocketError(error))
          })
        )
        return yield* Effect.raceFirst(reading, FiberSet.join(handlers))
      })
    ).pipe(Effect.interruptible)

  const run = <_, E = never, R = never>(
    handler: (_: Uint8Array) => Effect.Effect<_, E, R> | void,
    opts?: { readonly onOpen?: Effect.Effect<void> | undefined }
  ): Effect.Effect<void, PlatformSocket.SocketError | E, R> =>
    runRaw((data) => handler(typeof data === "string" ? new TextEncoder().encode(data) : data), opts)

  const write = (chunk: Uint8Array | string | PlatformSocket.CloseEvent): Effect.Effect<void, PlatformSocket.SocketError> => {
    if (PlatformSocket.isCloseEvent(chunk)) return conn.close(chunk.code, chunk.reason)
    return Effect.mapError(conn.write(typeof chunk === "string" ? "text" : "binary", chunk), toSocketError)
  }

  return PlatformSocket.Socket.of({
    [PlatformSocket.TypeId]: PlatformSocket.TypeId,
    run,
    runRaw,
    writer: Effect.succeed(write)
  })
}

/**
 * The connection as a Node `Duplex` byte stream: each write becomes one
 * message of `type`, and reading yields the payloads of the incoming
 * messages one after another. A message of the other type closes the
 * connection with 1003. A close with 1000 or 1001 (or no status) ends the
 * readable side; any other close destroys the stream with the
 * `CloseError`. Ending the writable side closes the connection with 1000.
 * The read limit of the connection still applies to each message. The
 * stream is destroyed when the scope closes.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toDuplex = (conn: Conn, type: MessageType = "binary"): Effect.Effect<Duplex, never, Scope.Scope> =>
  Effect.gen(function*() {
    const run = yield* FiberSet.makeRuntime<never, unknown, unknown>()
    let reading = false
    const duplex: Duplex = new Duplex({
      read() {
        if (reading) return
        reading = true
        run(conn.read).addObserver((exit) => {
          reading = false
          if (exit._tag === "Success") {
            const message = exit.value
            if (message.type !== type) {
              const reason = `unexpected ${message.type} message (expected ${type})`
              const error = new CloseError({ code: StatusCode.UnsupportedData, reason, received: false })
              run(conn.close(StatusCode.UnsupportedData, reason)).addObserver(() => duplex.destroy(error))
              return
            }
            // an empty message carries no bytes; read on
            if (message.data.length === 0) duplex.read(0)
            else duplex.push(message.data)
            return
          }
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          if (error instanceof CloseError && StatusCode.isNormal(error.code)) duplex.push(null)
          else duplex.destroy(error instanceof Error ? error : new Error("read interrupted"))
        })
      },
      write(chunk: Uint8Array, _encoding, callback) {
        run(conn.write(type, chunk)).addObserver((exit) =>
          callback(exit._tag === "Success" ? null : exit.cause._tag === "Fail" ? exit.cause.error : new Error("write interrupted"))
        )
      },
      final(callback) {
        run(conn.close(StatusCode.NormalClosure)).addObserver(() => callback())
      },
      destroy(error, callback) {
        // a CloseError reports a connection that is already closing
        if (error !== null && !(error instanceof CloseError)) run(conn.closeNow)
        callback(error)
      }
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => duplex.destroy()))
    return duplex
  })
