/**
 * Runs one case against a target and judges the result strictly.
 *
 * Server role: the peer dials the target's URL as a client.
 * Client role: the peer listens as a raw server and the client target dials it.
 */
import type { Case, DataMessage, ExpectedEvent, Role, Step } from "./cases.js"
import { DEFAULT_READ_LIMIT } from "./cases.js"
import type { Agreed } from "./deflate.js"
import { agreed as agreement, checkResponse, describeAgreed, parseElements, PeerDeflater, readOffer, readParams, TargetInflater } from "./deflate.js"
import type { HttpHead } from "./peer.js"
import { dialRaw, listenRaw, RawConn, switchingProtocols } from "./peer.js"
import type { ClientResult, ClientTarget } from "./targets.js"
import { acceptKey, closePayload, encodeFrame, equalBytes, isValidUtf8, Op, preview } from "./wire.js"
import type { FrameSpec, ReceivedFrame } from "./wire.js"

export interface Verdict {
  readonly id: string
  readonly role: Role
  readonly pass: boolean
  /** Every way the target departed from the strict verdict. */
  readonly problems: ReadonlyArray<string>
  /** What happened, in a line, for the table. */
  readonly observed: string
  readonly ms: number
}

/** How long the target has to send its close, or to close TCP, after its cue. */
const CLOSE_MS = 2000
/** How long a client target has to report the end of its run. */
const CLIENT_END_MS = 5000

// ---------------------------------------------------------------------------
// What the target sent

type Observed =
  | { readonly kind: "message"; readonly type: "text" | "binary"; readonly data: Uint8Array; readonly step: number }
  | { readonly kind: "pong"; readonly data: Uint8Array; readonly step: number }
  | { readonly kind: "ping"; readonly data: Uint8Array; readonly step: number }

interface CloseSeen {
  readonly code: number | undefined
  readonly reason: Uint8Array
  readonly step: number
  readonly t: number
}

/**
 * permessage-deflate as agreed for one connection: the peer's compressor,
 * and the limits the target's frames are held to.
 */
interface Session {
  readonly peer: PeerDeflater
  /** Undefined when the extension was not agreed: then no RSV bit is allowed. */
  readonly target: { readonly windowBits: number; readonly noContextTakeover: boolean } | undefined
  readonly allCompressed: boolean
}

/** The peer's side and the target's side of an agreement. */
const session = (a: Agreed | undefined, peerIsServer: boolean, allCompressed: boolean): Session => {
  if (a === undefined) return { peer: new PeerDeflater(15, false), target: undefined, allCompressed: false }
  const server = { windowBits: a.serverMaxWindowBits, noContextTakeover: a.serverNoContextTakeover }
  const client = { windowBits: a.clientMaxWindowBits, noContextTakeover: a.clientNoContextTakeover }
  const peer = peerIsServer ? server : client
  return {
    peer: new PeerDeflater(peer.windowBits, peer.noContextTakeover),
    target: peerIsServer ? client : server,
    allCompressed
  }
}

interface Analysis {
  readonly events: ReadonlyArray<Observed>
  readonly close: CloseSeen | undefined
  readonly tcp: { readonly kind: "fin" | "reset"; readonly t: number; readonly code?: string } | undefined
  readonly problems: ReadonlyArray<string>
}

/**
 * Reassembles the target's frames and checks each against RFC 6455 §5 and,
 * with permessage-deflate agreed, RFC 7692 §6–7: RSV1 only on the first
 * frame of a data message, compressed messages inflate (node:zlib) within
 * the agreed window and context rules.
 */
