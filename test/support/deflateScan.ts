/**
 * A small, slow, independent DEFLATE decoder (RFC 1951) for tests: it
 * decodes permessage-deflate payloads and reports the longest back-reference
 * distance, so tests can check that a compressor honours its window size,
 * which zlib's own inflater does not check precisely.
 */

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

interface Huffman {
  readonly counts: Array<number>
  readonly symbols: Array<number>
}

const huffman = (lengths: ArrayLike<number>): Huffman => {
  const counts = new Array<number>(16).fill(0)
  for (let i = 0; i < lengths.length; i++) counts[lengths[i]!]!++
  counts[0] = 0
  const offs = new Array<number>(16).fill(0)
  for (let len = 1; len < 16; len++) offs[len] = offs[len - 1]! + counts[len - 1]!
  const symbols = new Array<number>(lengths.length).fill(0)
  for (let i = 0; i < lengths.length; i++) if (lengths[i] !== 0) symbols[offs[lengths[i]!]!++] = i
  return { counts, symbols }
}

const FIXED_LIT = huffman([...new Array(144).fill(8), ...new Array(112).fill(9), ...new Array(24).fill(7), ...new Array(8).fill(8)])
const FIXED_DIST = huffman(new Array(30).fill(5))

class Bits {
  pos = 0
  bit = 0
  constructor(readonly data: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.data.length
  }
  need(n: number): number {
    let v = 0
    for (let i = 0; i < n; i++) {
      if (this.pos >= this.data.length) throw new Error("out of input")
      v |= ((this.data[this.pos]! >> this.bit) & 1) << i
      if (++this.bit === 8) {
        this.bit = 0
        this.pos++
      }
    }
    return v
  }
  align(): void {
    if (this.bit !== 0) {
      this.bit = 0
      this.pos++
    }
  }
  decode(h: Huffman): number {
    let code = 0
    let first = 0
    let index = 0
    for (let len = 1; len < 16; len++) {
      code |= this.need(1)
      const count = h.counts[len]!
      if (code - count < first) return h.symbols[index + (code - first)]!
      index += count
      first += count
      first <<= 1
      code <<= 1
    }
    throw new Error("bad code")
  }
}

/**
 * Decodes each payload (the `00 00 FF FF` tail is appended here) as one
 * permessage-deflate message. With `contextTakeover`, back-references may
 * reach into earlier messages; without, a reference before the message's
 * start throws. Returns the messages and the longest distance seen.
 */
export const scanMessages = (
  payloads: ReadonlyArray<Uint8Array>,
  contextTakeover: boolean
): { readonly messages: Array<Uint8Array>; readonly maxDistance: number } => {
  const out: Array<number> = []
  const messages: Array<Uint8Array> = []
  let maxDistance = 0
  for (const payload of payloads) {
    const start = out.length
    const data = new Uint8Array(payload.length + 4)
    data.set(payload)
    data.set([0, 0, 0xff, 0xff], payload.length)
    const r = new Bits(data)
    let last = false
    while (!last && !r.done) {
      last = r.need(1) === 1
      const type = r.need(2)
      if (type === 0) {
        r.align()
        const len = r.need(16)
        const nlen = r.need(16)
        if ((len ^ 0xffff) !== nlen) throw new Error("stored block lengths")
        for (let i = 0; i < len; i++) out.push(r.need(8))
        continue
      }
      let lit: Huffman
      let dist: Huffman
      if (type === 1) {
        lit = FIXED_LIT
        dist = FIXED_DIST
      } else if (type === 2) {
        const nlen = r.need(5) + 257
        const ndist = r.need(5) + 1
        const ncode = r.need(4) + 4
        const cl = new Array<number>(19).fill(0)
        for (let i = 0; i < ncode; i++) cl[CL_ORDER[i]!] = r.need(3)
        const clh = huffman(cl)
        const lengths: Array<number> = []
        while (lengths.length < nlen + ndist) {
          const sym = r.decode(clh)
          if (sym < 16) lengths.push(sym)
          else if (sym === 16) {
            if (lengths.length === 0) throw new Error("repeat with no length")
            const prev = lengths[lengths.length - 1]!
            for (let n = 3 + r.need(2); n > 0; n--) lengths.push(prev)
          } else if (sym === 17) for (let n = 3 + r.need(3); n > 0; n--) lengths.push(0)
          else for (let n = 11 + r.need(7); n > 0; n--) lengths.push(0)
        }
        lit = huffman(lengths.slice(0, nlen))
        dist = huffman(lengths.slice(nlen))
      } else throw new Error("block type 3")
      for (;;) {
        const sym = r.decode(lit)
        if (sym < 256) out.push(sym)
        else if (sym === 256) break
        else {
          const li = sym - 257
          if (li >= 29) throw new Error("bad length symbol")
          const len = LENGTH_BASE[li]! + r.need(LENGTH_EXTRA[li]!)
          const di = r.decode(dist)
          if (di >= 30) throw new Error("bad distance symbol")
          const d = DIST_BASE[di]! + r.need(DIST_EXTRA[di]!)
          const floor = contextTakeover ? 0 : start
          if (out.length - d < floor) throw new Error(`distance ${d} reaches before the available history`)
          if (d > maxDistance) maxDistance = d
          for (let i = 0; i < len; i++) out.push(out[out.length - d]!)
        }
      }
    }
    messages.push(Uint8Array.from(out.slice(start)))
  }
  return { messages, maxDistance }
}
