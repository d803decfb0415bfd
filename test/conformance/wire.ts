/**
 * Hand-made WebSocket frames for the conformance peer (RFC 6455 §5.2).
 *
 * This is deliberately independent of the library under test: it encodes
 * whatever a case asks for (any flags, opcodes, masks, length forms, even
 * lies about the length) and parses what the target sends back, recording
 * every detail a verdict may look at.
 */
import { createHash, randomBytes } from "node:crypto"

export const Op = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa
} as const

const encoder = new TextEncoder()

export const bytes = (data: Uint8Array | string): Uint8Array =>
  typeof data === "string" ? encoder.encode(data) : data

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"))

export const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** A frame exactly as the case wants it on the wire. */
export interface FrameSpec {
  readonly opcode: number
  readonly payload?: Uint8Array | string
  /** Default true. */
  readonly fin?: boolean
  /** The three reserved bits as one field: 4 = RSV1, 2 = RSV2, 1 = RSV3. */
  readonly rsv?: number
  /**
   * `true`/`false` force the MASK bit; a 4-byte key forces the key too.
   * Unset: masked when the peer plays the client (the RFC's rule).
   */
  readonly mask?: boolean | Uint8Array
  /** Force a length form; unset = the minimal one. */
  readonly lengthForm?: 7 | 16 | 64
  /**
   * Announce this length instead of the payload's (a lie), as a 64-bit
   * big-endian value; the payload bytes that follow are whatever `payload` is.
   */
  readonly declaredLength?: bigint
}

/** XORs `data` in place with the 4-byte `key`, starting at key byte `pos`. */
export const applyMask = (data: Uint8Array, key: Uint8Array, pos = 0): void => {
  const n = data.length
  let i = 0
  // Word-at-a-time when the view is aligned: 16 MiB payloads must stay cheap.
  if (n >= 64 && (data.byteOffset & 3) === 0 && (pos & 3) === 0) {
    const k = (key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24)) >>> 0
    const words = new Uint32Array(data.buffer, data.byteOffset, n >>> 2)
    for (let w = 0; w < words.length; w++) words[w] = (words[w] ^ k) >>> 0
    i = words.length << 2
  }
  for (; i < n; i++) data[i] = data[i] ^ key[(pos + i) & 3]
}

// Mask keys come from a pooled random buffer: one crypto call per 1024 frames.
let keyPool = new Uint8Array(0)
let keyPos = 0
const nextMaskKey = (): Uint8Array => {
  if (keyPos + 4 > keyPool.length) {
    keyPool = Uint8Array.from(randomBytes(4096))
    keyPos = 0
  }
  keyPos += 4
  return keyPool.subarray(keyPos - 4, keyPos)
}

/** Encodes one frame. `defaultMask` is the role's rule (client masks). */
export const encodeFrame = (spec: FrameSpec, defaultMask: boolean): Uint8Array => {
  const payload = bytes(spec.payload ?? new Uint8Array(0))
  const len = spec.declaredLength ?? BigInt(payload.length)
  const form = spec.lengthForm ?? (len < 126n ? 7 : len < 65536n ? 16 : 64)
  const maskKey = spec.mask instanceof Uint8Array ? spec.mask : (spec.mask ?? defaultMask) ? nextMaskKey() : undefined
  const headerLen = 2 + (form === 16 ? 2 : form === 64 ? 8 : 0) + (maskKey ? 4 : 0)
  const out = new Uint8Array(headerLen + payload.length)
  out[0] =
(spec.fin === false ? 0 : 0x80) | (((spec.rsv ?? 0) & 7) << 4) | (spec.opcode & 0x0f)
  const maskBit = maskKey ? 0x80 : 0
  let o = 2
  if (form === 7) {
    out[1] = maskBit | Number(len & 0x7fn)
  } else if (form === 16) {
    out[1] = maskBit | 126
    out[2] = Number((len >> 8n) & 0xffn)
    out[3] = Number(len & 0xffn)
    o = 4
  } else {
    out[1] = maskBit | 127
    for (let b = 0; b < 8; b++) out[2 + b] = Number((len >> BigInt(8 * (7 - b))) & 0xffn)
    o = 10
  }
  if (maskKey) {
    out.set(maskKey, o)
    o += 4
  }
  out.set(payload, o)
  if (maskKey) applyMask(out.subarray(o), maskKey)
  return out
}

