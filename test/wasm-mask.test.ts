import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { maskJs } from "../src/internal/mask.js"
import { makeWasmCodec, MASK_WASM_MIN } from "../src/internal/wasmCodec.js"

const codec = makeWasmCodec()

const pattern = (n: number, seed: number): Uint8Array => {
  const a = new Uint8Array(n)
  let x = seed | 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    a[i] = x
  }
  return a
}

/** Masks `data[start, start+len)` both ways and compares the whole buffers. */
const check = (
  f: (d: Uint8Array, s: number, e: number, k: number, p: number) => void,
  len: number,
  start: number,
  key: number,
  pos: number
) => {
  const base = pattern(start + len + 7, len * 31 + start + 1)
  const a = base.slice()
  const b = base.slice()
  maskJs(a, start, start + len, key, pos)
  f(b, start, start + len, key, pos)
  expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true)
}

describe("wasm masking", () => {
  it("equals maskJs for every length 0..300, key offset and small start offset", () => {
    for (let len = 0; len <= 300; len++) {
      for (let pos = 0; pos < 4; pos++) {
        for (const start of [0, 1, 3, 6]) {
          const key = (len * 2654435761 + pos) >>> 0
          check(codec.maskWasm, len, start, key, pos)
          check(codec.mask, len, start, key, pos)
        }
      }
    }
  })

  it("equals maskJs for random lengths up to 70,000, keys, key offsets and start offsets", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 70_000 }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 3 }),
        (len, start, key, pos) => {
          check(codec.maskWasm, len, start, key, pos)
          check(codec.mask, len, start, key, pos)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("masks a subarray of a larger buffer and continues across chunks of one frame", () => {
    const whole = pattern(200_000, 7)
    const parent = new Uint8Array(whole.length + 10)
    parent.set(whole, 5)
    const view = parent.subarray(5, 5 + whole.length)
    const expected = whole.slice()
    maskJs(expected, 0, expected.length, 0x12345678, 2)
    // Three chunks, each continuing the key where the previous one stopped.
    const cuts = [0, 1_001, 1_001 + MASK_WASM_MIN + 3, whole.length]
    for (let i = 0; i < 3; i++) {
      codec.mask(view, cuts[i], cuts[i + 1], 0x12345678, (2 + cuts[i]) & 3)
    }
    expect(Buffer.from(view).equals(Buffer.from(expected))).toBe(true)
    expect(parent[4]).toBe(0)
    expect(parent[5 + whole.length]).toBe(0)
  })
})
