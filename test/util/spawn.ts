/**
 * TypeScript programs started as a user starts them, in a child process
 * whose output is collected. The program runs in the child itself (node
 * --import tsx), so killing the child stops it; the scope kills it.
 */
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))

export const spawnTs = (file: string, ...args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", file, ...args], {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"]
      })
      const output = { text: "", stdout: "" }
      child.stdout.on("data", (chunk: Buffer) => {
        output.text += chunk.toString()
        output.stdout += chunk.toString()
      })
      child.stderr.on("data", (chunk: Buffer) => (output.text += chunk.toString()))
      const exited = Effect.async<number | null>((resume) => {
        if (child.exitCode !== null) return resume(Effect.succeed(child.exitCode))
        child.once("exit", (code) => resume(Effect.succeed(code)))
      })
      return { child, output, exited }
    }),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )
