/**
 * Close status codes (RFC 6455 §7.4) and the rules for which may travel in a
 * close frame.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export const NormalClosure = 1000
/** @since 0.1.0 */
export const GoingAway = 1001
/** @since 0.1.0 */
export const ProtocolError = 1002
/** @since 0.1.0 */
export const UnsupportedData = 1003
/** Never on the wire: an empty close payload is reported as this code. @since 0.1.0 */
export const NoStatusReceived = 1005
/** Never on the wire: the connection ended without a close frame. @since 0.1.0 */
export const AbnormalClosure = 1006
/** @since 0.1.0 */
export const InvalidFramePayloadData = 1007
/** @since 0.1.0 */
export const PolicyViolation = 1008
/** @since 0.1.0 */
export const MessageTooBig = 1009
/** @since 0.1.0 */
export const MandatoryExtension = 1010
/** @since 0.1.0 */
export const InternalError = 1011
/** @since 0.1.0 */
export const ServiceRestart = 1012
/** @since 0.1.0 */
export const TryAgainLater = 1013
/** @since 0.1.0 */
export const BadGateway = 1014
/** Never on the wire. @since 0.1.0 */
export const TLSHandshake = 1015

/**
 * Whether `code` may be carried by a close frame, in either direction
 * (1000–1003, 1007–1014, 3000–4999).
 *
 * @since 0.1.0
 */
export const isValidOnWire = (code: number): boolean =>
  Number.isInteger(code) &&
  ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))

/**
 * Whether a clean end of the conversation is signalled by `code`: the
 * `messages` stream ends instead of failing on these.
 *
 * @since 0.1.0
 */
export const isNormal = (code: number): boolean =>
  code === NormalClosure || code === GoingAway || code === NoStatusReceived

const names: Record<number, string> = {
  1000: "NormalClosure",
  1001: "GoingAway",
  1002: "ProtocolError",
  1003: "UnsupportedData",
  1005: "NoStatusReceived",
  1006: "AbnormalClosure",
  1007: "InvalidFramePayloadData",
  1008: "PolicyViolation",
  1009: "MessageTooBig",
  1010: "MandatoryExtension",
  1011: "InternalError",
  1012: "ServiceRestart",
  1013: "TryAgainLater",
  1014: "BadGateway",
  1015: "TLSHandshake"
}

/**
 * The name of a status code, e.g. `NormalClosure`, or `StatusCode(4000)`.
 *
 * @since 0.1.0
 */
export const name = (code: number): string => names[code] ?? `StatusCode(${code})`
