/**
 * The load generator's own minimal WebSocket wire code: frame building (done
 * once, before timing) and a header-only frame scanner for replies. It is
 * deliberately independent of the library under test, so every server is
 * driven by the same client.
 */
import { createHash, randomBytes } from "node:crypto"

export const Opcode = {
  Continuation: 0,
  Text: 1,
  Binary: 2,
  Close: 8,
  Ping: 9,
  Pong: 10
} as const

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/** RFC 6455 §4.2.2: base64(SHA-1(key + GUID)). */
export const acceptKey = (key: string): string =>
  createHash("sha1").update(key + GUID).digest("base64")

export const newKey = (): string => randomBytes(16).toString("base64")

export interface FrameOptions {
  readonly fin?: boolean
  readonly rsv1?: boolean
  /** 4 bytes; absent = unmasked (server → client). */
  readonly maskKey?: Uint8Array
  /**
   * The payload given is already the masked wire bytes: copy it as is. For
   * random test data this is as good as masking (the server unmasks it into
   * other random bytes) and costs nothing.
   */
  readonly premasked?: boolean
}

export const headerLength = (payloadLength: number, masked: boolean): number =>
  (payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10) + (masked ? 4 : 0)

/** Writes a frame header (mask key included) for a `length`-byte payload; returns the offset after it. */
export const writeHeader = (
  target: Uint8Array,
  offset: number,
  opcode: number,
  length: number,
  options: FrameOptions = {}
): number => {
  const key = options.maskKey
  let o = offset
  target[o++] = (options.fin === false ? 0 : 0x80) | (options.rsv1 === true ? 0x40 : 0) | (opcode & 0x0f)
  const maskBit = key === undefined ? 0 : 0x80
  if (length < 126) {
    target[o++] = maskBit | length
  } else if (length < 65536) {
    target[o++] = maskBit | 126
    target[o++] = length >>> 8
    target[o++] = length & 0xff
  } else {
    target[o++] = maskBit | 127
    const hi = Math.floor(length / 0x1_0000_0000)
    const lo = length >>> 0
    target[o++] = hi >>> 24
    target[o++] = (hi >>> 16) & 0xff
    target[o++] = (hi >>> 8) & 0xff
    target[o++] = hi & 0xff
    target[o++] = lo >>> 24
    target[o++] = (lo >>> 16) & 0xff
    target[o++] = (lo >>> 8) & 0xff
    target[o++] = lo & 0xff
  }
  if (key !== undefined) {
    target.set(key.subarray(0, 4), o)
    o += 4
  }
  return o
}

/** Writes one frame into `target` at `offset`; returns the offset after it. */
export const writeFrame = (
  target: Uint8Array,
  offset: number,
  opcode: number,
  payload: Uint8Array,
  options: FrameOptions = {}
): number => {
  const o = writeHeader(target, offset, opcode, payload.length, options)
  const key = options.maskKey
  target.set(key === undefined || options.premasked === true ? payload : masked(payload, key), o)
  return o + payload.length
}

/** `payload` XOR the 4-byte `key`, in a new array (word at a time: 50 × 1 MiB frames are built per test). */
const masked = (payload: Uint8Array, key: Uint8Array): Uint8Array => {
  const len = payload.length
  const out = new Uint8Array(len)
  out.set(payload)
  const words = len >>> 2
  // out is a fresh, aligned buffer; the key's bytes in memory order make a native-endian word.
  const k = new Uint32Array(Uint8Array.from(key.subarray(0, 4)).buffer)[0] ?? 0
  const w = new Uint32Array(out.buffer, 0, words)
  for (let i = 0; i < words; i++) w[i] = (w[i] ?? 0) ^ k
  for (let i = words << 2; i < len; i++) out[i] = (out[i] ?? 0) ^ (key[i & 3] ?? 0)
  return out
}

export const buildFrame = (opcode: number, payload: Uint8Array, options: FrameOptions = {}): Uint8Array => {
  const out = new Uint8Array(headerLength(payload.length, options.maskKey !== undefined) + payload.length)
  writeFrame(out, 0, opcode, payload, options)
  return out
}

