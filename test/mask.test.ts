import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { maskJs } from "../src/internal/mask.js"

/** The RFC 6455 §5.3 definition, one byte at a time. */
const reference = (data: Uint8Array, start: number, end: number, key: number, pos: number): void => {
  for (let i = start; i < end; i++) data[i] ^= (key >>> (8 * ((pos + i - start) & 3))) & 0xff
}

describe("maskJs", () => {
  it("equals the byte-at-a-time definition for any length, alignment and key offset", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 3 }),
        (length, offset, key, pos) => {
          const buffer = new Uint8Array(length + offset + 8)
          globalThis.crypto.getRandomValues(buffer)
          const a = buffer.slice()
          const b = buffer.slice()
          maskJs(a, offset, offset + length, key, pos)
          reference(b, offset, offset + length, key, pos)
          expect(a).toEqual(b)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("continues across chunks when the position carries over", () => {
    const data = new Uint8Array(1000).map((_, i) => i)
    const whole = data.slice()
    maskJs(whole, 0, 1000, 0xdeadbeef, 0)
    const pieces = data.slice()
    let at = 0
    for (const n of [1, 3, 7, 64, 333, 592]) {
      maskJs(pieces, at, at + n, 0xdeadbeef, at & 3)
      at += n
    }
    expect(pieces).toEqual(whole)
  })

  it("works on a view that starts at an odd offset of its buffer", () => {
    const backing = new Uint8Array(200).fill(0x55)
    const view = backing.subarray(3, 150)
    maskJs(view, 0, view.length, 0x01020304, 0)
    const expected = new Uint8Array(147).fill(0x55)
    reference(expected, 0, 147, 0x01020304, 0)
    expect(view).toEqual(expected)
    expect(backing[2]).toBe(0x55)
    expect(backing[150]).toBe(0x55)
  })
})
