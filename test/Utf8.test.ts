import { isUtf8 } from "node:buffer"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { isValidUtf8, Utf8Validator } from "../src/Utf8.js"

const fatalDecoder = new TextDecoder("utf-8", { fatal: true })
const decodes = (data: Uint8Array): boolean => {
  try {
    fatalDecoder.decode(data)
    return true
  } catch {
    return false
  }
}

/**
 * Every proper prefix (1–3 bytes) of the UTF-8 form of some scalar value:
 * the only ways a valid text may be cut short. Built by brute force from
 * TextEncoder, independently of the validator. The last byte of a sequence
 * carries the low 6 bits, so one code point per 64 yields every prefix.
 */
const PROPER_PREFIXES: ReadonlySet<string> = (() => {
  const set = new Set<string>()
  const enc = new TextEncoder()
  for (let cp = 0x80; cp <= 0x10ffff; cp += 64) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue
    const b = enc.encode(String.fromCodePoint(cp))
    for (let k = 1; k < b.length; k++) set.add(Array.from(b.subarray(0, k)).join(","))
  }
  return set
})()

/** Whether `p` can still be continued into valid UTF-8 (slow reference). */
const isValidPrefix = (p: Uint8Array): boolean => {
  for (let t = 0; t <= 3 && t <= p.length; t++) {
    const head = p.subarray(0, p.length - t)
    const tail = p.subarray(p.length - t)
    if ((t === 0 || PROPER_PREFIXES.has(Array.from(tail).join(","))) && decodes(head)) return true
  }
  return false
}

/** The index of the first byte at which no valid continuation exists, or `data.length`. */
const firstBad = (data: Uint8Array): number => {
  for (let k = 1; k <= data.length; k++) if (!isValidPrefix(data.subarray(0, k))) return k - 1
  return data.length
}

/** `data` cut at the given points (sorted, deduplicated, within bounds). */
const chunk = (data: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let prev = 0
  for (const p of [...points, data.length]) {
    out.push(data.subarray(prev, p))
    prev = p
  }
  return out
}

/** Each chunk copied into a fresh buffer at a random byte offset, to vary alignment. */
const misalign = (chunks: ReadonlyArray<Uint8Array>, offset: number): Array<Uint8Array> =>
  chunks.map((c) => {
    const buf = new Uint8Array(c.length + offset + 3).fill(0x80) // invalid filler around the view
    buf.set(c, offset)
    return buf.subarray(offset, offset + c.length)
  })

const validators = [
  ["pure JS", () => new Utf8Validator()],
  ["with buffer.isUtf8", () => new Utf8Validator(isUtf8)]
] as const

const cutsArb = fc.array(fc.nat({ max: 2000 }), { maxLength: 12 })
const oneByteCuts = (n: number) => Array.from({ length: n }, (_, i) => i)

/** Bytes that are often near a boundary of Table 3-7. */
const edgy = fc.constantFrom(
  0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef,
  0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfb, 0xfc, 0xfe, 0xff
)
const validPiece = fc.string({ unit: "binary", maxLength: 4 }).map((s) => Array.from(new TextEncoder().encode(s)))
/** Mostly-valid bytes with occasional damage, optionally after a long valid run (to exercise `bulk`). */
const nearValid = fc
  .tuple(
    fc.oneof(fc.constant(""), fc.string({ unit: "binary", minLength: 40, maxLength: 200 })),
    fc.array(fc.oneof({ weight: 4, arbitrary: validPiece }, { weight: 1, arbitrary: edgy.map((b) => [b]) }), { maxLength: 30 }),
    fc.string({ unit: "binary", maxLength: 100 })
  )
  .map(([pre, mid, post]) => {
    const enc = new TextEncoder()
    return new Uint8Array([...enc.encode(pre), ...mid.flat(), ...enc.encode(post)])
  })

