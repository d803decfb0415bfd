import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { Codec, StatusCode, WebSocket } from "../src/index.js"
import { echo } from "../examples/echo/echo.js"
import { closePayload, connect, frame, rawServer } from "./util/raw.js"
import { serve } from "./util/server.js"
import { waitFor } from "./util/wait.js"

const live = <A, E>(effect: Effect.Effect<A, E, import("effect/Scope").Scope | Codec.Codec>) =>
  effect.pipe(Effect.provide(Codec.layerJs))

/** Real-time sleep for tests that wait on sockets. */
const pause = (ms: number) => Effect.sleep(Duration.millis(ms))

describe("Conn", () => {
  it.scopedLive("a fragmented message written with writer arrives whole, and streams with reader", () =>
    live(Effect.gen(function*() {
      const server = yield* serve((conn) =>
        Effect.gen(function*() {
          const whole = yield* conn.read
          yield* conn.write("text", `whole:${whole.text}`)
          const { stream, type } = yield* conn.reader
          const chunks = yield* Stream.runCollect(stream)
          yield* conn.write("text", `${type}:${Chunk.size(chunks) >= 1}:${Buffer.concat([...chunks]).toString()}`)
          yield* conn.closed
        })
      )
      const { conn } = yield* WebSocket.dial(server.url)
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* conn.writer("text")
        yield* w.write("ab")
        yield* w.write("cd")
        yield* w.write("ef")
        yield* w.close
      }))
      expect((yield* conn.read).text).toBe("whole:abcdef")
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* conn.writer("binary")
        for (const part of ["x", "y", "z"]) yield* w.write(part)
      }))
      expect((yield* conn.read).text).toBe("binary:true:xyz")
    })))

  it.scopedLive("writer with a single chunk sends one unfragmented frame", () =>
    Effect.gen(function*() {
      const server = yield* rawServer()
      const fiber = yield* Effect.fork(live(Effect.gen(function*() {
        const { conn } = yield* WebSocket.dial(server.url)
        yield* Effect.scoped(Effect.flatMap(conn.writer("binary"), (w) => w.write(new Uint8Array([1, 2, 3]))))
        yield* Effect.scoped(Effect.flatMap(conn.writer("text"), () => Effect.void))
        yield* conn.closed
      })))
      const peer = yield* server.peers
      yield* peer.until(() => peer.frames.length >= 2)
      expect(peer.frames.map((f) => [f.fin, f.opcode, f.payload.length])).toEqual([[true, 2, 3], [true, 1, 0]])
      peer.socket.destroy()
      yield* Fiber.join(fiber)
    }))

  it.scopedLive("pings and pongs slip between the frames of a fragmented message", () =>
    Effect.gen(function*() {
      const server = yield* rawServer()
      const fiber = yield* Effect.fork(live(Effect.gen(function*() {
        const { conn } = yield* WebSocket.dial(server.url)
        yield* Effect.scoped(Effect.gen(function*() {
          const w = yield* conn.writer("text")
          yield* w.write("one")
          yield* w.write("two")
          // the peer answers this ping while our message is still open
          const rtt = yield* conn.ping
          expect(Duration.isDuration(rtt)).toBe(true)
          yield* w.write("three")
        }))
        return yield* conn.closed
      })))
      const peer = yield* server.peers
      yield* peer.until(() => peer.frames.some((f) => f.opcode === 9))
      const ping = peer.frames.find((f) => f.opcode === 9)
      // a ping of ours in the middle of the message too, then the pong that lets the writer go on
      peer.send(frame(9, "hi", { mask: false }))
      peer.send(frame(10, ping?.payload ?? new Uint8Array(), { mask: false }))
      yield* peer.until(() => peer.frames.some((f) => f.fin && f.opcode === 0))
      expect(peer.frames.map((f) => [f.opcode, f.fin, new TextDecoder().decode(f.payload)])).toEqual([
        [1, false, "one"],
        [9, true, "1"],
        [10, true, "hi"],
        [0, false, "two"],
        [0, true, "three"]
      ])
      peer.send(frame(8, closePayload(1000, "ok"), { mask: false }))
      const closed = yield* Fiber.join(fiber)
      expect([closed.code, closed.reason, closed.received]).toEqual([1000, "ok", true])
    }))

  it.scopedLive("close from the server reaches the client with code and reason, and is echoed", () =>
    live(Effect.gen(function*() {
      let serverSaw: unknown
      const server = yield* serve((conn) =>
        Effect.gen(function*() {
          yield* conn.close(4001, "server says bye")
          serverSaw = yield* conn.closed
        })
      )
      const { conn } = yield* WebSocket.dial(server.url)
      const error = yield* Effect.flip(conn.read)
      expect(error._tag).toBe("CloseError")
      if (error._tag !== "CloseError") return
      expect([error.code, error.reason, error.received]).toEqual([4001, "server says bye", true])
      yield* waitFor(() => serverSaw)
      expect(serverSaw).toMatchObject({ code: 4001, received: true })
    })))

  it.scopedLive("close from the client reaches the server; writes after close fail; close is idempotent", () =>
    live(Effect.gen(function*() {
      const seen: Array<unknown> = []
      const server = yield* serve((conn) => Effect.flip(conn.read).pipe(Effect.tap((e) => Effect.sync(() => seen.push(e)))))
      const { conn } = yield* WebSocket.dial(server.url)
      yield* conn.close(1000, "client done")
      yield* conn.close(1000, "again")
      const writeError = yield* Effect.flip(conn.write("text", "late"))
      expect(writeError).toMatchObject({ _tag: "CloseError", code: 1000, reason: "client done" })
      expect(yield* conn.closed).toMatchObject({ code: 1000, reason: "client done", received: true })
      yield* waitFor(() => seen.length > 0)
      expect(seen[0]).toMatchObject({ _tag: "CloseError", code: 1000, reason: "client done", received: true })
    })))

  it.scopedLive("the read limit: 32768 passes, 32769 fails with MessageTooBig and 1009; -1 disables it", () =>
    Effect.gen(function*() {
      const results: Array<unknown> = []
      const server = yield* live(serve((conn) =>
        Effect.gen(function*() {
          const ok = yield* conn.read
          results.push(ok.data.length)
          const tooBig = yield* Effect.flip(conn.read)
          results.push(tooBig)
        })
      ))
      const peer = yield* connect(server.port)
      peer.send(frame(2, new Uint8Array(32768)))
      peer.send(frame(2, new Uint8Array(32769)))
      const [code, reason] = yield* peer.awaitClose
      expect(code).toBe(1009)
      expect(reason).toBe("read limited at 32769 bytes")
      yield* peer.awaitTcpClose
      expect(results[0]).toBe(32768)
      expect(results[1]).toMatchObject({ _tag: "MessageTooBig", limit: 32768 })

      const unlimited = yield* live(serve((conn) =>
        Effect.gen(function*() {
          yield* conn.setReadLimit(-1)
          const m = yield* conn.read
          yield* conn.write("binary", new TextEncoder().encode(String(m.data.length)))
        })
      ))
      const peer2 = yield* connect(unlimited.port)
      yield* pause(20)
      peer2.send(frame(2, new Uint8Array(100_000)))
      yield* peer2.until(() => peer2.frames.length > 0)
      expect(new TextDecoder().decode(peer2.frames[0].payload)).toBe("100000")
    }))

  it.scopedLive("a frame header announcing more than the limit fails at once, before its payload", () =>
    Effect.gen(function*() {
      const server = yield* live(serve((conn) => conn.read, { readLimit: 1000 }))
      const peer = yield* connect(server.port)
      // only the header of a 1 GB frame
      const header = new Uint8Array(14)
      header.set([0x82, 0xff, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4])
      peer.send(header)
      expect((yield* peer.awaitClose)[0]).toBe(1009)
    }))

  it.scopedLive("100 concurrent writers never interleave their messages", () =>
    live(Effect.gen(function*() {
      const server = yield* serve((conn) =>
        Effect.gen(function*() {
          const got: Array<string> = []
          for (let i = 0; i < 100; i++) got.push((yield* conn.read).text)
          yield* conn.write("text", JSON.stringify(got))
          yield* conn.closed
        })
      )
      const { conn } = yield* WebSocket.dial(server.url)
      yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (i) =>
          Effect.scoped(Effect.gen(function*() {
            const w = yield* conn.writer("text")
            for (const part of ["a", "b", "c"]) {
              yield* w.write(`${i}${part};`)
              yield* Effect.yieldNow()
            }
          })),
        { concurrency: "unbounded" }
      )
      const got: Array<string> = JSON.parse((yield* conn.read).text)
      expect(got).toHaveLength(100)
      for (const m of got) {
        const i = m.split("a;")[0]
        expect(m).toBe(`${i}a;${i}b;${i}c;`)
      }
      expect(new Set(got).size).toBe(100)
    })))

  it.scopedLive("interrupting withWriter after a fragment went out fails the connection with 1011", () =>
    Effect.gen(function*() {
      const server = yield* rawServer()
      const peerFiber = yield* Effect.fork(server.peers)
      yield* live(Effect.gen(function*() {
        const { conn } = yield* WebSocket.dial(server.url)
        const writing = yield* Effect.fork(
          conn.withWriter("text", (w) => Effect.zipRight(Effect.zipRight(w.write("a"), w.write("b")), Effect.never))
        )
        const peer = yield* Fiber.join(peerFiber)
        yield* peer.until(() => peer.frames.length >= 1)
        expect(peer.frames.map((f) => [f.fin, f.opcode])).toEqual([[false, 1]])
        yield* Fiber.interrupt(writing)
        yield* peer.until(() => peer.close !== undefined)
        expect(peer.close?.[0]).toBe(1011)
        // nothing else went out between the fragment and the close
        expect(peer.frames.map((f) => f.opcode)).toEqual([1, 8])
        expect(Exit.isFailure(yield* Effect.exit(conn.write("text", "late")))).toBe(true)
      }))
    }))

  it.scopedLive("a withWriter interrupted before any frame went out gives the lock back, also to its own finalizer", () =>
    Effect.gen(function*() {
      const server = yield* rawServer()
      const peerFiber = yield* Effect.fork(server.peers)
      yield* live(Effect.gen(function*() {
        const { conn } = yield* WebSocket.dial(server.url)
        // holds its only chunk (nothing sent) and never ends; a second writer waits for the lock
        const first = yield* Effect.fork(conn.withWriter("text", (w) => Effect.zipRight(w.write("never"), Effect.never)))
        yield* Effect.yieldNow()
        const second = yield* Effect.fork(conn.write("text", "second"))
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(first)
        yield* Fiber.join(second)
        // interrupted in its use, a fiber writes from its finalizer: no deadlock on its own lock
        const third = yield* Effect.fork(
          conn.withWriter("text", (w) => Effect.zipRight(w.write("never"), Effect.never)).pipe(
            Effect.ensuring(Effect.orDie(conn.write("text", "bye")))
          )
        )
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(third)
        const peer = yield* Fiber.join(peerFiber)
        yield* peer.until(() => peer.frames.length >= 2)
        expect(peer.frames.map((f) => [f.fin, f.opcode, Buffer.from(f.payload).toString()])).toEqual([
          [true, 1, "second"],
          [true, 1, "bye"]
        ])
      }))
    }))

  it.scopedLive("interrupting a read that has not handed over a byte leaves the connection usable", () =>
    live(Effect.gen(function*() {
      const server = yield* serve((conn) =>
        Effect.gen(function*() {
          yield* conn.read // wait for the go signal
          yield* conn.write("text", "first")
          yield* conn.write("text", "second")
          yield* conn.closed
        })
      )
      const { conn } = yield* WebSocket.dial(server.url)
      // nothing arrives within the timeout: the read is interrupted
      const timedOut = yield* conn.read.pipe(Effect.timeout(Duration.millis(50)), Effect.exit)
      expect(Exit.isFailure(timedOut)).toBe(true)
      // a read interrupted while the message is only partly there loses nothing either
      yield* conn.write("text", "go")
      const first = yield* conn.read
      expect(first.text).toBe("first")
      expect((yield* conn.read).text).toBe("second")
      for (let i = 0; i < 20; i++) {
        const exit = yield* conn.read.pipe(Effect.timeout(Duration.millis(1)), Effect.exit)
        expect(Exit.isFailure(exit)).toBe(true)
      }
      yield* conn.close()
    })))

  it.scopedLive("closeRead keeps control frames flowing and closes with 1008 on a data message", () =>
    Effect.gen(function*() {
      const server = yield* live(serve((conn) =>
        Effect.gen(function*() {
          yield* conn.closeRead
          yield* conn.write("text", "tick")
          return yield* conn.closed
        })
      ))
      const peer = yield* connect(server.port)
      peer.send(frame(9, "p1"))
      yield* peer.until(() => peer.frames.some((f) => f.opcode === 10))
      peer.send(frame(1, "unexpected"))
      const [code, reason] = yield* peer.awaitClose
      expect([code, reason]).toEqual([1008, "unexpected data message"])
      expect(peer.frames[0].opcode).toBe(1)
      peer.send(frame(8, closePayload(1008)))
      yield* peer.awaitTcpClose
    }))

  it.scopedLive("ping yields the round trip; it fails with CloseError when the connection closes", () =>
    Effect.gen(function*() {
      const server = yield* rawServer()
      const fiber = yield* Effect.fork(live(Effect.gen(function*() {
        const { conn } = yield* WebSocket.dial(server.url)
        const rtt = yield* conn.ping
        const pending = yield* Effect.fork(conn.ping)
        const error = yield* Fiber.join(pending).pipe(Effect.flip)
        return [rtt, error] as const
      })))
      const peer = yield* server.peers
      yield* peer.until(() => peer.frames.length === 1)
      peer.send(frame(10, "unsolicited", { mask: false }))
      peer.send(frame(10, peer.frames[0].payload, { mask: false }))
      yield* peer.until(() => peer.frames.length === 2)
      peer.send(frame(8, closePayload(1001, "bye"), { mask: false }))
      const [rtt, error] = yield* Fiber.join(fiber)
      expect(Duration.isDuration(rtt)).toBe(true)
      expect(error).toMatchObject({ _tag: "CloseError", code: 1001 })
    }))
})

