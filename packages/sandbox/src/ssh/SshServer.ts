/**
 * The sandbox's SSH server (sandbox.md §5): `ssh2` on 127.0.0.1 (ephemeral port) with an ed25519 host
 * key, user `root` only (public keys from the host machine's `/root/.ssh/authorized_keys` with signature
 * check; a password only when `options.password` is set), `exec` (one `just-bash` exec on the host
 * machine, stdin = channel data until EOF), `env`, `pty` (ignored) and the `sftp` subsystem (our own SFTP
 * v3 server over the host machine's filesystem, see `Sftp.ts`). Beyond `maxSessions` (10, OpenSSH
 * MaxSessions) session channel opens fail. Nothing runs on the real machine.
 *
 * Contract for `Sandbox.make` (H1):
 * ```ts
 * import * as SshServer from "./ssh/SshServer.js"
 * const ssh = yield* SshServer.start(lab, options) // Effect<SshServer.Handle, never, Scope>
 * // lab: SshServer.SshLab = { host: () => Machine, faults?: SshFaults, onEvent?: (SshEvent) => void }
 * // options: SshServer.Options = { hostKey?, clientKey?, password?, maxSessions?, stdinGraceMs? }
 * ```
 * `start` first warms the host machine (just-bash loads its commands lazily), then listens. The handle
 * carries `host`, `port`, `user`, `hostKeyFingerprint`, `hostPublicKey`, `hostPrivateKey`,
 * `impostorFingerprint`, `clientPrivateKeyPem`, `clientPublicKey` (the line setup puts into
 * authorized_keys; see `Machines.authorizeKey`), `clientFingerprint` and `connections()`. The listener
 * and every connection close with the scope.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { timingSafeEqual } from "node:crypto"
import * as net from "node:net"
import ssh2 from "ssh2"
import type * as Ssh2 from "ssh2"
import type { Machine } from "../machines/Machine.js"
import * as HostKey from "./HostKey.js"
import * as Sftp from "./Sftp.js"
import * as SshFaults from "./SshFaults.js"

/** One SSH event for `SandboxControl.events`. */
export interface SshEvent {
  readonly kind: "auth" | "exec" | "sftp" | "connection"
  readonly principal: string
  readonly command?: string
  readonly exitCode?: number | null
  readonly signal?: string
  readonly decision: string
  readonly latencyMs: number
  readonly detail?: string
}

/** What the SSH server needs from the lab. */
export interface SshLab {
  /** The node's host machine (exec and SFTP run here). */
  readonly host: () => Machine
  readonly faults?: SshFaults.SshFaults
  readonly onEvent?: (event: SshEvent) => void
}

/** Server options (all optional). */
export interface Options {
  /** The node's host key (OpenSSH private key); generated when absent. */
  readonly hostKey?: string
  /** The product's client key (OpenSSH private key); generated when absent. */
  readonly clientKey?: string
  /** Enables password authentication for root with this password (setup's auto mode). */
  readonly password?: string
  /** Session channels per connection (OpenSSH MaxSessions); default 10. */
  readonly maxSessions?: number
  /**
   * Real milliseconds an exec waits for stdin before running with empty stdin when the client sent
   * neither data nor EOF (a client that sends data is waited for until EOF; the product's client sends
   * EOF at once, so it never waits). Default 250.
   */
  readonly stdinGraceMs?: number
}

/** The running server. */
export interface Handle {
  readonly host: string
  readonly port: number
  readonly user: "root"
  /** `SHA256:…` of the served host key. */
  readonly hostKeyFingerprint: string
  /** `ssh-ed25519 AAAA… root@pve` */
  readonly hostPublicKey: string
  readonly hostPrivateKey: string
  /** `SHA256:…` of the impostor key presented under a `hostKey` fault. */
  readonly impostorFingerprint: string
  /** OpenSSH private key of the product's client. */
  readonly clientPrivateKeyPem: string
  /** `ssh-ed25519 AAAA… homelab-mcp` (what setup appends to authorized_keys). */
  readonly clientPublicKey: string
  readonly clientFingerprint: string
  /** Number of currently open connections (tests). */
  readonly connections: () => number
}

/** Starts the server on 127.0.0.1 (ephemeral port); it stops when the scope closes. */
export const start = (lab: SshLab, options: Options = {}): Effect.Effect<Handle, never, Scope.Scope> =>
  Effect.gen(function* () {
    yield* Effect.promise(() => lab.host().warm())
    const running = yield* Effect.acquireRelease(
      Effect.async<Running>((resume) => {
        const r = listen(lab, options)
        r.tcp.listen(0, "127.0.0.1", () => resume(Effect.succeed(r)))
      }),
      (r) => Effect.promise(() => r.close())
    )
    return running.handle
  })

interface Running {
  readonly tcp: net.Server
  readonly handle: Handle
  readonly close: () => Promise<void>
}

