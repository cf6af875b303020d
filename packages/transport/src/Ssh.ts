/**
 * The pinned SSH connection (transport-trust.md §1, §3.1, §3.2): one lazily opened `ssh2` connection per
 * process shared by every caller, key authentication only, the host key pinned by its `SHA256:` fingerprint
 * (no `hostHash`, host-key algorithms restricted to the pinned type), keepalive, bounded jittered reconnects,
 * at most `SSH_MAX_CHANNELS` channels, one cached SFTP session. Higher-level services (`NodeShell`,
 * `GuestExec`, `GuestFiles`, `HostFiles`) are built on it.
 */
import * as fs from "node:fs/promises"
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from "ssh2"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import {
  CommandFailed,
  type SshError,
  SshAuthFailed,
  SshChannelClosed,
  SshHostKeyMismatch,
  SshTimeout,
  SshTrustUnavailable,
  SshUnreachable
} from "@homelab-mcp/core/Errors"
import * as ConfigVars from "@homelab-mcp/core/ConfigVars"
import * as DataDir from "@homelab-mcp/core/DataDir"
import { CappedBuffer } from "./internal/sshOutput.js"
import { connectSocket } from "./internal/sshSocket.js"
import {
  fingerprintOf,
  HOST_KEY_ALGORITHMS,
  type HostKeyAlgorithm,
  negotiableAlgorithms,
  normalizeFingerprint
} from "./internal/sshFingerprint.js"
import { readKnownHosts, recordKnownHost } from "./internal/sshKnownHosts.js"

// ---------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------

/** Connection options; every field but `host` and one key source has the tiers-setup.md §3 default. */
export interface SshOptions {
  readonly host: string
  /** 22 */
  readonly port?: number
  /** root */
  readonly user?: string
  /** OpenSSH or PEM private key file, read at every connect (`SSH_KEY_PATH`). */
  readonly keyPath?: string
  /** The key itself (tests, sandbox); wins over `keyPath`. */
  readonly privateKey?: Redacted.Redacted<string>
  readonly passphrase?: Redacted.Redacted<string>
  /** `SHA256:…`, bare base64, or a whole `ssh-keygen -lf` line. */
  readonly hostKeyFingerprint?: string
  /** ssh-ed25519 */
  readonly hostKeyAlgorithm?: HostKeyAlgorithm
  /** Trust on first use (false). */
  readonly tofu?: boolean
  /** The TOFU store (`<data>/known_hosts.json`). */
  readonly knownHostsPath?: string
  /** 10000 */
  readonly connectTimeoutMs?: number
  /** 10000; three missed keepalives mark the connection dead. */
  readonly keepaliveMs?: number
  /** 3000, doubling, capped at 60000, times a random 0.5–1.0. */
  readonly reconnectDelayMs?: number
  /** 5 */
  readonly reconnectAttempts?: number
  /** 10000 */
  readonly commandTimeoutGraceMs?: number
  /** 8 (one is reserved for the cached SFTP session). */
  readonly maxChannels?: number
  /** /tmp */
  readonly nodeTempDir?: string
  /** 65536 per stream */
  readonly outputMaxBytes?: number
  /** Where the loud first-use warning goes (default: stderr). */
  readonly warn?: (message: string) => void
}

/** The resolved, secret-free settings every SSH service reads. */
export interface SshSettings {
  readonly host: string
  readonly port: number
  readonly user: string
  readonly hostKeyFingerprint: string | null
  readonly hostKeyAlgorithm: HostKeyAlgorithm
  readonly tofu: boolean
  readonly knownHostsPath: string | null
  readonly connectTimeoutMs: number
  readonly keepaliveMs: number
  readonly reconnectDelayMs: number
  readonly reconnectAttempts: number
  readonly commandTimeoutGraceMs: number
  readonly maxChannels: number
  readonly nodeTempDir: string
  readonly outputMaxBytes: number
}

// ---------------------------------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------------------------------

/** Options of one raw channel command. */
export interface RawExecOptions {
  /** What the command is, for errors (`pct pull`, `execute`). */
  readonly what: string
  /** The client backstop; when it fires, that channel alone is closed and `backstopFired` is set. */
  readonly backstopMs: number
  readonly stdin?: Uint8Array | string
  readonly maxOutputBytes: number
}

