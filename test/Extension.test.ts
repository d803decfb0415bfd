import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import {
  acceptResponse,
  checkOptions,
  clientOffer,
  type CompressionOptions,
  defaultLevel,
  type Negotiated,
  negotiateServer,
  parseExtensions,
  sessionParams
} from "../src/Extension.js"

const ct: CompressionOptions = { mode: "context-takeover" }
const nct: CompressionOptions = { mode: "no-context-takeover" }
const off: CompressionOptions = { mode: "disabled" }

const neg = (
  s: Partial<Negotiated> = {}
): Negotiated => ({
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  ...s
})

describe("parseExtensions", () => {
  it("splits elements, parameters and values, with whitespace and quotes", () => {
    expect(parseExtensions(`a; x ; y = 1 ,b;z="1\\0" , ,\tc`)).toEqual([
      { name: "a", params: [["x", undefined], ["y", "1"]], malformed: false },
      { name: "b", params: [["z", "10"]], malformed: false },
      { name: "c", params: [], malformed: false }
    ])
    // an unquoted value must still be a token
    expect(parseExtensions(`b;z="q\\"w"`)[0]?.malformed).toBe(true)
    expect(parseExtensions(`permessage-deflate; client_max_window_bits="10"`)).toEqual([
      { name: "permessage-deflate", params: [["client_max_window_bits", "10"]], malformed: false }
    ])
  })

  it("keeps commas inside quoted strings and resumes after a malformed element", () => {
    // "x,y" is one (non-token, so malformed) value, not two elements
    expect(parseExtensions(`foo; a="x,y", bar`).map((e) => [e.name, e.malformed])).toEqual([["foo", true], ["bar", false]])
    expect(parseExtensions(`foo; a=1 bad; b="c,d", bar`).map((e) => [e.name, e.malformed])).toEqual([
      ["foo", true],
      ["bar", false]
    ])
  })

  it.each([
    ["; a", "no name"],
    ["a;", "empty parameter"],
    ["a; =1", "no parameter name"],
    ["a; b=", "empty value"],
    [`a; b=""`, "empty quoted value"],
    [`a; b="1`, "unterminated quote"],
    ["a b", "junk after name"],
    ["a; b=1 2", "junk after value"],
    ["a; b=(1)", "separator in value"],
    ["a/b", "separator in name"]
  ])("marks %j malformed (%s)", (header) => {
    const r = parseExtensions(header)
    expect(r.length).toBe(1)
    expect(r[0]!.malformed).toBe(true)
  })

  it("returns nothing for empty lists", () => {
    expect(parseExtensions("")).toEqual([])
    expect(parseExtensions(" ,  , \t")).toEqual([])
  })

  it("never throws, and round-trips what it formats (property)", () => {
    const tok = fc.stringMatching(/^[a-z_\-0-9]{1,12}$/)
    const param = fc.tuple(tok, fc.option(tok, { nil: undefined }), fc.boolean())
    const element = fc.tuple(tok, fc.array(param, { maxLength: 4 }))
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 4 }), fc.string(), (elements, junk) => {
        parseExtensions(junk) // must not throw
        const header = elements
          .map(([n, ps]) =>
            [n, ...ps.map(([k, v, q]) => (v === undefined ? k : q ? `${k}="${v}"` : `${k}=${v}`))].join(" ; ")
          )
          .join(" ,\t")
        expect(parseExtensions(header)).toEqual(
          elements.map(([name, ps]) => ({ name, params: ps.map(([k, v]) => [k, v]), malformed: false }))
        )
      })
    )
  })
})

