/**
 * The connection state machine, for both roles, over a Node stream socket.
 *
 * Bytes flow one way: socket 'data' → FrameParser → this (validation,
 * unmasking, inflation, UTF-8) → a queue of message slots → read / reader /
 * messages. All of that is synchronous; Effect appears only where a user
 * operation waits (a message, a pong, the write lock, 'drain', the close).
 *
 * @internal
 */
import { isUtf8 } from "node:buffer"
import type { Duplex } from "node:stream"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Codec from "../Codec.js"
import { InflateStatus } from "../Codec.js"
import type { Conn, MessageReader, MessageType, MessageWriter, ReadError } from "../Conn.js"
import { Message, TypeId } from "../Conn.js"
import { CloseError, MessageTooBig } from "../Errors.js"
import { isReserved, MAX_CONTROL_PAYLOAD, Opcode } from "../Frame.js"
import { type FrameHandler, FrameParser } from "../FrameParser.js"
import { encodeFrame, encodeUnmaskedHeader } from "../FrameWriter.js"
import * as StatusCode from "../StatusCode.js"
import { Utf8Validator } from "../Utf8.js"

/**
 * The negotiated permessage-deflate session of one connection.
 *
 * @internal
 */
export interface CompressionSession {
  readonly deflate: Codec.DeflateParams
  readonly inflate: Codec.InflateParams
  /** Messages shorter than this are sent uncompressed. */
  readonly threshold: number
}

/** @internal */
export interface ConnConfig {
  readonly role: "client" | "server"
  readonly socket: Duplex
  /** Bytes that arrived with the handshake, ahead of the socket's. */
  readonly head: Uint8Array
  readonly codec: Codec.Service
  readonly subprotocol: string
  readonly extensions: string
  readonly compression: CompressionSession | undefined
  /** Bytes; negative for no limit. */
  readonly readLimit: number
  /** Time for our close frame to be written, then for the peer's to arrive. */
  readonly closeTimeout: Duration.Duration
  /** Queued message bytes beyond which the socket is paused. */
  readonly maxBufferedBytes: number
  readonly onPing: ((payload: Uint8Array) => boolean) | undefined
  readonly onPong: ((payload: Uint8Array) => void) | undefined
}

/** Wakes one waiting fiber (it then looks for itself). */
type Wake = () => void

/** One data message on its way to the application. */
class Slot {
  chunks: Array<Uint8Array> = []
  /** Payload bytes in `chunks`. */
  size = 0
  done = false
  /** The message failed: too big, invalid UTF-8, or the connection ended under it. */
  error: ReadError | undefined = undefined
  /** Taken by a `reader`: its stream consumes the chunks. */
  owned = false
  /** Its stream was abandoned: the rest of the message is dropped. */
  abandoned = false
  /** The owning stream, waiting for chunks. */
  waiter: (() => void) | undefined = undefined
  constructor(readonly type: MessageType) {}
}

const OPEN = 0
const CLOSING = 1
const CLOSED = 2

/** Bytes queued on the socket beyond which writes wait for it to drain. */
const MAX_WRITE_BUFFER = 4 * 1024 * 1024
/** Frames with payloads up to this size are copied into the turn's one write; larger ones go out as they are. */
const SMALL_FRAME = 1024
/** Per-chunk bookkeeping cost counted against the buffer bound. */
const CHUNK_OVERHEAD = 64
/** Waiting reads beyond this many are woken to look again: drops the wake-ups of interrupted ones. */
const MAX_IDLE_WAITERS = 16
/** Slots with more pieces than this are compacted while nobody streams them. */
const MAX_PIECES = 64
const EMPTY = new Uint8Array(0)
const encoder = new TextEncoder()
const decoder = new TextDecoder()

const allocUnsafe = (size: number): Uint8Array => Buffer.allocUnsafe(size)

const toBytes = (data: Uint8Array | string): Uint8Array => (typeof data === "string" ? encoder.encode(data) : data)

const concat = (chunks: ReadonlyArray<Uint8Array>, size: number): Uint8Array => {
  if (chunks.length === 1) return chunks[0]
  // every byte is overwritten below: no need to zero it first
  const out = Buffer.allocUnsafe(size)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

const endOnEmpty = (chunks: Chunk.Chunk<Uint8Array>): Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<never>> =>
  Chunk.isEmpty(chunks) ? Effect.fail(Option.none()) : Effect.succeed(chunks)

/** `reason` cut to at most `max` UTF-8 bytes without splitting a character. */
const truncateUtf8 = (reason: string, max: number): Uint8Array => {
  const bytes = encoder.encode(reason)
  if (bytes.length <= max) return bytes
  let end = max
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--
  return bytes.subarray(0, end)
}

/** What a pull gets once the message has ended. */
const PULLED_END: Effect.Effect<Chunk.Chunk<Uint8Array>> = Effect.succeed(Chunk.empty())

/**
 * The reader of one message, as `reader` returns it. A class, not an object
 * literal: a literal with a getter gets a hidden class of its own every time.
 */
class SlotReader implements MessageReader {
  readonly type: MessageType
  readonly pull: Effect.Effect<Chunk.Chunk<Uint8Array>, ReadError>
  constructor(private readonly conn: ConnImpl, private readonly slot: Slot) {
    this.type = slot.type
    this.pull = Effect.suspend(() => conn.pullSlot(slot))
  }
  // built on first use: most readers pull
  get stream(): Stream.Stream<Uint8Array, ReadError> {
    const { conn, slot } = this
    return Stream.repeatEffectChunkOption(Effect.flatMap(Effect.mapError(this.pull, Option.some), endOnEmpty)).pipe(
      Stream.ensuring(Effect.sync(() => conn.abandon(slot)))
    )
  }
}

type AnyFiber = Fiber.RuntimeFiber<unknown, unknown>

const unmasked = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => effect

/** One waiting acquisition of the write lock. */
class LockRequest {
  /** The lock was handed to this request. */
  granted = false
}

/**
 * The writer of one fragmented message, open while its user holds the
 * write lock. The latest chunk is held back so that `close` can send it as
 * the final frame.
 */
class FrameWriter implements MessageWriter {
  readonly opcode: number
  private held: Uint8Array | undefined = undefined
  started = false
  compress = false
  /** The final frame went out, or the message was cut short. */
  finished = false
  /**
   * `withWriter`'s writers hold the lock without an uninterruptible region
   * (it costs more than the whole message): the fiber running `use` is kept,
   * so that a lock left behind by an interruption can be taken back.
   */
  fiber: AnyFiber | undefined = undefined
  /** Watches `fiber` while frames of an unfinished message are out. */
  watcher: ((exit: unknown) => void) | undefined = undefined
  /** The lock was taken back from this writer: its release must not touch it again. */
  abandoned = false
  constructor(private readonly conn: ConnImpl, type: MessageType) {
    this.opcode = type === "text" ? Opcode.Text : Opcode.Binary
  }

  /** The held chunk (empty when none), no longer held. */
  takeHeld(): Uint8Array {
    const last = this.held ?? EMPTY
    this.held = undefined
    return last
  }

  // an own property, not a method: callers pass `writer.write` around unbound
  readonly write = (data: Uint8Array | string): Effect.Effect<void, CloseError> =>
    Effect.suspend(() => {
      if (this.finished) return Effect.dieMessage("MessageWriter: write after close")
      const previous = this.held
      this.held = toBytes(data)
      return previous === undefined ? Effect.void : this.conn.sendFragment(this, previous, false)
    })

  get close(): Effect.Effect<void, CloseError> {
    return Effect.suspend(() => {
      if (this.finished) return Effect.void
      this.finished = true
      return this.conn.sendFragment(this, this.takeHeld(), true)
    })
  }
}

/** Where a socket keeps its connection, for the shared listeners below. */
const connKey: unique symbol = Symbol("effect-websocket/conn")

type ConnSocket = Duplex & { readonly [connKey]: ConnImpl }

function onSocketData(this: ConnSocket, chunk: Buffer): void {
  this[connKey].onData(chunk)
}
function onSocketEnd(this: ConnSocket): void {
  this[connKey].onEnd()
}
function onSocketError(this: ConnSocket, error: Error): void {
  this[connKey].onError(error)
}
function onSocketClose(this: ConnSocket): void {
  this[connKey].onTransportClose()
}
function onSocketDrain(this: ConnSocket): void {
  this[connKey].onDrain()
}
const uncork = (conn: ConnImpl): void => conn.uncorkNow()

// Checked once: some runtimes freeze it.
const canLimitStack = Object.getOwnPropertyDescriptor(Error, "stackTraceLimit")?.writable === true

/**
 * A `CloseError` without a stack trace. It tells how a connection ended; the
 * stack of the parser or timer that noticed would tell the application
 * nothing, and capturing it costs 10–20 µs, a large share of a handshake.
 */
const closeError = (fields: ConstructorParameters<typeof CloseError>[0]): CloseError => {
  if (!canLimitStack) return new CloseError(fields)
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new CloseError(fields)
  } finally {
    Error.stackTraceLimit = limit
  }
}
const destroySocket = (socket: Duplex): void => {
  socket.destroy()
}

