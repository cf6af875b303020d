/**
 * The limits and policies the companion tools run with (tiers-setup.md §3, "Exec and files" and
 * "Guardrails"), read through Effect `Config`. A bad value fails start-up naming the variable.
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ConfigVars from "@homelab-mcp/core/ConfigVars"
import * as Redact from "@homelab-mcp/core/redaction/Redact"

/** The highest `MCP_EXEC_MAX_TIMEOUT_MS` accepted (one day): the exec tools' schema bound; the setting is checked per call. */
export const EXEC_TIMEOUT_CEILING_MS = 86_400_000

/** The companion limits. */
export interface LimitsShape {
  readonly execDefaultTimeoutMs: number
  readonly execMaxTimeoutMs: number
  readonly readMaxBytes: number
  readonly writeMaxBytes: number
  readonly qmWriteMaxBytes: number
  readonly diffMaxLines: number
  readonly containerNewFileMode: string
  readonly containerNewFileUid: number
  readonly containerNewFileGid: number
  readonly guestPathDeny: ReadonlyArray<string>
  readonly guestPathAllow: ReadonlyArray<string>
  readonly hostPathDeny: ReadonlyArray<string>
  readonly hostPathAllow: ReadonlyArray<string>
  readonly commandDenyExtra: string
  readonly commandConfirmExtra: string
  readonly redactionExtraKeys: ReadonlyArray<string>
  readonly breakerEnabled: boolean
  readonly breakerLimit: number
  readonly breakerWindowMs: number
}

/** The companion limits, provided by the companion tier's layer. */
export class Limits extends Context.Tag("@homelab-mcp/server/Limits")<Limits, LimitsShape>() {}

/** The documented defaults. */
export const defaults: LimitsShape = {
  execDefaultTimeoutMs: 30_000,
  execMaxTimeoutMs: 600_000,
  readMaxBytes: 2_097_152,
  writeMaxBytes: 10_485_760,
  qmWriteMaxBytes: 46_080,
  diffMaxLines: 200,
  containerNewFileMode: "644",
  containerNewFileUid: 0,
  containerNewFileGid: 0,
  guestPathDeny: ["/proc", "/sys", "/dev"],
  guestPathAllow: [],
  hostPathDeny: ["/proc", "/sys", "/dev"],
  hostPathAllow: [],
  commandDenyExtra: "",
  commandConfirmExtra: "",
  redactionExtraKeys: [],
  breakerEnabled: true,
  breakerLimit: 3,
  breakerWindowMs: 600_000
}

const pathList = (name: string, fallback: ReadonlyArray<string>) =>
  ConfigVars.list(name, fallback).pipe(
    Config.mapOrFail((paths) => {
      const bad = paths.find((p) => !p.startsWith("/"))
      return bad === undefined
        ? Either.right(paths)
        : Either.left(ConfigError.InvalidData([name], `expected comma-separated absolute paths, got ${JSON.stringify(bad)}`))
    })
  )

const octalMode = (name: string, fallback: string) =>
  Config.string(name).pipe(
    Config.withDefault(fallback),
    Config.mapOrFail((raw) =>
      /^0?[0-7]{3,4}$/.test(raw.trim())
        ? Either.right(raw.trim().replace(/^0(?=[0-7]{3,4}$)/, "").padStart(3, "0"))
        : Either.left(ConfigError.InvalidData([name], `expected an octal mode like 0644, got ${JSON.stringify(raw)}`))
    )
  )

/** The limits as a `Config` over the environment names of tiers-setup.md §3. */
export const config: Config.Config<LimitsShape> = Config.all({
  execDefaultTimeoutMs: ConfigVars.integer("MCP_EXEC_DEFAULT_TIMEOUT_MS", defaults.execDefaultTimeoutMs, 1_000, 600_000),
  execMaxTimeoutMs: ConfigVars.integer("MCP_EXEC_MAX_TIMEOUT_MS", defaults.execMaxTimeoutMs, 1_000, EXEC_TIMEOUT_CEILING_MS),
  readMaxBytes: ConfigVars.integer("MCP_READ_MAX_BYTES", defaults.readMaxBytes, 1, 1_073_741_824),
  writeMaxBytes: ConfigVars.integer("MCP_WRITE_MAX_BYTES", defaults.writeMaxBytes, 1, 1_073_741_824),
  qmWriteMaxBytes: ConfigVars.integer("MCP_QM_WRITE_MAX_BYTES", defaults.qmWriteMaxBytes, 1, 46_080),
  diffMaxLines: ConfigVars.integer("MCP_DIFF_MAX_LINES", defaults.diffMaxLines, 1, 100_000),
  containerNewFileMode: octalMode("MCP_CONTAINER_NEW_FILE_MODE", "0644"),
  containerNewFileUid: ConfigVars.integer("MCP_CONTAINER_NEW_FILE_UID", 0, 0, 4_294_967_294),
  containerNewFileGid: ConfigVars.integer("MCP_CONTAINER_NEW_FILE_GID", 0, 0, 4_294_967_294),
  guestPathDeny: pathList("MCP_GUEST_PATH_DENYLIST", defaults.guestPathDeny),
  guestPathAllow: pathList("MCP_GUEST_PATH_ALLOWLIST", defaults.guestPathAllow),
  hostPathDeny: pathList("MCP_PATH_DENYLIST", defaults.hostPathDeny),
  hostPathAllow: pathList("MCP_PATH_ALLOWLIST", defaults.hostPathAllow),
  commandDenyExtra: Config.string("MCP_COMMAND_DENY_EXTRA").pipe(Config.withDefault("")),
  commandConfirmExtra: Config.string("MCP_COMMAND_CONFIRM_EXTRA").pipe(Config.withDefault("")),
  redactionExtraKeys: Redact.extraKeysConfig,
  breakerEnabled: ConfigVars.boolean("MCP_BREAKER_ENABLED", true),
  breakerLimit: ConfigVars.integer("MCP_BREAKER_LIMIT", defaults.breakerLimit, 1, 1_000),
  breakerWindowMs: ConfigVars.integer("MCP_BREAKER_WINDOW_MS", defaults.breakerWindowMs, 1_000, 86_400_000)
}).pipe(
  Config.mapOrFail((l) =>
    l.execDefaultTimeoutMs > l.execMaxTimeoutMs
      ? Either.left(ConfigError.InvalidData(["MCP_EXEC_DEFAULT_TIMEOUT_MS"], `must not exceed MCP_EXEC_MAX_TIMEOUT_MS (${l.execMaxTimeoutMs})`))
      : Either.right(l)
  )
)

/** The limits from the environment. */
export const layerConfig: Layer.Layer<Limits, ConfigError.ConfigError> = Layer.effect(Limits, config)

/** Fixed limits (tests and embedding). */
export const layer = (overrides: Partial<LimitsShape> = {}): Layer.Layer<Limits> =>
  Layer.succeed(Limits, { ...defaults, ...overrides })
