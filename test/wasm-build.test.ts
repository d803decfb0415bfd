import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { buildWasm } from "../src/wasm/build.js"
import * as Codec from "../src/Codec.js"
import { wasmBytes } from "../src/internal/wasmCodec.js"

describe("wasm module", () => {
  it("embeds exactly what a fresh build of src/wasm/assembly produces", () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "ews-wasm-test-"))
    try {
      const fresh = buildWasm(dir)
      const embedded = wasmBytes()
      // On failure: run `npm run build:wasm` and commit src/internal/wasmBytes.ts.
      expect(fresh.length).toBe(embedded.length)
      expect(Buffer.from(fresh).equals(Buffer.from(embedded))).toBe(true)
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)

  it("imports nothing and is provided by Codec.layerWasm", async () => {
    const module = new WebAssembly.Module(wasmBytes())
    expect(WebAssembly.Module.imports(module)).toEqual([])
    const service = await Effect.runPromise(Effect.provide(Codec.Codec, Codec.layerWasm))
    expect(service.name).toBe("wasm")
    const data = new Uint8Array(1000).fill(0x5a)
    service.mask(data, 0, data.length, 0x5a5a5a5a, 0)
    expect(data.every((b) => b === 0)).toBe(true)
  })
})
