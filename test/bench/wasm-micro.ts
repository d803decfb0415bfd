// WebAssembly codec micro-benchmark: `npx tsx test/bench/wasm-micro.ts [--quick]`.
// Masking GB/s, deflate/inflate MB/s and msgs/s against node:zlib's synchronous
// one-shot calls at the same level; prints markdown tables. Each cell is the
// median of several timed samples after a warm-up (one process, no pinning).
import * as Zlib from "node:zlib"
import { maskJs } from "../../src/internal/mask.js"
import { makeWasmCodec, MASK_WASM_MIN } from "../../src/internal/wasmCodec.js"
import { jsonLike } from "../wasmData.js"

const quick = process.argv.includes("--quick")
const SAMPLES = quick ? 3 : 5
const SAMPLE_MS = quick ? 80 : 200

/** Runs `op` in timed batches; returns the median operations per second. */
const rate = (op: () => void): number => {
  let batch = 1
  for (;;) {
    const t = performance.now()
    for (let i = 0; i < batch; i++) op()
    const ms = performance.now() - t
    if (ms >= 20) {
      batch = Math.max(1, Math.round((batch * SAMPLE_MS) / ms))
      break
    }
    batch *= 4
  }
  const rates: Array<number> = []
  for (let s = 0; s < SAMPLES; s++) {
    const t = performance.now()
    for (let i = 0; i < batch; i++) op()
    rates.push((batch * 1000) / (performance.now() - t))
  }
  rates.sort((a, b) => a - b)
  return rates[rates.length >> 1] ?? 0
}

const fmt = (x: number, digits = 2) =>
  x >= 1e5 ? `${(x / 1000).toFixed(0)}k` : x >= 1e4 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(digits)
const sizeName = (n: number) => (n >= 1 << 20 ? `${n >> 20} MiB` : n >= 1024 ? `${n >> 10} KiB` : `${n} B`)

const codec = makeWasmCodec()
const ex = codec.exports
const key = 0x9a3c51e7

// ---- masking ----
const maskSizes = [16, 1024, 65536, 1 << 20]
// Room in linear memory past every allocation, for the "data already in linear memory" row.
const scratch = (() => {
  const at = (ex.heapTop() + 63) & ~63
  const need = at + (1 << 20) + 64 - ex.memory.buffer.byteLength
  if (need > 0) ex.memory.grow(Math.ceil(need / 65536))
  return at
})()
const maskRows: Array<[string, (n: number) => number]> = [
  [
    "wasm: Codec.mask (incl. copies; JS below " + MASK_WASM_MIN + " B)",
    (n) => {
      const d = new Uint8Array(n)
      return rate(() => codec.mask(d, 0, n, key, 1))
    }
  ],
  [
    "wasm SIMD incl. copies in/out",
    (n) => {
      const d = new Uint8Array(n)
      return rate(() => codec.maskWasm(d, 0, n, key, 1))
    }
  ],
  [
    "wasm SIMD, data in linear memory",
    (n) => rate(() => ex.mask(scratch, n, key, 1))
  ],
  [
    "maskJs (JS 32-bit words)",
    (n) => {
      const d = new Uint8Array(n)
      return rate(() => maskJs(d, 0, n, key, 1))
    }
  ],
  [
    "Buffer#copy (reference)",
    (n) => {
      const a = Buffer.alloc(n)
      const b = Buffer.alloc(n)
      return rate(() => a.copy(b))
    }
  ]
]

console.log(`# WebAssembly codec micro-benchmark\n`)
console.log(`Node ${process.version}, ${SAMPLES} samples of ~${SAMPLE_MS} ms per cell (median); \`npx tsx test/bench/wasm-micro.ts${quick ? " --quick" : ""}\`\n`)
console.log(`## Masking (in place, GB/s)\n`)
console.log(`| implementation | ${maskSizes.map(sizeName).join(" | ")} |`)
console.log(`|---|${maskSizes.map(() => "---").join("|")}|`)
for (const [name, f] of maskRows) {
  console.log(`| ${name} | ${maskSizes.map((n) => fmt((f(n) * n) / 1e9)).join(" | ")} |`)
}

const sweep = [16, 32, 64, 128, 192, 256, 384, 512, 1024]
console.log(`\nThreshold sweep (GB/s): where the call plus copies starts to beat the JS loop\n`)
console.log(`| implementation | ${sweep.map(sizeName).join(" | ")} |`)
console.log(`|---|${sweep.map(() => "---").join("|")}|`)
for (const [name, f] of [maskRows[1], maskRows[3]] as const) {
  console.log(`| ${name} | ${sweep.map((n) => fmt((f(n) * n) / 1e9)).join(" | ")} |`)
}