export const closePayload = (code?: number, reason: Uint8Array | string = ""): Uint8Array => {
  if (code === undefined) return new Uint8Array(0)
  const r = bytes(reason)
  const out = new Uint8Array(2 + r.length)
  out[0] = (code >> 8) & 0xff
  out[1] = code & 0xff
  out.set(r, 2)
  return out
}

/** A frame as received, payload unmasked. */
export interface ReceivedFrame {
  readonly fin: boolean
  readonly rsv: number
  readonly opcode: number
  readonly masked: boolean
  readonly payload: Uint8Array
}

/**
 * Incremental parser for the target's frames. It never throws: a frame it
 * cannot parse (a length beyond what a test could need) sets `error`.
 */
export class FrameReader {
  private chunks: Array<Uint8Array> = []
  private buffered = 0
  error: string | undefined

  constructor(private readonly onFrame: (f: ReceivedFrame) => void) {}

  push(chunk: Uint8Array): void {
    if (this.error !== undefined) return
    this.chunks.push(chunk)
    this.buffered += chunk.length
    for (;;) {
      if (this.buffered < 2) return
      const head = this.peek(Math.min(this.buffered, 14))
      const b0 = head[0]
      const b1 = head[1]
      let len = b1 & 0x7f
      let o = 2
      if (len === 126) {
        if (head.length < 4) return
        len = (head[2] << 8) | head[3]
        o = 4
      } else if (len === 127) {
        if (head.length < 10) return
        const hi = ((head[2] << 24) | (head[3] << 16) | (head[4] << 8) | head[5]) >>> 0
        const lo = ((head[6] << 24) | (head[7] << 16) | (head[8] << 8) | head[9]) >>> 0
        if (hi > 0x1f) {
          this.error = `frame length too large to test (${hi}:${lo})`
          return
        }
        len = hi * 2 ** 32 + lo
        o = 10
      }
      const masked = (b1 & 0x80) !== 0
      if (masked) {
        if (head.length < o + 4) return
        o += 4
      }
      if (this.buffered < o + len) return
      const all = this.take(o + len)
      const payload = all.slice(o)
      if (masked) applyMask(payload, all.subarray(o - 4, o))
      this.onFrame({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload })
    }
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]
    if (first !== undefined && first.length >= n) return first.subarray(0, n)
    return this.flatten().subarray(0, n)
  }

  private flatten(): Uint8Array {
    if (this.chunks.length > 1) this.chunks = [concat(this.chunks)]
    return this.chunks[0] ?? new Uint8Array(0)
  }

  private take(n: number): Uint8Array {
    const all = this.flatten()
    const out = all.subarray(0, n)
    const rest = all.subarray(n)
    this.chunks = rest.length > 0 ? [rest] : []
    this.buffered = rest.length
    return out
  }
}

export const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

export const acceptKey = (key: string): string =>
  createHash("sha1")
    .update(key + GUID)
    .digest("base64")

export const newKey = (): string => randomBytes(16).toString("base64")

/** Strict UTF-8 check (no replacement), as RFC 3629 defines validity. */
export const isValidUtf8 = (data: Uint8Array): boolean => {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(data)
    return true
  } catch {
    return false
  }
}

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))

/** A short printable form of a payload for tables. */
export const preview = (data: Uint8Array, max = 24): string => {
  if (data.length === 0) return "(empty)"
  const text = isValidUtf8(data) ? new TextDecoder().decode(data) : undefined
  if (text !== undefined && /^[\x20-\x7e]*$/.test(text)) {
    return text.length > max ? `"${text.slice(0, max)}…" (${data.length} B)` : JSON.stringify(text)
  }
  const h = Buffer.from(data.subarray(0, max / 2)).toString("hex")
  return data.length > max / 2 ? `0x${h}… (${data.length} B)` : `0x${h}`
}
