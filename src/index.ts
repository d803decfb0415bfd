/**
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Browser from "./Browser.js"

/** @since 0.1.0 */
export * as Codec from "./Codec.js"

/** @since 0.1.0 */
export * as Conn from "./Conn.js"

/** @since 0.1.0 */
export * as Errors from "./Errors.js"

/** @since 0.1.0 */
export * as Extension from "./Extension.js"

/** @since 0.1.0 */
export * as Frame from "./Frame.js"

/** @since 0.1.0 */
export * as FrameParser from "./FrameParser.js"

/** @since 0.1.0 */
export * as FrameWriter from "./FrameWriter.js"

/** @since 0.1.0 */
export * as Json from "./Json.js"

/** @since 0.1.0 */
export * as Socket from "./Socket.js"

/** @since 0.1.0 */
export * as StatusCode from "./StatusCode.js"

/** @since 0.1.0 */
export * as WebSocket from "./WebSocket.js"

export {
  /** @since 0.1.0 */
  CloseError,
  /** @since 0.1.0 */
  closeStatus,
  /** @since 0.1.0 */
  HandshakeError,
  /** @since 0.1.0 */
  MessageTooBig
} from "./Errors.js"

export {
  /** @since 0.1.0 */
  Message
} from "./Conn.js"
