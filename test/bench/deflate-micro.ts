/**
 * permessage-deflate micro-benchmark: our synchronous node:zlib Deflater /
 * Inflater (src/internal/zlib.ts) against the approach of `ws` (one
 * persistent DeflateRaw / InflateRaw stream per connection, write +
 * flush(Z_SYNC_FLUSH) per message, asynchronous), one message at a time, on
 * JSON-like messages of 1 KiB and 64 KiB cycling through 256 KiB of distinct
 * data. Prints markdown tables.
 *
 *   npx tsx test/bench/deflate-micro.ts [--rounds 7] [--ms 150] [--warm 50]
 *
 * Each figure is the median of `rounds` timed windows of `ms` milliseconds,
 * the cases interleaved round by round, each window after `warm` ms of
 * untimed run-in (the machine is shared: the spread
 * column shows min–max). "msgs per CPU-second" divides by the process's CPU
 * time (all threads, so the zlib thread pool counts for the async rows): it
 * is the cost per message, and stays meaningful on a loaded machine.
 */
import * as zlib from "node:zlib"
import { js } from "../../src/Codec.js"
import { DICTIONARY_BYTES } from "../../src/internal/zlib.js"
import { jsonLikeMessages } from "../support/jsonLike.js"
import { getGc } from "../util/gc.js"

const { Z_SYNC_FLUSH } = zlib.constants
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff])

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const ROUNDS = arg("rounds", 7)
const WINDOW_MS = arg("ms", 150)
const WARM_MS = arg("warm", 50)

// ---------------------------------------------------------------------------
// ws's approach, written from its description: one stream per direction,
// write + flush per message, the 4-byte tail cut (compress) or appended
// (decompress); without context takeover the stream is closed after each
// message and a new one made for the next.
// ---------------------------------------------------------------------------

class StreamDeflater {
  private stream: zlib.DeflateRaw | undefined
  private chunks: Array<Buffer> = []
  constructor(
    private readonly level: number,
    private readonly noContextTakeover: boolean,
    private readonly windowBits = 15
  ) {}
  compress(data: Uint8Array): Promise<Buffer> {
    if (this.stream === undefined) {
      this.stream = zlib.createDeflateRaw({ level: this.level, windowBits: this.windowBits })
      this.stream.on("data", (c: Buffer) => this.chunks.push(c))
    }
    const stream = this.stream
    stream.write(data)
    return new Promise((resolve) => {
      stream.flush(Z_SYNC_FLUSH, () => {
        const out = Buffer.concat(this.chunks)
        this.chunks = []
        if (this.noContextTakeover) {
          stream.close()
          this.stream = undefined
        }
        resolve(out.subarray(0, out.length - 4))
      })
    })
  }
  close(): void {
    this.stream?.close()
  }
}

class StreamInflater {
  private stream: zlib.InflateRaw | undefined
  private chunks: Array<Buffer> = []
  constructor(private readonly noContextTakeover: boolean, private readonly windowBits = 15) {}
  decompress(data: Uint8Array): Promise<Buffer> {
    if (this.stream === undefined) {
      this.stream = zlib.createInflateRaw({ windowBits: this.windowBits })
      this.stream.on("data", (c: Buffer) => this.chunks.push(c))
    }
    const stream = this.stream
    stream.write(data)
    stream.write(TAIL)
    return new Promise((resolve) => {
      stream.flush(() => {
        const out = Buffer.concat(this.chunks)
        this.chunks = []
        if (this.noContextTakeover) {
          stream.close()
          this.stream = undefined
        }
        resolve(out)
      })
    })
  }
  close(): void {
    this.stream?.close()
  }
}

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

interface Case {
  readonly name: string
  /** One message; returns the compressed bytes produced, if any. */
  readonly run: (i: number) => number | Promise<number>
  readonly async: boolean
  readonly bytesIn: number
  readonly cleanup?: () => void
  rates: Array<number>
  /** Messages per second of this process's CPU time (all threads). */
  cpuRates: Array<number>
  produced: number
  consumed: number
}

