/**
 * The permessage-deflate catalogue (RFC 7692): Autobahn categories 12
 * (compressed echo of different payloads) and 13 (different parameters),
 * bounded for CI, and our own cases for negotiation, the RFC's examples,
 * the frame rules, the inflated-size limit and corrupt streams.
 *
 * Bounds: Autobahn sends 1000 messages per case and has 18 size/fragment
 * rows per payload or parameter set. We keep its case numbers for the rows
 * we run, send at most 32 messages (fewer as they grow: about 128 KiB per
 * case), and generate the payloads (Autobahn ships files).
 */
import { jsonLike, prng } from "../support/jsonLike.js"
import type { Case, CaseInput, DataMessage, DeflateSetup, ExpectedEvent, Role, Step } from "./cases.js"
import { cont, echo, fail, gotPong, mk, msgBinary, msgText, ping, send, sizeName, text } from "./cases.js"
import type { Agreed, Params } from "./deflate.js"
import { describeAgreed } from "./deflate.js"
import type { DeflateConfig } from "./targets.js"
import type { FrameSpec } from "./wire.js"
import { hex, Op } from "./wire.js"
import * as zlib from "node:zlib"

const KiB = 1024
const DATA_BYTES = 256 * KiB
/** Bytes of payload per case (each direction), roughly. */
const CASE_BYTES = 128 * KiB
const MAX_MESSAGES = 32

// ---------------------------------------------------------------------------
// Payloads: stand-ins for Autobahn's files, deterministic

const encoder = new TextEncoder()

const cut = (s: string): Uint8Array => {
  const b = encoder.encode(s)
  return b.subarray(0, DATA_BYTES)
}

/** A 512-pixel-wide 8-bit greyscale picture: smooth shapes plus sensor noise. */
const bitmap = (): Uint8Array => {
  const r = prng(2)
  const out = new Uint8Array(DATA_BYTES)
  for (let i = 0; i < out.length; i++) {
    const x = i % 512
    const y = Math.floor(i / 512)
    const v = 128 + 60 * Math.sin(x / 23) * Math.cos(y / 17) + 30 * Math.sin((x + 2 * y) / 41) + (r() * 16 - 8)
    out[i] = Math.max(0, Math.min(255, Math.round(v)))
  }
  return out
}

const WORDS = [
  "Faust", "Mephistopheles", "Gretchen", "Wagner", "über", "schön", "Größe", "Straße", "Mädchen", "Höhle", "Geist",
  "und", "die", "der", "das", "ich", "nicht", "mit", "Welt", "Himmel", "Erde", "möchte", "Träume", "Nacht", "Blüte",
  "weiß", "Tür", "Häuser", "König", "fröhlich", "Glück", "Wissenschaft", "Teufel", "Seele", "Augenblick"
]

/** Verse-like German text (UTF-8 with umlauts and ß); sent as binary, as Autobahn sends Faust. */
const verse = (): Uint8Array => {
  const r = prng(3)
  let s = ""
  while (s.length < DATA_BYTES) {
    const n = 4 + Math.floor(r() * 6)
    const line: Array<string> = []
    for (let k = 0; k < n; k++) line.push(WORDS[Math.floor(r() * WORDS.length)] as string)
    s += line.join(" ") + (r() < 0.2 ? "!\n" : r() < 0.5 ? ",\n" : ".\n")
    if (r() < 0.1) s += "\n" + (WORDS[Math.floor(r() * 4)] as string).toUpperCase() + ":\n"
  }
  return cut(s)
}

/** An HTML page (ASCII). */
const html = (): Uint8Array => {
  const r = prng(4)
  const w = (): string => (WORDS[Math.floor(r() * 11)] as string).replace(/[^a-zA-Z]/g, "x")
  let s = "<!doctype html><html><head><title>data</title></head><body>\n"
  for (let i = 0; s.length < DATA_BYTES; i++) {
    s += `<div class="item item-${i % 7}" id="n${i}"><a href="/${w()}/${Math.floor(r() * 1e5)}">${w()} ${w()}</a>`
    s += `<span class="price">${(r() * 100).toFixed(2)}</span><p>${w()} ${w()} ${w()}.</p></div>\n`
  }
  return cut(s)
}