/** What a channel reported. `exitCode` is set only from `exit-status`; `signal` only from `exit-signal`. */
export interface RawExecResult {
  readonly exitCode: number | null
  readonly signal: string | null
  readonly stdout: CappedBuffer
  readonly stderr: CappedBuffer
  readonly durationMs: number
  readonly backstopFired: boolean
}

/** Connection counters (tests assert no leaked channels and one shared connection). */
export interface SshStats {
  /** Successful handshakes so far. */
  readonly connects: number
  /** Exec channels currently open (not yet closed by the server). */
  readonly openExecChannels: number
  /** Whether an SFTP session is cached. */
  readonly sftpOpen: boolean
  readonly connected: boolean
  /** The fingerprint the server presented last. */
  readonly presentedFingerprint: string | null
}

/** The shared SSH connection. */
export class Ssh extends Context.Tag("@homelab-mcp/transport/Ssh")<Ssh, Ssh.Service>() {}

export declare namespace Ssh {
  /** The connection service. */
  export interface Service {
    readonly settings: SshSettings
    /** Runs one command string on its own channel (waiting for a channel counts against `backstopMs`). */
    readonly exec: (command: string, options: RawExecOptions) => Effect.Effect<RawExecResult, SshError>
    /** Runs `f` with the cached SFTP session (opened on demand, reopened after an error). */
    readonly withSftp: <A, E>(
      f: (sftp: SFTPWrapper) => Effect.Effect<A, E>
    ) => Effect.Effect<A, E | SshError | CommandFailed>
    /** Current counters. */
    readonly stats: Effect.Effect<SshStats>
    /** Opens the connection now (doctor, tests); the same path every call takes lazily. */
    readonly connect: Effect.Effect<void, SshError>
  }
}

// ---------------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------------

/** The channel could not be opened because the connection had just died; safe to reconnect and retry. */
class StaleConnection extends Data.TaggedError("StaleConnection")<{ readonly reason: string }> {}

interface Conn {
  readonly client: Client
  alive: boolean
  sftp: SFTPWrapper | null
}

type ConnectError = SshError

const isTransient = (e: ConnectError): boolean => e._tag === "SshUnreachable" || e._tag === "SshTimeout"

/** The reconnect policy of §3.1: delay doubling from `delayMs`, capped at 60 s, times a random 0.5–1.0, `attempts` in all. */
export const reconnectSchedule = (delayMs: number, attempts: number) =>
  Schedule.exponential(Duration.millis(delayMs), 2).pipe(
    Schedule.modifyDelay((d) => Duration.min(d, Duration.seconds(60))),
    Schedule.jitteredWith({ min: 0.5, max: 1.0 }),
    Schedule.intersect(Schedule.recurs(Math.max(0, attempts - 1)))
  )