const analyse = (conn: RawConn, role: Role, deflate?: Session): Analysis => {
  const problems: Array<string> = []
  const events: Array<Observed> = []
  let close: CloseSeen | undefined
  let tcp: Analysis["tcp"]
  let message: { type: "text" | "binary"; parts: Array<Uint8Array>; compressed: boolean } | undefined
  const agreed = deflate?.target
  const inflater = agreed === undefined ? undefined : new TargetInflater(agreed.windowBits, agreed.noContextTakeover)
  let messages = 0
  const seen = (f: ReceivedFrame): string => `frame opcode ${f.opcode}`
  for (const e of conn.events) {
    if (e.kind !== "frame") {
      if (tcp === undefined) tcp = e.kind === "fin" ? { kind: "fin", t: e.t } : { kind: "reset", t: e.t, code: e.code }
      continue
    }
    const f = e.frame
    if (close !== undefined) {
      problems.push(`${seen(f)} sent after its close frame`)
      continue
    }
    if (f.masked !== (role === "client")) problems.push(`${seen(f)} ${f.masked ? "masked by a server" : "unmasked by a client"}`)
    if (f.rsv !== 0) {
      const first = f.opcode === Op.Text || f.opcode === Op.Binary
      if (agreed === undefined) problems.push(`${seen(f)} with RSV bits ${f.rsv} (no extension negotiated)`)
      else if (f.rsv !== 4) problems.push(`${seen(f)} with RSV bits ${f.rsv} (only RSV1 is permessage-deflate's)`)
      else if (!first) problems.push(`${seen(f)} with RSV1 (${f.opcode >= 8 ? "control frames are never compressed" : "only a message's first frame carries it"}, RFC 7692 §6)`)
    }
    if (f.opcode >= 8) {
      if (!f.fin) problems.push(`fragmented control ${seen(f)}`)
      if (f.payload.length > 125) problems.push(`control ${seen(f)} of ${f.payload.length} bytes`)
    }
    switch (f.opcode) {
      case Op.Text:
      case Op.Binary:
        if (message !== undefined) problems.push("new data frame inside a fragmented message")
        message = { type: f.opcode === Op.Text ? "text" : "binary", parts: [f.payload], compressed: agreed !== undefined && (f.rsv & 4) !== 0 }
        break
      case Op.Continuation:
        if (message === undefined) problems.push("continuation frame with no message")
        else message.parts.push(f.payload)
        break
      case Op.Ping:
        events.push({ kind: "ping", data: f.payload, step: e.step })
        continue
      case Op.Pong:
        events.push({ kind: "pong", data: f.payload, step: e.step })
        continue
      case Op.Close: {
        const p = f.payload
        if (p.length === 1) problems.push("close frame with a 1-byte payload")
        const code = p.length >= 2 ? (p[0] << 8) | p[1] : undefined
        const reason = p.subarray(2)
        if (code !== undefined && !isSendable(code)) problems.push(`close code ${code} may not be sent`)
        if (!isValidUtf8(reason)) problems.push("close reason is not valid UTF-8")
        close = { code, reason, step: e.step, t: e.t }
        if (message !== undefined) message = undefined // a close may cut a message short
        continue
      }
      default:
        problems.push(`reserved opcode ${f.opcode}`)
        continue
    }
    if (f.fin && message !== undefined) {
      let data: Uint8Array = message.parts.length === 1 ? (message.parts[0] ?? new Uint8Array(0)) : Buffer.concat(message.parts)
      messages++
      if (message.compressed && inflater !== undefined) {
        const out = inflater.inflate(data)
        if (typeof out === "string") problems.push(`compressed message ${messages} does not inflate: ${out}`)
        else data = out
      } else if (deflate?.allCompressed === true) {
        problems.push(`message ${messages} (${data.length} bytes) sent uncompressed though the target's threshold is 0`)
      }
      if (message.type === "text" && !isValidUtf8(data)) problems.push("text message is not valid UTF-8")
      events.push({ kind: "message", type: message.type, data, step: e.step })
      message = undefined
    }
  }
  if (conn.parseError !== undefined) problems.push(`unparseable bytes: ${conn.parseError}`)
  const window = inflater?.windowProblem()
  if (window !== undefined) problems.push(window)
  return { events, close, tcp, problems }
}

