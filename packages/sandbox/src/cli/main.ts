/**
 * `homelab-mcp sandbox [--tier T] [--guests N] [--seed S] …` (sandbox.md §10, issue): starts a sandbox,
 * prints the `KEY=VALUE` environment a homelab-mcp server at tier T needs (one per line, stdout), logs
 * to stderr that the secrets are fake, then serves until interrupted. The SSH key file lives in a
 * private temp directory removed on exit. Listens on 127.0.0.1 only; never runs anything on this machine.
 */
import * as Effect from "effect/Effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import { startControlServer } from "../api/ControlServer.js"
import { presets } from "../faults/Faults.js"
import * as Sandbox from "../Sandbox.js"

/** Parsed CLI options. */
export interface SandboxCliOptions {
  readonly tier: Sandbox.SandboxTier
  readonly guests?: number
  readonly seed: number
  readonly format: "env" | "json"
  readonly clock: "real" | "manual"
  readonly certificate: "self-signed" | "ca"
  readonly unprovisioned: boolean
  readonly faults: ReadonlyArray<keyof typeof presets>
  readonly timeScale?: number
  readonly authFailureDelay?: number
  /** Expose the control surface on this loopback port (0 = ephemeral). */
  readonly controlPort?: number
  readonly profile?: "pve-9.1" | "pve-8.4"
  /** Resume from this file when it exists; write the state there on exit. */
  readonly statePath?: string
}

/** A usage error naming the flag and what is accepted. */
export class SandboxCliUsage {
  readonly _tag = "SandboxCliUsage"
  constructor(readonly message: string) {}
}

/** Usage text. */
export const USAGE = `usage: homelab-mcp sandbox [--tier observe|operate|companion] [--guests N | --lab default|generate:N] [--seed S]
                         [--faults lan,wan,flaky,degraded-storage] [--clock real|manual] [--certificate self-signed|ca]
                         [--time-scale X] [--auth-failure-delay MS] [--control-port N] [--profile pve-9.1|pve-8.4]
                         [--state FILE] [--unprovisioned] [--format env|json]`

