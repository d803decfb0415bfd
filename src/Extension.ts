/**
 * permessage-deflate negotiation (RFC 7692 §5, §7.1) over the
 * `Sec-WebSocket-Extensions` header (RFC 6455 §9.1).
 *
 * Pure: strings in, parameters out. The server picks the first acceptable
 * offer and declines the others; the client checks the server's answer
 * against what it offered and fails the connection on anything off.
 *
 * Window bits 8: zlib cannot compress raw DEFLATE with a 256-byte window
 * (deflateInit2 rejects it; Node silently uses 9, and `ws` inherits that,
 * so a `ws` peer that agreed to 8 compresses with a 9-bit window, though
 * zlib's matches then happen to stay within 250 bytes). RFC 7692
 * §7.1.2 lets a peer ask for 8, and a server that accepts
 * `server_max_window_bits=8` must answer with 8 or less. We honour 8 in both
 * roles: our compressor then runs zlib with strategy `Z_RLE`, whose matches
 * are documented to reach back exactly one byte, so the stream is valid for
 * any window; our decompressor keeps 512 bytes of history when 8 was agreed,
 * which also reads peers that silently used 9. Nothing is declined for it.
 *
 * @since 0.1.0
 */
import type { DeflateParams, InflateParams } from "./Codec.js"

/**
 * `disabled` (the default): never offer, decline every offer.
 * `context-takeover`: offer plain `permessage-deflate`; as a server, honour
 * whatever the client asks for. `no-context-takeover`: always offer and
 * answer with both `*_no_context_takeover` parameters.
 *
 * @since 0.1.0
 * @category models
 */
export type CompressionMode = "disabled" | "context-takeover" | "no-context-takeover"

/**
 * @since 0.1.0
 * @category models
 */
export interface CompressionOptions {
  readonly mode: CompressionMode
  /**
   * The largest window the server compresses with, 8..15. As a server: our
   * own window, announced when below 15. As a client: asked of the server.
   */
  readonly serverMaxWindowBits?: number
  /**
   * The largest window the client compresses with, 8..15. As a client: our
   * own window, offered as a hint. As a server: asked of the client, when its
   * offer says it can limit its window.
   */
  readonly clientMaxWindowBits?: number
  /** zlib level for our compressor, 0..9 (default {@link defaultLevel}). */
  readonly level?: number
  /**
   * Messages shorter than this are sent uncompressed. Default 128 bytes when
   * this side keeps its compression context, else 512.
   */
  readonly threshold?: number
}

/**
 * The agreed permessage-deflate parameters.
 *
 * @since 0.1.0
 * @category models
 */
export interface Negotiated {
  readonly serverNoContextTakeover: boolean
  readonly clientNoContextTakeover: boolean
  /** 8..15; 15 when the parameter was absent. */
  readonly serverMaxWindowBits: number
  /** 8..15; 15 when the parameter was absent. */
  readonly clientMaxWindowBits: number
}

/**
 * The level used when {@link CompressionOptions.level} is absent (zlib's
 * BestSpeed, as coder/websocket uses). Measured on JSON-like data with
 * `test/bench/deflate-micro.ts`: level 1 compresses 1 KiB messages about
 * 1.25× faster than level 6 (per-message setup dominates) and 64 KiB ones
 * about 3× faster, for output 12–22 % larger (ratio 3.7 vs 4.2 at 1 KiB with
 * context takeover, 4.2 vs 5.2 at 64 KiB). CPU is the scarcer resource on a
 * server; users who pay per byte can ask for more.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultLevel = 1

/**
 * The extension's registered name.
 *
 * @since 0.1.0
 * @category constants
 */
export const extensionName = "permessage-deflate"

// ---------------------------------------------------------------------------
// RFC 7230 / RFC 6455 §9.1 extension-list parsing
// ---------------------------------------------------------------------------