/** @internal */
export class ConnImpl implements Conn, FrameHandler {
  readonly [TypeId]: typeof TypeId = TypeId
  readonly subprotocol: string
  readonly extensions: string

  private readonly socket: Duplex
  private readonly client: boolean
  private readonly codec: Codec.Service
  private readonly compression: CompressionSession | undefined
  private readonly closeTimeout: Duration.Duration
  private readonly maxBufferedBytes: number
  private readonly onPing: ((payload: Uint8Array) => boolean) | undefined
  private readonly onPong: ((payload: Uint8Array) => void) | undefined
  private readonly parser: FrameParser
  /** Runs background fibers (timers, a close) with the services of the connection's creator. */
  private readonly runtime: Runtime.Runtime<never>
  /** Background fibers still running; interrupted when the connection's scope closes. */
  private background: Set<Fiber.RuntimeFiber<unknown, unknown>> | undefined = undefined

  // --- read state ---
  private readLimit: number
  private readonly utf8 = new Utf8Validator(isUtf8)
  /** A data message is in progress on the wire. */
  private inMessage = false
  private messageText = false
  private messageCompressed = false
  /** Bytes of the current message so far (inflated bytes when compressed). */
  private messageBytes = 0
  /** Compressed bytes of the current message so far. */
  private messageWireBytes = 0
  private messageLimit = Infinity
  /** The slot receiving the current message; undefined while it is discarded. */
  private current: Slot | undefined = undefined
  /** A control frame's payload when it spans chunks (allocated on first need). */
  private control: Uint8Array | undefined = undefined
  /** The current control frame's payload, when it came whole in one chunk. */
  private controlView: Uint8Array | undefined = undefined
  private inflater: Codec.Inflater | undefined = undefined
  private slots: Array<Slot> = []
  /** The message a `reader` took, until the next read. */
  private streaming: Slot | undefined = undefined
  private bufferedBytes = 0
  private paused = false
  private readonly readWaiters: Array<Wake> = []
  /** Once set, what every read gets after the queued messages. */
  private readError: CloseError | undefined = undefined
  private readClosed = false

  // --- write state ---
  private deflater: Codec.Deflater | undefined = undefined
  /** Held by `writer` for a whole message, and by writes that had to wait. */
  private writeLocked = false
  /** The `withWriter` writer holding the lock, when one does. */
  private lockOwner: FrameWriter | undefined = undefined
  private readonly lockWaiters: Array<() => void> = []
  private readonly drainWaiters: Array<() => void> = []
  /** Frames of this turn of the event loop are corked; the uncork is scheduled. */
  private corked = false
  /** This turn's small frames, not yet handed to the socket. */
  private readonly outbox: Array<Uint8Array> = []
  private outboxBytes = 0

  // --- close state ---
  private state = OPEN
  /** Why writes fail once we are closing or closed. */
  private writeError: CloseError | undefined = undefined
  /** Why the connection closed, once it has. */
  private closeError: CloseError | undefined = undefined
  /** Waiters for the close, when any came before it (`closed`, `close`). */
  private closedDeferred: Deferred.Deferred<CloseError> | undefined = undefined
  /** Destroys the transport if the peer has not closed its side in time after ours. */
  private lingerTimer: ReturnType<typeof setTimeout> | undefined = undefined
  /** An end waiting for the application to read the messages before it. */
  private pendingEnd: (() => void) | undefined = undefined
  private pendingTimer: Fiber.RuntimeFiber<void> | undefined = undefined
  private transportCause: unknown = undefined

  // --- ping state ---
  private pingCounter = 0
  private pings: Map<string, () => void> | undefined = undefined

  constructor(config: ConnConfig, runtime: Runtime.Runtime<never>) {
    this.socket = config.socket
    this.client = config.role === "client"
    this.codec = config.codec
    this.subprotocol = config.subprotocol
    this.extensions = config.extensions
    this.compression = config.compression
    this.closeTimeout = config.closeTimeout
    this.maxBufferedBytes = config.maxBufferedBytes
    this.onPing = config.onPing
    this.onPong = config.onPong
    this.readLimit = config.readLimit < 0 ? Infinity : config.readLimit
    this.runtime = runtime
    this.parser = new FrameParser(this)
  }

  /** Attaches to the socket and parses the bytes that came with the handshake. */
  start(head: Uint8Array): void {
    const socket = this.socket as Duplex & { [connKey]?: ConnImpl }
    // shared listeners, not closures: nothing per connection but this property
    socket[connKey] = this
    socket.on("data", onSocketData)
    socket.on("end", onSocketEnd)
    socket.on("error", onSocketError)
    socket.on("close", onSocketClose)
    socket.on("drain", onSocketDrain)
    if (head.length > 0) this.onData(head)
  }

