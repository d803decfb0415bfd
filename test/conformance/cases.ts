/**
 * The case catalogue: Autobahn|Testsuite categories 1–7, 9 and 10 (plus the
 * opening handshake, "0"), written from RFC 6455, with strict verdicts.
 *
 * A case is role-agnostic where it can be: the same frames are sent by the
 * peer playing the client (against a server target, frames masked) and by
 * the peer playing the server (against a client target, frames unmasked).
 * Ids name the Autobahn case mirrored; `autobahn: false` marks our own.
 */
import type { Agreed, Params } from "./deflate.js"
import { deflateCases } from "./deflateCases.js"
import type { HttpHead, RequestShape } from "./peer.js"
import { switchingProtocols } from "./peer.js"
import type { DeflateConfig } from "./targets.js"
import { acceptKey, bytes, closePayload, hex, isValidUtf8, Op } from "./wire.js"
import type { Chop } from "./peer.js"
import type { FrameSpec } from "./wire.js"

/** The role of the target under test (the peer plays the other one). */
export type Role = "server" | "client"

export type Step =
  /** Send frames, split into TCP writes as `chop` says (default: one write). */
  | { readonly kind: "send"; readonly frames: ReadonlyArray<FrameSpec>; readonly chop?: Chop; readonly label?: string }
  /**
   * Send bytes `[from, to)` of one frame's payload (the header goes with
   * `from = 0`): a single frame written in several parts with pauses.
   */
  | { readonly kind: "slice"; readonly frame: FrameSpec; readonly from: number; readonly to?: number; readonly label?: string }
  /** Pause until the target's close frame arrives, at most `ms`. */
  | { readonly kind: "waitClose"; readonly ms: number }
  /** Pause until `count` messages or pongs have arrived, at most `ms`. */
  | { readonly kind: "waitEvents"; readonly count: number; readonly ms: number }
  /** Send `count` messages one at a time, each after the previous echo. */
  | { readonly kind: "roundtrips"; readonly count: number; readonly opcode: number; readonly payload: Uint8Array }
  /**
   * permessage-deflate: send each message compressed by the peer (unless
   * `compressed: false`), its payload cut into frames of `fragment` bytes
   * (0: one frame), each after the previous echo.
   */
  | { readonly kind: "deflateRoundtrips"; readonly messages: ReadonlyArray<DataMessage>; readonly fragment: number }
  /** permessage-deflate: send the frames `build` makes with the peer's compressor (which keeps its context). */
  | {
      readonly kind: "deflateSend"
      readonly build: (compress: (data: Uint8Array) => Promise<Uint8Array>) => Promise<ReadonlyArray<FrameSpec>>
      readonly chop?: Chop
      readonly label?: string
    }

export interface DataMessage {
  readonly type: "text" | "binary"
  readonly data: Uint8Array
  /** Default true. */
  readonly compressed?: boolean
}

/**
 * permessage-deflate in a case (categories 12 and 13). The peer compresses
 * with the agreed parameters of its side and checks every frame of the
 * target's against the agreed parameters of the target's side.
 */
export interface DeflateSetup {
  /** The target's configuration: the server's (server role), or what the client offers (client role). */
  readonly target: DeflateConfig
  /** Server role: the peer's offers; several strings are several header lines. */
  readonly offer?: string | ReadonlyArray<string>
  /** Client role: the raw server's Sec-WebSocket-Extensions for the client's offer; undefined declines. */
  readonly respond?: (offer: Params) => string | undefined
  /** Whether the extension must be agreed (false: declined; undefined: either). */
  readonly negotiated: boolean | undefined
  /** More requirements on the agreement; returns what is wrong. */
  readonly check?: (a: Agreed) => string | undefined
  /** Every data message the target sends must be compressed (it runs with threshold 0). */
  readonly allCompressed?: boolean
}

export type ExpectedEvent =
  | { readonly kind: "message"; readonly type: "text" | "binary"; readonly data: Uint8Array }
  | { readonly kind: "pong"; readonly data: Uint8Array }

export type Expect =
  /**
   * The target answers with exactly `events` and no close of its own; then
   * the peer closes (1000, unless a step already sent a close) and the target
   * echoes `closeCode` (`undefined`: an empty close payload). A server target
   * then closes TCP with a FIN.
   */
  | {
      readonly kind: "echo"
      readonly events: ReadonlyArray<ExpectedEvent>
      readonly closeCode?: number | undefined
      /** Data messages may or may not be echoed (a close raced them). */
      readonly ignoreMessages?: boolean
    }
  /**
   * The target sends exactly `events`, then fails the connection: a close
   * frame with `code` that the peer did not prompt (or an answer to the
   * peer's invalid close), arriving before the step labelled `before`
   * starts and not before the step labelled `notBefore`; a server target
   * then closes TCP.
   */
  | {
      readonly kind: "fail"
      readonly events: ReadonlyArray<ExpectedEvent>
      readonly code: number
      readonly before?: string
      readonly notBefore?: string
    }
  /** Server handshake: the exact HTTP status, and header values matching. */
  | { readonly kind: "http"; readonly status: number; readonly headers?: Readonly<Record<string, RegExp>> }
  /** Client handshake: the client must refuse the response: no frame, TCP closed, an error. */
  | { readonly kind: "refuse" }

export interface Case {
  readonly id: string
  /** Autobahn's category number ("0" for the opening handshake). */
  readonly category: string
  readonly description: string
  readonly roles: ReadonlyArray<Role>
  readonly autobahn: boolean
  readonly steps: ReadonlyArray<Step>
  readonly expect: Expect
  /** The target's read limit for this case (default 1 MiB). */
  readonly readLimit?: number
  /** Server role: how the peer's request differs from a valid one. */
  readonly request?: RequestShape
  /** Client role: the raw server's response head for the client's request. */
  readonly response?: (request: HttpHead) => string
  /** Client role: the subprotocols the client offers. */
  readonly subprotocols?: ReadonlyArray<string>
  /** How long to wait for the expected events (default 5 s). */
  readonly eventsMs?: number
  /** permessage-deflate; undefined: the target runs without it. */
  readonly deflate?: DeflateSetup
}

export const DEFAULT_READ_LIMIT = 1 << 20
const MiB = 1 << 20
const KiB = 1 << 10
/** Round trips in 9.7/9.8, bounded for CI. */
const ROUNDTRIPS = 200
/** The pause in which a fail-fast close must arrive (generous: CI machines are slow). */
const FAIL_FAST_MS = 2000
/** The pause after valid data, to catch a target that fails too early. */
const SETTLE_MS = 250