/**
 * One element of an extension list: its name and its parameters in order,
 * values unquoted (`undefined` for a parameter without a value). `malformed`
 * elements broke the grammar; their name may be empty.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExtensionElement {
  readonly name: string
  readonly params: ReadonlyArray<readonly [name: string, value: string | undefined]>
  readonly malformed: boolean
}

// tchar (RFC 7230 §3.2.6) as a lookup table over ASCII.
const TCHAR = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR[c.charCodeAt(0)] = 1
}

const isTchar = (c: number): boolean => c < 128 && TCHAR[c] === 1

const isToken = (s: string): boolean => {
  if (s === "") return false
  for (let i = 0; i < s.length; i++) if (!isTchar(s.charCodeAt(i))) return false
  return true
}

/**
 * Parses a `Sec-WebSocket-Extensions` value (several header lines joined by
 * `", "`). Empty list elements are skipped (RFC 7230 §7); an element that
 * breaks the grammar is returned with `malformed: true` and parsing resumes
 * at the next top-level comma.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseExtensions = (header: string): Array<ExtensionElement> => {
  const out: Array<ExtensionElement> = []
  const n = header.length
  let i = 0

  const skipOws = (): void => {
    while (i < n) {
      const c = header.charCodeAt(i)
      if (c !== 0x20 && c !== 0x09) return
      i++
    }
  }
  const token = (): string => {
    const start = i
    while (i < n && isTchar(header.charCodeAt(i))) i++
    return header.slice(start, i)
  }
  // At an opening quote; returns the unescaped content, or undefined when
  // the string is unterminated or holds a forbidden character.
  const quoted = (): string | undefined => {
    i++
    let s = ""
    while (i < n) {
      const c = header.charCodeAt(i)
      if (c === 0x22) {
        i++
        return s
      }
      if (c === 0x5c) {
        if (i + 1 >= n) return undefined
        const e = header.charCodeAt(i + 1)
        if (e !== 0x09 && (e < 0x20 || e === 0x7f)) return undefined
        s += header[i + 1]
        i += 2
        continue
      }
      if (c !== 0x09 && (c < 0x20 || c === 0x7f)) return undefined
      s += header[i]
      i++
    }
    return undefined
  }
  // Skips to the next top-level comma (or the end), stepping over quoted strings.
  const recover = (): void => {
    let inQuote = false
    while (i < n) {
      const c = header.charCodeAt(i)
      if (inQuote) {
        if (c === 0x5c) i++
        else if (c === 0x22) inQuote = false
      } else if (c === 0x22) inQuote = true
      else if (c === 0x2c) return
      i++
    }
  }

  while (i < n) {
    skipOws()
    if (i >= n) break
    if (header.charCodeAt(i) === 0x2c) {
      i++
      continue
    }
    const name = token()
    const params: Array<readonly [string, string | undefined]> = []
    let ok = name !== ""
    skipOws()
    while (ok && i < n && header.charCodeAt(i) === 0x3b) {
      i++
      skipOws()
      const key = token()
      if (key === "") {
        ok = false
        break
      }
      skipOws()
      let value: string | undefined
      if (i < n && header.charCodeAt(i) === 0x3d) {
        i++
        skipOws()
        value = i < n && header.charCodeAt(i) === 0x22 ? quoted() : token()
        // A value must be a token, also once unquoted (RFC 6455 §9.1).
        if (value === undefined || !isToken(value)) {
          ok = false
          break
        }
        skipOws()
      }
      params.push([key, value])
    }
    if (ok && i < n && header.charCodeAt(i) !== 0x2c) ok = false
    if (!ok) recover()
    out.push({ name, params, malformed: !ok })
  }
  return out
}

// ---------------------------------------------------------------------------
// permessage-deflate parameters
// ---------------------------------------------------------------------------

interface Params {
  serverNoContextTakeover: boolean
  clientNoContextTakeover: boolean
  serverMaxWindowBits: number | undefined
  /** `0` stands for the bare parameter (allowed in an offer only). */
  clientMaxWindowBits: number | undefined
}

const MIN_BITS = 8
const MAX_BITS = 15

// "a decimal integer value without leading zeroes between 8 to 15" (§7.1.2).
const bits = (value: string): number | undefined => {
  if (value.length === 1) {
    return value === "8" || value === "9" ? Number(value) : undefined
  }
  if (value.length === 2 && value[0] === "1" && value[1] >= "0" && value[1] <= "5") return Number(value)
  return undefined
}

/**
 * Reads the parameters of one permessage-deflate element; a string explains
 * why they are unacceptable. `offer` allows the bare `client_max_window_bits`.
 */
