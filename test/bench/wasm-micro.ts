// WebAssembly codec micro-benchmark: `npx tsx test/bench/wasm-micro.ts [--quick]`.
// Masking GB/s, deflate/inflate MB/s and msgs/s against node:zlib's synchronous
// one-shot calls at the same level; prints markdown tables. Each cell is the
// median of several timed samples after a warm-up (one process, no pinning).
import * as Zlib from "node:zlib"
import { maskJs } from "../../src/internal/mask.js"
import type { Deflater, Inflater } from "../../src/Codec.js"
import { makeWasmCodec, MASK_WASM_MIN } from "../../src/internal/wasmCodec.js"
import { jsonLike } from "../wasmData.js"

const quick = process.argv.includes("--quick")
const ROUNDS = quick ? 5 : 11
const ROUND_MS = quick ? 30 : 60

// The machine is shared: rates are operations per CPU-second of this process,
// and the implementations of one table row group are measured interleaved
// (round-robin, ROUNDS rounds of ROUND_MS CPU-ms each), reporting the median.
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const compare = (fs: ReadonlyArray<() => void>): Array<number> => {
  // Warm up, and size batches so that reading the CPU clock (a system call) costs nothing.
  const batches = fs.map((f) => {
    let n = 0
    const t = performance.now()
    while (performance.now() - t < 20) {
      f()
      n++
    }
    return Math.max(1, Math.ceil(n / 40))
  })
  const samples = fs.map(() => [] as Array<number>)
  for (let r = 0; r < ROUNDS; r++) {
    fs.forEach((f, i) => {
      const batch = batches[i] ?? 1
      let n = 0
      const t = cpuMs()
      let el = 0
      while ((el = cpuMs() - t) < ROUND_MS) {
        for (let k = 0; k < batch; k++) f()
        n += batch
      }
      samples[i]?.push((n * 1000) / el)
    })
  }
  return samples.map((a) => a.sort((x, y) => x - y)[a.length >> 1] ?? 0)
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
const maskImpls: Array<[string, (d: Uint8Array, b: Buffer, n: number) => () => void]> = [
  [`wasm: Codec.mask (incl. copies; JS below ${MASK_WASM_MIN} B)`, (d, _b, n) => () => codec.mask(d, 0, n, key, 1)],
  ["wasm SIMD incl. copies in/out", (d, _b, n) => () => codec.maskWasm(d, 0, n, key, 1)],
  ["wasm SIMD, data in linear memory", (_d, _b, n) => () => ex.mask(scratch, n, key, 1)],
  ["maskJs (JS 32-bit words)", (d, _b, n) => () => maskJs(d, 0, n, key, 1)],
  ["Buffer#copy (reference)", (d, b, n) => () => b.copy(d, 0, 0, n)]
]
const maskTable = (sizes: ReadonlyArray<number>, impls: typeof maskImpls) => {
  const cells = sizes.map((n) => {
    const d = new Uint8Array(n)
    const b = Buffer.alloc(n)
    return compare(impls.map(([, make]) => make(d, b, n))).map((r) => fmt((r * n) / 1e9))
  })
  console.log(`| implementation | ${sizes.map(sizeName).join(" | ")} |`)
  console.log(`|---|${sizes.map(() => "---").join("|")}|`)
  impls.forEach(([name], i) => console.log(`| ${name} | ${cells.map((c) => c[i]).join(" | ")} |`))
}

console.log(`# WebAssembly codec micro-benchmark\n`)
console.log(
  `Node ${process.version}; \`npx tsx test/bench/wasm-micro.ts${quick ? " --quick" : ""}\`. Rates per CPU-second of this process, ` +
    `implementations of a group measured interleaved (${ROUNDS} rounds of ${ROUND_MS} CPU-ms), median.\n`
)
console.log(`## Masking (in place, GB/s)\n`)
maskTable(maskSizes, maskImpls)
console.log(`\nThreshold sweep (GB/s): where the call plus two copies starts to beat the JS loop\n`)
maskTable([16, 64, 128, 192, 256, 384, 512, 1024], [maskImpls[1], maskImpls[3]] as typeof maskImpls)

// ---- permessage-deflate ----
const SYNC = { finishFlush: Zlib.constants.Z_SYNC_FLUSH }
const TAIL = Buffer.from([0, 0, 0xff, 0xff])
const corpus = (size: number) => {
  const count = Math.max(4, Math.ceil((128 * 1024) / size))
  return Array.from({ length: count }, (_, i) => jsonLike(size, i + 1))
}
const cycle = <A>(items: ReadonlyArray<A>, f: (a: A) => void) => {
  let i = 0
  return () => f(items[i++ % items.length] as A)
}

interface Row {
  readonly name: string
  readonly msgs: number
  readonly ratio?: number
}
const groups: Array<[string, number, Array<Row>]> = []
/** Contexts taking turns in the "taking turns" rows. */
const TURNS = 8

for (const level of [1, 6]) {
  for (const size of [1024, 65536]) {
    const msgs = corpus(size)
    const total = msgs.reduce((a, m) => a + m.length, 0)
    const zsize = msgs.reduce((a, m) => a + Zlib.deflateRawSync(m, { level, ...SYNC }).length - 4, 0)
    const ours = (noContextTakeover: boolean) => {
      const def = codec.deflater({ windowBits: 15, level, noContextTakeover })
      const n = msgs.reduce((a, m) => a + def.push(m, true).length, 0)
      def.free()
      return total / n
    }
    // TURNS contexts taking turns, each sending the corpus in order (a server's many connections):
    // every push then starts from the context's own short history, not from the shared window.
    const turns = () => {
      const defs = Array.from({ length: TURNS }, () => codec.deflater({ windowBits: 15, level, noContextTakeover: false }))
      let k = 0
      return {
        push: () => {
          // Context c sends the corpus from message 17c on: no two turns in a row push the same bytes.
          const c = k % TURNS
          const def = defs[c] as Deflater
          const out = def.push(msgs[(Math.floor(k / TURNS) + 17 * c) % msgs.length] as Uint8Array, true)
          k++
          return out
        },
        free: () => defs.forEach((d) => d.free())
      }
    }
    const turnsRatio = (() => {
      const t = turns()
      let n = 0
      for (let i = 0; i < TURNS * msgs.length; i++) n += t.push().length
      t.free()
      return (TURNS * total) / n
    })()
    const fast = codec.deflater({ windowBits: 15, level, noContextTakeover: true })
    const ctx = codec.deflater({ windowBits: 15, level, noContextTakeover: false })
    const many = turns()
    const [zr, wr, tr, mr] = compare([
      cycle(msgs, (m) => Zlib.deflateRawSync(m, { level, ...SYNC })),
      cycle(msgs, (m) => fast.push(m, true)),
      cycle(msgs, (m) => ctx.push(m, true)),
      () => void many.push()
    ])
    fast.free()
    ctx.free()
    many.free()
    groups.push([
      `deflate, level ${level}`,
      size,
      [
        { name: "zlib deflateRawSync one-shot (no takeover)", msgs: zr ?? 0, ratio: total / zsize },
        { name: "wasm deflater (no takeover)", msgs: wr ?? 0, ratio: ours(true) },
        { name: "wasm deflater (context takeover, one context)", msgs: tr ?? 0, ratio: ours(false) },
        { name: `wasm deflater (context takeover, ${TURNS} contexts taking turns)`, msgs: mr ?? 0, ratio: turnsRatio }
      ]
    ])
  }
}

for (const size of [1024, 65536]) {
  const msgs = corpus(size)
  const compressed = msgs.map((m) => {
    const c = Zlib.deflateRawSync(m, { level: 6, ...SYNC })
    return new Uint8Array(c.subarray(0, c.length - 4))
  })
  const withTail = compressed.map((c) => Buffer.concat([c, TAIL]))
  // Context takeover: a stream of our own messages, inflated in order, restarted when it runs out.
  const streamFrom = (first: number) => {
    const def = codec.deflater({ windowBits: 15, level: 6, noContextTakeover: false })
    const out = Array.from({ length: 64 * msgs.length }, (_, k) => def.push(msgs[(k + first) % msgs.length] as Uint8Array, true))
    def.free()
    return out
  }
  const stream = streamFrom(0)
  // For the contexts taking turns: context c inflates the stream that starts at message 17c.
  const streams = Array.from({ length: TURNS }, (_, c) => (c === 0 ? stream : streamFrom(17 * c)))
  const inf = codec.inflater({ windowBits: 15, noContextTakeover: true })
  let tinf = codec.inflater({ windowBits: 15, noContextTakeover: false })
  let k = 0
  // TURNS inflaters taking turns, each on its own stream.
  let infs: Array<Inflater> = []
  let j = 0
  const [zr, wr, tr, mr] = compare([
    cycle(withTail, (c) => Zlib.inflateRawSync(c, SYNC)),
    cycle(compressed, (c) => inf.push(c, true, 1 << 30)),
    () => {
      if (k === stream.length) {
        tinf.free()
        tinf = codec.inflater({ windowBits: 15, noContextTakeover: false })
        k = 0
      }
      tinf.push(stream[k++] as Uint8Array, true, 1 << 30)
    },
    () => {
      if (j === TURNS * stream.length || infs.length === 0) {
        infs.forEach((i) => i.free())
        infs = Array.from({ length: TURNS }, () => codec.inflater({ windowBits: 15, noContextTakeover: false }))
        j = 0
      }
      ;(infs[j % TURNS] as Inflater).push(streams[j % TURNS]?.[Math.floor(j / TURNS)] as Uint8Array, true, 1 << 30)
      j++
    }
  ])
  inf.free()
  tinf.free()
  infs.forEach((i) => i.free())
  groups.push([
    "inflate, level-6 input",
    size,
    [
      { name: "zlib inflateRawSync one-shot", msgs: zr ?? 0 },
      { name: "wasm inflater (no takeover)", msgs: wr ?? 0 },
      { name: "wasm inflater (context takeover, own stream)", msgs: tr ?? 0 },
      { name: `wasm inflater (context takeover, own stream, ${TURNS} contexts taking turns)`, msgs: mr ?? 0 }
    ]
  ])
}

console.log(`\n## permessage-deflate (one message at a time, sync flush, 15 window bits)\n`)
console.log(
  `JSON-like messages cycling through >= 128 KiB of distinct data. "vs zlib": rate over the zlib row of the same group; MB = 10^6 bytes of uncompressed data.\n`
)
console.log(`| operation | size | implementation | msgs/s | MB/s | vs zlib | ratio (in/out) |`)
console.log(`|---|---|---|---|---|---|---|`)
for (const [op, size, out] of groups) {
  const base = out[0]?.msgs ?? 1
  for (const r of out) {
    const vs = r === out[0] ? "" : `${((100 * r.msgs) / base).toFixed(0)}%`
    console.log(
      `| ${op} | ${sizeName(size)} | ${r.name} | ${fmt(r.msgs, 0)} | ${fmt((r.msgs * size) / 1e6, 1)} | ${vs} | ${
        r.ratio === undefined ? "" : r.ratio.toFixed(2)
      } |`
    )
  }
}

// ---- memory ----
{
  // A fresh instance per measurement, so that no block comes from a free list.
  const sizeOf = (use: (codec: ReturnType<typeof makeWasmCodec>) => void) => {
    const mem = makeWasmCodec()
    const top = mem.exports.heapTop()
    use(mem)
    return mem.exports.heapTop() - top
  }
  const message = jsonLike(1000, 1)
  const deflater = (bits: number, level: number) =>
    sizeOf((mem) => void mem.deflater({ windowBits: bits, level, noContextTakeover: false }).push(message, true))
  const inflater = (bits: number) => {
    const mem = makeWasmCodec()
    // The deflater gives its block back at the end of its message: count only the inflater's.
    const c = mem.deflater({ windowBits: bits, level: 1, noContextTakeover: true }).push(message, true)
    const top = mem.exports.heapTop()
    mem.inflater({ windowBits: bits, noContextTakeover: false }).push(c, true, 1 << 20)
    return mem.exports.heapTop() - top
  }
  const shared = makeWasmCodec().exports.heapTop()
  console.log(`\n## Linear memory per compression context (bytes held between messages, with context takeover)\n`)
  console.log(
    `Shared by all contexts of one codec instance (window, hash chains, tables, output, I/O): ${shared} bytes. ` +
      `Without context takeover a context holds nothing between messages (its block goes back to the free list at the end of each message).\n`
  )
  console.log(`| window bits | deflater, levels 1-3 | deflater, levels 4-9 | inflater | both (level 1) |`)
  console.log(`|---|---|---|---|---|`)
  for (let bits = 15; bits >= 8; bits--) {
    const d1 = deflater(bits, 1)
    const d6 = deflater(bits, 6)
    const i = inflater(bits)
    console.log(`| ${bits} | ${d1} | ${d6} | ${i} | ${d1 + i} |`)
  }
}
