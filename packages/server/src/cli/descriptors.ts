/**
 * `homelab-mcp descriptors` (build-time, hidden): the exact `tools/list` answer of every tier as JSON,
 * written by scripts/build.mjs to dist/descriptors.json for the stdio fast path.
 */
import * as Tier from "@homelab-mcp/core/Tier"
import * as Mcp from "../Mcp.js"
import { loadTools } from "../toolkits.js"

/** Prints `{observe: [...], operate: [...], companion: [...], root: [...]}`. */
export const descriptors = async (): Promise<number> => {
  const out: Record<string, unknown> = {}
  for (const tier of Tier.tiers) out[tier] = Mcp.descriptors(await loadTools(tier))
  process.stdout.write(JSON.stringify(out) + "\n")
  return 0
}