export const categoryNames: Readonly<Record<string, string>> = {
  "0": "Opening handshake",
  "1": "Framing",
  "2": "Pings/Pongs",
  "3": "Reserved bits",
  "4": "Opcodes",
  "5": "Fragmentation",
  "6": "UTF-8 handling",
  "7": "Close handling",
  "9": "Limits/performance",
  "10": "Auto-fragmentation",
  "12": "Compression data",
  "13": "Compression params"
}

// ---------------------------------------------------------------------------
// Builders

const both: ReadonlyArray<Role> = ["server", "client"]

export const text = (payload: Uint8Array | string, fin = true): FrameSpec => ({ opcode: Op.Text, payload, fin })
export const binary = (payload: Uint8Array | string, fin = true): FrameSpec => ({ opcode: Op.Binary, payload, fin })
export const cont = (payload: Uint8Array | string, fin = true): FrameSpec => ({ opcode: Op.Continuation, payload, fin })
export const ping = (payload: Uint8Array | string = ""): FrameSpec => ({ opcode: Op.Ping, payload })
const pong = (payload: Uint8Array | string = ""): FrameSpec => ({ opcode: Op.Pong, payload })
const close = (code?: number, reason: Uint8Array | string = ""): FrameSpec => ({
  opcode: Op.Close,
  payload: closePayload(code, reason)
})

export const send = (frames: ReadonlyArray<FrameSpec>, chop?: Chop, label?: string): Step => {
  const s: { kind: "send"; frames: ReadonlyArray<FrameSpec>; chop?: Chop; label?: string } = { kind: "send", frames }
  if (chop !== undefined) s.chop = chop
  if (label !== undefined) s.label = label
  return s
}

export const msgText = (data: Uint8Array | string): ExpectedEvent => ({ kind: "message", type: "text", data: bytes(data) })
export const msgBinary = (data: Uint8Array | string): ExpectedEvent => ({ kind: "message", type: "binary", data: bytes(data) })
export const gotPong = (data: Uint8Array | string = ""): ExpectedEvent => ({ kind: "pong", data: bytes(data) })

/** `closeCode` "empty": the echo is a close frame without a payload. */
export const echo = (events: ReadonlyArray<ExpectedEvent>, closeCode: number | "empty" = 1000): Expect => ({
  kind: "echo",
  events,
  closeCode: closeCode === "empty" ? undefined : closeCode
})
export const fail = (code: number, events: ReadonlyArray<ExpectedEvent> = [], when: { before?: string; notBefore?: string } = {}): Expect => ({
  kind: "fail",
  events,
  code,
  ...when
})

export interface CaseInput extends Omit<Case, "category" | "roles" | "autobahn"> {
  readonly roles?: ReadonlyArray<Role>
  readonly autobahn?: boolean
}

export const mk = (c: CaseInput): Case => ({
  ...c,
  category: c.id.split(".")[0] ?? "",
  roles: c.roles ?? both,
  autobahn: c.autobahn ?? true
})

const repeat = (pattern: string, size: number): Uint8Array => {
  const out = new Uint8Array(size)
  if (size > 0) Buffer.from(out.buffer, out.byteOffset, size).fill(pattern)
  return out
}
const filled = (byte: number, size: number): Uint8Array => new Uint8Array(size).fill(byte)

export const sizeName = (n: number): string =>
  n >= MiB && n % MiB === 0 ? `${n / MiB} MiB` : n >= KiB && n % KiB === 0 ? `${n / KiB} KiB` : `${n} B`

// ---------------------------------------------------------------------------
// 1 Framing

const framing = (): Array<Case> => {
  const out: Array<Case> = []
  const lengths = [0, 125, 126, 127, 128, 65535, 65536]
  for (const [sub, kind] of [
    [1, "text"],
    [2, "binary"]
  ] as const) {
    const make = (n: number): Uint8Array => (kind === "text" ? repeat("*", n) : filled(0xfe, n))
    const frame = (p: Uint8Array): FrameSpec => (kind === "text" ? text(p) : binary(p))
    const expectMsg = (p: Uint8Array): ExpectedEvent => (kind === "text" ? msgText(p) : msgBinary(p))
    lengths.forEach((n, i) => {
      const p = make(n)
      out.push(
        mk({
          id: `1.${sub}.${i + 1}`,
          description: `Send a ${kind} message of ${n} bytes (${n < 126 ? "7" : n < 65536 ? "16" : "64"}-bit length form).`,
          steps: [send([frame(p)])],
          expect: echo([expectMsg(p)])
        })
      )
    })
    const p = make(65536)
    out.push(
      mk({
        id: `1.${sub}.8`,
        description: `Send a ${kind} message of 65536 bytes, written in chops of 997 bytes.`,
        steps: [send([frame(p)], 997)],
        expect: echo([expectMsg(p)])
      })
    )
  }
  // Ours: masking rules and the length forms a receiver must parse.
  out.push(
    mk({
      id: "1.3.1",
      autobahn: false,
      roles: ["server"],
      description: "Send an unmasked text frame from the client (RFC 6455 §5.1: the server must fail with 1002).",
      steps: [send([{ ...text("Hello, world!"), mask: false }])],
      expect: fail(1002)
    }),
    mk({
      id: "1.3.2",
      autobahn: false,
      roles: ["client"],
      description: "Send a masked text frame from the server (RFC 6455 §5.1: the client must fail with 1002).",
      steps: [send([{ ...text("Hello, world!"), mask: true }])],
      expect: fail(1002)
    }),
    mk({
      id: "1.3.3",
      autobahn: false,
      roles: ["server"],
      description: "Send a text frame masked with the all-zero key (a valid key).",
      steps: [send([{ ...text("Hello, world!"), mask: new Uint8Array(4) }])],
      expect: echo([msgText("Hello, world!")])
    }),
    mk({
      id: "1.3.4",
      autobahn: false,
      description:
        "Send a 5-byte text frame with its length in the 16-bit form (not minimal; RFC 6455 §5.2 binds the sender, a receiver accepts it).",
      steps: [send([{ ...text("Hello"), lengthForm: 16 }])],
      expect: echo([msgText("Hello")])
    }),
    mk({
      id: "1.3.5",
      autobahn: false,
      description: "Send a 200-byte binary frame with its length in the 64-bit form (not minimal; accepted).",
      steps: [send([{ ...binary(filled(0x2a, 200)), lengthForm: 64 }])],
      expect: echo([msgBinary(filled(0x2a, 200))])
    })
  )
  return out
}