/** A close frame payload: 2-byte code + UTF-8 reason. */
export const closePayload = (code: number, reason = ""): Uint8Array => {
  const r = new TextEncoder().encode(reason)
  const out = new Uint8Array(2 + r.length)
  out[0] = code >>> 8
  out[1] = code & 0xff
  out.set(r, 2)
  return out
}

/**
 * Scans a byte stream of frames, reading headers only: data payloads are
 * skipped, not copied or unmasked. Control-frame payloads (≤ 125 bytes) are
 * kept so a close code can be read. Accepts any chunk boundaries.
 */
export class FrameScanner {
  /** Completed data messages. */
  messages = 0
  /** Data-frame payload bytes seen (still masked or compressed, as on the wire). */
  payloadBytes = 0
  /** Completed messages whose first frame had RSV1 (permessage-deflate). */
  compressedMessages = 0
  /** Set on the first protocol surprise; the caller decides what to do. */
  error: string | undefined = undefined
  /** When ≥ 0, every data message must have this payload length. */
  expectLength = -1
  /** When ≥ 0, every data message must have this opcode. */
  expectOpcode = -1
  /** Called for each control frame with its (unmasked) payload. */
  onControl: ((opcode: number, payload: Uint8Array) => void) | undefined = undefined
  /** Length and opcode of the last completed message. */
  lastLength = 0
  lastOpcode = 0

  private readonly hdr = new Uint8Array(14)
  private hdrLen = 0
  private need = 0
  private opcode = 0
  private fin = false
  private rsv1 = false
  private masked = false
  private maskKey = new Uint8Array(4)
  private ctrl = new Uint8Array(125)
  private ctrlLen = 0
  private msgOpcode = -1
  private msgLen = 0
  private msgRsv1 = false

  /** Feeds a chunk; returns how many data messages it completed. */
  push(buf: Uint8Array): number {
    let done = 0
    let i = 0
    const n = buf.length
    while (i < n) {
      if (this.need > 0) {
        const take = this.need < n - i ? this.need : n - i
        if (this.opcode >= 8) {
          this.ctrl.set(buf.subarray(i, i + take), this.ctrlLen)
          this.ctrlLen += take
        } else {
          this.payloadBytes += take
        }
        i += take
        this.need -= take
        if (this.need === 0) done += this.endFrame()
        continue
      }
      // Header: parse in place when it is whole in this chunk, else gather it.
      if (this.hdrLen === 0 && n - i >= 2) {
        const size = FrameScanner.headerSize(buf[i + 1] ?? 0)
        if (n - i >= size) {
          this.parseHeader(buf, i)
          i += size
          if (this.need === 0) done += this.endFrame()
          continue
        }
      }
      this.hdr[this.hdrLen++] = buf[i++] ?? 0
      if (this.hdrLen >= 2 && this.hdrLen === FrameScanner.headerSize(this.hdr[1] ?? 0)) {
        this.parseHeader(this.hdr, 0)
        this.hdrLen = 0
        if (this.need === 0) done += this.endFrame()
      }
    }
    return done
  }