const isSendable = (code: number): boolean =>
  (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)

const describeEvent = (e: Observed | ExpectedEvent): string =>
  e.kind === "message" ? `${e.type} ${preview(e.data)}` : `${e.kind} ${preview(e.data)}`

const sameEvent = (a: Observed, b: ExpectedEvent): boolean =>
  a.kind === b.kind && (a.kind !== "message" || b.kind !== "message" || a.type === b.type) && equalBytes(a.data, b.data)

const compareEvents = (got: ReadonlyArray<Observed>, want: ReadonlyArray<ExpectedEvent>, problems: Array<string>): void => {
  const n = Math.max(got.length, want.length)
  for (let i = 0; i < n; i++) {
    const g = got[i]
    const w = want[i]
    if (g !== undefined && w !== undefined && sameEvent(g, w)) continue
    if (g === undefined && w !== undefined) problems.push(`missing ${describeEvent(w)} (got ${got.length} of ${want.length} events)`)
    else if (g !== undefined && w === undefined) problems.push(`unexpected ${describeEvent(g)}`)
    else if (g !== undefined && w !== undefined) problems.push(`event ${i + 1}: got ${describeEvent(g)}, want ${describeEvent(w)}`)
    return // one mismatch says enough; the rest would cascade
  }
}

// ---------------------------------------------------------------------------
// Driving a connection through a case

interface Driven {
  /** Index of each labelled step. */
  readonly labels: ReadonlyMap<string, number>
  /** When the peer sent its close frame (ms on the connection's clock). */
  readonly peerCloseAt: number | undefined
}

const countEvents = (conn: RawConn): number => conn.completed
const closeArrived = (conn: RawConn): boolean => conn.closeSeen
const tcpEnded = (conn: RawConn): boolean => conn.tcpEnded

const expectedCount = (c: Case): number => (c.expect.kind === "echo" || c.expect.kind === "fail" ? c.expect.events.length : 0)

/** A data message as frames: compressed by the peer unless it says otherwise, its payload cut into `fragment`-byte frames. */
const dataFrames = async (peer: PeerDeflater, m: DataMessage, fragment: number): Promise<Array<FrameSpec>> => {
  const compressed = m.compressed !== false
  const payload = compressed ? await peer.compress(m.data) : m.data
  const size = fragment > 0 ? fragment : Math.max(1, payload.length)
  const out: Array<FrameSpec> = []
  for (let at = 0; at === 0 || at < payload.length; at += size) {
    const fin = at + size >= payload.length
    const part = payload.subarray(at, at + size)
    out.push(at === 0 ? { opcode: m.type === "text" ? Op.Text : Op.Binary, payload: part, fin, rsv: compressed ? 4 : 0 } : { opcode: Op.Continuation, payload: part, fin })
  }
  return out
}

