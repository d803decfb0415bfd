import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestServices from "effect/TestServices"

/** Polls `value` every millisecond of real time until it is defined (or truthy). */
export const waitFor = <A>(value: () => A | undefined | false | null): Effect.Effect<A> =>
  Effect.suspend(function loop(): Effect.Effect<A> {
    const v = value()
    if (v !== undefined && v !== false && v !== null) return Effect.succeed(v)
    return TestServices.provideLive(Effect.sleep(Duration.millis(1))).pipe(Effect.flatMap(loop))
  })