// ---------------------------------------------------------------------------
// 2 Pings/pongs

const pings = (): Array<Case> => {
  const bin = hex("00ff fefd fcfb 00ff")
  const ten = Array.from({ length: 10 }, (_, i) => `payload-${i}`)
  return [
    mk({ id: "2.1", description: "Send a ping without payload.", steps: [send([ping()])], expect: echo([gotPong()]) }),
    mk({
      id: "2.2",
      description: "Send a ping with a small text payload.",
      steps: [send([ping("Hello, world!")])],
      expect: echo([gotPong("Hello, world!")])
    }),
    mk({ id: "2.3", description: "Send a ping with a small binary payload.", steps: [send([ping(bin)])], expect: echo([gotPong(bin)]) }),
    mk({
      id: "2.4",
      description: "Send a ping with a 125-byte binary payload (the largest a control frame may carry).",
      steps: [send([ping(filled(0xfe, 125))])],
      expect: echo([gotPong(filled(0xfe, 125))])
    }),
    mk({
      id: "2.5",
      description: "Send a ping with a 126-byte payload (RFC 6455 §5.5: control frames carry at most 125).",
      steps: [send([ping(filled(0xfe, 126))])],
      expect: fail(1002)
    }),
    mk({
      id: "2.6",
      description: "Send a ping with a 125-byte payload, written 1 byte at a time.",
      steps: [send([ping(filled(0xfe, 125))], 1)],
      expect: echo([gotPong(filled(0xfe, 125))])
    }),
    mk({ id: "2.7", description: "Send an unsolicited pong without payload: ignored.", steps: [send([pong()])], expect: echo([]) }),
    mk({
      id: "2.8",
      description: "Send an unsolicited pong with a payload: ignored.",
      steps: [send([pong("unsolicited pong payload")])],
      expect: echo([])
    }),
    mk({
      id: "2.9",
      description: "Send an unsolicited pong, then a ping: only the ping is answered.",
      steps: [send([pong("unsolicited pong payload"), ping("ping payload")])],
      expect: echo([gotPong("ping payload")])
    }),
    mk({
      id: "2.10",
      description: "Send 10 pings with distinct payloads: 10 pongs, in order.",
      steps: [send(ten.map((p) => ping(p)))],
      expect: echo(ten.map((p) => gotPong(p)))
    }),
    mk({
      id: "2.11",
      description: "Send 10 pings with distinct payloads, written 1 byte at a time: 10 pongs, in order.",
      steps: [send(ten.map((p) => ping(p)), 1)],
      expect: echo(ten.map((p) => gotPong(p)))
    })
  ]
}

// ---------------------------------------------------------------------------
// 3 Reserved bits (no extension negotiated: any RSV bit fails with 1002)

const reservedBits = (): Array<Case> => {
  const hello = "Hello, world!"
  const withRsv = (f: FrameSpec, rsv: number): FrameSpec => ({ ...f, rsv })
  const bin = hex("00ff fefd fcfb 00ff")
  return [
    mk({ id: "3.1", description: "Send a small text message with RSV = 1.", steps: [send([withRsv(text(hello), 1)])], expect: fail(1002) }),
    mk({
      id: "3.2",
      description: "Send a small text message, then one with RSV = 2, then a ping: the first is echoed, nothing after.",
      steps: [send([text(hello), withRsv(text(hello), 2), ping(hello)])],
      expect: fail(1002, [msgText(hello)])
    }),
    mk({
      id: "3.3",
      description: "As 3.2 with RSV = 3, each frame in its own write.",
      steps: [send([text(hello), withRsv(text(hello), 3), ping(hello)], "frame")],
      expect: fail(1002, [msgText(hello)])
    }),
    mk({
      id: "3.4",
      description: "As 3.2 with RSV = 4 (RSV1), written 1 byte at a time.",
      steps: [send([text(hello), withRsv(text(hello), 4), ping(hello)], 1)],
      expect: fail(1002, [msgText(hello)])
    }),
    mk({ id: "3.5", description: "Send a small binary message with RSV = 5.", steps: [send([withRsv(binary(bin), 5)])], expect: fail(1002) }),
    mk({ id: "3.6", description: "Send a ping with RSV = 6.", steps: [send([withRsv(ping(hello), 6)])], expect: fail(1002) }),
    mk({ id: "3.7", description: "Send a close with RSV = 7.", steps: [send([withRsv(close(1000), 7)])], expect: fail(1002) })
  ]
}

// ---------------------------------------------------------------------------
// 4 Reserved opcodes (3–7 non-control, 11–15 control): 1002

const opcodes = (): Array<Case> => {
  const hello = "Hello, world!"
  const out: Array<Case> = []
  for (const [sub, base, kind] of [
    [1, 3, "non-control"],
    [2, 11, "control"]
  ] as const) {
    for (let i = 0; i < 5; i++) {
      const op = base + i
      const frame: FrameSpec = { opcode: op, payload: i === 0 || i === 2 ? "" : "reserved opcode payload" }
      const first = i >= 2
      out.push(
        mk({
          id: `4.${sub}.${i + 1}`,
          description: first
            ? `Send a small text message, then a frame with reserved ${kind} opcode ${op}${frame.payload === "" ? "" : " and a payload"}, then a ping.`
            : `Send a frame with reserved ${kind} opcode ${op}${frame.payload === "" ? "" : " and a payload"}.`,
          steps: [send(first ? [text(hello), frame, ping(hello)] : [frame])],
          expect: fail(1002, first ? [msgText(hello)] : [])
        })
      )
    }
  }
  return out
}

// ---------------------------------------------------------------------------
// 5 Fragmentation