  /** @internal */
  onData(chunk: Uint8Array): void {
    if (this.parser.stopped) return
    const parser = this.parser
    if (!parser.push(chunk) && parser.error !== undefined && this.state !== CLOSED) {
      this.fail(parser.errorTooBig ? StatusCode.MessageTooBig : StatusCode.ProtocolError, parser.error)
    }
  }

  /** @internal */
  onError(error: Error): void {
    this.transportCause ??= error
  }

  private interruptBackground(): void {
    const background = this.background
    this.background = undefined
    if (background !== undefined) for (const fiber of background) fiber.unsafeInterruptAsFork(FiberId.none)
  }

  /**
   * Runs `effect` in the background until it ends or the connection's scope
   * closes. Interruptible even when the connection was opened in an
   * uninterruptible region (e.g. a bare app under HttpServer.serve).
   */
  private fork<A, E>(effect: Effect.Effect<A, E>): Fiber.RuntimeFiber<A, E> {
    const fiber = Runtime.runFork(this.runtime)(Effect.interruptible(effect))
    const background = (this.background ??= new Set())
    background.add(fiber)
    fiber.addObserver(() => background.delete(fiber))
    return fiber
  }

  // ---------------------------------------------------------------------------
  // Incoming bytes (synchronous)
  // ---------------------------------------------------------------------------

  onHeader(p: FrameParser): boolean {
    const opcode = p.opcode
    if (p.rsv2 || p.rsv3) return this.fail(StatusCode.ProtocolError, "unexpected reserved bits")
    if (isReserved(opcode)) return this.fail(StatusCode.ProtocolError, `reserved opcode ${opcode}`)
    if (p.masked === this.client) {
      return this.fail(StatusCode.ProtocolError, this.client ? "masked frame from server" : "unmasked frame from client")
    }
    if (opcode >= Opcode.Close) {
      if (!p.fin) return this.fail(StatusCode.ProtocolError, "fragmented control frame")
      if (p.length > MAX_CONTROL_PAYLOAD) return this.fail(StatusCode.ProtocolError, "control frame too long")
      if (p.rsv1) return this.fail(StatusCode.ProtocolError, "reserved bit on a control frame")
      return true
    }
    if (opcode === Opcode.Continuation) {
      if (!this.inMessage) return this.fail(StatusCode.ProtocolError, "continuation frame without a message")
      if (p.rsv1) return this.fail(StatusCode.ProtocolError, "reserved bit on a continuation frame")
    } else {
      if (this.inMessage) return this.fail(StatusCode.ProtocolError, "new message inside a fragmented message")
      if (p.rsv1 && this.compression === undefined) {
        return this.fail(StatusCode.ProtocolError, "compressed frame without permessage-deflate")
      }
      this.startMessage(opcode === Opcode.Text, p.rsv1)
    }
    if (this.current === undefined) return true // discarding
    if (this.messageCompressed) {
      this.messageWireBytes += p.length
      // compressed input is bounded too: empty deflate blocks inflate to nothing but still cost
      if (this.messageWireBytes > 2 * this.messageLimit + 4096) return this.tooBig()
    } else if (this.messageBytes + p.length > this.messageLimit) {
      return this.tooBig()
    }
    return true
  }

  private startMessage(text: boolean, compressed: boolean): void {
    this.inMessage = true
    this.messageText = text
    this.messageCompressed = compressed
    this.messageBytes = 0
    this.messageWireBytes = 0
    this.messageLimit = this.readLimit
    if (text) this.utf8.reset()
    // while closing, and after closeRead, data is read and dropped
    if (this.state !== OPEN) {
      this.current = undefined
      return
    }
    if (this.readClosed) {
      this.current = undefined
      this.fork(this.close(StatusCode.PolicyViolation, "unexpected data message"))
      return
    }
    const slot = new Slot(text ? "text" : "binary")
    this.current = slot
    this.slots.push(slot)
    this.notifyReaders()
  }

  onPayload(data: Uint8Array, start: number, end: number, offset: number): boolean {
    // the current frame's header fields stay on the parser until the next header
    const p = this.parser
    if (p.opcode >= Opcode.Close) {
      if (offset === 0 && end - start === p.length) {
        // the whole payload in this chunk (the usual case): no copy
        this.controlView = data.subarray(start, end)
      } else {
        this.control ??= new Uint8Array(MAX_CONTROL_PAYLOAD)
        this.control.set(data.subarray(start, end), offset)
      }
      return true
    }
    if (this.current === undefined) return true
    if (p.masked) this.codec.mask(data, start, end, p.maskKey, offset & 3)
    if (this.messageCompressed) {
      return this.inflate(data.subarray(start, end), false)
    }
    this.messageBytes += end - start
    return this.deliver(data.subarray(start, end))
  }

  onFrameEnd(p: FrameParser): boolean {
    const opcode = p.opcode
    if (opcode >= Opcode.Close) {
      const view = this.controlView
      this.controlView = undefined
      // an empty payload has no chunk; a split one was gathered in `control`
      const payload = view ?? (p.length === 0 ? EMPTY : (this.control as Uint8Array).subarray(0, p.length))
      if (p.masked) this.codec.mask(payload, 0, payload.length, p.maskKey, 0)
      return this.onControl(opcode, payload)
    }
    if (!p.fin) return true
    this.inMessage = false
    const slot = this.current
    if (slot === undefined) return true
    if (this.messageCompressed && !this.inflate(EMPTY, true)) return false
    if (this.messageText && !this.utf8.end()) {
      return this.fail(StatusCode.InvalidFramePayloadData, "invalid UTF-8 in text message")
    }
    this.current = undefined
    slot.done = true
    if (slot.owned) this.wakeSlot(slot)
    else this.notifyReaders()
    return true
  }

  private inflate(data: Uint8Array, fin: boolean): boolean {
    // compression is negotiated whenever a compressed message got this far
    const session = this.compression as CompressionSession
    this.inflater ??= this.codec.inflater(session.inflate)
    const out = this.inflater.push(data, fin, this.messageLimit)
    if (typeof out === "number") {
      if (out === InflateStatus.TooBig) return this.tooBig()
      return this.fail(StatusCode.InvalidFramePayloadData, "invalid compressed data")
    }
    if (out.length === 0) return true
    this.messageBytes += out.length
    if (this.messageBytes > this.messageLimit) return this.tooBig()
    return this.deliver(out)
  }

  /** Hands validated payload bytes to the current message's slot. */
  private deliver(bytes: Uint8Array): boolean {
    if (this.messageText && !this.utf8.push(bytes)) {
      return this.fail(StatusCode.InvalidFramePayloadData, "invalid UTF-8 in text message")
    }
    const slot = this.current
    if (slot === undefined || slot.abandoned || bytes.length === 0) return true
    slot.chunks.push(bytes)
    slot.size += bytes.length
    this.bufferedBytes += bytes.length + CHUNK_OVERHEAD
    if (slot.owned) {
      this.wakeSlot(slot)
    } else if (slot.chunks.length > MAX_PIECES) {
      // many tiny fragments would cost far more in bookkeeping than in bytes
      const whole = concat(slot.chunks, slot.size)
      this.bufferedBytes -= (slot.chunks.length - 1) * CHUNK_OVERHEAD
      slot.chunks = [whole]
    }
    this.updateFlow()
    return true
  }

