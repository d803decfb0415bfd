/**
 * The vitest body shared by server.test.ts and client.test.ts: every case
 * is its own test, run concurrently, and the table is printed at the end.
 */
import { afterAll, describe, expect, it } from "vitest"
import type { Role } from "./cases.js"
import { casesFor } from "./cases.js"
import type { Verdict } from "./run.js"
import { formatReport, runCase, ServerPool } from "./suite.js"
import { selectedTargets } from "./targets.js"

export const defineConformance = async (role: Role): Promise<void> => {
  const cases = casesFor(role)
  const order = new Map(cases.map((c, i) => [c.id, i]))
  for (const target of selectedTargets()) {
    const unavailable = await target.unavailable()
    describe(`${role} role, target ${target.name}`, () => {
      if (unavailable !== undefined) {
        it.skip(`skipped: ${unavailable}`, () => {})
        return
      }
      const pool = new ServerPool(target.server)
      const verdicts: Array<Verdict> = []
      afterAll(async () => {
        await pool.stop()
        verdicts.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0))
        // The full table with CONFORMANCE_TABLE=1; otherwise only what did not pass.
        console.log(formatReport(target, role, cases, verdicts, process.env["CONFORMANCE_TABLE"] === "1"))
      })
      it.concurrent.each(cases.map((c) => [c.id, c] as const))("%s", async (_id, c) => {
        const v = await runCase(target, role, c, pool)
        verdicts.push(v)
        const known = target.knownDeviations[role][c.id]
        if (known !== undefined) {
          expect(v.pass, `${c.id} now passes: remove it from ${target.name}'s knownDeviations`).toBe(false)
        } else {
          expect(v.problems, `${c.id}: ${c.description}`).toEqual([])
        }
      })
    })
  }
}