const fragmentation = (): Array<Case> => {
  const out: Array<Case> = []
  out.push(
    mk({
      id: "5.1",
      description: "Send a ping fragmented into 2 frames (RFC 6455 §5.5: control frames must not be fragmented).",
      steps: [send([{ ...ping("fragment1"), fin: false }, cont("fragment2")])],
      expect: fail(1002)
    }),
    mk({
      id: "5.2",
      description: "Send a pong fragmented into 2 frames.",
      steps: [send([{ ...pong("fragment1"), fin: false }, cont("fragment2")])],
      expect: fail(1002)
    })
  )
  const chops: ReadonlyArray<readonly [Chop, string]> = [
    ["all", "in one write"],
    ["frame", "each frame in its own write"],
    [1, "written 1 byte at a time"]
  ]
  chops.forEach(([chop, how], i) => {
    out.push(
      mk({
        id: `5.${3 + i}`,
        description: `Send a text message in 2 fragments, ${how}.`,
        steps: [send([text("fragment1", false), cont("fragment2")], chop)],
        expect: echo([msgText("fragment1fragment2")])
      })
    )
  })
  chops.forEach(([chop, how], i) => {
    out.push(
      mk({
        id: `5.${6 + i}`,
        description: `Send a text message in 2 fragments with a ping between them, ${how}.`,
        steps: [send([text("fragment1", false), ping("ping payload"), cont("fragment2")], chop)],
        expect: echo([gotPong("ping payload"), msgText("fragment1fragment2")])
      })
    )
  })
  chops.forEach(([chop, how], i) => {
    out.push(
      mk({
        id: `5.${9 + i}`,
        description: `Send a final continuation frame with nothing to continue, then a text message, ${how}.`,
        steps: [send([cont("non-continuation payload"), text("Hello, world!")], chop)],
        expect: fail(1002)
      })
    )
  })
  chops.forEach(([chop, how], i) => {
    out.push(
      mk({
        id: `5.${12 + i}`,
        description: `Send a non-final continuation frame with nothing to continue, then a text message, ${how}.`,
        steps: [send([cont("non-continuation payload", false), text("Hello, world!")], chop)],
        expect: fail(1002)
      })
    )
  })
  out.push(
    mk({
      id: "5.15",
      description: "Send a text message in 2 fragments, then a continuation with nothing to continue, then a final text frame.",
      steps: [send([text("fragment1", false), cont("fragment2"), cont("fragment3", false), text("fragment4")])],
      expect: fail(1002, [msgText("fragment1fragment2")])
    }),
    mk({
      id: "5.16",
      description: "Twice: a non-final continuation with nothing to continue, then a text message in 2 fragments.",
      steps: [send([0, 1].flatMap(() => [cont("fragment1", false), text("fragment2", false), cont("fragment3")]))],
      expect: fail(1002)
    }),
    mk({
      id: "5.17",
      description: "Twice: a final continuation with nothing to continue, then a text message in 2 fragments.",
      steps: [send([0, 1].flatMap(() => [cont("fragment1"), text("fragment2", false), cont("fragment3")]))],
      expect: fail(1002)
    }),
    mk({
      id: "5.18",
      description: "Send a text message in 2 fragments, both with the text opcode (a new message inside a fragmented one).",
      steps: [send([text("fragment1", false), text("fragment2")])],
      expect: fail(1002)
    })
  )
  for (const [id, chop] of [
    ["5.19", "all"],
    ["5.20", "frame"]
  ] as const) {
    out.push(
      mk({
        id,
        description: `Send a text message in 5 fragments with a ping after the 2nd and the 4th, pausing for the first pong${chop === "frame" ? ", each frame in its own write" : ""}.`,
        steps: [
          send([text("fragment1", false), cont("fragment2", false), ping("pongme 1!")], chop),
          { kind: "waitEvents", count: 1, ms: 2000 },
          send([cont("fragment3", false), cont("fragment4", false), ping("pongme 2!"), cont("fragment5")], chop)
        ],
        expect: echo([gotPong("pongme 1!"), gotPong("pongme 2!"), msgText("fragment1fragment2fragment3fragment4fragment5")])
      })
    )
  }
  return out
}

// ---------------------------------------------------------------------------
// 6 UTF-8

/** Splits `data` into frames of the given sizes (the last takes the rest). */
const fragmentsOf = (data: Uint8Array, size: number, opcode: number = Op.Text): Array<FrameSpec> => {
  if (data.length === 0) return [{ opcode, payload: data }]
  const out: Array<FrameSpec> = []
  for (let i = 0; i < data.length; i += size) {
    out.push({ opcode: i === 0 ? opcode : Op.Continuation, payload: data.subarray(i, i + size), fin: i + size >= data.length })
  }
  return out
}

/**
 * Markus Kuhn's UTF-8 decoder stress test, grouped as Autobahn 6.5–6.23
 * groups it. Validity is computed by a strict decoder, not hand-assigned.
 */
export const utf8Groups = (): Array<{ readonly name: string; readonly samples: ReadonlyArray<Uint8Array> }> => {
  const cp = (...points: Array<number>): Uint8Array => bytes(String.fromCodePoint(...points))
  const kosme = hex("cebae1bdb9cf83cebcceb5")
  const range = (from: number, to: number, sep?: number): Uint8Array => {
    const out: Array<number> = []
    for (let b = from; b <= to; b++) {
      out.push(b)
      if (sep !== undefined) out.push(sep)
    }
    return Uint8Array.from(out)
  }
  const missingLast = ["c0", "e080", "f08080", "f8808080", "fc80808080", "df", "efbf", "f7bfbf", "fbbfbfbf", "fdbfbfbfbf"].map(hex)
  const surrogates = ["eda080", "edadbf", "edae80", "edafbf", "edb080", "edbe80", "edbfbf"]
  const nonCharacters: Array<Uint8Array> = [cp(0xfffe), cp(0xffff)]
  for (let plane = 1; plane <= 16; plane++) nonCharacters.push(cp(plane * 0x10000 + 0xfffe), cp(plane * 0x10000 + 0xffff))
  return [
    {
      name: "Some valid UTF-8 sequences",
      samples: [bytes("hello$world"), bytes("hello\u00a2world"), bytes("hello\u20acworld"), bytes("hello\u{24b62}world"), kosme]
    },
    { name: "All prefixes of a valid multi-byte string", samples: Array.from({ length: kosme.length }, (_, i) => kosme.subarray(0, i + 1)) },
    { name: "First possible sequence of each length", samples: ["00", "c280", "e0a080", "f0908080"].map(hex) },
    { name: "First possible sequence of length 5/6 (invalid)", samples: ["f888808080", "fc8480808080"].map(hex) },
    { name: "Last possible sequence of each length", samples: ["7f", "dfbf", "efbfbf", "f48fbfbf"].map(hex) },
    { name: "Last possible sequence of length 4/5/6 (invalid)", samples: ["f7bfbfbf", "fbbfbfbfbf", "fdbfbfbfbfbf"].map(hex) },
    { name: "Other boundary conditions", samples: ["ed9fbf", "ee8080", "efbfbd", "f48fbfbf", "f4908080"].map(hex) },
    {
      name: "Unexpected continuation bytes",
      samples: [...["80", "bf", "80bf", "80bf80", "80bf80bf", "80bf80bf80", "80bf80bf80bf"].map(hex), range(0x80, 0xbf)]
    },
    {
      name: "Lonely start bytes",
      samples: [range(0xc0, 0xdf, 0x20), range(0xe0, 0xef, 0x20), range(0xf0, 0xf7, 0x20), range(0xf8, 0xfb, 0x20), range(0xfc, 0xfd, 0x20)]
    },
    { name: "Sequences with the last continuation byte missing", samples: missingLast },
    { name: "Concatenation of incomplete sequences", samples: [Uint8Array.from(missingLast.flatMap((b) => [...b]))] },
    { name: "Impossible bytes", samples: ["fe", "ff", "fefeffff"].map(hex) },
    { name: "Overlong ASCII character", samples: ["c0af", "e080af", "f08080af", "f8808080af", "fc80808080af"].map(hex) },
    { name: "Maximum overlong sequences", samples: ["c1bf", "e09fbf", "f08fbfbf", "f887bfbfbf", "fc83bfbfbfbf"].map(hex) },
    { name: "Overlong NUL", samples: ["c080", "e08080", "f0808080", "f880808080", "fc8080808080"].map(hex) },
    { name: "Single UTF-16 surrogates", samples: surrogates.map(hex) },
    {
      name: "Paired UTF-16 surrogates",
      samples: ["eda080edb080", "eda080edbfbf", "edadbfedb080", "edadbfedbfbf", "edae80edb080", "edae80edbfbf", "edafbfedb080", "edafbfedbfbf"].map(hex)
    },
    { name: "Non-character code points (valid UTF-8)", samples: nonCharacters },
    { name: "Unicode specials (valid)", samples: [0xfff9, 0xfffa, 0xfffb, 0xfffc, 0xfffd, 0xfffe, 0xffff].map((c) => cp(c)) }
  ]
}

