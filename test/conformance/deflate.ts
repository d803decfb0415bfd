/**
 * permessage-deflate (RFC 7692) for the conformance peer, independent of the
 * library: its own reading of the `Sec-WebSocket-Extensions` grammar, the
 * rules an offer and a response must follow (§5, §7.1), real compression
 * with node:zlib, and the checks on what the target sends (§7.2).
 */
import * as zlib from "node:zlib"
import { scanMessages } from "../support/deflateScan.js"
import { concat } from "./wire.js"

const { Z_FINISH, Z_SYNC_FLUSH } = zlib.constants

export const EXTENSION = "permessage-deflate"

// ---------------------------------------------------------------------------
// The header grammar (RFC 6455 §9.1, RFC 7230 §3.2.6)

/** One element of an extension list; `malformed` when it broke the grammar. */
export interface Element {
  readonly name: string
  readonly params: ReadonlyArray<readonly [string, string | undefined]>
  readonly malformed: boolean
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Splits at `sep` outside quoted strings. */
const splitOutsideQuotes = (s: string, sep: string): Array<string> => {
  const out: Array<string> = []
  let cur = ""
  let quoted = false
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string
    if (quoted && c === "\\" && i + 1 < s.length) {
      cur += c + (s[i + 1] as string)
      i++
      continue
    }
    if (c === '"') quoted = !quoted
    if (c === sep && !quoted) {
      out.push(cur)
      cur = ""
    } else cur += c
  }
  out.push(cur)
  return out
}

const unquote = (v: string): string | undefined => {
  if (!v.startsWith('"')) return v
  if (v.length < 2 || !v.endsWith('"')) return undefined
  return v.slice(1, -1).replace(/\\(.)/g, "$1")
}

/** Parses a header value; empty list elements are skipped (RFC 7230 §7). */
export const parseElements = (header: string): Array<Element> => {
  const out: Array<Element> = []
  for (const raw of splitOutsideQuotes(header, ",")) {
    if (raw.trim() === "") continue
    const [first = "", ...rest] = splitOutsideQuotes(raw, ";").map((s) => s.trim())
    let malformed = !TOKEN.test(first)
    const params: Array<readonly [string, string | undefined]> = []
    for (const p of rest) {
      const eq = p.indexOf("=")
      const key = (eq < 0 ? p : p.slice(0, eq)).trim()
      const rawValue = eq < 0 ? undefined : p.slice(eq + 1).trim()
      const value = rawValue === undefined ? undefined : unquote(rawValue)
      // A value must be a token, also once unquoted (RFC 6455 §9.1).
      if (!TOKEN.test(key) || (rawValue !== undefined && (value === undefined || !TOKEN.test(value)))) malformed = true
      params.push([key, value])
    }
    out.push({ name: first, params, malformed })
  }
  return out
}

// ---------------------------------------------------------------------------
// permessage-deflate parameters (RFC 7692 §7.1)

export interface Params {
  readonly serverNoContextTakeover: boolean
  readonly clientNoContextTakeover: boolean
  /** 8..15, or undefined when absent. */
  readonly serverMaxWindowBits: number | undefined
  /** 8..15, "bare" (offer only: no value), or undefined when absent. */
  readonly clientMaxWindowBits: number | "bare" | undefined
}

const windowBits = (v: string | undefined): number | undefined =>
  v !== undefined && /^(8|9|1[0-5])$/.test(v) ? Number(v) : undefined

/** The parameters of one element, or why they are invalid in an offer / a response. */
export const readParams = (e: Element, kind: "offer" | "response"): Params | string => {
  if (e.malformed) return "malformed element"
  if (e.name !== EXTENSION) return `not ${EXTENSION}: ${e.name}`
  const seen = new Set<string>()
  let snct = false
  let cnct = false
  let smwb: number | undefined
  let cmwb: number | "bare" | undefined
  for (const [k, v] of e.params) {
    if (seen.has(k)) return `duplicate parameter ${k}`
    seen.add(k)
    if (k === "server_no_context_takeover" || k === "client_no_context_takeover") {
      if (v !== undefined) return `${k} with a value`
      if (k === "server_no_context_takeover") snct = true
      else cnct = true
    } else if (k === "server_max_window_bits") {
      smwb = windowBits(v)
      if (smwb === undefined) return `invalid ${k}=${v ?? "(none)"}`
    } else if (k === "client_max_window_bits") {
      if (v === undefined && kind === "offer") cmwb = "bare"
      else {
        cmwb = windowBits(v)
        if (cmwb === undefined) return `invalid ${k}=${v ?? "(none)"}`
      }
    } else return `unknown parameter ${k}`
  }
  return { serverNoContextTakeover: snct, clientNoContextTakeover: cnct, serverMaxWindowBits: smwb, clientMaxWindowBits: cmwb }
}

/** What both sides must honour once a response accepted an offer. */
export interface Agreed {
  readonly serverNoContextTakeover: boolean
  readonly clientNoContextTakeover: boolean
  readonly serverMaxWindowBits: number
  readonly clientMaxWindowBits: number
}

/**
 * Why `response` is not a valid acceptance of `offer` (RFC 7692 §7.1.1,
 * §7.1.2), or undefined when it is.
 */
export const responseProblem = (offer: Params, response: Params): string | undefined => {
  if (offer.serverNoContextTakeover && !response.serverNoContextTakeover) {
    return "the offer asked for server_no_context_takeover and the response lacks it (§7.1.1.1)"
  }
  if (offer.serverMaxWindowBits !== undefined) {
    if (response.serverMaxWindowBits === undefined) return "the offer asked for server_max_window_bits and the response lacks it (§7.1.2.1)"
    if (response.serverMaxWindowBits > offer.serverMaxWindowBits) {
      return `server_max_window_bits=${response.serverMaxWindowBits} exceeds the offered ${offer.serverMaxWindowBits} (§7.1.2.1)`
    }
  }
  if (response.clientMaxWindowBits !== undefined) {
    if (offer.clientMaxWindowBits === undefined) return "client_max_window_bits in a response to an offer without it (§7.1.2.2)"
    if (typeof offer.clientMaxWindowBits === "number" && (response.clientMaxWindowBits as number) > offer.clientMaxWindowBits) {
      return `client_max_window_bits=${response.clientMaxWindowBits} exceeds the offered ${offer.clientMaxWindowBits} (§7.1.2.2)`
    }
  }
  return undefined
}

/** The agreement: the response's parameters, and the client's hints in its offer (§7.1.1.2, §7.1.2.2). */
export const agreed = (offer: Params, response: Params): Agreed => {
  const hint = typeof offer.clientMaxWindowBits === "number" ? offer.clientMaxWindowBits : 15
  const given = typeof response.clientMaxWindowBits === "number" ? response.clientMaxWindowBits : 15
  return {
    serverNoContextTakeover: response.serverNoContextTakeover,
    clientNoContextTakeover: response.clientNoContextTakeover || offer.clientNoContextTakeover,
    serverMaxWindowBits: response.serverMaxWindowBits ?? 15,
    clientMaxWindowBits: Math.min(hint, given)
  }
}

export const describeAgreed = (a: Agreed): string =>
  [
    a.serverNoContextTakeover ? "snct" : "",
    a.clientNoContextTakeover ? "cnct" : "",
    a.serverMaxWindowBits < 15 ? `s${a.serverMaxWindowBits}` : "",
    a.clientMaxWindowBits < 15 ? `c${a.clientMaxWindowBits}` : ""
  ]
    .filter((s) => s !== "")
    .join(",") || "defaults"

/**
 * The server side of a handshake: the response's extension header checked
 * against the offers. Returns the agreement (undefined when declined) and
 * every problem: a response must be one permessage-deflate element that
 * validly accepts the first acceptable offer (the client's order is its
 * preference, and every target here accepts whatever it can).
 */
export const checkResponse = (
  offers: string,
  response: string | undefined
): { readonly agreed: Agreed | undefined; readonly problems: Array<string> } => {
  const problems: Array<string> = []
  const offered = parseElements(offers)
    .map((e) => readParams(e, "offer"))
    .filter((p): p is Params => typeof p !== "string")
  if (response === undefined || parseElements(response).length === 0) return { agreed: undefined, problems }
  const elements = parseElements(response)
  if (elements.length > 1) problems.push(`response selects ${elements.length} extensions: ${response}`)
  const [element] = elements as [Element]
  const params = readParams(element, "response")
  if (typeof params === "string") {
    problems.push(`invalid response "${response}": ${params}`)
    return { agreed: undefined, problems }
  }
  const first = offered[0]
  if (first === undefined) {
    problems.push(`permessage-deflate accepted though every offer was invalid: ${response}`)
    return { agreed: undefined, problems }
  }
  const why = responseProblem(first, params)
  if (why !== undefined) problems.push(`response "${response}" does not accept the first valid offer: ${why}`)
  return { agreed: agreed(first, params), problems }
}

/** The raw server's view of a client's request: its one offer, or why it is unusable. */
export const readOffer = (header: string | undefined): Params | string => {
  if (header === undefined) return "no Sec-WebSocket-Extensions in the request"
  const elements = parseElements(header).filter((e) => e.name === EXTENSION)
  if (elements.length === 0) return `no ${EXTENSION} offer in "${header}"`
  const p = readParams(elements[0] as Element, "offer")
  return typeof p === "string" ? `invalid offer "${header}": ${p}` : p
}

