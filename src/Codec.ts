/**
 * The byte-level codec of a connection: masking and permessage-deflate.
 *
 * `Conn` never masks or compresses by itself; it asks the `Codec` service, so
 * the JavaScript and WebAssembly implementations swap with a `Layer` and
 * nothing else changes. Every method is synchronous and allocation-light: it
 * runs on the per-frame path, outside of Effect.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { maskJs } from "./internal/mask.js"
import { makeWasmCodec, wasmBytes } from "./internal/wasmCodec.js"
import { makeDeflater, makeInflater } from "./internal/zlib.js"

/**
 * Parameters of one compression direction, as negotiated (RFC 7692 §7.1).
 *
 * @since 0.1.0
 * @category models
 */
export interface DeflateParams {
  /** LZ77 window, 8..15 bits. */
  readonly windowBits: number
  /** Forget the history after every message. */
  readonly noContextTakeover: boolean
  /** zlib-style level: 1 (fast) .. 9; 6 is zlib's default. */
  readonly level: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface InflateParams {
  /** The largest window the peer may use, 8..15 bits. */
  readonly windowBits: number
  /** The peer forgets its history after every message. */
  readonly noContextTakeover: boolean
}

/**
 * The compressing half of one connection's permessage-deflate session.
 *
 * @since 0.1.0
 * @category models
 */
export interface Deflater {
  /**
   * Compresses the next piece of a message. With `fin`, ends the message with
   * a sync flush and strips the trailing `00 00 FF FF` (RFC 7692 §7.2.1).
   * The result is owned by the caller (it may be handed to a socket).
   */
  readonly push: (data: Uint8Array, fin: boolean) => Uint8Array
  /** Releases the compression state; the deflater must not be used again. */
  readonly free: () => void
}

/**
 * The result of {@link Inflater.push}: an owned chunk of inflated bytes, or
 * one of the negative status codes of {@link InflateStatus}.
 *
 * @since 0.1.0
 * @category models
 */
export type InflateResult = Uint8Array | InflateStatus

/**
 * @since 0.1.0
 * @category models
 */
export const InflateStatus = {
  /** The message inflates to more than the limit. */
  TooBig: -1,
  /** The input is not a valid DEFLATE stream. */
  Corrupt: -2
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type InflateStatus = (typeof InflateStatus)[keyof typeof InflateStatus]

/**
 * The inflating half of one connection's permessage-deflate session.
 *
 * @since 0.1.0
 * @category models
 */
export interface Inflater {
  /**
   * Inflates the next compressed piece of a message (`fin` on its last piece;
   * the implementation appends the `00 00 FF FF` tail itself). Output beyond
   * `limit` bytes for the whole message is never produced: the call returns
   * `InflateStatus.TooBig` as soon as the limit is exceeded. An implementation
   * may buffer input and return an empty chunk until `fin`.
   */
  readonly push: (data: Uint8Array, fin: boolean, limit: number) => InflateResult
  /** Releases the decompression state; the inflater must not be used again. */
  readonly free: () => void
}

/**
 * The service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** `"js"` or `"wasm"`, for logs and benchmarks. */
  readonly name: string
  /**
   * XORs `data[start, end)` in place with the masking key. `key` holds the 4
   * key bytes as they appear on the wire, read as a little-endian uint32;
   * `pos` (0..3) is the key byte that applies to `data[start]`, so masking
   * continues across chunks of one frame.
   */
  readonly mask: (data: Uint8Array, start: number, end: number, key: number, pos: number) => void
  /** Creates a compressor; its state is allocated lazily, on the first push. */
  readonly deflater: (params: DeflateParams) => Deflater
  /** Creates a decompressor; its state is allocated lazily, on the first push. */
  readonly inflater: (params: InflateParams) => Inflater
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Codec extends Context.Tag("effect-websocket/Codec")<Codec, Service>() {}

/**
 * The JavaScript codec: word-at-a-time masking and node:zlib.
 *
 * @since 0.1.0
 * @category constructors
 */
export const js: Service = {
  name: "js",
  mask: maskJs,
  deflater: makeDeflater,
  inflater: makeInflater
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layerJs: Layer.Layer<Codec> = Layer.succeed(Codec, js)

// One instance per process: every connection's state lives in its allocator, so providing the
// layer per connection costs nothing after the first time.
let sharedWasm: Promise<Service> | undefined

/**
 * The WebAssembly codec: SIMD masking and our own raw DEFLATE, one module
 * embedded in the package. The first evaluation compiles the module
 * asynchronously (so it also works on a browser's main thread) and makes
 * the instance every later evaluation shares; connections take their
 * compression state from its allocator and give it back when they close
 * (its linear memory grows to the peak and is reused). Between messages a
 * connection with context takeover holds about 2 KiB (4 KiB at levels 4-9)
 * for compressing and 2^windowBits + 960 bytes for decompressing; without
 * context takeover, nothing. A runtime without WebAssembly SIMD fails with a
 * defect.
 *
 * @since 0.1.0
 * @category constructors
 */
export const wasm: Effect.Effect<Service> = Effect.promise(() =>
  sharedWasm ??= WebAssembly.compile(wasmBytes()).then((module) => makeWasmCodec(module))
)

/**
 * @since 0.1.0
 * @category layers
 */
export const layerWasm: Layer.Layer<Codec> = Layer.effect(Codec, wasm)

/**
 * The default codec: the WebAssembly one. On Node it masks 4.8× faster than
 * `layerJs` at 64 KiB, keeps less per compressed connection (40 vs 68 KiB)
 * and echoed faster on most uncompressed rows of the README's benchmark;
 * for large compressed messages node:zlib (`layerJs`) deflates faster.
 * Where WebAssembly SIMD is missing, provide `layerJs`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Codec> = layerWasm