/** PDF-like: object syntax between incompressible streams. */
const mixed = (): Uint8Array => {
  const r = prng(5)
  const out = new Uint8Array(DATA_BYTES)
  let o = 0
  for (let obj = 1; o < out.length; obj++) {
    const head = encoder.encode(`${obj} 0 obj\n<< /Type /XObject /Subtype /Image /Length ${obj * 7} /Filter /FlateDecode >>\nstream\n`)
    out.set(head.subarray(0, out.length - o), o)
    o += head.length
    const n = 200 + Math.floor(r() * 1800)
    for (let k = 0; k < n && o < out.length; k++) out[o++] = Math.floor(r() * 256)
    const tail = encoder.encode("\nendstream\nendobj\n")
    out.set(tail.subarray(0, Math.max(0, out.length - o)), o)
    o += tail.length
  }
  return out
}

interface Payload {
  readonly name: string
  readonly type: "text" | "binary"
  readonly make: () => Uint8Array
}

/** The 12.x payloads in Autobahn's order of its 12.1–12.5. */
const PAYLOADS: ReadonlyArray<Payload> = [
  { name: "JSON-like text", type: "text", make: () => jsonLike(DATA_BYTES, 12) },
  { name: "8-bit greyscale bitmap", type: "binary", make: bitmap },
  { name: "German verse in UTF-8", type: "binary", make: verse },
  { name: "HTML", type: "text", make: html },
  { name: "PDF-like (half incompressible)", type: "binary", make: mixed }
]

/** Autobahn's MSG_SIZES rows we run: case number → [payload size, auto-fragment size]. */
const ROWS_12: ReadonlyArray<readonly [number, number, number]> = [
  [1, 16, 0],
  [2, 64, 0],
  [3, 256, 0],
  [4, 1024, 0],
  [5, 4096, 0],
  [7, 16384, 0],
  [9, 65536, 0],
  [10, 131072, 0],
  [12, 16384, 256],
  [17, 131072, 4096]
]
const ROWS_13: ReadonlyArray<readonly [number, number, number]> = [
  [2, 64, 0],
  [4, 1024, 0],
  [7, 16384, 0],
  [12, 16384, 256],
  [17, 131072, 4096]
]
/** For our own parameter sets. */
const ROWS_OURS: ReadonlyArray<readonly [number, number, number]> = [
  [4, 1024, 0],
  [9, 65536, 0],
  [12, 16384, 256]
]

const countFor = (size: number): number => Math.max(2, Math.min(MAX_MESSAGES, Math.floor(CASE_BYTES / size)))

/** Consecutive slices of the payload, starting over when one would run past its end (views, not copies). */
const slices = (data: Uint8Array, type: "text" | "binary", size: number, count: number): Array<DataMessage> => {
  const out: Array<DataMessage> = []
  let at = 0
  for (let i = 0; i < count; i++) {
    if (at + size > data.length) at = 0
    out.push({ type, data: data.subarray(at, at + size) })
    at += size
  }
  return out
}

const expectOf = (m: DataMessage): ExpectedEvent => (m.type === "text" ? msgText(m.data) : msgBinary(m.data))

// ---------------------------------------------------------------------------
// Negotiation settings

const TAKEOVER: DeflateConfig = { mode: "context-takeover", threshold: 0 }
const PMD = "permessage-deflate"
/** What browsers and ws offer. */
const DEFAULT_OFFER = `${PMD}; client_max_window_bits`

const setup = (s: Omit<DeflateSetup, "negotiated" | "target"> & Partial<Pick<DeflateSetup, "negotiated" | "target">>): DeflateSetup => ({
  target: TAKEOVER,
  negotiated: true,
  allCompressed: true,
  ...s
})

/** Accepted as offered, in both roles: the server accepts the default offer with a plain response. */
const DEFAULT = setup({ offer: DEFAULT_OFFER, respond: () => PMD })

const requireAgreed = (want: Partial<Agreed>) => (a: Agreed): string | undefined => {
  const bad: Array<string> = []
  if (want.serverNoContextTakeover === true && !a.serverNoContextTakeover) bad.push("server_no_context_takeover")
  if (want.clientNoContextTakeover === true && !a.clientNoContextTakeover) bad.push("client_no_context_takeover")
  if (want.serverMaxWindowBits !== undefined && a.serverMaxWindowBits > want.serverMaxWindowBits) {
    bad.push(`server_max_window_bits<=${want.serverMaxWindowBits}`)
  }
  if (want.clientMaxWindowBits !== undefined && a.clientMaxWindowBits > want.clientMaxWindowBits) {
    bad.push(`client_max_window_bits<=${want.clientMaxWindowBits}`)
  }
  return bad.length === 0 ? undefined : `agreed ${describeAgreed(a)}, want ${bad.join(", ")}`
}