/** Resolves options to settings; a malformed pin is a defect-free `SshTrustUnavailable`. */
export const resolveSettings = (options: SshOptions): Either.Either<SshSettings, SshTrustUnavailable> => {
  let fingerprint: string | null = null
  if (options.hostKeyFingerprint !== undefined && options.hostKeyFingerprint.trim() !== "") {
    const n = normalizeFingerprint(options.hostKeyFingerprint)
    if (Either.isLeft(n)) return Either.left(new SshTrustUnavailable({ reason: `SSH_HOST_KEY_FINGERPRINT: ${n.left}` }))
    fingerprint = n.right
  }
  return Either.right({
    host: options.host,
    port: options.port ?? 22,
    user: options.user ?? "root",
    hostKeyFingerprint: fingerprint,
    hostKeyAlgorithm: options.hostKeyAlgorithm ?? "ssh-ed25519",
    tofu: options.tofu ?? false,
    knownHostsPath: options.knownHostsPath ?? null,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    keepaliveMs: options.keepaliveMs ?? 10_000,
    reconnectDelayMs: options.reconnectDelayMs ?? 3_000,
    reconnectAttempts: options.reconnectAttempts ?? 5,
    commandTimeoutGraceMs: options.commandTimeoutGraceMs ?? 10_000,
    maxChannels: options.maxChannels ?? 8,
    nodeTempDir: options.nodeTempDir ?? "/tmp",
    outputMaxBytes: options.outputMaxBytes ?? 65_536
  })
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Builds the connection service; the connection itself opens on first use and closes with the scope. */
export const make = (options: SshOptions) =>
  Effect.gen(function*() {
    const settings = yield* resolveSettings(options)
    const warn = options.warn ?? ((m: string) => process.stderr.write(m + "\n"))
    const target = `${settings.host}:${settings.port}`

    let current: Conn | null = null
    let everConnected = false
    let connects = 0
    let openExecChannels = 0
    let presented: string | null = null
    // Trust is decided at startup: no pin and no TOFU (or an unusable TOFU store) stops here, naming why.
    if (settings.hostKeyFingerprint === null) {
      if (!settings.tofu) {
        return yield* new SshTrustUnavailable({
          reason: `no SSH_HOST_KEY_FINGERPRINT is set for ${target} and SSH_HOST_KEY_TOFU is off`
        })
      }
      if (settings.knownHostsPath === null) {
        return yield* new SshTrustUnavailable({ reason: "SSH_HOST_KEY_TOFU is on but no SSH_KNOWN_HOSTS_PATH is set" })
      }
      const store = readKnownHosts(settings.knownHostsPath)
      if (Either.isLeft(store)) return yield* new SshTrustUnavailable({ reason: store.left })
    }
    const connectLock = yield* Effect.makeSemaphore(1)
    const sftpLock = yield* Effect.makeSemaphore(1)
    const channelPermits = yield* Effect.makeSemaphore(Math.max(1, settings.maxChannels - 1))

    /** The pin to check: the configured one, else the TOFU store's entry, else null (first use). */
    const expectedPin = Effect.suspend((): Effect.Effect<string | null, SshTrustUnavailable> => {
      if (settings.hostKeyFingerprint !== null) return Effect.succeed(settings.hostKeyFingerprint)
      if (!settings.tofu) {
        return Effect.fail(
          new SshTrustUnavailable({ reason: `no SSH_HOST_KEY_FINGERPRINT is set for ${target} and SSH_HOST_KEY_TOFU is off` })
        )
      }
      if (settings.knownHostsPath === null) {
        return Effect.fail(new SshTrustUnavailable({ reason: "SSH_HOST_KEY_TOFU is on but no SSH_KNOWN_HOSTS_PATH is set" }))
      }
      const store = readKnownHosts(settings.knownHostsPath)
      if (Either.isLeft(store)) return Effect.fail(new SshTrustUnavailable({ reason: store.left }))
      return Effect.succeed(store.right[target]?.fingerprint ?? null)
    })

    const readKey = Effect.suspend((): Effect.Effect<string | Buffer, SshAuthFailed> => {
      if (options.privateKey !== undefined) return Effect.succeed(Redacted.value(options.privateKey))
      if (options.keyPath === undefined) {
        return Effect.fail(new SshAuthFailed({ reason: "no private key: SSH_KEY_PATH is not set" }))
      }
      const keyPath = options.keyPath
      return Effect.tryPromise({
        try: () => fs.readFile(keyPath),
        catch: (e) =>
          new SshAuthFailed({
            reason: `cannot read SSH_KEY_PATH ${keyPath} (${(e as NodeJS.ErrnoException).code ?? errorText(e)})`
          })
      })
    })

    const markDead = (conn: Conn) => {
      conn.alive = false
      conn.sftp = null
      if (current === conn) current = null
    }

    const connectOnce: Effect.Effect<Conn, ConnectError> = Effect.gen(function*() {
      const expected = yield* expectedPin
      const privateKey = yield* readKey
      const algorithms = negotiableAlgorithms(settings.hostKeyAlgorithm)
      const conn = yield* Effect.async<Conn, ConnectError>((resume) => {
        const client = new Client()
        let settled = false
        let rejection: SshHostKeyMismatch | SshTrustUnavailable | null = null
        const settle = (effect: Effect.Effect<Conn, ConnectError>) => {
          if (settled) return
          settled = true
          resume(effect)
        }
        const conn: Conn = { client, alive: false, sftp: null }
        const hostVerifier = (key: Buffer): boolean => {
          const fp = fingerprintOf(key)
          presented = fp
          if (expected !== null) {
            if (fp === expected) return true
            rejection = new SshHostKeyMismatch({ expected, presented: fp })
            return false
          }
          // First use with TOFU explicitly enabled: record before anything else is sent.
          const recorded = recordKnownHost(settings.knownHostsPath!, target, {
            fingerprint: fp,
            algorithm: settings.hostKeyAlgorithm,
            recordedAt: new Date().toISOString()
          })
          if (Either.isLeft(recorded)) {
            rejection = new SshTrustUnavailable({ reason: recorded.left })
            return false
          }
          warn(
            `WARNING: trusting the SSH host key of ${target} on first use: ${fp} (${settings.hostKeyAlgorithm}), ` +
              `recorded in ${settings.knownHostsPath}. Verify it on the node console with ` +
              "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`; a later change will be refused."
          )
          return true
        }
        client.on("ready", () => {
          conn.alive = true
          settle(Effect.succeed(conn))
        })
        client.on("error", (err: Error & { level?: string }) => {
          if (conn.alive) {
            markDead(conn)
            return
          }
          settle(Effect.fail(mapConnectError(err, rejection, expected)))
        })
        client.on("close", () => {
          markDead(conn)
          settle(Effect.fail(rejection ?? new SshUnreachable({ reason: `${target} closed the connection during the handshake` })))
        })
        client.on("end", () => markDead(conn))
        const config: ConnectConfig = {
          host: settings.host,
          port: settings.port,
          username: settings.user,
          privateKey,
          hostVerifier,
          algorithms: { serverHostKey: algorithms },
          readyTimeout: settings.connectTimeoutMs + 1_000,
          keepaliveInterval: settings.keepaliveMs,
          keepaliveCountMax: 3
        }
        if (options.passphrase !== undefined) config.passphrase = Redacted.value(options.passphrase)
        try {
          // Nagle off (small protocol messages must not wait for the peer's delayed ACK, ADR 0095), and the
          // pieces ssh2 writes per packet coalesced into one write per tick (ADR 0100). ssh2 waits for the
          // socket's own connect, and reports its errors as before (level "client-socket").
          config.sock = connectSocket(settings.host, settings.port)
          client.connect(config)
        } catch (e) {
          settle(Effect.fail(new SshAuthFailed({ reason: `the private key cannot be used: ${errorText(e)}` })))
        }
        return Effect.sync(() => {
          settled = true
          client.end()
          client.destroy()
        })
      }).pipe(
        Effect.timeoutFail({
          duration: Duration.millis(settings.connectTimeoutMs),
          onTimeout: () => new SshTimeout({ what: `SSH connect to ${target}`, timeoutMs: settings.connectTimeoutMs })
        })
      )
      connects++
      everConnected = true
      return conn
    })

    const mapConnectError = (
      err: Error & { level?: string },
      rejection: SshHostKeyMismatch | SshTrustUnavailable | null,
      expected: string | null
    ): ConnectError => {
      if (rejection !== null) return rejection
      const text = errorText(err)
      if (/no matching host key format/i.test(text)) {
        return new SshHostKeyMismatch({
          expected: expected ?? `any ${settings.hostKeyAlgorithm} key`,
          presented: `none: the server offers no ${settings.hostKeyAlgorithm} host key`
        })
      }
      switch (err.level) {
        case "client-authentication":
          return new SshAuthFailed({ reason: `${settings.user}@${target} rejected the key (${text})` })
        case "client-timeout":
          return new SshTimeout({ what: `SSH handshake with ${target}`, timeoutMs: settings.connectTimeoutMs })
        default:
          return new SshUnreachable({ reason: `${target}: ${text}` })
      }
    }

    const getConn: Effect.Effect<Conn, ConnectError> = connectLock.withPermits(1)(
      Effect.suspend(() => {
        if (current !== null && current.alive) return Effect.succeed(current)
        const attempt = everConnected
          ? connectOnce.pipe(
            Effect.retry({
              schedule: reconnectSchedule(settings.reconnectDelayMs, settings.reconnectAttempts),
              while: isTransient
            })
          )
          : connectOnce
        return attempt.pipe(Effect.tap((conn) => Effect.sync(() => (current = conn))))
      })
    )

    /** One command on one channel; resolves on `close` with what the server reported. */
    const runChannel = (
      conn: Conn,
      command: string,
      what: string,
      stdin: Uint8Array | string | undefined,
      out: CappedBuffer,
      err: CappedBuffer
    ) =>
      Effect.async<{ exitCode: number | null; signal: string | null }, SshChannelClosed | StaleConnection>((resume) => {
        let channel: ClientChannel | null = null
        let cancelled = false
        let closed = false
        let onClosed: (() => void) | null = null
        let exitCode: number | null = null
        let signal: string | null = null
        let gotExit = false
        try {
          conn.client.exec(command, (e, ch) => {
            if (e) {
              resume(
                Effect.fail(
                  conn.alive
                    ? new SshChannelClosed({ what: `${what} (the server refused a channel: ${e.message})` })
                    : new StaleConnection({ reason: e.message })
                )
              )
              return
            }
            openExecChannels++
            channel = ch
            ch.on("data", (d: Buffer) => out.push(d))
            ch.stderr.on("data", (d: Buffer) => err.push(d))
            ch.on("exit", (code: number | null, sig?: string) => {
              gotExit = true
              exitCode = typeof code === "number" ? code : null
              signal = typeof sig === "string" ? sig : null
            })
            ch.on("close", () => {
              if (closed) return
              closed = true
              openExecChannels--
              if (onClosed) onClosed()
              if (cancelled) return
              // Let buffered stream data drain before reporting.
              setImmediate(() =>
                resume(
                  gotExit ? Effect.succeed({ exitCode, signal }) : Effect.fail(new SshChannelClosed({ what }))
                )
              )
            })
            if (cancelled) {
              ch.close()
              return
            }
            if (stdin !== undefined) ch.end(stdin)
            else ch.end()
          })
        } catch (e) {
          markDead(conn)
          resume(Effect.fail(new StaleConnection({ reason: errorText(e) })))
        }
        // Canceller (backstop or interruption): close this channel only and wait briefly for the server's close.
        return Effect.async<void>((done) => {
          cancelled = true
          const ch: ClientChannel | null = channel
          if (ch === null || closed) {
            done(Effect.void)
            return
          }
          const timer = setTimeout(() => done(Effect.void), 2_000)
          onClosed = () => {
            clearTimeout(timer)
            done(Effect.void)
          }
          // TERM makes the node's `timeout` wrapper forward TERM to the command's process group and arm its
          // KILL after 5 s; killing the wrapper itself would orphan the command.
          try {
            ch.signal("TERM")
          } catch {
            // not writable any more
          }
          try {
            ch.close()
          } catch {
            // already closing
          }
        })
      })

    const exec = (command: string, o: RawExecOptions): Effect.Effect<RawExecResult, SshError> =>
      Effect.suspend(() => {
        const out = new CappedBuffer(o.maxOutputBytes)
        const err = new CappedBuffer(o.maxOutputBytes)
        const started = Date.now()
        const attempt = getConn.pipe(Effect.flatMap((conn) => runChannel(conn, command, o.what, o.stdin, out, err)))
        const once = channelPermits.withPermits(1)(
          attempt.pipe(
            // The connection died just before the channel opened: nothing ran, so reconnect and try once more.
            Effect.catchTag("StaleConnection", () => attempt),
            Effect.catchTag("StaleConnection", (e) =>
              Effect.fail(new SshUnreachable({ reason: `${target}: the connection was lost (${e.reason})` }))
            )
          )
        )
        return once.pipe(
          Effect.timeoutTo({
            duration: Duration.millis(o.backstopMs),
            onTimeout: () => null,
            onSuccess: (r) => r
          }),
          Effect.map((r): RawExecResult => ({
            exitCode: r === null ? null : r.exitCode,
            signal: r === null ? null : r.signal,
            stdout: out,
            stderr: err,
            durationMs: Date.now() - started,
            backstopFired: r === null
          }))
        )
      })

    const openSftp = (conn: Conn) =>
      Effect.async<SFTPWrapper, SshError | CommandFailed | StaleConnection>((resume) => {
        try {
          conn.client.sftp((e, sftp) => {
            if (e) {
              resume(
                Effect.fail(
                  conn.alive
                    ? new CommandFailed({
                      command: "sftp",
                      exitCode: null,
                      stderr: `the node's sshd refused the SFTP subsystem (${e.message}); enable \`Subsystem sftp\` in sshd_config`
                    })
                    : new StaleConnection({ reason: e.message })
                )
              )
              return
            }
            sftp.on("close", () => {
              if (conn.sftp === sftp) conn.sftp = null
            })
            sftp.on("error", () => {
              if (conn.sftp === sftp) conn.sftp = null
            })
            conn.sftp = sftp
            resume(Effect.succeed(sftp))
          })
        } catch (e) {
          markDead(conn)
          resume(Effect.fail(new StaleConnection({ reason: errorText(e) })))
        }
      })

    const getSftp: Effect.Effect<SFTPWrapper, SshError | CommandFailed> = sftpLock.withPermits(1)(
      Effect.gen(function*() {
        const attempt = getConn.pipe(
          Effect.flatMap((conn) => (conn.sftp !== null ? Effect.succeed(conn.sftp) : openSftp(conn)))
        )
        return yield* attempt.pipe(
          Effect.catchTag("StaleConnection", () => attempt),
          Effect.catchTag("StaleConnection", (e) =>
            Effect.fail(new SshUnreachable({ reason: `${target}: the connection was lost (${e.reason})` }))
          ),
          Effect.timeoutFail({
            duration: Duration.seconds(30),
            onTimeout: () => new SshTimeout({ what: "opening the SFTP session", timeoutMs: 30_000 })
          })
        )
      })
    )

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        const c = current
        current = null
        if (c !== null) {
          c.alive = false
          c.client.end()
        }
      })
    )

    const service: Ssh.Service = {
      settings,
      exec,
      withSftp: (f) => getSftp.pipe(Effect.flatMap(f)),
      stats: Effect.sync(() => ({
        connects,
        openExecChannels,
        sftpOpen: current?.sftp != null,
        connected: current?.alive === true,
        presentedFingerprint: presented
      })),
      connect: Effect.asVoid(getConn)
    }
    return service
  })

