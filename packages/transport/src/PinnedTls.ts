/**
 * TLS pinning for the PVE API (transport-trust.md §2.2): pins in every accepted notation normalized to the
 * 32-byte SHA-256 of the leaf certificate's DER, and an undici connector that opens TLS with
 * `rejectUnauthorized:false`, compares the leaf's fingerprint on `secureConnect` and hands the socket to
 * the HTTP layer only on a match, so no request byte (and no token) ever reaches an unverified peer.
 * Pinning never relies on `checkServerIdentity` (Node skips it with `rejectUnauthorized:false`), and
 * sessions are never resumed, so every connection is checked.
 */
import { ApiUnreachable } from "@homelab-mcp/core/Errors"
import * as Undici from "@effect/platform-node/Undici"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import { createHash, timingSafeEqual } from "node:crypto"
import * as net from "node:net"
import * as tls from "node:tls"

/** The forms a pin may be written in (for error messages). */
export const PIN_FORMS =
  "SHA256:<unpadded base64>, bare base64, colon-separated hex (AB:CD:…, as the GUI shows) or 64 hex digits, all of the SHA-256 of the leaf certificate"

const canonicalBase64 = (text: string): Buffer | undefined => {
  const body = text.replace(/=+$/, "")
  if (!/^[A-Za-z0-9+/]{43}$/.test(body) || text.length - body.length > 1) return undefined
  const bytes = Buffer.from(body, "base64")
  return bytes.length === 32 && bytes.toString("base64").replace(/=+$/, "") === body ? bytes : undefined
}

/** Parses a pin in any accepted notation to its 32 bytes; `Left` says what is wrong. */
export const parsePin = (raw: string): Either.Either<Buffer, string> => {
  const text = raw.trim()
  if (/^sha256:/i.test(text)) {
    const bytes = canonicalBase64(text.slice(7))
    return bytes ? Either.right(bytes) : Either.left(`${JSON.stringify(raw)} is not SHA256: followed by 32 bytes of base64`)
  }
  if (/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/i.test(text)) return Either.right(Buffer.from(text.replaceAll(":", ""), "hex"))
  if (/^[0-9a-f]{64}$/i.test(text)) return Either.right(Buffer.from(text, "hex"))
  const bytes = canonicalBase64(text)
  if (bytes) return Either.right(bytes)
  return Either.left(`${JSON.stringify(raw)} is not a SHA-256 fingerprint (expected ${PIN_FORMS})`)
}

/** `SHA256:<unpadded base64>`, the product's canonical pin notation. */
export const formatPin = (bytes: Uint8Array): string => `SHA256:${Buffer.from(bytes).toString("base64").replace(/=+$/, "")}`

/** Colon-separated upper-case hex, as the Proxmox GUI and `GET /nodes` (`ssl_fingerprint`) show it. */
export const colonHex = (bytes: Uint8Array): string =>
  Buffer.from(bytes).toString("hex").toUpperCase().match(/../g)!.join(":")

/** SHA-256 of a certificate's DER. */
export const fingerprintOf = (der: Uint8Array): Buffer => createHash("sha256").update(der).digest()

/** Raised inside the connector when the leaf does not match; recognized by the client, never retried. */
export class PinMismatchError extends Error {
  readonly code = "HOMELAB_TLS_PIN_MISMATCH"
  constructor(
    readonly expected: string,
    readonly presented: string
  ) {
    super(`TLS certificate pin mismatch: expected ${expected}, presented ${presented}`)
    this.name = "PinMismatchError"
  }
}

/** Raised inside the connector when the connection failed before any request byte could be written. */
export class ConnectError extends Error {
  readonly code = "HOMELAB_CONNECT_FAILED"
  constructor(
    message: string,
    readonly errno: string | undefined,
    readonly timedOut: boolean
  ) {
    super(message)
    this.name = "ConnectError"
  }
}