const roundtrips = (
  id: string,
  autobahn: boolean,
  roles: ReadonlyArray<Role>,
  what: string,
  messages: ReadonlyArray<DataMessage>,
  fragment: number,
  deflate: DeflateSetup
): Case => {
  const first = messages[0]
  const size = first === undefined ? 0 : first.data.length
  return mk({
    id,
    autobahn,
    roles,
    description:
      `Send ${messages.length} compressed ${first?.type ?? ""} messages of ${sizeName(size)}` +
      `${autobahn ? " (Autobahn: 1000)" : ""}${fragment > 0 ? `, in frames of ${fragment} bytes` : ""}, ` +
      `each after the previous echo; ${what}. Every echo must be compressed within the agreed parameters.`,
    eventsMs: 20_000,
    deflate,
    steps: [{ kind: "deflateRoundtrips", messages, fragment }],
    expect: echo(messages.map(expectOf))
  })
}

// ---------------------------------------------------------------------------
// 12 Different payloads, default parameters

const category12 = (): Array<Case> => {
  const out: Array<Case> = []
  PAYLOADS.forEach((p, j) => {
    const data = p.make()
    for (const [i, size, frag] of ROWS_12) {
      out.push(roundtrips(`12.${j + 1}.${i}`, true, ["server", "client"], `${p.name}, default offer`, slices(data, p.type, size, countFor(size)), frag, DEFAULT))
    }
  })
  return out
}

// ---------------------------------------------------------------------------
// 13 Different parameters

interface ParamSet {
  readonly id: number
  readonly autobahn: boolean
  readonly roles: ReadonlyArray<Role>
  readonly what: string
  readonly deflate: DeflateSetup
  readonly rows: ReadonlyArray<readonly [number, number, number]>
}

/** Autobahn's fuzzing server: accept asking the client for (no context takeover, window bits); 0 = no window. */
const autobahnAccept = (noContext: boolean, bits: number) => (o: Params): string | undefined => {
  if (bits > 0 && o.clientMaxWindowBits === undefined) return undefined // cannot ask for a window it did not offer to take
  let s = PMD
  if (noContext) s += "; client_no_context_takeover"
  if (bits > 0) s += `; client_max_window_bits=${bits}`
  return s
}

/** Autobahn's fuzzing client's offer asking the server for (no context takeover, window bits). */
const autobahnOffer = (noContext: boolean, bits: number): string =>
  `${PMD}; client_max_window_bits${noContext ? "; server_no_context_takeover" : ""}${bits > 0 ? `; server_max_window_bits=${bits}` : ""}`

/**
 * 13.1–13.7 as Autobahn runs them: against a server, the offer asks for the
 * server's parameters; against a client, the response asks for the client's.
 * Where Autobahn's source asks for 8 we ask for 9 (zlib-based peers cannot
 * deflate with 8); 8 is in our own sets below.
 */
const AUTOBAHN_13: ReadonlyArray<readonly [number, boolean, number]> = [
  [1, false, 0],
  [2, true, 0],
  [3, false, 9],
  [4, false, 15],
  [5, true, 9],
  [6, true, 15]
]

