/**
 * The WebAssembly codec: SIMD masking and our own raw DEFLATE, all in one
 * module built from src/wasm/assembly. Data lives in JavaScript buffers, so
 * every call copies its input into linear memory and its output back out; the
 * per-connection compression state lives in linear memory, allocated on the
 * first push and returned on `free()`.
 *
 * @internal
 */
import type { Deflater, DeflateParams, Inflater, InflateParams, InflateResult, Service } from "../Codec.js"
import { maskJs } from "./mask.js"
import { wasmBase64 } from "./wasmBytes.js"

interface Exports {
  readonly memory: WebAssembly.Memory
  readonly io: WebAssembly.Global
  readonly IO_CAP: WebAssembly.Global
  readonly outDesc: WebAssembly.Global
  readonly mask: (p: number, n: number, key: number, pos: number) => void
  readonly heapTop: () => number
  readonly infNew: (windowBits: number) => number
  readonly infReset: (ctx: number) => void
  readonly infFree: (ctx: number) => void
  readonly infInput: (ctx: number) => number
  readonly infRun: (ctx: number, n: number, final: number, limitLeft: number) => number
  readonly infContinue: (ctx: number, limitLeft: number) => number
  readonly defNew: (windowBits: number, level: number) => number
  readonly defFree: (ctx: number) => void
  readonly defReset: (ctx: number) => void
  readonly defPrepare: (ctx: number) => number
  readonly defIn: (ctx: number) => number
  readonly defRun: (ctx: number, n: number, flush: number) => number
  readonly outPtr: () => number
}

// infRun / infContinue results (src/wasm/assembly/inflate.ts).
const NEED_INPUT = 0
const DONE = 1
const OUT_FULL = 2
const TOO_BIG = -1
const CORRUPT = -2

/** Below this many bytes, masking in JavaScript beats the call and the two copies. */
export const MASK_WASM_MIN = 256

const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff])
const EMPTY = new Uint8Array(0)

let compiled: WebAssembly.Module | undefined

const concatChunks = (first: Uint8Array, rest: ReadonlyArray<Uint8Array>): Uint8Array => {
  let total = first.length
  for (const c of rest) total += c.length
  const out = new Uint8Array(total)
  out.set(first, 0)
  let off = first.length
  for (const c of rest) {
    out.set(c, off)
    off += c.length
  }
  return out
}

/** The module's bytes, decoded from the embedded base64. @internal */
export const wasmBytes = (): Uint8Array<ArrayBuffer> => {
  const s = atob(wasmBase64)
  const bytes = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i)
  return bytes
}

/** The compiled module (compiled once, synchronously). @internal */
export const wasmModule = (): WebAssembly.Module => (compiled ??= new WebAssembly.Module(wasmBytes()))

/**
 * A codec backed by a new instance of the module (its own linear memory).
 *
 * @internal
 */
export interface WasmCodec extends Service {
  /** The instance's exports, for tests and benchmarks. */
  readonly exports: Exports
  /** `mask` without the JavaScript path for short data. */
  readonly maskWasm: Service["mask"]
}

