import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as TestServices from "effect/TestServices"

/** Polls `value` every millisecond of real time until it is defined (or truthy). */
export const waitFor = <A>(value: () => A | undefined | false | null): Effect.Effect<A> =>
  Effect.suspend(function loop(): Effect.Effect<A> {
    const v = value()
    if (v !== undefined && v !== false && v !== null) return Effect.succeed(v)
    return TestServices.provideLive(Effect.sleep(Duration.millis(1))).pipe(Effect.flatMap(loop))
  })

/**
 * Waits in real time until some fiber has armed a timer on the TestClock,
 * so that `TestClock.adjust` moves time for it (effect-integration.md §4).
 */
export const armed: Effect.Effect<void> = Effect.suspend(function loop(): Effect.Effect<void> {
  return Effect.flatMap(TestClock.sleeps(), (sleeps) =>
    sleeps.length > 0 ? Effect.void : Effect.zipRight(TestServices.provideLive(Effect.sleep(Duration.millis(1))), loop()))
})