const utf8 = (): Array<Case> => {
  const out: Array<Case> = []
  out.push(
    mk({ id: "6.1.1", description: "Send an empty text message.", steps: [send([text("")])], expect: echo([msgText("")]) }),
    mk({
      id: "6.1.2",
      description: "Send a text message in 3 empty fragments.",
      steps: [send([text("", false), cont("", false), cont("")])],
      expect: echo([msgText("")])
    }),
    mk({
      id: "6.1.3",
      description: "Send a text message in 3 fragments, the first and last empty.",
      steps: [send([text("", false), cont("middle frame payload", false), cont("")])],
      expect: echo([msgText("middle frame payload")])
    })
  )
  const hello = bytes("Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!")
  const kosme = hex("cebae1bdb9cf83cebcceb5")
  const cut = bytes("Hello-\u00b5@\u00df\u00f6\u00e4").length
  out.push(
    mk({ id: "6.2.1", description: "Send valid UTF-8 text in one frame.", steps: [send([text(hello)])], expect: echo([msgText(hello)]) }),
    mk({
      id: "6.2.2",
      description: "Send valid UTF-8 text in 2 fragments split on a code point boundary.",
      steps: [send([text(hello.subarray(0, cut), false), cont(hello.subarray(cut))])],
      expect: echo([msgText(hello)])
    }),
    mk({
      id: "6.2.3",
      description: "Send valid UTF-8 text in 1-byte fragments (splitting code points).",
      steps: [send(fragmentsOf(hello, 1))],
      expect: echo([msgText(hello)])
    }),
    mk({
      id: "6.2.4",
      description: "Send the valid UTF-8 text κόσμε in 1-byte fragments.",
      steps: [send(fragmentsOf(kosme, 1))],
      expect: echo([msgText(kosme)])
    })
  )
  const invalid = hex("cebae1bdb9cf83cebcceb5 eda080 656469746564")
  out.push(
    mk({ id: "6.3.1", description: "Send invalid UTF-8 text (a surrogate) in one frame.", steps: [send([text(invalid)])], expect: fail(1007) }),
    mk({
      id: "6.3.2",
      description: "Send invalid UTF-8 text (a surrogate) in 1-byte fragments.",
      steps: [send(fragmentsOf(invalid, 1))],
      expect: fail(1007)
    })
  )
  // 6.4: fail fast. The close must arrive while the peer pauses after the
  // invalid bytes, before it sends the rest of the message.
  const part1 = hex("cebae1bdb9cf83cebcceb5")
  const part2 = hex("f4908080") // 0x110000: beyond Unicode
  const part3 = hex("656469746564")
  const whole = new Uint8Array([...part1, ...part2, ...part3])
  const settle: Step = { kind: "waitClose", ms: SETTLE_MS }
  const wait: Step = { kind: "waitClose", ms: FAIL_FAST_MS }
  const failFast = fail(1007, [], { before: "part3", notBefore: "part2" })
  out.push(
    mk({
      id: "6.4.1",
      description:
        "Fail fast: invalid text in 3 frames (valid; the 4 bytes of U+110000; valid), pausing after each: the 1007 must arrive before the 3rd frame.",
      steps: [
        send([text(part1, false)], "all", "part1"),
        settle,
        send([cont(part2, false)], "all", "part2"),
        wait,
        send([cont(part3)], "all", "part3")
      ],
      expect: failFast
    }),
    mk({
      id: "6.4.2",
      description: "Fail fast: as 6.4.1, but the 2nd frame holds only the byte that makes the text invalid (0x90 after 0xF4).",
      steps: [
        send([text(whole.subarray(0, 12), false)], "all", "part1"),
        settle,
        send([cont(whole.subarray(12, 13), false)], "all", "part2"),
        wait,
        send([cont(whole.subarray(13))], "all", "part3")
      ],
      expect: failFast
    })
  )
  const single = text(whole)
  out.push(
    mk({
      id: "6.4.3",
      description: "Fail fast inside one frame: the frame of 6.4.1 written in 3 parts with pauses: the 1007 must arrive before the 3rd part.",
      steps: [
        { kind: "slice", frame: single, from: 0, to: 11, label: "part1" },
        settle,
        { kind: "slice", frame: single, from: 11, to: 15, label: "part2" },
        wait,
        { kind: "slice", frame: single, from: 15, label: "part3" }
      ],
      expect: failFast
    }),
    mk({
      id: "6.4.4",
      description: "Fail fast inside one frame: as 6.4.3, the 2nd part being only the invalidating byte.",
      steps: [
        { kind: "slice", frame: single, from: 0, to: 12, label: "part1" },
        settle,
        { kind: "slice", frame: single, from: 12, to: 13, label: "part2" },
        wait,
        { kind: "slice", frame: single, from: 13, label: "part3" }
      ],
      expect: failFast
    })
  )
  utf8Groups().forEach((group, g) => {
    group.samples.forEach((sample, j) => {
      const valid = isValidUtf8(sample)
      const shown = Buffer.from(sample).toString("hex")
      out.push(
        mk({
          id: `6.${5 + g}.${j + 1}`,
          description: `${group.name}: ${valid ? "valid" : "invalid"} text 0x${shown.length > 40 ? shown.slice(0, 40) + "…" : shown} in one frame.`,
          steps: [send([text(sample)])],
          expect: valid ? echo([msgText(sample)]) : fail(1007)
        })
      )
    })
  })
  return out
}

