import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as zlib from "node:zlib"
import { type InflateResult, InflateStatus, js } from "../src/Codec.js"
import { compressedCeiling } from "../src/internal/zlib.js"
import { scanMessages } from "./support/deflateScan.js"
import { jsonLike } from "./support/jsonLike.js"
import { splitAt } from "./util/bytes.js"
import { getGc } from "./util/gc.js"

const { Z_SYNC_FLUSH } = zlib.constants
const TAIL = Uint8Array.of(0, 0, 0xff, 0xff)
const enc = (s: string) => new TextEncoder().encode(s)
const hex = (s: string) => Uint8Array.from(s.split(" ").map((b) => parseInt(b, 16)))
const concat = (parts: ReadonlyArray<Uint8Array>) => Buffer.concat(parts)

/** `data` cut at the given points (taken modulo its length), without empty pieces. */
const split = (data: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => splitAt(data, cuts, { empty: false })

/** Byte equality without vitest's element-by-element diff (slow on big buffers). */
const expectSame = (actual: Uint8Array, expected: Uint8Array): void => {
  if (Buffer.compare(actual, expected) === 0) return
  let at = 0
  while (at < actual.length && actual[at] === expected[at]) at++
  expect.fail(`bytes differ at ${at} (lengths ${actual.length} and ${expected.length})`)
}

const bytesOf = (r: InflateResult): Uint8Array => {
  if (typeof r === "number") throw new Error(`inflate failed with status ${r}`)
  return r
}

/** A node:zlib stream used the way `ws` does: write, flush, collect. */
const flushStream = (stream: zlib.DeflateRaw | zlib.InflateRaw) => {
  let chunks: Array<Buffer> = []
  stream.on("data", (c: Buffer) => chunks.push(c))
  return (data: ReadonlyArray<Uint8Array>, kind?: number): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      stream.once("error", reject)
      for (const d of data) stream.write(d)
      const done = () => {
        stream.off("error", reject)
        const out = Buffer.concat(chunks)
        chunks = []
        resolve(out)
      }
      if (kind === undefined) stream.flush(done)
      else stream.flush(kind, done)
    })
}

const words = ["alpha", "beta", "gamma", "delta", "status", "active", "user", "order", "price"]
const jsonArb = fc
  .array(
    fc.record({
      id: fc.nat({ max: 99_999 }),
      name: fc.constantFrom(...words),
      tags: fc.array(fc.constantFrom(...words), { maxLength: 3 }),
      on: fc.boolean()
    }),
    { maxLength: 150 }
  )
  .map((a) => enc(JSON.stringify(a)))
const bigArb = fc.tuple(fc.integer({ min: 20_000, max: 70_000 }), fc.nat()).map(([size, seed]) => jsonLike(size, seed))
const messageArb = fc.oneof(
  { weight: 5, arbitrary: jsonArb },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 3000 }) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 1, arbitrary: bigArb }
)
const sessionArb = fc.record({
  windowBits: fc.integer({ min: 8, max: 15 }),
  level: fc.constantFrom(1, 6),
  noContextTakeover: fc.boolean()
})
const sequenceArb = fc.array(fc.tuple(messageArb, fc.array(fc.nat(), { maxLength: 5 })), { minLength: 1, maxLength: 8 })
const RUNS = 40

