/**
 * The Effect side of the stdio fast path: loads the settings, builds the tier's closed layer and
 * returns the `tools/call` handler, then prints the startup banner. Everything is released on shutdown.
 */
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import * as ConfigError from "effect/ConfigError"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type { Tier } from "@homelab-mcp/core/Tier"
import { describeStartupError } from "@homelab-mcp/transport/PveApi"
import { gitSha, version } from "../BuildInfo.js"
import type * as McpShell from "../McpShell.js"
import * as Settings from "../Settings.js"
import * as Tiers from "../tiers.js"

/** A running tier runtime. */
export interface Engine {
  /** Resolves with the call handler once the tier is built (never resolves if startup failed). */
  readonly ready: Promise<McpShell.CallHandler>
  /** Releases the tier's resources. */
  readonly shutdown: () => Promise<void>
}

/** One line for a startup failure. */
export const describe = (error: Tiers.StartupError): string =>
  ConfigError.isConfigError(error)
    ? `invalid configuration: ${Settings.formatConfigError(error)}`
    : error._tag === "AuditUnavailable"
      ? `${error.message} ${error.hint}`
      : describeStartupError(error as Parameters<typeof describeStartupError>[0])

/** The banner lines of a prepared tier. */
export const banner = (p: { tier: Tier; node: string; host: string; toolCount: number; notes: ReadonlyArray<string> }): Array<string> => [
  `homelab-mcp ${version} (${gitSha}) | tier: ${p.tier} | node: ${p.node} | host: ${p.host}`,
  p.tier === "observe" || p.tier === "operate"
    ? `homelab-mcp: ${p.toolCount} tools; at ${p.tier} the Proxmox token's roles are the limit: the node refuses anything beyond them.`
    : `homelab-mcp: ${p.toolCount} tools; at ${p.tier} the credential could do anything and this server chooses not to (tripwires, not a sandbox).`,
  ...p.notes.map((n) => `homelab-mcp: note: ${n}`)
]

const logLevel = () => {
  const raw = (process.env["MCP_LOG_LEVEL"] ?? "info").toLowerCase()
  return raw === "debug" ? LogLevel.Debug : raw === "warn" ? LogLevel.Warning : raw === "error" ? LogLevel.Error : LogLevel.Info
}

/** Starts the tier runtime for `server`; `onFailure` gets the one-line reason when startup fails. */
export const start = (server: Server, tier: Tier, onFailure: (line: string) => void): Engine => {
  let resolveReady: (call: McpShell.CallHandler) => void = () => {}
  const ready = new Promise<McpShell.CallHandler>((resolve) => (resolveReady = resolve))
  const program = Effect.gen(function* () {
    const settings = yield* Settings.load.pipe(Effect.mapError((e) => `invalid configuration: ${Settings.formatConfigError(e)}`))
    if (settings.tier !== tier) return yield* Effect.fail(`MCP_TIER resolved to ${settings.tier}, not ${tier}; restart the server`)
    for (const note of settings.notes) process.stderr.write(`homelab-mcp: note: ${note}\n`)
    const prepared = yield* Tiers.prepare(settings, server).pipe(Effect.mapError(describe))
    for (const line of banner(prepared)) process.stderr.write(`${line}\n`)
    resolveReady(prepared.call)
    const never = yield* Deferred.make<void>()
    return yield* Deferred.await(never)
  }).pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)), Logger.minimumLogLevel(logLevel())))
  )
  const fiber = Effect.runFork(program)
  fiber.addObserver((exit) => {
    if (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) {
      const failure = exit.cause._tag === "Fail" ? exit.cause.error : `unexpected failure: ${String(exit.cause)}`
      onFailure(failure)
    }
  })
  return {
    ready,
    shutdown: () => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined)
  }
}