  private onControl(opcode: number, payload: Uint8Array): boolean {
    if (opcode === Opcode.Ping) {
      if (this.state !== OPEN) return true
      // sendFrame copies a control payload into its frame at once: the view needs no copy of its own
      if (this.onPing === undefined || this.onPing(payload)) this.sendFrame(Opcode.Pong, true, false, payload)
      return true
    }
    if (opcode === Opcode.Pong) {
      this.onPong?.(payload)
      const resume = this.pings?.get(decoder.decode(payload))
      if (resume !== undefined) resume()
      return true
    }
    // Close
    if (payload.length === 1) return this.fail(StatusCode.ProtocolError, "close frame with a 1-byte payload")
    let code: number = StatusCode.NoStatusReceived
    let reason = ""
    if (payload.length >= 2) {
      code = (payload[0] << 8) | payload[1]
      if (!StatusCode.isValidOnWire(code)) return this.fail(StatusCode.ProtocolError, `invalid close code ${code}`)
      const reasonBytes = payload.subarray(2)
      if (!isUtf8(reasonBytes)) return this.fail(StatusCode.InvalidFramePayloadData, "invalid UTF-8 in close reason")
      reason = decoder.decode(reasonBytes)
    }
    // echo the peer's close (an empty payload stays empty)
    const reasonBytes = payload.slice(2)
    return this.conclude(closeError({ code, reason, received: true }), () => this.sendClose(code, reasonBytes))
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7): sends a close frame with `code`
   * unless one went out already, stops reading and closes the transport.
   */
  private fail(code: number, reason: string): false {
    return this.conclude(
      closeError({ code, reason, received: false }),
      () => this.sendClose(code, truncateUtf8(reason, MAX_CONTROL_PAYLOAD - 2))
    )
  }

  /**
   * Ends the conversation with `error`: stops parsing, sends our close frame
   * through `send` unless one went out already, and closes the transport.
   * Messages that arrived whole before the end are still the application's:
   * while any wait to be read, the end is put off until a read reaches it
   * (or the close timeout passes), so the replies to them can still be
   * written (RFC 6455 §5.5.1 lets a close answer wait "as soon as practical").
   */
  private conclude(error: CloseError, send: () => void): false {
    this.parser.stop()
    if (this.pendingEnd !== undefined) return false
    const act = () => {
      if (this.pendingEnd === undefined && this.state === CLOSED) return
      this.pendingEnd = undefined
      this.pendingTimer?.unsafeInterruptAsFork(FiberId.none)
      this.pendingTimer = undefined
      if (this.state === OPEN) {
        this.writeError = error
        send()
      }
      this.finish(error)
      this.shutdown()
    }
    const streaming = this.streaming
    if (this.state === OPEN && (this.slots.some((slot) => slot.done) || (streaming !== undefined && streaming.done))) {
      this.readError = error
      const slot = this.current
      if (slot !== undefined) {
        slot.error ??= error
        this.current = undefined
      }
      this.pendingEnd = act
      this.pendingTimer = this.fork(Effect.sleep(this.closeTimeout).pipe(Effect.andThen(Effect.sync(act))))
      this.notifyReaders()
      return false
    }
    act()
    return false
  }

  /** Carries out an end that waited for the application to read up to it. */
  private runPendingEnd(): void {
    this.pendingEnd?.()
  }

  /** A read reached the end of the queue: a pending end goes ahead (after the reader has its answer). */
  private endReached(): CloseError | undefined {
    if (this.pendingEnd !== undefined) queueMicrotask(() => this.runPendingEnd())
    return this.readError
  }

  private tooBig(): false {
    const slot = this.current
    if (slot !== undefined) slot.error = new MessageTooBig({ limit: this.messageLimit })
    return this.fail(StatusCode.MessageTooBig, `read limited at ${this.messageLimit + 1} bytes`)
  }

  /** @internal */
  onEnd(): void {
    this.runPendingEnd()
    // the peer half-closed: without a close frame that is an abnormal closure
    if (this.state !== CLOSED) {
      this.finish(closeError({ code: StatusCode.AbnormalClosure, reason: "connection reset by peer", received: false }))
    }
    this.flushOutbox()
    this.socket.end()
  }

