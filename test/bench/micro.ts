/**
 * Micro-benchmarks, one group per process:
 *
 *   node --import tsx test/bench/micro.ts --group mask|utf8 [--sizes 16,1024,...] [--sample-ms 20]
 *
 * Each (implementation, size) is calibrated to a sample of about `sample-ms`,
 * warmed up, then timed 5 times; the median sample's GB/s (10^9 B/s) is
 * printed as one JSON line. Buffers are re-used (cache-hot), like a payload
 * just read from a socket.
 */
import { isUtf8 } from "node:buffer"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { performance } from "node:perf_hooks"
import { maskJs } from "../../src/internal/mask.js"
import { makeWasmCodec } from "../../src/internal/wasmCodec.js"
import { isValidUtf8, Utf8Validator } from "../../src/Utf8.js"
import { exitWithParent, numberFlag, parseArgs } from "./child.js"

export interface MicroResult {
  readonly group: string
  readonly impl: string
  readonly input?: string
  readonly size: number
  /** GB/s, or NaN with `skipped` set. */
  readonly gbps: number
  readonly skipped?: string
}

type Op = () => void

/** Median GB/s of `op` processing `size` bytes per call. */
const measure = (op: Op, size: number, sampleMs: number): number => {
  // Calibrate: grow the iteration count until one sample takes ≥ sampleMs / 4.
  let iters = 1
  for (;;) {
    const t0 = performance.now()
    for (let i = 0; i < iters; i++) op()
    const dt = performance.now() - t0
    if (dt >= sampleMs / 4) {
      iters = Math.max(1, Math.round((iters * sampleMs) / dt))
      break
    }
    iters *= 4
  }
  const samples: Array<number> = []
  for (let s = 0; s < 6; s++) {
    const t0 = performance.now()
    for (let i = 0; i < iters; i++) op()
    const dt = performance.now() - t0
    if (s > 0) samples.push((size * iters) / (dt / 1000) / 1e9) // sample 0 is warm-up
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN
}

interface BufferUtil {
  readonly mask: (source: Buffer, mask: Buffer, output: Buffer, offset: number, length: number) => void
  readonly unmask: (buffer: Buffer, mask: Buffer) => void
}

const require_ = createRequire(import.meta.url)

const maskGroup = (sizes: ReadonlyArray<number>, sampleMs: number): Array<MicroResult> => {
  const out: Array<MicroResult> = []
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78])
  const keyWord = key.readUInt32LE(0)
  const native = require_("bufferutil") as BufferUtil
  const wasm = makeWasmCodec()
  // ws's own dispatcher: bufferutil from 32 B (unmask), a JS loop below.
  // (not in ws's package exports: load it by path)
  const wsUtil = require_(join(dirname(require_.resolve("ws")), "lib", "buffer-util.js")) as BufferUtil
  for (const size of sizes) {
    const data = Buffer.alloc(size, 0x61)
    const dst = Buffer.alloc(size)
    const impls: ReadonlyArray<[string, Op]> = [
      ["ours maskJs (Codec.layerJs, in place)", () => maskJs(data, 0, size, keyWord, 0)],
      ["ours Codec.layerWasm mask (copy in, SIMD, copy out; JS below 256 B)", () => wasm.mask(data, 0, size, keyWord, 0)],
      ["ws unmask with bufferutil (JS below 32 B, in place)", () => wsUtil.unmask(data, key)],
      ["bufferutil.unmask (native, in place)", () => native.unmask(data, key)],
      ["Buffer#copy (memory-bandwidth reference)", () => data.copy(dst, 0, 0, size)]
    ]
    for (const [impl, op] of impls) out.push({ group: "mask", impl, size, gbps: measure(op, size, sampleMs) })
  }
  return out
}

/** Conn's own use: a streaming validator that hands whole runs of ≥ 64 B to `buffer.isUtf8`. */
const connValidator = new Utf8Validator(isUtf8)
const validateAsConn = (b: Uint8Array): boolean => {
  const ok = connValidator.push(b)
  return connValidator.end() && ok
}

/** Text of `size` bytes cut at a character boundary, padded with ASCII. */
const textOf = (unit: string, size: number): Buffer => {
  const out = Buffer.alloc(size, 0x20)
  const u = Buffer.from(unit)
  let o = 0
  while (o < size) {
    // Copy whole characters only: stop before a partial sequence.
    let n = Math.min(u.length, size - o)
    while (n > 0 && n < u.length && ((u[n] ?? 0) & 0xc0) === 0x80) n--
    if (n === 0) break
    u.copy(out, o, 0, n)
    o += n
  }
  if (!isUtf8(out)) throw new Error("test input is not UTF-8")
  return out
}

const utf8Group = (sizes: ReadonlyArray<number>, sampleMs: number): Array<MicroResult> => {
  const out: Array<MicroResult> = []
  const inputs: ReadonlyArray<[string, string]> = [
    ["ascii-json", `{"id":12345,"user":"alice","tags":["a","b"],"active":true,"score":3.25},`],
    ["mixed-utf8", "ascii text, café naïve, Ελληνικά, 日本語のテキスト, emoji 🙂🚀, "]
  ]
  for (const [input, unit] of inputs) {
    for (const size of sizes) {
      const data = textOf(unit, size)
      const impls: ReadonlyArray<[string, (b: Uint8Array) => boolean]> = [
        ["buffer.isUtf8", isUtf8],
        ["ours isValidUtf8 (pure JS, src/Utf8.ts)", isValidUtf8],
        ["ours Utf8Validator + buffer.isUtf8 (as Conn validates)", validateAsConn]
      ]
      for (const [impl, fn] of impls) {
        if (!fn(data)) throw new Error(`${impl} rejects valid UTF-8`)
        out.push({ group: "utf8", impl, input, size, gbps: measure(() => fn(data), size, sampleMs) })
      }
    }
  }
  return out
}

const main = async () => {
  exitWithParent()
  const { flags } = parseArgs(process.argv.slice(2))
  const group = flags.get("group") ?? "mask"
  const sizes = (flags.get("sizes") ?? "16,1024,65536,1048576").split(",").map(Number)
  const sampleMs = numberFlag(flags, "sample-ms", 20)
  const results = group === "mask" ? maskGroup(sizes, sampleMs) : utf8Group(sizes, sampleMs)
  for (const r of results) process.stdout.write(JSON.stringify(r) + "\n")
  process.exit(0)
}

main().catch((e: unknown) => {
  process.stderr.write(`micro: ${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
