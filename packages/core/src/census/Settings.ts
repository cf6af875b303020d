/**
 * Census and health settings (tiers-setup.md §3): every threshold, cap and timeout of
 * `describe_homelab` and `health_check`, read through `Config` with the documented variable names and
 * defaults, each range-checked so a bad value names the variable.
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as ConfigVars from "../ConfigVars.js"
import { extraKeysConfig } from "../redaction/Redact.js"

/** Settings of `describe_homelab`. */
export interface CensusSettings {
  readonly retention: number
  readonly probeTimeoutMs: number
  readonly budgetMs: number
  readonly maxItems: number
  readonly maxResponseBytes: number
  readonly storageDriftPct: number
  /** Bound on concurrent API requests of one census call (ADR 0080). */
  readonly apiConcurrency: number
  /** Bound on concurrent SSH probe rows (census-health.md §1.3: 4). */
  readonly sshConcurrency: number
  /** Extra secret key names for redaction (`MCP_REDACTION_EXTRA_KEYS`, extends only). */
  readonly redactionExtraKeys: ReadonlyArray<string>
}

/** Settings of `health_check`. */
export interface HealthSettings {
  readonly loadWarnRatio: number
  readonly loadCritRatio: number
  readonly memWarnPct: number
  readonly memCritPct: number
  readonly fsWarnPct: number
  readonly fsCritPct: number
  readonly failedUnitsCrit: ReadonlyArray<string>
  readonly pendingUpdatesWarn: number
  readonly probeTimeoutMs: number
  readonly budgetMs: number
  readonly apiConcurrency: number
}

/** The documented defaults (tiers-setup.md §3). */
export const censusDefaults: CensusSettings = {
  retention: 30,
  probeTimeoutMs: 10_000,
  budgetMs: 120_000,
  maxItems: 200,
  maxResponseBytes: 524_288,
  storageDriftPct: 10,
  apiConcurrency: 32,
  sshConcurrency: 4,
  redactionExtraKeys: []
}

/** The documented defaults (tiers-setup.md §3). */
export const healthDefaults: HealthSettings = {
  loadWarnRatio: 0.8,
  loadCritRatio: 1.5,
  memWarnPct: 85,
  memCritPct: 95,
  fsWarnPct: 80,
  fsCritPct: 90,
  failedUnitsCrit: [],
  pendingUpdatesWarn: 50,
  probeTimeoutMs: 10_000,
  budgetMs: 120_000,
  apiConcurrency: 32
}

/** `describe_homelab` settings from the environment. */
export const censusConfig: Config.Config<CensusSettings> = Config.all({
  retention: ConfigVars.integer("MCP_CENSUS_RETENTION", censusDefaults.retention, 1, 100_000),
  probeTimeoutMs: ConfigVars.integer("MCP_CENSUS_PROBE_TIMEOUT_MS", censusDefaults.probeTimeoutMs, 1, 3_600_000),
  budgetMs: ConfigVars.integer("MCP_CENSUS_BUDGET_MS", censusDefaults.budgetMs, 1, 86_400_000),
  maxItems: ConfigVars.integer("MCP_CENSUS_MAX_ITEMS", censusDefaults.maxItems, 1, 100_000),
  maxResponseBytes: ConfigVars.integer("MCP_CENSUS_MAX_RESPONSE_BYTES", censusDefaults.maxResponseBytes, 4096, 1_073_741_824),
  storageDriftPct: ConfigVars.number("MCP_CENSUS_STORAGE_DRIFT_PCT", censusDefaults.storageDriftPct, 0, 100),
  apiConcurrency: ConfigVars.integer("MCP_CENSUS_API_CONCURRENCY", censusDefaults.apiConcurrency, 1, 256),
  sshConcurrency: ConfigVars.integer("MCP_CENSUS_SSH_CONCURRENCY", censusDefaults.sshConcurrency, 1, 64),
  redactionExtraKeys: extraKeysConfig
})

/** `health_check` settings from the environment. */
export const healthConfig: Config.Config<HealthSettings> = Config.all({
  loadWarnRatio: ConfigVars.number("MCP_HEALTH_LOAD_WARN_RATIO", healthDefaults.loadWarnRatio, 0, 1000),
  loadCritRatio: ConfigVars.number("MCP_HEALTH_LOAD_CRIT_RATIO", healthDefaults.loadCritRatio, 0, 1000),
  memWarnPct: ConfigVars.number("MCP_HEALTH_MEM_WARN_PCT", healthDefaults.memWarnPct, 0, 100),
  memCritPct: ConfigVars.number("MCP_HEALTH_MEM_CRIT_PCT", healthDefaults.memCritPct, 0, 100),
  fsWarnPct: ConfigVars.number("MCP_HEALTH_FS_WARN_PCT", healthDefaults.fsWarnPct, 0, 100),
  fsCritPct: ConfigVars.number("MCP_HEALTH_FS_CRIT_PCT", healthDefaults.fsCritPct, 0, 100),
  failedUnitsCrit: ConfigVars.list("MCP_HEALTH_FAILED_UNITS_CRIT", []),
  pendingUpdatesWarn: ConfigVars.integer("MCP_HEALTH_PENDING_UPDATES_WARN", healthDefaults.pendingUpdatesWarn, 0, 1_000_000),
  probeTimeoutMs: ConfigVars.integer("MCP_HEALTH_PROBE_TIMEOUT_MS", healthDefaults.probeTimeoutMs, 1, 3_600_000),
  budgetMs: ConfigVars.integer("MCP_CENSUS_BUDGET_MS", healthDefaults.budgetMs, 1, 86_400_000),
  apiConcurrency: ConfigVars.integer("MCP_CENSUS_API_CONCURRENCY", healthDefaults.apiConcurrency, 1, 256)
}).pipe(
  Config.mapOrFail((s) =>
    s.loadWarnRatio > s.loadCritRatio
      ? Either.left(ConfigError.InvalidData(["MCP_HEALTH_LOAD_WARN_RATIO"], "MCP_HEALTH_LOAD_WARN_RATIO must not exceed MCP_HEALTH_LOAD_CRIT_RATIO"))
      : s.memWarnPct > s.memCritPct
        ? Either.left(ConfigError.InvalidData(["MCP_HEALTH_MEM_WARN_PCT"], "MCP_HEALTH_MEM_WARN_PCT must not exceed MCP_HEALTH_MEM_CRIT_PCT"))
        : s.fsWarnPct > s.fsCritPct
          ? Either.left(ConfigError.InvalidData(["MCP_HEALTH_FS_WARN_PCT"], "MCP_HEALTH_FS_WARN_PCT must not exceed MCP_HEALTH_FS_CRIT_PCT"))
          : Either.right(s)
  )
)