const readParams = (
  params: ExtensionElement["params"],
  offer: boolean
): Params | string => {
  const p: Params = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined
  }
  const seen = new Set<string>()
  for (const [key, value] of params) {
    if (seen.has(key)) return `duplicate parameter ${key}`
    seen.add(key)
    switch (key) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        if (value !== undefined) return `parameter ${key} takes no value`
        if (key === "server_no_context_takeover") p.serverNoContextTakeover = true
        else p.clientNoContextTakeover = true
        break
      case "server_max_window_bits": {
        const b = value === undefined ? undefined : bits(value)
        if (b === undefined) return `invalid ${key}${value === undefined ? " (no value)" : `=${value}`}`
        p.serverMaxWindowBits = b
        break
      }
      case "client_max_window_bits": {
        if (value === undefined) {
          if (!offer) return `invalid ${key} (no value)`
          p.clientMaxWindowBits = 0
          break
        }
        const b = bits(value)
        if (b === undefined) return `invalid ${key}=${value}`
        p.clientMaxWindowBits = b
        break
      }
      default:
        return `unknown parameter ${key}`
    }
  }
  return p
}

const ownBits = (value: number | undefined): number => value ?? MAX_BITS

/**
 * Checks options before use; returns what is wrong, or undefined.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkOptions = (options: CompressionOptions): string | undefined => {
  const { clientMaxWindowBits: c, level, serverMaxWindowBits: s, threshold } = options
  const badBits = (b: number | undefined) => b !== undefined && !(Number.isInteger(b) && b >= MIN_BITS && b <= MAX_BITS)
  if (badBits(s)) return `serverMaxWindowBits must be an integer in 8..15, got ${s}`
  if (badBits(c)) return `clientMaxWindowBits must be an integer in 8..15, got ${c}`
  if (level !== undefined && !(Number.isInteger(level) && level >= 0 && level <= 9)) {
    return `level must be an integer in 0..9, got ${level}`
  }
  if (threshold !== undefined && !(threshold >= 0)) return `threshold must be >= 0, got ${threshold}`
  return undefined
}

/**
 * The server's side: `offers` is every `Sec-WebSocket-Extensions` request
 * value joined by `", "`. Returns the response header value and the agreed
 * parameters for the first acceptable permessage-deflate offer, or
 * undefined when compression is disabled or every offer is declined
 * (malformed, duplicated or unknown parameters, RFC 7692 §5).
 *
 * @since 0.1.0
 * @category negotiation
 */
export const negotiateServer = (
  offers: string,
  options: CompressionOptions
): { readonly header: string; readonly negotiated: Negotiated } | undefined => {
  if (options.mode === "disabled") return undefined
  const forceNoTakeover = options.mode === "no-context-takeover"
  for (const element of parseExtensions(offers)) {
    if (element.malformed || element.name !== extensionName) continue
    const p = readParams(element.params, true)
    if (typeof p === "string") continue

    const serverNoContextTakeover = p.serverNoContextTakeover || forceNoTakeover
    // The client's flag is a hint that it will not keep its context; echoing
    // it lets our decompressor drop the history too.
    const clientNoContextTakeover = p.clientNoContextTakeover || forceNoTakeover
    // Our window: never above what the client allows (§7.1.2.1).
    const serverMaxWindowBits = Math.min(ownBits(options.serverMaxWindowBits), p.serverMaxWindowBits ?? MAX_BITS)
    // The client's window: we may lower it only when it said it can (§7.1.2.2).
    let clientMaxWindowBits = MAX_BITS
    if (p.clientMaxWindowBits !== undefined) {
      const hint = p.clientMaxWindowBits === 0 ? MAX_BITS : p.clientMaxWindowBits
      clientMaxWindowBits = Math.min(hint, ownBits(options.clientMaxWindowBits))
    }

    let header = extensionName
    if (serverNoContextTakeover) header += "; server_no_context_takeover"
    if (clientNoContextTakeover) header += "; client_no_context_takeover"
    // Accepting an offered server_max_window_bits means echoing it (§7.1.2.1).
    if (p.serverMaxWindowBits !== undefined || serverMaxWindowBits < MAX_BITS) {
      header += `; server_max_window_bits=${serverMaxWindowBits}`
    }
    if (clientMaxWindowBits < MAX_BITS) header += `; client_max_window_bits=${clientMaxWindowBits}`
    return {
      header,
      negotiated: { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits }
    }
  }
  return undefined
}

/**
 * The client's offer, or undefined when compression is disabled. It always
 * carries `client_max_window_bits` (bare, or our limit), saying that we can
 * compress with whatever window the server picks.
 *
 * @since 0.1.0
 * @category negotiation
 */
