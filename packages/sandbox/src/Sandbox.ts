/**
 * The sandbox handle (sandbox.md §10): `Sandbox` is a `Context.Tag` whose service is a running
 * simulated Proxmox VE 9 node: one `LabState`, the HTTPS API on 127.0.0.1 with a freshly generated
 * certificate, the SSH server over the same state, per-tier tokens, fault control and the environment a
 * homelab-mcp server needs. `Sandbox.make(options)` is scoped: listeners and the private key directory
 * go away when the scope closes.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { handleApi, ROOT_CALLER, type ApiRequest, type ApiResponse, type Caller } from "./api/ApiCore.js"
import { directHttpClient } from "./api/DirectHttpClient.js"
import { HANDLERS } from "./api/Handlers.js"
import { startHttps, type ApiMetrics } from "./api/HttpsServer.js"
import { presets, type FaultRule } from "./faults/Faults.js"
import type { GenerateOptions } from "./lab/Generator.js"
import { buildLab } from "./lab/Lab.js"
import * as Machines from "./machines/Machines.js"
import * as HostKey from "./ssh/HostKey.js"
import * as SshFaults from "./ssh/SshFaults.js"
import * as SshServer from "./ssh/SshServer.js"
import * as LabStateModule from "./state/LabState.js"
import type { LabFlags, LabProfile, LabState } from "./state/LabState.js"
import type { SandboxEvent } from "./state/types.js"
import type { CertificateMode, ServedCertificate } from "./tls/Certificates.js"

/** Trust tiers the sandbox provisions tokens for. */
export type SandboxTier = "observe" | "operate" | "companion"

/** Options of `Sandbox.make` (mirroring the CLI flags). */
export interface SandboxOptions {
  /** Seed of every stream (default 1). */
  readonly seed?: number
  /** A generated lab of N guests (1–500); otherwise the default homelab. */
  readonly guests?: number
  readonly generate?: Omit<GenerateOptions, "guests">
  /** Tier whose token `token` and `env()` default to (default `companion`). */
  readonly tier?: SandboxTier
  /** Real seconds per virtual second (default 1; `layerTest` 0.01). */
  readonly timeScale?: number
  readonly clock?: "real" | "manual"
  /** Real milliseconds before a 401 (default 3000; `layerTest` 0). */
  readonly authFailureDelay?: number
  readonly flags?: Partial<Omit<LabFlags, "authFailureDelay">>
  /** Fault rules and/or preset names (`lan`, `wan`, `flaky`, `degraded-storage`). */
  readonly faults?: ReadonlyArray<FaultRule | keyof typeof presets>
  readonly certificate?: CertificateMode
  /** Release profile (default `pve-9.1`; `pve-8.4`: 8.x roles, VM.Monitor guards the agent). */
  readonly profile?: LabProfile
  /** Keep only root@pam (no product identity, no test principals). */
  readonly unprovisioned?: boolean
  /** Resume from `exportState()` text instead of building a lab (seed, profile and lab options are taken from it). */
  readonly state?: string
  /** Start the SSH listener (default true). */
  readonly ssh?: boolean
  /** Also accept password authentication for root with this password (setup's auto mode); off by default. */
  readonly sshPassword?: string
  /** Fixed API port (default ephemeral). */
  readonly apiPort?: number
}

/** A token id with its secret. */
export interface SandboxToken {
  readonly id: string
  readonly secret: Redacted.Redacted<string>
}

/** Control surface for tests and benchmarks (§7). */
export interface SandboxControl {
  /** Adds (or replaces by id) a fault rule. */
  readonly addFault: (rule: FaultRule) => void
  readonly removeFault: (id: string) => boolean
  readonly clearFaults: () => void
  readonly faults: () => ReadonlyArray<FaultRule>
  readonly setFlags: (flags: Partial<LabFlags>) => void
  /** Moves virtual time forward (seconds) and finalises tasks that ended. */
  readonly advance: (seconds: number) => void
  /** Snapshot of every recorded event (API calls, SSH commands, tasks, faults, state changes). */
  readonly events: () => ReadonlyArray<SandboxEvent>
  /** Live stream of events from now on. */
  readonly eventStream: Stream.Stream<SandboxEvent>
  /** Deterministic JSON of the state. */
  readonly exportState: () => string
  /** Serves a fresh certificate (new key, same subject); old pins fail from the next connection. */
  readonly rotateCertificate: (mode?: CertificateMode) => Effect.Effect<ServedCertificate>
  readonly metrics: () => { readonly api: ApiMetrics; readonly faults: ReadonlyArray<{ id: string; matched: number; fired: number }> }
  /** Re-provisions the product identity as setup does (adds the tier's token if missing). */
  readonly provision: (tier: SandboxTier) => SandboxToken
}

