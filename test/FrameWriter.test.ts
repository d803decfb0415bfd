import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import * as Codec from "../src/Codec.js"
import { Opcode } from "../src/Frame.js"
import { FrameParser } from "../src/FrameParser.js"
import * as FrameWriter from "../src/FrameWriter.js"
import { maskJs } from "../src/internal/mask.js"

interface Parsed {
  readonly fin: boolean
  readonly rsv1: boolean
  readonly opcode: number
  readonly masked: boolean
  readonly payload: Uint8Array
}

/** Parses whole frames out of `bytes`, unmasking payloads with maskJs. */
const parse = (bytes: Uint8Array): Array<Parsed> => {
  const frames: Array<Parsed> = []
  let payload = new Uint8Array(0)
  const parser = new FrameParser({
    onHeader: (p) => {
      payload = new Uint8Array(p.length)
      return true
    },
    onPayload: (data, start, end, offset) => {
      payload.set(data.subarray(start, end), offset)
      return true
    },
    onFrameEnd: (p) => {
      if (p.masked) maskJs(payload, 0, payload.length, p.maskKey, 0)
      frames.push({ fin: p.fin, rsv1: p.rsv1, opcode: p.opcode, masked: p.masked, payload })
      return true
    }
  })
  expect(parser.push(bytes)).toBe(true)
  return frames
}

const lengths = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 300 }), weight: 6 },
  { arbitrary: fc.constantFrom(125, 126, 127, 65535, 65536, 65537), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 70000 }), weight: 1 }
)
const frames = fc.record({
  fin: fc.boolean(),
  rsv1: fc.boolean(),
  opcode: fc.constantFrom(Opcode.Continuation, Opcode.Text, Opcode.Binary),
  payload: lengths.chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
})

describe("FrameWriter", () => {
  const wasmMask = Effect.runPromise(Codec.wasm).then((codec) => codec.mask)

  for (const [name, getMask] of [["maskJs", async () => maskJs], ["Codec.wasm", () => wasmMask]] as const) {
    it(`client frames (${name}) parse back to the same frame, masked, and leave the caller's bytes alone`, async () => {
      const mask = await getMask()
      fc.assert(
        fc.property(frames, (f) => {
          const before = f.payload.slice()
          const bytes = FrameWriter.encodeFrame(f.fin, f.rsv1, f.opcode, f.payload, mask)
          expect(Buffer.compare(f.payload, before)).toBe(0)
          const [got, ...rest] = parse(bytes)
          expect(rest).toEqual([])
          expect({ ...got, payload: got.payload.length }).toEqual({ ...f, masked: true, payload: f.payload.length })
          expect(Buffer.compare(got.payload, f.payload)).toBe(0)
        }),
        { numRuns: 300 }
      )
    })
  }

  it("server frames are unmasked, whole or as a header followed by the payload as it is", () => {
    fc.assert(
      fc.property(frames, (f) => {
        const whole = FrameWriter.encodeFrame(f.fin, f.rsv1, f.opcode, f.payload, undefined)
        const header = FrameWriter.encodeUnmaskedHeader(f.fin, f.rsv1, f.opcode, f.payload.length)
        expect(Buffer.compare(whole, Buffer.concat([header, f.payload]))).toBe(0)
        const [got] = parse(whole)
        expect(got.masked).toBe(false)
        expect(Buffer.compare(got.payload, f.payload)).toBe(0)
      }),
      { numRuns: 300 }
    )
  })

  it("every client frame gets a fresh key, across refills of the key pool", () => {
    const keys = new Set<string>()
    const n = 3000
    for (let i = 0; i < n; i++) {
      const frame = FrameWriter.encodeFrame(true, false, Opcode.Binary, new Uint8Array(0), maskJs)
      keys.add(Buffer.from(frame.subarray(2, 6)).toString("hex"))
    }
    // 3000 draws from 2^32 keys: a repeat is possible (p ≈ 0.001) but a stuck pool would repeat a lot
    expect(keys.size).toBeGreaterThanOrEqual(n - 2)
  })

  it("an unmasked 64-bit length is written minimally and big-endian", () => {
    const header = FrameWriter.encodeUnmaskedHeader(true, false, Opcode.Binary, 2 ** 32 + 5)
    expect([...header]).toEqual([0x82, 127, 0, 0, 0, 1, 0, 0, 0, 5])
  })
})
