// Socket reads into WebAssembly linear memory (`net.Socket` `onread`) vs
// Node's default 'data' Buffers, for unmasking received data:
// `npx tsx test/bench/wasm-onread.ts [--quick]`.
//
// A child process streams 64 KiB writes as fast as the socket takes them; this
// process reads for a while with each receive path in turn (rounds rotate the
// order) and reports MB/s and this process's CPU time per MB received. Every
// path unmasks every byte and ends with bytes the application owns (the read
// buffer of `onread` is reused, so those paths copy out), except the last row.
import { fork } from "node:child_process"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"
import { maskJs } from "../../src/internal/mask.js"
import { makeWasmCodec } from "../../src/internal/wasmCodec.js"

const CHUNK = 65536

if (process.argv[2] === "sender") {
  const chunk = Buffer.alloc(CHUNK, 0x5a)
  const server = Net.createServer((socket) => {
    socket.setNoDelay(true)
    let open = true
    socket.on("error", () => (open = false))
    socket.on("close", () => (open = false))
    const pump = () => {
      while (open && socket.write(chunk));
      if (open) socket.once("drain", pump)
    }
    pump()
  })
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    process.send?.(typeof address === "object" && address !== null ? address.port : 0)
  })
  process.on("disconnect", () => process.exit(0))
} else {
  const quick = process.argv.includes("--quick")
  const SECONDS = quick ? 0.5 : 1.5
  const ROUNDS = quick ? 2 : 4
  const child = fork(fileURLToPath(import.meta.url), ["sender"], { execArgv: ["--import", "tsx"] })
  const port = await new Promise<number>((resolve) => child.once("message", (m) => resolve(Number(m))))

  const codec = makeWasmCodec()
  const ex = codec.exports
  const io = ex.io.value as number
  const key = 0x9a3c51e7
  let sink = 0
  const own = (src: Uint8Array, n: number) => {
    const out = new Uint8Array(n)
    out.set(src.subarray(0, n))
    sink += out[n - 1] ?? 0
  }

  type Mode = (onBytes: (n: number) => void) => Net.Socket
  const modes: Array<[string, Mode]> = [
    [
      "'data' Buffer + Codec.mask (wasm, copy in and out)",
      (onBytes) => {
        let pos = 0
        return Net.connect({ port, host: "127.0.0.1" }).on("data", (b: Buffer) => {
          codec.mask(b, 0, b.length, key, pos)
          pos = (pos + b.length) & 3
          onBytes(b.length)
        })
      }
    ],
    [
      "onread into linear memory + wasm mask in place + copy out",
      (onBytes) => {
        let pos = 0
        // A function: Node asks for the buffer again, so a grown memory is picked up.
        const buffer = () => new Uint8Array(ex.memory.buffer, io, CHUNK)
        return Net.connect({
          port,
          host: "127.0.0.1",
          onread: {
            buffer,
            callback: (n: number, b: Uint8Array) => {
              ex.mask(b.byteOffset, n, key, pos)
              pos = (pos + n) & 3
              own(b, n)
              onBytes(n)
              return true
            }
          }
        })
      }
    ],
    [
      "onread into a JS buffer + Codec.mask (wasm, copies) + copy out",
      (onBytes) => {
        let pos = 0
        return Net.connect({
          port,
          host: "127.0.0.1",
          onread: {
            buffer: new Uint8Array(CHUNK),
            callback: (n: number, b: Uint8Array) => {
              codec.mask(b, 0, n, key, pos)
              pos = (pos + n) & 3
              own(b, n)
              onBytes(n)
              return true
            }
          }
        })
      }
    ],
    [
      "'data' Buffer + maskJs",
      (onBytes) => {
        let pos = 0
        return Net.connect({ port, host: "127.0.0.1" }).on("data", (b: Buffer) => {
          maskJs(b, 0, b.length, key, pos)
          pos = (pos + b.length) & 3
          onBytes(b.length)
        })
      }
    ],
    [
      "'data' Buffer, no masking (ceiling)",
      (onBytes) => Net.connect({ port, host: "127.0.0.1" }).on("data", (b: Buffer) => onBytes(b.length))
    ],
    [
      "onread into linear memory + wasm mask in place, no copy out (bound)",
      (onBytes) => {
        let pos = 0
        return Net.connect({
          port,
          host: "127.0.0.1",
          onread: {
            buffer: () => new Uint8Array(ex.memory.buffer, io, CHUNK),
            callback: (n: number, b: Uint8Array) => {
              ex.mask(b.byteOffset, n, key, pos)
              pos = (pos + n) & 3
              onBytes(n)
              return true
            }
          }
        })
      }
    ]
  ]

  const run = (mode: Mode) =>
    new Promise<{ mbs: number; cpuPerMB: number }>((resolve) => {
      let bytes = 0
      let started = false
      let t0 = 0
      let c0 = process.cpuUsage()
      const socket = mode((n) => {
        if (!started) {
          started = true
          t0 = performance.now()
          c0 = process.cpuUsage()
          return
        }
        bytes += n
        if (performance.now() - t0 >= SECONDS * 1000) {
          const c = process.cpuUsage(c0)
          const s = (performance.now() - t0) / 1000
          socket.destroy()
          resolve({ mbs: bytes / 1e6 / s, cpuPerMB: (c.user + c.system) / (bytes / 1e6) })
        }
      })
    })

  const results = modes.map(() => ({ mbs: [] as Array<number>, cpu: [] as Array<number> }))
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < modes.length; k++) {
      const i = (k + r) % modes.length
      const entry = modes[i]
      if (entry === undefined) continue
      const res = await run(entry[1])
      results[i]?.mbs.push(res.mbs)
      results[i]?.cpu.push(res.cpuPerMB)
    }
  }
  const median = (a: Array<number>) => a.sort((x, y) => x - y)[a.length >> 1] ?? 0
  console.log(`## Receiving and unmasking 64 KiB writes over loopback TCP (one connection)\n`)
  console.log(`Node ${process.version}; \`npx tsx test/bench/wasm-onread.ts${quick ? " --quick" : ""}\`; median of ${ROUNDS} runs of ${SECONDS} s.\n`)
  console.log(`| receive path | MB/s | receiver CPU µs per MB |`)
  console.log(`|---|---|---|`)
  modes.forEach(([name], i) => {
    const r = results[i]
    if (r !== undefined) console.log(`| ${name} | ${median(r.mbs).toFixed(0)} | ${median(r.cpu).toFixed(1)} |`)
  })
  child.disconnect()
  child.kill()

  // The same two paths without the socket, to see the user-space difference
  // through the noise of the kernel and the shared machine: a "read" is a copy
  // from a source buffer (what recv does), into a fresh Buffer like Node's
  // per-read allocation, or into linear memory like onread.
  const source = Buffer.alloc(CHUNK, 0x5a)
  const cpuMs = () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  }
  const sizes = [1024, 16384, CHUNK]
  const paths: Array<[string, (n: number) => void]> = [
    [
      "fresh Buffer per read + Codec.mask (copy in, mask, copy out)",
      (n) => {
        const b = Buffer.allocUnsafeSlow(n)
        source.copy(b, 0, 0, n)
        codec.mask(b, 0, n, key, 1)
        sink += b[n - 1] ?? 0
      }
    ],
    [
      "read into linear memory + mask in place + copy out to a fresh Buffer",
      (n) => {
        const m = new Uint8Array(ex.memory.buffer, io, n)
        m.set(source.subarray(0, n))
        ex.mask(io, n, key, 1)
        const b = Buffer.allocUnsafeSlow(n)
        b.set(m)
        sink += b[n - 1] ?? 0
      }
    ]
  ]
  const table = sizes.map((n) => {
    const samples = paths.map(() => [] as Array<number>)
    for (let r = 0; r < 9; r++) {
      paths.forEach(([, f], i) => {
        let k = 0
        const t = cpuMs()
        while (cpuMs() - t < 40) {
          for (let j = 0; j < 16; j++) f(n)
          k += 16
        }
        samples[i]?.push(((cpuMs() - t) * 1000) / k)
      })
    }
    return samples.map((a) => a.sort((x, y) => x - y)[4] ?? 0)
  })
  console.log(`\n## The user-space part alone (no socket): CPU µs per read\n`)
  console.log(`| path | ${sizes.map((n) => `${n >> 10} KiB`).join(" | ")} |`)
  console.log(`|---|${sizes.map(() => "---").join("|")}|`)
  paths.forEach(([name], i) => console.log(`| ${name} | ${table.map((c) => (c[i] ?? 0).toFixed(2)).join(" | ")} |`))
  if (sink === -1) console.log(sink)
}
