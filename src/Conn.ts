/**
 * A WebSocket connection, the same face in both roles.
 *
 * Invariants (the implementation lives in `internal/conn.ts`):
 * - The connection is always reading: control frames (ping, pong, close) are
 *   handled as they arrive, whether or not the application reads. Data
 *   messages queue up to a bound; beyond it the socket is paused.
 * - Only the client masks. Masking never touches the caller's buffers.
 * - Reads and writes are independent: a blocked write never stops a read.
 * - Every frame is written in one synchronous step, so control frames slip
 *   between the frames of a fragmented message, never inside one. Frames
 *   written in one turn of the event loop leave in one `writev`.
 * - A close or a violation that arrives after whole messages is answered
 *   once the application has read up to it (or after the close timeout), so
 *   its replies to those messages still go out first.
 * - The connection's lifetime is the `Scope` it was opened in; closing the
 *   scope closes the transport (`closeNow`), after a 1001 close frame when
 *   the scope was interrupted.
 *
 * @since 0.1.0
 */
import type * as Chunk from "effect/Chunk"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { CloseError, MessageTooBig } from "./Errors.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-websocket/Conn")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category models
 */
export type MessageType = "text" | "binary"

const decoder = new TextDecoder()

/**
 * One whole data message. `data` is owned by the receiver.
 *
 * @since 0.1.0
 * @category models
 */
export class Message {
  constructor(
    readonly type: MessageType,
    readonly data: Uint8Array
  ) {}
  /** The payload decoded as UTF-8 (text messages are already validated). */
  get text(): string {
    return decoder.decode(this.data)
  }
}

/**
 * The next message, streamed: its type, and its payload as it arrives, as a
 * `Stream` or through `pull` (the same chunks, one Effect per batch of
 * them, without a Stream's setup cost). The next `read` or `reader` skips
 * whatever of this message was not consumed.
 *
 * @since 0.1.0
 * @category models
 */
export interface MessageReader {
  readonly type: MessageType
  readonly stream: Stream.Stream<Uint8Array, CloseError | MessageTooBig>
  /**
   * The next chunks of the payload, waiting for them if none are there yet;
   * an empty chunk once the message has ended.
   */
  readonly pull: Effect.Effect<Chunk.Chunk<Uint8Array>, CloseError | MessageTooBig>
}

/**
 * A message being written in fragments. Each `write` sends a frame (the
 * writer holds back the latest chunk so that `close` can mark it final);
 * `close` finishes the message. Other writers wait until then.
 *
 * @since 0.1.0
 * @category models
 */
export interface MessageWriter {
  readonly write: (data: Uint8Array | string) => Effect.Effect<void, CloseError>
  readonly close: Effect.Effect<void, CloseError>
}

/**
 * Errors of the read side.
 *
 * @since 0.1.0
 * @category models
 */
export type ReadError = CloseError | MessageTooBig

/**
 * @since 0.1.0
 * @category models
 */
export interface Conn {
  readonly [TypeId]: TypeId
  /** The negotiated subprotocol, `""` when none. */
  readonly subprotocol: string
  /** The negotiated `Sec-WebSocket-Extensions` value, `""` when none. */
  readonly extensions: string
  /**
   * Reads one whole message. Interrupting it before it returns loses
   * nothing: the message stays queued for the next read. One reader at a
   * time: concurrent reads are served in turn, each getting a whole message.
   */
  readonly read: Effect.Effect<Message, ReadError>
  /**
   * The messages, in order. Ends when the connection closes normally (1000,
   * 1001 or no status), fails with the `CloseError` otherwise.
   */
  readonly messages: Stream.Stream<Message, ReadError>
  /** The next message's type and its payload as a stream. */
  readonly reader: Effect.Effect<MessageReader, ReadError>
  /**
   * Writes one message as a single frame. Completes when the socket has
   * accepted the bytes, waiting for `drain` if it had to.
   */
  readonly write: {
    (message: Message): Effect.Effect<void, CloseError>
    (type: MessageType, data: Uint8Array | string): Effect.Effect<void, CloseError>
  }
  /** Starts a fragmented message; the scope's end finishes it. */
  readonly writer: (type: MessageType) => Effect.Effect<MessageWriter, CloseError, Scope.Scope>
  /**
   * Runs `use` with a writer for one fragmented message, which ends when
   * `use` does: `writer` without a `Scope` (and cheaper, for per-message use).
   */
  readonly withWriter: <A, E, R>(
    type: MessageType,
    use: (writer: MessageWriter) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | CloseError, R>
  /** Sends a ping and waits for its pong; yields the round-trip time. */
  readonly ping: Effect.Effect<Duration.Duration, CloseError>
  /**
   * The close handshake: sends a close frame (5 s to write it), waits up to
   * 5 s for the peer's, then closes the transport. Idempotent: later calls
   * wait for the first to finish. Dies on a code that may not be sent or a
   * reason over 123 bytes. 1005 sends an empty close payload.
   */
  readonly close: (code?: number, reason?: string) => Effect.Effect<void>
  /** Closes the transport at once, without a close frame. */
  readonly closeNow: Effect.Effect<void>
  /**
   * Reads in the background and closes with 1008 if a data message arrives;
   * for connections that only write. Do not read after calling it.
   */
  readonly closeRead: Effect.Effect<void>
  /** Completes when the connection has closed, with the reason. */
  readonly closed: Effect.Effect<CloseError>
  /**
   * Sets the largest message, in bytes, that the next messages may have
   * (-1: no limit). Applies to messages whose first frame arrives after the
   * call; the `readLimit` option applies from the very first one.
   */
  readonly setReadLimit: (bytes: number) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isConn = (u: unknown): u is Conn => typeof u === "object" && u !== null && TypeId in u
