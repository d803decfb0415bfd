import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Frame from "../src/Frame.js"
import { type FrameHandler, FrameParser } from "../src/FrameParser.js"
import { concatBytes, splitAt } from "./util/bytes.js"

interface TestFrame {
  readonly fin: boolean
  readonly rsv1: boolean
  readonly rsv2: boolean
  readonly rsv3: boolean
  readonly opcode: number
  readonly masked: boolean
  readonly maskKey: number
  readonly payload: Uint8Array
}

const encode = (f: TestFrame): Uint8Array => {
  const size = Frame.headerSize(f.payload.length, f.masked)
  const out = new Uint8Array(size + f.payload.length)
  Frame.encodeHeader(out, 0, f.fin, f.rsv1, f.opcode, f.payload.length, f.masked, f.maskKey)
  out[0] |= (f.rsv2 ? 0x20 : 0) | (f.rsv3 ? 0x10 : 0)
  out.set(f.payload, size)
  return out
}

/** Parses `chunks` and returns the frames seen, payloads reassembled. */
const parseAll = (chunks: ReadonlyArray<Uint8Array>) => {
  const frames: Array<TestFrame> = []
  let pieces: Array<Uint8Array> = []
  let expectedOffset = 0
  const handler: FrameHandler = {
    onHeader: () => {
      pieces = []
      expectedOffset = 0
      return true
    },
    onPayload: (data, start, end, offset) => {
      expect(offset).toBe(expectedOffset)
      expectedOffset += end - start
      pieces.push(data.slice(start, end))
      return true
    },
    onFrameEnd: (p) => {
      const payload = new Uint8Array(pieces.reduce((n, c) => n + c.length, 0))
      let o = 0
      for (const c of pieces) {
        payload.set(c, o)
        o += c.length
      }
      frames.push({
        fin: p.fin,
        rsv1: p.rsv1,
        rsv2: p.rsv2,
        rsv3: p.rsv3,
        opcode: p.opcode,
        masked: p.masked,
        maskKey: p.maskKey,
        payload
      })
      return true
    }
  }
  const parser = new FrameParser(handler)
  for (const c of chunks) expect(parser.push(c)).toBe(true)
  return frames
}

const lengths = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 200 }), weight: 8 },
  { arbitrary: fc.constantFrom(125, 126, 127, 65535, 65536, 65537), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 70000 }), weight: 1 }
)

/** Frames compared as header fields plus a hex digest-free byte comparison (fast on large payloads). */
const same = (a: ReadonlyArray<TestFrame>, b: ReadonlyArray<TestFrame>): void => {
  expect(a.length).toBe(b.length)
  a.forEach((f, i) => {
    const g = b[i]
    expect({ ...f, payload: f.payload.length }).toEqual({ ...g, payload: g.payload.length })
    expect(Buffer.compare(f.payload, g.payload)).toBe(0)
  })
}

const arbFrame: fc.Arbitrary<TestFrame> = fc.record({
  fin: fc.boolean(),
  rsv1: fc.boolean(),
  rsv2: fc.boolean(),
  rsv3: fc.boolean(),
  opcode: fc.integer({ min: 0, max: 15 }),
  masked: fc.boolean(),
  maskKey: fc.integer({ min: 0, max: 0xffffffff }),
  payload: lengths.chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
}).map((f) => (f.masked ? f : { ...f, maskKey: 0 }))

const split = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> =>
  splitAt(bytes, cuts, { atEnd: true })