const runSteps = async (conn: RawConn, steps: ReadonlyArray<Step>, deflate: Session | undefined): Promise<Driven> => {
  const labels = new Map<string, number>()
  steps.forEach((s, i) => {
    if ((s.kind === "send" || s.kind === "slice" || s.kind === "deflateSend") && s.label !== undefined) labels.set(s.label, i)
  })
  const peer = (): PeerDeflater => {
    if (deflate === undefined) throw new Error("a deflate step in a case without permessage-deflate")
    return deflate.peer
  }
  let peerCloseAt: number | undefined
  const encoded = new Map<FrameSpec, Uint8Array>()
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]
    if (s === undefined) continue
    conn.step = i
    switch (s.kind) {
      case "send":
        if (peerCloseAt === undefined && s.frames.some((f) => f.opcode === Op.Close)) peerCloseAt = conn.now()
        await conn.sendFrames(s.frames, s.chop)
        break
      case "slice": {
        let bytes = encoded.get(s.frame)
        if (bytes === undefined) {
          bytes = encodeFrame(s.frame, conn.masks)
          encoded.set(s.frame, bytes)
        }
        const payloadLen = typeof s.frame.payload === "string" ? Buffer.byteLength(s.frame.payload) : (s.frame.payload?.length ?? 0)
        const header = bytes.length - payloadLen
        await conn.write(bytes.subarray(s.from === 0 ? 0 : header + s.from, s.to === undefined ? bytes.length : header + s.to))
        break
      }
      case "waitClose":
        await conn.waitFor(() => closeArrived(conn) || tcpEnded(conn), s.ms)
        break
      case "waitEvents":
        await conn.waitFor(() => countEvents(conn) >= s.count || closeArrived(conn) || tcpEnded(conn), s.ms)
        break
      case "roundtrips":
        for (let k = 0; k < s.count; k++) {
          const before = countEvents(conn)
          await conn.sendFrames([{ opcode: s.opcode, payload: s.payload }])
          const ok = await conn.waitFor(() => countEvents(conn) > before || closeArrived(conn) || tcpEnded(conn), CLOSE_MS)
          if (!ok || closeArrived(conn) || tcpEnded(conn)) break
        }
        break
      case "deflateRoundtrips":
        for (const m of s.messages) {
          const before = countEvents(conn)
          await conn.sendFrames(await dataFrames(peer(), m, s.fragment))
          const ok = await conn.waitFor(() => countEvents(conn) > before || closeArrived(conn) || tcpEnded(conn), CLOSE_MS)
          if (!ok || closeArrived(conn) || tcpEnded(conn)) break
        }
        break
      case "deflateSend": {
        const p = peer()
        const frames = await s.build((data) => p.compress(data))
        if (peerCloseAt === undefined && frames.some((f) => f.opcode === Op.Close)) peerCloseAt = conn.now()
        await conn.sendFrames(frames, s.chop)
        break
      }
    }
  }
  conn.step = steps.length
  return { labels, peerCloseAt }
}

/**
 * Runs the case's steps, then the closing choreography its verdict calls
 * for, and judges. `serverSide` is true when the peer plays the server (it
 * then closes TCP itself once the close handshake is done).
 */
const driveAndJudge = async (conn: RawConn, c: Case, role: Role, problems: Array<string>, deflate?: Session): Promise<Analysis> => {
  const driven = await runSteps(conn, c.steps, deflate)
  let peerCloseAt = driven.peerCloseAt
  const expect = c.expect
  if (expect.kind === "echo") {
    await conn.waitFor(() => countEvents(conn) >= expectedCount(c) || closeArrived(conn) || tcpEnded(conn), c.eventsMs ?? 5000)
    if (peerCloseAt === undefined && !closeArrived(conn)) {
      peerCloseAt = conn.now()
      await conn.sendFrames([{ opcode: Op.Close, payload: closePayload(1000) }])
    }
    await conn.waitFor(() => closeArrived(conn) || tcpEnded(conn), CLOSE_MS)
  } else if (expect.kind === "fail") {
    await conn.waitFor(() => closeArrived(conn) || tcpEnded(conn), CLOSE_MS)
    // Answer the target's close like a conforming peer, so that it may close TCP.
    const a = analyse(conn, role, deflate)
    if (a.close !== undefined && peerCloseAt === undefined && !tcpEnded(conn)) {
      await conn.sendFrames([{ opcode: Op.Close, payload: closePayload(a.close.code) }])
    }
  }
  if (role === "server") await conn.waitFor(() => tcpEnded(conn), CLOSE_MS)
  else conn.end() // the server closes TCP first (RFC 6455 §7.1.1)
  deflate?.peer.close()

  const a = analyse(conn, role, deflate)
  problems.push(...a.problems)
  const events = expect.kind === "echo" && expect.ignoreMessages ? a.events.filter((e) => e.kind !== "message") : a.events
  if (expect.kind === "echo") {
    compareEvents(events, expect.events, problems)
    if (a.close === undefined) problems.push("no close frame came back")
    else {
      if (peerCloseAt !== undefined && a.close.t < peerCloseAt) {
        problems.push(`closed unprompted with ${a.close.code ?? "no code"}`)
      } else if (a.close.code !== expect.closeCode) {
        problems.push(`close echoed with ${a.close.code ?? "an empty payload"}, want ${expect.closeCode ?? "an empty payload"}`)
      }
    }
    if (role === "server" && a.tcp?.kind !== "fin") {
      problems.push(a.tcp === undefined ? "server did not close TCP" : `server reset TCP (${a.tcp.code ?? ""}) instead of a FIN`)
    }
  } else if (expect.kind === "fail") {
    compareEvents(events, expect.events, problems)
    if (a.close === undefined) {
      problems.push(`no close frame (want ${expect.code})${a.tcp === undefined ? "" : `; TCP ${a.tcp.kind}`}`)
    } else {
      if (a.close.code !== expect.code) problems.push(`closed with ${a.close.code ?? "an empty payload"}, want ${expect.code}`)
      if (expect.before !== undefined) {
        const limit = driven.labels.get(expect.before) ?? Infinity
        if (a.close.step >= limit) problems.push(`close came only after the peer sent "${expect.before}" (not fail-fast)`)
      }
      if (expect.notBefore !== undefined) {
        const start = driven.labels.get(expect.notBefore) ?? -1
        if (a.close.step < start) problems.push(`close came before the peer sent "${expect.notBefore}"`)
      }
    }
    if (role === "server" && a.tcp === undefined) problems.push("server did not close TCP")
  }
  return a
}

