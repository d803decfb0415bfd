/**
 * An incremental RFC 6455 frame parser: a state machine fed with chunks as
 * they come off the socket. It yields the same frames whatever the chunk
 * boundaries, never copies payload bytes and allocates nothing per frame:
 * the handler reads the current header from the parser's fields and gets
 * the payload as ranges of the chunks it was given.
 *
 * Pure and synchronous: no Node, no Effect.
 *
 * @since 0.1.0
 */
import { readLength } from "./Frame.js"

/**
 * Receives what the parser finds. Each callback returns `false` to stop the
 * parser (e.g. the connection failed); it then ignores all further input.
 *
 * @since 0.1.0
 * @category models
 */
export interface FrameHandler {
  /** A header is complete; its fields are on the parser. */
  onHeader(parser: FrameParser): boolean
  /**
   * `data[start, end)` is the next piece of the current frame's payload,
   * still masked; `offset` is its position within the frame's payload.
   */
  onPayload(data: Uint8Array, start: number, end: number, offset: number): boolean
  /** The current frame's payload is complete. */
  onFrameEnd(parser: FrameParser): boolean
}

const HEADER = 0
const PAYLOAD = 1

/**
 * @since 0.1.0
 * @category models
 */
export class FrameParser {
  fin = false
  rsv1 = false
  rsv2 = false
  rsv3 = false
  opcode = 0
  masked = false
  /** The wire's 4 key bytes read as a little-endian uint32. */
  maskKey = 0
  length = 0
  /** Why the parser stopped on its own, if it did. */
  error: string | undefined = undefined
  /** The error is a length beyond 2^53 - 1: legal, but larger than any message we can take. */
  errorTooBig = false
  /** No more input is accepted: the handler or an error stopped it. */
  stopped = false

  private state = HEADER
  private received = 0
  // a header split across chunks is gathered here (at most 14 bytes)
  private readonly scratch = new Uint8Array(14)
  private scratchLength = 0

  constructor(private readonly handler: FrameHandler) {}

  /**
   * Parses `chunk`. Returns `false` once the parser has stopped.
   */
  push(chunk: Uint8Array): boolean {
    if (this.stopped) return false
    const end = chunk.length
    let pos = 0
    while (pos < end || (this.state === PAYLOAD && this.received === this.length)) {
      if (this.state === HEADER) {
        let size: number
        if (this.scratchLength === 0) {
          size = this.headerSizeAt(chunk, pos, end)
          if (size > 0 && size <= end - pos) {
            if (!this.readHeader(chunk, pos)) return this.stop()
            pos += size
          } else {
            // keep the partial header for the next chunk
            this.scratchLength = 0
            this.gather(chunk, pos, end, end - pos)
            return true
          }
        } else {
          // top up the partial header: first the 2 bytes that tell its size, then the rest
          if (this.scratchLength < 2) pos = this.gather(chunk, pos, end, 2)
          if (this.scratchLength < 2) return true
          size = this.headerSizeAt(this.scratch, 0, 2)
          pos = this.gather(chunk, pos, end, size)
          if (this.scratchLength < size) return true
          if (!this.readHeader(this.scratch, 0)) return this.stop()
          this.scratchLength = 0
        }
        this.received = 0
        this.state = PAYLOAD
        if (!this.handler.onHeader(this)) return this.stop()
        continue
      }
      // PAYLOAD
      const remaining = this.length - this.received
      if (remaining > 0) {
        const take = Math.min(remaining, end - pos)
        if (take === 0) return true
        const offset = this.received
        this.received += take
        if (!this.handler.onPayload(chunk, pos, pos + take, offset)) return this.stop()
        pos += take
      }
      if (this.received === this.length) {
        this.state = HEADER
        if (!this.handler.onFrameEnd(this)) return this.stop()
      }
    }
    return true
  }

  /** Stops the parser: further input is ignored. */
  stop(): false {
    this.stopped = true
    return false
  }

  private gather(chunk: Uint8Array, pos: number, end: number, target: number): number {
    const take = Math.min(target - this.scratchLength, end - pos)
    this.scratch.set(chunk.subarray(pos, pos + take), this.scratchLength)
    this.scratchLength += take
    return pos + take
  }

  // the full header size, known from the first 2 bytes; 0 when fewer are available
  private headerSizeAt(data: Uint8Array, pos: number, end: number): number {
    if (end - pos < 2) return 0
    const b1 = data[pos + 1]
    const len7 = b1 & 0x7f
    return (len7 < 126 ? 2 : len7 === 126 ? 4 : 10) + ((b1 & 0x80) !== 0 ? 4 : 0)
  }

  private readHeader(data: Uint8Array, pos: number): boolean {
    const b0 = data[pos]
    const b1 = data[pos + 1]
    this.fin = (b0 & 0x80) !== 0
    this.rsv1 = (b0 & 0x40) !== 0
    this.rsv2 = (b0 & 0x20) !== 0
    this.rsv3 = (b0 & 0x10) !== 0
    this.opcode = b0 & 0x0f
    this.masked = (b1 & 0x80) !== 0
    const len7 = b1 & 0x7f
    const length = readLength(data, pos, len7)
    if (length < 0) {
      this.errorTooBig = length === -2
      this.error = this.errorTooBig ? "frame length exceeds 2^53 - 1" : "frame length has its most significant bit set"
      return false
    }
    this.length = length
    if (this.masked) {
      const k = pos + (len7 < 126 ? 2 : len7 === 126 ? 4 : 10)
      this.maskKey = (data[k] | (data[k + 1] << 8) | (data[k + 2] << 16) | (data[k + 3] << 24)) >>> 0
    } else {
      this.maskKey = 0
    }
    return true
  }
}
