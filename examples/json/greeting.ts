/**
 * The message the JSON examples exchange. Its encoded form differs from its
 * type (`sentAt` travels as an ISO string), so the Schema does real work in
 * both directions.
 */
import * as Schema from "effect/Schema"

export const Greeting = Schema.Struct({
  text: Schema.NonEmptyString,
  sentAt: Schema.Date
})

export type Greeting = typeof Greeting.Type