const paramSets = (): Array<ParamSet> => {
  const sets: Array<ParamSet> = []
  for (const [id, noContext, bits] of AUTOBAHN_13) {
    const what = `(no context takeover, window bits) = (${noContext}, ${bits})`
    sets.push({
      id,
      autobahn: true,
      roles: ["server", "client"],
      what: `the offer asks the server / the response asks the client for ${what}`,
      deflate: setup({ offer: autobahnOffer(noContext, bits), respond: autobahnAccept(noContext, bits) }),
      rows: ROWS_13
    })
  }
  sets.push({
    id: 7,
    autobahn: true,
    roles: ["server", "client"],
    what: "three offers (true, 9), (true, 0), (false, 0): the first acceptable is taken",
    deflate: setup({
      offer: [autobahnOffer(true, 9), autobahnOffer(true, 0), autobahnOffer(false, 0)].join(", "),
      respond: (o) => autobahnAccept(true, 9)(o) ?? autobahnAccept(true, 0)(o) ?? autobahnAccept(false, 0)(o)
    }),
    rows: ROWS_13
  })
  const server = (id: number, what: string, offer: string, more: Partial<DeflateSetup> = {}): ParamSet => ({
    id,
    autobahn: false,
    roles: ["server"],
    what,
    deflate: setup({ offer, ...more }),
    rows: ROWS_OURS
  })
  const client = (id: number, what: string, respond: (o: Params) => string | undefined, more: Partial<DeflateSetup> = {}): ParamSet => ({
    id,
    autobahn: false,
    roles: ["client"],
    what,
    deflate: setup({ respond, ...more }),
    rows: ROWS_OURS
  })
  const all = "server_no_context_takeover; client_no_context_takeover"
  sets.push(
    server(8, "the offer hints client_no_context_takeover", `${PMD}; client_no_context_takeover; client_max_window_bits`),
    server(9, "the offer hints client_max_window_bits=9", `${PMD}; client_max_window_bits=9`),
    server(10, "the offer says client_max_window_bits=15", `${PMD}; client_max_window_bits=15`),
    server(11, "the offer asks for server_max_window_bits=8", `${PMD}; client_max_window_bits; server_max_window_bits=8`),
    server(12, "the offer hints client_max_window_bits=8", `${PMD}; client_max_window_bits=8`),
    server(13, "the offer has all four parameters, windows 9", `${PMD}; ${all}; server_max_window_bits=9; client_max_window_bits=9`),
    server(14, "the offer has all four parameters, windows 8", `${PMD}; ${all}; server_max_window_bits=8; client_max_window_bits=8`),
    server(15, "the server is configured for no context takeover (both sides)", DEFAULT_OFFER, {
      target: { mode: "no-context-takeover", threshold: 0 },
      check: requireAgreed({ serverNoContextTakeover: true, clientNoContextTakeover: true })
    }),
    server(16, "the server is configured for windows of 10 (its own) and 11 (the client's)", DEFAULT_OFFER, {
      target: { mode: "context-takeover", serverMaxWindowBits: 10, clientMaxWindowBits: 11, threshold: 0 },
      check: requireAgreed({ serverMaxWindowBits: 10, clientMaxWindowBits: 11 })
    }),
    server(17, "the server is configured for a window of 8 (its own)", DEFAULT_OFFER, {
      target: { mode: "context-takeover", serverMaxWindowBits: 8, threshold: 0 },
      check: requireAgreed({ serverMaxWindowBits: 8 })
    }),
    client(8, "the response adds server_no_context_takeover unasked (§7.1.1.1 allows it)", () => `${PMD}; server_no_context_takeover`),
    client(9, "the client asks for server_max_window_bits=9, the response grants 9", (o) =>
      o.serverMaxWindowBits === 9 ? `${PMD}; server_max_window_bits=9` : undefined, {
      target: { ...TAKEOVER, serverMaxWindowBits: 9 }
    }),
    client(10, "the client asks for server_max_window_bits=9, the response says 8 (smaller is allowed)", (o) =>
      o.serverMaxWindowBits === 9 ? `${PMD}; server_max_window_bits=8` : undefined, {
      target: { ...TAKEOVER, serverMaxWindowBits: 9 }
    }),
    client(11, "the response asks for client_max_window_bits=8", autobahnAccept(false, 8)),
    client(12, "the client is configured for no context takeover; the response grants both", (o) =>
      o.serverNoContextTakeover ? `${PMD}; ${all}` : undefined, {
      target: { mode: "no-context-takeover", threshold: 0 },
      check: requireAgreed({ serverNoContextTakeover: true, clientNoContextTakeover: true })
    }),
    client(13, "all four parameters, windows 9", (o) =>
      o.serverNoContextTakeover && o.serverMaxWindowBits === 9 && o.clientMaxWindowBits !== undefined
        ? `${PMD}; ${all}; server_max_window_bits=9; client_max_window_bits=9`
        : undefined, {
      target: { mode: "no-context-takeover", serverMaxWindowBits: 9, clientMaxWindowBits: 9, threshold: 0 }
    }),
    client(14, "the client hints client_max_window_bits=10; the response says nothing of it (the hint binds the client)", () => PMD, {
      target: { ...TAKEOVER, clientMaxWindowBits: 10 },
      check: requireAgreed({ clientMaxWindowBits: 10 })
    })
  )
  return sets
}

const category13 = (): Array<Case> => {
  const out: Array<Case> = []
  const data = jsonLike(DATA_BYTES, 13)
  for (const set of paramSets()) {
    for (const [i, size, frag] of set.rows) {
      out.push(roundtrips(`13.${set.id}.${i}`, set.autobahn, set.roles, set.what, slices(data, "text", size, countFor(size)), frag, set.deflate))
    }
  }
  return out
}