const summarise = (a: Analysis | undefined, extra = ""): string => {
  if (a === undefined) return extra
  const msgs = a.events.filter((e) => e.kind === "message").length
  const pongs = a.events.filter((e) => e.kind === "pong").length
  const parts = [msgs > 0 ? `${msgs} msg` : "", pongs > 0 ? `${pongs} pong` : ""].filter((s) => s !== "")
  parts.push(a.close === undefined ? "no close" : `close ${a.close.code ?? "(empty)"} @step ${a.close.step}`)
  if (a.tcp !== undefined) parts.push(a.tcp.kind === "fin" ? "FIN" : `RST(${a.tcp.code ?? ""})`)
  if (extra !== "") parts.push(extra)
  return parts.join(", ")
}

const tokens = (v: string | undefined): Array<string> => (v ?? "").split(",").map((s) => s.trim().toLowerCase())

/** The case's own demands on the agreement (or on the lack of one). */
const judgeAgreement = (c: Case, a: Agreed | undefined, problems: Array<string>): void => {
  const d = c.deflate
  if (d === undefined) return
  if (d.negotiated === true && a === undefined) problems.push("permessage-deflate was not agreed")
  if (d.negotiated === false && a !== undefined) problems.push(`permessage-deflate was agreed (${describeAgreed(a)}) where it must be declined`)
  const why = a === undefined ? undefined : d.check?.(a)
  if (why !== undefined) problems.push(why)
}

// ---------------------------------------------------------------------------
// Server role

/** The case's offers as header lines of the request. */
const offerLines = (c: Case): ReadonlyArray<string> => {
  const o = c.deflate?.offer
  return o === undefined ? [] : typeof o === "string" ? [o] : o
}

