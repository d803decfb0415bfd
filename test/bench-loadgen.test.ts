import * as fc from "fast-check"
import { constants, inflateRawSync } from "node:zlib"
import { describe, expect, it } from "vitest"
import { concatBytes } from "./util/bytes.js"
import { binaryPool, deflatePool, jsonLike, maskedHeader } from "./bench/loadgen.js"
import {
  acceptKey,
  buildFrame,
  checkUpgrade,
  closePayload,
  FrameScanner,
  Opcode,
  parseClose,
  parseUpgradeResponse
} from "./bench/wire.js"


/** Feeds `stream` to `scanner` cut at `cuts` (positions, any order); returns completed-message counts per push. */
const feed = (scanner: FrameScanner, stream: Uint8Array, cuts: ReadonlyArray<number>): number => {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b)
  let prev = 0
  let done = 0
  for (const p of [...points, stream.length]) {
    done += scanner.push(stream.subarray(prev, p))
    prev = p
  }
  return done
}

const unmask = (frame: Uint8Array, headerLen: number): Uint8Array => {
  const key = frame.subarray(headerLen - 4, headerLen)
  return frame.subarray(headerLen).map((b, i) => b ^ (key[i & 3] ?? 0))
}

// Lengths around every boundary of the 7-bit / 16-bit / 64-bit length encodings.
const lengthArb = fc.oneof(
  fc.integer({ min: 0, max: 200 }),
  fc.constantFrom(125, 126, 127, 65535, 65536, 70000)
)

interface Msg {
  readonly opcode: number
  readonly payload: Uint8Array
  /** Frame sizes the payload is split into (the last frame takes the rest). */
  readonly fragments: number
  readonly masked: boolean
  readonly pingBefore: Uint8Array | undefined
}

/** Payload bytes from a seed: generating 70,000 arbitrary bytes one by one is slow. */
const payloadArb: fc.Arbitrary<Uint8Array> = fc.tuple(lengthArb, fc.integer()).map(([n, seed]) => {
  const out = new Uint8Array(n)
  let x = seed | 1
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0
    out[i] = x >>> 24
  }
  return out
})

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)

const msgArb: fc.Arbitrary<Msg> = fc.record({
  opcode: fc.constantFrom(Opcode.Text, Opcode.Binary),
  payload: payloadArb,
  fragments: fc.integer({ min: 1, max: 3 }),
  masked: fc.boolean(),
  pingBefore: fc.option(fc.uint8Array({ maxLength: 125 }), { nil: undefined })
})

const framesOf = (m: Msg, key: Uint8Array): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  const maskKey = m.masked ? key : undefined
  const step = Math.max(1, Math.ceil(m.payload.length / m.fragments))
  let first = true
  for (let o = 0; first || o < m.payload.length; o += step) {
    const part = m.payload.subarray(o, Math.min(o + step, m.payload.length))
    const fin = o + step >= m.payload.length
    // A control frame may sit between the fragments of a message.
    if (m.pingBefore !== undefined && !first) out.push(buildFrame(Opcode.Ping, m.pingBefore, maskKey ? { maskKey } : {}))
    out.push(buildFrame(first ? m.opcode : Opcode.Continuation, part, { fin, ...(maskKey ? { maskKey } : {}) }))
    first = false
  }
  if (m.pingBefore !== undefined && out.length === 1) out.unshift(buildFrame(Opcode.Ping, m.pingBefore, maskKey ? { maskKey } : {}))
  return out
}

