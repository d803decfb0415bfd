/**
 * Interop with `ws`'s own permessage-deflate object (the one its sockets
 * use), in both roles: its offers and answers against our negotiation, then
 * messages both ways with the agreed parameters.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { createRequire } from "node:module"
import { js } from "../src/Codec.js"
import {
  acceptResponse,
  clientOffer,
  type CompressionOptions,
  type Negotiated,
  negotiateServer,
  sessionParams
} from "../src/Extension.js"
import { jsonLike } from "./support/jsonLike.js"

type Params = Record<string, unknown>
interface WsPerMessageDeflate {
  offer(): Params
  accept(configurations: Array<Params>): Params
  compress(data: Uint8Array, fin: boolean, cb: (err: Error | null, out?: Buffer) => void): void
  decompress(data: Uint8Array, fin: boolean, cb: (err: Error | null, out?: Buffer) => void): void
  cleanup(): void
}
interface WsInternals {
  /** ws 8.23: `isServer` and `maxPayload` are options. */
  readonly PerMessageDeflate: new (options: Params) => WsPerMessageDeflate
  readonly extension: {
    format(extensions: Record<string, Array<Params>>): string
    parse(header: string): Record<string, Array<Params>>
  }
}
// ws's CommonJS entry exports these (its ESM wrapper and @types/ws do not).
const ws = createRequire(import.meta.url)("ws") as WsInternals

const call = (f: (cb: (err: Error | null, out?: Buffer) => void) => void): Promise<Buffer> =>
  new Promise((resolve, reject) => f((err, out) => (err || out === undefined ? reject(err) : resolve(out))))

const bits = fc.integer({ min: 8, max: 15 })
const wsOptionsArb = (role: "client" | "server") =>
  fc.record(
    {
      serverNoContextTakeover: fc.boolean(),
      clientNoContextTakeover: fc.boolean(),
      // `true` is an answer-side setting; a ws client would offer it bare
      serverMaxWindowBits: role === "server" ? fc.oneof(bits, fc.constant(true)) : bits,
      clientMaxWindowBits: fc.oneof(bits, fc.constant(true))
    },
    { requiredKeys: [] }
  )
const ourOptionsArb = fc.record(
  {
    mode: fc.constantFrom("context-takeover" as const, "no-context-takeover" as const),
    serverMaxWindowBits: bits,
    clientMaxWindowBits: bits,
    level: fc.constantFrom(1, 6)
  },
  { requiredKeys: ["mode"] }
)
const messagesArb = fc.array(
  fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 40_000 }), fc.nat()).map(([n, seed]) => jsonLike(n, seed)),
    fc.uint8Array({ maxLength: 2000 })
  ),
  { minLength: 1, maxLength: 6 }
)

/** Messages both ways between our session (role `ours`) and ws's object. */
const exchange = async (
  ours: "client" | "server",
  negotiated: Negotiated,
  options: CompressionOptions,
  peer: WsPerMessageDeflate,
  messages: ReadonlyArray<Uint8Array>
) => {
  const s = sessionParams(ours, negotiated, options)
  const deflater = js.deflater(s.deflate)
  const inflater = js.inflater(s.inflate)
  try {
    for (const m of messages) {
      const fromPeer = await call((cb) => peer.compress(m, true, cb))
      const got = inflater.push(fromPeer, true, 1 << 20)
      if (typeof got === "number") throw new Error(`our inflater failed: ${got}`)
      expect(Buffer.compare(got, m)).toBe(0)
      const back = await call((cb) => peer.decompress(deflater.push(m, true), true, cb))
      expect(Buffer.compare(back, m)).toBe(0)
    }
  } finally {
    deflater.free()
    inflater.free()
    peer.cleanup()
  }
}

describe("interop with ws's PerMessageDeflate", () => {
  it("ws client, our server (property)", async () => {
    await fc.assert(
      fc.asyncProperty(wsOptionsArb("client"), ourOptionsArb, messagesArb, async (wsOptions, options, messages) => {
        const client = new ws.PerMessageDeflate({ ...wsOptions, isServer: false })
        const offer = ws.extension.format({ "permessage-deflate": [client.offer()] })
        const answer = negotiateServer(offer, options)
        if (answer === undefined) throw new Error(`declined ws's offer ${offer}`)
        // ws checks our answer as a client would, and throws on anything off;
        // `clientNoContextTakeover: false` makes it refuse a flag RFC 7692
        // lets a server add.
        try {
          client.accept(ws.extension.parse(answer.header)["permessage-deflate"] ?? [])
        } catch (e) {
          expect(wsOptions.clientNoContextTakeover === false && answer.negotiated.clientNoContextTakeover).toBe(true)
          return
        }
        await exchange("server", answer.negotiated, options, client, messages)
      }),
      { numRuns: 50 }
    )
  })

  it("our client, ws server (property)", async () => {
    await fc.assert(
      fc.asyncProperty(wsOptionsArb("server"), ourOptionsArb, messagesArb, async (wsOptions, options, messages) => {
        const offer = clientOffer(options) ?? ""
        const server = new ws.PerMessageDeflate({ ...wsOptions, isServer: true })
        let params: Params
        try {
          params = server.accept(ws.extension.parse(offer)["permessage-deflate"] ?? [])
        } catch {
          return // ws declined our offer for its own configuration reasons
        }
        const header = ws.extension.format({ "permessage-deflate": [params] })
        const r = acceptResponse(header, options)
        if (r._tag === "Reject") {
          // ws may add server_no_context_takeover... but never in a way RFC 7692 forbids
          throw new Error(`${r.message} (ws answered ${header} to ${offer})`)
        }
        expect(r.negotiated).toBeDefined()
        if (r.negotiated !== undefined) await exchange("client", r.negotiated, options, server, messages)
      }),
      { numRuns: 50 }
    )
  })

  it("reads ws's output when 8 window bits were agreed (ws compresses with 9)", async () => {
    const client = new ws.PerMessageDeflate({ clientMaxWindowBits: 8, serverMaxWindowBits: 8, isServer: false })
    const offer = ws.extension.format({ "permessage-deflate": [client.offer()] })
    const options: CompressionOptions = { mode: "context-takeover" }
    const answer = negotiateServer(offer, options)
    expect(answer?.header).toBe("permessage-deflate; server_max_window_bits=8; client_max_window_bits=8")
    if (answer === undefined) return
    client.accept(ws.extension.parse(answer.header)["permessage-deflate"] ?? [])
    await exchange("server", answer.negotiated, options, client, [jsonLike(5000, 1), jsonLike(20_000, 2), jsonLike(300, 3)])
  })
})