/** Instantiates the codec from a compiled module. @internal */
export const makeWasmCodec = (module: WebAssembly.Module = wasmModule()): WasmCodec => {
  const ex = new WebAssembly.Instance(module, {}).exports as unknown as Exports
  const io = ex.io.value as number
  const ioCap = ex.IO_CAP.value as number
  const descAt = (ex.outDesc.value as number) >>> 2
  let u8 = new Uint8Array(ex.memory.buffer)
  let u32 = new Uint32Array(ex.memory.buffer)
  // Only context allocation grows the memory; views are refreshed after it.
  const refresh = () => {
    if (u8.buffer !== ex.memory.buffer) {
      u8 = new Uint8Array(ex.memory.buffer)
      u32 = new Uint32Array(ex.memory.buffer)
    }
  }

  const maskWasm = (data: Uint8Array, start: number, end: number, key: number, pos: number): void => {
    let p = pos & 3
    for (let s = start; s < end; ) {
      const n = Math.min(end - s, ioCap)
      u8.set(data.subarray(s, s + n), io)
      ex.mask(io, n, key, p)
      data.set(u8.subarray(io, io + n), s)
      s += n
      p = (p + n) & 3
    }
  }

  const mask = (data: Uint8Array, start: number, end: number, key: number, pos: number): void => {
    if (end - start < MASK_WASM_MIN) maskJs(data, start, end, key, pos)
    else maskWasm(data, start, end, key, pos)
  }

  const inflater = (params: InflateParams): Inflater => {
    let ctx = 0
    let dead = false
    let atStart = true
    let produced = 0
    // Output of the current push: usually one chunk, so no array until a second one.
    let first: Uint8Array | undefined
    let rest: Array<Uint8Array> | undefined
    const take = () => {
      for (let i = 0; i < 4; i += 2) {
        const len = u32[descAt + i + 1]
        if (len === 0) continue
        const at = u32[descAt + i]
        const chunk = u8.slice(at, at + len)
        produced += len
        if (first === undefined) first = chunk
        else (rest ??= []).push(chunk)
      }
    }
    const result = (): Uint8Array => {
      const a = first
      const b = rest
      first = undefined
      rest = undefined
      if (a === undefined) return EMPTY
      if (b === undefined) return a
      return concatChunks(a, b)
    }
    const fail = (status: number): InflateResult => {
      dead = true
      first = undefined
      rest = undefined
      return status === TOO_BIG ? -1 : -2
    }
    const push = (data: Uint8Array, fin: boolean, limit: number): InflateResult => {
      if (dead) return -2
      if (data.length === 0 && !fin) return EMPTY
      if (ctx === 0) {
        ctx = ex.infNew(params.windowBits)
        if (ctx === 0) throw new RangeError("effect-websocket: out of WebAssembly memory for an inflater")
        refresh()
      }
      if (atStart) {
        if (params.noContextTakeover) ex.infReset(ctx)
        produced = 0
        atStart = false
      }
      let off = 0
      for (;;) {
        const at = ex.infInput(ctx)
        const n = Math.min(io + ioCap - at, data.length - off)
        u8.set(n === data.length ? data : data.subarray(off, off + n), at)
        off += n
        const last = fin && off === data.length
        if (last) u8.set(TAIL, at + n)
        let st = ex.infRun(ctx, last ? n + 4 : n, last ? 1 : 0, Math.min(limit - produced, 0xffffffff))
        for (;;) {
          take()
          if (st !== OUT_FULL) break
          st = ex.infContinue(ctx, Math.min(limit - produced, 0xffffffff))
        }
        if (st < 0) return fail(st)
        if (last) {
          if (st !== DONE) return fail(CORRUPT)
          atStart = true
          return result()
        }
        if (off === data.length) return result()
        if (st !== NEED_INPUT) return fail(CORRUPT)
      }
    }
    return {
      push: (data, fin, limit) => {
        try {
          return push(data, fin, limit)
        } catch (e) {
          // A trap means a bug on our side; the input is treated as corrupt and
          // this inflater is done, the other contexts are untouched.
          if (e instanceof WebAssembly.RuntimeError) return fail(CORRUPT)
          throw e
        }
      },
      free: () => {
        if (ctx !== 0) ex.infFree(ctx)
        ctx = 0
        dead = true
      }
    }
  }

  const outAt = ex.outPtr()
  const deflater = (params: DeflateParams): Deflater => {
    let ctx = 0
    let freed = false
    let atStart = true
    return {
      push: (data, fin) => {
        if (freed) throw new Error("effect-websocket: deflater used after free()")
        if (data.length === 0 && !fin) return EMPTY
        if (ctx === 0) {
          ctx = ex.defNew(params.windowBits, params.level)
          if (ctx === 0) throw new RangeError("effect-websocket: out of WebAssembly memory for a deflater")
          refresh()
        }
        if (atStart) {
          if (params.noContextTakeover) ex.defReset(ctx)
          atStart = false
        }
        if (fin) atStart = true
        let first: Uint8Array | undefined
        let rest: Array<Uint8Array> | undefined
        let off = 0
        do {
          const room = ex.defPrepare(ctx)
          const at = ex.defIn(ctx)
          const n = Math.min(room, data.length - off)
          u8.set(n === data.length ? data : data.subarray(off, off + n), at)
          off += n
          const len = ex.defRun(ctx, n, off < data.length ? 0 : fin ? 2 : 1)
          if (len > 0) {
            const chunk = u8.slice(outAt, outAt + len)
            if (first === undefined) first = chunk
            else (rest ??= []).push(chunk)
          }
        } while (off < data.length)
        if (first === undefined) return EMPTY
        if (rest === undefined) return first
        return concatChunks(first, rest)
      },
      free: () => {
        if (ctx !== 0) ex.defFree(ctx)
        ctx = 0
        freed = true
      }
    }
  }

  return { name: "wasm", mask, deflater, inflater, exports: ex, maskWasm }
}