describe("negotiateServer", () => {
  it("declines everything when disabled, and non-deflate or absent offers", () => {
    expect(negotiateServer("permessage-deflate", off)).toBeUndefined()
    expect(negotiateServer("", ct)).toBeUndefined()
    expect(negotiateServer("x-webkit-deflate-frame", ct)).toBeUndefined()
    expect(negotiateServer("Permessage-Deflate", ct)).toBeUndefined()
  })

  // [offer, context-takeover answer, no-context-takeover answer]
  const table: Array<[string, string | undefined, string | undefined]> = [
    ["permessage-deflate", "permessage-deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"],
    [
      "permessage-deflate; server_no_context_takeover",
      "permessage-deflate; server_no_context_takeover",
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    ],
    [
      "permessage-deflate; client_no_context_takeover",
      "permessage-deflate; client_no_context_takeover",
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    ],
    [
      "permessage-deflate; client_max_window_bits",
      "permessage-deflate",
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    ],
    [
      "permessage-deflate; client_max_window_bits=10",
      "permessage-deflate; client_max_window_bits=10",
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10"
    ],
    [
      `permessage-deflate; client_max_window_bits="9"`,
      "permessage-deflate; client_max_window_bits=9",
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=9"
    ],
    ["permessage-deflate; client_max_window_bits=15", "permessage-deflate", undefined],
    ["permessage-deflate; server_max_window_bits=15", "permessage-deflate; server_max_window_bits=15", undefined],
    ["permessage-deflate; server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9", undefined],
    ["permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits=8", undefined],
    ["permessage-deflate;server_max_window_bits=12;client_max_window_bits", "permessage-deflate; server_max_window_bits=12", undefined],
    // declined: bad values, value on a flag, no value, duplicates, unknown parameters
    ["permessage-deflate; server_max_window_bits", undefined, undefined],
    ["permessage-deflate; server_max_window_bits=7", undefined, undefined],
    ["permessage-deflate; server_max_window_bits=16", undefined, undefined],
    ["permessage-deflate; server_max_window_bits=010", undefined, undefined],
    ["permessage-deflate; server_max_window_bits=+9", undefined, undefined],
    ["permessage-deflate; client_max_window_bits=0", undefined, undefined],
    ["permessage-deflate; client_max_window_bits=1a", undefined, undefined],
    ["permessage-deflate; server_no_context_takeover=true", undefined, undefined],
    [`permessage-deflate; client_no_context_takeover=""`, undefined, undefined],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", undefined, undefined],
    ["permessage-deflate; client_max_window_bits; client_max_window_bits=9", undefined, undefined],
    ["permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", undefined, undefined],
    ["permessage-deflate; foo", undefined, undefined],
    ["permessage-deflate; mux=1", undefined, undefined],
    ["permessage-deflate; server_no_context_takeover x", undefined, undefined]
  ]

  it.each(table)("%j → %j (context-takeover) / %j (no-context-takeover)", (offer, ctAnswer, nctAnswer) => {
    expect(negotiateServer(offer, ct)?.header).toBe(ctAnswer)
    if (nctAnswer !== undefined || ctAnswer === undefined) {
      expect(negotiateServer(offer, nct)?.header).toBe(nctAnswer)
    }
  })

  it("returns the agreed parameters", () => {
    expect(
      negotiateServer("permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12", ct)
        ?.negotiated
    ).toEqual(neg({ serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 }))
    expect(negotiateServer("permessage-deflate", nct)?.negotiated).toEqual(
      neg({ serverNoContextTakeover: true, clientNoContextTakeover: true })
    )
  })

  it("picks the first acceptable of several offers", () => {
    const offers = [
      "permessage-deflate; server_max_window_bits=10; foo",
      "permessage-deflate; server_max_window_bits=1",
      "x-other; a=1",
      "permessage-deflate; client_max_window_bits=11",
      "permessage-deflate"
    ].join(", ")
    expect(negotiateServer(offers, ct)?.header).toBe("permessage-deflate; client_max_window_bits=11")
    // a malformed element does not spoil the following ones
    expect(negotiateServer(`permessage-deflate; a="b, permessage-deflate`, ct)).toBeUndefined()
    expect(negotiateServer(`permessage-deflate; a="b", permessage-deflate; server_no_context_takeover`, ct)?.header).toBe(
      "permessage-deflate; server_no_context_takeover"
    )
    // several header lines joined by the caller
    expect(negotiateServer("foo, bar; x=1, permessage-deflate; client_max_window_bits", nct)?.header).toBe(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    )
  })

  it("applies our own window limits", () => {
    const opts: CompressionOptions = { mode: "context-takeover", serverMaxWindowBits: 11, clientMaxWindowBits: 10 }
    // our window is announced even when not asked for (RFC 7692 §7.1.2.1 allows it)
    expect(negotiateServer("permessage-deflate", opts)?.header).toBe("permessage-deflate; server_max_window_bits=11")
    // the client's limit wins when lower; ours when the client's is higher
    expect(negotiateServer("permessage-deflate; server_max_window_bits=9", opts)?.header).toBe(
      "permessage-deflate; server_max_window_bits=9"
    )
    expect(negotiateServer("permessage-deflate; server_max_window_bits=13", opts)?.header).toBe(
      "permessage-deflate; server_max_window_bits=11"
    )
    // the client window is only limited when the client says it can be
    expect(negotiateServer("permessage-deflate; client_max_window_bits", opts)?.header).toBe(
      "permessage-deflate; server_max_window_bits=11; client_max_window_bits=10"
    )
    expect(negotiateServer("permessage-deflate; client_max_window_bits=9", opts)?.header).toBe(
      "permessage-deflate; server_max_window_bits=11; client_max_window_bits=9"
    )
    expect(negotiateServer("permessage-deflate", opts)?.negotiated.clientMaxWindowBits).toBe(15)
    expect(negotiateServer("permessage-deflate; client_max_window_bits", { mode: "context-takeover", clientMaxWindowBits: 8 })
      ?.header).toBe("permessage-deflate; client_max_window_bits=8")
  })

  it("every answer is accepted by our client with the same parameters (property)", () => {
    const bits = fc.integer({ min: 8, max: 15 })
    const offerArb = fc.record({
      snct: fc.boolean(),
      cnct: fc.boolean(),
      smwb: fc.option(bits, { nil: undefined }),
      cmwb: fc.option(fc.option(bits, { nil: undefined }), { nil: null })
    })
    const optsArb = fc.record({
      mode: fc.constantFrom("context-takeover" as const, "no-context-takeover" as const),
      s: fc.option(bits, { nil: undefined }),
      c: fc.option(bits, { nil: undefined })
    })
    fc.assert(
      fc.property(offerArb, optsArb, (o, so) => {
        let offer = "permessage-deflate"
        if (o.snct) offer += "; server_no_context_takeover"
        if (o.cnct) offer += "; client_no_context_takeover"
        if (o.smwb !== undefined) offer += `; server_max_window_bits=${o.smwb}`
        if (o.cmwb !== null) offer += o.cmwb === undefined ? "; client_max_window_bits" : `; client_max_window_bits=${o.cmwb}`
        const serverOpts: CompressionOptions = {
          mode: so.mode,
          ...(so.s !== undefined ? { serverMaxWindowBits: so.s } : {}),
          ...(so.c !== undefined ? { clientMaxWindowBits: so.c } : {})
        }
        const r = negotiateServer(offer, serverOpts)
        if (r === undefined) throw new Error("a valid offer was declined")
        const n = r.negotiated
        // the server never exceeds what the client allowed, nor its own limit
        expect(n.serverMaxWindowBits).toBeLessThanOrEqual(Math.min(o.smwb ?? 15, so.s ?? 15))
        if (o.cmwb === null) expect(n.clientMaxWindowBits).toBe(15)
        else expect(n.clientMaxWindowBits).toBeLessThanOrEqual(o.cmwb ?? 15)
        expect(n.serverNoContextTakeover).toBe(o.snct || so.mode === "no-context-takeover")
        // a client that offered the same thing accepts the answer
        const clientOpts: CompressionOptions = {
          mode: o.snct && o.cnct ? "no-context-takeover" : "context-takeover",
          ...(o.smwb !== undefined && o.smwb < 15 ? { serverMaxWindowBits: o.smwb } : {}),
          ...(o.cmwb !== null && o.cmwb !== undefined && o.cmwb < 15 ? { clientMaxWindowBits: o.cmwb } : {})
        }
        const a = acceptResponse(r.header, clientOpts)
        expect(a._tag).toBe("Ok")
        if (a._tag === "Ok") {
          expect(a.negotiated?.serverMaxWindowBits).toBe(n.serverMaxWindowBits)
          expect(a.negotiated?.serverNoContextTakeover).toBe(n.serverNoContextTakeover)
          if (o.cmwb !== null) expect(a.negotiated?.clientMaxWindowBits).toBe(n.clientMaxWindowBits)
        }
      })
    )
  })
})

