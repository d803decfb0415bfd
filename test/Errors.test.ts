import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { CloseError, closeStatus, HandshakeError, MessageTooBig } from "../src/index.js"

describe("errors", () => {
  it("closeStatus finds the code of a CloseError, also inside a Cause; -1 otherwise", () => {
    const closed = new CloseError({ code: 4001, reason: "x", received: true })
    expect(closeStatus(closed)).toBe(4001)
    expect(closeStatus(Cause.fail(closed))).toBe(4001)
    expect(closeStatus(Cause.sequential(Cause.die("boom"), Cause.fail(closed)))).toBe(4001)
    expect(closeStatus(new MessageTooBig({ limit: 10 }))).toBe(-1)
    expect(closeStatus(Cause.fail(new HandshakeError({ message: "no" })))).toBe(-1)
    expect(closeStatus(undefined)).toBe(-1)
    expect(closeStatus(new Error("x"))).toBe(-1)
  })

  it("messages say what happened", () => {
    expect(new CloseError({ code: 1000, reason: "bye", received: true }).message).toBe(
      "received close frame: status = NormalClosure and reason = \"bye\""
    )
    expect(new CloseError({ code: 4000, reason: "", received: false }).message).toBe(
      "connection closed: status = StatusCode(4000) and reason = \"\""
    )
    expect(new MessageTooBig({ limit: 32768 }).message).toBe("read limited at 32769 bytes")
  })

  it.effect("each error has its own tag for catchTag", () =>
    Effect.gen(function*() {
      const caught = yield* Effect.fail(new MessageTooBig({ limit: 1 })).pipe(
        Effect.catchTag("MessageTooBig", (e) => Effect.succeed(`too big ${e.limit}`))
      )
      expect(caught).toBe("too big 1")
      const other = yield* (Effect.fail(new CloseError({ code: 1001, reason: "", received: true })) as Effect.Effect<
        never,
        CloseError | HandshakeError
      >).pipe(Effect.catchTags({ CloseError: (e) => Effect.succeed(e.code), HandshakeError: () => Effect.succeed(0) }))
      expect(other).toBe(1001)
    }))
})
