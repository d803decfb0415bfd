/**
 * A client for browsers (and any runtime with a WHATWG `WebSocket`): the
 * same `Conn` face, over the platform's own WebSocket. Code written against
 * `Conn` runs on both.
 *
 * What the platform does not allow, as with coder/websocket's Wasm build:
 * - No pings: `ping` sends nothing and yields zero.
 * - Close codes: browsers send only 1000 and 3000–4999, so `close` dies on
 *   others; where the library would close with another code (a message over
 *   the read limit, a data message after `closeRead`) it closes with 1000
 *   and says why in the reason.
 * - `closeNow` is a close handshake without a code: a browser cannot drop
 *   the connection.
 * - No backpressure: messages queue until read; the read limit is checked
 *   when a whole message has arrived.
 * - Handshake headers, compression and TLS are the browser's business.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Conn, MessageReader, MessageType, MessageWriter, ReadError } from "./Conn.js"
import { Message, TypeId } from "./Conn.js"
import { CloseError, HandshakeError, MessageTooBig } from "./Errors.js"
import * as StatusCode from "./StatusCode.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface DialOptions {
  /** Offered in this order. */
  readonly subprotocols?: ReadonlyArray<string> | undefined
  /** Bytes; -1 for no limit. Default 32768. */
  readonly readLimit?: number | undefined
  /** Default 30 seconds, on the Effect `Clock`. */
  readonly handshakeTimeout?: Duration.DurationInput | undefined
  /** How long `close` waits for the browser to finish the close handshake. Default 10 seconds. */
  readonly closeTimeout?: Duration.DurationInput | undefined
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const ownBuffer = (data: Uint8Array): Uint8Array<ArrayBuffer> =>
  data.buffer instanceof ArrayBuffer ? (data as Uint8Array<ArrayBuffer>) : new Uint8Array(data)

/** Codes a browser accepts in `WebSocket.close`. */
const sendable = (code: number): boolean => code === 1000 || (code >= 3000 && code <= 4999)

class BrowserConn implements Conn {
  readonly [TypeId]: typeof TypeId = TypeId
  private readonly queue: Array<Message | MessageTooBig> = []
  private readonly waiters: Array<() => boolean> = []
  private readonly closedDeferred = Deferred.unsafeMake<CloseError>(FiberId.none)
  private closeError: CloseError | undefined = undefined
  private readClosed = false
  private readLimit: number

  constructor(
    private readonly ws: globalThis.WebSocket,
    readLimit: number,
    private readonly closeTimeout: Duration.Duration
  ) {
    this.readLimit = readLimit < 0 ? Infinity : readLimit
    ws.onmessage = (event: MessageEvent<unknown>) => this.onMessage(event.data)
    ws.onclose = (event: CloseEvent) => this.onClose(event)
  }

  get subprotocol(): string {
    return this.ws.protocol
  }

  get extensions(): string {
    return this.ws.extensions
  }

  private onMessage(data: unknown): void {
    const message = typeof data === "string"
      ? new Message("text", encoder.encode(data))
      : new Message("binary", new Uint8Array(data as ArrayBuffer))
    if (this.readClosed) {
      this.closeWith(StatusCode.PolicyViolation, "unexpected data message")
      return
    }
    if (message.data.length > this.readLimit) {
      this.queue.push(new MessageTooBig({ limit: this.readLimit }))
      this.closeWith(StatusCode.MessageTooBig, `read limited at ${this.readLimit + 1} bytes`)
    } else {
      this.queue.push(message)
    }
    this.notify()
  }

  private onClose(event: CloseEvent): void {
    // a close the browser saw whole carries the peer's code; otherwise the connection just ended
    this.closeError ??= new CloseError({
      code: event.code,
      reason: event.reason,
      received: event.wasClean
    })
    this.notify()
    Deferred.unsafeDone(this.closedDeferred, Exit.succeed(this.closeError))
  }

  /** Closes with `code` if a browser may send it, else with 1000 and the reason saying which. */
  private closeWith(code: number, reason: string): void {
    if (this.closeError !== undefined) return
    this.closeError = new CloseError({ code, reason, received: false })
    if (sendable(code)) this.ws.close(code, reason)
    else this.ws.close(StatusCode.NormalClosure, `${StatusCode.name(code)}: ${reason}`.slice(0, 123))
  }

