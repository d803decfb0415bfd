import * as fc from "fast-check"
import * as Crypto from "node:crypto"
import * as Zlib from "node:zlib"
import { describe, expect, it } from "vitest"
import type { Inflater } from "../src/Codec.js"
import { InflateStatus } from "../src/Codec.js"
import { makeWasmCodec } from "../src/internal/wasmCodec.js"
import { concat, equalBytes, jsonLike, payload, split, zlibDeflater } from "./wasmData.js"

const codec = makeWasmCodec()
const MiB = 1 << 20

/** Inflates one message pushed in pieces; the status on failure. */
const inflateMessage = (inf: Inflater, pieces: ReadonlyArray<Uint8Array>, limit: number) => {
  const out: Array<Uint8Array> = []
  for (let i = 0; i < pieces.length; i++) {
    const r = inf.push(pieces[i] ?? new Uint8Array(0), i === pieces.length - 1, limit)
    if (typeof r === "number") return r
    out.push(r)
  }
  return concat(out)
}

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/ /g, ""), "hex"))
const text = (s: string) => new Uint8Array(Buffer.from(s))

describe("wasm inflater", () => {
  it("decodes the RFC 7692 §7.2.3 examples", () => {
    const one = (payloadHex: string) => {
      const inf = codec.inflater({ windowBits: 15, noContextTakeover: false })
      const r = inf.push(hex(payloadHex), true, MiB)
      inf.free()
      return r
    }
    expect(one("f2 48 cd c9 c9 07 00")).toEqual(text("Hello"))
    expect(one("00 05 00 fa ff 48 65 6c 6c 6f 00")).toEqual(text("Hello"))
    expect(one("f3 48 cd c9 c9 07 00 00")).toEqual(text("Hello"))
    // A final block without the following empty block's header byte: lenient, like zlib,
    // also when the message ends with an empty piece.
    expect(one("f3 48 cd c9 c9 07 00")).toEqual(text("Hello"))
    const split = codec.inflater({ windowBits: 15, noContextTakeover: false })
    expect(split.push(hex("f3 48 cd c9 c9 07 00"), false, MiB)).toEqual(text("Hello"))
    expect(split.push(new Uint8Array(0), true, MiB)).toEqual(new Uint8Array(0))
    split.free()
    expect(one("f2 48 05 00 00 00 ff ff ca c9 c9 07 00")).toEqual(text("Hello"))
    expect(one("00")).toEqual(new Uint8Array(0))
    // Sharing the LZ77 window across messages.
    const inf = codec.inflater({ windowBits: 15, noContextTakeover: false })
    expect(inf.push(hex("f2 48 cd c9 c9 07 00"), true, MiB)).toEqual(text("Hello"))
    expect(inf.push(hex("f2 00 11 00 00"), true, MiB)).toEqual(text("Hello"))
    inf.free()
    // Without context takeover the second message refers to a forgotten window.
    const fresh = codec.inflater({ windowBits: 15, noContextTakeover: true })
    expect(fresh.push(hex("f2 48 cd c9 c9 07 00"), true, MiB)).toEqual(text("Hello"))
    expect(fresh.push(hex("f2 00 11 00 00"), true, MiB)).toBe(InflateStatus.Corrupt)
    fresh.free()
  })

  it("inflates node:zlib output: every window size, levels 1 and 6, with and without context takeover, in fragments", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 9, max: 15 }),
        fc.constantFrom(1, 6, 9),
        fc.boolean(),
        fc.array(fc.tuple(payload(40_000), fc.array(fc.nat(), { maxLength: 6 })), { minLength: 1, maxLength: 8 }),
        async (windowBits, level, noContextTakeover, messages) => {
          const z = zlibDeflater({ windowBits, level, noContextTakeover })
          const inf = codec.inflater({ windowBits, noContextTakeover })
          try {
            for (const [message, cuts] of messages) {
              const compressed = await z.compress(message)
              const r = inflateMessage(inf, split(compressed, cuts), MiB)
              expect(r).toBeInstanceOf(Uint8Array)
              expect(equalBytes(r as Uint8Array, message)).toBe(true)
            }
          } finally {
            z.close()
            inf.free()
          }
        }
      ),
      { numRuns: 120 }
    )
  })

  it("inflates large messages through the output ring and input blocks", async () => {
    const z = zlibDeflater({ windowBits: 15, level: 6, noContextTakeover: false })
    const inf = codec.inflater({ windowBits: 15, noContextTakeover: false })
    for (const n of [200_000, 1_500_000]) {
      const message = concat([jsonLike(n / 2, n), new Uint8Array(Crypto.randomBytes(n / 2))])
      const compressed = await z.compress(message)
      const r = inflateMessage(inf, [compressed], 4 * MiB)
      expect(equalBytes(r as Uint8Array, message)).toBe(true)
    }
    z.close()
    inf.free()
  })

  it("stops a zip bomb at the limit", () => {
    const bomb = Zlib.deflateRawSync(Buffer.alloc(64 * MiB), { finishFlush: Zlib.constants.Z_SYNC_FLUSH })
    const body = new Uint8Array(bomb.subarray(0, bomb.length - 4))
    for (const limit of [0, 1, 1000, 32_768, 32_769, MiB]) {
      const inf = codec.inflater({ windowBits: 15, noContextTakeover: false })
      expect(inf.push(body, true, limit)).toBe(InflateStatus.TooBig)
      // Once failed, it stays failed.
      expect(inf.push(body, true, 64 * MiB)).toBe(InflateStatus.Corrupt)
      inf.free()
    }
    // The limit counts the whole message, across pushes.
    const inf = codec.inflater({ windowBits: 15, noContextTakeover: false })
    const pieces = split(body, [10, 20, 30, 500])
    let status: unknown
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] ?? new Uint8Array(0)
      status = inf.push(piece, i === pieces.length - 1, 100_000)
      if (typeof status === "number") break
    }
    expect(status).toBe(InflateStatus.TooBig)
    inf.free()
  })

  it("accepts a message of exactly the limit and refuses one byte more", () => {
    const message = jsonLike(50_000, 3)
    const body = Zlib.deflateRawSync(message, { finishFlush: Zlib.constants.Z_SYNC_FLUSH })
    const compressed = new Uint8Array(body.subarray(0, body.length - 4))
    const at = codec.inflater({ windowBits: 15, noContextTakeover: false })
    expect(equalBytes(at.push(compressed, true, 50_000) as Uint8Array, message)).toBe(true)
    at.free()
    const below = codec.inflater({ windowBits: 15, noContextTakeover: false })
    expect(below.push(compressed, true, 49_999)).toBe(InflateStatus.TooBig)
    below.free()
  })

  it("reports corrupt and truncated input as Corrupt", () => {
    const corrupt = (bytes: Uint8Array, windowBits = 15) => {
      const inf = codec.inflater({ windowBits, noContextTakeover: false })
      const r = inf.push(bytes, true, MiB)
      inf.free()
      return r
    }
    // Block type 3.
    expect(corrupt(hex("07"))).toBe(InflateStatus.Corrupt)
    // Stored block whose LEN and NLEN disagree.
    expect(corrupt(hex("00 05 00 fb ff 48 65 6c 6c 6f"))).toBe(InflateStatus.Corrupt)
    // Fixed block: "a", then a match of 3 at distance 1 (valid) or 2 (before the history).
    expect(corrupt(hex("4a 04 02 00 00"))).toEqual(text("aaaa"))
    expect(corrupt(hex("4a 04 42 00 00"))).toBe(InflateStatus.Corrupt)
    // Truncated messages.
    const message = jsonLike(20_000, 9)
    const full = Zlib.deflateRawSync(message, { finishFlush: Zlib.constants.Z_SYNC_FLUSH })
    for (const cut of [1, 2, 10, 100, full.length - 6]) {
      expect(corrupt(new Uint8Array(full.subarray(0, cut)))).toBe(InflateStatus.Corrupt)
    }
    // Distances beyond the negotiated window (2^9 here, data repeats at 3000 bytes).
    const rand = new Uint8Array(Crypto.randomBytes(3000))
    const far = Zlib.deflateRawSync(concat([rand, rand]), { finishFlush: Zlib.constants.Z_SYNC_FLUSH })
    expect(corrupt(new Uint8Array(far.subarray(0, far.length - 4)), 9)).toBe(InflateStatus.Corrupt)
    expect(corrupt(new Uint8Array(far.subarray(0, far.length - 4)), 12)).toBeInstanceOf(Uint8Array)
  })

  it("takes 8 window bits as 9, the smallest window zlib compresses with", () => {
    // zlib cannot compress raw DEFLATE with a 256-byte window; asked for 8 it uses 9.
    const rand = new Uint8Array(Crypto.randomBytes(400))
    const near = Zlib.deflateRawSync(concat([rand, rand]), { windowBits: 8, finishFlush: Zlib.constants.Z_SYNC_FLUSH })
    const inf8 = codec.inflater({ windowBits: 8, noContextTakeover: false })
    const r = inf8.push(new Uint8Array(near.subarray(0, near.length - 4)), true, MiB)
    expect(equalBytes(r as Uint8Array, concat([rand, rand]))).toBe(true)
    inf8.free()
    const far = Zlib.deflateRawSync(concat([rand, new Uint8Array(200), rand]), { finishFlush: Zlib.constants.Z_SYNC_FLUSH })
    const inf8b = codec.inflater({ windowBits: 8, noContextTakeover: false })
    expect(inf8b.push(new Uint8Array(far.subarray(0, far.length - 4)), true, MiB)).toBe(InflateStatus.Corrupt)
    inf8b.free()
  })

  it("never throws on random input, whole or in pieces", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        fc.integer({ min: 9, max: 15 }),
        fc.nat(200_000),
        (bytes, cuts, windowBits, limit) => {
          const inf = codec.inflater({ windowBits, noContextTakeover: false })
          const r = inflateMessage(inf, split(bytes, cuts), limit)
          inf.free()
          expect(r instanceof Uint8Array || r === InflateStatus.Corrupt || r === InflateStatus.TooBig).toBe(true)
          if (r instanceof Uint8Array) expect(r.length).toBeLessThanOrEqual(limit)
        }
      ),
      { numRuns: 3000 }
    )
  })

  it("never throws on mutated valid streams", () => {
    const base = Zlib.deflateRawSync(jsonLike(5000, 1), { finishFlush: Zlib.constants.Z_SYNC_FLUSH })
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { minLength: 1, maxLength: 4 }), (edits) => {
        const bytes = new Uint8Array(base)
        for (const [at, v] of edits) bytes[at] = v
        const inf = codec.inflater({ windowBits: 15, noContextTakeover: false })
        const r = inf.push(bytes.subarray(0, bytes.length - 4), true, MiB)
        inf.free()
        expect(r instanceof Uint8Array || r === InflateStatus.Corrupt).toBe(true)
      }),
      { numRuns: 2000 }
    )
  })
})
