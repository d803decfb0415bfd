/**
 * permessage-deflate on node:zlib's public synchronous one-shot calls.
 *
 * Node has no public synchronous call that keeps a DEFLATE stream open, so
 * context takeover is expressed as a preset dictionary: every message is a
 * fresh raw DEFLATE stream whose dictionary is the history the peer also
 * holds. Context takeover carries over only the LZ77 window, which is what
 * a dictionary provides, and every message ends byte-aligned after a sync
 * flush, so a new stream can start exactly where the last one stopped.
 *
 * - Compressor: the dictionary is only the last {@link DICTIONARY_BYTES} of
 *   what we sent (a sender may reference less than the agreed window), since
 *   zlib hashes every dictionary byte; the zlib window and hash table are
 *   sized to the message, which keeps the per-call setup small.
 * - Decompressor: the dictionary is the whole window the peer may reference.
 *   Compressed pieces of a fragmented message are buffered until `fin`
 *   (a DEFLATE stream cannot be resumed mid-block by a one-shot call), up
 *   to {@link compressedCeiling} bytes.
 *
 * @internal
 */
import { constants as bufferConstants } from "node:buffer"
import * as zlib from "node:zlib"
import type { DeflateParams, Deflater, InflateParams, Inflater, InflateResult, InflateStatus } from "../Codec.js"

// The values of Codec's InflateStatus, repeated here because Codec.ts
// imports this module (a value import back would be a cycle).
const TOO_BIG: InflateStatus = -1
const CORRUPT: InflateStatus = -2

const { Z_DEFAULT_STRATEGY, Z_FINISH, Z_RLE, Z_SYNC_FLUSH } = zlib.constants

/**
 * How much of our own history the compressor hands zlib as a dictionary.
 * Measured (test/bench/deflate-micro.ts, 1 KiB JSON-like messages): 4 KiB
 * gets most of the gain of a 32 KiB history (ratio 3.7 vs 3.9 at level 1)
 * for a fraction of the cost (zlib hashes the dictionary: ~2 ns a byte).
 *
 * @internal
 */
export const DICTIONARY_BYTES = 4096

/** zlib's raw deflate refuses a 256-byte window (see Extension.ts). */
const MIN_ZLIB_BITS = 9
/** zlib never matches within the last MIN_LOOKAHEAD bytes of its window. */
const MIN_LOOKAHEAD = 262

const EMPTY = new Uint8Array(0)

/**
 * The largest compressed message the decompressor buffers for a read limit:
 * twice the limit plus 4 KiB. DEFLATE expands incompressible data by a few
 * bytes per block and a sync flush costs 5 bytes, so no honest sender comes
 * near it; a stream of empty blocks (which inflates to nothing) stops here.
 *
 * @internal
 */
export const compressedCeiling = (limit: number): number => 2 * limit + 4096

/**
 * A fixed buffer holding the last `capacity` bytes pushed, right-aligned so
 * the history is always one contiguous view.
 */
class History {
  private readonly buf: Uint8Array
  private len = 0
  constructor(readonly capacity: number) {
    this.buf = new Uint8Array(capacity)
  }
  get length(): number {
    return this.len
  }
  view(): Uint8Array {
    return this.buf.subarray(this.capacity - this.len)
  }
  append(data: Uint8Array): void {
    const cap = this.capacity
    const n = data.length
    if (n >= cap) {
      this.buf.set(data.subarray(n - cap))
      this.len = cap
      return
    }
    const keep = Math.min(this.len, cap - n)
    if (keep > 0) this.buf.copyWithin(cap - n - keep, cap - keep, cap)
    this.buf.set(data, cap - n)
    this.len = keep + n
  }
  clear(): void {
    this.len = 0
  }
}

const usedAfterFree = (what: string): never => {
  throw new Error(`permessage-deflate ${what} used after free()`)
}

/**
 * The compressor. Each `push` returns a byte-aligned piece of the message's
 * DEFLATE stream ending in a sync flush; the last one has its `00 00 FF FF`
 * removed (RFC 7692 §7.2.1).
 *
 * @internal
 */