  private notify(): void {
    const waiters = this.waiters
    while (waiters.length > 0 && waiters[0]()) waiters.shift()
  }

  private take(): Message | ReadError | undefined {
    const next = this.queue.shift()
    if (next !== undefined) return next
    if (this.ws.readyState === globalThis.WebSocket.CLOSED) return this.closeError
    return undefined
  }

  private readonly next: Effect.Effect<Message | ReadError> = Effect.suspend(() => {
    const ready = this.waiters.length === 0 ? this.take() : undefined
    if (ready !== undefined) return Effect.succeed(ready)
    return Effect.async<Message | ReadError>((resume) => {
      const waiter = () => {
        const r = this.take()
        if (r === undefined) return false
        resume(Effect.succeed(r))
        return true
      }
      this.waiters.push(waiter)
      return Effect.sync(() => {
        const i = this.waiters.indexOf(waiter)
        if (i >= 0) this.waiters.splice(i, 1)
      })
    })
  })

  readonly read: Effect.Effect<Message, ReadError> = Effect.flatMap(
    this.next,
    (r) => (r instanceof Message ? Effect.succeed(r) : Effect.fail(r))
  )

  readonly messages: Stream.Stream<Message, ReadError> = Stream.repeatEffectChunkOption(
    Effect.flatMap(this.next, (r) => {
      if (r instanceof Message) {
        const more: Array<Message> = [r]
        while (this.queue[0] instanceof Message) more.push(this.queue.shift() as Message)
        return Effect.succeed(Chunk.unsafeFromArray(more))
      }
      if (r instanceof CloseError && StatusCode.isNormal(r.code)) return Effect.fail(Option.none())
      return Effect.fail(Option.some(r))
    })
  )

  readonly reader: Effect.Effect<MessageReader, ReadError> = Effect.map(this.read, (message) => {
    // the whole message is there already: one chunk, then the end
    let given = false
    const pull = Effect.sync(() => {
      if (given) return Chunk.empty<Uint8Array>()
      given = true
      return message.data.length === 0 ? Chunk.empty<Uint8Array>() : Chunk.of(message.data)
    })
    return {
      type: message.type,
      pull,
      get stream() {
        return message.data.length === 0 ? Stream.empty : Stream.succeed(message.data)
      }
    }
  })

  private get writeFailure(): CloseError {
    return this.closeError ?? new CloseError({ code: StatusCode.AbnormalClosure, reason: "connection closed", received: false })
  }

  private send(type: MessageType, data: Uint8Array | string): Effect.Effect<void, CloseError> {
    return Effect.suspend(() => {
      if (this.closeError !== undefined || this.ws.readyState !== globalThis.WebSocket.OPEN) {
        return Effect.fail(this.writeFailure)
      }
      if (type === "text") this.ws.send(typeof data === "string" ? data : decoder.decode(data))
      // WebSocket.send takes views over plain ArrayBuffers only; ours always are, or get copied
      else this.ws.send(typeof data === "string" ? encoder.encode(data) : ownBuffer(data))
      return Effect.void
    })
  }

  readonly write: Conn["write"] = ((typeOrMessage: MessageType | Message, data?: Uint8Array | string) =>
    typeOrMessage instanceof Message
      ? this.send(typeOrMessage.type, typeOrMessage.data)
      : this.send(typeOrMessage, data ?? new Uint8Array(0))) as Conn["write"]

  /** A browser sends whole messages: the writer gathers the chunks and sends them at its end. */
  private gather(type: MessageType): { readonly writer: MessageWriter; readonly end: Effect.Effect<void, CloseError> } {
    const chunks: Array<Uint8Array> = []
    let done = false
    const end = Effect.suspend(() => {
      if (done) return Effect.void
      done = true
      const size = chunks.reduce((n, c) => n + c.length, 0)
      const whole = new Uint8Array(size)
      let offset = 0
      for (const c of chunks) {
        whole.set(c, offset)
        offset += c.length
      }
      return this.send(type, whole)
    })
    const writer: MessageWriter = {
      write: (data) =>
        Effect.sync(() => {
          chunks.push(typeof data === "string" ? encoder.encode(data) : data)
        }),
      close: end
    }
    return { writer, end }
  }