const makeCase = (
  name: string,
  bytesIn: number,
  run: (i: number) => number | Promise<number>,
  async: boolean,
  cleanup?: () => void
): Case => ({ name, run, async, bytesIn, rates: [], cpuRates: [], produced: 0, consumed: 0, ...(cleanup ? { cleanup } : {}) })

const measure = async (c: Case, counter: { i: number }): Promise<void> => {
  // Untimed run-in: the cases before this one changed the heap (V8 may have
  // given pages back), and the first calls after that page-fault.
  const w0 = performance.now()
  while (performance.now() - w0 < WARM_MS) await c.run(counter.i++)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let n = 0
  let now = t0
  if (c.async) {
    do {
      for (let k = 0; k < 4; k++) {
        c.produced += await c.run(counter.i++)
        c.consumed += c.bytesIn
        n++
      }
      now = performance.now()
    } while (now - t0 < WINDOW_MS)
  } else {
    do {
      for (let k = 0; k < 8; k++) {
        c.produced += c.run(counter.i++) as number
        c.consumed += c.bytesIn
        n++
      }
      now = performance.now()
    } while (now - t0 < WINDOW_MS)
  }
  c.rates.push((n * 1000) / (now - t0))
  const cpu = process.cpuUsage(cpu0)
  c.cpuRates.push((n * 1e6) / Math.max(1, cpu.user + cpu.system))
}

const runAll = async (cases: ReadonlyArray<Case>): Promise<void> => {
  const counters = cases.map(() => ({ i: 0 }))
  // warm-up
  for (const [k, c] of cases.entries()) {
    for (let j = 0; j < 50; j++) await c.run(counters[k]!.i++)
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, c] of cases.entries()) await measure(c, counters[k]!)
  }
  for (const c of cases) c.cleanup?.()
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1] ?? 0
}
const fmt = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(1)}k` : `${Math.round(x)}`)
const spread = (xs: ReadonlyArray<number>): string => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`

// ---------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------

const SIZES = [1024, 64 * 1024] as const
const TOTAL = 256 * 1024
const data = new Map(SIZES.map((size) => [size, jsonLikeMessages(size, TOTAL)]))

/** What a peer sends: node's stream at level 6 (the zlib default), in order. */
const peerPayloads = async (messages: ReadonlyArray<Uint8Array>, noContextTakeover: boolean, windowBits = 15) => {
  const d = new StreamDeflater(6, noContextTakeover, windowBits)
  const out: Array<Buffer> = []
  for (const m of messages) out.push(await d.compress(m))
  d.close()
  return out
}

const LIMIT = 1 << 20

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

const compressCases = (size: number): Array<Case> => {
  const msgs = data.get(size as 1024)!
  const out: Array<Case> = []
  for (const level of [1, 6]) {
    for (const nct of [false, true]) {
      const ctx = nct ? "no takeover" : "takeover"
      const d = js.deflater({ windowBits: 15, noContextTakeover: nct, level })
      out.push(makeCase(`ours, sync | ${level} | ${ctx}`, size, (i) => d.push(msgs[i % msgs.length]!, true).length, false, d.free))
      const w = new StreamDeflater(level, nct)
      out.push(
        makeCase(`ws-style stream, async | ${level} | ${ctx}`, size, async (i) => (await w.compress(msgs[i % msgs.length]!)).length, true, () => w.close())
      )
    }
  }
  return out
}

const decompressCases = async (size: number): Promise<Array<Case>> => {
  const msgs = data.get(size as 1024)!
  const out: Array<Case> = []
  for (const [nct, bits] of [[false, 15], [true, 15], [false, 12]] as const) {
    const ctx = `${nct ? "no takeover" : "takeover"}${bits === 15 ? "" : `, ${bits}-bit window`}`
    const payloads = await peerPayloads(msgs, nct, bits)
    const inf = js.inflater({ windowBits: bits, noContextTakeover: nct })
    out.push(
      makeCase(`ours, sync | (6) | ${ctx}`, size, (i) => {
        const r = inf.push(payloads[i % payloads.length]!, true, LIMIT)
        if (typeof r === "number") throw new Error(`inflate failed: ${r}`)
        return 0
      }, false, inf.free)
    )
    const w = new StreamInflater(nct, bits)
    out.push(makeCase(`ws-style stream, async | (6) | ${ctx}`, size, async (i) => {
      await w.decompress(payloads[i % payloads.length]!)
      return 0
    }, true, () => w.close()))
  }
  return out
}