// ---------------------------------------------------------------------------
// 7 Close handling

const closing = (): Array<Case> => {
  const out: Array<Case> = []
  const big = repeat("BAsd7&jh23", 256 * KiB)
  out.push(
    mk({
      id: "7.1.1",
      description: "Send a text message, then a close: the message is echoed, then the close.",
      steps: [send([text("Hello World!"), close(1000)])],
      expect: echo([msgText("Hello World!")])
    }),
    mk({
      id: "7.1.2",
      description: "Send two close frames: exactly one close comes back.",
      steps: [send([close(1000), close(1000)])],
      expect: echo([])
    }),
    mk({
      id: "7.1.3",
      description: "Send a close, then a ping: no pong after the close.",
      steps: [send([close(1000), ping("Hello World!")])],
      expect: echo([])
    }),
    mk({
      id: "7.1.4",
      description: "Send a close, then a text message: the message is not echoed.",
      steps: [send([close(1000), text("Hello World!")])],
      expect: echo([])
    }),
    mk({
      id: "7.1.5",
      description: "Send the first fragment of a text message, a close, then the last fragment: no echo.",
      steps: [send([text("fragment1", false), close(1000), cont("fragment2")])],
      expect: echo([])
    }),
    mk({
      id: "7.1.6",
      description: "Send a 256 KiB text message, a close, then a ping: the close is echoed, no pong (the echo may or may not precede it).",
      steps: [send([text(big), close(1000), ping("Hello World!")])],
      expect: { kind: "echo", events: [], closeCode: 1000, ignoreMessages: true }
    }),
    mk({ id: "7.3.1", description: "Send a close with an empty payload: an empty close comes back.", steps: [send([close()])], expect: echo([], "empty") }),
    mk({
      id: "7.3.2",
      description: "Send a close with a 1-byte payload (RFC 6455 §5.5.1: a body starts with a 2-byte code).",
      steps: [send([{ opcode: Op.Close, payload: "a" }])],
      expect: fail(1002)
    }),
    mk({ id: "7.3.3", description: "Send a close with code 1000 and no reason.", steps: [send([close(1000)])], expect: echo([]) }),
    mk({
      id: "7.3.4",
      description: "Send a close with code 1000 and a short reason.",
      steps: [send([close(1000, "Hello World!")])],
      expect: echo([])
    }),
    mk({
      id: "7.3.5",
      description: "Send a close with code 1000 and a 123-byte reason (the largest that fits).",
      steps: [send([close(1000, repeat("*", 123))])],
      expect: echo([])
    }),
    mk({
      id: "7.3.6",
      description: "Send a close with code 1000 and a 124-byte reason (a 126-byte control payload).",
      steps: [send([close(1000, repeat("*", 124))])],
      expect: fail(1002)
    }),
    mk({
      id: "7.5.1",
      description: "Send a close with code 1000 and an invalid UTF-8 reason (RFC 6455 §7.1.6).",
      steps: [send([close(1000, hex("cebae1bdb9cf83cebcceb5 eda080 656469746564"))])],
      expect: fail(1007)
    })
  )
  const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999, 1012, 1013, 1014]
  valid.forEach((code, i) => {
    out.push(
      mk({
        id: `7.7.${i + 1}`,
        autobahn: i < 13,
        description: `Send a close with the valid code ${code}: it is echoed.`,
        steps: [send([close(code)])],
        expect: echo([], code)
      })
    )
  })
  const invalid = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 1015]
  invalid.forEach((code, i) => {
    out.push(
      mk({
        id: `7.9.${i + 1}`,
        autobahn: i < 9,
        description: `Send a close with the invalid code ${code}: 1002.`,
        steps: [send([close(code)])],
        expect: fail(1002)
      })
    )
  })
  ;[5000, 65535].forEach((code, i) => {
    out.push(
      mk({
        id: `7.13.${i + 1}`,
        description: `Send a close with the out-of-range code ${code}: 1002 (informational in Autobahn, strict here).`,
        steps: [send([close(code)])],
        expect: fail(1002)
      })
    )
  })
  return out
}

// ---------------------------------------------------------------------------
// 9 Limits and performance (bounded: 16 MiB at most)

