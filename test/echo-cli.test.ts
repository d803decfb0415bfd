/**
 * The echo scripts as a user runs them: separate processes, real sockets.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { WebSocket as WsClient } from "ws"
import { Codec } from "../src/index.js"
import { serve } from "./util/server.js"
import { spawnTs } from "./util/spawn.js"
import { waitFor } from "./util/wait.js"

describe("echo scripts", () => {
  it.scopedLive("echo:server listens, echoes with the same type and answers close with the same code", () =>
    Effect.gen(function*() {
      const server = yield* spawnTs("examples/echo/server.ts", "--port", "0", "--read-limit", "100000", "--host", "127.0.0.1")
      const url = yield* waitFor(() => /listening (ws:\/\/127\.0\.0\.1:\d+)/.exec(server.output.stdout)?.[1])
      const ws = new WsClient(url)
      yield* Effect.async<void>((resume) => {
        ws.once("open", () => resume(Effect.void))
      })
      const echoed = (data: string | Buffer) =>
        Effect.async<[Buffer, boolean]>((resume) => {
          ws.once("message", (d: Buffer, isBinary: boolean) => resume(Effect.succeed([d, isBinary])))
          ws.send(data)
        })
      const [text, textIsBinary] = yield* echoed("héllo")
      expect([text.toString(), textIsBinary]).toEqual(["héllo", false])
      const big = Buffer.alloc(99_000, 5)
      const [bin, binIsBinary] = yield* echoed(big)
      expect([bin.equals(big), binIsBinary]).toEqual([true, true])
      const closed = yield* Effect.async<[number, string]>((resume) => {
        ws.once("close", (code: number, reason: Buffer) => resume(Effect.succeed([code, reason.toString()])))
        ws.close(4321, "bye")
      })
      expect(closed[0]).toBe(4321)
      server.child.kill("SIGTERM")
      expect(yield* server.exited).not.toBe(null)
    }), 120_000)

  it.scopedLive("echo:client visits each URL, reports each close code, and fails when a handshake did", () =>
    Effect.gen(function*() {
      const received: Array<string> = []
      const server = yield* serve((conn) =>
        Effect.gen(function*() {
          yield* conn.write("text", "one")
          received.push((yield* conn.read).text)
          yield* conn.write("binary", new Uint8Array([1, 2, 3]))
          const back = yield* conn.read
          received.push(`${back.type}:${[...back.data].join(",")}`)
          yield* conn.close(4000 + received.length, "enough")
        })
      ).pipe(Effect.provide(Codec.layerJs))
      const refused = "ws://127.0.0.1:1/"
      const client = yield* spawnTs("examples/echo/client.ts", server.url, "--read-limit", "1000", refused, `${server.url}/again`)
      expect(yield* client.exited).toBe(1)
      const lines = client.output.stdout.trim().split("\n")
      expect(lines[0]).toBe(`${server.url} closed 4002`)
      expect(lines[1]).toMatch(/^ws:\/\/127\.0\.0\.1:1\/ failed /)
      expect(lines[2]).toBe(`${server.url}/again closed 4004`)
      expect(received).toEqual(["one", "binary:1,2,3", "one", "binary:1,2,3"])

      const ok = yield* spawnTs("examples/echo/client.ts", server.url)
      expect(yield* ok.exited).toBe(0)
      expect(ok.output.stdout.trim()).toBe(`${server.url} closed 4006`)
    }), 120_000)
})