/** The running sandbox. */
export interface SandboxHandle {
  readonly lab: LabState
  readonly api: {
    readonly baseUrl: string
    readonly port: number
    readonly node: string
    /** The certificate served now (changes after `rotateCertificate`). */
    readonly tls: { readonly certPem: string; readonly caPem?: string; readonly sha256Colon: string; readonly pin: string }
    /** The impostor a `certificate` fault serves. */
    readonly impostor: { readonly sha256Colon: string; readonly pin: string }
  }
  readonly ssh:
    | {
        readonly host: string
        readonly port: number
        readonly user: string
        readonly privateKey: Redacted.Redacted<string>
        readonly privateKeyPem: Redacted.Redacted<string>
        /** The client key written to a private temp directory (0700/0600), removed with the scope. */
        readonly keyPath: string
        readonly hostKeyFingerprint: string
        readonly hostPublicKey: string
        readonly clientPublicKey: string
        readonly impostorFingerprint: string
      }
    | undefined
  /** The token of `options.tier`. */
  readonly token: SandboxToken
  /** One privsep token per tier, provisioned as setup does. */
  readonly tokens: Readonly<Record<SandboxTier, SandboxToken>>
  /** `bare` (privsep, no ACLs: 403 everywhere), `expired`, `revoked` (removed), `disabled` (user disabled). */
  readonly testTokens: { readonly bare: SandboxToken; readonly expired: SandboxToken; readonly revoked: SandboxToken; readonly disabled: SandboxToken }
  readonly control: SandboxControl
  /** Ordered `KEY=VALUE` environment for a homelab-mcp server at a tier (SSH_* from companion up). */
  readonly env: (tier?: SandboxTier) => Readonly<Record<string, string>>
  /** The socket-free API core (same pipeline, no TLS, no transport faults). */
  readonly handle: (request: ApiRequest, as?: Caller) => Effect.Effect<ApiResponse>
  /** An `HttpClient` answering from the core without sockets (usable under the TestClock). */
  readonly directHttpClient: HttpClient.HttpClient
}

/** The sandbox service. */
export class Sandbox extends Context.Tag("@homelab-mcp/sandbox/Sandbox")<Sandbox, SandboxHandle>() {}

const tokenOf = (lab: LabState, full: string): SandboxToken => {
  const t = lab.tokens.get(full)
  return { id: full, secret: Redacted.make(t?.secret ?? "") }
}

const sshFaultsOf = (lab: LabState): SshFaults.SshFaults => ({
  connection: () => {
    let decision: SshFaults.ConnectionDecision = {}
    for (const h of lab.faults.match({ kind: "sshHandshake" })) {
      lab.record({ kind: "fault", decision: h.rule.id, detail: `${h.effect._tag} ssh-handshake` })
      if (h.effect._tag === "hostKey") decision = { ...decision, impostorHostKey: true }
      else if (h.effect._tag === "authFail") decision = { ...decision, authFail: true }
      else if (h.effect._tag === "drop") decision = { ...decision, drop: true }
      else if (h.effect._tag === "sessionLimit") decision = { ...decision, sessionLimit: 1 }
    }
    return decision
  },
  command: (command) => {
    let decision: SshFaults.CommandDecision = {}
    for (const h of lab.faults.match({ kind: "ssh", argv: command })) {
      const e = h.effect
      if (e._tag !== "latency") lab.record({ kind: "fault", decision: h.rule.id, detail: `${e._tag} ${command}` })
      if (e._tag === "latency") decision = { ...decision, latencyMs: (decision.latencyMs ?? 0) + (h.latencyMs ?? 0) }
      else if (e._tag === "hang") decision = { ...decision, hang: true }
      else if (e._tag === "drop") decision = { ...decision, dropAfterBytes: e.afterBytes ?? 0 }
      else if (e._tag === "exit") {
        decision = {
          ...decision,
          exit: { code: e.code, ...(e.stdout !== undefined ? { stdout: e.stdout } : {}), ...(e.stderr !== undefined ? { stderr: e.stderr } : {}) }
        }
      }
    }
    return decision
  },
  sftp: (op, path) => {
    let decision: SshFaults.SftpDecision = {}
    for (const h of lab.faults.match({ kind: "ssh", argv: `sftp-${op} ${path}` })) {
      const e = h.effect
      if (e._tag === "latency") decision = { ...decision, latencyMs: (decision.latencyMs ?? 0) + (h.latencyMs ?? 0) }
      else if (e._tag === "hang") decision = { ...decision, hang: true }
      else if (e._tag === "drop") decision = { ...decision, dropAfterBytes: e.afterBytes ?? 0 }
    }
    return decision
  },
  sftpEnabled: () => lab.flags.sftp === "offered",
  sftpExtensions: () => lab.flags.sftpExtensions === "openssh"
})

