/**
 * The README's quick starts are the files in examples/quickstart, and they run.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const readme = readFileSync(`${root}README.md`, "utf8")

/** The first ```ts block after `heading`. */
const blockAfter = (heading: string): string => {
  const at = readme.indexOf(heading)
  expect(at).toBeGreaterThanOrEqual(0)
  const start = readme.indexOf("```ts\n", at) + "```ts\n".length
  return readme.slice(start, readme.indexOf("```", start))
}

describe("README", () => {
  it("shows the quick start files as they are", () => {
    expect(blockAfter("## Server quick start")).toBe(readFileSync(`${root}examples/quickstart/server.ts`, "utf8"))
    expect(blockAfter("## Client quick start")).toBe(readFileSync(`${root}examples/quickstart/client.ts`, "utf8"))
  })

  it.live("the quick start client talks to the quick start server", () =>
    Effect.gen(function*() {
      const tsx = `${root}node_modules/.bin/tsx`
      const server = spawn(tsx, ["examples/quickstart/server.ts"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
      yield* Effect.addFinalizer(() => Effect.sync(() => server.kill("SIGKILL")))
      yield* Effect.async<void>((resume) => {
        server.stdout.on("data", (chunk: Buffer) => {
          if (chunk.toString().includes("listening")) resume(Effect.void)
        })
      })
      const client = spawn(tsx, ["examples/quickstart/client.ts"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
      const [code, out] = yield* Effect.async<[number | null, string]>((resume) => {
        let out = ""
        client.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()))
        client.on("exit", (code) => resume(Effect.succeed([code, out])))
      })
      expect(out).toContain("got text message: hello")
      expect(out).toContain("ping took")
      expect(code).toBe(0)
    }).pipe(Effect.scoped), 120_000)
})
