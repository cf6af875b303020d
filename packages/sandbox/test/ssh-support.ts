/**
 * Test helpers: a promise-based `ssh2` client against the sandbox's SSH server (real sockets), used by
 * the ssh*.test.ts and smoke*.test.ts suites.
 */
import * as Effect from "effect/Effect"
import ssh2 from "ssh2"
import type * as Ssh2 from "ssh2"
import type * as Scope from "effect/Scope"
import * as HostKey from "../src/ssh/HostKey.js"

/** Where and how to connect. */
export interface Target {
  readonly host: string
  readonly port: number
  readonly privateKey?: string
  readonly password?: string
  readonly username?: string
}

/** A connected client plus the host key fingerprint it was shown. */
export interface Conn {
  readonly client: ssh2.Client
  readonly presented: string
}

/** Connects (rejects on handshake/auth failure); records the presented host key fingerprint. */
export const connect = (target: Target): Promise<Conn> =>
  new Promise((resolve, reject) => {
    const client = new ssh2.Client()
    let presented = ""
    client.once("ready", () => resolve({ client, presented }))
    client.once("error", (e) => reject(e))
    client.connect({
      host: target.host,
      port: target.port,
      username: target.username ?? "root",
      ...(target.privateKey !== undefined ? { privateKey: target.privateKey } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      readyTimeout: 10_000,
      algorithms: { serverHostKey: ["ssh-ed25519"] },
      hostVerifier: (key: Buffer) => {
        presented = HostKey.fingerprintOfBlob(key)
        return true
      }
    })
  })

/** A connection acquired for the scope. */
export const connected = (target: Target): Effect.Effect<Conn, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.promise(() => connect(target)), (c) => Effect.sync(() => c.client.end()))

/** Result of one exec. */
export interface ExecResult {
  readonly stdout: string
  readonly stderr: string
  readonly code: number | null
  readonly signal: string | null
  readonly stdoutBytes: Buffer
}

/** Runs one command; `stdin` is written then EOF'd; `onStream` sees the channel (signals, early close). */
export const exec = (
  client: ssh2.Client,
  command: string,
  options: {
    readonly stdin?: string | Buffer
    readonly keepStdinOpen?: boolean
    readonly env?: Record<string, string>
    readonly onStream?: (s: Ssh2.ClientChannel) => void
  } = {}
): Promise<ExecResult> =>
  new Promise((resolve, reject) => {
    client.exec(command, options.env ? { env: options.env } : {}, (err, stream) => {
      if (err) return reject(err)
      const out: Array<Buffer> = []
      const errs: Array<Buffer> = []
      let code: number | null = null
      let signal: string | null = null
      stream.on("data", (d: Buffer) => out.push(d))
      stream.stderr.on("data", (d: Buffer) => errs.push(d))
      stream.on("exit", (c: number | null, s?: string) => {
        code = typeof c === "number" ? c : null
        signal = s ?? (typeof c === "string" ? c : null)
      })
      stream.on("close", () => {
        const stdoutBytes = Buffer.concat(out)
        resolve({ stdout: stdoutBytes.toString("utf8"), stderr: Buffer.concat(errs).toString("utf8"), code, signal, stdoutBytes })
      })
      // like the product's client: stdin (if any), then EOF at once
      if (options.stdin !== undefined) stream.end(options.stdin)
      else if (!options.keepStdinOpen) stream.end()
      options.onStream?.(stream)
    })
  })

/** Opens the SFTP subsystem. */
export const sftp = (client: ssh2.Client): Promise<Ssh2.SFTPWrapper> =>
  new Promise((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))))

/** Promisifies one SFTP call. */
export const call = <A>(f: (cb: (err: Error | null | undefined, a: A) => void) => void): Promise<A> =>
  new Promise((resolve, reject) => f((err, a) => (err ? reject(err) : resolve(a))))

/** SFTP error code of a failed call (2 = NO_SUCH_FILE, 4 = FAILURE, 8 = OP_UNSUPPORTED). */
export const code = async (p: Promise<unknown>): Promise<number | "ok"> => {
  try {
    await p
    return "ok"
  } catch (e) {
    return (e as { code?: number }).code ?? -1
  }
}

/** Promisifies one SFTP call without a result. */
export const done = (f: (cb: (err?: Error | null) => void) => void): Promise<void> =>
  new Promise((resolve, reject) => f((err) => (err ? reject(err) : resolve())))