const echoCases = async (size: number): Promise<Array<Case>> => {
  const msgs = data.get(size as 1024)!
  const out: Array<Case> = []
  for (const nct of [false, true]) {
    const ctx = nct ? "no takeover" : "takeover"
    const payloads = await peerPayloads(msgs, nct)
    for (const level of [1, 6]) {
      const inf = js.inflater({ windowBits: 15, noContextTakeover: nct })
      const d = js.deflater({ windowBits: 15, noContextTakeover: nct, level })
      out.push(
        makeCase(`ours, sync | ${level} | ${ctx}`, size, (i) => {
          const r = inf.push(payloads[i % payloads.length]!, true, LIMIT)
          if (typeof r === "number") throw new Error(`inflate failed: ${r}`)
          return d.push(r, true).length
        }, false, () => {
          inf.free()
          d.free()
        })
      )
      const wi = new StreamInflater(nct)
      const wd = new StreamDeflater(level, nct)
      out.push(
        makeCase(`ws-style stream, async | ${level} | ${ctx}`, size, async (i) => {
          const m = await wi.decompress(payloads[i % payloads.length]!)
          return (await wd.compress(m)).length
        }, true, () => {
          wi.close()
          wd.close()
        })
      )
    }
  }
  return out
}

/** Context takeover through a raw deflateRawSync call with `dict` bytes of history. */
const dictionaryCases = (): Array<Case> => {
  const size = 1024
  const msgs = data.get(size)!
  const all = Buffer.concat(msgs)
  const out: Array<Case> = []
  for (const level of [1, 6]) {
    for (const dict of [0, 2048, 4096, 8192, 16384, 32768]) {
      out.push(
        makeCase(`${level} | ${dict === 0 ? "none" : `${dict / 1024} KiB`}`, size, (i) => {
          const k = i % msgs.length
          const at = k * size
          // the history before message k, wrapping around the cycle
          const history = at >= dict ? all.subarray(at - dict, at) : Buffer.concat([all.subarray(all.length - (dict - at)), all.subarray(0, at)])
          let bits = 9
          while (bits < 15 && 1 << bits < dict + size + 262) bits++
          const options: zlib.ZlibOptions = {
            level,
            windowBits: bits,
            memLevel: Math.min(8, bits - 7),
            finishFlush: Z_SYNC_FLUSH,
            chunkSize: 2048
          }
          if (dict > 0) options.dictionary = history
          return zlib.deflateRawSync(msgs[k]!, options).length - 4
        }, false)
      )
    }
  }
  return out
}

// ---------------------------------------------------------------------------
// Memory per session
// ---------------------------------------------------------------------------