  readonly writer = (type: MessageType): Effect.Effect<MessageWriter, CloseError, Scope.Scope> =>
    Effect.suspend(() => {
      const { end, writer } = this.gather(type)
      return Effect.as(Effect.addFinalizer((exit) => (Exit.isSuccess(exit) ? Effect.ignore(end) : Effect.void)), writer)
    })

  readonly withWriter = <A, E, R>(
    type: MessageType,
    use: (writer: MessageWriter) => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | CloseError, R> =>
    Effect.suspend(() => {
      const { end, writer } = this.gather(type)
      return Effect.tap(use(writer), () => end)
    })

  readonly ping: Effect.Effect<Duration.Duration, CloseError> = Effect.suspend(() =>
    this.closeError === undefined ? Effect.succeed(Duration.zero) : Effect.fail(this.writeFailure)
  )

  readonly close = (code: number = StatusCode.NormalClosure, reason = ""): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (this.closeError === undefined) {
        if (!sendable(code)) return Effect.dieMessage(`a browser cannot close with ${StatusCode.name(code)}`)
        if (encoder.encode(reason).length > 123) return Effect.dieMessage("close reason over 123 bytes")
        this.closeError = new CloseError({ code, reason, received: false })
        this.ws.close(code, reason)
      }
      return Deferred.await(this.closedDeferred).pipe(Effect.timeoutOption(this.closeTimeout), Effect.asVoid)
    })

  readonly closeNow: Effect.Effect<void> = Effect.sync(() => {
    if (this.closeError !== undefined) return
    this.closeError = new CloseError({ code: StatusCode.NoStatusReceived, reason: "closed by closeNow", received: false })
    this.ws.close()
  })

  readonly closeRead: Effect.Effect<void> = Effect.sync(() => {
    this.readClosed = true
    if (this.queue.length > 0) {
      this.queue.length = 0
      this.closeWith(StatusCode.PolicyViolation, "unexpected data message")
    }
  })

  readonly closed: Effect.Effect<CloseError> = Deferred.await(this.closedDeferred)

  readonly setReadLimit = (bytes: number): Effect.Effect<void> =>
    Effect.sync(() => {
      this.readLimit = bytes < 0 ? Infinity : bytes
    })
}

/**
 * Dials `url` (`ws:`/`wss:`, or `http:`/`https:` taken as such) with the
 * platform's `WebSocket`. The connection lives until the scope closes.
 * `response` is what a browser lets us know: the 101.
 *
 * @since 0.1.0
 * @category constructors
 */
export const dial = (
  url: string | URL,
  options: DialOptions = {}
): Effect.Effect<
  { readonly conn: Conn; readonly response: { readonly status: number; readonly headers: Readonly<Record<string, string>> } },
  HandshakeError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const target = String(url).replace(/^http(s?):/, "ws$1:")
    const ws = yield* Effect.acquireRelease(
      Effect.try({
        try: () => new globalThis.WebSocket(target, [...(options.subprotocols ?? [])]),
        catch: (cause) => new HandshakeError({ message: `failed to WebSocket dial: ${String(cause)}`, cause })
      }),
      (ws) => Effect.sync(() => ws.close())
    )
    ws.binaryType = "arraybuffer"
    yield* Effect.async<void, HandshakeError>((resume) => {
      ws.onopen = () => resume(Effect.void)
      ws.onclose = (event) =>
        resume(Effect.fail(new HandshakeError({ message: `failed to WebSocket dial: closed with ${event.code}` })))
    }).pipe(
      Effect.timeoutFail({
        duration: options.handshakeTimeout ?? Duration.seconds(30),
        onTimeout: () => new HandshakeError({ message: "WebSocket handshake timed out" })
      })
    )
    const conn = new BrowserConn(
      ws,
      options.readLimit ?? 32768,
      options.closeTimeout === undefined ? Duration.seconds(10) : Duration.decode(options.closeTimeout)
    )
    return { conn, response: { status: 101, headers: {} } }
  }).pipe(Effect.withSpan("Browser.dial"))
