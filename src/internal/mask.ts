/**
 * RFC 6455 §5.3 masking in plain JavaScript.
 *
 * @internal
 */

/** Below this many bytes a byte loop beats creating a typed-array view. */
const WORD_THRESHOLD = 32

/**
 * XORs `data[start, end)` in place with `key` (the wire's 4 key bytes read as
 * a little-endian uint32), starting at key byte `pos`. Bytes go one at a time
 * up to a 4-byte boundary, then 32-bit words, then a byte tail.
 *
 * @internal
 */
export const maskJs = (data: Uint8Array, start: number, end: number, key: number, pos: number): void => {
  // Rotate so that the low byte of `k` applies to data[start].
  let k = (pos & 3) === 0 ? key | 0 : (key >>> (8 * (pos & 3))) | (key << (32 - 8 * (pos & 3)))
  let i = start
  if (end - start >= WORD_THRESHOLD) {
    while (((data.byteOffset + i) & 3) !== 0) {
      data[i++] ^= k
      k = (k >>> 8) | (k << 24)
    }
    const words = (end - i) >>> 2
    const view = new Int32Array(data.buffer, data.byteOffset + i, words)
    let j = 0
    for (const n = words & ~3; j < n; j += 4) {
      view[j] ^= k
      view[j + 1] ^= k
      view[j + 2] ^= k
      view[j + 3] ^= k
    }
    for (; j < words; j++) view[j] ^= k
    i += words << 2
  }
  while (i < end) {
    data[i++] ^= k
    k = (k >>> 8) | (k << 24)
  }
}