// ---------------------------------------------------------------------------
// Ours: negotiation

const negotiation = (): Array<Case> => {
  const out: Array<Case> = []
  // After a decline, a plain message must still make the round trip.
  const ECHO_AFTER: Step = send([text("uncompressed after the handshake")])
  const echoAfter = echo([msgText("uncompressed after the handshake")])
  // Server role: offers, and what the server must make of them.
  const offer = (id: string, description: string, o: string | ReadonlyArray<string>, negotiated: boolean, more: Partial<DeflateSetup> = {}): Case =>
    mk({
      id,
      autobahn: false,
      roles: ["server"],
      description,
      deflate: setup({ offer: o, negotiated, ...more }),
      steps: negotiated ? [{ kind: "deflateRoundtrips", messages: [{ type: "text", data: jsonLike(3000, 20) }], fragment: 0 }] : [ECHO_AFTER],
      expect: negotiated ? echo([msgText(jsonLike(3000, 20))]) : echoAfter
    })
  out.push(
    offer("13.20.1", "Offers: one with an unknown parameter, then a plain one: the second is accepted (RFC 7692 §5).", `${PMD}; x_unknown=1, ${PMD}`, true),
    offer(
      "13.20.2",
      "Offers: server_max_window_bits=16 (invalid), then server_max_window_bits=10: the second is accepted, with a window of 10 or less.",
      `${PMD}; server_max_window_bits=16, ${PMD}; server_max_window_bits=10`,
      true
    ),
    offer("13.20.3", "Offers: an unknown extension, then permessage-deflate: accepted.", `x-webkit-deflate-frame, ${DEFAULT_OFFER}`, true),
    offer(
      "13.20.4",
      "Offers on two header lines: a bare server_max_window_bits (invalid), then server_no_context_takeover: the second is accepted.",
      [`${PMD}; server_max_window_bits`, `${PMD}; server_no_context_takeover`],
      true
    ),
    offer("13.20.5", 'A quoted value, server_max_window_bits="10": accepted as 10 (RFC 6455 §9.1).', `${PMD}; server_max_window_bits="10"`, true),
    offer(
      "13.20.6",
      "The server asks for a client window of 10 but the offer has no client_max_window_bits: declined, or accepted without that parameter (§7.1.2.2).",
      PMD,
      true,
      { negotiated: undefined, target: { ...TAKEOVER, clientMaxWindowBits: 10 } }
    )
  )
  const declined: ReadonlyArray<readonly [string, string]> = [
    ["server_max_window_bits without a value", `${PMD}; server_max_window_bits`],
    ["server_max_window_bits=7", `${PMD}; server_max_window_bits=7`],
    ["client_max_window_bits=16", `${PMD}; client_max_window_bits=16`],
    ["server_max_window_bits=010 (a leading zero)", `${PMD}; server_max_window_bits=010`],
    ["server_no_context_takeover twice", `${PMD}; server_no_context_takeover; server_no_context_takeover`],
    ["server_no_context_takeover=true (a value on a flag)", `${PMD}; server_no_context_takeover=true`],
    ["an unknown parameter", `${PMD}; foo`],
    ["client_max_window_bits twice", `${PMD}; client_max_window_bits=10; client_max_window_bits=11`],
    ['a quoted value that is not a token, server_max_window_bits="1 0"', `${PMD}; server_max_window_bits="1 0"`],
    ["an empty parameter (a trailing semicolon)", `${PMD};`]
  ]
  declined.forEach(([what, o], k) =>
    out.push(offer(`13.21.${k + 1}`, `The only offer has ${what}: declined (RFC 7692 §5), the handshake succeeds and messages flow uncompressed.`, o, false))
  )

  // Client role: responses the client must take, and ones it must refuse.
  const respond = (id: string, description: string, r: (o: Params) => string | undefined, negotiated: boolean, more: Partial<DeflateSetup> = {}): Case =>
    mk({
      id,
      autobahn: false,
      roles: ["client"],
      description,
      deflate: setup({ respond: r, negotiated, ...more }),
      steps: negotiated ? [{ kind: "deflateRoundtrips", messages: [{ type: "text", data: jsonLike(3000, 21) }], fragment: 0 }] : [ECHO_AFTER],
      expect: negotiated ? echo([msgText(jsonLike(3000, 21))]) : echoAfter
    })
  out.push(
    respond("13.20.1", 'A quoted value in the response, client_max_window_bits="10": taken as 10.', () => `${PMD}; client_max_window_bits="10"`, true, {
      check: requireAgreed({ clientMaxWindowBits: 10 })
    }),
    respond("13.20.2", "The server declines (no Sec-WebSocket-Extensions): messages flow uncompressed.", () => undefined, false)
  )
  const refused: ReadonlyArray<readonly [string, (o: Params) => string | undefined, DeflateConfig?]> = [
    ["server_max_window_bits=16", () => `${PMD}; server_max_window_bits=16`],
    ["client_max_window_bits without a value (allowed only in offers)", () => `${PMD}; client_max_window_bits`],
    ["an unknown parameter", () => `${PMD}; foo=1`],
    ["server_no_context_takeover twice", () => `${PMD}; server_no_context_takeover; server_no_context_takeover`],
    ["two permessage-deflate elements", () => `${PMD}, ${PMD}`],
    ["server_max_window_bits=12 where the client asked for 10", () => `${PMD}; server_max_window_bits=12`, { ...TAKEOVER, serverMaxWindowBits: 10 }],
    ["no server_max_window_bits where the client asked for 10", () => PMD, { ...TAKEOVER, serverMaxWindowBits: 10 }],
    ["client_max_window_bits=12 where the client offered 10", () => `${PMD}; client_max_window_bits=12`, { ...TAKEOVER, clientMaxWindowBits: 10 }],
    ["no server_no_context_takeover where the client asked for it", () => PMD, { mode: "no-context-takeover", threshold: 0 }],
    ["client_no_context_takeover=1 (a value on a flag)", () => `${PMD}; client_no_context_takeover=1`],
    ["an empty parameter (a trailing semicolon)", () => `${PMD};`],
    ["permessage-deflate and an unknown extension", () => `${PMD}, x-unknown`]
  ]
  refused.forEach(([what, r, target], k) =>
    out.push(
      mk({
        id: `13.22.${k + 1}`,
        autobahn: false,
        roles: ["client"],
        description: `A 101 whose permessage-deflate response has ${what}: refused (RFC 7692 §7.1, RFC 6455 §9.1).`,
        deflate: setup({ respond: r, negotiated: undefined, ...(target === undefined ? {} : { target }) }),
        steps: [],
        expect: { kind: "refuse" }
      })
    )
  )
  return out
}