export const runServerCase = async (c: Case, url: string): Promise<Verdict> => {
  const started = performance.now()
  const problems: Array<string> = []
  let analysis: Analysis | undefined
  let extra = ""
  const lines = offerLines(c)
  const shape = c.request ?? {}
  const [firstOffer, ...moreOffers] = lines
  const hs = await dialRaw(
    url,
    firstOffer === undefined
      ? shape
      : {
          ...shape,
          headers: { ...shape.headers, "Sec-WebSocket-Extensions": firstOffer },
          extraLines: [...(shape.extraLines ?? []), ...moreOffers.map((o) => `Sec-WebSocket-Extensions: ${o}`)]
        }
  )
  try {
    const res = hs.response
    if (c.expect.kind === "http") {
      if (res === undefined) problems.push("no HTTP response")
      else {
        extra = `HTTP ${res.status}`
        if (res.status !== c.expect.status) problems.push(`HTTP status ${res.status}, want ${c.expect.status}`)
        for (const [name, pattern] of Object.entries(c.expect.headers ?? {})) {
          const v = res.headers[name]
          if (v === undefined || !pattern.test(v)) problems.push(`header ${name}: ${v ?? "(missing)"}, want ${pattern}`)
        }
      }
    } else if (res === undefined || hs.conn === undefined) {
      problems.push(res === undefined ? "no HTTP response" : `handshake answered ${res.status}`)
    } else {
      if (res.headers["sec-websocket-accept"] !== acceptKey(hs.key)) problems.push("wrong Sec-WebSocket-Accept")
      if (!tokens(res.headers["upgrade"]).includes("websocket")) problems.push("101 without Upgrade: websocket")
      if (!tokens(res.headers["connection"]).includes("upgrade")) problems.push("101 without Connection: Upgrade")
      const ext = res.headers["sec-websocket-extensions"]
      let deflate: Session | undefined
      if (c.deflate === undefined) {
        if (ext !== undefined) problems.push("an extension was negotiated unasked")
      } else {
        const r = checkResponse(lines.join(", "), ext)
        problems.push(...r.problems)
        judgeAgreement(c, r.agreed, problems)
        extra = r.agreed === undefined ? "declined" : describeAgreed(r.agreed)
        deflate = session(r.agreed, false, c.deflate.allCompressed === true)
      }
      if (res.headers["sec-websocket-protocol"] !== undefined) problems.push("a subprotocol was selected unasked")
      analysis = await driveAndJudge(hs.conn, c, "server", problems, deflate)
    }
  } finally {
    hs.socket.destroy()
  }
  return { id: c.id, role: "server", pass: problems.length === 0, problems, observed: summarise(analysis, extra), ms: performance.now() - started }
}

// ---------------------------------------------------------------------------
// Client role

/** Problems with a client's opening request (RFC 6455 §4.1). */
const checkRequest = (r: HttpHead, offered: ReadonlyArray<string>): Array<string> => {
  const p: Array<string> = []
  if (r.method !== "GET") p.push(`request method ${r.method}`)
  if (r.version !== "HTTP/1.1") p.push(`request version ${r.version}`)
  if (r.headers["host"] === undefined) p.push("request without Host")
  if (!tokens(r.headers["upgrade"]).includes("websocket")) p.push("request without Upgrade: websocket")
  if (!tokens(r.headers["connection"]).includes("upgrade")) p.push("request without Connection: Upgrade")
  if (r.headers["sec-websocket-version"] !== "13") p.push(`request version header ${r.headers["sec-websocket-version"] ?? "(missing)"}`)
  const key = r.headers["sec-websocket-key"]
  if (key === undefined || Buffer.from(key, "base64").length !== 16 || Buffer.from(key, "base64").toString("base64") !== key) {
    p.push(`request key ${key ?? "(missing)"} is not 16 base64 bytes`)
  }
  const protocols = r.headers["sec-websocket-protocol"]
  const sent = protocols === undefined ? [] : protocols.split(",").map((s) => s.trim())
  if (sent.join(",") !== offered.join(",")) p.push(`request offers subprotocols [${sent}], want [${offered}]`)
  return p
}

const within = <A>(p: Promise<A>, ms: number): Promise<A | undefined> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms)
    p.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(timer)
        reject(e instanceof Error ? e : new Error(String(e)))
      }
    )
  })