describe("clientOffer", () => {
  it.each<[CompressionOptions, string | undefined]>([
    [off, undefined],
    [ct, "permessage-deflate; client_max_window_bits"],
    [nct, "permessage-deflate; client_no_context_takeover; server_no_context_takeover; client_max_window_bits"],
    [{ mode: "context-takeover", serverMaxWindowBits: 10 }, "permessage-deflate; server_max_window_bits=10; client_max_window_bits"],
    [{ mode: "context-takeover", clientMaxWindowBits: 9 }, "permessage-deflate; client_max_window_bits=9"],
    [{ mode: "context-takeover", clientMaxWindowBits: 8, serverMaxWindowBits: 8 }, "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8"],
    [{ mode: "context-takeover", clientMaxWindowBits: 15, serverMaxWindowBits: 15 }, "permessage-deflate; client_max_window_bits"]
  ])("%j → %j", (opts, offer) => {
    expect(clientOffer(opts)).toBe(offer)
  })

  it("is acceptable to our own server", () => {
    for (const opts of [ct, nct, { mode: "context-takeover" as const, serverMaxWindowBits: 8, clientMaxWindowBits: 8 }]) {
      const offer = clientOffer(opts)
      expect(offer).toBeDefined()
      expect(negotiateServer(offer ?? "", ct)).toBeDefined()
    }
  })
})

