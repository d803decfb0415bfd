// The Wasm codec's contexts share their working memory (window, hash chains,
// tables, output): these tests interleave the pushes of several contexts,
// fragmented messages included, and check every stream on its own.
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Deflater, Inflater } from "../src/Codec.js"
import { makeWasmCodec } from "../src/internal/wasmCodec.js"
import { concat, equalBytes, jsonLike, payload, referenceInflate, split, zlibDeflater } from "./wasmData.js"

const MiB = 1 << 20
const TAIL = new Uint8Array([0, 0, 0xff, 0xff])

interface Piece {
  readonly message: number
  readonly data: Uint8Array
  readonly fin: boolean
}

/** Each context's messages cut into pieces, then pushed in an order picked by `schedule`. */
const interleave = (
  queues: ReadonlyArray<Array<Piece>>,
  schedule: ReadonlyArray<number>,
  push: (context: number, piece: Piece) => void
) => {
  const next = queues.map(() => 0)
  const left = () => queues.map((_, i) => i).filter((i) => (next[i] ?? 0) < (queues[i]?.length ?? 0))
  const step = (i: number) => {
    const k = next[i] ?? 0
    next[i] = k + 1
    push(i, queues[i]?.[k] as Piece)
  }
  for (const s of schedule) {
    const open = left()
    if (open.length === 0) break
    step(open[s % open.length] ?? 0)
  }
  for (let open = left(); open.length > 0; open = left()) step(open[0] ?? 0)
}

const toPieces = (messages: ReadonlyArray<readonly [Uint8Array, ReadonlyArray<number>]>): Array<Piece> =>
  messages.flatMap(([m, cuts], message) => {
    const parts = split(m, cuts)
    return parts.map((data, j) => ({ message, data, fin: j === parts.length - 1 }))
  })

const params = fc.record({
  windowBits: fc.integer({ min: 8, max: 15 }),
  level: fc.constantFrom(1, 6, 9),
  noContextTakeover: fc.boolean()
})