describe("Utf8Validator", () => {
  describe.each(validators)("%s", (_name, make) => {
    it("accepts every chunking of valid text, including astral and 1-byte chunks", () => {
      fc.assert(
        fc.property(fc.string({ unit: "binary", maxLength: 300 }), cutsArb, fc.nat({ max: 7 }), fc.boolean(), (s, cuts, offset, bytewise) => {
          const data = new TextEncoder().encode(s)
          const v = make()
          for (const c of misalign(chunk(data, bytewise ? oneByteCuts(data.length) : cuts), offset)) {
            expect(v.push(c)).toBe(true)
          }
          expect(v.end()).toBe(true)
          expect(decodes(data)).toBe(true)
        }),
        { numRuns: 300 }
      )
    })

    it("agrees with TextDecoder (fatal) on random bytes, for every chunking", () => {
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), nearValid), cutsArb, (data, cuts) => {
          const v = make()
          let ok = true
          for (const c of chunk(data, cuts)) ok = v.push(c) && ok
          expect(v.end() && ok).toBe(decodes(data))
        }),
        { numRuns: 500 }
      )
    })

    it("fails fast: false from the chunk holding the first hopeless byte, true before it", () => {
      fc.assert(
        fc.property(nearValid, cutsArb, fc.boolean(), (data, cuts, bytewise) => {
          const bad = firstBad(data)
          const v = make()
          let pos = 0
          for (const c of chunk(data, bytewise ? oneByteCuts(data.length) : cuts)) {
            pos += c.length
            expect(v.push(c)).toBe(pos <= bad)
          }
          expect(v.end()).toBe(bad === data.length && decodes(data))
        }),
        { numRuns: 500 }
      )
    })

    it("honours start and end, and stays false until reset", () => {
      const v = make()
      const text = new TextEncoder().encode("x".repeat(100) + "é😀" + "y".repeat(100))
      const framed = new Uint8Array([0xff, ...text, 0xc0])
      expect(v.push(framed, 1, framed.length - 1)).toBe(true)
      expect(v.end()).toBe(true)
      expect(v.push(framed, 0, 5)).toBe(false)
      expect(v.push(text)).toBe(false)
      expect(v.end()).toBe(false)
      // end() reset it.
      expect(v.push(text)).toBe(true)
      expect(v.push(new Uint8Array([0xe2, 0x82]))).toBe(true)
      v.reset()
      expect(v.push(new Uint8Array([0x41]))).toBe(true) // the open sequence was forgotten
      expect(v.end()).toBe(true)
      expect(v.push(new Uint8Array([0xe2, 0x82]))).toBe(true)
      expect(v.end()).toBe(false) // ended inside a sequence
      expect(v.push(new Uint8Array(0))).toBe(true)
      expect(v.end()).toBe(true)
    })

    it("fails fast inside a long chunk, wherever the bad byte sits", () => {
      const ascii = new TextEncoder().encode("a".repeat(257))
      for (let at = 0; at < ascii.length; at += 7) {
        for (const bad of [[0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff]]) {
          const data = new Uint8Array([...ascii.subarray(0, at), ...bad, ...ascii.subarray(at)])
          const v = make()
          expect(v.push(data)).toBe(false)
        }
      }
      // A sequence left open at the end of a long chunk is not an error yet.
      for (const open of [[0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xe0, 0xa0], [0xf4, 0x8f]]) {
        const v = make()
        expect(v.push(new Uint8Array([...ascii, ...open]))).toBe(true)
        expect(v.end()).toBe(false)
      }
      // But a hopeless one is.
      for (const hopeless of [[0xe0, 0x80], [0xed, 0xa0], [0xf4, 0x90], [0xf0, 0x80], [0xc1], [0xf5]]) {
        const v = make()
        expect(v.push(new Uint8Array([...ascii, ...hopeless]))).toBe(false)
      }
    })
  })
})