/** Parses argv (without the `sandbox` word); returns options or a usage error. */
export const parseArgs = (argv: ReadonlyArray<string>): SandboxCliOptions | SandboxCliUsage => {
  let tier: Sandbox.SandboxTier = "companion"
  let guests: number | undefined
  let seed = 1
  let format: "env" | "json" = "env"
  let clock: "real" | "manual" = "real"
  let certificate: "self-signed" | "ca" = "self-signed"
  let unprovisioned = false
  let faults: Array<keyof typeof presets> = []
  let timeScale: number | undefined
  let authFailureDelay: number | undefined
  let controlPort: number | undefined
  let profile: "pve-9.1" | "pve-8.4" | undefined
  let statePath: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const eq = arg.indexOf("=")
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg
    const value = (): string | undefined => (arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : argv[++i])
    const need = (v: string | undefined): string | SandboxCliUsage => (v === undefined ? new SandboxCliUsage(`${flag} needs a value\n${USAGE}`) : v)
    switch (flag) {
      case "--tier": {
        const v = need(value())
        if (typeof v !== "string") return v
        if (v !== "observe" && v !== "operate" && v !== "companion") {
          return new SandboxCliUsage(`--tier: '${v}' is not a tier; use observe, operate or companion (root is never enabled by the sandbox)`)
        }
        tier = v
        break
      }
      case "--guests":
      case "--lab": {
        const v = need(value())
        if (typeof v !== "string") return v
        if (flag === "--lab" && v === "default") {
          guests = undefined
          break
        }
        const n = Number(flag === "--lab" ? v.replace(/^generate:/, "") : v)
        if (!Number.isInteger(n) || n < 1 || n > 500 || (flag === "--lab" && !v.startsWith("generate:"))) {
          return new SandboxCliUsage(`${flag}: '${v}' is not accepted; use ${flag === "--lab" ? "default or generate:N with" : "an integer"} N between 1 and 500`)
        }
        guests = n
        break
      }
      case "--seed": {
        const v = need(value())
        if (typeof v !== "string") return v
        const n = Number(v)
        if (!Number.isSafeInteger(n)) return new SandboxCliUsage(`--seed: '${v}' is not an integer`)
        seed = n
        break
      }
      case "--format": {
        const v = need(value())
        if (typeof v !== "string") return v
        if (v !== "env" && v !== "json") return new SandboxCliUsage(`--format: '${v}' is not accepted; use env or json`)
        format = v
        break
      }
      case "--clock": {
        const v = need(value())
        if (typeof v !== "string") return v
        if (v !== "real" && v !== "manual") return new SandboxCliUsage(`--clock: '${v}' is not accepted; use real or manual`)
        clock = v
        break
      }
      case "--certificate": {
        const v = need(value())
        if (typeof v !== "string") return v
        if (v !== "self-signed" && v !== "ca") return new SandboxCliUsage(`--certificate: '${v}' is not accepted; use self-signed or ca`)
        certificate = v
        break
      }
      case "--faults": {
        const v = need(value())
        if (typeof v !== "string") return v
        const names = v.split(",").filter((x) => x.length > 0)
        const bad = names.find((n) => !(n in presets))
        if (bad !== undefined) return new SandboxCliUsage(`--faults: '${bad}' is not a preset; use ${Object.keys(presets).join(", ")}`)
        faults = names as Array<keyof typeof presets>
        break
      }
      case "--time-scale": {
        const v = need(value())
        if (typeof v !== "string") return v
        const n = Number(v)
        if (!(n > 0) || n > 1000) return new SandboxCliUsage(`--time-scale: '${v}' is not accepted; use a number in (0, 1000]`)
        timeScale = n
        break
      }
      case "--auth-failure-delay": {
        const v = need(value())
        if (typeof v !== "string") return v
        const n = Number(v)
        if (!Number.isInteger(n) || n < 0 || n > 60000) return new SandboxCliUsage(`--auth-failure-delay: '${v}' is not accepted; use milliseconds 0..60000`)
        authFailureDelay = n
        break
      }
      case "--control-port": {
        const v = need(value())
        if (typeof v !== "string") return v
        const n = Number(v)
        if (!Number.isInteger(n) || n < 0 || n > 65535) return new SandboxCliUsage(`--control-port: '${v}' is not accepted; use a port 0..65535 (0 = any free port)`)
        controlPort = n
        break
      }
      case "--profile": {
        const v = need(value())
        if (typeof v !== "string") return v
        if (v !== "pve-9.1" && v !== "pve-8.4") return new SandboxCliUsage(`--profile: '${v}' is not accepted; use pve-9.1 or pve-8.4`)
        profile = v
        break
      }
      case "--state": {
        const v = need(value())
        if (typeof v !== "string") return v
        statePath = v
        break
      }
      case "--unprovisioned":
        unprovisioned = true
        break
      case "-h":
      case "--help":
        return new SandboxCliUsage(USAGE)
      default:
        return new SandboxCliUsage(`unknown option '${arg}'\n${USAGE}`)
    }
  }
  return {
    tier,
    ...(guests !== undefined ? { guests } : {}),
    seed,
    format,
    clock,
    certificate,
    unprovisioned,
    faults,
    ...(timeScale !== undefined ? { timeScale } : {}),
    ...(authFailureDelay !== undefined ? { authFailureDelay } : {}),
    ...(controlPort !== undefined ? { controlPort } : {}),
    ...(profile !== undefined ? { profile } : {}),
    ...(statePath !== undefined ? { statePath } : {})
  }
}

