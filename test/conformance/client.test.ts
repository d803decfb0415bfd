// The catalogue against each client target (the peer plays the server).
import { defineConformance } from "./conformance.js"

await defineConformance("client")