const limits = (): Array<Case> => {
  const out: Array<Case> = []
  const readLimit = 16 * MiB
  const textOf = (n: number): Uint8Array => repeat("BAsd7&jh23", n)
  const binOf = (n: number): Uint8Array => filled(0xfe, n)
  const kinds = [
    ["text", Op.Text, textOf, msgText],
    ["binary", Op.Binary, binOf, msgBinary]
  ] as const
  kinds.forEach(([kind, opcode, make, expectMsg], k) => {
    ;[64 * KiB, 256 * KiB, MiB, 4 * MiB, 8 * MiB, 16 * MiB].forEach((n, i) => {
      const p = make(n)
      out.push(
        mk({
          id: `9.${1 + k}.${i + 1}`,
          description: `Send a ${kind} message of ${sizeName(n)}.`,
          readLimit,
          eventsMs: 20_000,
          steps: [send([{ opcode, payload: p }])],
          expect: echo([expectMsg(p)])
        })
      )
    })
  })
  kinds.forEach(([kind, opcode, make, expectMsg], k) => {
    const p = make(4 * MiB)
    ;[64, 256, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 4 * MiB].forEach((size, i) => {
      out.push(
        mk({
          id: `9.${3 + k}.${i + 1}`,
          description: `Send a 4 MiB ${kind} message in fragments of ${sizeName(size)}.`,
          readLimit,
          eventsMs: 20_000,
          steps: [send(fragmentsOf(p, size, opcode))],
          expect: echo([expectMsg(p)])
        })
      )
    })
  })
  kinds.forEach(([kind, opcode, make, expectMsg], k) => {
    const p = make(MiB)
    ;[64, 128, 256, 512, KiB, 2 * KiB].forEach((chop, i) => {
      out.push(
        mk({
          id: `9.${5 + k}.${i + 1}`,
          description: `Send a 1 MiB ${kind} message in one frame, written in chops of ${chop} bytes.`,
          readLimit,
          eventsMs: 20_000,
          steps: [send([{ opcode, payload: p }], chop)],
          expect: echo([expectMsg(p)])
        })
      )
    })
    const small = make(8 * KiB)
    out.push(
      mk({
        id: `9.${5 + k}.0`,
        autobahn: false,
        description: `Send an 8 KiB ${kind} message in one frame, written 1 byte at a time.`,
        eventsMs: 20_000,
        steps: [send([{ opcode, payload: small }], 1)],
        expect: echo([expectMsg(small)])
      })
    )
  })
  kinds.forEach(([kind, opcode, make, expectMsg], k) => {
    ;[0, 16, 64, 256, KiB, 4 * KiB].forEach((n, i) => {
      const p = make(n)
      out.push(
        mk({
          id: `9.${7 + k}.${i + 1}`,
          description: `Send ${ROUNDTRIPS} ${kind} messages of ${sizeName(n)}, each after the previous echo (Autobahn: 1000).`,
          eventsMs: 20_000,
          steps: [{ kind: "roundtrips", count: ROUNDTRIPS, opcode, payload: p }],
          expect: echo(Array.from({ length: ROUNDTRIPS }, () => expectMsg(p)))
        })
      )
    })
  })
  // Ours: the read limit itself.
  const limit = 64 * KiB
  const over = textOf(MiB)
  const overFrame = text(over)
  out.push(
    mk({
      id: "9.20.1",
      autobahn: false,
      description: "With the read limit at 64 KiB, send a text message of exactly 64 KiB: echoed.",
      readLimit: limit,
      steps: [send([text(textOf(limit))])],
      expect: echo([msgText(textOf(limit))])
    }),
    mk({
      id: "9.20.2",
      autobahn: false,
      description:
        "With the read limit at 64 KiB, send the header and first 64 KiB + 1 bytes of a 1 MiB text frame: the 1009 must arrive before the rest is sent.",
      readLimit: limit,
      steps: [
        { kind: "slice", frame: overFrame, from: 0, to: limit + 1, label: "head" },
        { kind: "waitClose", ms: FAIL_FAST_MS },
        { kind: "slice", frame: overFrame, from: limit + 1, label: "rest" }
      ],
      expect: fail(1009, [], { before: "rest" })
    }),
    mk({
      id: "9.20.3",
      autobahn: false,
      description: "With the read limit at 64 KiB, send a binary message of 80 KiB in 16 KiB fragments: 1009.",
      readLimit: limit,
      steps: [send(fragmentsOf(binOf(80 * KiB), 16 * KiB, Op.Binary))],
      expect: fail(1009)
    }),
    mk({
      id: "9.20.4",
      autobahn: false,
      description: "Send a frame whose 64-bit length has its most significant bit set (RFC 6455 §5.2): 1002.",
      steps: [send([{ opcode: Op.Binary, payload: filled(1, 16), declaredLength: 1n << 63n }])],
      expect: fail(1002)
    }),
    mk({
      id: "9.20.5",
      autobahn: false,
      description: "With the read limit at 1 MiB, send a frame announcing 2^53 bytes: 1009.",
      steps: [send([{ opcode: Op.Binary, payload: filled(1, 16), declaredLength: 1n << 53n }])],
      expect: fail(1009)
    })
  )
  return out
}

// ---------------------------------------------------------------------------
// 10 Auto-fragmentation

const autoFragmentation = (): Array<Case> => {
  const p = repeat("*", 65536)
  return [
    mk({
      id: "10.1.1",
      description: "Send a 64 KiB text message in fragments of 1300 bytes: the whole message is echoed.",
      steps: [send(fragmentsOf(p, 1300))],
      expect: echo([msgText(p)])
    })
  ]
}

// ---------------------------------------------------------------------------
// 0 Opening handshake

const handshakeServer = (): Array<Case> => {
  const bad = (id: string, description: string, request: RequestShape, status: number, headers?: Record<string, RegExp>): Case =>
    mk({
      id,
      autobahn: false,
      roles: ["server"],
      description,
      request,
      steps: [],
      expect: headers === undefined ? { kind: "http", status } : { kind: "http", status, headers }
    })
  return [
    mk({
      id: "0.1.1",
      autobahn: false,
      roles: ["server"],
      description: "A valid opening handshake: 101 with the right Sec-WebSocket-Accept, then a clean close.",
      steps: [],
      expect: echo([])
    }),
    mk({
      id: "0.1.2",
      autobahn: false,
      roles: ["server"],
      description: "Header values in other cases and token lists (Connection: keep-alive, Upgrade; Upgrade: WebSocket): 101.",
      request: { headers: { Connection: "keep-alive, Upgrade", Upgrade: "WebSocket" } },
      steps: [],
      expect: echo([])
    }),
    mk({
      id: "0.1.3",
      autobahn: false,
      roles: ["server"],
      description: "An offered extension that is not supported (and compression off) is not negotiated: 101 without Sec-WebSocket-Extensions.",
      request: { headers: { "Sec-WebSocket-Extensions": "x-unknown; a=1, permessage-deflate; client_max_window_bits" } },
      steps: [],
      expect: echo([])
    }),
    bad("0.1.4", "No Sec-WebSocket-Key: 400.", { headers: { "Sec-WebSocket-Key": null } }, 400),
    bad("0.1.5", "A Sec-WebSocket-Key that is not base64: 400.", { headers: { "Sec-WebSocket-Key": "not a key!" } }, 400),
    bad("0.1.6", "A Sec-WebSocket-Key of 15 bytes: 400.", { headers: { "Sec-WebSocket-Key": Buffer.alloc(15, 7).toString("base64") } }, 400),
    bad(
      "0.1.7",
      "Two Sec-WebSocket-Key header lines: 400.",
      { extraLines: [`Sec-WebSocket-Key: ${Buffer.alloc(16, 9).toString("base64")}`] },
      400
    ),
    bad("0.1.8", "Sec-WebSocket-Version: 14: 400 with Sec-WebSocket-Version: 13.", { headers: { "Sec-WebSocket-Version": "14" } }, 400, {
      "sec-websocket-version": /(^|[ ,])13($|[ ,])/
    }),
    bad("0.1.9", "Sec-WebSocket-Version: 8 (a draft): 400 with Sec-WebSocket-Version: 13.", { headers: { "Sec-WebSocket-Version": "8" } }, 400, {
      "sec-websocket-version": /(^|[ ,])13($|[ ,])/
    }),
    bad("0.1.10", "No Sec-WebSocket-Version: 400.", { headers: { "Sec-WebSocket-Version": null } }, 400),
    bad("0.1.11", "Method POST: 405.", { method: "POST", headers: { "Content-Length": "0" } }, 405),
    bad("0.1.12", "No Upgrade header: 426 with Upgrade: websocket.", { headers: { Upgrade: null } }, 426, { upgrade: /^websocket$/i }),
    bad("0.1.13", "Upgrade: h2c: 426 with Upgrade: websocket.", { headers: { Upgrade: "h2c" } }, 426, { upgrade: /^websocket$/i }),
    bad("0.1.14", "Connection: keep-alive (no upgrade token): 426 with Upgrade: websocket.", { headers: { Connection: "keep-alive" } }, 426, {
      upgrade: /^websocket$/i
    }),
    bad("0.1.15", "HTTP/1.0: 426.", { version: "HTTP/1.0" }, 426)
  ]
}

