/**
 * The interop matrix shared by the real-peer tests: payload sizes, the
 * deterministic payloads, the server's subprotocols, and small helpers.
 */
import type { DeflateConfig, ServerHandle, Target } from "../conformance/targets.js"
import { selectedTargets } from "../conformance/targets.js"

/** Echo sizes in bytes: 0 B to 1 MiB across every length form. */
export const SIZES: ReadonlyArray<number> = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]

/** The server's subprotocols, in its order of preference. */
export const SERVER_SUBPROTOCOLS: ReadonlyArray<string> = ["chat.v2", "chat.v1"]

/** Large enough for the 1 MiB echo. */
export const INTEROP_READ_LIMIT = 4 << 20

/**
 * `size` bytes of valid UTF-8 mixing 1- to 4-byte characters. The browser
 * test inlines the same function (it cannot import), keep them in step.
 */
export const textPayload = (size: number): string => "a\u00e9\u20ac\u{1d11e}".repeat(Math.floor(size / 10)) + "a".repeat(size % 10)

export const binaryPayload = (size: number): Uint8Array => {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (i * 31 + 7) & 255
  return out
}

export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))

/** Resolves true once `pred` holds (polled), false after `ms`. */
export const waitUntil = async (pred: () => boolean, ms: number): Promise<boolean> => {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) return false
    await new Promise((r) => setTimeout(r, 10))
  }
  return true
}

/** The selected server targets with their availability. */
export const interopTargets = async (): Promise<Array<{ target: Target; unavailable: string | undefined }>> =>
  Promise.all(selectedTargets().map(async (target) => ({ target, unavailable: await target.unavailable() })))

export const startInteropServer = (target: Target, compression?: DeflateConfig): Promise<ServerHandle> =>
  target.server.start({
    readLimit: INTEROP_READ_LIMIT,
    subprotocols: SERVER_SUBPROTOCOLS,
    ...(compression === undefined ? {} : { compression })
  })

/** `/close?code=…&reason=…` on the server. */
export const closePath = (base: string, code: number, reason: string): string =>
  `${base}close?code=${code}&reason=${encodeURIComponent(reason)}`