/** A response header value for `p` (its parameters in RFC order). */
export const formatResponse = (p: Partial<Params>): string => {
  let s = EXTENSION
  if (p.serverNoContextTakeover === true) s += "; server_no_context_takeover"
  if (p.clientNoContextTakeover === true) s += "; client_no_context_takeover"
  if (p.serverMaxWindowBits !== undefined) s += `; server_max_window_bits=${p.serverMaxWindowBits}`
  if (p.clientMaxWindowBits !== undefined) s += `; client_max_window_bits=${p.clientMaxWindowBits}`
  return s
}

// ---------------------------------------------------------------------------
// Compression by the peer

/**
 * The peer's compressor: a real streaming node:zlib raw deflate (context
 * takeover keeps the stream), one sync flush per message, the `00 00 FF FF`
 * removed (§7.2.1). zlib cannot deflate with 8 bits and uses 9; its matches
 * then reach at most 2^9 − 262 = 250 bytes back, within an 8-bit window.
 */
export class PeerDeflater {
  private stream: zlib.DeflateRaw | undefined
  private readonly bits: number

  constructor(
    windowBits: number,
    private readonly noContextTakeover: boolean,
    private readonly level = 6
  ) {
    this.bits = Math.max(9, windowBits)
  }

  async compress(data: Uint8Array): Promise<Uint8Array> {
    const out = this.noContextTakeover
      ? zlib.deflateRawSync(data, { windowBits: this.bits, level: this.level, finishFlush: Z_SYNC_FLUSH })
      : await this.flushThrough(data)
    return strip(out)
  }

  private flushThrough(data: Uint8Array): Promise<Buffer> {
    const stream = (this.stream ??= zlib.createDeflateRaw({ windowBits: this.bits, level: this.level }))
    return new Promise((resolve, reject) => {
      const chunks: Array<Buffer> = []
      const onData = (c: Buffer): void => void chunks.push(c)
      stream.on("data", onData)
      stream.once("error", reject)
      stream.write(data)
      stream.flush(Z_SYNC_FLUSH, () => {
        stream.off("data", onData)
        stream.off("error", reject)
        resolve(Buffer.concat(chunks))
      })
    })
  }

  close(): void {
    this.stream?.close()
    this.stream = undefined
  }
}

/** Removes the sync flush's tail; an empty message is one empty stored block minus its tail (§7.2.3.6). */
const strip = (out: Uint8Array): Uint8Array => {
  const n = out.length
  if (n >= 4 && out[n - 4] === 0 && out[n - 3] === 0 && out[n - 2] === 0xff && out[n - 1] === 0xff) {
    return n === 4 ? Uint8Array.of(0) : out.subarray(0, n - 4)
  }
  // zlib writes nothing for a flush right after a flush (an empty message).
  if (n === 0) return Uint8Array.of(0)
  throw new Error("deflate output does not end with a sync flush")
}

// ---------------------------------------------------------------------------
// Checking what the target sends

/**
 * The tail appended before inflating (§7.2.2), then an empty final block,
 * so that node:zlib under Z_FINISH fails on a message that does not end
 * where the tail says (truncated, or with its own tail left in).
 */
const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff, 0x03, 0x00)

/**
 * Inflates the target's compressed messages in order with node:zlib, the
 * history of earlier messages given as a dictionary under context takeover.
 */
export class TargetInflater {
  private history: Uint8Array = new Uint8Array(0)
  private readonly bits: number
  readonly payloads: Array<Uint8Array> = []

  constructor(
    private readonly windowBits: number,
    private readonly noContextTakeover: boolean
  ) {
    this.bits = Math.max(9, windowBits)
  }

  /** The message, or why it does not inflate. */
  inflate(payload: Uint8Array): Uint8Array | string {
    this.payloads.push(payload)
    const options: zlib.ZlibOptions = { windowBits: this.bits, finishFlush: Z_FINISH }
    if (!this.noContextTakeover && this.history.length > 0) options.dictionary = this.history
    let out: Uint8Array
    try {
      out = zlib.inflateRawSync(concat([payload, TAIL]), options)
    } catch (e) {
      return e instanceof Error ? e.message : String(e)
    }
    if (!this.noContextTakeover) {
      const keep = 1 << this.bits
      const h = concat([this.history, out])
      this.history = h.length > keep ? h.slice(h.length - keep) : h
    }
    return out
  }

  /**
   * The window check (needed below 15 bits: zlib's inflater does not hold a
   * sender to a smaller window): every back-reference within 2^bits, and
   * none before the message's start without context takeover.
   */
  windowProblem(): string | undefined {
    if (this.payloads.length === 0) return undefined
    if (this.windowBits >= 15) return undefined
    try {
      const { maxDistance } = scanMessages(this.payloads, !this.noContextTakeover)
      if (maxDistance > 1 << this.windowBits) {
        return `a back-reference ${maxDistance} bytes back exceeds the agreed ${this.windowBits}-bit window (${1 << this.windowBits} bytes)`
      }
    } catch (e) {
      return `DEFLATE scan: ${e instanceof Error ? e.message : String(e)}`
    }
    return undefined
  }
}