describe("acceptResponse", () => {
  const ok = (header: string, opts: CompressionOptions = ct) => {
    const r = acceptResponse(header, opts)
    if (r._tag !== "Ok") throw new Error(r.message)
    return r.negotiated
  }
  const rejects = (header: string, opts: CompressionOptions = ct) => {
    const r = acceptResponse(header, opts)
    expect(r._tag).toBe("Reject")
    return r._tag === "Reject" ? r.message : ""
  }

  it("treats an absent or empty header as declined", () => {
    expect(ok("")).toBeUndefined()
    expect(ok(" , ")).toBeUndefined()
    expect(ok("", off)).toBeUndefined()
  })

  it("accepts the parameters a server may add", () => {
    expect(ok("permessage-deflate")).toEqual(neg())
    expect(ok("permessage-deflate; server_no_context_takeover")).toEqual(neg({ serverNoContextTakeover: true }))
    expect(ok("permessage-deflate; client_no_context_takeover")).toEqual(neg({ clientNoContextTakeover: true }))
    expect(ok("permessage-deflate; server_max_window_bits=8")).toEqual(neg({ serverMaxWindowBits: 8 }))
    expect(ok(`permessage-deflate; client_max_window_bits="12"`)).toEqual(neg({ clientMaxWindowBits: 12 }))
    expect(ok("permessage-deflate; client_max_window_bits=8")).toEqual(neg({ clientMaxWindowBits: 8 }))
    expect(ok("permessage-deflate;server_no_context_takeover;client_no_context_takeover", nct)).toEqual(
      neg({ serverNoContextTakeover: true, clientNoContextTakeover: true })
    )
    // the server need not echo client_no_context_takeover: we keep our promise anyway
    expect(ok("permessage-deflate; server_no_context_takeover", nct)).toEqual(
      neg({ serverNoContextTakeover: true, clientNoContextTakeover: true })
    )
    expect(ok("permessage-deflate; server_max_window_bits=9", { mode: "context-takeover", serverMaxWindowBits: 10 })).toEqual(
      neg({ serverMaxWindowBits: 9 })
    )
    expect(ok("permessage-deflate; client_max_window_bits=9", { mode: "context-takeover", clientMaxWindowBits: 9 })).toEqual(
      neg({ clientMaxWindowBits: 9 })
    )
  })

  it.each<[string, CompressionOptions]>([
    ["permessage-deflate", off],
    ["permessage-deflate, permessage-deflate", ct],
    ["permessage-deflate, x-foo", ct],
    ["x-foo", ct],
    ["permessage-deflate; foo", ct],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", ct],
    ["permessage-deflate; server_no_context_takeover=1", ct],
    ["permessage-deflate; client_max_window_bits", ct],
    ["permessage-deflate; client_max_window_bits=16", ct],
    ["permessage-deflate; client_max_window_bits=07", ct],
    ["permessage-deflate; server_max_window_bits", ct],
    ["permessage-deflate; server_max_window_bits=7", ct],
    ["permessage-deflate; a=", ct],
    [`permessage-deflate; server_max_window_bits="1 0"`, ct],
    // we asked for no server context takeover: the server must confirm it
    ["permessage-deflate; client_no_context_takeover", nct],
    // we asked for a server window: the answer must carry one no larger
    ["permessage-deflate", { mode: "context-takeover", serverMaxWindowBits: 10 }],
    ["permessage-deflate; server_max_window_bits=11", { mode: "context-takeover", serverMaxWindowBits: 10 }],
    // we hinted our window: the server may not raise it
    ["permessage-deflate; client_max_window_bits=12", { mode: "context-takeover", clientMaxWindowBits: 11 }]
  ])("rejects %j (%j)", (header, opts) => {
    expect(rejects(header, opts)).not.toBe("")
  })
})