const listen = (lab: SshLab, options: Options): Running => {
  const hostKey = options.hostKey ? HostKey.fromPrivate(options.hostKey, "root@pve") : HostKey.generate("root@pve")
  const impostor = HostKey.generate("root@pve")
  const client = options.clientKey
    ? HostKey.fromPrivate(options.clientKey, "homelab-mcp")
    : HostKey.generate("homelab-mcp")
  const faults = lab.faults ?? SshFaults.none
  const sockets = new Set<net.Socket>()
  const clients = new Set<Ssh2.Connection>()

  const makeServer = (key: string) =>
    new ssh2.Server({ hostKeys: [key], ident: "OpenSSH_10.0p2 Debian-7" }, (conn, info) =>
      onConnection(conn, info, lab, options, faults, clients)
    )
  const real = makeServer(hostKey.privateKey)
  const fake = makeServer(impostor.privateKey)

  const tcp = net.createServer((socket) => {
    sockets.add(socket)
    socket.setNoDelay(true)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => undefined)
    const decision = faults.connection()
    if (decision.drop) {
      socket.destroy()
      return
    }
    ;(decision.impostorHostKey ? fake : real).injectSocket(socket)
    connectionDecisions.set(socket, decision)
  })

  const address = () => tcp.address() as net.AddressInfo
  const handle: Handle = {
    host: "127.0.0.1",
    get port() {
      return address().port
    },
    user: "root",
    hostKeyFingerprint: hostKey.fingerprint,
    hostPublicKey: hostKey.publicKey,
    hostPrivateKey: hostKey.privateKey,
    impostorFingerprint: impostor.fingerprint,
    clientPrivateKeyPem: client.privateKey,
    clientPublicKey: client.publicKey,
    clientFingerprint: client.fingerprint,
    connections: () => clients.size
  }
  return {
    tcp,
    handle,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end()
        for (const s of sockets) s.destroy()
        tcp.close(() => resolve())
      })
  }
}

/** Per-socket connection decision (read by the auth handler through the ssh2 connection's socket). */
const connectionDecisions = new WeakMap<net.Socket, SshFaults.ConnectionDecision>()

const safeEqual = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b)

const onConnection = (
  conn: Ssh2.Connection,
  _info: Ssh2.ClientInfo,
  lab: SshLab,
  options: Options,
  faults: SshFaults.SshFaults,
  clients: Set<Ssh2.Connection>
) => {
  clients.add(conn)
  const socket = (conn as unknown as { _sock?: net.Socket })._sock
  const decision = (socket && connectionDecisions.get(socket)) ?? {}
  const maxSessions = decision.sessionLimit ?? options.maxSessions ?? 10
  let open = 0
  const emit = (e: SshEvent) => lab.onEvent?.(e)
  const dropConnection = () => {
    socket?.destroy()
    conn.end()
  }

  conn.on("error", () => undefined)
  conn.on("close", () => clients.delete(conn))

  conn.on("authentication", (ctx) => {
    void (async () => {
      if (ctx.username !== "root" || decision.authFail) {
        emit({ kind: "auth", principal: ctx.username, decision: "deny", latencyMs: 0, detail: ctx.method })
        return ctx.reject(["publickey", ...(options.password ? ["password" as const] : [])])
      }
      if (ctx.method === "publickey") {
        const content = await readAuthorizedKeys(lab.host())
        const match = HostKey.authorizedBlobs(content).find((k) => safeEqual(k.blob, ctx.key.data))
        if (!match) {
          emit({ kind: "auth", principal: "root", decision: "deny", latencyMs: 0, detail: "publickey" })
          return ctx.reject()
        }
        if (!ctx.signature || !ctx.blob) return ctx.accept()
        const ok = match.key.verify(ctx.blob, ctx.signature, ctx.hashAlgo as never)
        emit({ kind: "auth", principal: "root", decision: ok === true ? "allow" : "deny", latencyMs: 0, detail: "publickey" })
        return ok === true ? ctx.accept() : ctx.reject()
      }
      if (ctx.method === "password" && options.password !== undefined) {
        const ok = safeEqual(Buffer.from(ctx.password), Buffer.from(options.password))
        emit({ kind: "auth", principal: "root", decision: ok ? "allow" : "deny", latencyMs: 0, detail: "password" })
        return ok ? ctx.accept() : ctx.reject()
      }
      return ctx.reject(["publickey", ...(options.password ? ["password" as const] : [])])
    })().catch(() => ctx.reject())
  })

  conn.on("ready", () => {
    conn.on("session", (accept, reject) => {
      if (open >= maxSessions) return reject()
      open++
      const session = accept()
      const env: Record<string, string> = {}
      let released = false
      const release = () => {
        if (!released) {
          released = true
          open--
        }
      }
      session.on("close", release)
      // Debian's sshd_config: AcceptEnv LANG LC_*
      session.on("env", (acceptEnv, rejectEnv, info) => {
        if (info.key === "LANG" || info.key.startsWith("LC_")) {
          env[info.key] = info.val
          acceptEnv?.()
        } else rejectEnv?.()
      })
      session.on("pty", (acceptPty) => acceptPty?.())
      session.on("window-change", (acceptWc) => acceptWc?.())
      session.on("shell", (_acceptShell, rejectShell) => rejectShell?.())
      session.on("exec", (acceptExec, _rejectExec, info) => {
        const channel = acceptExec()
        channel.on("close", release)
        runExec(channel, session, info.command, env, lab, options, faults, emit, dropConnection)
      })
      session.on("subsystem", (acceptSub, rejectSub, info) => {
        if (info.name !== "sftp" || !faults.sftpEnabled()) return rejectSub()
        const channel = acceptSub()
        channel.on("close", release)
        Sftp.serve(channel, lab.host(), {
          extensions: faults.sftpExtensions(),
          faults,
          drop: dropConnection,
          onEvent: (detail, decision) => emit({ kind: "sftp", principal: "root", decision, latencyMs: 0, detail })
        })
      })
    })
    conn.on("request", (_accept, rejectReq) => rejectReq?.())
    conn.on("tcpip", (_accept, rejectTcp) => rejectTcp())
    conn.on("openssh.streamlocal", (_accept, rejectSl) => rejectSl())
  })
}

