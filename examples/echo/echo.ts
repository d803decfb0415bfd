/**
 * The echo server and client, as Effect programs. `server.ts` and
 * `client.ts` are their command lines.
 */
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Chunk from "effect/Chunk"
import * as Http from "node:http"
import { Codec, type CloseError, type Extension, type MessageTooBig, WebSocket } from "../../src/index.js"

/**
 * Echoes every message with its type, streaming it from `reader` into
 * `writer` so a large message is never held whole and invalid UTF-8 fails
 * the connection as soon as it arrives. Ends with the close that ended the
 * connection (a peer's close is answered with the same code automatically).
 */
export const echo = (conn: WebSocket.Conn): Effect.Effect<CloseError, never> =>
  Effect.gen(function*() {
    for (;;) {
      const { pull, type } = yield* conn.reader
      yield* conn.withWriter(type, (writer) => relay(pull, writer))
    }
  }).pipe(
    Effect.catchTag("MessageTooBig", () => conn.closed),
    Effect.catchTag("CloseError", (error) => Effect.succeed(error))
  )

/** Writes the chunks of a message as they arrive, until its end. */
const relay = (
  pull: WebSocket.MessageReader["pull"],
  writer: WebSocket.MessageWriter
): Effect.Effect<void, CloseError | MessageTooBig> =>
  Effect.flatMap(pull, (chunks) => {
    if (Chunk.isEmpty(chunks)) return writer.close
    const next = Effect.suspend(() => relay(pull, writer))
    return Chunk.size(chunks) === 1
      ? Effect.zipRight(writer.write(Chunk.unsafeHead(chunks)), next)
      : Effect.zipRight(Effect.forEach(chunks, writer.write, { discard: true }), next)
  })

export interface ServerOptions extends WebSocket.AcceptOptions {
  readonly host: string
  readonly port: number
}

/**
 * An `http.Server` whose `'upgrade'` events become echoed connections, each
 * in its own fiber and scope. The server and every connection close with the
 * layer's scope.
 */
export const serve = (options: ServerOptions): Effect.Effect<Http.Server, Error, Codec.Codec | import("effect/Scope").Scope> =>
  Effect.gen(function*() {
    const run = yield* FiberSet.makeRuntime<Codec.Codec>()
    const server = Http.createServer((_request, response) => {
      response.writeHead(426, { "Content-Type": "text/plain", Connection: "Upgrade", Upgrade: "websocket" })
      response.end("this is a WebSocket echo server\n")
    })
    server.on("upgrade", (request: Http.IncomingMessage, socket, head: Buffer) => {
      run(
        WebSocket.accept({ request, socket, head }, options).pipe(
          Effect.flatMap(echo),
          Effect.scoped,
          Effect.ignore
        )
      )
    })
    yield* Effect.acquireRelease(
      Effect.async<void, Error>((resume) => {
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen(options.port, options.host, () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    return server
  })

/** The port a listening server got (useful with port 0). */
export const portOf = (server: Http.Server): number => {
  const address = server.address()
  return typeof address === "object" && address !== null ? address.port : 0
}

export type ClientResult =
  | { readonly _tag: "Closed"; readonly code: number }
  | { readonly _tag: "Failed"; readonly reason: string }

/**
 * Dials `url` and echoes every message until the connection closes.
 */
export const echoClient = (url: string, options: WebSocket.DialOptions = {}): Effect.Effect<ClientResult, never, Codec.Codec> =>
  WebSocket.dial(url, options).pipe(
    Effect.flatMap(({ conn }) => echo(conn)),
    Effect.map((error): ClientResult => ({ _tag: "Closed", code: error.code })),
    Effect.catchTag("HandshakeError", (error) => Effect.succeed<ClientResult>({ _tag: "Failed", reason: error.message })),
    Effect.scoped
  )

/** Command-line options: `--name value` pairs and positional arguments, in any order. */
export const parseArgs = (
  argv: ReadonlyArray<string>,
  known: ReadonlyArray<string>
): { readonly options: Map<string, string>; readonly positional: Array<string> } => {
  const options = new Map<string, string>()
  const positional: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg.startsWith("--")) {
      const [name, inline] = arg.slice(2).split("=", 2)
      if (!known.includes(name)) throw new Error(`unknown option --${name}`)
      const value = inline ?? argv[++i]
      if (value === undefined) throw new Error(`option --${name} needs a value`)
      options.set(name, value)
    } else {
      positional.push(arg)
    }
  }
  return { options, positional }
}

/** The codec layer named on the command line. */
export const codecLayer = (name: string | undefined): Layer.Layer<Codec.Codec> => {
  if (name === undefined) return Codec.layer
  if (name === "js") return Codec.layerJs
  if (name === "wasm") return Codec.layerWasm
  throw new Error(`unknown codec ${name}`)
}

/** The compression mode named on the command line. */
export const compressionMode = (name: string | undefined): Extension.CompressionMode => {
  if (name === undefined) return "disabled"
  if (name === "disabled" || name === "context-takeover" || name === "no-context-takeover") return name
  throw new Error(`unknown compression mode ${name}`)
}
