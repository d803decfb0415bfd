/**
 * RFC 6455 §5.2–5.3 frame writing: a frame as bytes ready for one socket
 * write, and the client's masking keys.
 *
 * Pure and synchronous: no Node, no Effect. Masking is passed in (the `Codec`
 * service's `mask`), so the JS and Wasm codecs write the same frames.
 *
 * @since 0.1.0
 */
import { encodeHeader, headerSize } from "./Frame.js"

/**
 * XORs `data[start, end)` in place with a masking key, `pos` being the key
 * byte that applies to `data[start]` (the shape of `Codec.mask`).
 *
 * @since 0.1.0
 * @category models
 */
export type Mask = (data: Uint8Array, start: number, end: number, key: number, pos: number) => void

/**
 * Allocates the bytes of a frame; every byte is overwritten, so it may hand
 * out unzeroed memory (Node's `Buffer.allocUnsafe`).
 *
 * @since 0.1.0
 * @category models
 */
export type Alloc = (size: number) => Uint8Array

const allocZeroed: Alloc = (size) => new Uint8Array(size)

// RFC 6455 §5.3: a fresh, unpredictable key per frame. One getRandomValues call serves 1024 frames.
const keyPool = new Uint32Array(1024)
let keyIndex = keyPool.length

/**
 * The next masking key from a pooled buffer of `crypto.getRandomValues`
 * output, as a little-endian uint32 of the 4 key bytes.
 *
 * @since 0.1.0
 */
export const nextMaskKey = (): number => {
  if (keyIndex === keyPool.length) {
    globalThis.crypto.getRandomValues(keyPool)
    keyIndex = 0
  }
  return keyPool[keyIndex++]
}

/**
 * One frame, header and payload in one buffer. With `mask` (the client's
 * side) the payload is masked with a fresh key as it is copied in: the
 * caller's bytes are never touched.
 *
 * @since 0.1.0
 */
export const encodeFrame = (
  fin: boolean,
  rsv1: boolean,
  opcode: number,
  payload: Uint8Array,
  mask: Mask | undefined,
  alloc: Alloc = allocZeroed
): Uint8Array => {
  const length = payload.length
  const masked = mask !== undefined
  const size = headerSize(length, masked)
  const frame = alloc(size + length)
  const key = masked ? nextMaskKey() : 0
  encodeHeader(frame, 0, fin, rsv1, opcode, length, masked, key)
  frame.set(payload, size)
  if (masked) mask(frame, size, size + length, key, 0)
  return frame
}

/**
 * The header of an unmasked frame (the server's side), for a payload written
 * right after it as it is: a large payload need not be copied.
 *
 * @since 0.1.0
 */
export const encodeUnmaskedHeader = (
  fin: boolean,
  rsv1: boolean,
  opcode: number,
  length: number,
  alloc: Alloc = allocZeroed
): Uint8Array => {
  const header = alloc(headerSize(length, false))
  encodeHeader(header, 0, fin, rsv1, opcode, length, false, 0)
  return header
}