const readAuthorizedKeys = async (host: Machine): Promise<string> => {
  try {
    return await host.vfs.readFile("/root/.ssh/authorized_keys")
  } catch {
    return ""
  }
}

const SIGNALS: Record<string, string> = { TERM: "TERM", KILL: "KILL", INT: "INT", HUP: "HUP" }

const runExec = (
  channel: Ssh2.ServerChannel,
  session: Ssh2.Session,
  command: string,
  env: Record<string, string>,
  lab: SshLab,
  options: Options,
  faults: SshFaults.SshFaults,
  emit: (e: SshEvent) => void,
  dropConnection: () => void
) => {
  const host = lab.host()
  const abort = new AbortController()
  const chunks: Array<Buffer> = []
  let gotData = false
  let started = false
  let closed = false
  let signalled: string | undefined
  const t0 = performance.now()

  channel.on("data", (d: Buffer) => {
    gotData = true
    chunks.push(d)
  })
  channel.on("close", () => {
    closed = true
    abort.abort()
  })
  channel.on("error", () => undefined)
  session.on("signal", (acceptSig, _rejectSig, info) => {
    acceptSig?.()
    signalled = SIGNALS[info.name] ?? info.name
    abort.abort()
  })

  const begin = () => {
    if (started) return
    started = true
    void execute().catch(() => {
      if (!closed) channel.close()
    })
  }
  channel.on("end", begin)
  setTimeout(() => {
    if (!gotData) begin()
  }, options.stdinGraceMs ?? 250)

  const execute = async () => {
    const decision = faults.command(command)
    if (decision.latencyMs !== undefined && decision.latencyMs > 0) {
      await host.time.sleep(decision.latencyMs, abort.signal).catch(() => undefined)
    }
    let out: { stdout: Uint8Array; stderr: Uint8Array; exitCode: number }
    if (decision.hang) {
      await new Promise<void>((resolve) => abort.signal.addEventListener("abort", () => resolve(), { once: true }))
      out = { stdout: new Uint8Array(), stderr: new Uint8Array(), exitCode: 143 }
    } else if (decision.exit) {
      out = {
        stdout: Buffer.from(decision.exit.stdout ?? ""),
        stderr: Buffer.from(decision.exit.stderr ?? ""),
        exitCode: decision.exit.code
      }
    } else {
      out = await host.execBytes({ command, stdin: Buffer.concat(chunks), signal: abort.signal, env })
    }
    const latencyMs = performance.now() - t0
    if (closed) {
      emit({ kind: "exec", principal: "root", command, exitCode: null, decision: "closed", latencyMs })
      return
    }
    if (decision.dropAfterBytes !== undefined) {
      const n = Math.min(decision.dropAfterBytes, out.stdout.length)
      channel.write(Buffer.from(out.stdout).subarray(0, n))
      emit({ kind: "exec", principal: "root", command, exitCode: null, decision: "drop", latencyMs })
      setImmediate(dropConnection)
      return
    }
    if (out.stdout.length > 0) channel.write(Buffer.from(out.stdout))
    if (out.stderr.length > 0) channel.stderr.write(Buffer.from(out.stderr))
    if (signalled !== undefined) {
      channel.exit(signalled, false, "")
      emit({ kind: "exec", principal: "root", command, exitCode: null, signal: signalled, decision: "signal", latencyMs })
    } else {
      channel.exit(out.exitCode)
      emit({ kind: "exec", principal: "root", command, exitCode: out.exitCode, decision: "ok", latencyMs })
    }
    channel.end()
  }
}
