/**
 * The echo scripts as a user runs them: separate processes, real sockets.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { WebSocket as WsClient } from "ws"
import { Codec } from "../src/index.js"
import { serve } from "./util/server.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const tsx = `${root}node_modules/.bin/tsx`

const start = (script: string, args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() => spawn(tsx, [script, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

const firstLine = (child: ChildProcess, pattern: RegExp) =>
  Effect.async<string, Error>((resume) => {
    let out = ""
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const m = pattern.exec(out)
      if (m) resume(Effect.succeed(m[0]))
    })
    child.once("exit", (code) => resume(Effect.fail(new Error(`exited ${code}: ${out}`))))
  })

const output = (child: ChildProcess) =>
  Effect.async<{ code: number | null; stdout: string }>((resume) => {
    let stdout = ""
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.once("exit", (code) => resume(Effect.succeed({ code, stdout })))
  })

describe("echo scripts", () => {
  it.scopedLive("echo:server listens, echoes with the same type and answers close with the same code", () =>
    Effect.gen(function*() {
      const child = yield* start("examples/echo/server.ts", ["--port", "0", "--read-limit", "100000", "--host", "127.0.0.1"])
      const line = yield* firstLine(child, /listening ws:\/\/127\.0\.0\.1:\d+/)
      const url = line.slice("listening ".length)
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
      child.kill("SIGTERM")
      const { code } = yield* output(child)
      expect(code).not.toBe(null)
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
      const child = yield* start("examples/echo/client.ts", [server.url, "--read-limit", "1000", refused, `${server.url}/again`])
      const { code, stdout } = yield* output(child)
      const lines = stdout.trim().split("\n")
      expect(lines[0]).toBe(`${server.url} closed 4002`)
      expect(lines[1]).toMatch(/^ws:\/\/127\.0\.0\.1:1\/ failed /)
      expect(lines[2]).toBe(`${server.url}/again closed 4004`)
      expect(code).toBe(1)
      expect(received).toEqual(["one", "binary:1,2,3", "one", "binary:1,2,3"])

      const ok = yield* start("examples/echo/client.ts", [server.url])
      const result = yield* output(ok)
      expect(result.code).toBe(0)
      expect(result.stdout.trim()).toBe(`${server.url} closed 4006`)
    }), 120_000)
})
