/**
 * Test data and node:zlib peers for the WebAssembly codec tests.
 */
import * as fc from "fast-check"
import * as Zlib from "node:zlib"

const words = ["id", "name", "user", "status", "active", "items", "price", "quantity", "created", "tags", "ok"]

/** JSON-like text: repetitive keys, varying values (what permessage-deflate mostly carries). */
export const jsonLike = (n: number, seed: number): Uint8Array => {
  let s = ""
  let x = seed * 2654435761 + 1
  const rnd = () => {
    x = (x * 1103515245 + 12345) >>> 0
    return x >>> 8
  }
  while (s.length < n) {
    const w = words[rnd() % words.length]
    s += `{"${w}":${rnd() % 10000},"${words[rnd() % words.length]}":"${w}-${rnd() % 97}","v":[${rnd() % 7},${
      rnd() % 300
    }],"flag":${rnd() % 2 === 0}}`
  }
  return new Uint8Array(Buffer.from(s.slice(0, n), "latin1"))
}

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
export const split = (data: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => (data.length === 0 ? 0 : c % data.length)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let at = 0
  for (const p of points) {
    out.push(data.subarray(at, p))
    at = p
  }
  out.push(data.subarray(at))
  return out
}

export const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => new Uint8Array(Buffer.concat(parts))

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff])

/**
 * A node:zlib DeflateRaw stream that compresses one message per call, ending
 * it with a sync flush and stripping the tail (RFC 7692 §7.2.1).
 */
export const zlibDeflater = (options: { windowBits: number; level: number; noContextTakeover: boolean }) => {
  let stream: Zlib.DeflateRaw | undefined
  const open = () => Zlib.createDeflateRaw({ windowBits: options.windowBits, level: options.level, memLevel: 8 })
  return {
    compress: (message: Uint8Array): Promise<Uint8Array> => {
      if (stream === undefined || options.noContextTakeover) {
        stream?.close()
        stream = open()
      }
      const z = stream
      return new Promise((resolve, reject) => {
        const chunks: Array<Buffer> = []
        const onData = (b: Buffer) => chunks.push(b)
        z.on("data", onData)
        z.once("error", reject)
        z.write(message)
        z.flush(Zlib.constants.Z_SYNC_FLUSH, () => {
          z.off("data", onData)
          z.off("error", reject)
          const all = Buffer.concat(chunks)
          if (!all.subarray(all.length - 4).equals(TAIL)) reject(new Error("no sync flush tail"))
          else resolve(new Uint8Array(all.subarray(0, all.length - 4)))
        })
      })
    },
    close: () => stream?.close()
  }
}

/** A node:zlib InflateRaw stream for a sequence of compressed messages (tail re-added). */
export const zlibInflater = (options: { windowBits: number; noContextTakeover: boolean }) => {
  let stream: Zlib.InflateRaw | undefined
  return {
    decompress: (compressed: Uint8Array): Promise<Uint8Array> => {
      if (stream === undefined || options.noContextTakeover) {
        stream?.close()
        stream = Zlib.createInflateRaw({ windowBits: options.windowBits })
      }
      const z = stream
      return new Promise((resolve, reject) => {
        const chunks: Array<Buffer> = []
        const onData = (b: Buffer) => chunks.push(b)
        z.on("data", onData)
        z.once("error", reject)
        z.write(compressed)
        z.write(TAIL)
        z.flush(Zlib.constants.Z_SYNC_FLUSH, () => {
          z.off("data", onData)
          z.off("error", reject)
          resolve(new Uint8Array(Buffer.concat(chunks)))
        })
      })
    },
    close: () => stream?.close()
  }
}
