/**
 * The WebAssembly codec: SIMD masking and our own raw DEFLATE, all in one
 * module built from src/wasm/assembly. Data lives in JavaScript buffers, so
 * every call copies its input into linear memory and its output back out.
 * A push runs in a working set shared by all contexts; what a context keeps
 * between messages (a deflater's last 2 or 4 KiB, an inflater's 2^windowBits
 * of history) is a block of linear memory taken on the first push and given
 * back on `free()`, or at the end of each message without context takeover.
 *
 * @internal
 */
import type { Deflater, DeflateParams, Inflater, InflateParams, InflateResult, Service } from "../Codec.js"
import { maskJs } from "./mask.js"
import { wasmBase64 } from "./wasmBytes.js"

/** The module's exports (src/wasm/assembly/index.ts). @internal */
export interface WasmExports {
  readonly memory: WebAssembly.Memory
  readonly io: WebAssembly.Global
  readonly IO_CAP: WebAssembly.Global
  readonly outDesc: WebAssembly.Global
  readonly mask: (p: number, n: number, key: number, pos: number) => void
  readonly heapTop: () => number
  readonly infNew: (windowBits: number) => number
  readonly infFree: (ctx: number) => void
  readonly infInput: (ctx: number) => number
  readonly infRun: (ctx: number, n: number, final: number, limitLeft: number) => number
  readonly infContinue: (ctx: number, limitLeft: number) => number
  readonly defNew: (windowBits: number, level: number) => number
  readonly defFree: (ctx: number) => void
  readonly defBegin: (ctx: number) => void
  readonly defPrepare: () => number
  readonly defIn: () => number
  readonly defRun: (n: number, flush: number) => number
  readonly outPtr: () => number
}

// infRun / infContinue results (src/wasm/assembly/inflate.ts).
const NEED_INPUT = 0
const DONE = 1
const OUT_FULL = 2
const TOO_BIG = -1
const CORRUPT = -2

/** Below this many bytes, masking in JavaScript beats the call and the two copies (see test/bench/wasm-micro.ts). */
export const MASK_WASM_MIN = 256

const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff])
const EMPTY = new Uint8Array(0)

/**
 * Owned output buffers. An ArrayBuffer per message costs more than inflating
 * a small message, so small results are views into a shared 16 KiB block,
 * like Node's Buffer pool (a retained small result keeps its block alive).
 */
const POOL_SIZE = 16384
const POOL_MAX = 2048
let pool = new ArrayBuffer(POOL_SIZE)
let poolUsed = 0
const allocate = (n: number): Uint8Array => {
  if (n > POOL_MAX) return new Uint8Array(n)
  if (poolUsed + n > POOL_SIZE) {
    pool = new ArrayBuffer(POOL_SIZE)
    poolUsed = 0
  }
  const out = new Uint8Array(pool, poolUsed, n)
  poolUsed = (poolUsed + n + 7) & ~7
  return out
}

/** A staging buffer above this size is dropped after use rather than kept. */
const STAGE_KEEP = 1 << 20

let compiled: WebAssembly.Module | undefined

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
  readonly exports: WasmExports
  /** `mask` without the JavaScript path for short data. */
  readonly maskWasm: Service["mask"]
}

