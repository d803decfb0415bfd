/**
 * Options shared by `accept` and `dial`, and their defaults.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type * as Codec from "../Codec.js"
import type { ConnConfig } from "./conn.js"

/** @internal */
export interface ConnOptions {
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
  ...fields,
  readLimit: options.readLimit ?? DEFAULT_READ_LIMIT,
  closeTimeout: options.closeTimeout === undefined ? DEFAULT_CLOSE_TIMEOUT : Duration.decode(options.closeTimeout),
  maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
  onPing: options.onPingReceived,
  onPong: options.onPongReceived
})