  /** @internal */
  onTransportClose(): void {
    this.runPendingEnd()
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer)
    this.lingerTimer = undefined
    if (this.state !== CLOSED) {
      const cause = this.transportCause
      this.finish(
        closeError({
          code: StatusCode.AbnormalClosure,
          reason: cause instanceof Error ? cause.message : "connection closed",
          received: false,
          cause
        })
      )
    }
    this.onDrain() // release writers waiting for a drain that will never come
    this.freeCodecState()
  }

  // ---------------------------------------------------------------------------
  // State changes
  // ---------------------------------------------------------------------------

  /** Enters CLOSED: reads end with `error` after the queued messages; waiters wake. */
  private finish(error: CloseError): void {
    if (this.state === CLOSED) return
    this.state = CLOSED
    this.writeError ??= error
    this.readError = error
    const slot = this.current
    if (slot !== undefined && !slot.done) {
      slot.error ??= error
      if (slot.owned) this.wakeSlot(slot)
    }
    this.current = undefined
    this.notifyReaders()
    const pings = this.pings
    this.pings = undefined
    if (pings !== undefined) for (const resume of pings.values()) resume()
    this.onDrain()
    this.closeError = error
    if (this.closedDeferred !== undefined) Deferred.unsafeDone(this.closedDeferred, Exit.succeed(error))
  }

  /**
   * Closes the transport gracefully: flush and FIN, keep reading (and
   * dropping) so the peer never gets a reset that could eat our close frame,
   * and destroy it if the peer has not closed its side within the timeout.
   */
  private shutdown(): void {
    const socket = this.socket
    if (socket.destroyed || this.lingerTimer !== undefined) return
    // `end` uncorks what was written, but the gathered small frames (our close frame) come first
    this.flushOutbox()
    socket.end()
    if (this.paused) {
      this.paused = false
      socket.resume()
    }
    // A plain timer, as in `finalize`: a fiber per connection costs more than
    // the whole close handshake, and the timer only guards the transport.
    this.lingerTimer = setTimeout(destroySocket, Duration.toMillis(this.closeTimeout), socket)
    this.lingerTimer.unref()
  }

  /**
   * Destroys the transport now, after what was already written; a connection
   * not closed yet closes abnormally (1006) with `reason`.
   */
  private destroy(reason: string): void {
    this.runPendingEnd()
    // errors capture a stack trace: built only when they will be seen
    if (this.state !== CLOSED) {
      this.finish(closeError({ code: StatusCode.AbnormalClosure, reason, received: false }))
    }
    if (this.corked) uncork(this)
    this.socket.destroy()
    this.freeCodecState()
  }

  private freeCodecState(): void {
    this.inflater?.free()
    this.inflater = undefined
    this.deflater?.free()
    this.deflater = undefined
  }

  // ---------------------------------------------------------------------------
  // The read queue
  // ---------------------------------------------------------------------------

  /** Wakes every waiting read: each tries again, and those that find nothing wait again. */
  private notifyReaders(): void {
    const waiters = this.readWaiters
    const n = waiters.length
    if (n === 0) return
    // resuming a fiber only schedules it: nobody re-registers during this loop
    for (let i = 0; i < n; i++) waiters[i]()
    waiters.splice(0, n)
  }

  private wakeSlot(slot: Slot): void {
    const waiter = slot.waiter
    if (waiter !== undefined) {
      slot.waiter = undefined
      waiter()
    }
  }

  /**
   * Pauses the socket while too much is queued, and resumes it at half that.
   * A message that must arrive whole before anyone can take it is exempt: the
   * read limit bounds it instead, and pausing would starve the `read` waiting
   * for it.
   */
  private updateFlow(): void {
    const slots = this.slots
    const exempt = slots.length === 0 || (slots.length === 1 && slots[0] === this.current)
    if (!this.paused) {
      if (this.bufferedBytes > this.maxBufferedBytes && !exempt && this.state === OPEN) {
        this.paused = true
        this.socket.pause()
      }
    } else if (exempt || this.bufferedBytes <= this.maxBufferedBytes >>> 1) {
      this.paused = false
      this.socket.resume()
    }
  }

  private released(bytes: number): void {
    this.bufferedBytes -= bytes
    if (this.paused) this.updateFlow()
  }

  /** A new read begins: the message a `reader` took before is finished with. */
  private leaveStreaming(): void {
    const slot = this.streaming
    if (slot === undefined) return
    this.streaming = undefined
    this.abandon(slot)
  }

  /** The next whole message, its error, the end of reading, or undefined to wait. */
  private takeMessage(): Message | ReadError | undefined {
    this.leaveStreaming()
    const head = this.slots[0]
    if (head === undefined) return this.endReached()
    if (head.error !== undefined) {
      this.slots.shift()
      this.released(head.size + head.chunks.length * CHUNK_OVERHEAD)
      this.endReached()
      return head.error
    }
    if (!head.done) return undefined
    this.slots.shift()
    this.released(head.size + head.chunks.length * CHUNK_OVERHEAD)
    return new Message(head.type, concat(head.chunks, head.size))
  }

  /**
   * Suspends until the read queue changes. A wake-up only tells the fiber to
   * look again: a read takes a message only while its fiber runs, so an
   * interrupted read can never lose one, and the wait needs no canceler (an
   * interrupted wait's wake-up is ignored; a long list of them is flushed).
   */
  private get awaitQueue(): Effect.Effect<void> {
    return (this.awaitQueueCache ??= Effect.async<void>((resume) => {
      const waiters = this.readWaiters
      if (waiters.length >= MAX_IDLE_WAITERS) this.notifyReaders()
      waiters.push(() => resume(Effect.void))
    }))
  }
  private awaitQueueCache: Effect.Effect<void> | undefined = undefined

  private readCache: Effect.Effect<Message, ReadError> | undefined = undefined
  get read(): Effect.Effect<Message, ReadError> {
    return (this.readCache ??= Effect.suspend(() => {
      const r = this.takeMessage()
      if (r === undefined) return Effect.zipRight(this.awaitQueue, this.read)
      return r instanceof Message ? Effect.succeed(r) : Effect.fail(r)
    }))
  }

  /** All whole messages queued (at least one), or the end. */
  private takeMessages(): Array<Message> | ReadError | undefined {
    const first = this.takeMessage()
    if (first === undefined || !(first instanceof Message)) return first
    const out = [first]
    for (;;) {
      const head = this.slots[0]
      if (head === undefined || !head.done || head.error !== undefined) return out
      out.push(this.takeMessage() as Message) // head is done and error-free, so this is a message
    }
  }

  private pullMessagesCache: Effect.Effect<Chunk.Chunk<Message>, Option.Option<ReadError>> | undefined = undefined
  private get pullMessages(): Effect.Effect<Chunk.Chunk<Message>, Option.Option<ReadError>> {
    return (this.pullMessagesCache ??= Effect.suspend(() => {
      const r = this.takeMessages()
      if (r === undefined) return Effect.zipRight(this.awaitQueue, this.pullMessages)
      if (Array.isArray(r)) return Effect.succeed(Chunk.unsafeFromArray(r))
      if (r instanceof CloseError && StatusCode.isNormal(r.code)) return Effect.fail(Option.none())
      return Effect.fail(Option.some(r))
    }))
  }

  private messagesCache: Stream.Stream<Message, ReadError> | undefined = undefined
  get messages(): Stream.Stream<Message, ReadError> {
    return (this.messagesCache ??= Stream.repeatEffectChunkOption(this.pullMessages))
  }

  /** The next message's slot (whole or not), its error, the end, or undefined. */
  private takeSlot(): Slot | ReadError | undefined {
    this.leaveStreaming()
    const head = this.slots[0]
    if (head === undefined) return this.endReached()
    this.slots.shift()
    if (head.error !== undefined) {
      this.released(head.size + head.chunks.length * CHUNK_OVERHEAD)
      this.endReached()
      return head.error
    }
    head.owned = true
    this.streaming = head
    return head
  }

  private readerCache: Effect.Effect<MessageReader, ReadError> | undefined = undefined
  get reader(): Effect.Effect<MessageReader, ReadError> {
    return (this.readerCache ??= Effect.suspend(() => {
      const r = this.takeSlot()
      if (r === undefined) return Effect.zipRight(this.awaitQueue, this.reader)
      return r instanceof Slot ? Effect.succeed(new SlotReader(this, r)) : Effect.fail(r)
    }))
  }

  /**
   * Drops the rest of a message whose reader was left before its end.
   *
   * @internal
   */
  abandon(slot: Slot): void {
    if (slot.done || slot.error !== undefined || slot.abandoned) return
    slot.abandoned = true
    this.released(slot.size + slot.chunks.length * CHUNK_OVERHEAD)
    slot.chunks = []
    slot.size = 0
  }

  /**
   * A reader's pull: the chunks that arrived, the end, the error, or a wait
   * for one of them.
   *
   * @internal
   */
  pullSlot(slot: Slot): Effect.Effect<Chunk.Chunk<Uint8Array>, ReadError> {
    return this.takeChunks(slot) ?? this.awaitChunks(slot)
  }

  private takeChunks(slot: Slot): Effect.Effect<Chunk.Chunk<Uint8Array>, ReadError> | undefined {
    const chunks = slot.chunks
    if (chunks.length > 0) {
      slot.chunks = []
      this.released(slot.size + chunks.length * CHUNK_OVERHEAD)
      slot.size = 0
      return Effect.succeed(Chunk.unsafeFromArray(chunks))
    }
    if (slot.error !== undefined) return Effect.fail(slot.error)
    if (slot.done || slot.abandoned) return PULLED_END
    return undefined
  }

  // a wake-up, then a look (as for the read queue): an interrupted pull loses nothing
  private awaitChunks(slot: Slot): Effect.Effect<Chunk.Chunk<Uint8Array>, ReadError> {
    return Effect.zipRight(
      Effect.async<void>((resume) => {
        slot.waiter = () => resume(Effect.void)
      }),
      Effect.suspend(() => this.pullSlot(slot))
    )
  }

  private setReadLimitFn: ((bytes: number) => Effect.Effect<void>) | undefined = undefined
  get setReadLimit(): (bytes: number) => Effect.Effect<void> {
    return (this.setReadLimitFn ??= (bytes: number): Effect.Effect<void> =>
      Effect.sync(() => {
        this.readLimit = bytes < 0 ? Infinity : bytes
      }))
  }

  private closeReadCache: Effect.Effect<void> | undefined = undefined
  get closeRead(): Effect.Effect<void> {
    return (this.closeReadCache ??= Effect.sync(() => {
      if (this.readClosed) return
      this.readClosed = true
      // what is queued already counts as unexpected too
      const pending = this.slots.length > 0 || this.current !== undefined
      for (const slot of this.slots) slot.abandoned = true
      this.slots = []
      this.bufferedBytes = 0
      if (this.paused) {
        this.paused = false
        this.socket.resume()
      }
      if (this.current !== undefined) this.current = undefined
      this.runPendingEnd()
      if (pending && this.state === OPEN) this.fork(this.close(StatusCode.PolicyViolation, "unexpected data message"))
    }))
  }

  // Effects of the connection are built on first use: an idle connection pays for none of them.
  private closedEffect: Effect.Effect<CloseError> | undefined = undefined
  get closed(): Effect.Effect<CloseError> {
    return (this.closedEffect ??= Effect.suspend(() => this.awaitClosed()))
  }

  /** Waits for the connection to close; its reason. */
  private awaitClosed(): Effect.Effect<CloseError> {
    if (this.closeError !== undefined) return Effect.succeed(this.closeError)
    return Deferred.await(this.closedDeferred ??= Deferred.unsafeMake<CloseError>(FiberId.none))
  }

  // ---------------------------------------------------------------------------
  // Outgoing frames (synchronous)
  // ---------------------------------------------------------------------------

  /**
   * Writes one frame in one synchronous step. Frames written in the same turn
   * of the event loop are corked together and leave in one `writev`.
   */
  private sendFrame(opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array): void {
    const socket = this.socket
    if (!this.corked) {
      this.corked = true
      socket.cork()
      process.nextTick(uncork, this)
    }
    const length = payload.length
    const mask = this.client ? this.codec.mask : undefined
    if (length <= SMALL_FRAME) {
      // header and payload in one buffer, gathered with the turn's other small frames
      const frame = encodeFrame(fin, rsv1, opcode, payload, mask, allocUnsafe)
      this.outbox.push(frame)
      this.outboxBytes += frame.length
      return
    }
    this.flushOutbox()
    if (mask !== undefined) {
      socket.write(encodeFrame(fin, rsv1, opcode, payload, mask, allocUnsafe))
    } else {
      // the payload goes as it is, after its header: no copy
      socket.write(encodeUnmaskedHeader(fin, rsv1, opcode, length, allocUnsafe))
      socket.write(payload)
    }
  }

  /**
   * Writes the small frames gathered so far as one buffer: one `write` costs
   * the stream machinery far more than copying a few hundred bytes.
   */
  private flushOutbox(): void {
    const outbox = this.outbox
    const n = outbox.length
    if (n === 0) return
    const bytes = n === 1 ? outbox[0] : concat(outbox, this.outboxBytes)
    outbox.length = 0
    this.outboxBytes = 0
    this.socket.write(bytes)
  }

  /** @internal */
  uncorkNow(): void {
    this.corked = false
    this.flushOutbox()
    this.socket.uncork()
  }

  /** More is queued on the socket than writers may add to before it drains. */
  private get congested(): boolean {
    return this.socket.writableLength + this.outboxBytes > MAX_WRITE_BUFFER
  }

  private sendClose(code: number, reason: Uint8Array): void {
    if (code === StatusCode.NoStatusReceived) {
      this.sendFrame(Opcode.Close, true, false, EMPTY)
      return
    }
    const payload = new Uint8Array(2 + reason.length)
    payload[0] = code >>> 8
    payload[1] = code & 0xff
    payload.set(reason, 2)
    this.sendFrame(Opcode.Close, true, false, payload)
  }

  /** Sends a data frame, compressing it when the session says so. */
  private sendData(opcode: number, fin: boolean, compress: boolean, data: Uint8Array): void {
    if (!compress) return this.sendFrame(opcode, fin, false, data)
    // compress is only ever true with a negotiated session
    const session = this.compression as CompressionSession
    this.deflater ??= this.codec.deflater(session.deflate)
    this.sendFrame(opcode, fin, opcode !== Opcode.Continuation, this.deflater.push(data, fin))
  }

  private shouldCompress(length: number): boolean {
    return this.compression !== undefined && length >= this.compression.threshold
  }

  private get writeFailure(): CloseError {
    return (
      this.writeError ??
        closeError({ code: StatusCode.AbnormalClosure, reason: "connection closed", received: false })
    )
  }

  /** @internal */
  onDrain(): void {
    const waiters = this.drainWaiters.splice(0)
    for (const resume of waiters) resume()
  }

  /** Waits until the socket is no longer congested (or the connection is gone). */
  private awaitDrainCache: Effect.Effect<void> | undefined = undefined
  private get awaitDrain(): Effect.Effect<void> {
    return (this.awaitDrainCache ??= Effect.async<void>((resume) => {
      if (!this.congested || this.socket.destroyed) return resume(Effect.void)
      // no canceler: the wake-up of an interrupted wait is dropped at the next 'drain' or the close
      this.drainWaiters.push(() => resume(Effect.void))
    }))
  }

  /** After a send: done, or wait for the socket to drain. */
  private sent(): Effect.Effect<void> {
    return this.congested ? this.awaitDrain : Effect.void
  }

  /**
   * Runs `then` once the write lock is ours, in turn with other writers (at
   * once when it is free). Call it uninterruptibly: only the wait itself is
   * restored to interruptible, and a lock handed over just as the wait is
   * interrupted is passed on, never lost. A `writer` holds the lock for a
   * whole message; a `write` only when it had to wait.
   */
  private acquireWrite<A, E, R>(
    restore: <AX, EX, RX>(effect: Effect.Effect<AX, EX, RX>) => Effect.Effect<AX, EX, RX>,
    then: () => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E, R> {
    if (!this.writeLocked) {
      this.writeLocked = true
      return then()
    }
    return Effect.withFiberRuntime((fiber) => {
      this.reclaim(fiber)
      if (!this.writeLocked) {
        this.writeLocked = true
        return then()
      }
      const request = new LockRequest()
      // a withWriter holder whose fiber ends without giving the lock back hands it on then
      const owner = this.lockOwner
      const watcher = owner?.fiber === undefined ? undefined : () => {
        if (this.lockOwner === owner) this.abandonWriter(owner)
      }
      if (watcher !== undefined) owner?.fiber?.addObserver(watcher)
      const unwatch = () => {
        if (watcher !== undefined) owner?.fiber?.removeObserver(watcher)
      }
      return Effect.matchCauseEffect(restore(this.awaitLock(request)), {
        onFailure: (cause) => {
          unwatch()
          if (request.granted) this.unlockWrite()
          return Effect.failCause(cause)
        },
        onSuccess: () => {
          unwatch()
          return then()
        }
      })
    })
  }

  /**
   * Takes the lock back from a `withWriter` writer whose `use` can no longer
   * release it: its fiber has ended, or it is `fiber` itself asking again
   * (its release was skipped by an interruption, and it now writes from a
   * finalizer; or it writes from inside its own `use`, which would wait
   * forever).
   */
  private reclaim(fiber: AnyFiber): void {
    const owner = this.lockOwner
    if (owner?.fiber === undefined) return
    if (owner.fiber === fiber || owner.fiber.unsafePoll() !== null) this.abandonWriter(owner)
  }

  /** Ends `writer`'s hold on the lock; a message it left half sent fails the connection (1011). */
  private abandonWriter(writer: FrameWriter): void {
    this.lockOwner = undefined
    this.unwatch(writer)
    writer.abandoned = true
    const halfSent = writer.started && !writer.finished
    writer.finished = true
    this.unlockWrite()
    // the close frame goes out now (the fork starts at once), before any other frame
    if (halfSent && this.state === OPEN) this.fork(this.close(StatusCode.InternalError, "message writer interrupted"))
  }

  private unwatch(writer: FrameWriter): void {
    if (writer.watcher === undefined) return
    writer.fiber?.removeObserver(writer.watcher)
    writer.watcher = undefined
  }

  private awaitLock(request: LockRequest): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const waiter = () => {
        request.granted = true
        resume(Effect.void)
      }
      this.lockWaiters.push(waiter)
      return Effect.sync(() => {
        if (request.granted) return
        const i = this.lockWaiters.indexOf(waiter)
        if (i >= 0) this.lockWaiters.splice(i, 1)
      })
    })
  }

  private unlockWrite(): void {
    const next = this.lockWaiters.shift()
    // the lock passes straight to the next writer, or is free
    if (next !== undefined) next()
    else this.writeLocked = false
  }

  /** Runs `send` under the write lock, after any pending drain. */
  private locked(send: () => void): Effect.Effect<void, CloseError> {
    const body = Effect.zipRight(
      this.awaitDrain,
      Effect.suspend(() => {
        if (this.state !== OPEN) return Effect.fail(this.writeFailure)
        send()
        return this.sent()
      })
    )
    return Effect.uninterruptibleMask((restore) =>
      this.acquireWrite(restore, () => Effect.ensuring(restore(body), Effect.sync(() => this.unlockWrite())))
    )
  }

  private writeFn: Conn["write"] | undefined = undefined
  get write(): Conn["write"] {
    return (this.writeFn ??= ((typeOrMessage: MessageType | Message, data?: Uint8Array | string) => {
      const message = typeOrMessage instanceof Message ? typeOrMessage : undefined
      return Effect.suspend(() => {
        if (this.state !== OPEN) return Effect.fail(this.writeFailure)
        const type = message !== undefined ? message.type : (typeOrMessage as MessageType)
        const bytes = message !== undefined ? message.data : toBytes(data ?? EMPTY)
        const opcode = type === "text" ? Opcode.Text : Opcode.Binary
        const compress = this.shouldCompress(bytes.length)
        // fast path: nobody holds or waits for the lock and the socket has room
        if (!this.writeLocked && !this.congested) {
          this.sendData(opcode, true, compress, bytes)
          return this.sent()
        }
        return this.locked(() => this.sendData(opcode, true, compress, bytes))
      })
    }) as Conn["write"])
  }

  /**
   * Sends the next fragment of `writer`'s message.
   *
   * @internal
   */
  sendFragment(writer: FrameWriter, chunk: Uint8Array, fin: boolean): Effect.Effect<void, CloseError> {
    if (this.state !== OPEN) return Effect.fail(this.writeFailure)
    if (!writer.started) writer.compress = this.shouldCompress(chunk.length)
    this.sendData(writer.started ? Opcode.Continuation : writer.opcode, fin, writer.compress, chunk)
    writer.started = true
    if (!fin && writer.watcher === undefined && writer.fiber !== undefined) {
      // frames of an unfinished message are out: should the fiber end first, the message is failed
      const watcher = () => {
        if (this.lockOwner === writer) this.abandonWriter(writer)
      }
      writer.watcher = watcher
      writer.fiber.addObserver(watcher)
    }
    return this.sent()
  }

  /**
   * Ends `writer`'s message as its user ended (finishing it if it went well,
   * failing the connection if it was cut short after frames went out) and
   * gives the write lock back. `Effect.void` when nothing is left to wait for.
   */
  private releaseWriter(writer: FrameWriter, success: boolean): Effect.Effect<void> {
    if (writer.abandoned) return Effect.void
    if (this.lockOwner === writer) this.lockOwner = undefined
    this.unwatch(writer)
    if (writer.finished) {
      this.unlockWrite()
      return Effect.void
    }
    writer.finished = true
    if (success) {
      // a message cut short cannot be taken back: a finished `use` that did not close ends it here
      if (this.state === OPEN) {
        this.sendFragment(writer, writer.takeHeld(), true)
        if (this.congested) return Effect.ensuring(this.awaitDrain, Effect.sync(() => this.unlockWrite()))
      }
      this.unlockWrite()
      return Effect.void
    }
    this.unlockWrite()
    return writer.started ? this.close(StatusCode.InternalError, "message writer interrupted") : Effect.void
  }

  private writerFn: ((type: MessageType) => Effect.Effect<MessageWriter, CloseError, Scope.Scope>) | undefined = undefined
  get writer(): (type: MessageType) => Effect.Effect<MessageWriter, CloseError, Scope.Scope> {
    return (this.writerFn ??= (type: MessageType): Effect.Effect<MessageWriter, CloseError, Scope.Scope> =>
      Effect.uninterruptibleMask((restore) =>
        this.acquireWrite(restore, () => {
          const writer = new FrameWriter(this, type)
          // the release is in place before anything can interrupt
          return Effect.addFinalizer((exit) => this.releaseWriter(writer, Exit.isSuccess(exit))).pipe(
            Effect.zipRight(this.state === OPEN ? Effect.void : Effect.fail(this.writeFailure)),
            Effect.as(writer)
          )
        })
      ))
  }

  private withWriterFn: Conn["withWriter"] | undefined = undefined
  get withWriter(): Conn["withWriter"] {
    return (this.withWriterFn ??= (type, use) =>
      Effect.withFiberRuntime((fiber) => {
        if (this.writeLocked) this.reclaim(fiber)
        if (this.writeLocked) {
          // taken: wait in turn, the lock's release guarded by an uninterruptible region
          return Effect.uninterruptibleMask((restore) =>
            this.acquireWrite(restore, () => this.useWriter(type, use, restore, undefined))
          )
        }
        // free: no region, see FrameWriter.fiber
        this.writeLocked = true
        return this.useWriter(type, use, unmasked, fiber)
      }))
  }

  /** Runs `use` with a new writer, the write lock being ours; gives the lock back when `use` ends. */
  private useWriter<A, E, R>(
    type: MessageType,
    use: (writer: MessageWriter) => Effect.Effect<A, E, R>,
    restore: <AX, EX, RX>(effect: Effect.Effect<AX, EX, RX>) => Effect.Effect<AX, EX, RX>,
    fiber: AnyFiber | undefined
  ): Effect.Effect<A, E | CloseError, R> {
    if (this.state !== OPEN) {
      this.unlockWrite()
      return Effect.fail(this.writeFailure)
    }
    const writer = new FrameWriter(this, type)
    if (fiber !== undefined) {
      writer.fiber = fiber
      this.lockOwner = writer
    }
    let body: Effect.Effect<A, E, R>
    try {
      body = use(writer)
    } catch (defect) {
      if (this.lockOwner === writer) this.lockOwner = undefined
      this.unlockWrite()
      return Effect.die(defect)
    }
    return Effect.matchCauseEffect(restore(body), {
      onFailure: (cause) => Effect.zipRight(this.releaseWriter(writer, false), Effect.failCause(cause)),
      onSuccess: (a) => {
        const release = this.releaseWriter(writer, true)
        // the common case: the final frame is out and nothing to wait for
        return release === Effect.void ? Effect.succeed(a) : Effect.as(release, a)
      }
    })
  }

  // ---------------------------------------------------------------------------
  // Ping and close
  // ---------------------------------------------------------------------------

  private pingCache: Effect.Effect<Duration.Duration, CloseError> | undefined = undefined
  get ping(): Effect.Effect<Duration.Duration, CloseError> {
    return (this.pingCache ??= Effect.suspend(() => {
      if (this.state !== OPEN) return Effect.fail(this.writeFailure)
      const id = String(++this.pingCounter)
      return Effect.flatMap(Clock.currentTimeNanos, (start) =>
        Effect.async<void, CloseError>((resume) => {
          const pings = (this.pings ??= new Map())
          pings.set(id, () => {
            pings.delete(id)
            resume(this.state === CLOSED ? Effect.fail(this.writeFailure) : Effect.void)
          })
          this.sendFrame(Opcode.Ping, true, false, encoder.encode(id))
          return Effect.sync(() => {
            pings.delete(id)
          })
        }).pipe(
          Effect.andThen(Clock.currentTimeNanos),
          Effect.map((end) => Duration.nanos(end - start))
        ))
    }))
  }

  private closeFn: ((code?: number, reason?: string) => Effect.Effect<void>) | undefined = undefined
  get close(): (code?: number, reason?: string) => Effect.Effect<void> {
    return (this.closeFn ??= (code: number = StatusCode.NormalClosure, reason = ""): Effect.Effect<void> =>
      Effect.suspend(() => {
        // the peer's close or a failure waiting for reads is answered now instead
        this.runPendingEnd()
        if (this.state !== OPEN) return Effect.asVoid(this.awaitClosed())
        if (code !== StatusCode.NoStatusReceived && !StatusCode.isValidOnWire(code)) {
          return Effect.dieMessage(`status code ${StatusCode.name(code)} cannot be set in a close frame`)
        }
        const reasonBytes = encoder.encode(reason)
        if (reasonBytes.length > MAX_CONTROL_PAYLOAD - 2) {
          return Effect.dieMessage(`close reason is ${reasonBytes.length} bytes, at most 123 allowed`)
        }
        this.state = CLOSING
        this.writeError = closeError({ code, reason, received: false })
        this.sendClose(code, reasonBytes)
        return this.awaitDrain.pipe(
          Effect.timeoutOption(this.closeTimeout),
          Effect.flatMap((written) => {
            if (Option.isNone(written)) {
              return Effect.sync(() => this.destroy("close frame could not be written in time"))
            }
            return this.awaitClosed().pipe(
              Effect.timeoutOption(this.closeTimeout),
              Effect.map((answered) => {
                if (Option.isNone(answered)) this.destroy("close handshake timed out")
              })
            )
          })
        )
      }))
  }

  private closeNowCache: Effect.Effect<void> | undefined = undefined
  get closeNow(): Effect.Effect<void> {
    return (this.closeNowCache ??= Effect.sync(() => this.destroy("closed by closeNow")))
  }

  /** The finalizer of the connection's scope. */
  finalize(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> {
    return Effect.sync(() => {
      this.runPendingEnd()
      this.interruptBackground()
      if (this.socket.destroyed) return this.freeCodecState()
      const goingAway = this.state === OPEN && Exit.isInterrupted(exit)
      if (!goingAway) return this.destroy("connection scope closed")
      // interrupted (e.g. server shutdown): say goodbye with 1001, flush, and go
      const error = closeError({ code: StatusCode.GoingAway, reason: "going away", received: false })
      this.writeError = error
      this.sendClose(StatusCode.GoingAway, EMPTY)
      this.finish(error)
      const socket = this.socket
      this.flushOutbox()
      socket.end()
      const timer = setTimeout(() => socket.destroy(), Duration.toMillis(this.closeTimeout))
      timer.unref()
      socket.once("close", () => clearTimeout(timer))
      this.freeCodecState()
    })
  }
}

/**
 * Builds a connection over `config.socket` whose lifetime is the current
 * scope.
 *
 * @internal
 */
export const make = (config: ConnConfig): Effect.Effect<ConnImpl, never, Scope.Scope> =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) => {
    const conn = new ConnImpl(config, runtime)
    return Effect.map(finalizeWithScope(conn), () => {
      conn.start(config.head)
      return conn
    })
  })

// Its own function, so that the finalizer's closure holds the connection alone (not the config).
// Straight on the scope: Effect.addFinalizer also restores the adder's FiberRefs around the
// finalizer (two diffs of every FiberRef per connection), which a synchronous finalizer has no use for.
const finalizeWithScope = (conn: ConnImpl): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (scope) => Scope.addFinalizerExit(scope, (exit) => conn.finalize(exit)))