export const clientOffer = (options: CompressionOptions): string | undefined => {
  if (options.mode === "disabled") return undefined
  let offer = extensionName
  if (options.mode === "no-context-takeover") offer += "; client_no_context_takeover; server_no_context_takeover"
  const s = ownBits(options.serverMaxWindowBits)
  if (s < MAX_BITS) offer += `; server_max_window_bits=${s}`
  const c = ownBits(options.clientMaxWindowBits)
  offer += c < MAX_BITS ? `; client_max_window_bits=${c}` : "; client_max_window_bits"
  return offer
}

/**
 * The client's check of the server's `Sec-WebSocket-Extensions` response
 * value ("" when absent): `Ok` with the agreed parameters (undefined when the
 * server declined), or `Reject` when the connection must fail (RFC 6455
 * §9.1, RFC 7692 §7.1).
 *
 * @since 0.1.0
 * @category negotiation
 */
export const acceptResponse = (
  header: string,
  options: CompressionOptions
):
  | { readonly _tag: "Ok"; readonly negotiated: Negotiated | undefined }
  | { readonly _tag: "Reject"; readonly message: string } =>
{
  const reject = (message: string) => ({ _tag: "Reject", message }) as const
  const elements = parseExtensions(header)
  if (elements.length === 0) return { _tag: "Ok", negotiated: undefined }
  if (options.mode === "disabled") return reject(`server selected extensions that were not offered: ${header}`)
  if (elements.length > 1) return reject(`server selected more than one extension: ${header}`)
  const [element] = elements as [ExtensionElement]
  if (element.malformed) return reject(`malformed Sec-WebSocket-Extensions: ${header}`)
  if (element.name !== extensionName) return reject(`server selected an extension that was not offered: ${element.name}`)
  const p = readParams(element.params, false)
  if (typeof p === "string") return reject(`unacceptable permessage-deflate response: ${p}`)

  const offeredNoTakeover = options.mode === "no-context-takeover"
  if (offeredNoTakeover && !p.serverNoContextTakeover) {
    return reject("server did not accept server_no_context_takeover")
  }
  const askedServer = ownBits(options.serverMaxWindowBits)
  if (askedServer < MAX_BITS) {
    if (p.serverMaxWindowBits === undefined) return reject("server did not accept server_max_window_bits")
    if (p.serverMaxWindowBits > askedServer) {
      return reject(`server_max_window_bits=${p.serverMaxWindowBits} exceeds the offered ${askedServer}`)
    }
  }
  const hintedClient = ownBits(options.clientMaxWindowBits)
  if (p.clientMaxWindowBits !== undefined && p.clientMaxWindowBits > hintedClient) {
    return reject(`client_max_window_bits=${p.clientMaxWindowBits} exceeds the offered ${hintedClient}`)
  }
  return {
    _tag: "Ok",
    negotiated: {
      serverNoContextTakeover: p.serverNoContextTakeover,
      // We promised not to keep our context in this mode, echoed or not.
      clientNoContextTakeover: p.clientNoContextTakeover || offeredNoTakeover,
      serverMaxWindowBits: p.serverMaxWindowBits ?? MAX_BITS,
      clientMaxWindowBits: p.clientMaxWindowBits ?? MAX_BITS
    }
  }
}

/**
 * What this side's compressor and decompressor use, and its compression
 * threshold. Our own window is also capped by our own option (a sender may
 * always use less than agreed).
 *
 * @since 0.1.0
 * @category negotiation
 */
export const sessionParams = (
  role: "client" | "server",
  n: Negotiated,
  options: CompressionOptions
): { readonly deflate: DeflateParams; readonly inflate: InflateParams; readonly threshold: number } => {
  const server = role === "server"
  const noContextTakeover = server ? n.serverNoContextTakeover : n.clientNoContextTakeover
  const windowBits = Math.min(
    server ? n.serverMaxWindowBits : n.clientMaxWindowBits,
    ownBits(server ? options.serverMaxWindowBits : options.clientMaxWindowBits)
  )
  return {
    deflate: { windowBits, noContextTakeover, level: options.level ?? defaultLevel },
    inflate: server
      ? { windowBits: n.clientMaxWindowBits, noContextTakeover: n.clientNoContextTakeover }
      : { windowBits: n.serverMaxWindowBits, noContextTakeover: n.serverNoContextTakeover },
    threshold: options.threshold ?? (noContextTakeover ? 512 : 128)
  }
}
