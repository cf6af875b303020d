/**
 * Server settings read through Effect `Config` with the names of tiers-setup.md §3: the tier
 * (`MCP_TIER`, `MCP_HOST_ROOT_ENABLED`, resolved by the pure `Tier.resolve`), the confirm gate
 * (`MCP_CONFIRM_ELICIT`, `MCP_CONFIRM_ELICIT_TIMEOUT_MS`) and `MCP_LOG_LEVEL`. A bad value fails with a
 * `ConfigError` that `formatConfigError` renders as one line naming the variable and the expected form.
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as ConfigVars from "@homelab-mcp/core/ConfigVars"
import * as Tier from "@homelab-mcp/core/Tier"

/** The resolved server settings. */
export interface Settings {
  readonly tier: Tier.Tier
  /** stderr notes from tier resolution (an ignored root flag). */
  readonly notes: ReadonlyArray<string>
  readonly elicit: boolean
  readonly elicitTimeoutMs: number
  readonly logLevel: LogLevel.LogLevel
}

const logLevel: Config.Config<LogLevel.LogLevel> = Config.string("MCP_LOG_LEVEL").pipe(
  Config.withDefault("info"),
  Config.mapOrFail((raw) => {
    const levels: Record<string, LogLevel.LogLevel> = {
      error: LogLevel.Error,
      warn: LogLevel.Warning,
      info: LogLevel.Info,
      debug: LogLevel.Debug
    }
    const level = levels[raw.trim().toLowerCase()]
    return level !== undefined
      ? Either.right(level)
      : Either.left(ConfigError.InvalidData(["MCP_LOG_LEVEL"], `expected one of error, warn, info, debug, got ${JSON.stringify(raw)}`))
  })
)

/** The tier from `MCP_TIER` and `MCP_HOST_ROOT_ENABLED` (tiers-setup.md §1); never raised later. */
export const tier: Config.Config<{ readonly tier: Tier.Tier; readonly notes: ReadonlyArray<string> }> = Config.all([
  Config.option(Config.string("MCP_TIER")),
  Config.option(Config.string("MCP_HOST_ROOT_ENABLED"))
]).pipe(
  Config.mapOrFail(([level, flag]) => {
    const r = Tier.resolve(Option.getOrUndefined(level), Option.getOrUndefined(flag))
    return r._tag === "Resolved"
      ? Either.right({ tier: r.tier, notes: r.notes })
      : Either.left(ConfigError.InvalidData([r.variable], r.message))
  })
)

/** All server settings. */
export const settings: Config.Config<Settings> = Config.all({
  tier,
  elicit: ConfigVars.boolean("MCP_CONFIRM_ELICIT", true),
  elicitTimeoutMs: ConfigVars.integer("MCP_CONFIRM_ELICIT_TIMEOUT_MS", 300_000, 1_000, 3_600_000),
  logLevel
}).pipe(Config.map(({ tier, ...rest }) => ({ tier: tier.tier, notes: tier.notes, ...rest })))

/** Loads the settings from the current ConfigProvider. */
export const load: Effect.Effect<Settings, ConfigError.ConfigError> = Effect.gen(function* () {
  return yield* settings
})

/** One line per failing variable: `NAME: what was expected` (missing ones point at `homelab-mcp doctor`). */
export const formatConfigError = (error: ConfigError.ConfigError): string => {
  const lines: Array<string> = []
  const walk = (e: ConfigError.ConfigError): void => {
    switch (e._op) {
      case "And":
      case "Or":
        walk(e.left)
        walk(e.right)
        return
      case "MissingData":
        lines.push(
          e.message.startsWith("is not set")
            ? `${e.path.join("_")} ${e.message}`
            : `${e.path.join("_")} is not set (${e.message}); run \`homelab-mcp doctor\``
        )
        return
      case "InvalidData":
        lines.push(`${e.path.join("_")}: ${e.message}`)
        return
      case "SourceUnavailable":
      case "Unsupported":
        lines.push(`${e.path.join("_")}: ${e.message}`)
        return
    }
  }
  walk(error)
  return [...new Set(lines)].join("; ")
}