  private static headerSize(b1: number): number {
    const len7 = b1 & 0x7f
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0)
  }

  private parseHeader(b: Uint8Array, o: number): void {
    const b0 = b[o] ?? 0
    const b1 = b[o + 1] ?? 0
    this.fin = (b0 & 0x80) !== 0
    this.rsv1 = (b0 & 0x40) !== 0
    this.opcode = b0 & 0x0f
    this.masked = (b1 & 0x80) !== 0
    let len = b1 & 0x7f
    let p = o + 2
    if (len === 126) {
      len = ((b[p] ?? 0) << 8) | (b[p + 1] ?? 0)
      p += 2
    } else if (len === 127) {
      const hi = (((b[p] ?? 0) << 24) | ((b[p + 1] ?? 0) << 16) | ((b[p + 2] ?? 0) << 8) | (b[p + 3] ?? 0)) >>> 0
      const lo = (((b[p + 4] ?? 0) << 24) | ((b[p + 5] ?? 0) << 16) | ((b[p + 6] ?? 0) << 8) | (b[p + 7] ?? 0)) >>> 0
      if (hi >= 0x20_0000) this.fail("64-bit length beyond 2^53")
      len = hi * 0x1_0000_0000 + lo
      p += 8
    }
    if (this.masked) {
      this.maskKey = b.slice(p, p + 4)
    }
    this.need = len
    if (this.opcode >= 8) {
      if (len > 125 || !this.fin) this.fail(`bad control frame (opcode ${this.opcode}, length ${len})`)
      this.ctrlLen = 0
    } else if (this.opcode === Opcode.Continuation) {
      if (this.msgOpcode < 0) this.fail("continuation without a message")
      this.msgLen += len
    } else if (this.opcode === Opcode.Text || this.opcode === Opcode.Binary) {
      if (this.msgOpcode >= 0) this.fail("new message inside a fragmented one")
      this.msgOpcode = this.opcode
      this.msgLen = len
      this.msgRsv1 = this.rsv1
    } else {
      this.fail(`reserved opcode ${this.opcode}`)
    }
  }

  /** Ends the current frame; returns 1 when it completed a data message. */
  private endFrame(): number {
    if (this.opcode >= 8) {
      const payload = this.ctrl.slice(0, this.ctrlLen)
      if (this.masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (this.maskKey[i & 3] ?? 0)
      this.onControl?.(this.opcode, payload)
      return 0
    }
    if (!this.fin) return 0
    const opcode = this.msgOpcode
    const length = this.msgLen
    if (this.expectOpcode >= 0 && opcode !== this.expectOpcode) this.fail(`reply opcode ${opcode}, expected ${this.expectOpcode}`)
    if (this.expectLength >= 0 && length !== this.expectLength) this.fail(`reply length ${length}, expected ${this.expectLength}`)
    if (this.msgRsv1) this.compressedMessages++
    this.lastOpcode = opcode
    this.lastLength = length
    this.msgOpcode = -1
    this.msgLen = 0
    this.messages++
    return 1
  }

  private fail(message: string): void {
    if (this.error === undefined) this.error = message
  }
}

/** Parses a close payload into code and reason (1005 when empty). */
export const parseClose = (payload: Uint8Array): { code: number; reason: string } =>
  payload.length < 2
    ? { code: 1005, reason: "" }
    : { code: ((payload[0] ?? 0) << 8) | (payload[1] ?? 0), reason: new TextDecoder().decode(payload.subarray(2)) }

/** The client's opening handshake request (RFC 6455 §4.1). */
export const upgradeRequest = (host: string, path: string, key: string, extensions?: string): string =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
  (extensions === undefined ? "" : `Sec-WebSocket-Extensions: ${extensions}\r\n`) +
  "\r\n"

export interface UpgradeResponse {
  readonly status: number
  readonly headers: ReadonlyMap<string, string>
  /** Bytes after the header block (frames the server sent right away). */
  readonly rest: Uint8Array
}

/**
 * Looks for a complete HTTP response head in `buf`; undefined when more
 * bytes are needed.
 */
export const parseUpgradeResponse = (buf: Uint8Array): UpgradeResponse | undefined => {
  let end = -1
  for (let i = 3; i < buf.length; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) {
      end = i + 1
      break
    }
  }
  if (end < 0) return undefined
  const lines = new TextDecoder().decode(buf.subarray(0, end - 4)).split("\r\n")
  const statusLine = lines[0] ?? ""
  const m = /^HTTP\/1\.1 (\d{3})/.exec(statusLine)
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const c = line.indexOf(":")
    if (c > 0) {
      const name = line.slice(0, c).trim().toLowerCase()
      const value = line.slice(c + 1).trim()
      const prev = headers.get(name)
      headers.set(name, prev === undefined ? value : `${prev}, ${value}`)
    }
  }
  return { status: m === null ? 0 : Number(m[1]), headers, rest: buf.subarray(end) }
}

/** Checks a 101 response against the key we sent; returns an error message or undefined. */
export const checkUpgrade = (res: UpgradeResponse, key: string): string | undefined => {
  if (res.status !== 101) return `status ${res.status}`
  if ((res.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") return "missing Upgrade: websocket"
  if (res.headers.get("sec-websocket-accept") !== acceptKey(key)) return "wrong Sec-WebSocket-Accept"
  return undefined
}
