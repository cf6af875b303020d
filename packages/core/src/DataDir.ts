/**
 * The data directory (tiers-setup.md §4): `MCP_DATA_DIR`, else `%LOCALAPPDATA%\homelab-mcp` on Windows,
 * else `$XDG_DATA_HOME/homelab-mcp`, else `~/.local/share/homelab-mcp`. Pure resolution plus a `Config`.
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as ConfigVars from "./ConfigVars.js"

/** The environment inputs of the resolution. */
export interface Inputs {
  readonly mcpDataDir?: string | undefined
  readonly platform: string
  readonly localAppData?: string | undefined
  readonly xdgDataHome?: string | undefined
  readonly home: string
}

const join = (platform: string, ...parts: ReadonlyArray<string>) => parts.join(platform === "win32" ? "\\" : "/")

/** Resolves the data directory from its inputs; never empty. */
export const resolve = (inputs: Inputs): string => {
  if (inputs.mcpDataDir) return inputs.mcpDataDir
  if (inputs.platform === "win32" && inputs.localAppData) return join("win32", inputs.localAppData, "homelab-mcp")
  if (inputs.xdgDataHome) return join(inputs.platform, inputs.xdgDataHome, "homelab-mcp")
  return join(inputs.platform, inputs.home, ".local", "share", "homelab-mcp")
}

/** The data directory as a `Config` (reads MCP_DATA_DIR, LOCALAPPDATA, XDG_DATA_HOME, HOME/USERPROFILE). */
export const config: Config.Config<string> = Config.all({
  mcpDataDir: ConfigVars.optionalString("MCP_DATA_DIR"),
  localAppData: ConfigVars.optionalString("LOCALAPPDATA"),
  xdgDataHome: ConfigVars.optionalString("XDG_DATA_HOME"),
  home: Config.string("HOME").pipe(Config.orElse(() => Config.string("USERPROFILE")), Config.withDefault("."))
}).pipe(Config.map((c) => resolve({ ...c, platform: process.platform })))

/** A file or folder under the data directory, overridable by its own variable (e.g. MCP_AUDIT_LOG_PATH; blank = unset). */
export const under = (variable: string, relative: string): Config.Config<string> =>
  Config.all([ConfigVars.optionalString(variable), config]).pipe(
    Config.map(([own, dir]) => own ?? `${dir}${process.platform === "win32" ? "\\" : "/"}${relative}`)
  )

/** Reads the data directory now (for CLI code outside a layer). */
export const get: Effect.Effect<string, never> = Effect.orDie(config)
