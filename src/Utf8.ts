/**
 * Streaming, fail-fast UTF-8 validation for text messages and close reasons
 * (RFC 6455 §8.1). Pure: no Node, no Effect.
 *
 * The byte rules are the well-formed sequences of the Unicode Standard,
 * Table 3-7: after a lead byte only a narrow range is allowed for the second
 * byte (E0 → A0..BF, ED → 80..9F, F0 → 90..BF, F4 → 80..8F, otherwise
 * 80..BF), so overlongs, surrogates and code points above U+10FFFF are
 * rejected at the first byte that proves them, whatever the chunking.
 *
 * @since 0.1.0
 */

/** Below this many bytes a JS loop beats creating a view and calling `bulk`. */
const BULK_THRESHOLD = 64

/** Below this many bytes a byte loop beats creating a word view. */
const WORD_THRESHOLD = 32

/**
 * Skips ASCII from `i`: returns the index of the first byte ≥ 0x80 in
 * `data[i, end)`, or `end`. A short run is checked byte by byte; only a run
 * that is still going after that pays for a word view.
 */
const skipAscii = (data: Uint8Array, i: number, end: number): number => {
  const probe = i + WORD_THRESHOLD < end ? i + WORD_THRESHOLD : end
  while (i < probe) {
    if ((data[i] as number) >= 0x80) return i
    i++
  }
  if (end - i < WORD_THRESHOLD) {
    while (i < end && (data[i] as number) < 0x80) i++
    return i
  }
  while (((data.byteOffset + i) & 3) !== 0) {
    if ((data[i] as number) >= 0x80) return i
    i++
  }
  const words = (end - i) >>> 2
  const view = new Uint32Array(data.buffer, data.byteOffset + i, words)
  let j = 0
  for (const n = words & ~3; j < n; j += 4) {
    if ((((view[j] as number) | (view[j + 1] as number) | (view[j + 2] as number) | (view[j + 3] as number)) & 0x80808080) !== 0) break
  }
  for (; j < words; j++) {
    if (((view[j] as number) & 0x80808080) !== 0) break
  }
  i += j << 2
  while (i < end && (data[i] as number) < 0x80) i++
  return i
}

/**
 * An incremental UTF-8 validator for one message at a time.
 *
 * `push` returns false as soon as the bytes seen so far cannot be the start of
 * well-formed UTF-8, and keeps returning false until `reset` (or `end`).
 *
 * @since 0.1.0
 * @category models
 */
export class Utf8Validator {
  /** Continuation bytes still expected for the pending sequence. */
  private need = 0
  /** Allowed range of the next continuation byte. */
  private lo = 0x80
  private hi = 0xbf
  private invalid = false
  private readonly bulk: ((data: Uint8Array) => boolean) | undefined

  /**
   * @param bulk An optional fast validator of whole buffers (on Node,
   * `buffer.isUtf8`). It is only ever given complete sequences, of at least
   * 64 bytes: below that the JS loop is faster than the call.
   */
  constructor(bulk?: (data: Uint8Array) => boolean) {
    this.bulk = bulk
  }

  /**
   * Validates `data[start, end)` as the continuation of the current text.
   * Returns false when the text is invalid (now or earlier).
   */
  push(data: Uint8Array, start = 0, end = data.length): boolean {
    if (this.invalid) return false
    let i = start
    // Finish the sequence left open by the previous chunk.
    if (this.need > 0) {
      let need = this.need
      let lo = this.lo
      let hi = this.hi
      while (need > 0 && i < end) {
        const b = data[i++] as number
        if (b < lo || b > hi) return this.fail()
        lo = 0x80
        hi = 0xbf
        need--
      }
      this.need = need
      this.lo = lo
      this.hi = hi
      if (need > 0) return true
    }
    if (i >= end) return true
    const bulk = this.bulk
    if (bulk !== undefined && end - i >= BULK_THRESHOLD) {
      const cut = incompleteTail(data, i, end)
      if (cut > i) {
        const middle = i === 0 && cut === data.length ? data : data.subarray(i, cut)
        if (!bulk(middle)) return this.fail()
      }
      i = cut
      if (i >= end) return true
    }
    return this.scan(data, i, end)
  }

  /**
   * The verdict for the whole text: valid, and not ending inside a sequence.
   * Also resets the validator for the next message.
   */
  end(): boolean {
    const ok = !this.invalid && this.need === 0
    this.reset()
    return ok
  }

  /** Forgets the current text, including an earlier failure. */
  reset(): void {
    this.need = 0
    this.lo = 0x80
    this.hi = 0xbf
    this.invalid = false
  }

  private fail(): false {
    this.invalid = true
    return false
  }

  /** Validates `data[i, end)` starting on a sequence boundary. */
  private scan(data: Uint8Array, i: number, end: number): boolean {
    while (i < end) {
      const b = data[i] as number
      if (b < 0x80) {
        i = skipAscii(data, i + 1, end)
        continue
      }
      let need: number
      let lo = 0x80
      let hi = 0xbf
      if (b < 0xc2) {
        return this.fail() // continuation byte without a lead, or overlong C0/C1
      } else if (b < 0xe0) {
        if (i + 1 < end) {
          if (((data[i + 1] as number) & 0xc0) !== 0x80) return this.fail()
          i += 2
          continue
        }
        need = 1
      } else if (b < 0xf0) {
        if (b === 0xe0) lo = 0xa0
        else if (b === 0xed) hi = 0x9f
        if (i + 2 < end) {
          const c1 = data[i + 1] as number
          if (c1 < lo || c1 > hi || ((data[i + 2] as number) & 0xc0) !== 0x80) return this.fail()
          i += 3
          continue
        }
        need = 2
      } else if (b < 0xf5) {
        if (b === 0xf0) lo = 0x90
        else if (b === 0xf4) hi = 0x8f
        if (i + 3 < end) {
          const c1 = data[i + 1] as number
          if (
            c1 < lo || c1 > hi || ((data[i + 2] as number) & 0xc0) !== 0x80 ||
            ((data[i + 3] as number) & 0xc0) !== 0x80
          ) return this.fail()
          i += 4
          continue
        }
        need = 3
      } else {
        return this.fail() // F5..FF never appear in UTF-8
      }
      // The sequence runs past the chunk: check what is here, keep the rest.
      i++
      while (i < end) {
        const c = data[i++] as number
        if (c < lo || c > hi) return this.fail()
        lo = 0x80
        hi = 0xbf
        need--
      }
      this.need = need
      this.lo = lo
      this.hi = hi
      return true
    }
    return true
  }
}

/**
 * The start of a sequence that `data[start, end)` leaves unfinished at its
 * end, or `end`. Only a well-formed lead byte counts: anything else stays in
 * the part given to the bulk validator, which then rejects it.
 */
const incompleteTail = (data: Uint8Array, start: number, end: number): number => {
  const stop = end - 3 > start ? end - 3 : start
  for (let p = end - 1; p >= stop; p--) {
    const b = data[p] as number
    if ((b & 0xc0) === 0x80) continue // continuation: keep looking for its lead
    const len = b < 0xc2 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : b < 0xf5 ? 4 : 1
    return p + len > end ? p : end
  }
  return end
}

/** Safe to share: validation is synchronous and `end` resets it. */
const shared = new Utf8Validator()

/**
 * Whether `data` is well-formed UTF-8 (pure JavaScript).
 *
 * @since 0.1.0
 * @category validation
 */
export const isValidUtf8 = (data: Uint8Array): boolean => {
  const ok = shared.push(data)
  return shared.end() && ok
}
