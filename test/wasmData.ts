/**
 * Test data and node:zlib peers for the WebAssembly codec tests.
 */
import * as fc from "fast-check"
import * as Zlib from "node:zlib"
import { jsonLike } from "./support/jsonLike.js"
import { splitAt } from "./util/bytes.js"

/** Arbitrary message payloads: random bytes, JSON-like text, or runs (long matches). */
export const payload = (maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ maxLength: Math.min(maxLength, 4096) }),
    fc.tuple(fc.nat(maxLength), fc.nat()).map(([n, seed]) => jsonLike(n, seed)),
    fc
      .tuple(fc.nat(maxLength), fc.integer({ min: 1, max: 40 }), fc.nat())
      .map(([n, period, seed]) => {
        const a = new Uint8Array(n)
        for (let i = 0; i < n; i++) a[i] = (((i % period) * 7 + seed) & 0xff) ^ (i % 997 === 0 ? 1 : 0)
        return a
      })
  )

/** Splits `data` at the given cut points (taken modulo its length), in order. */
export const split = (data: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => splitAt(data, cuts)

export { concatBytes as concat } from "./util/bytes.js"
export { jsonLike } from "./support/jsonLike.js"

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff])

/** Writes `inputs` to `z`, then a sync flush; everything `z` put out meanwhile. */
const syncFlush = (z: Zlib.DeflateRaw | Zlib.InflateRaw, inputs: ReadonlyArray<Uint8Array>): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    const onData = (b: Buffer) => chunks.push(b)
    z.on("data", onData)
    z.once("error", reject)
    for (const input of inputs) z.write(input)
    z.flush(Zlib.constants.Z_SYNC_FLUSH, () => {
      z.off("data", onData)
      z.off("error", reject)
      resolve(Buffer.concat(chunks))
    })
  })

/**
 * A node:zlib DeflateRaw stream that compresses one message per call, ending
 * it with a sync flush and stripping the tail (RFC 7692 §7.2.1).
 */
export const zlibDeflater = (options: { windowBits: number; level: number; noContextTakeover: boolean }) => {
  let stream: Zlib.DeflateRaw | undefined
  return {
    compress: async (message: Uint8Array): Promise<Uint8Array> => {
      if (stream === undefined || options.noContextTakeover) {
        stream?.close()
        stream = Zlib.createDeflateRaw({ windowBits: options.windowBits, level: options.level, memLevel: 8 })
      }
      const all = await syncFlush(stream, [message])
      if (!all.subarray(all.length - 4).equals(TAIL)) throw new Error("no sync flush tail")
      return new Uint8Array(all.subarray(0, all.length - 4))
    },
    close: () => stream?.close()
  }
}

/** A node:zlib InflateRaw stream for a sequence of compressed messages (tail re-added). */
export const zlibInflater = (options: { windowBits: number; noContextTakeover: boolean }) => {
  let stream: Zlib.InflateRaw | undefined
  return {
    decompress: async (compressed: Uint8Array): Promise<Uint8Array> => {
      if (stream === undefined || options.noContextTakeover) {
        stream?.close()
        stream = Zlib.createInflateRaw({ windowBits: options.windowBits })
      }
      return new Uint8Array(await syncFlush(stream, [compressed, TAIL]))
    },
    close: () => stream?.close()
  }
}

/**
 * An independent, slow reference decoder of raw DEFLATE for the tests: returns
 * the output and the farthest distance any match reaches back. Throws on
 * malformed input. `history` is the window the stream may refer to.
 */
export const referenceInflate = (
  input: Uint8Array,
  history: Uint8Array = new Uint8Array(0)
): { readonly output: Uint8Array; readonly maxDistance: number } => {
  let pos = 0
  let bit = 0
  const bits = (n: number): number => {
    let v = 0
    for (let i = 0; i < n; i++) {
      if (pos >= input.length) throw new Error("truncated")
      v |= ((input[pos] >> bit) & 1) << i
      if (++bit === 8) {
        bit = 0
        pos++
      }
    }
    return v
  }
  // Canonical Huffman: map "length:code" → symbol.
  const table = (lens: ReadonlyArray<number>) => {
    const count = new Array<number>(16).fill(0)
    for (const l of lens) if (l > 0) count[l]++
    const next = new Array<number>(16).fill(0)
    let code = 0
    for (let l = 1; l < 16; l++) {
      code = (code + (count[l - 1] ?? 0)) << 1
      next[l] = code
    }
    const map = new Map<string, number>()
    lens.forEach((l, s) => {
      if (l > 0) map.set(`${l}:${next[l]++}`, s)
    })
    return map
  }
  const decode = (map: Map<string, number>): number => {
    let code = 0
    for (let l = 1; l < 16; l++) {
      code = (code << 1) | bits(1)
      const s = map.get(`${l}:${code}`)
      if (s !== undefined) return s
    }
    throw new Error("bad code")
  }
  const lenBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
  const lenExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
  const distBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
  const distExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
  const out: Array<number> = Array.from(history)
  const start = out.length
  let maxDistance = 0
  while (pos < input.length) {
    bits(1) // BFINAL: RFC 7692 streams go on after it
    const type = bits(2)
    if (type === 0) {
      if (bit !== 0) {
        bit = 0
        pos++
      }
      const len = bits(16)
      if ((bits(16) ^ 0xffff) !== len) throw new Error("bad stored length")
      for (let i = 0; i < len; i++) out.push(bits(8))
      continue
    }
    let lit: Map<string, number>
    let dist: Map<string, number>
    if (type === 1) {
      lit = table(Array.from({ length: 288 }, (_, s) => (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8)))
      dist = table(new Array<number>(30).fill(5))
    } else if (type === 2) {
      const hlit = bits(5) + 257
      const hdist = bits(5) + 1
      const hclen = bits(4) + 4
      const order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
      const cl = new Array<number>(19).fill(0)
      for (let i = 0; i < hclen; i++) cl[order[i] ?? 0] = bits(3)
      const clMap = table(cl)
      const lens: Array<number> = []
      while (lens.length < hlit + hdist) {
        const s = decode(clMap)
        if (s < 16) lens.push(s)
        else if (s === 16) {
          const v = lens[lens.length - 1]
          if (v === undefined) throw new Error("repeat at start")
          for (let n = 3 + bits(2); n > 0; n--) lens.push(v)
        } else for (let n = s === 17 ? 3 + bits(3) : 11 + bits(7); n > 0; n--) lens.push(0)
      }
      lit = table(lens.slice(0, hlit))
      dist = table(lens.slice(hlit))
    } else throw new Error("bad block type")
    for (;;) {
      const s = decode(lit)
      if (s < 256) out.push(s)
      else if (s === 256) break
      else {
        const li = s - 257
        const len = (lenBase[li] ?? NaN) + bits(lenExtra[li] ?? 0)
        const ds = decode(dist)
        const d = (distBase[ds] ?? NaN) + bits(distExtra[ds] ?? 0)
        if (!(d <= out.length)) throw new Error("distance too far back")
        maxDistance = Math.max(maxDistance, d)
        for (let i = 0; i < len; i++) out.push(out[out.length - d] ?? 0)
      }
    }
  }
  return { output: new Uint8Array(out.slice(start)), maxDistance }
}
