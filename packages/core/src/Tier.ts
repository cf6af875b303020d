/**
 * Trust tiers: observe < operate < companion < root (tiers-setup.md §1).
 */
import * as Schema from "effect/Schema"

/** The four tiers, lowest first. */
export const tiers = ["observe", "operate", "companion", "root"] as const

/** A trust tier. */
export type Tier = (typeof tiers)[number]

/** Schema of a tier name. */
export const Tier = Schema.Literal(...tiers)

/** The tiers an operator may put in `MCP_TIER`; root is reached only through the acknowledgment flag. */
export const configurableTiers = ["observe", "operate", "companion"] as const

/** The exact value of `MCP_HOST_ROOT_ENABLED` that turns root on (byte for byte). */
export const ROOT_ACKNOWLEDGMENT = "I-understand-Claude-gets-root-and-can-break-this-node"

/** Rank of a tier; a higher rank includes every lower tier's tools. */
export const rank = (tier: Tier): number => tiers.indexOf(tier)

/** True when `active` is at or above `required`. */
export const includes = (active: Tier, required: Tier): boolean => rank(active) >= rank(required)

/** The outcome of resolving the configured tier: the tier, or a startup error naming the variable. */
export type Resolution =
  | { readonly _tag: "Resolved"; readonly tier: Tier; readonly notes: ReadonlyArray<string> }
  | { readonly _tag: "Invalid"; readonly variable: "MCP_TIER" | "MCP_HOST_ROOT_ENABLED"; readonly message: string }

/**
 * Resolves `MCP_TIER` and `MCP_HOST_ROOT_ENABLED` (tiers-setup.md §1): root only with companion and the
 * exact acknowledgment; any other flag value is ignored with a note; the exact flag below companion is
 * a startup error. Pure.
 */
export const resolve = (mcpTier: string | undefined, rootFlag: string | undefined): Resolution => {
  const level = mcpTier === undefined || mcpTier === "" ? "observe" : mcpTier
  if (level === "root") {
    return {
      _tag: "Invalid",
      variable: "MCP_TIER",
      message: "MCP_TIER=root is not accepted: root is enabled only with MCP_HOST_ROOT_ENABLED on a companion install"
    }
  }
  if (!(configurableTiers as ReadonlyArray<string>).includes(level)) {
    return {
      _tag: "Invalid",
      variable: "MCP_TIER",
      message: `MCP_TIER=${JSON.stringify(level)} is not a tier; expected one of observe, operate, companion`
    }
  }
  const tier = level as Tier
  if (rootFlag === undefined || rootFlag === "") return { _tag: "Resolved", tier, notes: [] }
  if (rootFlag === ROOT_ACKNOWLEDGMENT) {
    if (tier === "companion") return { _tag: "Resolved", tier: "root", notes: [] }
    return {
      _tag: "Invalid",
      variable: "MCP_HOST_ROOT_ENABLED",
      message: `MCP_HOST_ROOT_ENABLED is set but MCP_TIER=${tier}: root needs the SSH key only a companion install has`
    }
  }
  return {
    _tag: "Resolved",
    tier,
    notes: ["MCP_HOST_ROOT_ENABLED is set to a value other than the exact acknowledgment; it was ignored"]
  }
}
