/**
 * Options shared by `accept` and `dial`, and their defaults.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type * as Codec from "../Codec.js"
import * as Extension from "../Extension.js"
import type { CompressionSession, ConnConfig } from "./conn.js"

/** @internal */
export interface ConnOptions {
  /**
   * permessage-deflate: a mode, or the mode with its parameters. Default
   * `"disabled"`.
   */
  readonly compression?: Extension.CompressionMode | Extension.CompressionOptions | undefined
  readonly readLimit?: number | undefined
  readonly closeTimeout?: Duration.DurationInput | undefined
  readonly maxBufferedBytes?: number | undefined
  readonly onPingReceived?: ((payload: Uint8Array) => boolean) | undefined
  readonly onPongReceived?: ((payload: Uint8Array) => void) | undefined
}

/** @internal */
export const DEFAULT_READ_LIMIT = 32768
/** @internal */
export const DEFAULT_CLOSE_TIMEOUT = Duration.seconds(5)
/** @internal */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024

/** @internal */
export const connConfig = (
  options: ConnOptions,
  fields: Pick<ConnConfig, "role" | "socket" | "head" | "subprotocol" | "extensions" | "compression"> & {
    readonly codec: Codec.Service
  }
): ConnConfig => ({
  // every field spelled out (no spread): one object shape for all connections
  role: fields.role,
  socket: fields.socket,
  head: fields.head,
  codec: fields.codec,
  subprotocol: fields.subprotocol,
  extensions: fields.extensions,
  compression: fields.compression,
  readLimit: options.readLimit ?? DEFAULT_READ_LIMIT,
  closeTimeout: options.closeTimeout === undefined ? DEFAULT_CLOSE_TIMEOUT : Duration.decode(options.closeTimeout),
  maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
  onPing: options.onPingReceived,
  onPong: options.onPongReceived
})

/** The compression options in their long form. */
export const compressionOptions = (options: ConnOptions): Extension.CompressionOptions => {
  const c = options.compression ?? "disabled"
  return typeof c === "string" ? { mode: c } : c
}

/** The session for what was negotiated, if anything was. */
export const compressionSession = (
  role: "client" | "server",
  negotiated: Extension.Negotiated | undefined,
  options: Extension.CompressionOptions
): CompressionSession | undefined =>
  negotiated === undefined ? undefined : Extension.sessionParams(role, negotiated, options)
