/**
 * `homelab-mcp serve [--sandbox]`: resolves the settings, builds the tier, prints the startup banner on
 * stderr and serves MCP over stdio until stdin closes or SIGINT/SIGTERM, releasing every resource.
 * With `--sandbox` an in-process sandbox node is started first and the server is pointed at it.
 */
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type * as Scope from "effect/Scope"
import { describeStartupError } from "@homelab-mcp/transport/PveApi"
import { gitSha, version } from "../BuildInfo.js"
import * as Mcp from "../Mcp.js"
import * as Settings from "../Settings.js"
import * as Tiers from "../tiers.js"
import { StdioTransport } from "../StdioTransport.js"

/** Options of `serve`. */
export interface ServeOptions {
  readonly sandbox: boolean
  readonly tier?: string
  readonly seed?: string
  readonly lab?: string
}

/** A startup failure already rendered as one stderr line. */
class StartupFailed {
  readonly _tag = "StartupFailed"
  constructor(readonly line: string) {}
}

const stderr = (line: string) => Effect.sync(() => process.stderr.write(`${line}\n`))

/** The logger for the stdio server: everything to stderr, never stdout. */
export const StderrLogger = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))

const describe = (error: Tiers.StartupError): string =>
  ConfigError.isConfigError(error)
    ? `invalid configuration: ${Settings.formatConfigError(error)}`
    : error._tag === "AuditUnavailable" || error._tag === "SshTrustUnavailable"
      ? `${error.message} ${error.hint}`
      : describeStartupError(error)

/** Waits until the client closes stdin (the MCP stdio shutdown signal). */
const stdinClosed = Effect.async<void>((resume) => {
  const done = () => resume(Effect.void)
  process.stdin.once("end", done)
  process.stdin.once("close", done)
  return Effect.sync(() => {
    process.stdin.off("end", done)
    process.stdin.off("close", done)
  })
})

/** The serving program for a config provider: banner, stdio transport, wait for the end. */
export const program = (provider?: ConfigProvider.ConfigProvider): Effect.Effect<void, StartupFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const settings = yield* Settings.load.pipe(
      Effect.mapError((e) => new StartupFailed(`invalid configuration: ${Settings.formatConfigError(e)}`))
    )
    for (const note of settings.notes) yield* stderr(`homelab-mcp: note: ${note}`)
    const served = yield* Tiers.serve(settings).pipe(Effect.mapError((e) => new StartupFailed(describe(e))))
    yield* stderr(`homelab-mcp ${version} (${gitSha}) | tier: ${served.tier} | node: ${served.node} | host: ${served.host}`)
    yield* stderr(
      served.tier === "observe" || served.tier === "operate"
        ? `homelab-mcp: ${served.toolCount} tools; at ${served.tier} the Proxmox token's roles are the limit: the node refuses anything beyond them.`
        : `homelab-mcp: ${served.toolCount} tools; at ${served.tier} the credential could do anything and this server chooses not to (tripwires, not a sandbox).`
    )
    for (const note of served.notes) yield* stderr(`homelab-mcp: note: ${note}`)
    yield* Mcp.connect(served.server, new StdioTransport())
    yield* stdinClosed
  }).pipe(
    Effect.provide(Layer.mergeAll(StderrLogger, Logger.minimumLogLevel(LogLevel.fromLiteral(logLevelFromEnv())))),
    provider === undefined ? (e) => e : Effect.withConfigProvider(provider)
  )

const logLevelFromEnv = () => {
  const raw = (process.env["MCP_LOG_LEVEL"] ?? "info").toLowerCase()
  return raw === "debug" ? ("Debug" as const) : raw === "warn" ? ("Warning" as const) : raw === "error" ? ("Error" as const) : ("Info" as const)
}

/** Runs a scoped program until it ends or SIGINT/SIGTERM interrupts it; returns the exit code. */
export const runMain = (effect: Effect.Effect<void, StartupFailed, Scope.Scope>): Promise<number> =>
  new Promise((resolve) => {
    const fiber = Effect.runFork(Effect.scoped(effect))
    const stop = () => {
      Effect.runFork(Fiber.interrupt(fiber))
    }
    process.once("SIGINT", stop)
    process.once("SIGTERM", stop)
    fiber.addObserver((exit) => {
      process.off("SIGINT", stop)
      process.off("SIGTERM", stop)
      if (Exit.isSuccess(exit) || Exit.isInterrupted(exit)) return resolve(0)
      const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      process.stderr.write(
        failure instanceof StartupFailed ? `homelab-mcp: ${failure.line}\n` : `homelab-mcp: unexpected failure: ${String(exit.cause)}\n`
      )
      resolve(1)
    })
  })

/** `serve`: stdio MCP server; with `sandbox`, against an in-process sandbox. */
export const serve = async (options: ServeOptions): Promise<number> => {
  if (!options.sandbox) return runMain(program())
  const { withSandbox } = await import("./sandboxServe.js")
  return runMain(
    withSandbox(
      {
        ...(options.tier !== undefined ? { tier: options.tier } : {}),
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
        ...(options.lab !== undefined ? { lab: options.lab } : {})
      },
      program,
      (message) => new StartupFailed(message)
    )
  )
}