describe("Deflater", () => {
  it("is inflated by a node:zlib InflateRaw stream, fragments and all, within its window (property)", async () => {
    await fc.assert(
      fc.asyncProperty(sessionArb, sequenceArb, async (s, sequence) => {
        const deflater = js.deflater(s)
        let peer = zlib.createInflateRaw({ windowBits: s.windowBits })
        let inflate = flushStream(peer)
        const payloads: Array<Uint8Array> = []
        try {
          for (const [message, cuts] of sequence) {
            const pieces = split(message, cuts)
            const payload = concat(pieces.map((p, i) => deflater.push(p, i === pieces.length - 1)))
            payloads.push(payload)
            if (s.noContextTakeover) {
              peer.close()
              peer = zlib.createInflateRaw({ windowBits: s.windowBits })
              inflate = flushStream(peer)
            }
            expectSame(await inflate([payload, TAIL]), message)
          }
        } finally {
          peer.close()
          deflater.free()
        }
        // An independent decoder: no reference reaches past the agreed window
        // (past the message's start without context takeover), and 8 bits
        // means run-length matches only.
        const scan = scanMessages(payloads, !s.noContextTakeover)
        expect(scan.messages.length).toBe(sequence.length)
        scan.messages.forEach((m, k) => expectSame(m, sequence[k]![0]))
        expect(scan.maxDistance).toBeLessThanOrEqual(s.windowBits === 8 ? 1 : 1 << s.windowBits)
      }),
      { numRuns: RUNS }
    )
  })

  it("uses back-references across messages with context takeover, and not without", () => {
    const message = jsonLike(1000, 7)
    for (const noContextTakeover of [false, true]) {
      const d = js.deflater({ windowBits: 15, noContextTakeover, level: 6 })
      const first = d.push(message, true)
      const second = d.push(message, true)
      if (noContextTakeover) expect(second).toEqual(first)
      else expect(second.length).toBeLessThan(first.length / 10)
      d.free()
    }
  })

  it("ends messages per RFC 7692 §7.2.1 and handles empty input", () => {
    const d = js.deflater({ windowBits: 15, noContextTakeover: false, level: 1 })
    expect(d.push(new Uint8Array(0), true)).toEqual(Uint8Array.of(0))
    // a non-final piece ends with the sync flush marker, kept
    const piece = d.push(enc("Hello"), false)
    expect([...piece.subarray(piece.length - 4)]).toEqual([0, 0, 0xff, 0xff])
    expect(d.push(new Uint8Array(0), false).length).toBe(0)
    // an empty final piece closes the message with an empty stored block
    const last = d.push(new Uint8Array(0), true)
    expect(last).toEqual(Uint8Array.of(0))
    expect(zlib.inflateRawSync(concat([piece, last, TAIL]), { finishFlush: Z_SYNC_FLUSH }).toString()).toBe("Hello")
    d.free()
    expect(() => d.push(enc("x"), true)).toThrow(/after free/)
  })

  it("compresses with distance-1 matches only when 8 window bits were agreed", () => {
    const data = jsonLike(20_000, 3)
    const d8 = js.deflater({ windowBits: 8, noContextTakeover: false, level: 6 })
    const d9 = js.deflater({ windowBits: 9, noContextTakeover: false, level: 6 })
    const p8 = [d8.push(data, true), d8.push(data, true)]
    const p9 = [d9.push(data, true), d9.push(data, true)]
    expect(scanMessages(p8, true).maxDistance).toBe(1)
    // the control: zlib with a 9-bit window reaches well past 1
    expect(scanMessages(p9, true).maxDistance).toBeGreaterThan(100)
    // still compresses something
    expect(p8[0]!.length).toBeLessThan(data.length)
  })
})