/** Finds an error of the given class in a `cause` chain (undici and Effect wrap connector errors). */
export const findInCause = <E extends Error>(cause: unknown, klass: new (...args: Array<any>) => E): E | undefined => {
  let current: unknown = cause
  for (let depth = 0; depth < 8 && current !== null && current !== undefined; depth++) {
    if (current instanceof klass) return current
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/** How a connection is trusted. */
export interface ConnectorOptions {
  /** The pinned SHA-256 of the leaf certificate (32 bytes). */
  readonly pin: Uint8Array
  /** Connect + TLS handshake limit (`PVE_API_CONNECT_TIMEOUT_MS`). */
  readonly connectTimeoutMs: number
  /** Called once per successful handshake (tests count connections). */
  readonly onVerified?: () => void
}

const describeNetError = (host: string, port: number, error: NodeJS.ErrnoException): string => {
  const where = `${host}:${port}`
  switch (error.code) {
    case "ECONNREFUSED":
      return `connection to ${where} refused`
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `host ${host} not found (DNS)`
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `${where} is unreachable (${error.code})`
    case "ECONNRESET":
      return `${where} reset the connection during the TLS handshake`
    default:
      return `cannot connect to ${where}: ${error.message}`
  }
}

interface Target {
  readonly host: string
  readonly port: number
  readonly servername: string | undefined
}

// One client context for every connection: the peer is checked by pin, never by the CA store, so the
// context carries no CA list (building one per connection would parse Node's whole root store each time).
let context: tls.SecureContext | undefined
const sharedContext = (): tls.SecureContext => (context ??= tls.createSecureContext({ ca: [] }))

/** Opens one TLS connection without CA checks and reports the leaf's fingerprint once the handshake completes. */
const openTls = (
  target: Target,
  connectTimeoutMs: number,
  onHandshake: (socket: tls.TLSSocket, fingerprint: Buffer | undefined) => Error | undefined,
  callback: (error: Error | null, socket: tls.TLSSocket | null) => void
): (() => void) => {
  let done = false
  const socket = tls.connect({
    host: target.host,
    port: target.port,
    ...(target.servername !== undefined ? { servername: target.servername } : {}),
    rejectUnauthorized: false,
    ALPNProtocols: ["http/1.1"],
    secureContext: sharedContext()
  })
  // as undici's own connector: a request's small writes go out at once instead of waiting for Nagle
  socket.setNoDelay(true)
  const finish = (error: Error | null) => {
    if (done) return
    done = true
    clearTimeout(timer)
    socket.removeListener("secureConnect", onSecure)
    socket.removeListener("error", onError)
    socket.removeListener("close", onClose)
    if (error) {
      socket.destroy()
      callback(error, null)
    } else callback(null, socket)
  }
  const onSecure = () => {
    const cert = socket.getPeerCertificate()
    const raw = cert && cert.raw && cert.raw.length > 0 ? fingerprintOf(cert.raw) : undefined
    finish(onHandshake(socket, raw) ?? null)
  }
  const onError = (e: Error) =>
    finish(new ConnectError(describeNetError(target.host, target.port, e as NodeJS.ErrnoException), (e as NodeJS.ErrnoException).code, false))
  const onClose = () =>
    finish(new ConnectError(`${target.host}:${target.port} closed the connection before the TLS handshake completed`, "ECONNRESET", false))
  const timer = setTimeout(
    () => finish(new ConnectError(`connecting to ${target.host}:${target.port} timed out after ${connectTimeoutMs} ms`, "ETIMEDOUT", true)),
    connectTimeoutMs
  )
  socket.once("secureConnect", onSecure)
  socket.once("error", onError)
  socket.once("close", onClose)
  return () => finish(new ConnectError("connection attempt cancelled", "ECANCELED", false))
}

const targetOf = (hostname: string, port: number, servername?: string): Target => {
  const host = hostname.replace(/^\[(.*)\]$/, "$1")
  const sni = servername ?? host
  return { host, port, servername: net.isIP(sni) === 0 && sni !== "" ? sni : undefined }
}

/** The undici connector that checks the pin before the socket is used for HTTP. */
export const connector = (options: ConnectorOptions): Undici.buildConnector.connector => {
  const pin = Buffer.from(options.pin)
  const expected = formatPin(pin)
  return (opts, callback) => {
    const target = targetOf(opts.hostname, Number(opts.port) || 443, opts.servername)
    openTls(
      target,
      options.connectTimeoutMs,
      (_socket, fingerprint) => {
        if (fingerprint === undefined) return new PinMismatchError(expected, "no certificate")
        if (fingerprint.length !== pin.length || !timingSafeEqual(fingerprint, pin)) {
          return new PinMismatchError(expected, formatPin(fingerprint))
        }
        options.onVerified?.()
        return undefined
      },
      (error, socket) => (error ? callback(error, null) : callback(null, socket!))
    )
  }
}

/** A scoped undici Agent whose every connection is pinned; destroyed with the scope. */
export const makeAgent = (options: ConnectorOptions): Effect.Effect<Undici.Agent, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => new Undici.Agent({ connect: connector(options) })),
    (agent) => Effect.promise(() => agent.destroy().catch(() => undefined))
  )

/**
 * Connects once, sends nothing, and returns the SHA-256 of the presented leaf (for TOFU, setup and
 * doctor); fails with `ApiUnreachable` when no handshake completes.
 */
export const probe = (host: string, port: number, connectTimeoutMs: number): Effect.Effect<Buffer, ApiUnreachable> =>
  Effect.async<Buffer, ApiUnreachable>((resume) => {
    let fingerprint: Buffer | undefined
    const cancel = openTls(
      targetOf(host, port),
      connectTimeoutMs,
      (_socket, fp) => {
        fingerprint = fp
        return fp === undefined ? new ConnectError(`${host}:${port} presented no certificate`, undefined, false) : undefined
      },
      (error, socket) => {
        socket?.destroy()
        if (error || fingerprint === undefined) resume(Effect.fail(new ApiUnreachable({ reason: error?.message ?? "no certificate" })))
        else resume(Effect.succeed(fingerprint))
      }
    )
    return Effect.sync(cancel)
  })