describe("wasm contexts taking turns", () => {
  it("deflaters: every stream decodes on its own, never refers farther back than 2^windowBits, and is what the context sends alone", () => {
    const codec = makeWasmCodec()
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(params, fc.array(fc.tuple(payload(6000), fc.array(fc.nat(), { maxLength: 3 })), { minLength: 1, maxLength: 5 })),
          { minLength: 2, maxLength: 4 }
        ),
        fc.array(fc.nat(), { maxLength: 60 }),
        (contexts, schedule) => {
          const defs: Array<Deflater> = contexts.map(([p]) => codec.deflater(p))
          const out = contexts.map(([, messages]) => messages.map(() => [] as Array<Uint8Array>))
          interleave(contexts.map(([, messages]) => toPieces(messages)), schedule, (i, piece) => {
            out[i]?.[piece.message]?.push(defs[i]?.push(piece.data, piece.fin) ?? new Uint8Array(0))
          })
          contexts.forEach(([p, messages], i) => {
            // The same pieces through a deflater of its own: the same bytes.
            const alone = codec.deflater(p)
            const solo = messages.map(() => [] as Array<Uint8Array>)
            for (const piece of toPieces(messages)) solo[piece.message]?.push(alone.push(piece.data, piece.fin))
            alone.free()
            messages.forEach((_, k) => expect(equalBytes(concat(solo[k] ?? []), concat(out[i]?.[k] ?? []))).toBe(true))
            let history: Uint8Array = new Uint8Array(0)
            messages.forEach(([message], k) => {
              const compressed = concat([...(out[i]?.[k] ?? []), TAIL])
              const r = referenceInflate(compressed, p.noContextTakeover ? new Uint8Array(0) : history)
              expect(equalBytes(r.output, message)).toBe(true)
              expect(r.maxDistance).toBeLessThanOrEqual(1 << p.windowBits)
              history = concat([history, message]).subarray(-32768)
            })
            defs[i]?.free()
          })
        }
      ),
      { numRuns: 150 }
    )
  })

  it("inflaters: node:zlib streams pushed in turns, in pieces, inflate to their messages", async () => {
    const codec = makeWasmCodec()
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            params.map((p) => ({ ...p, windowBits: Math.max(9, p.windowBits) })),
            fc.array(fc.tuple(payload(40_000), fc.array(fc.nat(), { maxLength: 4 })), { minLength: 1, maxLength: 5 })
          ),
          { minLength: 2, maxLength: 4 }
        ),
        fc.array(fc.nat(), { maxLength: 60 }),
        async (contexts, schedule) => {
          // Compress every stream first (with references across messages under context takeover).
          const queues: Array<Array<Piece>> = []
          for (const [p, messages] of contexts) {
            const z = zlibDeflater(p)
            const compressed: Array<readonly [Uint8Array, ReadonlyArray<number>]> = []
            for (const [m, cuts] of messages) compressed.push([await z.compress(m), cuts])
            z.close()
            queues.push(toPieces(compressed))
          }
          const infs: Array<Inflater> = contexts.map(([p]) => codec.inflater(p))
          const out = contexts.map(([, messages]) => messages.map(() => [] as Array<Uint8Array>))
          interleave(queues, schedule, (i, piece) => {
            const r = infs[i]?.push(piece.data, piece.fin, MiB)
            expect(r).toBeInstanceOf(Uint8Array)
            out[i]?.[piece.message]?.push(r as Uint8Array)
          })
          contexts.forEach(([, messages], i) => {
            messages.forEach(([message], k) => expect(equalBytes(concat(out[i]?.[k] ?? []), message)).toBe(true))
            infs[i]?.free()
          })
        }
      ),
      { numRuns: 80 }
    )
  })

  it("a large message through the shared window between small messages of other contexts", () => {
    const codec = makeWasmCodec()
    const big = concat([jsonLike(150_000, 1), jsonLike(150_000, 1)])
    const defs = [1, 6].map((level) => codec.deflater({ windowBits: 15, level, noContextTakeover: false }))
    const infs = [0, 1].map(() => codec.inflater({ windowBits: 15, noContextTakeover: false }))
    for (let round = 0; round < 3; round++) {
      const small = jsonLike(700, round)
      // Context 0's big message in pieces, context 1's small messages in between.
      const pieces = split(big, [40_000, 90_000, 200_000])
      const compressed: Array<Uint8Array> = []
      pieces.forEach((piece, j) => {
        compressed.push(defs[0]?.push(piece, j === pieces.length - 1) ?? new Uint8Array(0))
        const c = defs[1]?.push(small, true) ?? new Uint8Array(0)
        expect(equalBytes(infs[1]?.push(c, true, MiB) as Uint8Array, small)).toBe(true)
      })
      const inflated = compressed.map((c, j) => {
        const r = infs[0]?.push(c, j === compressed.length - 1, MiB)
        const c2 = defs[1]?.push(small, true) ?? new Uint8Array(0)
        expect(equalBytes(infs[1]?.push(c2, true, MiB) as Uint8Array, small)).toBe(true)
        return r as Uint8Array
      })
      expect(equalBytes(concat(inflated), big)).toBe(true)
    }
    for (const s of [...defs, ...infs]) s.free()
  })

  it("a push that ends anywhere near the end of the shared window, then another context's", () => {
    const codec = makeWasmCodec()
    const a = codec.deflater({ windowBits: 15, level: 1, noContextTakeover: false })
    const b = codec.deflater({ windowBits: 15, level: 6, noContextTakeover: false })
    const ia = codec.inflater({ windowBits: 15, noContextTakeover: false })
    const ib = codec.inflater({ windowBits: 15, noContextTakeover: false })
    // The same messages through a deflater alone: the same bytes.
    const alone = makeWasmCodec().deflater({ windowBits: 15, level: 1, noContextTakeover: false })
    const source = jsonLike(70_000, 11)
    for (let n = 1; n < 70_000; n += n < 40_000 ? 4999 : 61) {
      const m = source.subarray(0, n)
      const c = a.push(m, true)
      expect(equalBytes(c, alone.push(m, true))).toBe(true)
      expect(equalBytes(ia.push(c, true, MiB) as Uint8Array, m)).toBe(true)
      const small = jsonLike(300, n)
      expect(equalBytes(ib.push(b.push(small, true), true, MiB) as Uint8Array, small)).toBe(true)
    }
    for (const s of [a, b, ia, ib, alone]) s.free()
  })

  it("memory per context: what survives a message, and nothing without context takeover", () => {
    const message = jsonLike(1000, 5)
    const cases: ReadonlyArray<readonly [number, number, number, number]> = [
      // windowBits, level, deflater bytes, inflater bytes
      [15, 1, 64 + 2048, 960 + 32768],
      [15, 6, 64 + 4096, 960 + 32768],
      [12, 1, 64 + 2048, 960 + 4096],
      [10, 6, 64 + 1024, 960 + 1024],
      [8, 1, 64 + 256, 960 + 512]
    ]
    for (const [windowBits, level, defBytes, infBytes] of cases) {
      // A fresh instance each time: no block comes from a free list.
      const codec = makeWasmCodec()
      const top = () => codec.exports.heapTop()
      const t0 = top()
      const def = codec.deflater({ windowBits, level, noContextTakeover: false })
      const c = def.push(message, true)
      expect(top() - t0).toBe(defBytes)
      const inf = codec.inflater({ windowBits, noContextTakeover: false })
      expect(equalBytes(inf.push(c, true, MiB) as Uint8Array, message)).toBe(true)
      expect(top() - t0).toBe(defBytes + infBytes)
      def.free()
      inf.free()
    }
    // Without context takeover, a context gives its block back at the end of each message:
    // 50 such pairs used one after the other take one block each, once.
    const codec = makeWasmCodec()
    const top = () => codec.exports.heapTop()
    const idle: Array<readonly [Deflater, Inflater]> = []
    const t1 = top()
    for (let i = 0; i < 50; i++) {
      const def = codec.deflater({ windowBits: 15, level: 6, noContextTakeover: true })
      const inf = codec.inflater({ windowBits: 15, noContextTakeover: true })
      for (let k = 0; k < 2; k++) {
        expect(equalBytes(inf.push(def.push(message, true), true, MiB) as Uint8Array, message)).toBe(true)
      }
      idle.push([def, inf])
    }
    expect(top() - t1).toBeLessThanOrEqual(64 + 4096 + 960 + 32768)
    for (const [def, inf] of idle) {
      def.free()
      inf.free()
    }
  })
})
