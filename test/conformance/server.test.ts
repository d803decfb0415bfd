// The catalogue against each server target (the peer plays the client).
import { defineConformance } from "./conformance.js"

await defineConformance("server")