const handshakeClient = (): Array<Case> => {
  const refuse = (id: string, description: string, response: (r: HttpHead) => string, subprotocols?: ReadonlyArray<string>): Case => {
    const c: CaseInput = { id, autobahn: false, roles: ["client"], description, response, steps: [], expect: { kind: "refuse" } }
    return mk(subprotocols === undefined ? c : { ...c, subprotocols })
  }
  const accept = (r: HttpHead): string => acceptKey(r.headers["sec-websocket-key"] ?? "")
  const head = (lines: ReadonlyArray<string>): string => lines.join("\r\n") + "\r\n\r\n"
  return [
    mk({
      id: "0.2.1",
      autobahn: false,
      roles: ["client"],
      description: "A valid 101: the client opens (its request is checked: GET, HTTP/1.1, Host, a 16-byte base64 key, version 13), then closes cleanly.",
      response: (r) => switchingProtocols(r),
      steps: [],
      expect: echo([])
    }),
    mk({
      id: "0.2.2",
      autobahn: false,
      roles: ["client"],
      description: "A 101 with Connection: keep-alive, Upgrade and Upgrade: WebSocket: accepted.",
      response: (r) => head(["HTTP/1.1 101 Switching Protocols", "Upgrade: WebSocket", "Connection: keep-alive, Upgrade", `Sec-WebSocket-Accept: ${accept(r)}`]),
      steps: [],
      expect: echo([])
    }),
    mk({
      id: "0.2.3",
      autobahn: false,
      roles: ["client"],
      description: "The client offers a subprotocol and the 101 selects it: accepted.",
      subprotocols: ["chat.v1", "chat.v2"],
      response: (r) => switchingProtocols(r, ["Sec-WebSocket-Protocol: chat.v2"]),
      steps: [],
      expect: echo([])
    }),
    mk({
      id: "0.2.4",
      autobahn: false,
      roles: ["client"],
      description: "The client offers a subprotocol and the 101 selects none: accepted (RFC 6455 §4.1 only refuses an unoffered one).",
      subprotocols: ["chat.v1"],
      response: (r) => switchingProtocols(r),
      steps: [],
      expect: echo([])
    }),
    refuse("0.2.5", "A wrong Sec-WebSocket-Accept: refused.", (r) =>
      switchingProtocols({ ...r, headers: { ...r.headers, "sec-websocket-key": "AAAAAAAAAAAAAAAAAAAAAA==" } })
    ),
    refuse("0.2.6", "No Sec-WebSocket-Accept: refused.", () =>
      head(["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade"])
    ),
    refuse("0.2.7", "Status 200 instead of 101: refused.", () =>
      head(["HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 2"]) + "ok"
    ),
    refuse("0.2.8", "A 101 without Upgrade: refused.", (r) =>
      head(["HTTP/1.1 101 Switching Protocols", "Connection: Upgrade", `Sec-WebSocket-Accept: ${accept(r)}`])
    ),
    refuse("0.2.9", "A 101 with Upgrade: h2c: refused.", (r) =>
      head(["HTTP/1.1 101 Switching Protocols", "Upgrade: h2c", "Connection: Upgrade", `Sec-WebSocket-Accept: ${accept(r)}`])
    ),
    refuse("0.2.10", "A 101 without Connection: Upgrade: refused.", (r) =>
      head(["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", `Sec-WebSocket-Accept: ${accept(r)}`])
    ),
    refuse("0.2.11", "A subprotocol the client did not offer (it offered none): refused.", (r) =>
      switchingProtocols(r, ["Sec-WebSocket-Protocol: chat.v1"])
    ),
    refuse("0.2.12", "A subprotocol other than the offered ones: refused.", (r) => switchingProtocols(r, ["Sec-WebSocket-Protocol: chat.v9"]), [
      "chat.v1",
      "chat.v2"
    ]),
    refuse("0.2.13", "permessage-deflate in the 101 though the client offered no extension: refused.", (r) =>
      switchingProtocols(r, ["Sec-WebSocket-Extensions: permessage-deflate"])
    ),
    refuse("0.2.14", "An unknown extension in the 101: refused.", (r) => switchingProtocols(r, ["Sec-WebSocket-Extensions: x-unknown"]))
  ]
}

/** Every case, in catalogue order (built on first use: deflateCases.ts imports this module). */
let all: ReadonlyArray<Case> | undefined
const allCases = (): ReadonlyArray<Case> => (all ??= [
  ...handshakeServer(),
  ...handshakeClient(),
  ...framing(),
  ...pings(),
  ...reservedBits(),
  ...opcodes(),
  ...fragmentation(),
  ...utf8(),
  ...closing(),
  ...limits(),
  ...autoFragmentation(),
  ...deflateCases()
])

export const casesFor = (role: Role): ReadonlyArray<Case> => allCases().filter((c) => c.roles.includes(role))