/** What `scanHostKey` saw. */
export interface ScannedHostKey {
  readonly fingerprint: string
  readonly algorithm: HostKeyAlgorithm
}

/**
 * Reads the server's host-key fingerprint of one type without authenticating (setup's trust capture and
 * doctor): the verifier records the key and rejects it, so no credential is ever sent. Never trusts anything.
 */
export const scanHostKey = (options: {
  readonly host: string
  readonly port?: number
  readonly algorithm?: HostKeyAlgorithm
  readonly timeoutMs?: number
}): Effect.Effect<ScannedHostKey, SshUnreachable | SshTimeout | SshHostKeyMismatch> => {
  const port = options.port ?? 22
  const algorithm = options.algorithm ?? "ssh-ed25519"
  const timeoutMs = options.timeoutMs ?? 10_000
  const target = `${options.host}:${port}`
  return Effect.async<ScannedHostKey, SshUnreachable | SshHostKeyMismatch>((resume) => {
    const client = new Client()
    let done = false
    const finish = (effect: Effect.Effect<ScannedHostKey, SshUnreachable | SshHostKeyMismatch>) => {
      if (done) return
      done = true
      resume(effect)
      client.destroy()
    }
    client.on("error", (err: Error & { level?: string }) => {
      if (/no matching host key format/i.test(err.message)) {
        finish(Effect.fail(new SshHostKeyMismatch({ expected: `any ${algorithm} key`, presented: `none: the server offers no ${algorithm} host key` })))
      } else {
        finish(Effect.fail(new SshUnreachable({ reason: `${target}: ${err.message}` })))
      }
    })
    client.on("close", () => finish(Effect.fail(new SshUnreachable({ reason: `${target} closed the connection before presenting a host key` }))))
    client.on("ready", () => finish(Effect.fail(new SshUnreachable({ reason: `${target}: unexpected login without credentials` }))))
    try {
      client.connect({
        host: options.host,
        port,
        username: "homelab-mcp-scan",
        algorithms: { serverHostKey: negotiableAlgorithms(algorithm) },
        readyTimeout: timeoutMs + 1_000,
        hostVerifier: (key: Buffer) => {
          finish(Effect.succeed({ fingerprint: fingerprintOf(key), algorithm }))
          return false
        }
      })
    } catch (e) {
      finish(Effect.fail(new SshUnreachable({ reason: `${target}: ${errorText(e)}` })))
    }
    return Effect.sync(() => {
      done = true
      client.destroy()
    })
  }).pipe(
    Effect.timeoutFail({
      duration: Duration.millis(timeoutMs),
      onTimeout: () => new SshTimeout({ what: `reading the host key of ${target}`, timeoutMs })
    })
  )
}

