/**
 * Census and health settings (tiers-setup.md §3): every threshold, cap and timeout of
 * `describe_homelab` and `health_check`, read through `Config` with the documented variable names and
 * defaults, each range-checked so a bad value names the variable.
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import { parseExtraKeys } from "../redaction/Redact.js"

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

const ranged = (base: Config.Config<number>, name: string, min: number, max: number, fallback: number) =>
  base.pipe(
    Config.withDefault(fallback),
    Config.mapOrFail((n) =>
      Number.isFinite(n) && n >= min && n <= max
        ? Either.right(n)
        : Either.left(ConfigError.InvalidData([name], `${name}=${n} is out of range; accepted ${min}..${max}`))
    )
  )

const int = (name: string, min: number, max: number, fallback: number) =>
  ranged(Config.integer(name), name, min, max, fallback)

const num = (name: string, min: number, max: number, fallback: number) =>
  ranged(Config.number(name), name, min, max, fallback)

/** A comma-separated list variable; empty entries dropped. */
const list = (name: string) =>
  Config.string(name).pipe(
    Config.withDefault(""),
    Config.map((s) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0))
  )

/** `describe_homelab` settings from the environment. */
export const censusConfig: Config.Config<CensusSettings> = Config.all({
  retention: int("MCP_CENSUS_RETENTION", 1, 100_000, censusDefaults.retention),
  probeTimeoutMs: int("MCP_CENSUS_PROBE_TIMEOUT_MS", 1, 3_600_000, censusDefaults.probeTimeoutMs),
  budgetMs: int("MCP_CENSUS_BUDGET_MS", 1, 86_400_000, censusDefaults.budgetMs),
  maxItems: int("MCP_CENSUS_MAX_ITEMS", 1, 100_000, censusDefaults.maxItems),
  maxResponseBytes: int("MCP_CENSUS_MAX_RESPONSE_BYTES", 4096, 1_073_741_824, censusDefaults.maxResponseBytes),
  storageDriftPct: num("MCP_CENSUS_STORAGE_DRIFT_PCT", 0, 100, censusDefaults.storageDriftPct),
  apiConcurrency: int("MCP_CENSUS_API_CONCURRENCY", 1, 256, censusDefaults.apiConcurrency),
  sshConcurrency: int("MCP_CENSUS_SSH_CONCURRENCY", 1, 64, censusDefaults.sshConcurrency),
  redactionExtraKeys: Config.string("MCP_REDACTION_EXTRA_KEYS").pipe(Config.withDefault(""), Config.map((raw) => parseExtraKeys(raw)))
})

/** `health_check` settings from the environment. */
export const healthConfig: Config.Config<HealthSettings> = Config.all({
  loadWarnRatio: num("MCP_HEALTH_LOAD_WARN_RATIO", 0, 1000, healthDefaults.loadWarnRatio),
  loadCritRatio: num("MCP_HEALTH_LOAD_CRIT_RATIO", 0, 1000, healthDefaults.loadCritRatio),
  memWarnPct: num("MCP_HEALTH_MEM_WARN_PCT", 0, 100, healthDefaults.memWarnPct),
  memCritPct: num("MCP_HEALTH_MEM_CRIT_PCT", 0, 100, healthDefaults.memCritPct),
  fsWarnPct: num("MCP_HEALTH_FS_WARN_PCT", 0, 100, healthDefaults.fsWarnPct),
  fsCritPct: num("MCP_HEALTH_FS_CRIT_PCT", 0, 100, healthDefaults.fsCritPct),
  failedUnitsCrit: list("MCP_HEALTH_FAILED_UNITS_CRIT"),
  pendingUpdatesWarn: int("MCP_HEALTH_PENDING_UPDATES_WARN", 0, 1_000_000, healthDefaults.pendingUpdatesWarn),
  probeTimeoutMs: int("MCP_HEALTH_PROBE_TIMEOUT_MS", 1, 3_600_000, healthDefaults.probeTimeoutMs),
  budgetMs: int("MCP_CENSUS_BUDGET_MS", 1, 86_400_000, healthDefaults.budgetMs),
  apiConcurrency: int("MCP_CENSUS_API_CONCURRENCY", 1, 256, healthDefaults.apiConcurrency)
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
