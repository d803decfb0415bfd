/**
 * JSON messages through an Effect `Schema` (coder/websocket's `wsjson`).
 *
 * Reading accepts text and binary messages alike. A message that is not
 * JSON, or whose JSON does not decode with the schema, closes the connection
 * with 1007 ("failed to unmarshal JSON") and fails with `JsonError` or
 * `ParseError` respectively. Writing encodes with the schema and sends one
 * text message.
 *
 * Decoding and encoding are synchronous, so schemas must not need services.
 *
 * @since 0.1.0
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { ParseError } from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Conn, Message, ReadError } from "./Conn.js"
import type { CloseError } from "./Errors.js"
import * as StatusCode from "./StatusCode.js"

/**
 * A payload that is not JSON (`reason: "Parse"`, the `cause` is the
 * `SyntaxError`), or a value that `JSON.stringify` cannot represent
 * (`reason: "Stringify"`: a cycle, a `bigint`, `undefined`…).
 *
 * A value that is JSON but does not match the schema fails with the
 * schema's `ParseError` instead, as `HttpServerRequest.schemaBodyJson` and
 * `Ndjson.unpackSchema` do.
 *
 * @since 0.1.0
 * @category errors
 */
export class JsonError extends Data.TaggedError("JsonError")<{
  readonly reason: "Parse" | "Stringify"
  readonly cause: unknown
}> {
  override get message(): string {
    const what = this.reason === "Parse" ? "failed to unmarshal JSON" : "failed to marshal JSON"
    return this.cause instanceof Error ? `${what}: ${this.cause.message}` : what
  }
}

/**
 * Why a message did not yield a value. The connection is then closed
 * with 1007.
 *
 * @since 0.1.0
 * @category models
 */
export type DecodeError = JsonError | ParseError

/**
 * Why a value could not be sent: it did not encode (nothing was sent, the
 * connection is untouched), or the connection is closed.
 *
 * @since 0.1.0
 * @category models
 */
export type WriteError = JsonError | ParseError | CloseError

const decoder = <A, I>(schema: Schema.Schema<A, I>): (message: Message) => Either.Either<A, DecodeError> => {
  const decodeValue = Schema.decodeUnknownEither(schema)
  return (message) => {
    let json: unknown
    try {
      json = JSON.parse(message.text)
    } catch (cause) {
      return Either.left(new JsonError({ reason: "Parse", cause }))
    }
    return decodeValue(json)
  }
}

const notRepresentable = new TypeError("the encoded value has no JSON representation")

const encoder = <A, I>(schema: Schema.Schema<A, I>): (value: A) => Either.Either<string, JsonError | ParseError> => {
  const encodeValue = Schema.encodeEither(schema)
  return (value) => {
    const encoded = encodeValue(value)
    if (Either.isLeft(encoded)) return Either.left(encoded.left)
    let text: string | undefined
    try {
      // typed as string, but undefined for undefined, functions and symbols
      text = JSON.stringify(encoded.right)
    } catch (cause) {
      return Either.left(new JsonError({ reason: "Stringify", cause }))
    }
    return text === undefined ? Either.left(new JsonError({ reason: "Stringify", cause: notRepresentable })) : Either.right(text)
  }
}

/** What coder/websocket does: the peer sent something we cannot use, so it is told with 1007. */
const unmarshalFailed = (conn: Conn, error: DecodeError): Effect.Effect<never, DecodeError> =>
  Effect.zipRight(conn.close(StatusCode.InvalidFramePayloadData, "failed to unmarshal JSON"), Effect.fail(error))

/**
 * Reads one message (text or binary) and decodes its JSON with `schema`.
 * On invalid JSON or a schema mismatch, closes the connection with 1007
 * (waiting for the close handshake) and fails.
 *
 * @example
 * const Greeting = Schema.Struct({ name: Schema.String })
 * const { name } = yield* Json.read(conn, Greeting)
 *
 * @since 0.1.0
 * @category reading
 */
export const read = <A, I>(conn: Conn, schema: Schema.Schema<A, I>): Effect.Effect<A, ReadError | DecodeError> => {
  const decode = decoder(schema)
  return Effect.flatMap(conn.read, (message) => {
    const result = decode(message)
    return Either.isRight(result) ? Effect.succeed(result.right) : unmarshalFailed(conn, result.left)
  })
}

/**
 * The decoded messages, in order. Ends when the connection closes normally;
 * fails like `conn.messages` otherwise, and like {@link read} (after closing
 * with 1007) on a message that does not decode.
 *
 * @since 0.1.0
 * @category reading
 */
export const messages = <A, I>(conn: Conn, schema: Schema.Schema<A, I>): Stream.Stream<A, ReadError | DecodeError> => {
  const decode = decoder(schema)
  // decodes each chunk of messages in one synchronous loop; on a failure the
  // values before it are still emitted
  const loop: Channel.Channel<Chunk.Chunk<A>, Chunk.Chunk<Message>, ReadError | DecodeError, ReadError, unknown, unknown> =
    Channel.readWithCause({
      onInput: (chunk: Chunk.Chunk<Message>) => {
        const input = Chunk.toReadonlyArray(chunk)
        const out: Array<A> = []
        for (let i = 0; i < input.length; i++) {
          const result = decode(input[i])
          if (Either.isLeft(result)) {
            const fail = Channel.fromEffect(unmarshalFailed(conn, result.left))
            return out.length === 0 ? fail : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), fail)
          }
          out.push(result.right)
        }
        return Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), loop)
      },
      onFailure: Channel.failCause,
      onDone: () => Channel.void
    })
  return Stream.pipeThroughChannel(conn.messages, loop)
}

/**
 * Encodes `value` with `schema` and sends its JSON as one text message.
 * With two arguments, returns the sending function (the schema's encoder
 * is built once), e.g. `Stream.runForEach(values, Json.write(conn, Event))`.
 *
 * No newline is appended (Go's `json.Encoder` appends one): a WebSocket
 * message is already delimited, and JavaScript peers expect
 * `JSON.stringify`'s output. Our reader accepts a trailing newline.
 *
 * @since 0.1.0
 * @category writing
 */
export function write<A, I>(conn: Conn, schema: Schema.Schema<A, I>): (value: A) => Effect.Effect<void, WriteError>
export function write<A, I>(conn: Conn, schema: Schema.Schema<A, I>, value: A): Effect.Effect<void, WriteError>
export function write<A, I>(
  conn: Conn,
  schema: Schema.Schema<A, I>,
  ...value: [] | [A]
): ((value: A) => Effect.Effect<void, WriteError>) | Effect.Effect<void, WriteError> {
  const encode = encoder(schema)
  const send = (a: A): Effect.Effect<void, WriteError> =>
    Effect.suspend((): Effect.Effect<void, WriteError> => {
      const text = encode(a)
      return Either.isRight(text) ? conn.write("text", text.right) : Effect.fail(text.left)
    })
  // the arity decides, since `undefined` may be a legitimate value
  return value.length === 0 ? send : send(value[0])
}