describe("bench load generator: frames", () => {
  it("computes the RFC 6455 §1.3 accept key", () => {
    expect(acceptKey("dGhlIHNhbXBsZSBub25jZQ==")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
  })

  it("builds frames the scanner reads back, at any chunk boundaries", () => {
    fc.assert(
      fc.property(
        fc.array(msgArb, { minLength: 1, maxLength: 5 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (msgs, key, cuts) => {
          const frames = msgs.flatMap((m) => framesOf(m, key))
          const stream = concatBytes(frames)
          const scanner = new FrameScanner()
          const pings: Array<Uint8Array> = []
          scanner.onControl = (opcode, payload) => {
            expect(opcode).toBe(Opcode.Ping)
            pings.push(payload)
          }
          const done = feed(scanner, stream, cuts)
          expect(scanner.error).toBeUndefined()
          expect(done).toBe(msgs.length)
          expect(scanner.messages).toBe(msgs.length)
          expect(scanner.payloadBytes).toBe(msgs.reduce((n, m) => n + m.payload.length, 0))
          // frames[i][0] exists: every frame has a header.
          expect(pings.length).toBe(frames.filter((f) => (f[0]! & 0x0f) === Opcode.Ping).length)
          const sent = msgs.flatMap((m) => (m.pingBefore === undefined ? [] : [m.pingBefore]))
          for (const p of pings) expect(sent).toContainEqual(p)
          const last = msgs[msgs.length - 1]
          expect(scanner.lastLength).toBe(last?.payload.length)
          expect(scanner.lastOpcode).toBe(last?.opcode)
        }
      ),
      { numRuns: 150 }
    )
  })

  it("masks payloads with the key written in the header", () => {
    fc.assert(
      fc.property(payloadArb, fc.uint8Array({ minLength: 4, maxLength: 4 }), (payload, key) => {
        const frame = buildFrame(Opcode.Binary, payload, { maskKey: key })
        const headerLen = frame.length - payload.length
        expect(frame[1]! & 0x80).toBe(0x80) // masked bit; index 1 exists: a frame has ≥ 2 header bytes
        expect(frame.subarray(headerLen - 4, headerLen)).toEqual(key)
        expect(same(unmask(frame, headerLen), payload)).toBe(true)
      }),
      { numRuns: 100 }
    )
  })

  it("copies pre-masked payloads as they are", () => {
    const wire = Uint8Array.of(1, 2, 3, 4, 5)
    const frame = buildFrame(Opcode.Binary, wire, { maskKey: Uint8Array.of(9, 9, 9, 9), premasked: true })
    expect(frame.subarray(2, 6)).toEqual(Uint8Array.of(9, 9, 9, 9))
    expect(frame.subarray(6)).toEqual(wire)
  })

  it("flags replies of the wrong length or type, and reads close frames", () => {
    const scanner = new FrameScanner()
    scanner.expectLength = 3
    scanner.expectOpcode = Opcode.Binary
    let close: { code: number; reason: string } | undefined
    scanner.onControl = (opcode, payload) => {
      if (opcode === Opcode.Close) close = parseClose(payload)
    }
    expect(scanner.push(buildFrame(Opcode.Binary, new Uint8Array(3)))).toBe(1)
    expect(scanner.error).toBeUndefined()
    scanner.push(buildFrame(Opcode.Close, closePayload(1009, "too big")))
    expect(close).toEqual({ code: 1009, reason: "too big" })
    scanner.push(buildFrame(Opcode.Text, new Uint8Array(3)))
    expect(scanner.error).toMatch(/opcode 1/)
  })

  it("pre-builds pools of identical binary frames", () => {
    const key = Uint8Array.of(1, 2, 3, 4)
    const pool = binaryPool(1000, 5, key)
    expect(pool.count).toBe(5)
    const scanner = new FrameScanner()
    scanner.expectLength = 1000
    scanner.expectOpcode = Opcode.Binary
    expect(scanner.push(pool.buf)).toBe(5)
    expect(scanner.error).toBeUndefined()
    const first = pool.buf.subarray(pool.offsets[0], pool.offsets[1])
    expect(pool.buf.subarray(pool.offsets[4], pool.offsets[5])).toEqual(first)
  })

  it("sends large frames as a masked header plus the shared payload", () => {
    const key = Uint8Array.of(5, 6, 7, 8)
    for (const size of [65536, 1 << 20]) {
      const header = maskedHeader(size, key)
      expect(header.subarray(header.length - 4)).toEqual(Buffer.from(key))
      const scanner = new FrameScanner()
      scanner.expectLength = size
      scanner.expectOpcode = Opcode.Binary
      expect(scanner.push(header) + scanner.push(new Uint8Array(size))).toBe(1)
      expect(scanner.error).toBeUndefined()
    }
  })

  it("pre-compresses distinct JSON-like messages that inflate back", () => {
    const key = Uint8Array.of(9, 8, 7, 6)
    const pool = deflatePool(1024, 4, key)
    expect(pool.count).toBe(128) // ≥ 128 KiB of distinct text
    const scanner = new FrameScanner()
    expect(scanner.push(pool.buf)).toBe(128)
    expect(scanner.compressedMessages).toBe(128)
    for (const i of [0, 1, 127]) {
      const frame = pool.buf.subarray(pool.offsets[i], pool.offsets[i + 1])
      const payloadLen = frame.length - ((frame[1]! & 0x7f) < 126 ? 6 : 8) // frame[1] exists: frames have headers
      const data = unmask(frame, frame.length - payloadLen)
      // Each message was compressed on its own, ending with a sync flush (RFC 7692 §7.2.1).
      const text = inflateRawSync(concatBytes([data, Uint8Array.of(0, 0, 0xff, 0xff)]), { finishFlush: constants.Z_SYNC_FLUSH })
      expect(new Uint8Array(text)).toEqual(jsonLike(1024, i + 1))
    }
    expect(jsonLike(1024, 1)).not.toEqual(jsonLike(1024, 2))
    expect(jsonLike(65536, 3).length).toBe(65536)
  })

  it("parses a 101 response split anywhere and checks its accept key", () => {
    const key = "dGhlIHNhbXBsZSBub25jZQ=="
    const head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`
    const bytes = concatBytes([new TextEncoder().encode(head), buildFrame(Opcode.Text, new TextEncoder().encode("hi"))])
    for (let cut = 0; cut < bytes.length; cut++) {
      const partial = parseUpgradeResponse(bytes.subarray(0, cut))
      if (cut < head.length) expect(partial).toBeUndefined()
    }
    const res = parseUpgradeResponse(bytes)
    expect(res).toBeDefined()
    if (res === undefined) return
    expect(checkUpgrade(res, key)).toBeUndefined()
    expect(checkUpgrade(res, "AAAAAAAAAAAAAAAAAAAAAA==")).toMatch(/Accept/)
    expect(res.rest.length).toBe(4)
  })
})