export const runClientCase = async (c: Case, client: ClientTarget): Promise<Verdict> => {
  const started = performance.now()
  const problems: Array<string> = []
  let analysis: Analysis | undefined
  let resolveConn: (conn: RawConn) => void = () => {}
  const connP = new Promise<RawConn>((resolve) => (resolveConn = resolve))
  let handled = false
  let agreed: Agreed | undefined
  const server = await listenRaw((h) => {
    if (handled) return void h.socket.destroy()
    handled = true
    problems.push(...checkRequest(h.request, c.subprotocols ?? []))
    if (h.early.length > 0) problems.push("client sent bytes before the 101")
    let ext: string | undefined
    if (c.deflate !== undefined) {
      const offer = readOffer(h.request.headers["sec-websocket-extensions"])
      if (typeof offer === "string") problems.push(`the client's offer: ${offer}`)
      else {
        ext = c.deflate.respond?.(offer)
        const element = ext === undefined ? undefined : parseElements(ext)[0]
        const params = element === undefined ? undefined : readParams(element, "response")
        // Only well-formed responses make an agreement (the others must be refused).
        if (params !== undefined && typeof params !== "string") agreed = agreement(offer, params)
      }
    }
    const extLines = ext === undefined ? [] : [`Sec-WebSocket-Extensions: ${ext}`]
    resolveConn(h.respond((c.response ?? ((r: HttpHead) => switchingProtocols(r, extLines)))(h.request)))
  })
  const opts = {
    readLimit: c.readLimit ?? DEFAULT_READ_LIMIT,
    subprotocols: c.subprotocols ?? [],
    ...(c.deflate === undefined ? {} : { compression: c.deflate.target })
  }
  const runP = client.run(server.url, opts).catch((e: unknown): ClientResult => ({ closeCode: undefined, error: String(e), opened: false }))
  let extra = ""
  try {
    const conn = await within(connP, CLIENT_END_MS)
    if (conn === undefined) {
      problems.push("client never sent a handshake request")
    } else if (c.expect.kind === "refuse") {
      await conn.waitFor(() => tcpEnded(conn), CLOSE_MS)
      const a = analyse(conn, "client")
      analysis = a
      if (a.events.length > 0 || a.close !== undefined) problems.push("client sent frames after a handshake it must refuse")
      if (a.tcp === undefined) problems.push("client did not close TCP")
      const result = await within(runP, CLIENT_END_MS)
      if (result === undefined) problems.push("client run did not end")
      else {
        extra = result.error === undefined ? "no error" : `error: ${result.error.slice(0, 60)}`
        if (result.opened) problems.push("client reported the connection open")
        if (result.error === undefined) problems.push("client reported no handshake error")
      }
    } else {
      const deflate = c.deflate === undefined ? undefined : session(agreed, true, c.deflate.allCompressed === true)
      if (c.deflate !== undefined) judgeAgreement(c, agreed, problems)
      analysis = await driveAndJudge(conn, c, "client", problems, deflate)
      const result = await within(runP, CLIENT_END_MS)
      if (result === undefined) problems.push("client run did not end after the close")
      else {
        extra = `client saw ${result.closeCode ?? "no code"}`
        if (c.deflate !== undefined) {
          extra += agreed === undefined ? ", declined" : `, ${describeAgreed(agreed)}`
          const reported = (result.extensions ?? "").includes("permessage-deflate")
          if (result.opened && reported !== (agreed !== undefined)) {
            problems.push(`client reports extensions "${result.extensions ?? ""}"${agreed === undefined ? " though none was agreed" : ""}`)
          }
        }
        const want =
          c.expect.kind === "echo"
            ? (c.expect.closeCode ?? 1005)
            : c.expect.kind === "fail"
              ? (client.reportsOwnFailureAs ?? c.expect.code)
              : undefined
        if (!result.opened) problems.push(`client did not open: ${result.error ?? ""}`)
        else if (want !== undefined && result.closeCode !== want) problems.push(`client reported close ${result.closeCode ?? "none"}, want ${want}`)
      }
    }
  } finally {
    await server.close()
  }
  return { id: c.id, role: "client", pass: problems.length === 0, problems, observed: summarise(analysis, extra), ms: performance.now() - started }
}
