import { describe, expect, it } from "vitest"
import { makeWasmCodec } from "../src/internal/wasmCodec.js"
import { jsonLike } from "./wasmData.js"

describe("wasm codec memory", () => {
  it("returns the state of 2,000 freed sessions to its free lists: linear memory stops growing", () => {
    const codec = makeWasmCodec()
    const mem = codec.exports.memory
    const message = jsonLike(3000, 1)
    let afterWarmup = 0
    let topAfterWarmup = 0
    for (let i = 0; i < 2000; i++) {
      // Every window size and both kinds, a few sessions alive at once.
      const live = [9, 12, 15].map((bits) => {
        const windowBits = bits + (i % 3) - 1
        return {
          def: codec.deflater({ windowBits, level: i % 2 === 0 ? 1 : 6, noContextTakeover: i % 4 === 0 }),
          inf: codec.inflater({ windowBits, noContextTakeover: i % 4 === 0 })
        }
      })
      for (const { def, inf } of live) {
        for (let k = 0; k < 2; k++) {
          const r = inf.push(def.push(message, true), true, 1 << 20)
          expect(r).toBeInstanceOf(Uint8Array)
        }
      }
      for (const { def, inf } of live) {
        def.free()
        inf.free()
      }
      if (i === 99) {
        afterWarmup = mem.buffer.byteLength
        topAfterWarmup = codec.exports.heapTop()
      }
    }
    expect(afterWarmup).toBeGreaterThan(0)
    expect(mem.buffer.byteLength).toBe(afterWarmup)
    expect(codec.exports.heapTop()).toBe(topAfterWarmup)
  })

  it("allocates nothing before the first push and nothing after free", () => {
    const codec = makeWasmCodec()
    const top = codec.exports.heapTop()
    const def = codec.deflater({ windowBits: 15, level: 6, noContextTakeover: false })
    const inf = codec.inflater({ windowBits: 15, noContextTakeover: false })
    expect(codec.exports.heapTop()).toBe(top)
    inf.push(def.push(jsonLike(100, 2), true), true, 1000)
    const used = codec.exports.heapTop()
    expect(used).toBeGreaterThan(top)
    def.free()
    inf.free()
    // The same sizes come back from the free lists.
    const def2 = codec.deflater({ windowBits: 15, level: 6, noContextTakeover: false })
    const inf2 = codec.inflater({ windowBits: 15, noContextTakeover: false })
    inf2.push(def2.push(jsonLike(100, 3), true), true, 1000)
    expect(codec.exports.heapTop()).toBe(used)
    def2.free()
    inf2.free()
  })
})