describe("Frame", () => {
  it("encodes lengths minimally", () => {
    expect(Frame.headerSize(125, false)).toBe(2)
    expect(Frame.headerSize(126, false)).toBe(4)
    expect(Frame.headerSize(65535, false)).toBe(4)
    expect(Frame.headerSize(65536, false)).toBe(10)
    expect(Frame.headerSize(0, true)).toBe(6)
    const out = new Uint8Array(14)
    expect(Frame.encodeHeader(out, 0, true, false, 2, 2 ** 40 + 5, true, 0x04030201)).toBe(14)
    expect([...out]).toEqual([0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 5, 1, 2, 3, 4])
  })

  it("round-trips headers through decodeHeader", () => {
    fc.assert(
      fc.property(arbFrame, (f) => {
        const bytes = encode(f)
        const r = Frame.decodeHeader(bytes)
        expect(r._tag).toBe("Header")
        if (r._tag !== "Header") return
        const { payload, ...header } = f
        expect(r.header).toEqual({ ...header, length: payload.length })
      }),
      { numRuns: 300 }
    )
  })

  it("rejects 64-bit lengths with the top bit set or above 2^53 - 1", () => {
    const big = Uint8Array.from([0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1])
    expect(Frame.decodeHeader(big)._tag).toBe("Invalid")
    const above = Uint8Array.from([0x82, 0x7f, 0, 0x20, 0, 0, 0, 0, 0, 0])
    expect(Frame.decodeHeader(above)._tag).toBe("Invalid")
    const max = Uint8Array.from([0x82, 0x7f, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    const r = Frame.decodeHeader(max)
    expect(r._tag === "Header" && r.header.length).toBe(Number.MAX_SAFE_INTEGER)
  })

  it("classifies opcodes", () => {
    expect([0, 1, 2, 8, 9, 10].map(Frame.isReserved)).toEqual([false, false, false, false, false, false])
    expect([3, 4, 5, 6, 7, 11, 12, 13, 14, 15].every(Frame.isReserved)).toBe(true)
    expect([8, 9, 10, 11].every(Frame.isControl)).toBe(true)
    expect([0, 1, 2, 7].some(Frame.isControl)).toBe(false)
  })
})

describe("FrameParser", () => {
  it("yields the same frames whatever the chunk boundaries", () => {
    fc.assert(
      fc.property(
        fc.array(arbFrame, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (frames, cuts) => {
          const bytes = concatBytes(frames.map(encode))
          same(parseAll(split(bytes, cuts)), frames)
        }
      ),
      { numRuns: 200 }
    )
  })

  it("parses input fed one byte at a time", () => {
    fc.assert(
      fc.property(fc.array(arbFrame.filter((f) => f.payload.length < 300), { minLength: 1, maxLength: 4 }), (frames) => {
        const bytes = concatBytes(frames.map(encode))
        const chunks = Array.from(bytes, (b) => Uint8Array.of(b))
        same(parseAll(chunks), frames)
      }),
      { numRuns: 100 }
    )
  })

  it("reports a zero-length frame that ends the input", () => {
    const bytes = encode({
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      opcode: 8,
      masked: false,
      maskKey: 0,
      payload: new Uint8Array(0)
    })
    expect(parseAll([bytes.subarray(0, 1), bytes.subarray(1)])).toHaveLength(1)
  })

  it("hands out payload as views of the input, not copies", () => {
    const bytes = encode({
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      opcode: 2,
      masked: false,
      maskKey: 0,
      payload: new Uint8Array(1000).fill(7)
    })
    let seen: Uint8Array | undefined
    const parser = new FrameParser({
      onHeader: () => true,
      onPayload: (data) => {
        seen = data
        return true
      },
      onFrameEnd: () => true
    })
    parser.push(bytes)
    expect(seen).toBe(bytes)
  })

  it("stops on an invalid length and when the handler says so", () => {
    const parser = new FrameParser({ onHeader: () => true, onPayload: () => true, onFrameEnd: () => true })
    expect(parser.push(Uint8Array.from([0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1]))).toBe(false)
    expect(parser.error).toMatch(/most significant bit/)
    expect(parser.errorTooBig).toBe(false)
    const tooBig = new FrameParser({ onHeader: () => true, onPayload: () => true, onFrameEnd: () => true })
    expect(tooBig.push(Uint8Array.from([0x82, 0x7f, 0, 0x20, 0, 0, 0, 0, 0, 0]))).toBe(false)
    expect(tooBig.errorTooBig).toBe(true)
    expect(parser.push(Uint8Array.from([0x82, 0]))).toBe(false)

    let headers = 0
    const stopping = new FrameParser({
      onHeader: () => ++headers < 2,
      onPayload: () => true,
      onFrameEnd: () => true
    })
    expect(stopping.push(Uint8Array.from([0x82, 0, 0x82, 0, 0x82, 0]))).toBe(false)
    expect(headers).toBe(2)
    expect(stopping.error).toBeUndefined()
  })
})