describe("sessionParams", () => {
  it("maps the agreed parameters to each role", () => {
    const n = neg({ serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 })
    expect(sessionParams("server", n, ct)).toEqual({
      deflate: { windowBits: 10, noContextTakeover: true, level: defaultLevel },
      inflate: { windowBits: 12, noContextTakeover: false },
      threshold: 512
    })
    expect(sessionParams("client", n, ct)).toEqual({
      deflate: { windowBits: 12, noContextTakeover: false, level: defaultLevel },
      inflate: { windowBits: 10, noContextTakeover: true },
      threshold: 128
    })
  })

  it("caps our own window by our option, and takes level and threshold from the options", () => {
    const opts: CompressionOptions = { mode: "context-takeover", clientMaxWindowBits: 9, level: 6, threshold: 0 }
    expect(sessionParams("client", neg(), opts)).toEqual({
      deflate: { windowBits: 9, noContextTakeover: false, level: 6 },
      inflate: { windowBits: 15, noContextTakeover: false },
      threshold: 0
    })
    expect(sessionParams("server", neg({ serverMaxWindowBits: 8 }), { mode: "context-takeover" }).deflate.windowBits).toBe(8)
  })

  it("defaults the threshold from this side's own context takeover", () => {
    expect(sessionParams("client", neg({ clientNoContextTakeover: true }), ct).threshold).toBe(512)
    expect(sessionParams("server", neg({ clientNoContextTakeover: true }), ct).threshold).toBe(128)
    expect(sessionParams("server", neg({ clientNoContextTakeover: true }), { ...ct, threshold: 1000 }).threshold).toBe(1000)
  })
})

describe("checkOptions", () => {
  it.each<[CompressionOptions, boolean]>([
    [ct, true],
    [{ mode: "context-takeover", serverMaxWindowBits: 8, clientMaxWindowBits: 15, level: 0, threshold: 0 }, true],
    [{ mode: "context-takeover", serverMaxWindowBits: 7 }, false],
    [{ mode: "context-takeover", clientMaxWindowBits: 16 }, false],
    [{ mode: "context-takeover", clientMaxWindowBits: 9.5 }, false],
    [{ mode: "context-takeover", level: 10 }, false],
    [{ mode: "context-takeover", level: -1 }, false],
    [{ mode: "context-takeover", threshold: -1 }, false],
    [{ mode: "context-takeover", threshold: Number.NaN }, false]
  ])("%j valid: %s", (opts, valid) => {
    expect(checkOptions(opts) === undefined).toBe(valid)
  })
})