/** A scoped layer from plain options (tests, sandbox handle). */
export const layer = (options: SshOptions): Layer.Layer<Ssh, SshTrustUnavailable> => Layer.scoped(Ssh, make(options))

// ---------------------------------------------------------------------------------------------------
// Configuration (tiers-setup.md §3)
// ---------------------------------------------------------------------------------------------------

const hostFromApiUrl = Config.string("PVE_API_BASE_URL").pipe(
  Config.mapOrFail((url) => {
    let host = ""
    try {
      host = new URL(url).hostname.replace(/^\[(.*)\]$/, "$1")
    } catch {
      host = ""
    }
    return host !== ""
      ? Either.right(host)
      : Either.left(
        ConfigError.InvalidData([], `SSH_HOST is not set and PVE_API_BASE_URL ${JSON.stringify(url)} has no host to default to`)
      )
  })
)

/** SSH settings from the environment; a malformed value fails naming the variable, the value and the range. */
export const config: Config.Config<SshOptions> = Config.all({
  // a blank SSH_HOST is unset: the API's host is used, as for the server identity
  host: ConfigVars.optionalString("SSH_HOST").pipe(
    Config.mapOrFail((h) => (h === undefined ? Either.left(ConfigError.MissingData(["SSH_HOST"], "is not set")) : Either.right(h))),
    Config.orElse(() => hostFromApiUrl)
  ),
  port: ConfigVars.integer("SSH_PORT", 22, 1, 65_535),
  user: ConfigVars.checked("SSH_USER", "root", "a user name without spaces", (s) => /^[A-Za-z0-9._-]{1,64}$/.test(s)),
  keyPath: ConfigVars.required("SSH_KEY_PATH", "the path of the private key, e.g. ~/.ssh/homelab-mcp"),
  passphrase: Config.option(Config.redacted("SSH_KEY_PASSPHRASE")),
  hostKeyFingerprint: ConfigVars.text("SSH_HOST_KEY_FINGERPRINT").pipe(
    Config.mapOrFail((fp) =>
      Option.isNone(fp) || Either.isRight(normalizeFingerprint(fp.value))
        ? Either.right(fp)
        : Either.left(
          ConfigError.InvalidData(
            ["SSH_HOST_KEY_FINGERPRINT"],
            `expected SHA256:<43 base64 characters>, bare base64, or a whole \`ssh-keygen -lf\` line, got ${JSON.stringify(fp.value)}`
          )
        )
    )
  ),
  hostKeyAlgorithm: ConfigVars.literal("SSH_HOST_KEY_ALGORITHM", "ssh-ed25519", HOST_KEY_ALGORITHMS),
  tofu: ConfigVars.boolean("SSH_HOST_KEY_TOFU", false),
  knownHostsPath: DataDir.under("SSH_KNOWN_HOSTS_PATH", "known_hosts.json"),
  connectTimeoutMs: ConfigVars.integer("SSH_CONNECT_TIMEOUT_MS", 10_000, 100, 600_000),
  keepaliveMs: ConfigVars.integer("SSH_KEEPALIVE_MS", 10_000, 100, 3_600_000),
  reconnectDelayMs: ConfigVars.integer("SSH_RECONNECT_DELAY_MS", 3_000, 0, 600_000),
  commandTimeoutGraceMs: ConfigVars.integer("SSH_COMMAND_TIMEOUT_GRACE_MS", 10_000, 0, 600_000),
  maxChannels: ConfigVars.integer("SSH_MAX_CHANNELS", 8, 2, 64),
  nodeTempDir: ConfigVars.checked("MCP_NODE_TEMP_DIR", "/tmp", "an absolute path without spaces or quotes", (s) => /^\/[A-Za-z0-9._/-]*$/.test(s)),
  outputMaxBytes: ConfigVars.integer("MCP_EXEC_OUTPUT_MAX_BYTES", 65_536, 64, 16 * 1024 * 1024)
}).pipe(
  Config.map((c): SshOptions => ({
    host: c.host,
    port: c.port,
    user: c.user,
    keyPath: c.keyPath,
    ...(Option.isSome(c.passphrase) ? { passphrase: c.passphrase.value } : {}),
    ...(Option.isSome(c.hostKeyFingerprint) ? { hostKeyFingerprint: c.hostKeyFingerprint.value } : {}),
    hostKeyAlgorithm: c.hostKeyAlgorithm,
    tofu: c.tofu,
    knownHostsPath: c.knownHostsPath,
    connectTimeoutMs: c.connectTimeoutMs,
    keepaliveMs: c.keepaliveMs,
    reconnectDelayMs: c.reconnectDelayMs,
    commandTimeoutGraceMs: c.commandTimeoutGraceMs,
    maxChannels: c.maxChannels,
    nodeTempDir: c.nodeTempDir,
    outputMaxBytes: c.outputMaxBytes
  }))
)

/** The production layer: settings from the environment, one shared connection (a constant, so it is built once). */
export const layerConfig: Layer.Layer<Ssh, SshTrustUnavailable | ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(config, layer)
)