describe("protocol violations", () => {
  const violation = (name: string, frames: ReadonlyArray<Uint8Array>, code: number) =>
    it.scopedLive(name, () =>
      Effect.gen(function*() {
        const errors: Array<unknown> = []
        const server = yield* live(serve((conn) => Effect.forever(conn.read).pipe(Effect.tapError((e) => Effect.sync(() => errors.push(e))))))
        const peer = yield* connect(server.port)
        peer.send(...frames)
        const [got] = yield* peer.awaitClose
        expect(got).toBe(code)
        yield* peer.awaitTcpClose
        yield* waitFor(() => errors.length > 0)
        expect(errors[0]).toMatchObject({ _tag: "CloseError", code, received: false })
      }))

  violation("an unmasked frame at the server", [frame(2, "x", { mask: false })], 1002)
  violation("reserved opcode 3", [frame(3, "x")], 1002)
  violation("reserved opcode 11", [frame(11, "x")], 1002)
  violation("RSV1 without an extension", [frame(2, "x", { rsv: 4 })], 1002)
  violation("RSV2", [frame(2, "x", { rsv: 2 })], 1002)
  violation("a control frame over 125 bytes", [frame(9, new Uint8Array(126))], 1002)
  violation("a fragmented control frame", [frame(9, "x", { fin: false })], 1002)
  violation("a continuation without a message", [frame(0, "x")], 1002)
  violation("a new message inside a fragmented one", [frame(1, "a", { fin: false }), frame(1, "b")], 1002)
  violation("a 1-byte close payload", [frame(8, new Uint8Array([3]))], 1002)
  violation("close code 1005 on the wire", [frame(8, closePayload(1005))], 1002)
  violation("close code 999", [frame(8, closePayload(999))], 1002)
  violation("close code 5000", [frame(8, closePayload(5000))], 1002)
  violation("invalid UTF-8 in a close reason", [frame(8, new Uint8Array([3, 232, 0xff]))], 1007)
  violation("invalid UTF-8 in a text message", [frame(1, new Uint8Array([0x61, 0xc0, 0x80]))], 1007)
  violation("64-bit length with the top bit set", [new Uint8Array([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4])], 1002)

  it.scopedLive("invalid UTF-8 fails the connection as soon as it arrives, not at message end", () =>
    Effect.gen(function*() {
      const server = yield* live(serve((conn) => echo(conn)))
      const peer = yield* connect(server.port)
      peer.send(frame(1, "valid start ", { fin: false }))
      peer.send(frame(0, new Uint8Array([0xf4, 0x90]), { fin: false })) // above U+10FFFF: invalid already
      const [code] = yield* peer.awaitClose
      expect(code).toBe(1007)
    }))

  it.scopedLive("a masked frame at the client", () =>
    Effect.gen(function*() {
      const server = yield* rawServer()
      const fiber = yield* Effect.fork(live(Effect.gen(function*() {
        const { conn } = yield* WebSocket.dial(server.url)
        return yield* Effect.flip(conn.read)
      })))
      const peer = yield* server.peers
      peer.send(frame(1, "masked", { mask: true }))
      expect((yield* peer.awaitClose)[0]).toBe(1002)
      expect(yield* Fiber.join(fiber)).toMatchObject({ code: 1002, received: false })
    }))

  it.scopedLive("data after the peer's close is ignored", () =>
    Effect.gen(function*() {
      const server = yield* live(serve((conn) => echo(conn)))
      const peer = yield* connect(server.port)
      peer.send(frame(8, closePayload(1000, "done")), frame(1, "ignored"))
      const [code, reason] = yield* peer.awaitClose
      expect([code, reason]).toEqual([1000, "done"])
      yield* peer.awaitTcpClose
      expect(peer.frames.filter((f) => f.opcode !== 8)).toHaveLength(0)
    }))

  it.scopedLive("an empty close is echoed empty and reported as 1005", () =>
    Effect.gen(function*() {
      let seen: unknown
      const server = yield* live(serve((conn) => Effect.flip(conn.read).pipe(Effect.tap((e) => Effect.sync(() => (seen = e))))))
      const peer = yield* connect(server.port)
      peer.send(frame(8, new Uint8Array(0)))
      yield* peer.awaitTcpClose
      const close = peer.frames.find((f) => f.opcode === 8)
      expect(close?.payload.length).toBe(0)
      yield* waitFor(() => seen)
      expect(seen).toMatchObject({ code: StatusCode.NoStatusReceived, received: true })
    }))
})

describe("backpressure", () => {
  it.scopedLive("a consumer that does not read pauses the socket, so the peer's writes wait; reading resumes it", () =>
    live(Effect.gen(function*() {
      let written = 0
      const total = 1000
      const server = yield* serve((conn) =>
        Effect.gen(function*() {
          const chunk = new Uint8Array(64 * 1024)
          for (let i = 0; i < total; i++) {
            chunk[0] = i & 0xff
            yield* conn.write("binary", chunk.slice())
            written++
          }
          yield* conn.closed
        })
      )
      const { conn } = yield* WebSocket.dial(server.url, { readLimit: 1 << 20, maxBufferedBytes: 256 * 1024 })
      // the writer stalls: its writes wait for 'drain' because our socket stopped reading
      let last = -1
      yield* waitFor(() => {
        const stalled = written > 0 && written === last
        last = written
        return stalled
      }).pipe(Effect.andThen(Effect.sleep("200 millis")), Effect.repeat({ until: () => written === last }))
      expect(written).toBeLessThan(total)
      // reading drains the queue and lets everything through, in order
      for (let i = 0; i < total; i++) {
        const m = yield* conn.read
        expect(m.data[0]).toBe(i & 0xff)
      }
      expect(written).toBe(total)
    })), 60_000)
})