// ---------------------------------------------------------------------------
// Ours: frames, the RFC's examples, limits, corrupt data (both roles)

/** A compressed data frame (RSV1 set). */
const deflated = (opcode: number, payload: Uint8Array, fin = true): FrameSpec => ({ opcode, payload, fin, rsv: 4 })

const HELLO = hex("f2 48 cd c9 c9 07 00")

const built = (build: (compress: (d: Uint8Array) => Promise<Uint8Array>) => Promise<ReadonlyArray<FrameSpec>>, label?: string): Step =>
  label === undefined ? { kind: "deflateSend", build } : { kind: "deflateSend", build, label }

const wire = (): Array<Case> => {
  const c = (input: Omit<CaseInput, "autobahn" | "deflate"> & { readonly deflate?: DeflateSetup }): Case =>
    mk({ autobahn: false, eventsMs: 10_000, ...input, deflate: input.deflate ?? DEFAULT })
  const limit = 64 * KiB
  const json = jsonLike(8 * KiB, 30)
  const utf8Text = encoder.encode("Größe über Straße, schön—€ “Mädchen” ".repeat(200))
  const badUtf8Text = Uint8Array.from([...utf8Text.subarray(0, 3001), 0xed, 0xa0, 0x80, ...utf8Text.subarray(3001)])
  const atLimit = jsonLike(limit, 31)
  return [
    c({ id: "12.20.1", description: 'RFC 7692 §7.2.3.1: "Hello" compressed (f2 48 cd c9 c9 07 00).', steps: [send([deflated(Op.Text, HELLO)])], expect: echo([msgText("Hello")]) }),
    c({
      id: "12.20.2",
      description: 'RFC 7692 §7.2.3.2: "Hello" twice, the second a back-reference into the first (f2 00 11 00 00): context takeover.',
      steps: [send([deflated(Op.Text, HELLO), deflated(Op.Text, hex("f2 00 11 00 00"))])],
      expect: echo([msgText("Hello"), msgText("Hello")])
    }),
    c({
      id: "12.20.3",
      description: 'RFC 7692 §7.2.3.3: "Hello" in a block with BFINAL set, then an empty stored block; then §7.2.3.1\'s "Hello".',
      steps: [send([deflated(Op.Text, hex("f3 48 cd c9 c9 07 00 00")), deflated(Op.Text, HELLO)])],
      expect: echo([msgText("Hello"), msgText("Hello")])
    }),
    c({
      id: "12.20.4",
      description: 'RFC 7692 §7.2.3.4: "Hello" in two DEFLATE blocks (the first ends with its own sync flush).',
      steps: [send([deflated(Op.Text, hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00"))])],
      expect: echo([msgText("Hello")])
    }),
    c({
      id: "12.20.5",
      description: 'RFC 7692 §7.2.3.5: "Hello" in a stored (uncompressed) DEFLATE block.',
      steps: [send([deflated(Op.Text, hex("00 05 00 fa ff 48 65 6c 6c 6f 00"))])],
      expect: echo([msgText("Hello")])
    }),
    c({
      id: "12.20.6",
      description: "RFC 7692 §7.2.3.6: an empty compressed message (the payload 00), text and binary.",
      steps: [send([deflated(Op.Text, hex("00")), deflated(Op.Binary, hex("00"))])],
      expect: echo([msgText(""), msgBinary(new Uint8Array(0))])
    }),
    c({
      id: "12.20.7",
      description: 'A compressed message in two frames, RSV1 on the first only: f2 48 cd | c9 c9 07 00 ("Hello").',
      steps: [send([deflated(Op.Text, hex("f2 48 cd"), false), cont(hex("c9 c9 07 00"))])],
      expect: echo([msgText("Hello")])
    }),
    c({
      id: "12.20.8",
      description:
        "Compressed and uncompressed messages alternate under context takeover: only compressed messages enter the compression context.",
      steps: [
        {
          kind: "deflateRoundtrips",
          fragment: 0,
          messages: [0, 1, 2, 3, 4, 5].map((k) => ({ type: "text" as const, data: json.subarray(k * 1000, k * 1000 + 1400), compressed: k % 2 === 0 }))
        }
      ],
      expect: echo([0, 1, 2, 3, 4, 5].map((k) => msgText(json.subarray(k * 1000, k * 1000 + 1400))))
    }),
    c({
      id: "12.20.9",
      description: "Pings between the frames of a compressed message: pongs first, uncompressed, then the message.",
      steps: [
        built(async (compress) => {
          const p = await compress(json)
          const third = Math.floor(p.length / 3)
          return [
            deflated(Op.Binary, p.subarray(0, third), false),
            ping("one"),
            cont(p.subarray(third, 2 * third), false),
            ping("two"),
            cont(p.subarray(2 * third))
          ]
        })
      ],
      expect: echo([gotPong("one"), gotPong("two"), msgBinary(json)])
    }),
    c({
      id: "12.20.10",
      description: "RSV1 on a continuation frame (RFC 7692 §6.1: only the first frame): 1002.",
      steps: [built(async (compress) => {
        const p = await compress(json)
        return [deflated(Op.Text, p.subarray(0, 10), false), { ...cont(p.subarray(10)), rsv: 4 }]
      })],
      expect: fail(1002)
    }),
    c({ id: "12.20.11", description: "RSV1 on a ping (control frames are never compressed): 1002.", steps: [send([{ ...ping("x"), rsv: 4 }])], expect: fail(1002) }),
    c({
      id: "12.20.12",
      description: "A compressed message that is not DEFLATE (a block of the reserved type 3): 1007.",
      steps: [send([deflated(Op.Binary, hex("ff ff ff ff 12"))])],
      expect: fail(1007)
    }),
    c({
      id: "12.20.13",
      description: "A compressed message that ends in the middle of a block: 1007.",
      steps: [built(async (compress) => [deflated(Op.Binary, (await compress(json)).subarray(0, 200))])],
      expect: fail(1007)
    }),
    c({
      id: "12.20.14",
      description: "A compressed text message that inflates to invalid UTF-8: 1007.",
      steps: [built(async (compress) => [deflated(Op.Text, await compress(hex("cebae1bdb9cf83cebcceb5 eda080 656469746564")))])],
      expect: fail(1007)
    }),
    c({
      id: "12.20.15",
      description: "With the read limit at 64 KiB, a 16 KB frame that inflates to 16 MiB: 1009.",
      readLimit: limit,
      steps: [send([deflated(Op.Binary, bomb())])],
      expect: fail(1009)
    }),
    c({
      id: "12.20.16",
      description: "With the read limit at 64 KiB, the same 16 MiB bomb in 1 KB frames: 1009.",
      readLimit: limit,
      steps: [send(fragmentsRsv1(bomb(), 1024, Op.Binary))],
      expect: fail(1009)
    }),
    c({
      id: "12.20.17",
      description: "With the read limit at 64 KiB, a compressed text message that inflates to exactly 64 KiB: echoed.",
      readLimit: limit,
      steps: [{ kind: "deflateRoundtrips", fragment: 0, messages: [{ type: "text", data: atLimit }] }],
      expect: echo([msgText(atLimit)])
    }),
    c({
      id: "12.20.18",
      description: "With the read limit at 64 KiB, a compressed text message that inflates to 64 KiB + 1: 1009.",
      readLimit: limit,
      steps: [built(async (compress) => [deflated(Op.Text, await compress(jsonLike(limit + 1, 31)))])],
      expect: fail(1009)
    }),
    c({
      id: "12.20.19",
      description: "Control frames of a compressing target are never compressed: a ping with a compressible 125-byte payload, then a message.",
      steps: [send([ping("a".repeat(125))]), { kind: "deflateRoundtrips", fragment: 0, messages: [{ type: "text", data: json }] }],
      expect: echo([gotPong("a".repeat(125)), msgText(json)])
    }),
    c({
      id: "12.20.20",
      description:
        "An uncompressed message in four 2 KiB frames, each its own write: the echo is compressed; when it comes in fragments, RSV1 is on the first only (RFC 7692 §6.1).",
      steps: [send(fragmentsOf(json, 2048, Op.Binary), "frame")],
      expect: echo([msgBinary(json)])
    }),
    c({
      id: "12.20.21",
      description: "A compressed message whose first frame (RSV1) is empty; the compressed data follows in continuations.",
      steps: [built(async (compress) => [deflated(Op.Text, new Uint8Array(0), false), ...fragmentsOf(await compress(json), 1000, Op.Continuation)])],
      expect: echo([msgText(json)])
    }),
    c({
      id: "12.20.22",
      description: "A compressed message in one frame without FIN, then an empty final continuation.",
      steps: [built(async (compress) => [deflated(Op.Text, await compress(json), false), cont(new Uint8Array(0))])],
      expect: echo([msgText(json)])
    }),
    c({
      id: "12.20.23",
      description: "A compressed message in frames of 1 byte, each its own write.",
      steps: [{ kind: "deflateSend", chop: "frame", build: async (compress) => fragmentsRsv1(await compress(json.subarray(0, 2000)), 1, Op.Binary) }],
      expect: echo([msgBinary(json.subarray(0, 2000))])
    }),
    c({
      id: "12.20.24",
      description:
        "Compressed UTF-8 text full of 2- and 3-byte characters in frames of 64 bytes: the inflated pieces split characters anywhere.",
      steps: [built(async (compress) => fragmentsRsv1(await compress(utf8Text), 64, Op.Text))],
      expect: echo([msgText(utf8Text)])
    }),
    c({
      id: "12.20.25",
      description: "As 12.20.24 with one surrogate (ED A0 80) in the middle of the text: 1007.",
      steps: [built(async (compress) => fragmentsRsv1(await compress(badUtf8Text), 64, Op.Text))],
      expect: fail(1007)
    })
  ]
}

let bombBytes: Uint8Array | undefined
/** 16 MiB of zeros at level 9, tail removed: about 16 KB. */
const bomb = (): Uint8Array => {
  if (bombBytes === undefined) {
    const z = zlib.deflateRawSync(Buffer.alloc(16 << 20), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH })
    bombBytes = Uint8Array.from(z.subarray(0, z.length - 4))
  }
  return bombBytes
}

const fragmentsOf = (p: Uint8Array, size: number, opcode: number): Array<FrameSpec> => {
  const out: Array<FrameSpec> = []
  for (let at = 0; at < p.length; at += size) {
    const fin = at + size >= p.length
    out.push({ opcode: at === 0 ? opcode : Op.Continuation, payload: p.subarray(at, at + size), fin })
  }
  return out
}

const fragmentsRsv1 = (p: Uint8Array, size: number, opcode: number): Array<FrameSpec> => {
  const out: Array<FrameSpec> = []
  for (let at = 0; at < p.length; at += size) {
    const fin = at + size >= p.length
    out.push(at === 0 ? deflated(opcode, p.subarray(at, at + size), fin) : cont(p.subarray(at, at + size), fin))
  }
  return out
}

export const deflateCases = (): Array<Case> => [...category12(), ...category13(), ...negotiation(), ...wire()]
