/**
 * RFC 6455 §5.2 frame headers: opcodes and the header encoding.
 *
 * Pure and synchronous: no Node, no Effect.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type Opcode = (typeof Opcode)[keyof typeof Opcode]

/**
 * Control frames (close, ping, pong and the reserved 11–15) have the high bit
 * of the opcode set.
 *
 * @since 0.1.0
 */
export const isControl = (opcode: number): boolean => (opcode & 0x8) !== 0

/**
 * Opcodes 3–7 and 11–15 are reserved for future use.
 *
 * @since 0.1.0
 */
export const isReserved = (opcode: number): boolean => (opcode >= 0x3 && opcode <= 0x7) || opcode >= 0xb

/**
 * The most payload a control frame may carry.
 *
 * @since 0.1.0
 */
export const MAX_CONTROL_PAYLOAD = 125

/**
 * A decoded frame header. `maskKey` holds the 4 key bytes as they appear on
 * the wire, read as a little-endian uint32 (the form `Codec.mask` takes).
 *
 * @since 0.1.0
 * @category models
 */
export interface FrameHeader {
  readonly fin: boolean
  readonly rsv1: boolean
  readonly rsv2: boolean
  readonly rsv3: boolean
  readonly opcode: number
  readonly masked: boolean
  readonly maskKey: number
  readonly length: number
}

/**
 * How many bytes the header of a frame with this payload length takes.
 *
 * @since 0.1.0
 */
export const headerSize = (length: number, masked: boolean): number =>
  (length < 126 ? 2 : length < 65536 ? 4 : 10) + (masked ? 4 : 0)

/**
 * Writes a frame header into `out` at `offset` and returns its size. The
 * length is always minimally encoded (RFC 6455 §5.2). `maskKey` is written
 * when `masked` is set.
 *
 * @since 0.1.0
 */
export const encodeHeader = (
  out: Uint8Array,
  offset: number,
  fin: boolean,
  rsv1: boolean,
  opcode: number,
  length: number,
  masked: boolean,
  maskKey: number
): number => {
  let i = offset
  out[i++] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0xf)
  const maskBit = masked ? 0x80 : 0
  if (length < 126) {
    out[i++] = maskBit | length
  } else if (length < 65536) {
    out[i++] = maskBit | 126
    out[i++] = length >>> 8
    out[i++] = length & 0xff
  } else {
    out[i++] = maskBit | 127
    // lengths above 2^32 - 1 only happen with a raised limit; JS numbers hold them exactly up to 2^53
    const high = Math.floor(length / 0x100000000)
    out[i++] = 0
    out[i++] = 0
    out[i++] = (high >>> 8) & 0xff
    out[i++] = high & 0xff
    out[i++] = (length >>> 24) & 0xff
    out[i++] = (length >>> 16) & 0xff
    out[i++] = (length >>> 8) & 0xff
    out[i++] = length & 0xff
  }
  if (masked) {
    out[i++] = maskKey & 0xff
    out[i++] = (maskKey >>> 8) & 0xff
    out[i++] = (maskKey >>> 16) & 0xff
    out[i++] = (maskKey >>> 24) & 0xff
  }
  return i - offset
}

/**
 * The outcome of {@link decodeHeader}: a header, the number of bytes still
 * missing (a positive number), or an error message.
 *
 * @since 0.1.0
 * @category models
 */
export type DecodeResult =
  | { readonly _tag: "Header"; readonly header: FrameHeader; readonly size: number }
  | { readonly _tag: "Incomplete"; readonly needed: number }
  | { readonly _tag: "Invalid"; readonly message: string }

/**
 * Decodes one frame header from `data[offset, end)`. The incremental
 * {@link FrameParser} does the same without allocating; this form is for
 * tests and tools.
 *
 * @since 0.1.0
 */
export const decodeHeader = (data: Uint8Array, offset = 0, end = data.length): DecodeResult => {
  const available = end - offset
  if (available < 2) return { _tag: "Incomplete", needed: 2 - available }
  const b0 = data[offset]
  const b1 = data[offset + 1]
  const masked = (b1 & 0x80) !== 0
  const len7 = b1 & 0x7f
  const size = (len7 < 126 ? 2 : len7 === 126 ? 4 : 10) + (masked ? 4 : 0)
  if (available < size) return { _tag: "Incomplete", needed: size - available }
  const length = readLength(data, offset, len7)
  if (length === -1) return { _tag: "Invalid", message: "frame length has its most significant bit set" }
  if (length < 0) return { _tag: "Invalid", message: "frame length exceeds 2^53 - 1" }
  const k = offset + size - 4
  const maskKey = masked ? (data[k] | (data[k + 1] << 8) | (data[k + 2] << 16) | (data[k + 3] << 24)) >>> 0 : 0
  return {
    _tag: "Header",
    size,
    header: {
      fin: (b0 & 0x80) !== 0,
      rsv1: (b0 & 0x40) !== 0,
      rsv2: (b0 & 0x20) !== 0,
      rsv3: (b0 & 0x10) !== 0,
      opcode: b0 & 0x0f,
      masked,
      maskKey,
      length
    }
  }
}

/**
 * The payload length of a header whose 7-bit length field is `len7`, whose
 * first byte is `data[offset]`; -1 when the 64-bit form has its most
 * significant bit set (a protocol error, RFC 6455 §5.2), -2 when it exceeds
 * `Number.MAX_SAFE_INTEGER` (a legal length no read limit can admit).
 *
 * @internal
 */
export const readLength = (data: Uint8Array, offset: number, len7: number): number => {
  if (len7 < 126) return len7
  if (len7 === 126) return (data[offset + 2] << 8) | data[offset + 3]
  const high = ((data[offset + 2] << 24) | (data[offset + 3] << 16) | (data[offset + 4] << 8) | data[offset + 5]) >>> 0
  const low = ((data[offset + 6] << 24) | (data[offset + 7] << 16) | (data[offset + 8] << 8) | data[offset + 9]) >>> 0
  if (high >= 0x80000000) return -1
  // 2^53 - 1 = high < 2^21
  if (high >= 0x200000) return -2
  return high * 0x100000000 + low
}