describe("Inflater", () => {
  it("inflates a node:zlib DeflateRaw stream (write + sync flush, tail stripped), fragments and all (property)", async () => {
    await fc.assert(
      fc.asyncProperty(sessionArb, sequenceArb, async (s, sequence) => {
        const inflater = js.inflater({ windowBits: s.windowBits, noContextTakeover: s.noContextTakeover })
        // windowBits 8 becomes 9 inside Node, as it does for ws
        const open = () => zlib.createDeflateRaw({ windowBits: s.windowBits, level: s.level })
        let peer = open()
        let deflate = flushStream(peer)
        try {
          for (const [message, cuts] of sequence) {
            if (s.noContextTakeover) {
              peer.close()
              peer = open()
              deflate = flushStream(peer)
            }
            const flushed = await deflate([message], Z_SYNC_FLUSH)
            const payload = flushed.subarray(0, flushed.length - 4)
            const pieces = split(payload, cuts)
            const out = pieces.map((p, i) => bytesOf(inflater.push(p, i === pieces.length - 1, message.length)))
            for (const o of out.slice(0, -1)) expect(o.length).toBe(0)
            expectSame(out[out.length - 1]!, message)
          }
        } finally {
          peer.close()
          inflater.free()
        }
      }),
      { numRuns: RUNS }
    )
  })

  it("round-trips our own Deflater with random fragments on both sides (property)", () => {
    fc.assert(
      fc.property(sessionArb, sequenceArb, fc.array(fc.nat(), { maxLength: 4 }), (s, sequence, wireCuts) => {
        const d = js.deflater(s)
        const i = js.inflater({ windowBits: s.windowBits, noContextTakeover: s.noContextTakeover })
        for (const [message, cuts] of sequence) {
          const pieces = split(message, cuts)
          const payload = concat(pieces.map((p, k) => d.push(p, k === pieces.length - 1)))
          const frames = split(payload, wireCuts)
          const out = frames.map((f, k) => bytesOf(i.push(f, k === frames.length - 1, 1 << 20)))
          for (const o of out.slice(0, -1)) expect(o.length).toBe(0)
          expectSame(out[out.length - 1]!, message)
        }
        d.free()
        i.free()
      }),
      { numRuns: RUNS * 2 }
    )
  })

  it("decodes the examples of RFC 7692 §7.2.3", () => {
    const i = js.inflater({ windowBits: 15, noContextTakeover: false })
    const text = (r: InflateResult) => Buffer.from(bytesOf(r)).toString()
    expect(text(i.push(hex("f2 48 cd c9 c9 07 00"), true, 100))).toBe("Hello")
    // the same message again, referring to the first one's window
    expect(text(i.push(hex("f2 00 11 00 00"), true, 100))).toBe("Hello")
    // fragmented
    expect(bytesOf(i.push(hex("f2 48 cd"), false, 100)).length).toBe(0)
    expect(text(i.push(hex("c9 c9 07 00"), true, 100))).toBe("Hello")
    // a stored block
    expect(text(i.push(hex("00 05 00 fa ff 48 65 6c 6c 6f 00"), true, 100))).toBe("Hello")
    // a final (BFINAL) block, then the empty block the sender had to append
    expect(text(i.push(hex("f3 48 cd c9 c9 07 00 00"), true, 100))).toBe("Hello")
    // two blocks in one message
    expect(text(i.push(hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00"), true, 100))).toBe("Hello")
    // an empty message
    expect(bytesOf(i.push(hex("00"), true, 100)).length).toBe(0)
    i.free()
  })

  it("enforces the limit exactly, also across fragments", () => {
    const message = jsonLike(10_000, 1)
    const payload = js.deflater({ windowBits: 15, noContextTakeover: true, level: 1 }).push(message, true)
    const at = (limit: number) => js.inflater({ windowBits: 15, noContextTakeover: true }).push(payload, true, limit)
    expect(bytesOf(at(10_000)).length).toBe(10_000)
    expect(at(9_999)).toBe(InflateStatus.TooBig)
    expect(at(0)).toBe(InflateStatus.TooBig)
    expect(bytesOf(at(Number.POSITIVE_INFINITY)).length).toBe(10_000)
    const i = js.inflater({ windowBits: 15, noContextTakeover: true })
    const pieces = split(payload, [100, 500])
    expect(i.push(pieces[0]!, false, 9_999)).toEqual(new Uint8Array(0))
    expect(i.push(pieces[1]!, false, 9_999)).toEqual(new Uint8Array(0))
    expect(i.push(pieces[2]!, true, 9_999)).toBe(InflateStatus.TooBig)
  })

  it("stops a zip bomb at the limit: 64 MiB of zeros in a few KB", () => {
    const bomb = zlib.deflateRawSync(Buffer.alloc(64 << 20), { level: 9, finishFlush: Z_SYNC_FLUSH })
    const payload = bomb.subarray(0, bomb.length - 4)
    expect(payload.length).toBeLessThan(70_000)
    for (const fragmented of [false, true]) {
      const i = js.inflater({ windowBits: 15, noContextTakeover: false })
      const before = process.memoryUsage().arrayBuffers
      let r: InflateResult = new Uint8Array(0)
      const pieces = fragmented ? split(payload, [4096, 8192, 30_000]) : [payload]
      pieces.forEach((p, k) => {
        r = i.push(p, k === pieces.length - 1, 32_768)
      })
      const grown = process.memoryUsage().arrayBuffers - before
      expect(r).toBe(InflateStatus.TooBig)
      // an unbounded inflate would hold 64 MiB here (no GC ran in between)
      expect(grown).toBeLessThan(4 << 20)
      i.free()
    }
  })

  it("caps the compressed bytes it buffers: a stream of empty blocks", () => {
    const i = js.inflater({ windowBits: 15, noContextTakeover: false })
    const empty = hex("00 00 00 ff ff")
    const limit = 1000
    let pushes = 0
    let r: InflateResult = new Uint8Array(0)
    while (typeof r !== "number" && pushes < 10_000) {
      r = i.push(empty, false, limit)
      pushes++
    }
    expect(r).toBe(InflateStatus.TooBig)
    expect(pushes * empty.length).toBeGreaterThan(compressedCeiling(limit))
    expect((pushes - 1) * empty.length).toBeLessThanOrEqual(compressedCeiling(limit))
    // below the ceiling, empty blocks are fine
    const j = js.inflater({ windowBits: 15, noContextTakeover: false })
    for (let k = 0; k < 100; k++) expect(j.push(empty, false, limit)).toEqual(new Uint8Array(0))
    expect(bytesOf(j.push(hex("f2 48 cd c9 c9 07 00"), true, limit)).length).toBe(5)
  })

  it("reports corrupt and truncated streams, never throwing", () => {
    const corrupt = (payload: Uint8Array, noContextTakeover = false) =>
      js.inflater({ windowBits: 15, noContextTakeover }).push(payload, true, 1 << 20)
    expect(corrupt(hex("ff ff ff"))).toBe(InflateStatus.Corrupt) // block type 3
    expect(corrupt(hex("00 05 00 00 00 48 65"))).toBe(InflateStatus.Corrupt) // stored LEN/NLEN mismatch
    // a reference into history the decoder does not have
    const d = js.deflater({ windowBits: 15, noContextTakeover: false, level: 6 })
    d.push(enc("Hello, hello, hello"), true)
    const second = d.push(enc("Hello, hello, hello"), true)
    expect(corrupt(second, true)).toBe(InflateStatus.Corrupt)
    // truncated messages fail instead of returning a prefix
    const whole = js.deflater({ windowBits: 15, noContextTakeover: true, level: 6 }).push(jsonLike(5000, 2), true)
    expect(bytesOf(corrupt(whole)).length).toBe(5000)
    for (let cut = 1; cut <= 8; cut++) expect(corrupt(whole.subarray(0, whole.length - cut))).toBe(InflateStatus.Corrupt)
    expect(corrupt(whole.subarray(0, whole.length >> 1))).toBe(InflateStatus.Corrupt)
    // trailing data after the tail (a sender that did not strip it)
    expect(corrupt(concat([whole, TAIL]))).toBe(InflateStatus.Corrupt)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
        const r = corrupt(junk)
        expect(typeof r === "number" ? r === InflateStatus.Corrupt : r instanceof Uint8Array).toBe(true)
      })
    )
  })

  it("throws when used after free()", () => {
    const i = js.inflater({ windowBits: 15, noContextTakeover: false })
    i.free()
    expect(() => i.push(hex("00"), true, 10)).toThrow(/after free/)
  })
})