/** Starts a sandbox; everything it opened closes with the scope. */
export const make = (options: SandboxOptions = {}): Effect.Effect<SandboxHandle, never, Scope.Scope> =>
  Effect.gen(function* () {
    const imported = options.state !== undefined ? LabStateModule.LabState.importState(options.state, {
      ...(options.timeScale !== undefined ? { timeScale: options.timeScale } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      flags: { ...options.flags, ...(options.authFailureDelay !== undefined ? { authFailureDelay: options.authFailureDelay } : {}) }
    }) : undefined
    if (imported !== undefined && imported._tag === "Left") return yield* Effect.dieMessage(imported.left.message)
    const lab = imported !== undefined && imported._tag === "Right" ? imported.right : buildLab({
      seed: options.seed ?? 1,
      ...(options.guests !== undefined ? { guests: options.guests } : {}),
      ...(options.generate !== undefined ? { generate: options.generate } : {}),
      ...(options.timeScale !== undefined ? { timeScale: options.timeScale } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      flags: { ...options.flags, ...(options.authFailureDelay !== undefined ? { authFailureDelay: options.authFailureDelay } : {}) },
      ...(options.unprovisioned === true ? { unprovisioned: true } : {}),
      ...(options.profile !== undefined ? { profile: options.profile } : {})
    })
    for (const f of options.faults ?? []) {
      if (typeof f === "string") for (const rule of presets[f]) lab.faults.add(rule)
      else lab.faults.add(f)
    }
    if (options.faults?.includes("degraded-storage")) {
      for (const p of lab.zfsPools) if (p.name === "tank") p.health = "DEGRADED"
    }
    // a revoked token: its secret is known, the token is gone
    let revokedSecret = ""
    if (options.unprovisioned !== true) {
      const r = lab.addToken("test@pve", "revoked", { privsep: 0 })
      if (r._tag === "Right") revokedSecret = r.right.secret
      lab.removeToken("test@pve", "revoked")
    }

    const https = yield* startHttps(lab, { certificate: options.certificate ?? "self-signed", ...(options.apiPort !== undefined ? { port: options.apiPort } : {}) })

    const hostKey = HostKey.generate("root@pve")
    const machines = Machines.make(lab, { hostPublicKey: hostKey.publicKey, apiCertPem: () => https.certificate().certPem })
    lab.setMachines(machines)
    let ssh: SandboxHandle["ssh"] = undefined
    if (options.ssh !== false) {
      const server = yield* SshServer.start(
        {
          host: () => machines.host(),
          faults: sshFaultsOf(lab),
          onEvent: (e) =>
            lab.record({
              kind: "ssh",
              principal: e.principal,
              ...(e.command !== undefined ? { argv: [e.command] } : {}),
              decision: e.decision,
              latencyMs: e.latencyMs,
              ...(e.exitCode !== undefined && e.exitCode !== null ? { status: e.exitCode } : {}),
              ...(e.detail !== undefined ? { detail: e.detail } : {})
            })
        },
        { hostKey: hostKey.privateKey, ...(options.sshPassword !== undefined ? { password: options.sshPassword } : {}) }
      )
      lab.sshHostKey = { publicKey: server.hostPublicKey, fingerprint: server.hostKeyFingerprint }
      if (options.unprovisioned !== true && (options.tier ?? "companion") === "companion") machines.authorizeKey(server.clientPublicKey)
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const d = mkdtempSync(join(tmpdir(), "homelab-mcp-sandbox-"))
          chmodSync(d, 0o700)
          return d
        }),
        (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
      )
      const keyPath = join(dir, "id_ed25519")
      writeFileSync(keyPath, server.clientPrivateKeyPem, { mode: 0o600 })
      ssh = {
        host: server.host,
        port: server.port,
        user: server.user,
        privateKey: Redacted.make(server.clientPrivateKeyPem),
        privateKeyPem: Redacted.make(server.clientPrivateKeyPem),
        keyPath,
        hostKeyFingerprint: server.hostKeyFingerprint,
        hostPublicKey: server.hostPublicKey,
        clientPublicKey: server.clientPublicKey,
        impostorFingerprint: server.impostorFingerprint
      }
    }

    const tier = options.tier ?? "companion"
    const tokens: Record<SandboxTier, SandboxToken> = {
      observe: tokenOf(lab, "mcp@pve!mcp-observe"),
      operate: tokenOf(lab, "mcp@pve!mcp-operate"),
      companion: tokenOf(lab, "mcp@pve!mcp-companion")
    }
    const control: SandboxControl = {
      addFault: (rule) => lab.faults.add(rule),
      removeFault: (id) => lab.faults.remove(id),
      clearFaults: () => lab.faults.clear(),
      faults: () => lab.faults.list(),
      setFlags: (flags) => lab.setFlags(flags),
      advance: (seconds) => lab.advance(seconds),
      events: () => lab.events(),
      eventStream: Stream.async<SandboxEvent>((emit) => {
        const unsubscribe = lab.subscribe((e) => void emit.single(e))
        return Effect.sync(unsubscribe)
      }),
      exportState: () => lab.exportState(),
      rotateCertificate: (mode) => https.rotateCertificate(mode),
      metrics: () => ({ api: https.metrics(), faults: lab.faults.stats() }),
      provision: (t) => {
        lab.provision([t])
        const token = tokenOf(lab, `mcp@pve!mcp-${t}`)
        tokens[t] = token
        return token
      }
    }
    const handleRef: SandboxHandle = {
      lab,
      api: {
        baseUrl: https.baseUrl,
        port: https.port,
        node: lab.nodeName,
        get tls() {
          const c = https.certificate()
          return { certPem: c.certPem, ...(c.caPem !== undefined ? { caPem: c.caPem } : {}), sha256Colon: c.sha256Colon, pin: c.pin }
        },
        impostor: { sha256Colon: https.impostor().sha256Colon, pin: https.impostor().pin }
      },
      ssh,
      token: tokens[tier],
      tokens,
      testTokens: {
        bare: tokenOf(lab, "test@pve!bare"),
        expired: tokenOf(lab, "test@pve!expired"),
        revoked: { id: "test@pve!revoked", secret: Redacted.make(revokedSecret) },
        disabled: tokenOf(lab, "old@pve!legacy")
      },
      control,
      env: (t = tier) => {
        const token = tokens[t]
        const out: Record<string, string> = {
          PVE_API_BASE_URL: https.baseUrl,
          PVE_API_NODE: lab.nodeName,
          PVE_API_TOKEN_ID: token.id,
          PVE_API_TOKEN_SECRET: Redacted.value(token.secret),
          PVE_API_TLS_FINGERPRINT: https.certificate().pin
        }
        if (t === "companion" && ssh) {
          out["SSH_HOST"] = ssh.host
          out["SSH_PORT"] = String(ssh.port)
          out["SSH_USER"] = ssh.user
          out["SSH_KEY_PATH"] = ssh.keyPath
          out["SSH_HOST_KEY_FINGERPRINT"] = ssh.hostKeyFingerprint
        }
        out["MCP_TIER"] = t
        return out
      },
      handle: (request, as) => handleApi(lab, request, { handlers: HANDLERS, ...(as !== undefined ? { as } : {}) }),
      directHttpClient: directHttpClient(lab)
    }
    return handleRef
  })

/** root@pam caller for the socket-free core. */
export const rootCaller: Caller = ROOT_CALLER

/** A layer providing a running sandbox. */
export const layer = (options: SandboxOptions = {}): Layer.Layer<Sandbox> => Layer.scoped(Sandbox, make(options))

/** Default lab, seed 1, no 401 delay, timeScale 0.01. */
export const layerTest = (options: SandboxOptions = {}): Layer.Layer<Sandbox> =>
  layer({ seed: 1, timeScale: 0.01, authFailureDelay: 0, ...options })