// ---- permessage-deflate ----
const SYNC = { finishFlush: Zlib.constants.Z_SYNC_FLUSH }
const TAIL = Buffer.from([0, 0, 0xff, 0xff])
const corpus = (size: number) => {
  const count = Math.max(4, Math.ceil((128 * 1024) / size))
  return Array.from({ length: count }, (_, i) => jsonLike(size, i + 1))
}

interface Row {
  readonly name: string
  readonly msgs: number
  readonly mbs: number
  readonly ratio?: number
}
const rows: Array<[string, number, Array<Row>]> = []

for (const level of [1, 6]) {
  for (const size of [1024, 65536]) {
    const msgs = corpus(size)
    const out: Array<Row> = []
    const total = msgs.reduce((a, m) => a + m.length, 0)
    let i = 0
    // node:zlib one-shot (no context takeover), the sync baseline.
    const zr = rate(() => {
      Zlib.deflateRawSync(msgs[i++ % msgs.length] as Uint8Array, { level, ...SYNC })
    })
    const zsize = msgs.reduce((a, m) => a + Zlib.deflateRawSync(m, { level, ...SYNC }).length - 4, 0)
    out.push({ name: "zlib deflateRawSync one-shot (no takeover)", msgs: zr, mbs: (zr * size) / 1e6, ratio: total / zsize })
    for (const noContextTakeover of [true, false]) {
      const def = codec.deflater({ windowBits: 15, level, noContextTakeover })
      i = 0
      const r = rate(() => {
        def.push(msgs[i++ % msgs.length] as Uint8Array, true)
      })
      def.free()
      const fresh = codec.deflater({ windowBits: 15, level, noContextTakeover })
      const wsize = msgs.reduce((a, m) => a + fresh.push(m, true).length, 0)
      fresh.free()
      out.push({
        name: `wasm deflater (${noContextTakeover ? "no takeover" : "context takeover"})`,
        msgs: r,
        mbs: (r * size) / 1e6,
        ratio: total / wsize
      })
    }
    rows.push([`deflate, level ${level}`, size, out])
  }
}

for (const size of [1024, 65536]) {
  const msgs = corpus(size)
  const compressed = msgs.map((m) => {
    const c = Zlib.deflateRawSync(m, { level: 6, ...SYNC })
    return new Uint8Array(c.subarray(0, c.length - 4))
  })
  const withTail = compressed.map((c) => Buffer.concat([c, TAIL]))
  const out: Array<Row> = []
  let i = 0
  const zr = rate(() => {
    Zlib.inflateRawSync(withTail[i++ % withTail.length] as Buffer, SYNC)
  })
  out.push({ name: "zlib inflateRawSync one-shot", msgs: zr, mbs: (zr * size) / 1e6 })
  const inf = codec.inflater({ windowBits: 15, noContextTakeover: true })
  i = 0
  const wr = rate(() => {
    inf.push(compressed[i++ % compressed.length] as Uint8Array, true, 1 << 30)
  })
  inf.free()
  out.push({ name: "wasm inflater (no takeover)", msgs: wr, mbs: (wr * size) / 1e6 })
  // Context takeover: a stream of our own messages, inflated in order.
  const def = codec.deflater({ windowBits: 15, level: 6, noContextTakeover: false })
  const stream = Array.from({ length: 64 * msgs.length }, (_, k) => def.push(msgs[k % msgs.length] as Uint8Array, true))
  def.free()
  let k = 0
  let tinf = codec.inflater({ windowBits: 15, noContextTakeover: false })
  const tr = rate(() => {
    if (k === stream.length) {
      tinf.free()
      tinf = codec.inflater({ windowBits: 15, noContextTakeover: false })
      k = 0
    }
    tinf.push(stream[k++] as Uint8Array, true, 1 << 30)
  })
  tinf.free()
  out.push({ name: "wasm inflater (context takeover, own stream)", msgs: tr, mbs: (tr * size) / 1e6 })
  rows.push(["inflate, level-6 input", size, out])
}

console.log(`\n## permessage-deflate (one message at a time, sync flush, 15 window bits)\n`)
console.log(`JSON-like messages cycling through >= 128 KiB of distinct data. "vs zlib" is the wasm rate over the zlib row of the same block.\n`)
console.log(`| operation | size | implementation | msgs/s | MB/s | vs zlib | ratio (in/out) |`)
console.log(`|---|---|---|---|---|---|---|`)
for (const [op, size, out] of rows) {
  const base = out[0]?.msgs ?? 1
  for (const r of out) {
    const vs = r === out[0] ? "" : `${((100 * r.msgs) / base).toFixed(0)}%`
    console.log(
      `| ${op} | ${sizeName(size)} | ${r.name} | ${fmt(r.msgs, 0)} | ${fmt(r.mbs, 1)} | ${vs} | ${r.ratio === undefined ? "" : r.ratio.toFixed(2)} |`
    )
  }
}