describe("free()", () => {
  it("releases all state: 2,000 sessions created, used, freed", async () => {
    const getGcFn = getGc()
    if (getGcFn === undefined) {
      // Without a way to collect, memory figures mean nothing.
      console.warn("free() leak check skipped: no gc (run node with --expose-gc)")
      return
    }
    // ArrayBuffer memory is released by a sweeper after the collection: let it run.
    const gc = async () => {
      for (let k = 0; k < 3; k++) {
        getGcFn()
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    const message = jsonLike(1024, 5)
    await gc()
    const baseline = process.memoryUsage().arrayBuffers
    const sessions = Array.from({ length: 2000 }, () => ({
      d: js.deflater({ windowBits: 15, noContextTakeover: false, level: 1 }),
      i: js.inflater({ windowBits: 15, noContextTakeover: false })
    }))
    for (const s of sessions) bytesOf(s.i.push(s.d.push(message, true), true, 1 << 20))
    await gc()
    const held = process.memoryUsage().arrayBuffers - baseline
    // 2,000 × (32 KiB inflate window + 4 KiB deflate history): the test can fail
    expect(held).toBeGreaterThan(2000 * 32 * 1024)
    for (const s of sessions) {
      s.d.free()
      s.i.free()
    }
    await gc()
    // The session objects are still referenced; only their state must be gone.
    expect(process.memoryUsage().arrayBuffers - baseline).toBeLessThan(4 << 20)
    expect(sessions.length).toBe(2000)
  })
})
