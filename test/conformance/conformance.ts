/**
 * The vitest body shared by server.test.ts and client.test.ts: every case
 * is its own test, run concurrently, and the table is printed at the end.
 */
import { afterAll, describe, expect, it } from "vitest"
import type { Case, Role } from "./cases.js"
import { casesFor } from "./cases.js"
import type { Verdict } from "./run.js"
import { formatReport, runCase, ServerPool } from "./suite.js"
import { selectedTargets } from "./targets.js"

/** Every n-th case of each category, in catalogue order. */
const sample = (cases: ReadonlyArray<Case>, every: number): ReadonlyArray<Case> => {
  if (every <= 1) return cases
  const seen = new Map<string, number>()
  return cases.filter((c) => {
    const k = seen.get(c.category) ?? 0
    seen.set(c.category, k + 1)
    return k % every === 0
  })
}

export const defineConformance = async (role: Role): Promise<void> => {
  for (const target of selectedTargets()) {
    const cases = sample(casesFor(role), target.sampleEvery ?? 1)
    const order = new Map(cases.map((c, i) => [c.id, i]))
    const unavailable = await target.unavailable()
    const sampled = (target.sampleEvery ?? 1) > 1 ? `, every ${target.sampleEvery}th case of each category` : ""
    describe(`${role} role, target ${target.name}${sampled}`, () => {
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
