// UTF-8 validation throughput: `npx tsx test/bench/utf8.ts` (single run, no statistics; for orientation).
import { isUtf8 } from "node:buffer"
import { Utf8Validator, isValidUtf8 } from "../../src/Utf8.js"

const mk = (n: number, mixed: boolean) => {
  const parts = mixed ? ["abc", "é", "€", "😀", "hello world ", "ü"] : ["{\"key\":", "\"value\",", " 12345 "]
  let s = ""; let k = 0
  while (Buffer.byteLength(s) < n) s += parts[k++ % parts.length]
  const b = Buffer.from(s).subarray(0, n)
  // trim to a boundary
  let e = b.length; while (e > 0 && !isUtf8(b.subarray(0, e))) e--
  return new Uint8Array(b.subarray(0, e))
}
const bench = (name: string, data: Uint8Array, f: (d: Uint8Array) => boolean) => {
  const iters = Math.max(200, Math.floor(2e8 / Math.max(data.length, 64)) )
  let ok = true
  for (let i = 0; i < iters / 10; i++) ok = f(data) && ok
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < iters; i++) ok = f(data) && ok
  const ns = Number(process.hrtime.bigint() - t0)
  if (!ok) throw new Error("invalid?")
  console.log(`${name.padEnd(28)} ${String(data.length).padStart(7)} B  ${(data.length * iters / ns).toFixed(2)} GB/s  ${(ns / iters).toFixed(1)} ns/op`)
}
const vJs = new Utf8Validator()
const vBulk = new Utf8Validator(isUtf8)
for (const mixed of [false, true]) for (const n of [16, 64, 256, 1024, 65536]) {
  const d = mk(n, mixed)
  const tag = mixed ? "mixed" : "ascii"
  bench(`isUtf8 ${tag}`, d, isUtf8)
  bench(`js validator ${tag}`, d, (x) => { const r = vJs.push(x); return vJs.end() && r })
  bench(`bulk validator ${tag}`, d, (x) => { const r = vBulk.push(x); return vBulk.end() && r })
  bench(`isValidUtf8 ${tag}`, d, isValidUtf8)
}
