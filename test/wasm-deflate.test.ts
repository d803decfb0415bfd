import * as fc from "fast-check"
import * as Zlib from "node:zlib"
import { describe, expect, it } from "vitest"
import type { Deflater } from "../src/Codec.js"
import { makeWasmCodec } from "../src/internal/wasmCodec.js"
import { concat, equalBytes, jsonLike, payload, referenceInflate, split, zlibInflater } from "./wasmData.js"

const codec = makeWasmCodec()
const MiB = 1 << 20

/** Compresses one message pushed in the given pieces. */
const deflateMessage = (def: Deflater, pieces: ReadonlyArray<Uint8Array>): Uint8Array =>
  concat(pieces.map((p, i) => def.push(p, i === pieces.length - 1)))

describe("wasm deflater", () => {
  it("compresses the RFC 7692 §7.2.3.1 example like zlib and ends messages with the stripped sync flush", () => {
    const def = codec.deflater({ windowBits: 15, level: 6, noContextTakeover: false })
    const hello = new Uint8Array(Buffer.from("Hello"))
    expect(Buffer.from(def.push(hello, true)).toString("hex")).toBe("f248cdc9c90700")
    // The second "Hello" refers to the first (§7.2.3.2): zlib sends "H" and a match of 4
    // (f2 00 11 00 00: it never matches the first position of its window); we match all 5.
    const second = def.push(hello, true)
    expect(Buffer.from(second).toString("hex")).toBe("02130000")
    const { output, maxDistance } = referenceInflate(concat([second, new Uint8Array([0, 0, 0xff, 0xff])]), hello)
    expect(Buffer.from(output).toString()).toBe("Hello")
    expect(maxDistance).toBe(5)
    // An empty message is the single byte of the empty stored block's header (§7.2.3.6).
    expect(Buffer.from(def.push(new Uint8Array(0), true)).toString("hex")).toBe("00")
    def.free()
  })

  it("output inflates with node:zlib: every window size, levels 1 and 6, context takeover or not, in fragments", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 9, max: 15 }),
        fc.constantFrom(1, 6),
        fc.boolean(),
        fc.array(fc.tuple(payload(40_000), fc.array(fc.nat(), { maxLength: 6 })), { minLength: 1, maxLength: 8 }),
        async (windowBits, level, noContextTakeover, messages) => {
          const def = codec.deflater({ windowBits, level, noContextTakeover })
          const z = zlibInflater({ windowBits, noContextTakeover })
          try {
            for (const [message, cuts] of messages) {
              const compressed = deflateMessage(def, split(message, cuts))
              expect(equalBytes(await z.decompress(compressed), message)).toBe(true)
            }
          } finally {
            def.free()
            z.close()
          }
        }
      ),
      { numRuns: 150 }
    )
  })

  it("never refers farther back than 2^windowBits, 8 included", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 15 }),
        fc.constantFrom(1, 6, 9),
        fc.array(fc.tuple(fc.nat(3000), fc.nat(), fc.nat(200)), { minLength: 1, maxLength: 5 }),
        (windowBits, level, specs) => {
          const def = codec.deflater({ windowBits, level, noContextTakeover: false })
          let history: Uint8Array = new Uint8Array(0)
          for (const [n, seed, period] of specs) {
            // Repeats at every distance up to well past the window.
            const message = jsonLike(n, seed % 4).map((b, i) => (i % (period + 50) < 20 ? b : b ^ (i & 1)))
            const compressed = def.push(message, true)
            const tail = new Uint8Array([0, 0, 0xff, 0xff])
            const { output, maxDistance } = referenceInflate(concat([compressed, tail]), history)
            expect(equalBytes(output, message)).toBe(true)
            expect(maxDistance).toBeLessThanOrEqual(1 << windowBits)
            history = concat([history, message])
          }
          def.free()
        }
      ),
      { numRuns: 60 }
    )
  })

  it("compresses large messages across window slides, with and without context takeover", async () => {
    for (const noContextTakeover of [false, true]) {
      for (const level of [1, 6]) {
        const def = codec.deflater({ windowBits: 15, level, noContextTakeover })
        const z = zlibInflater({ windowBits: 15, noContextTakeover })
        for (const n of [300_000, 70_000, 1_000, 2 * MiB]) {
          const message = jsonLike(n, n + level)
          const compressed = def.push(message, true)
          expect(compressed.length).toBeLessThan(n / 2)
          expect(equalBytes(await z.decompress(compressed), message)).toBe(true)
        }
        def.free()
        z.close()
      }
    }
  })

  it("compresses about as well as node:zlib at the same level", () => {
    for (const level of [1, 6]) {
      for (const n of [1024, 65_536]) {
        let ours = 0
        let theirs = 0
        for (let seed = 0; seed < 20; seed++) {
          const message = jsonLike(n, seed)
          const def = codec.deflater({ windowBits: 15, level, noContextTakeover: true })
          ours += def.push(message, true).length
          def.free()
          theirs += Zlib.deflateRawSync(message, { level, finishFlush: Zlib.constants.Z_SYNC_FLUSH }).length - 4
        }
        // Within 10% here; the benchmark reports the exact ratio.
        expect(ours).toBeLessThan(theirs * 1.1)
      }
    }
  })

  it("keeps pushing after a non-final piece and rejects use after free", () => {
    const def = codec.deflater({ windowBits: 10, level: 6, noContextTakeover: false })
    const a = def.push(new Uint8Array(Buffer.from("abcabcabc")), false)
    const b = def.push(new Uint8Array(0), false)
    const c = def.push(new Uint8Array(Buffer.from("abcabcabc")), true)
    expect(b.length).toBe(0)
    const out = Zlib.inflateRawSync(Buffer.concat([a, c, Buffer.from([0, 0, 0xff, 0xff])]), {
      finishFlush: Zlib.constants.Z_SYNC_FLUSH
    })
    expect(out.toString()).toBe("abcabcabcabcabcabc")
    def.free()
    expect(() => def.push(new Uint8Array(1), true)).toThrow()
  })
})