/** Instantiates the codec from a compiled module. @internal */
export const makeWasmCodec = (module: WebAssembly.Module = wasmModule()): WasmCodec => {
  const ex = new WebAssembly.Instance(module, {}).exports as unknown as WasmExports
  const io = ex.io.value as number
  const ioCap = ex.IO_CAP.value as number
  const descAt = (ex.outDesc.value as number) >>> 2
  const outAt = ex.outPtr()
  let u8 = new Uint8Array(ex.memory.buffer)
  let u32 = new Uint32Array(ex.memory.buffer)
  // Growing the memory detaches the views: context allocation refreshes them,
  // and every operation checks (a detached view has length 0).
  const refresh = () => {
    if (u8.buffer !== ex.memory.buffer) {
      u8 = new Uint8Array(ex.memory.buffer)
      u32 = new Uint32Array(ex.memory.buffer)
    }
  }

  // Output of one push that takes several calls is gathered here, then copied
  // once into an exactly sized result. Pushes are synchronous: one buffer
  // serves every session of this instance.
  let stage = new Uint8Array(0)
  let staged = 0
  const toStage = (at: number, len: number) => {
    if (staged + len > stage.length) {
      const grown = new Uint8Array(Math.max(staged + len, stage.length * 2, 65536))
      grown.set(stage.subarray(0, staged))
      stage = grown
    }
    stage.set(u8.subarray(at, at + len), staged)
    staged += len
  }
  const fromStage = (): Uint8Array => {
    const out = allocate(staged)
    out.set(stage.subarray(0, staged))
    staged = 0
    if (stage.length > STAGE_KEEP) stage = new Uint8Array(0)
    return out
  }

  const maskWasm = (data: Uint8Array, start: number, end: number, key: number, pos: number): void => {
    if (u8.length === 0) refresh()
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
    // Without context takeover nothing outlives a message: the context is
    // taken for each message and given back at its end.
    const lastFlag = params.noContextTakeover ? 2 : 1
    const release = () => {
      if (ctx !== 0) ex.infFree(ctx)
      ctx = 0
    }
    const fail = (status: number): InflateResult => {
      dead = true
      staged = 0
      release()
      return status === TOO_BIG ? -1 : -2
    }
    const push = (data: Uint8Array, fin: boolean, limit: number): InflateResult => {
      if (dead) return -2
      if (data.length === 0 && !fin) return EMPTY
      if (u8.length === 0) refresh()
      if (atStart) {
        if (ctx === 0) {
          ctx = ex.infNew(params.windowBits)
          if (ctx === 0) throw new RangeError("effect-websocket: out of WebAssembly memory for an inflater")
          refresh()
        }
        produced = 0
        atStart = false
      }
      staged = 0
      let off = 0
      for (;;) {
        const at = ex.infInput(ctx)
        const n = Math.min(io + ioCap - at, data.length - off)
        u8.set(n === data.length ? data : data.subarray(off, off + n), at)
        off += n
        const last = fin && off === data.length
        if (last) u8.set(TAIL, at + n)
        let st = ex.infRun(ctx, last ? n + 4 : n, last ? lastFlag : 0, Math.min(limit - produced, 0xffffffff))
        for (;;) {
          // The output of this call, in the shared window.
          const at1 = u32[descAt] ?? 0
          const len1 = u32[descAt + 1] ?? 0
          produced += len1
          if (st < 0) return fail(st)
          if (staged === 0 && st !== OUT_FULL && off === data.length) {
            // All of this push's output came from this one call: copy it once.
            if (last && st !== DONE) return fail(CORRUPT)
            const out = len1 === 0 ? EMPTY : allocate(len1)
            out.set(u8.subarray(at1, at1 + len1))
            if (last) endMessage()
            return out
          }
          if (len1 !== 0) toStage(at1, len1)
          if (st !== OUT_FULL) break
          st = ex.infContinue(ctx, Math.min(limit - produced, 0xffffffff))
        }
        if (last) {
          if (st !== DONE) return fail(CORRUPT)
          endMessage()
        }
        if (off === data.length) return staged === 0 ? EMPTY : fromStage()
        if (st !== NEED_INPUT) return fail(CORRUPT)
      }
    }
    const endMessage = () => {
      atStart = true
      if (lastFlag === 2) release()
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
        release()
        dead = true
      }
    }
  }

  const deflater = (params: DeflateParams): Deflater => {
    let ctx = 0
    let freed = false
    // Without context takeover nothing outlives a message: the context is
    // taken for each message and given back at its end.
    const endFlush = params.noContextTakeover ? 3 : 2
    return {
      push: (data, fin) => {
        if (freed) throw new Error("effect-websocket: deflater used after free()")
        if (data.length === 0 && !fin) return EMPTY
        if (u8.length === 0) refresh()
        if (ctx === 0) {
          ctx = ex.defNew(params.windowBits, params.level)
          if (ctx === 0) throw new RangeError("effect-websocket: out of WebAssembly memory for a deflater")
          refresh()
        }
        ex.defBegin(ctx)
        staged = 0
        let out: Uint8Array
        let off = 0
        for (;;) {
          const room = ex.defPrepare()
          const at = ex.defIn()
          const n = Math.min(room, data.length - off)
          u8.set(n === data.length ? data : data.subarray(off, off + n), at)
          off += n
          const done = off === data.length
          const len = ex.defRun(n, !done ? 0 : fin ? endFlush : 1)
          if (done && staged === 0) {
            out = len === 0 ? EMPTY : allocate(len)
            out.set(u8.subarray(outAt, outAt + len))
            break
          }
          toStage(outAt, len)
          if (done) {
            out = fromStage()
            break
          }
        }
        if (fin && endFlush === 3) {
          ex.defFree(ctx)
          ctx = 0
        }
        return out
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