describe("Autobahn 6.x-like vectors", () => {
  // bad: index of the first byte at which the text is hopeless; "open": valid prefix, not complete.
  const vectors: ReadonlyArray<readonly [string, ReadonlyArray<number>, number | "valid" | "open"]> = [
    ["6.2 κόσμε", [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5], "valid"],
    ["6.3 κόσμε-edited", [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64], 12],
    ["6.6 fail fast in κόσμε", [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4, 0x90, 0x80, 0x80], 12],
    ["6.7 U+0000", [0x00], "valid"],
    ["6.7 U+0080", [0xc2, 0x80], "valid"],
    ["6.7 U+0800", [0xe0, 0xa0, 0x80], "valid"],
    ["6.7 U+10000", [0xf0, 0x90, 0x80, 0x80], "valid"],
    ["6.8 5-byte U+200000", [0xf8, 0x88, 0x80, 0x80, 0x80], 0],
    ["6.8 6-byte U+4000000", [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80], 0],
    ["6.9 U+007F", [0x7f], "valid"],
    ["6.9 U+07FF", [0xdf, 0xbf], "valid"],
    ["6.9 U+FFFF", [0xef, 0xbf, 0xbf], "valid"],
    ["6.9 U+10FFFF", [0xf4, 0x8f, 0xbf, 0xbf], "valid"],
    ["6.10 U+1FFFFF", [0xf7, 0xbf, 0xbf, 0xbf], 0],
    ["6.10 U+3FFFFFF", [0xfb, 0xbf, 0xbf, 0xbf, 0xbf], 0],
    ["6.10 U+7FFFFFFF", [0xfd, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf], 0],
    ["6.11 U+D7FF", [0xed, 0x9f, 0xbf], "valid"],
    ["6.11 U+E000", [0xee, 0x80, 0x80], "valid"],
    ["6.11 U+FFFD", [0xef, 0xbf, 0xbd], "valid"],
    ["6.11 U+110000", [0xf4, 0x90, 0x80, 0x80], 1],
    ["6.12 lone 80", [0x80], 0],
    ["6.12 lone BF", [0xbf], 0],
    ["6.12 80 BF 80 BF", [0x80, 0xbf, 0x80, 0xbf], 0],
    ["6.12 after ASCII", [0x61, 0x62, 0x80], 2],
    ["6.12 extra continuation", [0xc2, 0x80, 0x80], 2],
    ["6.13 lonely C0 + space", [0xc0, 0x20], 0],
    ["6.13 lonely E0 + space", [0xe0, 0x20], 1],
    ["6.13 lonely F0 + space", [0xf0, 0x20], 1],
    ["6.13 lonely F8 + space", [0xf8, 0x20], 0],
    ["6.13 lonely FC + space", [0xfc, 0x20], 0],
    ["6.14 C0 (last byte missing)", [0xc0], 0],
    ["6.14 E0 80", [0xe0, 0x80], 1],
    ["6.14 F0 80 80", [0xf0, 0x80, 0x80], 1],
    ["6.14 DF", [0xdf], "open"],
    ["6.14 EF BF", [0xef, 0xbf], "open"],
    ["6.14 F4 8F BF", [0xf4, 0x8f, 0xbf], "open"],
    ["6.14 F7 BF BF", [0xf7, 0xbf, 0xbf], 0],
    ["6.15 concatenated incomplete", [0xc0, 0xe0, 0x80, 0xf0, 0x80, 0x80, 0xdf, 0xef, 0xbf, 0xf7, 0xbf, 0xbf], 0],
    ["6.15 open then ASCII", [0xdf, 0x41], 1],
    ["6.16 FE", [0xfe], 0],
    ["6.16 FF", [0xff], 0],
    ["6.16 FE FE FF FF", [0xfe, 0xfe, 0xff, 0xff], 0],
    ["6.17 overlong / C0 AF", [0xc0, 0xaf], 0],
    ["6.17 overlong / E0 80 AF", [0xe0, 0x80, 0xaf], 1],
    ["6.17 overlong / F0 80 80 AF", [0xf0, 0x80, 0x80, 0xaf], 1],
    ["6.17 overlong / F8 80 80 80 AF", [0xf8, 0x80, 0x80, 0x80, 0xaf], 0],
    ["6.18 max overlong C1 BF", [0xc1, 0xbf], 0],
    ["6.18 max overlong E0 9F BF", [0xe0, 0x9f, 0xbf], 1],
    ["6.18 max overlong F0 8F BF BF", [0xf0, 0x8f, 0xbf, 0xbf], 1],
    ["6.19 overlong NUL C0 80", [0xc0, 0x80], 0],
    ["6.19 overlong NUL E0 80 80", [0xe0, 0x80, 0x80], 1],
    ["6.19 overlong NUL F0 80 80 80", [0xf0, 0x80, 0x80, 0x80], 1],
    ["6.20 U+D800", [0xed, 0xa0, 0x80], 1],
    ["6.20 U+DB7F", [0xed, 0xad, 0xbf], 1],
    ["6.20 U+DB80", [0xed, 0xae, 0x80], 1],
    ["6.20 U+DBFF", [0xed, 0xaf, 0xbf], 1],
    ["6.20 U+DC00", [0xed, 0xb0, 0x80], 1],
    ["6.20 U+DF80", [0xed, 0xbe, 0x80], 1],
    ["6.20 U+DFFF", [0xed, 0xbf, 0xbf], 1],
    ["6.21 U+D800 U+DC00", [0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80], 1],
    ["6.21 U+DBFF U+DFFF", [0xed, 0xaf, 0xbf, 0xed, 0xbf, 0xbf], 1],
    ["6.22 U+FFFE", [0xef, 0xbf, 0xbe], "valid"],
    ["6.22 U+10FFFE", [0xf4, 0x8f, 0xbf, 0xbe], "valid"],
    ["6.22 U+FDD0", [0xef, 0xb7, 0x90], "valid"],
    ["6.23 U+FFFD after text", [0x61, 0xef, 0xbf, 0xbd, 0x62], "valid"]
  ]

  describe.each(validators)("%s", (_name, make) => {
    it.each(vectors)("%s", (_label, bytes, expected) => {
      const data = new Uint8Array(bytes)
      const bad = typeof expected === "number" ? expected : data.length
      expect(firstBad(data)).toBe(bad) // the vector agrees with the slow reference
      // Byte by byte: false exactly from the hopeless byte on.
      const v = make()
      for (let i = 0; i < data.length; i++) expect(v.push(data, i, i + 1)).toBe(i < bad)
      expect(v.end()).toBe(expected === "valid")
      // Whole, and after 100 bytes of ASCII (the bulk path).
      const whole = v.push(data)
      expect(v.end() && whole).toBe(expected === "valid")
      const long = new Uint8Array([...new Uint8Array(100).fill(0x20), ...data])
      expect(v.push(long)).toBe(typeof expected !== "number")
      expect(v.end()).toBe(expected === "valid")
      expect(isValidUtf8(data)).toBe(expected === "valid")
      expect(decodes(data)).toBe(expected === "valid")
    })
  })
})

describe("isValidUtf8", () => {
  it("agrees with buffer.isUtf8 on random bytes", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), nearValid), (data) => {
        expect(isValidUtf8(data)).toBe(isUtf8(data))
      }),
      { numRuns: 1000 }
    )
  })

  it("handles large buffers and unaligned views", () => {
    const text = new TextEncoder().encode("hello, wörld! 😀 ".repeat(5000) + "a".repeat(70000))
    expect(isValidUtf8(text)).toBe(true)
    expect(isValidUtf8(text.subarray(1))).toBe(true)
    const broken = text.slice()
    broken[broken.length - 3] = 0xff
    expect(isValidUtf8(broken)).toBe(false)
    expect(isValidUtf8(new Uint8Array(0))).toBe(true)
  })
})