export const makeDeflater = (params: DeflateParams): Deflater => {
  // 8 bits: run-length matches only (distance 1), valid for any window.
  const rle = params.windowBits < MIN_ZLIB_BITS
  const maxBits = Math.max(MIN_ZLIB_BITS, params.windowBits)
  const strategy = rle ? Z_RLE : Z_DEFAULT_STRATEGY
  const { level, noContextTakeover } = params
  const capacity = rle ? 256 : Math.min(1 << params.windowBits, DICTIONARY_BYTES)
  let history: History | undefined
  let freed = false

  const push = (data: Uint8Array, fin: boolean): Uint8Array => {
    if (freed) return usedAfterFree("deflater")
    const dictLength = history === undefined ? 0 : history.length
    if (data.length === 0) {
      if (!fin) return EMPTY
      if (noContextTakeover) history?.clear()
      // The payload of an empty stored block whose LEN/NLEN is the stripped
      // tail (RFC 7692 §7.2.3.6).
      return Uint8Array.of(0)
    }
    // The smallest window (and hash table) that still reaches the whole
    // dictionary and message: zlib clears them on every call. The hash table
    // and block buffer follow the data's size, not the window cap: same
    // ratio on our benchmark data, less to clear.
    let sizeBits = MIN_ZLIB_BITS
    const need = dictLength + data.length + MIN_LOOKAHEAD
    while (sizeBits < 15 && 1 << sizeBits < need) sizeBits++
    const options: zlib.ZlibOptions = {
      level,
      strategy,
      windowBits: Math.min(sizeBits, maxBits),
      memLevel: Math.min(8, sizeBits - 7),
      finishFlush: Z_SYNC_FLUSH,
      // Room for incompressible input, so the output is one buffer.
      chunkSize: Math.max(64, data.length + (data.length >>> 6) + 64)
    }
    if (dictLength > 0 && history !== undefined) options.dictionary = history.view()
    const out = zlib.deflateRawSync(data, options)

    if (fin && noContextTakeover) {
      history?.clear()
    } else {
      history ??= new History(capacity)
      history.append(data)
    }
    if (!fin) return out
    const n = out.length
    // Z_SYNC_FLUSH always ends with an empty stored block.
    if (n < 4 || out[n - 4] !== 0 || out[n - 3] !== 0 || out[n - 2] !== 0xff || out[n - 1] !== 0xff) {
      throw new Error("zlib sync flush did not end with 00 00 FF FF")
    }
    return out.subarray(0, n - 4)
  }

  const free = (): void => {
    freed = true
    history = undefined
  }

  return { push, free }
}

// The RFC 7692 §7.2.2 tail, then an empty final fixed-Huffman block: a
// message that ends where the tail says inflates to Z_STREAM_END under
// Z_FINISH, and a truncated one fails instead of returning partial output.
const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff, 0x03, 0x00)

const MAX_OUTPUT = bufferConstants.MAX_LENGTH

const isTooLarge = (e: unknown): boolean =>
  e instanceof RangeError && (e as { readonly code?: unknown }).code === "ERR_BUFFER_TOO_LARGE"

/**
 * The decompressor. Returns an empty chunk for every piece but the last, and
 * the whole inflated message for the last one.
 *
 * @internal
 */
export const makeInflater = (params: InflateParams): Inflater => {
  // Reading with a larger window is always valid; 512 bytes also covers
  // peers that agreed to 8 bits and compressed with 9.
  const bits = Math.max(MIN_ZLIB_BITS, params.windowBits)
  const { noContextTakeover } = params
  let history: History | undefined
  // Compressed bytes of the message so far (non-final pieces are copied:
  // the caller may reuse its buffers).
  let pending: Uint8Array | undefined
  let pendingLength = 0
  let freed = false

  const reset = (status: InflateStatus): InflateStatus => {
    pending = undefined
    pendingLength = 0
    return status
  }

  const push = (data: Uint8Array, fin: boolean, limit: number): InflateResult => {
    if (freed) return usedAfterFree("inflater")
    const total = pendingLength + data.length
    if (total > compressedCeiling(limit)) return reset(TOO_BIG)
    if (!fin) {
      if (data.length === 0) return EMPTY
      if (pending === undefined || pending.length < total + TAIL.length) {
        const grown = Buffer.allocUnsafe(Math.max(total + TAIL.length, 2 * (pending?.length ?? 0), 1024))
        if (pending !== undefined) grown.set(pending.subarray(0, pendingLength))
        pending = grown
      }
      pending.set(data, pendingLength)
      pendingLength = total
      return EMPTY
    }

    let input: Uint8Array
    if (pending === undefined) {
      input = Buffer.allocUnsafe(total + TAIL.length)
      input.set(data)
    } else {
      if (pending.length < total + TAIL.length) {
        const grown = Buffer.allocUnsafe(total + TAIL.length)
        grown.set(pending.subarray(0, pendingLength))
        pending = grown
      }
      pending.set(data, pendingLength)
      input = pending
    }
    input.set(TAIL, total)
    input = input.subarray(0, total + TAIL.length)
    pending = undefined
    pendingLength = 0

    const options: zlib.ZlibOptions = {
      windowBits: bits,
      finishFlush: Z_FINISH,
      // Node stops (and throws) as soon as the output passes this, so a
      // bomb costs at most limit + chunkSize bytes.
      maxOutputLength: Math.max(1, Math.min(limit, MAX_OUTPUT)),
      // A guess at the output size: one buffer for typical ratios.
      chunkSize: outputChunk(total, limit)
    }
    if (history !== undefined && history.length > 0) options.dictionary = history.view()
    let out: Buffer
    try {
      out = zlib.inflateRawSync(input, options)
    } catch (e) {
      return isTooLarge(e) ? TOO_BIG : CORRUPT
    }
    if (out.length > limit) return TOO_BIG
    if (!noContextTakeover && out.length > 0) {
      history ??= new History(1 << bits)
      history.append(out)
    }
    return out
  }

  const free = (): void => {
    freed = true
    history = undefined
    pending = undefined
    pendingLength = 0
  }

  return { push, free }
}

const outputChunk = (compressed: number, limit: number): number => {
  let size = 1024
  const guess = Math.min(compressed * 8, 64 * 1024, limit + 1)
  while (size < guess) size <<= 1
  return size
}