/** Sandbox options from CLI options. */
export const toSandboxOptions = (o: SandboxCliOptions): Sandbox.SandboxOptions => ({
  tier: o.tier,
  seed: o.seed,
  ...(o.guests !== undefined ? { guests: o.guests } : {}),
  clock: o.clock,
  certificate: o.certificate,
  unprovisioned: o.unprovisioned,
  faults: o.faults,
  ...(o.timeScale !== undefined ? { timeScale: o.timeScale } : {}),
  ...(o.authFailureDelay !== undefined ? { authFailureDelay: o.authFailureDelay } : {}),
  ...(o.profile !== undefined ? { profile: o.profile } : {})
})

/** The `KEY=VALUE` lines (or one JSON object) for a tier. */
export const renderEnv = (env: Readonly<Record<string, string>>, format: "env" | "json"): string =>
  format === "json" ? `${JSON.stringify(env)}\n` : Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join("")

/**
 * Starts the sandbox in the current scope and writes the environment for the tier: `out` gets the
 * KEY=VALUE lines, `log` the human notes. Returns the handle; the caller keeps the scope open.
 */
export const sandboxCommand = (
  options: SandboxCliOptions,
  io: { readonly out: (text: string) => void; readonly log: (text: string) => void } = {
    out: (t) => void process.stdout.write(t),
    log: (t) => void process.stderr.write(t)
  }
): Effect.Effect<Sandbox.SandboxHandle, never, Scope.Scope> =>
  Effect.gen(function* () {
    const started = performance.now()
    const statePath = options.statePath
    const stateText = statePath !== undefined && existsSync(statePath) ? readFileSync(statePath, "utf8") : undefined
    const sb = yield* Sandbox.make({ ...toSandboxOptions(options), ...(stateText !== undefined ? { state: stateText } : {}) })
    if (statePath !== undefined) {
      yield* Effect.addFinalizer(() => Effect.sync(() => writeFileSync(statePath, sb.control.exportState(), { mode: 0o600 })))
    }
    const control = options.controlPort !== undefined ? yield* startControlServer(sb, { port: options.controlPort }) : undefined
    io.out(renderEnv(sb.env(options.tier), options.format))
    const lab = stateText !== undefined ? `state resumed from ${statePath}` : options.guests !== undefined ? `generated lab of ${options.guests} guests` : "default homelab"
    io.log(
      `homelab-mcp sandbox: simulated Proxmox VE ${options.profile === "pve-8.4" ? "8.4" : "9.1"} node 'pve' (${lab}, seed ${options.seed}) started in ${Math.round(performance.now() - started)} ms\n` +
        `  API  ${sb.api.baseUrl}  certificate ${sb.api.tls.sha256Colon}\n` +
        (sb.ssh ? `  SSH  ${sb.ssh.host}:${sb.ssh.port}  host key ${sb.ssh.hostKeyFingerprint}\n` : "") +
        (control ? `  control  ${control.url}  (Authorization: Bearer ${control.secret})\n` : "") +
        `  All secrets printed are fake and valid only for this sandbox; nothing runs on this machine. Ctrl-C stops it.\n`
    )
    return sb
  })

/** Runs `homelab-mcp sandbox …` until SIGINT/SIGTERM; resolves with the exit code (2 on usage errors). */
export const runSandboxCli = async (argv: ReadonlyArray<string>): Promise<number> => {
  const parsed = parseArgs(argv)
  if (parsed instanceof SandboxCliUsage) {
    process.stderr.write(`${parsed.message}\n`)
    return parsed.message === USAGE ? 0 : 2
  }
  const fiber = Effect.runFork(Effect.scoped(Effect.zipRight(sandboxCommand(parsed), Effect.never)))
  const stop = () => {
    void Effect.runPromise(Fiber.interrupt(fiber))
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  const exit = await Effect.runPromise(Fiber.await(fiber))
  process.removeListener("SIGINT", stop)
  process.removeListener("SIGTERM", stop)
  return Exit.isInterrupted(exit) || Exit.isSuccess(exit) ? 0 : 1
}