const memoryPerSession = async (): Promise<Array<string>> => {
  const gc = getGc()
  if (gc === undefined) return ["(no gc available: skipped)"]
  const settle = async () => {
    for (let k = 0; k < 3; k++) {
      gc()
      await new Promise((r) => setImmediate(r))
    }
  }
  // zlib's own allocations show in RSS only (Node does not count them as
  // external memory); our histories are ArrayBuffers.
  const snapshot = () => {
    const m = process.memoryUsage()
    return { rss: m.rss, buffers: m.arrayBuffers + m.heapUsed }
  }
  const N = 500
  const msgs = data.get(1024)!
  const payloads = await peerPayloads(msgs.slice(0, 8), false)
  const rows: Array<string> = []
  const row = (name: string, before: { rss: number; buffers: number }) => {
    const after = snapshot()
    const kib = (x: number) => `${(x / N / 1024).toFixed(1)} KiB`
    rows.push(`| ${name} | ${kib(after.rss - before.rss)} | ${kib(after.buffers - before.buffers)} |`)
  }
  {
    await settle()
    const before = snapshot()
    const sessions = Array.from({ length: N }, () => ({
      d: js.deflater({ windowBits: 15, noContextTakeover: false, level: 1 }),
      i: js.inflater({ windowBits: 15, noContextTakeover: false })
    }))
    for (const s of sessions) {
      const r = s.i.push(payloads[0]!, true, LIMIT)
      if (typeof r !== "number") s.d.push(r, true)
    }
    await settle()
    row("ours, takeover both ways", before)
    for (const s of sessions) {
      s.d.free()
      s.i.free()
    }
  }
  {
    await settle()
    const before = snapshot()
    const sessions = Array.from({ length: N }, () => ({ d: new StreamDeflater(1, false), i: new StreamInflater(false) }))
    for (const s of sessions) await s.d.compress(await s.i.decompress(payloads[0]!))
    await settle()
    row("ws-style streams, takeover both ways", before)
    for (const s of sessions) {
      s.d.close()
      s.i.close()
    }
  }
  return rows
}

// ---------------------------------------------------------------------------

const table = (title: string, header: string, cases: ReadonlyArray<Case>, ratio: boolean): void => {
  console.log(`\n### ${title}\n`)
  const columns = header.split("|").length + 3 + (ratio ? 1 : 0)
  console.log(`| ${header} | msgs/s (median) | min–max | msgs per CPU-second |${ratio ? " ratio |" : ""}`)
  console.log(`|${"---|".repeat(columns)}`)
  for (const c of cases) {
    const r = ratio ? ` ${(c.consumed / Math.max(1, c.produced)).toFixed(2)} |` : ""
    console.log(`| ${c.name} | ${fmt(median(c.rates))} | ${spread(c.rates)} | ${fmt(median(c.cpuRates))} |${r}`)
  }
}

const speedup = (cases: ReadonlyArray<Case>): void => {
  // pairs: ours, ws-style, in order
  for (let k = 0; k + 1 < cases.length; k += 2) {
    const ours = cases[k]!
    const ws = cases[k + 1]!
    const label = ours.name.replace("ours, sync | ", "")
    const x = (f: (c: Case) => ReadonlyArray<number>) => (median(f(ours)) / median(f(ws))).toFixed(1)
    console.log(`- ${label}: ours / ws-style = ${x((c) => c.rates)}× (wall clock), ${x((c) => c.cpuRates)}× (CPU time)`)
  }
}

const main = async () => {
  console.log(
    `Node ${process.version}, zlib ${process.versions.zlib}; ${ROUNDS} rounds × ${WINDOW_MS} ms (after ${WARM_MS} ms run-in); compressor dictionary ${DICTIONARY_BYTES} bytes`
  )
  for (const size of SIZES) {
    const label = size === 1024 ? "1 KiB" : "64 KiB"
    const compress = compressCases(size)
    await runAll(compress)
    table(`Compress, ${label}`, "implementation | level | context", compress, true)
    speedup(compress)
    const decompress = await decompressCases(size)
    await runAll(decompress)
    table(`Decompress, ${label} (peer: node stream at level 6)`, "implementation | level | context", decompress, false)
    speedup(decompress)
    const echo = await echoCases(size)
    await runAll(echo)
    table(`Echo (inflate + deflate), ${label}`, "implementation | level | context", echo, true)
    speedup(echo)
  }
  const dict = dictionaryCases()
  await runAll(dict)
  table("Compressor dictionary size, 1 KiB, deflateRawSync with a preset dictionary", "level | dictionary", dict, true)
  console.log("\n### Memory per session after one 1 KiB message each way (500 sessions, level 1)\n")
  console.log("| implementation | RSS growth | JS heap + ArrayBuffers |\n|---|---|---|")
  for (const row of await memoryPerSession()) console.log(row)
}

await main()
